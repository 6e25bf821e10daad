"""Two ``truceline serve`` processes on one PostgreSQL database, each with its own
read-model file: what one appends, the other answers (read-your-writes through
``min_position``), and both give the same answers.

The servers are real processes on free ports; the writer key comes from
``truceline keys create``, as in production. Both are killed in teardown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.timeline_case import (
    AMENDMENTS,
    APPEND_ORDER,
    CEASEFIRE_ID,
    CURRENT,
    EVENTS,
    LAST,
    NK,
    ORDER,
    ORDER_WITH_RETRACTED,
)
from tests.conftest import empty_postgres
from tests.e2e.servers import cli_env, run_cli, serving

AT = "2020-10-20T00:00:00Z"


@dataclass
class Server:
    name: str
    base_url: str


@dataclass
class Pair:
    a: Server
    b: Server
    headers: dict[str, str]


@pytest.fixture
def pair(postgres_url: str, tmp_path: Path) -> Iterator[Pair]:
    """Servers A and B on the run's (emptied) PostgreSQL database, and a writer key."""
    empty_postgres(postgres_url)
    base = cli_env(postgres_url)
    with ExitStack() as running:

        def start(name: str) -> Server:
            env = {**base, "TRUCELINE_READ_MODEL_PATH": str(tmp_path / f"{name}.db")}
            log = tmp_path / f"serve-{name}.log"
            return Server(name, running.enter_context(serving(env, tmp_path, log)))

        a = start("a")  # one after the other: the first creates the tables
        b = start("b")
        created = run_cli(base, tmp_path, "keys", "create", "two servers", "--role", "writer")
        token = created.stdout.strip().splitlines()[-1]
        yield Pair(a, b, {"Authorization": f"Bearer {token}"})


def _get(server: Server, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.base_url}{path}", params=params, headers=headers, timeout=20)
    assert response.status_code == 200, (server.name, path, response.text)
    return response.json()


def answers(server: Server, headers: dict[str, str], min_position: int) -> dict[str, Any]:
    """What a server says about the case file, once it has reached ``min_position``."""
    return {
        "timeline": _get(server, headers, "/v1/timeline", min_position=min_position),
        "with_retracted": _get(
            server,
            headers,
            "/v1/timeline",
            min_position=min_position,
            include_retracted="true",
            limit=3,
        ),
        "ceasefires": _get(server, headers, "/v1/ceasefires", min_position=min_position, at=AT),
        "ceasefire": _get(
            server,
            headers,
            f"/v1/ceasefires/{CEASEFIRE_ID}",
            min_position=min_position,
            conflict=NK,
            at=AT,
        ),
        "conflict": _get(
            server, headers, f"/v1/conflicts/{NK}/status", min_position=min_position, at=AT
        ),
    }


def _post(server: Server, headers: dict[str, str], path: str, body: Any) -> Any:
    response = httpx.post(f"{server.base_url}{path}", json=body, headers=headers, timeout=20)
    assert response.status_code == 201, (server.name, response.text)
    return response.json()


STRIKE_ID, CLASH_ID = EVENTS["strike"]["event_id"], EVENTS["clash"]["event_id"]
VIOLATED = {
    "ceasefire_id": CEASEFIRE_ID,
    "conflict": NK,
    "status": "violated",
    "parties": ["Armenia", "Azerbaijan"],
    "mediators": ["Russia"],
    "agreed_at": "2020-10-10T00:00:00Z",
    "effective_at": "2020-10-10T08:00:00Z",
    "ends_at": None,
    "ended_at": None,
    "ended_reason": None,
    "superseded_by": None,
    # The strike (Azerbaijan) and the clash (initiated by Azerbaijan, Armenia accused of it
    # by a report naming it); the shelling is retracted.
    "breaches": {
        "total": 2,
        "by_party": {"Armenia": 1, "Azerbaijan": 2},
        "inferred": 2,
        "reported": 0,
        "contested": 1,
        "unattributed": 0,
        "possible": 0,
    },
    "last_breach_at": "2020-10-12T00:00:00Z",
    "breach_event_ids": [STRIKE_ID, CLASH_ID],
}
ENDED = {
    "type": "ceasefire_ended",
    "event_id": "00000000-0000-4000-8000-000000000099",
    "conflict": NK,
    "occurred_at": "2020-10-18T00:00:00Z",
    "ceasefire_id": CEASEFIRE_ID,
    "reason": "collapsed",
}


def test_what_one_server_appends_the_other_answers(pair: Pair) -> None:
    headers = pair.headers
    first = _post(
        pair.a, headers, "/v1/events/batch", {"events": [EVENTS[name] for name in APPEND_ORDER]}
    )
    second = _post(pair.a, headers, "/v1/events/batch", {"events": AMENDMENTS})
    assert second["results"][-1]["position"] == LAST
    assert first["results"][0]["position"] == 1

    from_b = answers(pair.b, headers, LAST)
    from_a = answers(pair.a, headers, LAST)

    assert from_b == from_a
    assert from_b["timeline"] == {"items": [CURRENT[n] for n in ORDER], "next_cursor": None}
    assert from_b["with_retracted"]["items"] == [CURRENT[n] for n in ORDER_WITH_RETRACTED[:3]]
    assert from_b["ceasefire"] == VIOLATED
    assert from_b["ceasefires"] == {"items": [VIOLATED]}
    assert from_b["conflict"] == {
        "conflict": NK,
        "at": AT,
        "state": "ceasefire_violated",
        "ceasefire": VIOLATED,
    }

    # Now the other way round: B appends, A reads its write.
    receipt = _post(pair.b, headers, "/v1/events", ENDED)
    assert receipt["position"] == LAST + 1

    from_a = answers(pair.a, headers, LAST + 1)
    from_b = answers(pair.b, headers, LAST + 1)

    assert from_a == from_b
    collapsed = {
        **VIOLATED,
        "status": "collapsed",
        "ended_at": "2020-10-18T00:00:00Z",
        "ended_reason": "collapsed",
    }
    assert from_a["ceasefire"] == collapsed
    assert from_a["conflict"] == {
        "conflict": NK,
        "at": AT,
        "state": "no_ceasefire",
        "ceasefire": None,
    }
    assert from_a["timeline"]["items"][-1] == {
        **ENDED,
        "time_precision": "exact",
        "position": LAST + 1,
        "corrected": False,
        "retracted": False,
    }

    # Both follow the log to its end on their own.
    for server in (pair.a, pair.b):
        deadline = time.monotonic() + 10
        while (health := _get(server, {}, "/v1/health"))["projection_position"] < LAST + 1:
            assert time.monotonic() < deadline, (server.name, health)
            time.sleep(0.05)
        assert health == {"status": "ok", "log_position": LAST + 1, "projection_position": LAST + 1}


RACE_CONFLICT = "race-front"
ROUNDS = 15


def _post_any(server: Server, headers: dict[str, str], body: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/events", json=body, headers=headers, timeout=30)


def _race(pair: Pair, bodies: tuple[Any, Any]) -> tuple[httpx.Response, httpx.Response]:
    """Send one body to A and one to B at the same moment."""
    start = threading.Barrier(2)
    answers: dict[str, httpx.Response] = {}

    def send(server: Server, body: Any) -> None:
        start.wait()
        answers[server.name] = _post_any(server, pair.headers, body)

    threads = [
        threading.Thread(target=send, args=(server, body))
        for server, body in zip((pair.a, pair.b), bodies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers["a"], answers["b"]


def test_races_across_two_servers_have_one_winner_per_id(pair: Pair) -> None:
    """The same event_id sent to both servers at once is stored once (201 and 200 with
    the same position); the same ceasefire_id under two event ids is agreed once (201 and
    422 naming ceasefire_id); afterwards both servers give the same answers."""
    last = 0
    for round_ in range(ROUNDS):
        event = {
            "type": "statement",
            "conflict": RACE_CONFLICT,
            "event_id": f"00000000-0000-4000-8000-{round_ + 1:012d}",
            "occurred_at": f"2021-01-01T00:{round_:02d}:00Z",
            "speaker": "A",
            "text": "same",
        }
        first, second = _race(pair, (event, event))
        assert sorted([first.status_code, second.status_code]) == [200, 201]
        assert first.json() == second.json()
        last = max(last, first.json()["position"])

        agreements = [
            {
                "type": "ceasefire_agreed",
                "conflict": RACE_CONFLICT,
                "event_id": f"00000000-0000-4000-9000-{round_ * 2 + side + 1:012d}",
                "occurred_at": "2021-01-02T00:00:00Z",
                "ceasefire_id": f"truce-{round_}",
                "parties": ["A", "B"],
                "effective_at": "2021-01-02T00:00:00Z",
            }
            for side in (0, 1)
        ]
        first, second = _race(pair, (agreements[0], agreements[1]))
        assert sorted([first.status_code, second.status_code]) == [201, 422]
        loser = first if first.status_code == 422 else second
        assert [e["loc"] for e in loser.json()["errors"]] == [["ceasefire_id"]]
        winner = first if first.status_code == 201 else second
        last = max(last, winner.json()["position"])

    assert last == 2 * ROUNDS  # one statement and one agreement a round, no gaps
    log_a = _get(pair.a, pair.headers, "/v1/events", limit=1000)
    assert [e["position"] for e in log_a["events"]] == list(range(1, last + 1))
    assert log_a == _get(pair.b, pair.headers, "/v1/events", limit=1000)
    for path, params in (
        ("/v1/timeline", {"conflict": RACE_CONFLICT, "limit": 1000}),
        ("/v1/ceasefires", {"conflict": RACE_CONFLICT, "at": "2021-02-01T00:00:00Z"}),
    ):
        assert _get(pair.a, pair.headers, path, min_position=last, **params) == _get(
            pair.b, pair.headers, path, min_position=last, **params
        )
