"""Timeline pages as CSV, ACLED's CSV, GeoJSON and NDJSON, written as the rows are read.

A page ends at ``limit`` items or, whichever comes first, once it passes a budget
(``TRUCELINE_MAX_EXPORT_PAGE_BYTES``, after at least one item); ``next_key`` then names
where the next page starts. Built whole from a list of items, one 60 MB CSV page once
added 270 MiB to the process and four at once peaked at 1.1 GiB; written from the cursor
into a budgeted buffer, a page costs about its budget.

CSV, GeoJSON and NDJSON pages are put together from the bytes the read model stores for
each item (its JSON and its CSV line), never parsed or converted: a 10,000-row CSV page
cost 350 ms converting its 400,000 cells as it was read, and costs about 30 ms of reading
from a 100,000-event read model, most of it SQLite's (read as text rather than bytes,
decoding and encoding it again added 7 ms).

The page is written in full before the first byte is sent, rather than streamed to the
socket as it is read: a client that reads slowly then holds no read snapshot open.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from truceline.interop.acled.exporting import needs_attribution, write_csv
from truceline.projections.csvrow import header
from truceline.projections.queries import StoredItem, TimelineKey

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "acled": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "ndjson": "application/x-ndjson",
}


@dataclass
class ExportPage:
    """One written page: its body, the key after which the next page starts (None: this
    was the last), and whether it holds ACLED-derived rows (to be attributed)."""

    body: bytes
    next_key: TimelineKey | None
    acled_rows: bool = False


def export_page(
    kind: str, rows: Iterable[tuple[TimelineKey, StoredItem]], limit: int, budget: int
) -> ExportPage:
    """Write one page of ``kind`` (csv, geojson or ndjson) from the stored bytes of
    ``rows``, which holds up to ``limit`` + 1 rows (see :func:`queries.timeline_texts`)."""
    opening, piece, separator, closing = _LAYOUTS[kind]
    parts: list[bytes] = []
    size, last, next_key = 0, None, None
    for taken, (key, stored) in enumerate(rows):
        if taken == limit or (taken and size >= budget):
            next_key = last  # a row is left: there is a next page
            break
        last = key
        part = piece(stored)
        if part is not None:
            parts.append(part)
            size += len(part)
    return ExportPage(opening + separator.join(parts) + closing, next_key)


def _csv_line(stored: StoredItem) -> bytes:
    return stored.csv


def _feature(stored: StoredItem) -> bytes | None:
    # The point comes from the row's own lon and lat columns; the properties are the
    # stored item as it is.
    if stored.lon is None or stored.lat is None:
        return None  # an item without coordinates is not a feature
    point = orjson.dumps([stored.lon, stored.lat])
    return (
        b'{"type":"Feature","geometry":{"type":"Point","coordinates":'
        + point
        + b'},"properties":'
        + stored.item.lstrip()  # a leading space marks big integers (jsontext)
        + b"}"
    )


def _ndjson_line(stored: StoredItem) -> bytes:
    return stored.item.lstrip() + b"\n"


# Each kind: what opens the page, each item's part (None: left out), what goes between
# two parts and what closes the page.
_LAYOUTS: dict[str, tuple[bytes, Callable[[StoredItem], bytes | None], bytes, bytes]] = {
    "csv": (header().encode(), _csv_line, b"", b""),
    "geojson": (b'{"type":"FeatureCollection","features":[', _feature, b",", b"]}"),
    "ndjson": (b"", _ndjson_line, b"", b""),
}


def acled_page(
    rows: Iterable[tuple[TimelineKey, dict[str, Any]]], limit: int, budget: int
) -> ExportPage:
    """Write one page in ACLED's CSV layout from ``rows`` (see
    :func:`queries.timeline_rows`)."""
    out = io.StringIO()
    items = _Budgeted(rows, limit, out, budget)
    write_csv(items, out, comment=False)
    return ExportPage(out.getvalue().encode(), items.next_key, items.acled_rows)


class _Budgeted:
    """The items of ``rows`` while fewer than ``limit`` are taken and ``out`` holds less
    than ``budget`` characters; remembers where it stopped, and whether any item needs
    ACLED's attribution."""

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
