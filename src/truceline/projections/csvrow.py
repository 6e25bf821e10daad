"""The timeline's CSV layout: one line per item, one column per item field.

The projector writes each item's line once, with its row (the ``csv`` column of
``timeline``), so a CSV page is the header and the stored lines: a 10,000-row page cost
about 350 ms converting 400,000 cells as it was read, and costs about 30 ms of reading
(see api/exports.py). :func:`csv_line` converts only the fields an item has (about
fifteen of the forty) and leaves the rest empty; nested values are compact JSON text from
orjson (the standard library's took two thirds of a line's 30 µs). A line costs the
projector about 20 µs an item: 13 making it, the rest writing it (bench/results.md).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import orjson

from truceline.domain.timeline import ITEM_FIELDS

_COLUMN = {name: index for index, name in enumerate(ITEM_FIELDS)}
# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def header() -> str:
    """The first line of a CSV page: the field names."""
    return _line(list(ITEM_FIELDS))


def csv_line(item: dict[str, Any]) -> str:
    """The item's line, ``\\r\\n`` included."""
    cells = [""] * len(ITEM_FIELDS)
    for name, value in item.items():
        column = _COLUMN.get(name)
        if column is not None:
            cells[column] = _cell(value)
    return _line(cells)


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_STARTS) else value  # the contract's escape
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # an integer beyond 64 bits, which orjson refuses
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)  # numbers stay numbers
