"""``GET /v1/stream`` over a real socket: uvicorn serves ``create_app`` from a thread, and
httpx reads the Server-Sent Events as they come (a TestClient would wait for the end of a
response that never ends)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.e2e.servers import free_port
from tests.helpers import Envelope, Headers, valid_event
from truceline.api import create_app
from truceline.application.keys import create_key
from truceline.settings import Settings

READ_TIMEOUT = 10.0  # seconds: a message that does not come fails the test


@dataclass
class Live:
    """A served app, with a writer's and a reader's headers."""

    url: str
    app: FastAPI
    writer: Headers
    reader: Headers

    def append(self, *events: Envelope) -> list[int]:
        response = httpx.post(
            f"{self.url}/v1/events/batch", json={"events": list(events)}, headers=self.writer
        )
        assert response.status_code == 201, response.text
        return [result["position"] for result in response.json()["results"]]

    def log(self, after: int = 0) -> list[Envelope]:
        response = httpx.get(f"{self.url}/v1/events", params={"after": after}, headers=self.reader)
        assert response.status_code == 200, response.text
        events: list[Envelope] = response.json()["events"]
        return events

    @contextmanager
    def stream(
        self, headers: Headers | None = None, **params: Any
    ) -> Iterator[Iterator[dict[str, str]]]:
        """The stream's messages, one dict per block (``id``, ``event``, ``data``,
        ``comment``), read lazily."""
        with httpx.stream(
            "GET",
            f"{self.url}/v1/stream",
            params=params,
            headers={**self.reader, **(headers or {})},
            timeout=httpx.Timeout(READ_TIMEOUT),
        ) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            yield _blocks(response.iter_lines())

    def stream_response(self, headers: Headers | None = None, **params: Any) -> httpx.Response:
        """The answer to a stream request that is refused (read whole)."""
        return httpx.get(
            f"{self.url}/v1/stream",
            params=params,
            headers={**self.reader, **(headers or {})},
            timeout=READ_TIMEOUT,
        )


def _blocks(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    block: dict[str, str] = {}
    for line in lines:
        if line == "":
            if block:
                yield block
            block = {}
            continue
        field, _, value = line.partition(":")
        block[field or "comment"] = value.removeprefix(" ")


def take(messages: Iterator[dict[str, str]], count: int) -> list[dict[str, str]]:
    """The next ``count`` entry messages (heartbeats skipped)."""
    taken: list[dict[str, str]] = []
    while len(taken) < count:
        block = next(messages)
        if "id" in block:
            taken.append(block)
    return taken


def as_message(entry: Envelope) -> dict[str, str]:
    """The message the contract says an entry of ``GET /v1/events`` is sent as."""
    return {
        "id": str(entry["position"]),
        "event": entry["event"]["type"],
        "data": json.dumps(entry, ensure_ascii=False, separators=(",", ":")),
    }


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Live]]:
    """Start the app on a free port with these settings; stopped after the test."""
    started: list[tuple[uvicorn.Server, threading.Thread, FastAPI]] = []

    def start(**overrides: Any) -> Live:
        settings = Settings(
            database_url=database_url,
            read_model_path=str(tmp_path / "read-model.db"),
            **overrides,
        )
        app = create_app(settings)
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        started.append((server, thread, app))
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        store = app.state.app.store
        return Live(
            f"http://127.0.0.1:{port}",
            app,
            {"Authorization": f"Bearer {create_key(store, 'w', 'writer')[1]}"},
            {"Authorization": f"Bearer {create_key(store, 'r', 'reader')[1]}"},
        )

    yield start
    for server, thread, app in started:
        app.state.feed.close()  # what the exit signal does for `truceline serve`
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "the server did not stop"


def events(count: int, **fields: Any) -> list[Envelope]:
    return [
        valid_event("statement", speaker="Spokesman", text=f"#{i}", **fields) for i in range(count)
    ]


def test_each_entry_after_p_is_sent_as_get_v1_events_gives_it(serve):
    live = serve()
    live.append(*events(3))
    with live.stream(after=1) as messages:
        received = take(messages, 2)

    assert received == [as_message(entry) for entry in live.log(after=1)]
    assert [m["id"] for m in received] == ["2", "3"]


def test_by_default_the_stream_starts_at_the_end_of_the_log(serve):
    live = serve()
    live.append(*events(2))
    with live.stream() as messages:
        [position] = live.append(*events(1))
        [received] = take(messages, 1)

    assert received == as_message(live.log(after=position - 1)[0])


def test_last_event_id_wins_over_after(serve):
    live = serve()
    live.append(*events(4))
    with live.stream({"Last-Event-ID": "3"}, after=0) as messages:
        [received] = take(messages, 1)

    assert received["id"] == "4"


def test_conflict_and_type_filters(serve):
    live = serve()
    live.append(valid_event("statement", conflict="other-war", speaker="A", text="first"))
    positions = live.append(
        valid_event("statement", speaker="A", text="x"),
        valid_event("statement", conflict="other-war", speaker="A", text="y"),
        valid_event("strike", perpetrator="Armenia"),
        valid_event("strike", conflict="other-war", perpetrator="Armenia"),
        valid_event("statement", conflict="other-war", speaker="A", text="z"),
    )
    with live.stream(after=1, conflict="other-war", type="statement") as messages:
        received = take(messages, 2)

    assert [m["id"] for m in received] == [str(positions[1]), str(positions[4])]


def test_a_dropped_stream_resumes_by_last_event_id_losing_and_repeating_nothing(serve):
    live = serve()
    first = live.append(*events(3))
    seen: list[str] = []
    with live.stream(after=0) as messages:
        seen += [m["id"] for m in take(messages, 2)]
    # The connection is gone; more is appended before the client comes back.
    later = live.append(*events(3))
    with live.stream({"Last-Event-ID": seen[-1]}) as messages:
        seen += [m["id"] for m in take(messages, 4)]

    assert seen == [str(p) for p in first + later]


def test_a_client_too_far_behind_is_told_and_closed_and_then_resumes(serve):
    live = serve(stream_backlog=10)
    live.append(*events(1))
    with live.stream(after=0) as messages:
        [first] = take(messages, 1)
        burst = live.append(*events(50))  # one page of 50: past a window of 10 at once
        blocks = list(messages)  # the server ends the stream
    with live.stream({"Last-Event-ID": first["id"]}) as messages:
        resumed = take(messages, 50)

    assert blocks == [{"comment": "too far behind: reconnect with Last-Event-ID"}]
    assert [m["id"] for m in resumed] == [str(p) for p in burst]


def test_streams_are_capped_per_key_with_429_and_per_process_with_503(serve):
    live = serve(max_streams_per_key=2, max_streams=3)
    store = live.app.state.app.store
    another: Headers = {"Authorization": f"Bearer {create_key(store, 'r2', 'reader')[1]}"}
    with live.stream(), live.stream():
        per_key = live.stream_response()
        with live.stream(another):
            per_process = live.stream_response({"Authorization": another["Authorization"]})
    with live.stream():  # slots are given back when streams end
        pass

    assert per_key.status_code == 429, per_key.text
    assert per_key.headers["retry-after"] == "5"
    assert per_key.headers["content-type"] == "application/problem+json"
    assert per_process.status_code == 503, per_process.text
    assert per_process.headers["retry-after"] == "5"


def test_a_heartbeat_comment_comes_when_nothing_is_appended(serve, monkeypatch):
    import fastapi.routing

    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.2)  # 15 s in service
    live = serve()
    with live.stream() as messages:
        block = next(messages)

    assert block == {"comment": "ping"}


@pytest.mark.parametrize(
    ("params", "headers", "status", "loc"),
    [
        ({"conflict": "no-such-war"}, {}, 404, None),
        ({"after": "99"}, {}, 422, ["query", "after"]),
        ({"after": "-1"}, {}, 422, ["query", "after"]),
        ({}, {"Last-Event-ID": "abc"}, 422, ["header", "last-event-id"]),
        ({}, {"Last-Event-ID": "99"}, 422, ["header", "last-event-id"]),
        ({"type": "strikes"}, {}, 422, ["query", "type"]),
    ],
)
def test_a_stream_that_cannot_start_is_refused_before_it_begins(
    serve, params, headers, status, loc
):
    live = serve()
    live.append(*events(1))
    response = live.stream_response(headers, **params)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if loc is not None:
        assert response.json()["errors"][0]["loc"] == loc


def test_a_stream_needs_a_reader_key_unless_reads_are_open(serve):
    closed = serve()
    assert httpx.get(f"{closed.url}/v1/stream", timeout=READ_TIMEOUT).status_code == 401


def test_closing_the_feed_ends_every_stream_cleanly(serve):
    live = serve()
    with live.stream() as one, live.stream() as two:
        live.app.state.feed.close()
        ends = [list(one), list(two)]

    assert ends == [[{"comment": "the server is shutting down"}]] * 2
