"""The read model's tables: their columns, their indexes, and the fast way rows go in.

sqlite-utils creates the tables (and anyone can open them in Datasette); rows written in
bulk go through :func:`insert_rows`, see there why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import sqlite_utils

from truceline.application.log import column_types


class TimelineRow(NamedTuple):
    """One version of a timeline item: current from log position ``valid_from`` until
    ``valid_to`` (None: still current)."""

    event_id: str
    valid_from: int
    valid_to: int | None
    position: int
    type: str
    conflict: str
    occurred_us: int
    occurred_at: str
    window_start: int
    window_end: int
    ceasefire_id: str | None
    incident_event_id: str | None
    location: str | None
    lat: float | None
    lon: float | None
    actors: str  # a compact JSON array of names
    corrected: int
    retracted: int
    item: str  # the item as JSON text (see jsontext)
    original: str | None  # the event as first recorded, kept once amended
    csv: str | None  # the item's CSV line (see csvrow); None in a file written before it


class AmendmentRow(NamedTuple):
    """A correction or retraction, by the event it amends."""

    event_id: str
    target_event_id: str
    position: int
    kind: str
    changes: str  # JSON text
    retracted: int


class CeasefireRow(NamedTuple):
    """One version of an agreed, unretracted ceasefire and its period in effect: current
    from log position ``valid_from`` until ``valid_to`` (None: still current)."""

    conflict: str
    ceasefire_id: str
    event_id: str
    position: int
    parties: str  # JSON text
    mediators: str  # JSON text
    agreed_us: int
    effective_us: int
    ends_us: int | None
    start_us: int
    stop_us: int | None
    stop_reason: str | None
    superseded_by: str | None
    valid_from: int
    valid_to: int | None


class BreachRow(NamedTuple):
    """One version of an incident that (possibly) breaks one ceasefire, current from log
    position ``valid_from`` until ``valid_to`` (None: still current)."""

    conflict: str
    ceasefire_id: str
    key: str
    event_id: str
    position: int
    occurred_us: int
    happened_us: int
    kind: str
    window_start: int
    window_end: int
    attributed: str  # a JSON array of names
    certain: int
    valid_from: int
    valid_to: int | None


BREACH_COLUMNS = ", ".join(BreachRow._fields)  # for SELECT, in the row's order


class LogMetaRow(NamedTuple):
    id: int
    position: int
    hash: str


class FrontierRow(NamedTuple):
    """After each page: the latest occurred_us of any timeline row written so far. An
    as_of query reads no row beyond it, so its index scan stops there instead of walking
    every later row (recorded after as_of) only to discard it."""

    position: int
    max_occurred_us: int


class HistoryRow(NamedTuple):
    """The log position from which ``ceasefires`` and ``breaches`` hold every version: 0
    in a file built with versioned rows; in a file written before them, the position it
    had reached when it was first opened (an ``as_of`` before it runs the rules again)."""

    id: int
    since: int


class ConflictRow(NamedTuple):
    """A conflict's timeline items now: how many, and how many of them are retracted. Kept
    by each page, so listing the conflicts never counts the timeline."""

    conflict: str
    items: int
    retracted: int


# Each table: its row and its primary key.
TABLES: dict[str, tuple[type[Any], str | tuple[str, ...]]] = {
    "timeline": (TimelineRow, ("event_id", "valid_from")),
    "amendments": (AmendmentRow, "event_id"),
    "ceasefires": (CeasefireRow, ("conflict", "ceasefire_id", "valid_from")),
    "breaches": (BreachRow, ("conflict", "ceasefire_id", "key", "valid_from")),
    "log_meta": (LogMetaRow, "id"),
    "frontier": (FrontierRow, "position"),
    "conflicts": (ConflictRow, "conflict"),
    "ceasefire_history": (HistoryRow, "id"),
}


def create_tables(db: sqlite_utils.Database) -> None:
    """Create the tables that do not exist yet (sqlite-utils: every column nullable)."""
    for name, (row, pk) in TABLES.items():
        if not db[name].exists():
            columns = {column: kind for column, (kind, _) in column_types(row).items()}
            db.create_table(name, columns, pk=pk)


@dataclass(frozen=True)
class Index:
    """A secondary index, declared by name."""

    name: str
    table: str
    columns: tuple[str, ...]
    where: str | None = None

    @property
    def create(self) -> str:
        where = f" WHERE {self.where}" if self.where else ""
        return (
            f"CREATE INDEX IF NOT EXISTS {self.name} ON {self.table} "
            f"({', '.join(self.columns)}){where}"
        )


_CURRENT = "valid_to IS NULL"
# Indexes an earlier version kept, dropped when a file is opened. The two on every
# version's windows and reports served the status as_of that ran the rules again on the
# timeline as it stood; versioned ceasefire and breach rows answer it now.
DROPPED_INDEXES = (
    "timeline_current",
    "timeline_asof_windows",
    "timeline_asof_reports",
    "ceasefires_start",
    "ceasefires_periods",
)
# One index per query the API serves (current rows only: valid_to IS NULL). A bulk
# build drops these and creates them once at the end: kept live, indexes cut the insert
# rate several times over.
SERVING_INDEXES = (
    Index("timeline_order", "timeline", ("occurred_us", "position"), _CURRENT),
    Index("timeline_conflict", "timeline", ("conflict", "occurred_us", "position"), _CURRENT),
    Index("timeline_type", "timeline", ("type", "occurred_us", "position"), _CURRENT),
    Index("timeline_location", "timeline", ("location", "occurred_us", "position"), _CURRENT),
    Index("ceasefires_current_start", "ceasefires", ("start_us", "conflict"), _CURRENT),
    # as_of reads every version, current or not
    Index("timeline_asof_order", "timeline", ("occurred_us", "position")),
    Index("timeline_asof_conflict", "timeline", ("conflict", "occurred_us", "position")),
)
# The indexes the projection itself reads through, always kept. A current item is found by
# its event id through the primary key (event_id, valid_from): a second index on event_id
# alone cost every insert another write at a random place (catch-up of 200,000 events:
# 20.5 -> 17.2 s without it).
PROJECTION_INDEXES = (
    Index("timeline_windows", "timeline", ("conflict", "type", "window_start"), _CURRENT),
    Index(
        "timeline_reports",
        "timeline",
        ("conflict", "ceasefire_id", "type"),
        f"{_CURRENT} AND ceasefire_id IS NOT NULL",
    ),
    # the reports naming an incident, in any version: an incident is recomputed from them
    Index("timeline_named", "timeline", ("incident_event_id",), "incident_event_id IS NOT NULL"),
    Index("amendments_target", "amendments", ("target_event_id", "position")),
    Index("ceasefires_current", "ceasefires", ("conflict", "start_us"), _CURRENT),
    # every version: the current counts and the as_of ones both read a period's breaches
    Index("breaches_cut", "breaches", ("conflict", "ceasefire_id", "window_end")),
)


@cache
def _insert_statement(table: str) -> str:
    columns = TABLES[table][0]._fields
    return (
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )


def insert_rows(db: sqlite_utils.Database, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert rows of the table's row type (a named tuple, so in its column order).

    Why not sqlite-utils' ``insert_all``: each call checks that the table exists and what
    SQLite supports, and converts every value in Python (about 1.8 ms a call and 30
    type checks a row in the catch-up profile, most of the projection's time). These
    tables are ours and fixed, and every value is already a str, int, float or None, so
    one prepared statement and ``executemany`` do the same work in C.
    """
    db.conn.executemany(_insert_statement(table), rows)
