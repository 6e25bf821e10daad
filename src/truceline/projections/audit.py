"""Projections for audits: a rebuild up to a position, and a comparison with the live ones.

``replay`` writes the read models as they stood at a past position into a standalone
SQLite file; ``consistent`` rebuilds them into a scratch file up to the position the live
ones have reached and compares every table, row by row, without loading either into
memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

import sqlite_utils
from eventsourcing.persistence import MapperDeserialisationError

from truceline.application.app import Truceline
from truceline.projections.follower import BULK_PAGE_SIZE, Follower
from truceline.projections.readmodel import TRACKING_NAME, ReadModel, remove_files

# Compared in primary-key order; log_meta and tracking hold the position, checked apart.
COMPARED_TABLES = {
    "timeline": "event_id, valid_from",
    "amendments": "event_id",
    "ceasefires": "conflict, ceasefire_id",
    "breaches": "conflict, ceasefire_id, key",
}


def replay(
    app: Truceline, position: int, out: Path, on_progress: Callable[[int], None] | None = None
) -> int:
    """Build the read models of entries 1..``position`` into the new file ``out``."""
    remove_files(out)
    read_model = ReadModel(out)
    try:
        return Follower(app, read_model, page_size=BULK_PAGE_SIZE, until=position).catch_up(
            on_progress, bulk=True
        )
    finally:
        read_model.close()


def _rows(db: sqlite_utils.Database, table: str, order: str) -> Iterator[tuple[Any, ...]]:
    yield from db.execute(f"SELECT * FROM {table} ORDER BY {order}")


def first_difference(live: sqlite_utils.Database, scratch: sqlite_utils.Database) -> str | None:
    """The first table whose rows differ, or None when they are the same."""
    for table, order in COMPARED_TABLES.items():
        for mine, theirs in zip_longest(_rows(live, table, order), _rows(scratch, table, order)):
            if mine != theirs:
                return table
    return None


def consistent(app: Truceline, live: ReadModel) -> tuple[bool, int]:
    """Rebuild from the log up to the position ``live`` has reached, and compare every
    table; also return that position. The live model is read in one snapshot, so it may
    go on following the log meanwhile."""
    with tempfile.TemporaryDirectory() as scratch_dir, live.reading() as snapshot:
        row = snapshot.execute(
            "SELECT notification_id FROM tracking WHERE application_name = ?", [TRACKING_NAME]
        ).fetchone()
        position = int(row[0]) if row else 0
        scratch = ReadModel(Path(scratch_dir) / "scratch.db")
        try:
            try:
                Follower(app, scratch, page_size=BULK_PAGE_SIZE, until=position).catch_up(bulk=True)
            except MapperDeserialisationError:
                return False, position  # the log no longer reads back: nothing to compare to
            with scratch.reading() as rebuilt:
                return first_difference(snapshot, rebuilt) is None, position
        finally:
            scratch.close()
