"""The read model's tables: their columns, their indexes, and the fast way rows go in.

sqlite-utils creates the tables (and anyone can open them in Datasette); rows written in
bulk go through :func:`insert_rows`, see there why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import sqlite_utils

SCHEMA: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "timeline": (
        {
            "event_id": str,
            "valid_from": int,
            "valid_to": int,
            "position": int,
            "type": str,
            "conflict": str,
            "occurred_us": int,
            "occurred_at": str,
            "window_start": int,
            "window_end": int,
            "ceasefire_id": str,
            "incident_event_id": str,
            "location": str,
            "lat": float,
            "lon": float,
            "actors": str,
            "corrected": int,
            "retracted": int,
            "item": str,
            "original": str,
        },
        {"pk": ("event_id", "valid_from")},
    ),
    "amendments": (
        {
            "event_id": str,
            "target_event_id": str,
            "position": int,
            "kind": str,
            "changes": str,
            "retracted": int,
        },
        {"pk": "event_id"},
    ),
    "ceasefires": (
        {
            "conflict": str,
            "ceasefire_id": str,
            "event_id": str,
            "position": int,
            "parties": str,
            "mediators": str,
            "agreed_us": int,
            "effective_us": int,
            "ends_us": int,
            "start_us": int,
            "stop_us": int,
            "stop_reason": str,
            "superseded_by": str,
        },
        {"pk": ("conflict", "ceasefire_id")},
    ),
    "breaches": (
        {
            "conflict": str,
            "ceasefire_id": str,
            "key": str,
            "event_id": str,
            "position": int,
            "occurred_us": int,
            "happened_us": int,
            "kind": str,
            "window_start": int,
            "window_end": int,
            "attributed": str,
            "certain": int,
        },
        {"pk": ("conflict", "ceasefire_id", "key")},
    ),
    "log_meta": ({"id": int, "position": int, "hash": str}, {"pk": "id"}),
    # After each page: the latest occurred_us of any timeline row written so far. An
    # as_of query reads no row beyond it, so its index scan stops there instead of
    # walking every later row (recorded after as_of) only to discard it.
    "frontier": ({"position": int, "max_occurred_us": int}, {"pk": "position"}),
}

# One index per query the API serves (current rows only: valid_to IS NULL). A bulk
# build drops these and creates them once at the end: kept live, indexes cut the insert
# rate several times over.
SERVING_INDEXES = (
    "CREATE INDEX IF NOT EXISTS timeline_order ON timeline (occurred_us, position) "
    "WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS timeline_conflict ON timeline (conflict, occurred_us, position) "
    "WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS timeline_type ON timeline (type, occurred_us, position) "
    "WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS timeline_location ON timeline (location, occurred_us, position) "
    "WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS ceasefires_start ON ceasefires (start_us, conflict)",
    # as_of reads every version, current or not
    "CREATE INDEX IF NOT EXISTS timeline_asof_order ON timeline (occurred_us, position)",
    "CREATE INDEX IF NOT EXISTS timeline_asof_conflict ON timeline "
    "(conflict, occurred_us, position)",
    "CREATE INDEX IF NOT EXISTS timeline_asof_windows ON timeline (conflict, type, window_start)",
    "CREATE INDEX IF NOT EXISTS timeline_asof_reports ON timeline (conflict, ceasefire_id, type)",
)
# The indexes the projection itself reads through, always kept.
PROJECTION_INDEXES = (
    "CREATE INDEX IF NOT EXISTS timeline_windows ON timeline "
    "(conflict, type, window_start) WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS timeline_reports ON timeline (conflict, ceasefire_id, type) "
    "WHERE valid_to IS NULL AND ceasefire_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS timeline_current ON timeline (event_id) WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS amendments_target ON amendments (target_event_id, position)",
    "CREATE INDEX IF NOT EXISTS ceasefires_periods ON ceasefires (conflict, start_us)",
    "CREATE INDEX IF NOT EXISTS breaches_cut ON breaches (conflict, ceasefire_id, window_end)",
)


OCCURRED_US = list(SCHEMA["timeline"][0]).index("occurred_us")  # in a timeline row tuple


@cache
def _insert_statement(table: str) -> str:
    columns = SCHEMA[table][0]
    return (
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )


def insert_rows(db: sqlite_utils.Database, table: str, rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows given as tuples in the column order of :data:`SCHEMA`.

    Why not sqlite-utils' ``insert_all``: each call checks that the table exists and what
    SQLite supports, and converts every value in Python (about 1.8 ms a call and 30
    type checks a row in the catch-up profile, most of the projection's time). These
    tables are ours and fixed, and every value is already a str, int, float or None, so
    one prepared statement and ``executemany`` do the same work in C.
    """
    db.conn.executemany(_insert_statement(table), rows)
