"""Timeline pages as CSV, ACLED's CSV, GeoJSON and NDJSON, written as the rows are read.

A page ends at ``limit`` items or, whichever comes first, once its text passes a budget
(``TRUCELINE_MAX_EXPORT_PAGE_BYTES``, counted in characters written, after at least one
item); ``next_key`` then names where the next page starts. Built whole from a list of
items, one 60 MB CSV page once added 270 MiB to the process and four at once peaked at
1.1 GiB; written from the cursor into a budgeted buffer, a page costs about its budget.

The page is written in full before the first byte is sent, rather than streamed to the
socket as it is read: a client that reads slowly then holds no read snapshot open.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from truceline.domain.timeline import ITEM_FIELDS
from truceline.interop.acled.exporting import needs_attribution, write_csv
from truceline.projections.queries import TimelineKey

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "acled": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "ndjson": "application/x-ndjson",
}


@dataclass
class ExportPage:
    """One written page: its text, the key after which the next page starts (None: this
    was the last), and whether it holds ACLED-derived rows (to be attributed)."""

    text: str
    next_key: TimelineKey | None
    acled_rows: bool


class _Budgeted:
    """The items of ``rows`` while fewer than ``limit`` are taken and ``out`` holds less
    than ``budget`` characters; remembers where it stopped."""

    def __init__(
        self,
        rows: Iterable[tuple[TimelineKey, dict[str, Any]]],
        limit: int,
        out: io.StringIO,
        budget: int,
    ):
        self.rows, self.limit, self.out, self.budget = rows, limit, out, budget
        self.next_key: TimelineKey | None = None
        self.acled_rows = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        last: TimelineKey | None = None
        for taken, (key, item) in enumerate(self.rows):
            if taken == self.limit or (taken and self.out.tell() >= self.budget):
                self.next_key = last  # a row is left: there is a next page
                return
            last = key
            self.acled_rows = self.acled_rows or needs_attribution((item,))
            yield item


def export_page(
    kind: str, rows: Iterable[tuple[TimelineKey, dict[str, Any]]], limit: int, budget: int
) -> ExportPage:
    """Write one page of ``kind`` (csv, acled, geojson or ndjson) from ``rows``, which
    holds up to ``limit`` + 1 rows (see :func:`queries.timeline_rows`)."""
    out = io.StringIO()
    items = _Budgeted(rows, limit, out, budget)
    _WRITERS[kind](items, out)
    return ExportPage(out.getvalue(), items.next_key, items.acled_rows)


def _write_csv(items: Iterable[dict[str, Any]], out: io.StringIO) -> None:
    writer = csv.writer(out)
    writer.writerow(ITEM_FIELDS)
    for item in items:
        writer.writerow([_cell(item.get(name)) for name in ITEM_FIELDS])


def _write_acled(items: Iterable[dict[str, Any]], out: io.StringIO) -> None:
    write_csv(items, out, comment=False)


def _write_geojson(items: Iterable[dict[str, Any]], out: io.StringIO) -> None:
    out.write('{"type":"FeatureCollection","features":[')
    first = True
    for item in items:
        place = item.get("location", {})
        if "lat" not in place or "lon" not in place:
            continue
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [place["lon"], place["lat"]]},
            "properties": item,
        }
        out.write(("" if first else ",") + orjson.dumps(feature).decode())
        first = False
    out.write("]}")


def _write_ndjson(items: Iterable[dict[str, Any]], out: io.StringIO) -> None:
    for item in items:
        out.write(orjson.dumps(item).decode() + "\n")


_WRITERS = {
    "csv": _write_csv,
    "acled": _write_acled,
    "geojson": _write_geojson,
    "ndjson": _write_ndjson,
}

# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value  # the contract's escape; numbers stay numbers
    return str(value)
