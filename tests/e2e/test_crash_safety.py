"""A server killed with SIGKILL in the middle of a concurrent append load loses nothing it
answered, stores no batch by halves, and takes every retry of what it did not answer
exactly once.

``truceline serve`` runs as a real process, on a SQLite file and on the test run's
PostgreSQL database. Eight client threads send about 2,500 events (single events and
batches of 20, each event with its own ``event_id``, ceasefires agreed and breached among
them); the client of every tenth request gives up before its answer comes, as a client
whose timeout fires does. Once about 1,000 events have been answered the server is
killed, with requests in flight. A new server on the same store and read model must then
hold every answered event at the position it was answered with, all or none of each
batch, positions 1..N with no gap, and read models equal to a rebuild (``truceline
verify``). Every request that was not answered is then sent again with the same body, and
then every answered one: those already stored are answered 200 with the positions they
have in the log, the others 201, and no event is in the log twice.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_append import valid_event
from tests.e2e.servers import (
    cli_env,
    run_cli,
    serving,
    serving_process,
)

Envelope = dict[str, Any]
Headers = dict[str, str]

SEED = 20201010
CLIENT_THREADS = 8
BATCH_SIZE = 20
BATCH_SHARE = 0.25  # of the requests; the rest are single events
LOAD_EVENTS = 2_500  # about; the plan stops at the first request that reaches it
KILL_AFTER_EVENTS = 1_000  # answered events before the SIGKILL
DROP_EVERY = 10  # every tenth request's client gives up before its answer comes...
DROP_AFTER = (0.002, 0.005, 0.01, 0.02)  # ...after one of these read timeouts, in turn
LOAD_TIMEOUT = 30.0  # seconds for the load to reach the kill
CATCH_UP_TIMEOUT = 30.0  # seconds for the read models to reach the end of the log
HTTP_TIMEOUT = 30.0
CONFLICTS = [f"crash-safety-{n}" for n in range(4)]


# -- the load ----------------------------------------------------------------------------


@dataclass
class Call:
    """One append request of the load and what became of it."""

    path: str  # /v1/events or /v1/events/batch
    body: Envelope
    event_ids: list[str]
    status: int | None = None  # None: never answered (not sent, or cut off by the kill)
    receipts: list[Envelope] = field(default_factory=list)
    failure: str | None = None  # the transport error of a request in flight
    drop_after: float | None = None  # the client gives up if no answer came by then

    @property
    def batch(self) -> bool:
        return self.path.endswith("/batch")

    def receipts_of(self, body: Envelope) -> list[Envelope]:
        return list(body["results"]) if self.batch else [body]


def single(event: Envelope) -> Call:
    return Call("/v1/events", event, [event["event_id"]])


def batch(events: list[Envelope]) -> Call:
    return Call("/v1/events/batch", {"events": events}, [e["event_id"] for e in events])


def ceasefires_agreed() -> list[Envelope]:
    """One ceasefire per conflict, appended before the load; single breaches name them."""
    return [
        valid_event("ceasefire_agreed", conflict=conflict, ceasefire_id="truce")
        for conflict in CONFLICTS
    ]


def _time(rng: random.Random) -> str:
    return (
        f"2020-10-{rng.randint(11, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    )


def incident(rng: random.Random, conflict: str) -> Envelope:
    kind = rng.choice(["strike", "shelling", "clash", "statement", "displacement"])
    return valid_event(
        kind,
        conflict=conflict,
        occurred_at=_time(rng),
        summary=f"load event {rng.randrange(10**9)}",
    )


def batch_of_events(rng: random.Random, number: int) -> list[Envelope]:
    """BATCH_SIZE events of one conflict; some name earlier events of the same batch (a
    casualty report about a strike; a ceasefire agreed, then breached by that strike)."""
    conflict = rng.choice(CONFLICTS)
    strike = valid_event("strike", conflict=conflict, occurred_at=_time(rng))
    events = [
        strike,
        valid_event(
            "casualty_report",
            conflict=conflict,
            occurred_at=_time(rng),
            about_event_id=strike["event_id"],
        ),
    ]
    if number % 4 == 0:
        ceasefire_id = f"batch-truce-{number}"
        events += [
            valid_event(
                "ceasefire_agreed",
                conflict=conflict,
                ceasefire_id=ceasefire_id,
                occurred_at="2020-10-12T00:00:00Z",
                effective_at="2020-10-12T06:00:00Z",
            ),
            valid_event(
                "ceasefire_breached",
                conflict=conflict,
                ceasefire_id=ceasefire_id,
                accused="Azerbaijan",
                occurred_at=_time(rng),
                incident_event_id=strike["event_id"],
            ),
        ]
    while len(events) < BATCH_SIZE:
        events.append(incident(rng, conflict))
    return events


def load_plan(seed: int = SEED) -> list[Call]:
    """About LOAD_EVENTS events: batches of BATCH_SIZE and single events, among them
    ceasefires agreed and breaches of the ceasefires agreed before the load. Every
    request stands on its own, so the requests may be answered in any order."""
    rng = random.Random(seed)
    calls: list[Call] = []
    events = 0
    while events < LOAD_EVENTS:
        draw = rng.random()
        if draw < BATCH_SHARE:
            call = batch(batch_of_events(rng, len(calls)))
        elif draw < BATCH_SHARE + 0.04:
            call = single(
                valid_event(
                    "ceasefire_breached",
                    conflict=rng.choice(CONFLICTS),
                    ceasefire_id="truce",
                    accused=rng.choice(["Armenia", "Azerbaijan"]),
                    occurred_at=_time(rng),
                )
            )
        elif draw < BATCH_SHARE + 0.06:
            call = single(
                valid_event(
                    "ceasefire_agreed",
                    conflict=rng.choice(CONFLICTS),
                    ceasefire_id=f"single-truce-{len(calls)}",
                    occurred_at=_time(rng),
                    effective_at="2020-10-29T00:00:00Z",
                )
            )
        else:
            call = single(incident(rng, rng.choice(CONFLICTS)))
        if len(calls) % DROP_EVERY == DROP_EVERY - 1:
            call.drop_after = DROP_AFTER[len(calls) // DROP_EVERY % len(DROP_AFTER)]
        calls.append(call)
        events += len(call.event_ids)
    return calls


class Load:
    """CLIENT_THREADS threads sending the calls in plan order, until :meth:`halt`."""

    def __init__(self, base_url: str, headers: Headers, calls: list[Call]):
        self.base_url = base_url
        self.headers = headers
        self.calls = calls
        self.next_call = 0
        self.answered_events = 0
        self.lock = threading.Lock()
        self.halted = threading.Event()
        self.kill_point = threading.Event()  # KILL_AFTER_EVENTS answered
        self.threads = [
            threading.Thread(target=self._send, name=f"load-{n}", daemon=True)
            for n in range(CLIENT_THREADS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def halt(self) -> None:
        """Send nothing more; wait for the threads (their requests in flight fail)."""
        self.halted.set()
        for thread in self.threads:
            thread.join(timeout=HTTP_TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in self.threads)

    def _take(self) -> Call | None:
        with self.lock:
            if self.halted.is_set() or self.next_call == len(self.calls):
                return None
            call = self.calls[self.next_call]
            self.next_call += 1
            return call

    def _send(self) -> None:
        with httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=HTTP_TIMEOUT
        ) as http:
            while (call := self._take()) is not None:
                try:
                    if call.drop_after is None:
                        response = http.post(call.path, json=call.body)
                    else:
                        timeout = httpx.Timeout(HTTP_TIMEOUT, read=call.drop_after)
                        response = http.post(call.path, json=call.body, timeout=timeout)
                except httpx.TransportError as error:
                    call.failure = repr(error)
                    continue
                call.status = response.status_code
                if response.is_success:
                    call.receipts = call.receipts_of(response.json())
                with self.lock:
                    self.answered_events += len(call.event_ids)
                    if self.answered_events >= KILL_AFTER_EVENTS:
                        self.kill_point.set()


# -- servers and the log -----------------------------------------------------------------


def server_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The store, and a read model of the test's own that outlives each server."""
    return {**cli_env(database_url), "TRUCELINE_READ_MODEL_PATH": str(tmp_path / "read-model.db")}


def writer_key(env: dict[str, str], cwd: Path) -> Headers:
    created = run_cli(env, cwd, "keys", "create", "crash test writer", "--role", "writer")
    return {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}


def read_log(http: httpx.Client) -> list[Envelope]:
    """The whole log through GET /v1/events, page by page."""
    entries: list[Envelope] = []
    after = 0
    while True:
        response = http.get("/v1/events", params={"after": after, "limit": 1000})
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["events"]:
            assert page["next_after"] is None
            return entries
        entries += page["events"]
        after = page["next_after"]
        assert after == entries[-1]["position"]


def wait_caught_up(http: httpx.Client, timeout: float = CATCH_UP_TIMEOUT) -> int:
    """Wait until the read models have reached the end of the log; return its position."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get("/v1/health")
        if response.status_code == 200:
            health = response.json()
            if health["projection_position"] == health["log_position"]:
                return int(health["log_position"])
        assert time.monotonic() < deadline, (response.status_code, response.text)
        time.sleep(0.05)


def verify(env: dict[str, str], cwd: Path, events: int) -> None:
    """``truceline verify`` exits 0: the chain holds and the read models equal a rebuild."""
    result = run_cli(env, cwd, "verify")
    assert f"hash chain verified: {events} events" in result.stdout, result.stdout
    assert f"read models at position {events}: consistent with the log" in result.stdout, (
        result.stdout
    )


def assert_well_formed(entries: list[Envelope]) -> dict[str, Envelope]:
    """Positions 1..N with no gap, recorded_at never decreasing, every event_id once;
    returns the entries by event_id."""
    assert [e["position"] for e in entries] == list(range(1, len(entries) + 1))
    times = [e["recorded_at"] for e in entries]
    assert times == sorted(times)
    by_id = {e["event"]["event_id"]: e for e in entries}
    assert len(by_id) == len(entries), "an event_id is in the log more than once"
    return by_id


def receipt(entry: Envelope) -> Envelope:
    return {
        "event_id": entry["event"]["event_id"],
        "position": entry["position"],
        "recorded_at": entry["recorded_at"],
    }


def assert_all_or_nothing(calls: list[Call], by_id: dict[str, Envelope]) -> None:
    """Each request's events are all in the log or none are."""
    halves = [
        (call.path, [event_id in by_id for event_id in call.event_ids])
        for call in calls
        if len({event_id in by_id for event_id in call.event_ids}) > 1
    ]
    assert not halves, f"requests stored by halves: {halves[:3]}"


# -- the test ----------------------------------------------------------------------------


def test_a_server_killed_mid_load_keeps_every_answer_and_takes_every_retry_once(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url, tmp_path)
    setup = [single(event) for event in ceasefires_agreed()]
    calls = load_plan()
    sent_ids = [event_id for call in setup + calls for event_id in call.event_ids]
    assert len(set(sent_ids)) == len(sent_ids)

    # 1. The load, and a SIGKILL once part of it has been answered.
    with serving_process(env, tmp_path, tmp_path / "serve-killed.log") as (process, base_url):
        headers = writer_key(env, tmp_path)
        with httpx.Client(base_url=base_url, headers=headers, timeout=HTTP_TIMEOUT) as http:
            for position, call in enumerate(setup, start=1):
                response = http.post(call.path, json=call.body)
                assert response.status_code == 201, response.text
                assert response.json()["position"] == position
                call.status, call.receipts = 201, [response.json()]
        load = Load(base_url, headers, calls)
        load.start()
        try:
            assert load.kill_point.wait(LOAD_TIMEOUT), "the load never reached the kill point"
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=10) == -signal.SIGKILL
        finally:
            load.halt()

    answered = [call for call in calls if call.status is not None]
    unanswered = [call for call in calls if call.status is None]
    # Requests the kill cut off, as against those that found no server any more.
    cut_off = [
        call
        for call in unanswered
        if call.failure and not call.failure.startswith("ConnectError") and call.drop_after is None
    ]
    dropped = [call for call in unanswered if call.drop_after and call.failure]
    assert [call.status for call in answered] == [201] * len(answered), {
        call.status for call in answered
    }
    assert sum(len(call.event_ids) for call in answered) >= KILL_AFTER_EVENTS
    assert unanswered, "the load ended before the kill"
    assert cut_off, "no request was in flight when the server was killed"
    assert dropped, "no client gave up on its answer"

    # 2. A new server on the same store and read model.
    with (
        serving(env, tmp_path, tmp_path / "serve-restarted.log") as base_url,
        httpx.Client(base_url=base_url, headers=headers, timeout=HTTP_TIMEOUT) as http,
    ):
        log_position = wait_caught_up(http)
        entries = read_log(http)
        assert len(entries) == log_position
        by_id = assert_well_formed(entries)
        assert set(by_id) <= set(sent_ids), "the log holds events nobody sent"

        # Every answered event is there, at the position and time it was answered with.
        lost = [
            r["event_id"]
            for call in setup + answered
            for r in call.receipts
            if r["event_id"] not in by_id
        ]
        assert not lost, f"{len(lost)} answered events are not in the log: {lost[:5]}"
        for call in setup + answered:
            assert [r["event_id"] for r in call.receipts] == call.event_ids
            assert call.receipts == [receipt(by_id[event_id]) for event_id in call.event_ids]
            assert [by_id[event_id]["event"]["type"] for event_id in call.event_ids] == [
                event["type"] for event in (call.body["events"] if call.batch else [call.body])
            ]
        assert_all_or_nothing(calls, by_id)
        verify(env, tmp_path, log_position)

        # Some requests whose client gave up were stored all the same: their retries
        # below must be answered 200, not stored again.
        assert any(call.event_ids[0] in by_id for call in dropped)

        # 3. Every unanswered request again, with the same body; then every answered one.
        position = log_position
        for call in unanswered + answered:
            response = http.post(call.path, json=call.body)
            if call.event_ids[0] in by_id:  # stored (all of it: checked above)
                assert response.status_code == 200, response.text
                assert call.receipts_of(response.json()) == [
                    receipt(by_id[event_id]) for event_id in call.event_ids
                ]
            else:
                assert response.status_code == 201, response.text
                receipts = call.receipts_of(response.json())
                assert [r["event_id"] for r in receipts] == call.event_ids
                assert [r["position"] for r in receipts] == list(
                    range(position + 1, position + len(call.event_ids) + 1)
                )
                position += len(call.event_ids)

        final_position = wait_caught_up(http)
        final = read_log(http)
        final_by_id = assert_well_formed(final)
        assert final_position == position == len(final) == len(sent_ids)
        assert set(final_by_id) == set(sent_ids)
        assert final[:log_position] == entries  # the retries changed nothing stored
        verify(env, tmp_path, final_position)
