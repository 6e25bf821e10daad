"""Bearer keys and roles: 401 without a valid key, 403 with too weak a one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.helpers import (
    Headers,
    assert_problem,
    key_id,
    log,
    post,
    valid_event,
)
from truceline.api import create_app
from truceline.application.app import Truceline
from truceline.application.keys import create_key
from truceline.settings import Settings


@pytest.fixture
def open_client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """A client of a server running with ``TRUCELINE_OPEN_READS=1``."""
    settings = Settings(
        database_url=database_url,
        open_reads=True,
        read_model_path=str(tmp_path / "read-model.db"),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def writer_of(client: TestClient) -> Headers:
    """Headers with a new writer key of that client's store."""
    store = client.app.state.app.store  # type: ignore[attr-defined]
    _, token = create_key(store, "open reads writer", "writer")
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: Response) -> None:
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_key_is_a_401_with_www_authenticate(client, method):
    response = client.request(method, "/v1/events", json=valid_event("strike"))

    assert_unauthorized(response)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer tl.key_000000000000.not-the-secret",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_a_garbage_key_is_a_401(client, writer, authorization):
    response = client.get("/v1/events", headers={"Authorization": authorization})

    assert_unauthorized(response)


def test_a_writers_key_id_with_a_wrong_secret_is_a_401(client, writer):
    forged = f"Bearer tl.{key_id(writer)}.not-the-secret"

    assert_unauthorized(client.get("/v1/events", headers={"Authorization": forged}))


def test_a_reader_key_cannot_append(client, reader):
    assert_problem(post(client, reader, valid_event("strike")), 403)
    assert log(client, reader) == []


@pytest.mark.parametrize("role", ["writer", "auditor"])
def test_writer_and_stronger_keys_append_and_read(client, request, role):
    headers: Headers = request.getfixturevalue(role)

    assert post(client, headers, valid_event("strike")).status_code == 201
    assert [entry["position"] for entry in log(client, headers)] == [1]


def test_recorded_by_is_the_id_of_the_appending_key(client, writer, auditor, reader):
    post(client, writer, valid_event("strike"))
    post(client, auditor, valid_event("shelling"))

    assert [entry["recorded_by"] for entry in log(client, reader)] == [
        key_id(writer),
        key_id(auditor),
    ]


def test_a_revoked_key_is_a_401(client, writer, application: Truceline):
    assert application.store.revoke_key(key_id(writer), "2020-11-10T00:00:00Z", "local:test")

    assert_unauthorized(post(client, writer, valid_event("strike")))
    assert_unauthorized(client.get("/v1/events", headers=writer))


def test_open_reads_let_the_log_be_read_without_a_key(open_client):
    event = valid_event("strike")
    post(open_client, writer_of(open_client), event)

    response = open_client.get("/v1/events")
    single = open_client.get(f"/v1/events/{event['event_id']}")

    assert response.status_code == 200
    assert [entry["event"]["event_id"] for entry in response.json()["events"]] == [
        event["event_id"]
    ]
    assert single.status_code == 200
    assert single.json()["event"]["event_id"] == event["event_id"]


def test_open_reads_still_need_a_key_to_append(open_client):
    assert_unauthorized(post(open_client, {}, valid_event("strike")))
    assert open_client.get("/v1/events").json()["events"] == []
