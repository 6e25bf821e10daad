"""The ``conflicts`` table: each conflict's items counted page by page, so that listing
the conflicts never counts the timeline; it must say what a count would."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from tests.projections.read_model_helpers import history, table_rows
from truceline.application.app import Truceline
from truceline.projections import queries
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel


def built(application: Truceline, path: Path, page_size: int) -> ReadModel:
    application.import_events(enumerate(history(900, conflicts=6), start=1), "test")
    read_model = ReadModel(path)
    Follower(application, read_model, page_size=page_size).catch_up()
    return read_model


def test_the_kept_counts_are_what_counting_the_timeline_gives(application, tmp_path):
    read_model = built(application, tmp_path / "read-model.db", page_size=37)
    with read_model.reading() as db:
        kept = queries.conflicts(db)
        counted = queries.conflicts(db, as_of=application.log_position())
        items = dict(db.execute("SELECT conflict, items FROM conflicts").fetchall())
    read_model.close()

    assert kept == counted
    assert len(kept) == 6
    # Some items were retracted: they are counted apart.
    assert sum(c["events"] for c in kept) < sum(items.values())


def test_a_file_written_before_the_counts_were_kept_is_counted_when_opened(application, tmp_path):
    path = tmp_path / "read-model.db"
    built(application, path, page_size=1000).close()
    before = table_rows(path)["conflicts"]
    with closing(sqlite3.connect(path)) as db:
        db.execute("DROP TABLE conflicts")
        db.commit()

    ReadModel(path).close()

    assert table_rows(path)["conflicts"] == before
