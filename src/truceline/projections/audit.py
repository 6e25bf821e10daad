"""Projections for audits: a rebuild up to a position, and a comparison with the live ones.

``replay`` writes the read models as they stood at a past position into a standalone
SQLite file; ``consistent`` rebuilds them into a scratch file up to the position the live
ones have reached and compares every table, row by row, without loading either into
memory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

import sqlite_utils
from eventsourcing.persistence import MapperDeserialisationError

from truceline.application.app import Truceline
from truceline.projections.follower import BULK_PAGE_SIZE, Follower
from truceline.projections.queries import versions_from
from truceline.projections.readmodel import TRACKING_NAME, ReadModel, remove_files
from truceline.projections.tables import BreachRow, CeasefireRow

# Compared in primary-key order; log_meta and tracking hold the position, checked apart.
# The two tables versioned only since ceasefire_history's position in an older file: their
# columns (see _rows).
VERSIONED_FROM = {"ceasefires": CeasefireRow._fields, "breaches": BreachRow._fields}
COMPARED_TABLES = {
    "timeline": "event_id, valid_from",
    "amendments": "event_id",
    "ceasefires": "conflict, ceasefire_id, valid_from",
    "breaches": "conflict, ceasefire_id, key, valid_from",
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


def _rows(
    db: sqlite_utils.Database, table: str, order: str, since: int
) -> Iterator[tuple[Any, ...]]:
    if since and table in VERSIONED_FROM:
        # The versions a file holds from ``since`` on (see tables.HistoryRow): a rebuilt
        # file's earlier history is cut there, to compare with one versioned at ``since``.
        columns = ", ".join(
            "max(valid_from, :since)" if name == "valid_from" else name
            for name in VERSIONED_FROM[table]
        )
        yield from db.execute(
            f"SELECT {columns} FROM {table} WHERE valid_to IS NULL OR valid_to > :since "
            f"ORDER BY {order}",
            {"since": since},
        )
    else:
        yield from db.execute(f"SELECT * FROM {table} ORDER BY {order}")


def first_difference(live: sqlite_utils.Database, scratch: sqlite_utils.Database) -> str | None:
    """The first table whose rows differ, or None when they are the same."""
    since = versions_from(live)
    for table, order in COMPARED_TABLES.items():
        pairs = zip_longest(_rows(live, table, order, since), _rows(scratch, table, order, since))
        for mine, theirs in pairs:
            if mine != theirs:
                return table
    return None


class ScratchSpaceLow(OSError):
    """The scratch folder has less free space than a rebuild of the read models needs."""


def check_scratch_space(scratch_dir: str | None, live: ReadModel) -> None:
    """Raise :class:`ScratchSpaceLow` unless ``scratch_dir`` (None: the system's temporary
    folder) has room for a copy of the live read model, with a quarter to spare."""
    folder = Path(scratch_dir or tempfile.gettempdir())
    files = [Path(live.path), Path(live.path + "-wal")]
    needed = sum(f.stat().st_size for f in files if f.exists()) * 5 // 4
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ScratchSpaceLow(
            f"the scratch folder {folder} has {free // 2**20} MiB free; rebuilding the "
            f"read models to compare them needs about {needed // 2**20 + 1} MiB "
            "(set TRUCELINE_SCRATCH_PATH to a folder with more room)"
        )


def consistent(app: Truceline, live: ReadModel, scratch_dir: str | None = None) -> tuple[bool, int]:
    """Rebuild from the log up to the position ``live`` has reached, in a scratch file
    under ``scratch_dir`` (checked for room first), and compare every table; also return
    that position. The live model is read in one snapshot, so it may go on following
    the log meanwhile."""
    check_scratch_space(scratch_dir, live)
    with tempfile.TemporaryDirectory(dir=scratch_dir) as folder, live.reading() as snapshot:
        row = snapshot.execute(
            "SELECT notification_id FROM tracking WHERE application_name = ?", [TRACKING_NAME]
        ).fetchone()
        position = int(row[0]) if row else 0
        scratch = ReadModel(Path(folder) / "scratch.db")
        try:
            try:
                Follower(app, scratch, page_size=BULK_PAGE_SIZE, until=position).catch_up(bulk=True)
            except MapperDeserialisationError:
                return False, position  # the log no longer reads back: nothing to compare to
            with scratch.reading() as rebuilt:
                return first_difference(snapshot, rebuilt) is None, position
        finally:
            scratch.close()
