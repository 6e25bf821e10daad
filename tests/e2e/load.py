"""The append load of the end-to-end tests, and the checks of the log it leaves: shared by
tests/e2e/test_crash_safety.py and tests/e2e/test_faults.py.

A :class:`Call` is one append request (a single event or a batch) and what became of it;
``incident`` and ``batch_of_events`` make the events of the load, in :data:`CONFLICTS`.
After the load, ``read_log``, ``assert_well_formed``, ``assert_all_or_nothing`` and
``verify`` check what the store holds.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.servers import cli_env, run_cli
from tests.helpers import Envelope, Headers, valid_event

BATCH_SIZE = 20
CATCH_UP_TIMEOUT = 30.0  # seconds for the read models to reach the end of the log
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


def load_time(rng: random.Random) -> str:
    """A minute of 11 to 28 October 2020, in UTC."""
    return (
        f"2020-10-{rng.randint(11, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    )


def incident(rng: random.Random, conflict: str) -> Envelope:
    kind = rng.choice(["strike", "shelling", "clash", "statement", "displacement"])
    return valid_event(
        kind,
        conflict=conflict,
        occurred_at=load_time(rng),
        summary=f"load event {rng.randrange(10**9)}",
    )


def batch_of_events(rng: random.Random, number: int) -> list[Envelope]:
    """BATCH_SIZE events of one conflict; some name earlier events of the same batch (a
    casualty report about a strike; a ceasefire agreed, then breached by that strike)."""
    conflict = rng.choice(CONFLICTS)
    strike = valid_event("strike", conflict=conflict, occurred_at=load_time(rng))
    events = [
        strike,
        valid_event(
            "casualty_report",
            conflict=conflict,
            occurred_at=load_time(rng),
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
                occurred_at=load_time(rng),
                incident_event_id=strike["event_id"],
            ),
        ]
    while len(events) < BATCH_SIZE:
        events.append(incident(rng, conflict))
    return events


# -- servers and the log -----------------------------------------------------------------


def server_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The store, and a read model of the test's own that outlives each server. The
    load is one key's, as fast as it goes: no rate limit (tests/api/test_limits.py
    tests those)."""
    return {
        **cli_env(database_url),
        "TRUCELINE_READ_MODEL_PATH": str(tmp_path / "read-model.db"),
        "TRUCELINE_RATE_LIMIT": "",
    }


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
