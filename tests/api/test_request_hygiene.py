"""Requests that are ambiguous are refused rather than guessed at: several Authorization
headers (400), a body declared as something other than JSON (415). Nothing is stored."""

from __future__ import annotations

import json

import pytest

from tests.helpers import assert_problem, valid_event


def test_several_authorization_headers_are_a_400(client, writer, reader):
    headers = [("authorization", reader["Authorization"]), ("authorization", "Bearer tl.x.y")]

    read = client.get("/v1/timeline", headers=headers)
    appended = client.post(
        "/v1/events",
        json=valid_event("strike"),
        headers=[*headers, ("authorization", writer["Authorization"])],
    )

    assert assert_problem(read, 400)["detail"] == "send one Authorization header, not several"
    assert_problem(appended, 400)
    assert client.get("/v1/health").json()["log_position"] == 0


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/csv"]
)
def test_a_body_that_is_not_json_is_a_415(client, writer, content_type):
    body = json.dumps(valid_event("strike"))

    response = client.post(
        "/v1/events", content=body, headers={**writer, "Content-Type": content_type}
    )
    batch = client.post(
        "/v1/events/batch",
        content=json.dumps({"events": [valid_event("strike")]}),
        headers={**writer, "Content-Type": content_type},
    )

    problem = assert_problem(response, 415)
    assert problem["detail"] == f"the body must be application/json, not {content_type}"
    assert_problem(batch, 415)
    assert client.get("/v1/health").json()["log_position"] == 0


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/json; charset=utf-8"]
)
def test_json_or_no_content_type_is_read(client, writer, content_type):
    headers = dict(writer) if content_type is None else {**writer, "Content-Type": content_type}

    response = client.post("/v1/events", content=json.dumps(valid_event("strike")), headers=headers)

    assert response.status_code == 201, response.text
