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
from pathlib import Path

import httpx

from tests.e2e.load import (
    CONFLICTS,
    Call,
    assert_all_or_nothing,
    assert_well_formed,
    batch,
    batch_of_events,
    incident,
    load_time,
    read_log,
    receipt,
    server_env,
    single,
    verify,
    wait_caught_up,
    writer_key,
)
from tests.e2e.servers import serving, serving_process
from tests.helpers import Envelope, Headers, valid_event

SEED = 20201010
CLIENT_THREADS = 8
BATCH_SHARE = 0.25  # of the requests; the rest are single events
LOAD_EVENTS = 2_500  # about; the plan stops at the first request that reaches it
KILL_AFTER_EVENTS = 1_000  # answered events before the SIGKILL
DROP_EVERY = 10  # every tenth request's client gives up before its answer comes...
DROP_AFTER = (0.002, 0.005, 0.01, 0.02)  # ...after one of these read timeouts, in turn
LOAD_TIMEOUT = 30.0  # seconds for the load to reach the kill
HTTP_TIMEOUT = 30.0


# -- the load ----------------------------------------------------------------------------


def ceasefires_agreed() -> list[Envelope]:
    """One ceasefire per conflict, appended before the load; single breaches name them."""
    return [
        valid_event("ceasefire_agreed", conflict=conflict, ceasefire_id="truce")
        for conflict in CONFLICTS
    ]


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
                    occurred_at=load_time(rng),
                )
            )
        elif draw < BATCH_SHARE + 0.06:
            call = single(
                valid_event(
                    "ceasefire_agreed",
                    conflict=rng.choice(CONFLICTS),
                    ceasefire_id=f"single-truce-{len(calls)}",
                    occurred_at=load_time(rng),
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
