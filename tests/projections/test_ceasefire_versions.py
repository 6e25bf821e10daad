"""Ceasefire and breach rows are versioned by log position, as the timeline is: a status
``as_of`` is a lookup of the rows current then, not the rules run again.

The versions are the history of each row, so they are the same however the log was cut
into pages, or built in bulk; a version is written only where a row changed. A file
written before the rows were versioned is versioned from the position it had reached,
and answers an ``as_of`` before that by the rules, as it used to.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils

from tests.projections.read_model_helpers import Rows, build, history, table_rows
from truceline.application.app import AppendRequest, Truceline
from truceline.domain.times import parse_utc, to_micros
from truceline.domain.validation import parse_event
from truceline.projections import queries
from truceline.projections.audit import consistent
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings

LOG_SIZE = 3_000
AT = to_micros(parse_utc("2021-06-01T00:00:00Z"))
VERSIONED = ("ceasefires", "breaches")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Truceline]:
    folder = tmp_path_factory.mktemp("versions")
    app = Truceline(Settings(database_url=f"sqlite:///{folder}/log.db"))
    assert app.import_events(enumerate(history(LOG_SIZE, conflicts=30), start=1), "test")
    yield app
    app.close()


def _versioned(rows: Rows) -> Rows:
    return {name: rows[name] for name in VERSIONED}


def test_the_versions_are_the_same_whatever_the_pages(app: Truceline, tmp_path: Path) -> None:
    one_at_a_time = build(app, tmp_path / "one.db", page_size=1)
    for page_size in (7, 1000):
        assert _versioned(build(app, tmp_path / f"{page_size}.db", page_size)) == _versioned(
            one_at_a_time
        ), page_size
    with closing(ReadModel(tmp_path / "bulk.db")) as read_model:
        Follower(app, read_model, page_size=20_000).catch_up(bulk=True)
    assert _versioned(table_rows(tmp_path / "bulk.db")) == _versioned(one_at_a_time)
    # Superseders and ends stop periods, corrections and retractions change incidents.
    ended = [row for row in one_at_a_time["ceasefires"] if row[-1] is not None]
    changed = [row for row in one_at_a_time["breaches"] if row[-1] is not None]
    assert len(ended) >= 30 and len(changed) >= 30


def test_a_status_as_of_reads_no_timeline_row(app: Truceline, tmp_path: Path) -> None:
    build(app, tmp_path / "read-model.db")
    with closing(ReadModel(tmp_path / "read-model.db")) as read_model, read_model.reading() as db:
        read: set[str] = set()

        def note(action: int, table: str | None, *_: object) -> int:
            if action == sqlite3.SQLITE_READ and table:
                read.add(table)
            return sqlite3.SQLITE_OK

        db.conn.set_authorizer(note)
        status = queries.ceasefire_status(db, "war-003", "first", AT, as_of=LOG_SIZE // 2)
        listed = queries.ceasefire_list(db, None, AT, as_of=LOG_SIZE // 2)
        state = queries.conflict_status(db, "war-003", AT, as_of=LOG_SIZE // 2)
        db.conn.set_authorizer(None)
    assert status is not None and status["ceasefire_id"] == "first"
    assert len(listed) == 3 * 30  # each conflict agrees three by then
    assert state["conflict"] == "war-003"
    assert "timeline" not in read
    assert {"ceasefires", "breaches"} <= read


def test_a_row_that_does_not_change_gets_no_version(tmp_path: Path) -> None:
    app = Truceline(Settings(database_url=f"sqlite:///{tmp_path}/log.db"))
    events = [
        {
            "type": "ceasefire_agreed",
            "event_id": "00000000-0000-4000-8000-000000000001",
            "conflict": "war",
            "occurred_at": "2021-01-01T00:00:00Z",
            "ceasefire_id": "truce",
            "parties": ["A", "B"],
            "effective_at": "2021-01-01T00:00:00Z",
        },
        {
            "type": "strike",
            "event_id": "00000000-0000-4000-8000-000000000002",
            "conflict": "war",
            "occurred_at": "2021-01-05T00:00:00Z",
            "perpetrator": "A",
        },
        {  # a changed summary: the incident reads the same
            "type": "correction",
            "event_id": "00000000-0000-4000-8000-000000000003",
            "conflict": "war",
            "occurred_at": "2021-01-06T00:00:00Z",
            "corrects_event_id": "00000000-0000-4000-8000-000000000002",
            "changes": {"summary": "confirmed by two sources"},
        },
        {  # a changed perpetrator: the incident is attributed anew
            "type": "correction",
            "event_id": "00000000-0000-4000-8000-000000000004",
            "conflict": "war",
            "occurred_at": "2021-01-07T00:00:00Z",
            "corrects_event_id": "00000000-0000-4000-8000-000000000002",
            "changes": {"perpetrator": "B"},
        },
    ]
    app.append(AppendRequest([parse_event(e) for e in events], "test"))
    rows = build(app, tmp_path / "read-model.db", page_size=1000)
    app.close()
    breaches = [(row[2], row[10], row[-2], row[-1]) for row in rows["breaches"]]
    assert breaches == [
        ("00000000-0000-4000-8000-000000000002", '["A"]', 2, 4),
        ("00000000-0000-4000-8000-000000000002", '["B"]', 4, None),
    ]
    assert [(row[1], row[-2], row[-1]) for row in rows["ceasefires"]] == [("truce", 1, None)]


OLD_KEYS = {
    "ceasefires": ("conflict", "ceasefire_id"),
    "breaches": ("conflict", "ceasefire_id", "key"),
}


def _unversion(path: Path) -> None:
    """Make ``path`` a file as written before the ceasefire rows were versioned."""
    with closing(sqlite3.connect(path)) as connection:
        db = sqlite_utils.Database(connection)
        for name, key in OLD_KEYS.items():
            for index in db.table(name).indexes:
                if not index.name.startswith("sqlite_autoindex"):
                    db.execute(f"DROP INDEX {index.name}")
            db.execute(f"DELETE FROM {name} WHERE valid_to IS NOT NULL")
            db.table(name).transform(drop={"valid_from", "valid_to"}, pk=key)
        db.execute("DROP TABLE ceasefire_history")
        connection.commit()


def test_a_file_from_before_versions_is_versioned_from_its_position(
    app: Truceline, tmp_path: Path
) -> None:
    half = LOG_SIZE // 2
    path = tmp_path / "old.db"
    with closing(ReadModel(path)) as read_model:
        Follower(app, read_model, page_size=500, until=half).catch_up()
    _unversion(path)
    fresh = tmp_path / "fresh.db"
    build(app, fresh)

    with closing(ReadModel(path)) as read_model:
        with read_model.reading() as db:
            assert queries.versions_from(db) == half
        Follower(app, read_model, page_size=500).catch_up()
        assert consistent(app, read_model) == (True, LOG_SIZE)
        with closing(ReadModel(fresh)) as built, read_model.reading() as db, built.reading() as ref:
            for as_of in (half // 3, half - 1, half, half + 500, LOG_SIZE - 1):
                for conflict in ("war-000", "war-017"):
                    for ceasefire_id in ("first", "second"):
                        assert queries.ceasefire_status(
                            db, conflict, ceasefire_id, AT, as_of=as_of
                        ) == queries.ceasefire_status(ref, conflict, ceasefire_id, AT, as_of=as_of)
                    assert queries.conflict_status(
                        db, conflict, AT, as_of
                    ) == queries.conflict_status(ref, conflict, AT, as_of)
                assert queries.ceasefire_list(db, None, AT, as_of) == queries.ceasefire_list(
                    ref, None, AT, as_of
                )
