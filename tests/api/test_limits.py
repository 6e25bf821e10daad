"""No one key stalls the service: rate limits per key (per client address for open
reads), a cap on each holder's long requests, reads that wait without holding a thread,
a writer queue that refuses when full, and one verify at a time."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.helpers import CONFLICT, Headers, assert_problem, post, valid_event
from truceline.api import create_app
from truceline.api.limits import RequestLimits, Slots
from truceline.application.keys import create_key
from truceline.settings import Settings, SettingsError

Serve = Callable[..., TestClient]  # starts a server with those settings


def limited(tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path}/store.db",
        "read_model_path": str(tmp_path / "read-model.db"),
        "signing_key_path": str(tmp_path / "signing-key.pem"),
    }
    return Settings(**{**base, **overrides})


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    clients: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        client = TestClient(create_app(limited(tmp_path, **overrides)))
        clients.append(client)
        return client.__enter__()

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def problem(response: Response, status: int, kind: str) -> None:
    body = assert_problem(response, status)
    assert body["type"] == f"urn:truceline:problem:{kind}", body


def key(client: TestClient, role: str) -> Headers:
    _, token = create_key(client.app.state.app.store, f"limits {role}", role)  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def test_slots_refuse_per_holder_then_per_process_and_count_nothing_refused() -> None:
    slots = Slots(per_process=3, per_holder=2)

    answers = [slots.take(holder) for holder in ("a", "a", "a", "b", "c")]
    slots.give_back("a")

    assert answers == [None, None, "holder", None, "process"]
    assert dict(slots.open) == {"a": 1, "b": 1}


def test_a_key_past_its_rate_is_answered_429_with_retry_after_and_others_go_on(
    serve: Serve,
) -> None:
    client = serve(rate_limit="3/minute")
    busy, other = key(client, "reader"), key(client, "reader")

    answers = [client.get("/v1/events", headers=busy).status_code for _ in range(3)]
    refused = client.get("/v1/events", headers=busy)

    assert answers == [200, 200, 200]
    problem(refused, 429, "rate-limited")
    assert refused.json()["detail"] == "more than 3 requests per minute from this key"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert client.get("/v1/events", headers=other).status_code == 200
    assert client.get("/v1/health").status_code == 200  # health counts against nothing


def test_appends_count_against_the_writers_key_too(serve: Serve) -> None:
    client = serve(rate_limit="2/minute")
    writer = key(client, "writer")

    answers = [post(client, writer, valid_event("strike")).status_code for _ in range(3)]

    assert answers == [201, 201, 429]
    assert client.app.state.app.log_position() == 2  # type: ignore[attr-defined]


def test_open_reads_are_limited_per_client_address(serve: Serve) -> None:
    client = serve(open_reads=True, open_rate_limit="2/second;4/minute")

    answers = [client.get("/v1/conflicts").status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    assert client.get("/v1/conflicts").json()["detail"] == (
        "more than 2 requests per second from this client address"
    )
    for _ in range(20):
        assert client.get("/v1/health").status_code == 200


def test_an_empty_rate_limit_is_none_and_a_malformed_one_names_its_setting(
    tmp_path: Path,
) -> None:
    assert RequestLimits(limited(tmp_path, rate_limit="")).key_rates == []
    with pytest.raises(SettingsError, match="TRUCELINE_RATE_LIMIT 'lots' is not a rate limit"):
        RequestLimits(limited(tmp_path, rate_limit="lots"))


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/timeline?conflict={CONFLICT}&format=csv",
        "/v1/timeline?format=geojson",
        "/v1/timeline?limit=500",
        "/v1/events?limit=1000",
        "/v1/events?as_of=1",
        "/v1/ceasefires?as_of=1",
        f"/v1/conflicts/{CONFLICT}/status?as_of=1",
        "/v1/conflicts?as_of=1",
    ],
)
def test_a_long_request_beyond_the_keys_cap_is_429_and_short_ones_go_on(
    serve: Serve, path: str
) -> None:
    client = serve(max_long_requests_per_key=1)
    reader, writer = key(client, "reader"), key(client, "writer")
    assert post(client, writer, valid_event("strike")).status_code == 201
    limits: RequestLimits = client.app.state.limits  # type: ignore[attr-defined]
    holder = f"key:{reader['Authorization'].split('.')[1]}"
    assert limits.long_slots.take(holder) is None  # as if one of its exports were running

    refused = client.get(path, headers=reader)
    short = client.get("/v1/events?limit=10", headers=reader)
    limits.long_slots.give_back(holder)

    problem(refused, 429, "too-many-long-requests")
    assert refused.headers["retry-after"] == "2"
    assert short.status_code == 200
    assert client.get(path, headers=reader).status_code == 200


def test_long_requests_beyond_the_process_cap_are_503(serve: Serve) -> None:
    client = serve(max_long_requests=1)
    reader = key(client, "reader")
    limits: RequestLimits = client.app.state.limits  # type: ignore[attr-defined]
    assert limits.long_slots.take("key:someone-else") is None

    refused = client.get("/v1/timeline?format=csv", headers=reader)

    problem(refused, 503, "too-many-long-requests")
    assert refused.headers["retry-after"] == "2"


def test_reads_waiting_for_a_position_hold_no_worker_thread(serve: Serve) -> None:
    # 45 reads waiting for the read models once held 40 worker threads (FastAPI's whole
    # pool): every other threaded read, and /v1/health, queued behind them for 9 s.
    client = serve(open_reads=True, open_rate_limit="", read_wait_seconds=8)
    writer = key(client, "writer")
    client.app.state.follower.stop()  # type: ignore[attr-defined]  # the read models stay at 0
    event = valid_event("strike")
    assert post(client, writer, event).status_code == 201
    answered: list[int] = []

    def wait() -> None:
        answered.append(client.get("/v1/conflicts?min_position=1").status_code)

    waiting = [threading.Thread(target=wait) for _ in range(45)]
    for thread in waiting:
        thread.start()
    time.sleep(1)  # they are all waiting now (on today's code, 40 of them in threads)
    entry = client.get(f"/v1/events/{event['event_id']}")  # a read in FastAPI's pool
    health = client.get("/v1/health")
    during = list(answered)
    for thread in waiting:
        thread.join()

    assert (entry.status_code, health.json()["log_position"], during) == (200, 1, [])
    assert answered == [503] * 45


def test_a_full_writer_queue_is_503_at_once_and_nothing_is_stored(serve: Serve) -> None:
    client = serve(max_queued_events=1)
    writer = key(client, "writer")
    committer = client.app.state.committer  # type: ignore[attr-defined]
    with committer._count_lock:  # as if a batch were waiting for the writer
        committer._queued += 1
    try:
        refused = post(client, writer, valid_event("strike"))
    finally:
        with committer._count_lock:
            committer._queued -= 1

    problem(refused, 503, "writer-busy")
    assert refused.headers["retry-after"] == "1"
    assert client.app.state.app.log_position() == 0  # type: ignore[attr-defined]
    assert post(client, writer, valid_event("strike")).status_code == 201


def test_a_verify_asked_while_one_runs_gets_that_runs_report(serve: Serve) -> None:
    client = serve()
    auditor = key(client, "auditor")
    application = client.app.state.app  # type: ignore[attr-defined]
    started, release = threading.Event(), threading.Event()
    original = application.audit
    runs: list[int] = []

    def slow_audit() -> Any:
        runs.append(1)
        started.set()
        release.wait(10)
        return original()

    application.audit = slow_audit
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(client.get("/v1/audit/verify", headers=auditor))
    )
    first.start()
    assert started.wait(10)
    second = threading.Thread(
        target=lambda: answers.append(client.get("/v1/audit/verify", headers=auditor))
    )
    second.start()
    time.sleep(0.5)  # the second call is waiting on the first run
    release.set()
    first.join()
    second.join()

    assert runs == [1]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["ok"] is True


def test_verify_refuses_to_start_without_room_for_its_scratch_copy(
    serve: Serve, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    client = serve(scratch_path=str(scratch))
    auditor = key(client, "auditor")
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=1024))

    refused = client.get("/v1/audit/verify", headers=auditor)

    problem(refused, 507, "scratch-full")
    assert refused.json()["detail"].startswith(f"the scratch folder {scratch} has 0 MiB free")
    assert list(scratch.iterdir()) == []
