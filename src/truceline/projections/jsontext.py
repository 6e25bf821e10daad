"""JSON text for the read model's ``item`` columns: orjson where it is exact.

Projecting and reading timeline items is mostly JSON work (a third of a catch-up before
this), and orjson does it several times faster than the standard library. But orjson
holds integers to 64 bits: it refuses to write a larger one, and reads one back as a
float. Counts have no upper bound (``killed: 10**30`` is stored and served exactly), so
such a value is written by the standard library, with a leading space that tells
:func:`loads` to read it back the same way. (Scanning every text for long digit runs
instead cost more than the parsing saved.)
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_STANDARD = " "  # leads a text that holds integers beyond 64 bits; still valid JSON


def dumps(value: Any) -> str:
    """Compact JSON text, UTF-8 characters as they are."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits
        return _STANDARD + json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    """The value of text written by :func:`dumps`, integers of any size exact."""
    if text.startswith(_STANDARD):
        return json.loads(text)
    return orjson.loads(text)
