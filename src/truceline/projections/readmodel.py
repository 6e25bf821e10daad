"""The read model: one SQLite file of tables derived from the log, and its position.

It is an eventsourcing ``SQLiteTrackingRecorder``: each page of log entries is applied
in one transaction that also records the position reached (the tracking row), so a crash
at any point leaves either the whole page and its position or neither. A page applied
twice is refused by the tracking row (``IntegrityError``), never double-counted.

Tables (open the file in Datasette to browse them):

- ``timeline``: one row per version of each item; ``valid_from``/``valid_to`` are the log
  positions between which that version was current (``valid_to`` null: current).
- ``amendments``: corrections and retractions, by the event they amend.
- ``ceasefires``: each agreed, unretracted ceasefire and its period in effect, versioned
  as the timeline is.
- ``breaches``: each incident that (possibly) breaks a ceasefire, and its attribution,
  versioned as the timeline is.
- ``ceasefire_history``: the position from which those two hold every version.
- ``log_meta``: the hash of the last entry applied, to notice a different log.
- ``frontier``: after each page, the latest ``occurred_us`` written so far (bounds
  ``as_of`` scans).

The processes that serve the file hold a lock on ``<file>.lock``, shared between them;
``truceline rebuild``, which replaces the file, needs it alone (:class:`ReadModelLock`).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType

import sqlite_utils
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)

from truceline.application.log import Entry
from truceline.application.sqlite_store import SQLitePool, create_private
from truceline.projections.ceasefires import Lifecycles, Touched, recompute_ceasefires
from truceline.projections.tables import (
    DROPPED_INDEXES,
    PROJECTION_INDEXES,
    SERVING_INDEXES,
    TABLES,
    create_tables,
)
from truceline.projections.timeline import TimelineWriter

TRACKING_NAME = "Truceline"
POSITION_SUFFIX = ".position"  # the projector's position board (projections.projector)


def database(cursor: SQLiteCursor) -> sqlite_utils.Database:
    """sqlite-utils over the connection of an open transaction (it writes through
    SAVEPOINTs and commits nothing itself); never keep it past the transaction."""
    return sqlite_utils.Database(
        cursor.sqlite_cursor.connection, recursive_triggers=False, execute_plugins=False
    )


class ReadModelInUse(Exception):
    """Another process holds the read model's lock, in a way that excludes this use."""


class ReadModelLock:
    """A lock on ``<read model>.lock``: shared by the processes that serve the read model
    (``serve --workers N``, two servers on one file), exclusive for one that replaces it.
    Taken at once or refused with :class:`ReadModelInUse`, never waited for.

    flock(2) rather than fcntl's record locks: a record lock belongs to the process, so
    two in one process never conflict and closing any descriptor of the file drops them
    all; flock's belongs to the open file. The OS releases it when its process ends, so a
    server that crashed leaves nothing locked.
    """

    def __init__(self, path: str | Path, *, exclusive: bool):
        self.path = f"{path}.lock"
        create_private(self.path)
        descriptor = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(descriptor, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise ReadModelInUse(_refusal(str(path), self.path, exclusive)) from None
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # which drops the lock
            self._descriptor = None

    def __enter__(self) -> ReadModelLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _refusal(path: str, lock: str, exclusive: bool) -> str:
    if exclusive:
        return (
            f"the read model {path} is in use by a running server or another truceline "
            f"command ({lock} is locked): stop it first"
        )
    return (
        f"the read model {path} is being replaced by truceline rebuild ({lock} is locked): "
        "wait for it to finish"
    )


class _ReadModelPool(SQLitePool):
    """Truceline's pool (``trusted_schema`` off, files made private), with connections
    tuned for a rebuildable file.

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
    """The read-model file, written by one follower, read by the queries; ``lock``, if
    given, is released when it is closed."""

    def __init__(self, path: str | Path, lock_timeout: int = 30, lock: ReadModelLock | None = None):
        self.path = str(path)
        self.lock = lock
        datastore = SQLiteDatastore(self.path, lock_timeout=lock_timeout, pool_size=4)
        datastore.pool = _ReadModelPool(db_name=self.path, lock_timeout=lock_timeout, pool_size=4)
        super().__init__(datastore)
        self.create_table()

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            db = database(c)
            counted = db["conflicts"].exists()
            # Nothing is written when the file is up to date: several processes open it
            # at once, and a write here would have to upgrade this read transaction.
            versioned = db["ceasefire_history"].exists()
            create_tables(db)
            if "csv" not in db["timeline"].columns_dict:  # a file written before the lines
                db.table("timeline").add_column("csv", str)  # its rows are converted as read
            if not counted:  # a file written before the counts were kept: count it once
                c.execute(
                    "INSERT INTO conflicts SELECT conflict, count(*), sum(retracted) "
                    "FROM timeline WHERE valid_to IS NULL GROUP BY conflict"
                )
            if not versioned:  # a new file (versioned from 0), or one written before
                if "valid_from" in db["breaches"].columns_dict:
                    c.execute("INSERT INTO ceasefire_history (id, since) VALUES (1, 0)")
                else:
                    _version_ceasefire_tables(db, c)
            for index in (*PROJECTION_INDEXES, *SERVING_INDEXES):
                c.execute(index.create)
            for name in DROPPED_INDEXES:
                c.execute(f"DROP INDEX IF EXISTS {name}")

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
            timeline = _project_in_runs(db, entries)
            last = entries[-1]
            self._advance_frontier(c, last.position, timeline.latest)
            # One statement: sqlite-utils' upsert inspects the table on every call, which
            # was a sixth of the follower's time on small pages while serving appends.
            c.execute(
                "INSERT OR REPLACE INTO log_meta (id, position, hash) VALUES (1, ?, ?)",
                (last.position, last.hash),
            )
            self._insert_tracking(c, Tracking(TRACKING_NAME, last.position))

    def _advance_frontier(self, c: SQLiteCursor, position: int, latest: int | None) -> None:
        c.execute("SELECT max_occurred_us FROM frontier ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        if row is None:  # a new file, or one written before the frontier was kept
            c.execute("SELECT MAX(occurred_us) FROM timeline")
            row = c.fetchone()
        known = [value for value in (row[0], latest) if value is not None]
        if known:
            c.execute("INSERT INTO frontier VALUES (?, ?)", (position, max(known)))

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Build an empty read model from the start, for a file nobody reads until the
        build has finished (a rebuild, a replay).

        The serving indexes are created once at the end rather than kept up to date. The
        ceasefire tables are written page by page as the follower writes them: their
        versions are the history of each row, which one pass at the end could not give.
        """
        if self.position() != 0:
            raise ValueError("a bulk build starts from an empty read model")
        with self.datastore.transaction(commit=True) as c:
            for index in SERVING_INDEXES:
                c.execute(f"DROP INDEX IF EXISTS {index.name}")
        try:
            yield
        finally:
            with self.datastore.transaction(commit=True) as c:
                for index in SERVING_INDEXES:
                    c.execute(index.create)

    @contextmanager
    def reading(self) -> Iterator[sqlite_utils.Database]:
        """A consistent snapshot for one query."""
        with self.datastore.transaction(commit=False) as c:
            yield database(c)

    def close(self) -> None:
        self.datastore.close()
        if self.lock is not None:
            self.lock.release()


def _version_ceasefire_tables(db: sqlite_utils.Database, c: SQLiteCursor) -> None:
    """Version the ceasefire tables of a file written before they were: each row is
    stamped current from the position the file has reached, which ``ceasefire_history``
    records (an ``as_of`` before it runs the rules again; a rebuild gives every version)."""
    c.execute(
        "SELECT max(notification_id) FROM tracking WHERE application_name = ?", [TRACKING_NAME]
    )
    since = c.fetchone()[0] or 0
    for name in ("ceasefires", "breaches"):
        table = db.table(name)
        table.add_column("valid_from", int)
        table.add_column("valid_to", int)
        c.execute(f"UPDATE {name} SET valid_from = ?", [since])
        table.transform(pk=TABLES[name][1])
    c.execute("INSERT OR REPLACE INTO ceasefire_history (id, since) VALUES (1, ?)", [since])


def _project_in_runs(db: sqlite_utils.Database, entries: Sequence[Entry]) -> TimelineWriter:
    """Write a page's timeline rows, and bring the ceasefire tables up after each run: an
    entry that can change a lifecycle is a run of its own in its conflict, so every
    version a run writes is made under the periods it had (see projections.ceasefires).
    Runs are a conflict's (an event names only events of its own conflict, and the rules
    read only its rows): ending every conflict's run at each lifecycle entry took a bulk
    build of 100,000 events in 8 conflicts 15.6 s instead of 13.9 s."""
    timeline, lifecycles = TimelineWriter(db, Touched()), Lifecycles()

    def end_run(conflict: str | None = None) -> None:
        timeline.flush()
        recompute_ceasefires(db, timeline.touched, lifecycles, conflict)

    for entry in entries:
        if timeline.changes_lifecycle(entry):
            end_run(entry.event["conflict"])
            timeline.project(entry)
            end_run(entry.event["conflict"])
        else:
            timeline.project(entry)
    end_run()
    return timeline


def remove_files(path: str | Path) -> None:
    """Delete a read-model file, its WAL companions and its projector's position board
    (which would otherwise claim the old file's position for the new one)."""
    for suffix in ("", "-wal", "-shm", POSITION_SUFFIX):
        with suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")
