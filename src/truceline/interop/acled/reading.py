"""Reading ACLED's files, whatever layout they were shipped in, as rows of lower-case
column names to text, one row per event (see docs/acled.md, "Layouts read").

Rows stream: a CSV file is read a line at a time, so memory does not grow with its size.
An API answer saved as JSON is one document and is read whole (ACLED's API serves pages
of at most a few thousand rows).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

Row = dict[str, str]

# The version-5 names of columns the current layout renamed.
_RENAMED = {
    "geo_precis": "geo_precision",
    "ally_actor_1": "assoc_actor_1",
    "ally_actor_2": "assoc_actor_2",
}
_INDEX = "_index"  # pandas' unnamed index column, dropped
REQUIRED = ("event_id_cnty", "event_date", "actor1", "country")
DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%d %b %Y", "%d-%b-%Y", "%d/%m/%Y")


class LayoutError(ValueError):
    """A file this reader cannot take as ACLED's: the message says what was expected."""


def read_rows(path: Path) -> Iterator[Row]:
    """The rows of an ACLED file (CSV or a saved API answer), one per event: consecutive
    rows of one ``event_id_cnty`` (a "monadic" file) are one event."""
    return merge_monadic(_raw_rows(path))


def _raw_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        first = _first_character(stream)
        if first in ("{", "["):
            yield from _json_rows(json.load(stream))
        else:
            yield from _csv_rows(stream)


def _first_character(stream: IO[str]) -> str:
    start = stream.tell()
    text = stream.read(64).lstrip()
    stream.seek(start)
    return text[:1]


def _csv_rows(stream: IO[str]) -> Iterator[Row]:
    reader = csv.reader(stream)
    header = _header(reader)
    for cells in reader:
        if not any(cells):
            continue
        if _is_hashtag_row(cells):  # HDX's HXL row under the header: no data
            continue
        row = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        row.pop(_INDEX, None)
        yield row


def _header(reader: Any) -> list[str]:
    for cells in reader:
        if cells and cells[0].startswith("#"):  # a comment line, as our own export writes
            continue
        header = [_column(name) for name in cells]
        if header and header[0] in ("", "unnamed: 0"):  # pandas' index column
            header[0] = _INDEX
        check_layout(header)
        return header
    raise LayoutError(f"the file is empty: expected a header naming {', '.join(REQUIRED)}")


def _column(name: str) -> str:
    key = name.strip().lower()
    return _RENAMED.get(key, key)


def _is_hashtag_row(cells: list[str]) -> bool:
    filled = [cell.strip() for cell in cells if cell.strip()]
    return bool(filled) and all(cell.startswith("#") for cell in filled)


def check_layout(columns: list[str]) -> None:
    """Raise :class:`LayoutError` unless the columns are an ACLED layout's."""
    missing = [name for name in REQUIRED if name not in columns]
    if "sub_event_type" not in columns and "event_type" not in columns:
        missing.append("sub_event_type (or, version 5, event_type)")
    if missing:
        found = ", ".join(name for name in columns[:12] if name) or "nothing"
        raise LayoutError(
            f"not an ACLED layout: expected the columns {', '.join(REQUIRED)} and "
            f"sub_event_type (or event_type); missing {', '.join(missing)}; found {found}"
        )


def _json_rows(document: Any) -> Iterator[Row]:
    checked = False
    for row in _json_data(document):
        if not checked:
            check_layout(list(row))
            checked = True
        yield row


def _json_data(document: Any) -> Iterator[Row]:
    """The rows of an API answer (``{"data": [...]}``, or the list alone), as text."""
    data = document.get("data") if isinstance(document, dict) else document
    if not isinstance(data, list):
        raise LayoutError('not an ACLED API answer: expected {"data": [...]} or a list of rows')
    for item in data:
        if not isinstance(item, dict):
            raise LayoutError("not an ACLED API answer: each row of data must be an object")
        yield _text_row(item)


def _text_row(item: dict[Any, Any]) -> Row:
    return {_column(str(k)): "" if v is None else str(v).strip() for k, v in item.items()}


def read_deletions(path: Path) -> Iterator[Row]:
    """The rows of ACLED's deletions list (``event_id_cnty``, ``deleted_timestamp``), CSV
    or the API's JSON; :class:`LayoutError` for a file that is not one."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        if _first_character(stream) in ("{", "["):
            rows: Iterator[Row] = _json_data(json.load(stream))
        else:
            rows = (_text_row(row) for row in csv.DictReader(stream))
        for row in rows:
            if not row.get("event_id_cnty") or "deleted_timestamp" not in row:
                raise LayoutError(
                    "not an ACLED deletions list: expected the columns event_id_cnty and "
                    "deleted_timestamp"
                )
            yield row


def merge_monadic(rows: Iterator[Row]) -> Iterator[Row]:
    """One row per event: a row with the ``event_id_cnty`` of the row before it is the
    same event seen from its other actor, which fills the first row's empty ``actor2``."""
    held: Row | None = None
    for row in rows:
        if held is not None and row.get("event_id_cnty") == held.get("event_id_cnty"):
            if not held.get("actor2") and row.get("actor1") != held.get("actor1"):
                held["actor2"] = row.get("actor1", "")
            continue
        if held is not None:
            yield held
        held = row
    if held is not None:
        yield held


def parse_date(text: str) -> date:
    """An ACLED ``event_date`` in any of the forms it has been written in; ValueError
    naming them otherwise."""
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), form).date()
        except ValueError:
            continue
    raise ValueError(
        f"event_date {text!r} is not a date such as 2020-10-17, 17 October 2020, "
        "17-October-2020, 17 Oct 2020 or 17/10/2020"
    )


def read_actor_map(path: Path) -> dict[str, str]:
    """``--actor-map``: a CSV whose header is ``acled,truceline``, one renaming a row."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        if reader.fieldnames is None or {"acled", "truceline"} - set(reader.fieldnames):
            raise LayoutError("an actor map is a CSV whose header is acled,truceline")
        return {
            row["acled"].strip(): row["truceline"].strip()
            for row in reader
            if row["acled"] and row["truceline"]
        }
