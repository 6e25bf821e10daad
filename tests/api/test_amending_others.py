"""Amending another's record takes an editor: a writer's key may correct or retract only
the events it recorded itself (otherwise one writer key could retract every breach of a
ceasefire and turn its status back to "holding")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import Headers, assert_problem, key_id, log, post, post_batch, valid_event
from truceline.application.keys import create_key


def key(client: TestClient, role: str) -> Headers:
    store = client.app.state.app.store  # type: ignore[attr-defined]
    _, token = create_key(store, f"another {role}", role)
    return {"Authorization": f"Bearer {token}"}


def correction(target: str, killed: int = 3) -> dict[str, object]:
    return valid_event("correction", corrects_event_id=target, changes={"killed": killed})


def retraction(target: str) -> dict[str, object]:
    return valid_event("retraction", retracts_event_id=target, reason="not what happened")


@pytest.fixture
def strike(client: TestClient, writer: Headers) -> str:
    event = valid_event("strike", perpetrator="Armenia", killed=2)
    assert post(client, writer, event).status_code == 201
    return str(event["event_id"])


@pytest.mark.parametrize("amendment", [correction, retraction])
def test_a_writer_may_not_amend_another_keys_event_and_nothing_is_stored(
    client, writer, reader, strike, amendment
):
    other_writer = key(client, "writer")
    response = post(client, other_writer, amendment(strike))

    body = assert_problem(response, 403)
    field = "corrects_event_id" if amendment is correction else "retracts_event_id"
    assert body["errors"] == [
        {
            "loc": [field],
            "msg": f"{strike} was recorded by {key_id(writer)}: amending it needs an editor key",
        }
    ]
    assert len(log(client, reader)) == 1


@pytest.mark.parametrize("role", ["editor", "auditor", "admin"])
def test_an_editor_or_a_stronger_key_may_amend_anyones_event(client, reader, strike, role):
    response = post(client, key(client, role), correction(strike))

    assert response.status_code == 201, response.text
    assert len(log(client, reader)) == 2


def test_a_writer_may_amend_its_own_events_stored_or_in_the_same_batch(
    client, writer, reader, strike
):
    fresh = valid_event("shelling", perpetrator="Azerbaijan")
    response = post_batch(
        client, writer, [correction(strike), fresh, retraction(str(fresh["event_id"]))]
    )

    assert response.status_code == 201, response.text
    assert len(log(client, reader)) == 4


def test_in_a_batch_every_amendment_of_anothers_event_is_named_by_index(
    client, writer, reader, strike
):
    other_writer = key(client, "writer")
    own = valid_event("shelling", perpetrator="Azerbaijan")
    response = post_batch(
        client, other_writer, [own, correction(strike), correction(str(own["event_id"]))]
    )

    body = assert_problem(response, 403)
    assert [error["loc"] for error in body["errors"]] == [[1, "corrects_event_id"]]
    assert len(log(client, reader)) == 1


def test_a_retry_of_a_stored_amendment_is_answered_200_even_for_a_writer(client, writer, strike):
    # Idempotency first: an editor's correction, retried with a writer's key, is a retry.
    amended = correction(strike)
    first = post(client, key(client, "editor"), amended)
    retried = post(client, writer, amended)

    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.json() == first.json()
