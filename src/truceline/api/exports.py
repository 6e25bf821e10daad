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

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from truceline.interop.acled.exporting import needs_attribution, write_csv
from truceline.projections.csvrow import header
from truceline.projections.queries import StoredItem, TimelineKey

Row = TypeVar("Row")

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
    acled_rows: bool = False


class _Budgeted(Generic[Row]):
    """The rows of ``rows`` while fewer than ``limit`` are taken and ``out`` holds less
    than ``budget`` characters; remembers where it stopped."""

    def __init__(
        self, rows: Iterable[tuple[TimelineKey, Row]], limit: int, out: io.StringIO, budget: int
    ):
        self.rows, self.limit, self.out, self.budget = rows, limit, out, budget
        self.next_key: TimelineKey | None = None

    def __iter__(self) -> Iterator[Row]:
        last: TimelineKey | None = None
        for taken, (key, row) in enumerate(self.rows):
            if taken == self.limit or (taken and self.out.tell() >= self.budget):
                self.next_key = last  # a row is left: there is a next page
                return
            last = key
            yield row


def export_page(
    kind: str, rows: Iterable[tuple[TimelineKey, StoredItem]], limit: int, budget: int
) -> ExportPage:
    """Write one page of ``kind`` (csv, geojson or ndjson) from the stored text of
    ``rows``, which holds up to ``limit`` + 1 rows (see :func:`queries.timeline_texts`)."""
    out = io.StringIO()
    items = _Budgeted(rows, limit, out, budget)
    _WRITERS[kind](items, out)
    return ExportPage(out.getvalue(), items.next_key)


def acled_page(
    rows: Iterable[tuple[TimelineKey, dict[str, Any]]], limit: int, budget: int
) -> ExportPage:
    """Write one page in ACLED's CSV layout from ``rows`` (see
    :func:`queries.timeline_rows`)."""
    out = io.StringIO()
    items = _Budgeted(rows, limit, out, budget)
    acled = _Attributed(items)
    write_csv(acled, out, comment=False)
    return ExportPage(out.getvalue(), items.next_key, acled.needed)


class _Attributed:
    """The items of ``items``; notes whether any needs ACLED's attribution."""

    def __init__(self, items: Iterable[dict[str, Any]]):
        self.items = items
        self.needed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for item in self.items:
            self.needed = self.needed or needs_attribution((item,))
            yield item


def _write_csv(items: Iterable[StoredItem], out: io.StringIO) -> None:
    out.write(header())
    for stored in items:
        out.write(stored.csv)


def _write_geojson(items: Iterable[StoredItem], out: io.StringIO) -> None:
    # Each feature is put together from the stored item text, never parsed: the point
    # comes from the row's own lon and lat columns.
    out.write('{"type":"FeatureCollection","features":[')
    separator = ""
    for stored in items:
        if stored.lon is None or stored.lat is None:
            continue
        out.write(
            f'{separator}{{"type":"Feature","geometry":{{"type":"Point","coordinates":'
            f"[{_number(stored.lon)},{_number(stored.lat)}]}},"
            f'"properties":{stored.item.lstrip()}}}'
        )
        separator = ","
    out.write("]}")


def _number(value: float) -> str:
    return orjson.dumps(value).decode()


def _write_ndjson(items: Iterable[StoredItem], out: io.StringIO) -> None:
    for stored in items:
        out.write(stored.item.lstrip())  # a leading space marks big integers (jsontext)
        out.write("\n")


_WRITERS = {"csv": _write_csv, "geojson": _write_geojson, "ndjson": _write_ndjson}
