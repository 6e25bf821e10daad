"""The single writer's work is bounded: a batch's checks are linear in its size, the
queue in front of the writer refuses at once when full, and no group commit takes more
than ``max_group_events`` unless one request alone does.

The writer is held still by taking SQLite's write lock from another connection, so each
test decides exactly what is queued while it waits.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CEASEFIRE, CONFLICT, valid_event
from truceline.application.app import AppendRequest, InvalidEvents, Truceline
from truceline.application.group_commit import GroupCommitter, QueueFull
from truceline.application.log import ChainWriter
from truceline.domain.validation import parse_event
from truceline.settings import Settings


def request(*events: dict[str, Any]) -> AppendRequest:
    return AppendRequest([parse_event(e) for e in events], recorded_by="bounded test")


def strikes(count: int) -> AppendRequest:
    return request(*(valid_event("strike") for _ in range(count)))


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Truceline]:
    app = Truceline(Settings(database_url=f"sqlite:///{tmp_path}/store.db", sqlite_lock_timeout=30))
    yield app
    app.close()


@contextmanager
def write_lock_held(tmp_path: Path) -> Iterator[None]:
    """Another connection holds the store's write lock: the writer waits for it."""
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the writer never took its request"
        time.sleep(0.01)


def test_a_batch_of_breach_reports_asks_the_store_once_whether_its_ceasefire_exists(
    application: Truceline, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str, str]] = []
    original = ChainWriter.live_ceasefire_events

    def counting(self: ChainWriter, conflict: str, ceasefire_id: str, kind: str) -> list[str]:
        asked.append((conflict, ceasefire_id, kind))
        return original(self, conflict, ceasefire_id, kind)

    monkeypatch.setattr(ChainWriter, "live_ceasefire_events", counting)
    batch = [valid_event("ceasefire_agreed")]
    batch += [valid_event("ceasefire_breached") for _ in range(500)]

    appended = application.append(request(*batch))

    assert appended.new == 501
    # Once, for the agreement's own check; every breach after it is answered from the
    # batch's index. Asking (and scanning the batch) per event made 1 ceasefire + 9,999
    # breaches take 6.4 s against 1.2 s for 10,000 strikes.
    assert asked == [(CONFLICT, CEASEFIRE, "ceasefire_agreed")]


def test_a_batch_sees_its_own_retraction_of_the_ceasefire_it_reports_breached(
    application: Truceline,
) -> None:
    agreed = valid_event("ceasefire_agreed")
    retraction = valid_event("retraction", retracts_event_id=agreed["event_id"])
    breach = valid_event("ceasefire_breached")

    with pytest.raises(InvalidEvents) as refused:
        application.append(request(agreed, valid_event("ceasefire_breached"), retraction, breach))

    assert [r.index for r in refused.value.rejections] == [3]
    assert application.log_position() == 0


def test_a_full_queue_refuses_at_once_and_an_idle_one_takes_any_request(
    sqlite_app: Truceline, tmp_path: Path
) -> None:
    committer = GroupCommitter(sqlite_app, max_queued_events=5)
    try:
        with write_lock_held(tmp_path):
            first = committer.submit(strikes(8))  # more than the bound, to an idle writer
            wait_until(lambda: committer.queued_events == 0)  # taken: waiting for the lock
            queued = committer.submit(strikes(5))
            with pytest.raises(QueueFull, match="5 events are waiting"):
                committer.submit(strikes(1))
        assert first.result(timeout=30).new == 8
        assert queued.result(timeout=30).new == 5
    finally:
        committer.close()
    assert sqlite_app.log_position() == 13


def test_a_group_never_grows_past_its_bound_with_a_second_request(
    sqlite_app: Truceline, tmp_path: Path
) -> None:
    groups: list[int] = []
    committer = GroupCommitter(
        sqlite_app,
        max_group_events=3,
        on_commit=lambda: groups.append(sqlite_app.log_position()),
    )
    try:
        with write_lock_held(tmp_path):
            first = committer.submit(strikes(1))
            wait_until(lambda: committer.queued_events == 0)
            later = [committer.submit(strikes(2)) for _ in range(2)]
        for future in [first, *later]:
            future.result(timeout=30)
    finally:
        committer.close()
    # One group each: 2 + 2 would take a group past 3.
    assert groups == [1, 3, 5]
