"""A store that goes away or is locked is a temporary condition: 503 with Retry-After,
never a 500, never a partial write, and the server carries on once the store is back.

(a) PostgreSQL is stopped for two seconds and started again, then restarted, under a
real ``truceline serve`` that is receiving appends in a loop: every append is answered 201
or 503 (with ``Retry-After``), each batch is stored whole or not at all, appends succeed
again within 15 seconds of the database's return without restarting the server, retries
of the refused requests are taken exactly once, and the log verifies. The test leaves
PostgreSQL running, whatever happens.

(b) Another process holds SQLite's write lock: with ``TRUCELINE_SQLITE_LOCK_TIMEOUT=1`` an
append waits about a second, is answered 503 with ``Retry-After`` and stores nothing; once
the lock is released the same request is answered 201.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import empty_postgres
from tests.e2e.load import (
    Call,
    assert_all_or_nothing,
    assert_well_formed,
    batch,
    batch_of_events,
    incident,
    read_log,
    receipt,
    server_env,
    single,
    verify,
    wait_caught_up,
    writer_key,
)
from tests.e2e.servers import serving

PROBLEM_JSON = "application/problem+json"
PROBLEM_503 = {
    "type": "urn:truceline:problem:store-unavailable",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "the event store is unavailable or busy; retry shortly",
}
HTTP_TIMEOUT = 60.0  # more than the PostgreSQL pool's 30 s wait for a connection
PG_READY_TIMEOUT = 60.0
OUTAGE = 2.0  # seconds PostgreSQL stays down
RECOVERY = 15.0  # seconds, from PostgreSQL's return, for appends to succeed again
ANSWERED_BEFORE = 30  # appends answered before the outage
ANSWERED_AFTER = 30  # appends answered 201 after the recovery
MAX_REQUESTS = 3_000
LOCK_TIMEOUT = 1  # TRUCELINE_SQLITE_LOCK_TIMEOUT, seconds


def assert_unavailable(response: httpx.Response) -> None:
    """The store-unavailable problem: 503, Retry-After, problem+json."""
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == PROBLEM_503


def assert_no_unexpected_error(log: Path) -> None:
    """The server answered no request with its catch-all 500."""
    text = log.read_text(errors="replace")
    assert "unexpected error" not in text, text[-5000:]


# -- (a) PostgreSQL restarted under load ---------------------------------------------------


def _cluster() -> list[str]:
    (version,) = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def pg_ctl(action: str, *, check: bool = True) -> None:
    result = subprocess.run(
        [*_cluster(), action], capture_output=True, text=True, timeout=PG_READY_TIMEOUT
    )
    assert not check or result.returncode == 0, (action, result.stdout, result.stderr)


def pg_ready() -> bool:
    result = subprocess.run(
        ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], capture_output=True, timeout=10
    )
    return result.returncode == 0


def wait_pg_ready(timeout: float = PG_READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not pg_ready():
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.1)


def stop_wait_start() -> None:
    """PostgreSQL down for OUTAGE seconds (fast shutdown: sessions are terminated)."""
    try:
        pg_ctl("stop")
        time.sleep(OUTAGE)
    finally:
        pg_ctl("start")
        wait_pg_ready()


def restart_now() -> None:
    pg_ctl("restart")
    wait_pg_ready()


@dataclass
class Answer:
    call: Call
    sent: float  # time.monotonic() when the request was sent
    done: float
    response: httpx.Response | None
    failure: str | None = None


class AppendLoop:
    """One thread appending single events and batches of 20 in turn until stopped."""

    def __init__(self, base_url: str, headers: dict[str, str]):
        self.base_url = base_url
        self.headers = headers
        self.rng = random.Random(1015)
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="append-loop", daemon=True)

    def _call(self, number: int) -> Call:
        conflict = f"pg-restart-{number % 3}"
        if number % 2:
            return batch(batch_of_events(self.rng, number))
        return single(incident(self.rng, conflict))

    def _run(self) -> None:
        with httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=HTTP_TIMEOUT
        ) as http:
            for number in range(MAX_REQUESTS):
                if self.stopped.is_set():
                    return
                call = self._call(number)
                sent = time.monotonic()
                try:
                    response: httpx.Response | None = http.post(call.path, json=call.body)
                    failure = None
                except httpx.TransportError as error:
                    response, failure = None, repr(error)
                answer = Answer(call, sent, time.monotonic(), response, failure)
                if response is not None and response.status_code in (200, 201):
                    call.status = response.status_code
                    call.receipts = call.receipts_of(response.json())
                with self.lock:
                    self.answers.append(answer)

    def snapshot(self) -> list[Answer]:
        with self.lock:
            return list(self.answers)

    def wait_until(self, count: int, since: float, timeout: float) -> float | None:
        """Wait for ``count`` 201s sent at or after ``since``; return when the
        first of them was answered, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.thread.is_alive():
            created = [
                a
                for a in self.snapshot()
                if a.sent >= since and a.response is not None and a.response.status_code == 201
            ]
            if len(created) >= count:
                return created[0].done
            time.sleep(0.02)
        return None

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=HTTP_TIMEOUT + 10)
        assert not self.thread.is_alive()


@pytest.fixture
def postgres_kept_running() -> Iterator[None]:
    """Whatever the test does to PostgreSQL, it is running (and ready) afterwards."""
    wait_pg_ready()
    try:
        yield
    finally:
        if not pg_ready():
            pg_ctl("start", check=False)
        wait_pg_ready()


def test_appends_through_a_postgres_restart_are_201_or_503_and_never_half_stored(
    postgres_url: str, tmp_path: Path, postgres_kept_running: None
) -> None:
    empty_postgres(postgres_url)
    env = server_env(postgres_url, tmp_path)
    with serving(env, tmp_path, tmp_path / "serve.log") as base_url:
        headers = writer_key(env, tmp_path)
        loop = AppendLoop(base_url, headers)
        loop.thread.start()
        try:
            assert loop.wait_until(ANSWERED_BEFORE, 0.0, timeout=30) is not None
            outage = time.monotonic()
            for restart in (stop_wait_start, restart_now):
                restart()
                back = time.monotonic()
                assert loop.wait_until(1, back, timeout=RECOVERY) is not None, (
                    f"no append succeeded within {RECOVERY}s of PostgreSQL's return"
                )
                assert loop.wait_until(ANSWERED_AFTER, back, timeout=30) is not None
        finally:
            loop.stop()

        answers = loop.snapshot()
        statuses = [a.response.status_code if a.response else a.failure for a in answers]
        assert {*statuses} <= {201, 503}, statuses
        refused = [a for a in answers if a.response is not None and a.response.status_code == 503]
        for answer in refused:
            assert answer.response is not None
            assert_unavailable(answer.response)
            assert answer.sent >= outage - 1.0, "a 503 before the outage"

        with httpx.Client(base_url=base_url, headers=headers, timeout=HTTP_TIMEOUT) as http:
            log_position = wait_caught_up(http)
            entries = read_log(http)
            by_id = assert_well_formed(entries)
            calls = [a.call for a in answers]
            sent_ids = {event_id for call in calls for event_id in call.event_ids}
            assert set(by_id) <= sent_ids
            assert_all_or_nothing(calls, by_id)
            for call in calls:
                if call.status == 201:
                    assert call.receipts == [receipt(by_id[i]) for i in call.event_ids]
            verify(env, tmp_path, log_position)

            # The refused requests again: each stored once, whether its first try was or not.
            position = log_position
            for answer in refused:
                call = answer.call
                response = http.post(call.path, json=call.body)
                if call.event_ids[0] in by_id:
                    assert response.status_code == 200, response.text
                    assert call.receipts_of(response.json()) == [
                        receipt(by_id[i]) for i in call.event_ids
                    ]
                else:
                    assert response.status_code == 201, response.text
                    positions = [r["position"] for r in call.receipts_of(response.json())]
                    assert positions == list(range(position + 1, position + len(positions) + 1))
                    position += len(positions)
            final_position = wait_caught_up(http)
            final = read_log(http)
            assert set(assert_well_formed(final)) == sent_ids
            assert final_position == position == len(sent_ids)
            assert final[:log_position] == entries
            verify(env, tmp_path, final_position)
    assert_no_unexpected_error(tmp_path / "serve.log")


# -- (b) SQLite locked by another process ---------------------------------------------------


def test_an_append_to_a_locked_sqlite_store_is_a_prompt_503_then_succeeds(
    tmp_path: Path,
) -> None:
    store = tmp_path / "truceline.db"
    env = {**server_env(f"sqlite:///{store}", tmp_path), "TRUCELINE_SQLITE_LOCK_TIMEOUT": "1"}
    event = incident(random.Random(7), "sqlite-locked")
    batch_events = batch_of_events(random.Random(8), 0)
    with (
        serving(env, tmp_path, tmp_path / "serve.log") as base_url,
        httpx.Client(
            base_url=base_url, headers=writer_key(env, tmp_path), timeout=HTTP_TIMEOUT
        ) as http,
    ):
        with closing(sqlite3.connect(store, isolation_level=None, timeout=10)) as other:
            other.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held by this process
            try:
                for path, body in [
                    ("/v1/events", event),
                    ("/v1/events/batch", {"events": batch_events}),
                ]:
                    started = time.monotonic()
                    response = http.post(path, json=body)
                    waited = time.monotonic() - started
                    assert_unavailable(response)
                    assert LOCK_TIMEOUT * 0.9 <= waited < LOCK_TIMEOUT + 4, waited
                # Nothing stored: the log is empty, even as read under the lock.
                assert read_log(http) == []
                assert http.get(f"/v1/events/{event['event_id']}").status_code == 404
            finally:
                other.execute("ROLLBACK")

        response = http.post("/v1/events", json=event)
        assert response.status_code == 201, response.text
        assert response.json()["event_id"] == event["event_id"]
        assert response.json()["position"] == 1
        again = http.post("/v1/events/batch", json={"events": batch_events})
        assert again.status_code == 201, again.text
        assert [r["position"] for r in again.json()["results"]] == list(range(2, 22))
        entries = read_log(http)
        assert [e["event"]["event_id"] for e in entries] == [event["event_id"]] + [
            e["event_id"] for e in batch_events
        ]
        verify(env, tmp_path, wait_caught_up(http))
    assert_no_unexpected_error(tmp_path / "serve.log")
