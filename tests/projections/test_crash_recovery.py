"""A projection killed part way picks up where its file says and ends up as if it had never
stopped; a page applied twice is refused whole.

The log (20,000 events over 100 conflicts: ceasefires that supersede and end, every
incident type and precision, breach reports, corrections and retractions) is imported in
one go. A child process projects it page by page, as ``truceline rebuild`` does, and is
killed with SIGKILL once the file shows some progress. The file is then reopened here and
caught up; its tables must equal those of a read model built fresh from the same log.
The log and the read model's rows come from tests/projections/read_model_helpers.py,
shared with tests/cli/test_rebuild.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError

from tests.conftest import environ_without_settings
from tests.projections.read_model_helpers import build, history, table_rows
from truceline.application.app import Truceline
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings

LOG_SIZE = 20_000
PAGE_SIZE = 500
KILL_TIMEOUT = 60.0  # seconds for the child to show progress

PROJECT = """
import sys
from truceline.application.app import Truceline
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings

app = Truceline(Settings(database_url=sys.argv[1]))
Follower(app, ReadModel(sys.argv[2]), page_size=int(sys.argv[3])).catch_up()
"""


def _import(database_url: str, size: int) -> Truceline:
    app = Truceline(Settings(database_url=database_url))
    count = app.import_events(enumerate(history(size), start=1), "test")
    assert count == size == app.log_position()
    return app


def test_a_projection_killed_part_way_resumes_to_the_same_read_model(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/log.db"
    app = _import(database_url, LOG_SIZE)
    path = tmp_path / "killed.db"
    watcher = ReadModel(path)  # the tables exist before the child starts
    child = subprocess.Popen(
        [sys.executable, "-c", PROJECT, database_url, str(path), str(PAGE_SIZE)],
        env=environ_without_settings(),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + KILL_TIMEOUT
        while (reached := watcher.position()) == 0:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the child never applied a page"
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
        if child.stderr:
            child.stderr.close()
    watcher.close()
    assert child.returncode == -signal.SIGKILL
    assert 0 < reached < LOG_SIZE

    # What the crash left: whole pages only, the position at a page boundary.
    restarted = ReadModel(path)
    try:
        killed_at = restarted.position()
        assert reached <= killed_at < LOG_SIZE
        assert killed_at % PAGE_SIZE == 0
        assert table_rows(path)["log_meta"] == [
            (1, killed_at, app.read_log(killed_at - 1, 1)[0].hash)
        ]
        applied = Follower(app, restarted, page_size=PAGE_SIZE).catch_up()
        assert applied == LOG_SIZE - killed_at
        assert restarted.position() == LOG_SIZE
    finally:
        restarted.close()

    resumed = table_rows(path)
    fresh = build(app, tmp_path / "fresh.db")
    app.close()
    assert {name: len(rows) for name, rows in resumed.items()} == {
        name: len(rows) for name, rows in fresh.items()
    }
    for name in resumed:
        assert resumed[name] == fresh[name], name
    assert len(fresh["amendments"]) > 1000
    current = [row for row in fresh["ceasefires"] if row[-1] is None]  # valid_to: none yet
    assert len(current) == 300 < len(fresh["ceasefires"])  # superseders stop their periods
    assert len(fresh["breaches"]) > 1000


@pytest.fixture
def small_log(tmp_path: Path) -> Iterator[Truceline]:
    app = _import(f"sqlite:///{tmp_path}/log.db", 2_000)
    yield app
    app.close()


def test_a_page_applied_again_is_refused_and_changes_nothing(
    small_log: Truceline, tmp_path: Path
) -> None:
    path = tmp_path / "read-model.db"
    with closing(ReadModel(path)) as read_model:
        follower = Follower(small_log, read_model, page_size=PAGE_SIZE)
        assert follower.catch_up() == 2_000
        before = table_rows(path)

        for after, limit in (
            (1_500, PAGE_SIZE),  # the last page, again
            (0, PAGE_SIZE),  # the first page
            (700, 300),  # part of a page
            (1_999, 1),  # the last entry alone
        ):
            with pytest.raises(IntegrityError):
                read_model.apply(small_log.read_log(after, limit))
            assert table_rows(path) == before, (after, limit)
            assert read_model.position() == 2_000


def test_a_follower_that_lost_the_race_for_a_page_carries_on(
    small_log: Truceline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "read-model.db"
    with closing(ReadModel(path)) as read_model:
        Follower(small_log, read_model, page_size=PAGE_SIZE).catch_up()
        before = table_rows(path)
        # This follower read the last page just before another follower applied it.
        read_log = small_log.read_log
        stale = [read_log(1_500, PAGE_SIZE)]
        monkeypatch.setattr(
            small_log,
            "read_log",
            lambda after, limit: stale.pop() if stale else read_log(after, limit),
        )
        late = Follower(small_log, read_model, page_size=PAGE_SIZE)

        late.catch_up()

        assert stale == []
        assert late.position == 2_000
        assert table_rows(path) == before


def test_a_page_that_overlaps_applied_entries_is_refused_whole(
    small_log: Truceline, tmp_path: Path
) -> None:
    path = tmp_path / "read-model.db"
    with closing(ReadModel(path)) as read_model:
        read_model.apply(small_log.read_log(0, 1_200))
        before = table_rows(path)

        # Entries 1001..1500: the first 200 are applied already, the rest are not.
        with pytest.raises(IntegrityError):
            read_model.apply(small_log.read_log(1_000, 500))

        assert table_rows(path) == before
        assert read_model.position() == 1_200
        Follower(small_log, read_model, page_size=PAGE_SIZE).catch_up()
    assert table_rows(path) == build(small_log, tmp_path / "fresh.db")


def test_a_bulk_build_equals_one_built_page_by_page(tmp_path: Path) -> None:
    """``truceline rebuild`` and replays build in bulk: the serving indexes are made
    once at the end, and the rows (every version) are the same."""
    app = _import(f"sqlite:///{tmp_path}/log.db", 5_000)
    path = tmp_path / "bulk.db"
    with closing(ReadModel(path)) as read_model:
        assert Follower(app, read_model, page_size=PAGE_SIZE).catch_up(bulk=True) == 5_000
        with pytest.raises(ValueError, match="starts from an empty read model"), read_model.bulk():
            pass
    bulk = table_rows(path)
    fresh = build(app, tmp_path / "fresh.db", page_size=PAGE_SIZE)
    app.close()
    assert len(fresh["ceasefires"]) > 50 and len(fresh["breaches"]) > 200
    for name in fresh:
        assert bulk[name] == fresh[name], name
