"""JSON text for the read model's ``item`` columns: orjson where it is exact.

Projecting and reading timeline items is mostly JSON work (a third of a catch-up before
this), and orjson does it several times faster than the standard library. But orjson
holds integers to 64 bits: it refuses to write a larger one, and reads one back as a
float. Counts have no upper bound (``killed: 10**30`` is stored and served exactly), so
such values go through the standard library instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# Any run of 19 digits may be an integer beyond 64 bits (2**63 has 19 digits).
_LONG_NUMBER = re.compile(r"\d{19}")


def dumps(value: Any) -> str:
    """Compact JSON text, UTF-8 characters as they are."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    """The value of JSON text, with integers of any size exact."""
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    return orjson.loads(text)
