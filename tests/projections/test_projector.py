"""The projector and a serving process's view of it, in one process on real files: the
position board, the wake-up FIFO, waits for a position and the stream's entries.

The processes themselves (``serve`` starting, restarting and stopping ``truceline
project``) are tested end to end in tests/e2e/test_projector_process.py.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import valid_event
from truceline.application.app import AppendRequest, Truceline
from truceline.domain.validation import parse_event
from truceline.projections.feed import Feed
from truceline.projections.follower import open_read_model
from truceline.projections.projector import (
    PositionBoard,
    Projector,
    ProjectorProgress,
    ProjectorRunning,
    WakeChannel,
)
from truceline.projections.readmodel import remove_files
from truceline.settings import Settings


def append(app: Truceline, count: int = 1) -> int:
    """Append ``count`` statements in one request; the last position."""
    events = [parse_event(valid_event("statement")) for _ in range(count)]
    return app.append(AppendRequest(events, "test")).receipts[-1].position


@pytest.fixture
def projector(application: Truceline, settings: Settings) -> Iterator[Projector]:
    assert settings.read_model_path is not None
    running = Projector(application, settings.read_model_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def progress(
    application: Truceline, settings: Settings, projector: Projector
) -> Iterator[ProjectorProgress]:
    assert settings.read_model_path is not None
    read_model = open_read_model(application, settings.read_model_path)
    viewer = ProjectorProgress(application, read_model, settings.read_model_path)
    viewer.start()
    yield viewer
    viewer.stop()
    read_model.close()


def test_the_board_is_empty_until_a_projector_writes_it(tmp_path: Path) -> None:
    reader = PositionBoard(tmp_path / "rm.db", writer=False)
    assert reader.read() is None
    writer = PositionBoard(tmp_path / "rm.db", writer=True)
    writer.write(0)
    assert reader.read() == 0
    writer.write(2**40 + 3)
    assert reader.read() == 2**40 + 3
    writer.close()
    reader.close()


def test_removing_a_read_model_removes_its_board(tmp_path: Path) -> None:
    """A rebuilt file starts with no board: the old one would claim its old position."""
    PositionBoard(tmp_path / "rm.db", writer=True).write(7)
    remove_files(tmp_path / "rm.db")
    assert PositionBoard(tmp_path / "rm.db", writer=False).read() is None


def test_a_poke_with_no_projector_listening_is_dropped_at_once(tmp_path: Path) -> None:
    channel = WakeChannel(tmp_path / "rm.db")
    channel.poke()  # no FIFO at all
    os.mkfifo(channel.path, 0o600)
    started = time.monotonic()
    channel.poke()  # a FIFO nobody reads
    assert time.monotonic() - started < 0.1
    channel.close()


def test_pokes_reach_a_listener_and_survive_its_restart(tmp_path: Path) -> None:
    channel = WakeChannel(tmp_path / "rm.db")
    for _listener in range(2):  # the second: a projector started again
        woken, stopped = threading.Event(), threading.Event()
        thread = threading.Thread(target=channel.listen, args=(woken.set, stopped))
        thread.start()
        while not os.path.exists(channel.path):
            time.sleep(0.001)
        time.sleep(0.05)  # the listener has opened the FIFO
        channel.poke()
        assert woken.wait(5)
        stopped.set()
        thread.join(5)
    assert stat.S_ISFIFO(os.stat(channel.path).st_mode)
    assert oct(os.stat(channel.path).st_mode & 0o777) == "0o600"
    channel.close()


def test_a_file_in_the_fifos_place_is_replaced_by_one(tmp_path: Path) -> None:
    channel = WakeChannel(tmp_path / "rm.db")
    Path(channel.path).write_text("not a FIFO")
    stopped = threading.Event()
    thread = threading.Thread(target=channel.listen, args=(lambda: None, stopped))
    thread.start()
    time.sleep(0.1)
    stopped.set()
    thread.join(5)
    assert stat.S_ISFIFO(os.stat(channel.path).st_mode)


def test_a_second_projector_of_a_file_is_refused(
    application: Truceline, settings: Settings, projector: Projector
) -> None:
    assert settings.read_model_path is not None
    with pytest.raises(ProjectorRunning, match="one projector per read-model file"):
        Projector(application, settings.read_model_path).start()


def test_a_wait_returns_once_the_projector_has_applied_the_position(
    application: Truceline, progress: ProjectorProgress
) -> None:
    position = append(application, 3)
    progress.poke()

    async def wait() -> tuple[bool, bool]:
        reached = await progress.reached(position, 10)
        beyond = await progress.reached(position + 1, 0.05)
        return reached, beyond

    assert asyncio.run(wait()) == (True, False)
    assert progress.position == position == 3


def test_a_watched_feed_gets_every_entry_once_applied(
    application: Truceline, progress: ProjectorProgress
) -> None:
    feed = Feed(progress.position, backlog=100)
    progress.feed = feed
    with feed.watching():
        first = append(application, 2)
        progress.poke()
        second = append(application, 1)
        progress.poke()
        deadline = time.monotonic() + 10
        while feed.position < second:
            assert time.monotonic() < deadline, feed.position
            time.sleep(0.005)
        messages = feed.since(0)
    assert first == 2
    assert messages is not None and [m.position for m in messages] == [1, 2, 3]
    assert [m.type for m in messages] == ["statement"] * 3


def test_an_unwatched_feed_moves_on_without_reading_the_log(
    application: Truceline, progress: ProjectorProgress
) -> None:
    feed = Feed(progress.position, backlog=100)
    progress.feed = feed
    position = append(application, 2)
    progress.poke()
    deadline = time.monotonic() + 10
    while feed.position < position:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert feed.since(0) is None  # a stream starting there reads the log itself
    assert feed.since(position) == []
