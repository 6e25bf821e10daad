"""The read model: one SQLite file of tables derived from the log, and its position.

It is an eventsourcing ``SQLiteTrackingRecorder``: each page of log entries is applied
in one transaction that also records the position reached (the tracking row), so a crash
at any point leaves either the whole page and its position or neither. A page applied
twice is refused by the tracking row (``IntegrityError``), never double-counted.

Tables (open the file in Datasette to browse them):

- ``timeline``: one row per version of each item; ``valid_from``/``valid_to`` are the log
  positions between which that version was current (``valid_to`` null: current).
- ``amendments``: corrections and retractions, by the event they amend.
- ``ceasefires``: each agreed, unretracted ceasefire and its period in effect.
- ``breaches``: each incident that (possibly) breaks a ceasefire, and its attribution.
- ``log_meta``: the hash of the last entry applied, to notice a different log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlite_utils
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)

from truceline.application.log import Entry
from truceline.projections.ceasefires import Touched, recompute_ceasefires
from truceline.projections.timeline import TimelineWriter

TRACKING_NAME = "Truceline"

_SCHEMA: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
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
}

# One index per query the API serves (current rows only: valid_to IS NULL). A bulk
# build drops these and creates them once at the end: kept live, indexes cut the insert
# rate several times over.
_SERVING_INDEXES = (
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
_PROJECTION_INDEXES = (
    "CREATE INDEX IF NOT EXISTS timeline_windows ON timeline "
    "(conflict, type, window_start) WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS timeline_reports ON timeline (conflict, ceasefire_id, type) "
    "WHERE valid_to IS NULL AND ceasefire_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS timeline_current ON timeline (event_id) WHERE valid_to IS NULL",
    "CREATE INDEX IF NOT EXISTS amendments_target ON amendments (target_event_id, position)",
    "CREATE INDEX IF NOT EXISTS ceasefires_periods ON ceasefires (conflict, start_us)",
    "CREATE INDEX IF NOT EXISTS breaches_cut ON breaches (conflict, ceasefire_id, window_end)",
)


def database(cursor: SQLiteCursor) -> sqlite_utils.Database:
    """sqlite-utils over the connection of an open transaction (it writes through
    SAVEPOINTs and commits nothing itself); never keep it past the transaction."""
    return sqlite_utils.Database(
        cursor.sqlite_cursor.connection, recursive_triggers=False, execute_plugins=False
    )


class _ReadModelPool(SQLiteConnectionPool):
    """eventsourcing's pool, with connections tuned for a rebuildable file.

    ``synchronous = NORMAL``: in WAL mode a power cut may lose the last pages applied, but
    never splits a page from its tracking row, so the follower simply applies them again.
    A larger page cache keeps the indexes keyed by event id (random order) in memory as
    the timeline grows.
    """

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        raw = connection._sqlite_conn
        raw.execute("PRAGMA synchronous = NORMAL")
        raw.execute("PRAGMA cache_size = -65536")  # KiB: 64 MiB
        return connection


class ReadModel(SQLiteTrackingRecorder):
    """The read-model file, written by one follower, read by the queries."""

    def __init__(self, path: str | Path, lock_timeout: int = 30):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        datastore = SQLiteDatastore(self.path, lock_timeout=lock_timeout, pool_size=4)
        datastore.pool = _ReadModelPool(db_name=self.path, lock_timeout=lock_timeout, pool_size=4)
        super().__init__(datastore)
        self.create_table()

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            db = database(c)
            for name, (columns, options) in _SCHEMA.items():
                if not db[name].exists():
                    db.create_table(name, columns, **options)
            for statement in (*_PROJECTION_INDEXES, *_SERVING_INDEXES):
                c.execute(statement)

    def position(self) -> int:
        return self.max_tracking_id(TRACKING_NAME) or 0

    def last_hash(self) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT hash FROM log_meta WHERE id = 1")
            row = c.fetchone()
        return None if row is None else str(row[0])

    def apply(self, entries: Sequence[Entry]) -> None:
        """Project a page of consecutive entries and record the position, atomically."""
        if not entries:
            return
        with self.datastore.transaction(commit=True) as c:
            db = database(c)
            touched = Touched()
            timeline = TimelineWriter(db, touched)
            for entry in entries:
                timeline.project(entry)
            timeline.flush()
            recompute_ceasefires(db, touched)
            last = entries[-1]
            db.table("log_meta").upsert(
                {"id": 1, "position": last.position, "hash": last.hash}, pk="id"
            )
            self._insert_tracking(c, Tracking(TRACKING_NAME, last.position))

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Build without the serving indexes, and create them once at the end."""
        names = [statement.split()[5] for statement in _SERVING_INDEXES]
        with self.datastore.transaction(commit=True) as c:
            for name in names:
                c.execute(f"DROP INDEX IF EXISTS {name}")
        try:
            yield
        finally:
            with self.datastore.transaction(commit=True) as c:
                for statement in _SERVING_INDEXES:
                    c.execute(statement)

    @contextmanager
    def reading(self) -> Iterator[sqlite_utils.Database]:
        """A consistent snapshot for one query."""
        with self.datastore.transaction(commit=False) as c:
            yield database(c)

    def close(self) -> None:
        self.datastore.close()


def remove_files(path: str | Path) -> None:
    """Delete a read-model file and its WAL companions."""
    for suffix in ("", "-wal", "-shm"):
        with suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")
