"""Appending (``POST /v1/events``, ``POST /v1/events/batch``) and reading the log back.

The builders it shares with the other tests (``valid_event``, ``post``, ``append_each``,
``log``, ``assert_problem``) live in tests/helpers.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.helpers import (
    Envelope,
    Headers,
    append_all,
    assert_problem,
    key_id,
    log,
    new_id,
    post,
    post_batch,
    valid_event,
)

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def assert_retry_replays(
    client: TestClient,
    writer: Headers,
    reader: Headers,
    first: Response,
    retry: Callable[[], Response],
) -> list[Envelope]:
    """``first`` stored (201); ``retry()`` is answered 200 with the same body and stores
    nothing. Returns the log as it stood before the retry."""
    before = log(client, reader)
    again = retry()
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert log(client, reader) == before
    return before


# -- POST /v1/events ------------------------------------------------------------------------


def test_single_appends_answer_contiguous_positions_and_utc_times(client, writer):
    events = [valid_event(kind) for kind in ("strike", "shelling", "clash")]
    bodies = [post(client, writer, event) for event in events]

    assert [r.status_code for r in bodies] == [201, 201, 201]
    receipts = [r.json() for r in bodies]
    assert [set(r) for r in receipts] == [{"event_id", "position", "recorded_at"}] * 3
    assert [r["event_id"] for r in receipts] == [e["event_id"] for e in events]
    assert [r["position"] for r in receipts] == [1, 2, 3]
    times = [r["recorded_at"] for r in receipts]
    assert all(RFC3339_UTC.match(t) for t in times), times
    assert times == sorted(times)


def test_server_assigns_an_event_id_when_absent(client, writer, reader):
    event = valid_event("statement")
    del event["event_id"]

    response = post(client, writer, event)

    assert response.status_code == 201
    assigned = response.json()["event_id"]
    assert str(uuid.UUID(assigned)) == assigned
    assert [entry["event"]["event_id"] for entry in log(client, reader)] == [assigned]


def test_same_event_id_same_content_is_answered_200_and_stores_nothing(client, writer, reader):
    event = valid_event("strike")
    first = post(client, writer, event)

    before = assert_retry_replays(
        client, writer, reader, first, lambda: post(client, writer, event)
    )

    assert len(before) == 1


def test_same_event_id_other_content_is_a_409_conflict(client, writer, reader):
    event = valid_event("strike")
    post(client, writer, event)
    before = log(client, reader)

    response = post(client, writer, {**event, "killed": 7})

    body = assert_problem(response, 409)
    assert [error["loc"] for error in body["errors"]] == [["event_id"]]
    assert log(client, reader) == before


def test_a_retry_that_omits_the_default_time_precision_is_the_same_event(client, writer):
    event = valid_event("strike", time_precision="exact")
    first = post(client, writer, event)
    without_precision = {k: v for k, v in event.items() if k != "time_precision"}

    retry = post(client, writer, without_precision)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()


@pytest.mark.parametrize(
    "afterwards",
    [
        pytest.param(lambda agreed: valid_event("ceasefire_ended"), id="ceasefire-ended"),
        pytest.param(
            lambda agreed: valid_event("retraction", retracts_event_id=agreed["event_id"]),
            id="agreement-retracted",
        ),
    ],
)
def test_a_stored_breach_is_answered_200_whatever_happened_since(
    client, writer, reader, afterwards
):
    agreed = valid_event("ceasefire_agreed")
    breach = valid_event("ceasefire_breached")
    append_all(client, writer, [agreed])
    first = post(client, writer, breach)
    append_all(client, writer, [afterwards(agreed)])

    assert_retry_replays(client, writer, reader, first, lambda: post(client, writer, breach))


def test_local_time_is_stored_in_utc_and_the_wall_time_kept(client, writer, reader):
    event = valid_event("strike", occurred_at="2020-10-17T03:00:00", timezone="Asia/Baku")
    post(client, writer, event)

    (entry,) = log(client, reader)

    assert entry["event"] == {
        **event,
        "occurred_at": "2020-10-16T23:00:00Z",
        "time_precision": "exact",
        "local_times": {"occurred_at": "2020-10-17T03:00:00+04:00"},
    }


# -- POST /v1/events/batch ------------------------------------------------------------------


def test_batch_answers_in_request_order_and_may_name_earlier_events(client, writer, reader):
    strike = valid_event("strike")
    events = [
        valid_event("ceasefire_agreed"),
        strike,
        valid_event("ceasefire_breached", incident_event_id=strike["event_id"]),
        valid_event("correction", corrects_event_id=strike["event_id"]),
    ]

    response = post_batch(client, writer, events)

    assert response.status_code == 201
    results = response.json()["results"]
    assert [set(r) for r in results] == [{"event_id", "position", "recorded_at"}] * 4
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
    assert [r["position"] for r in results] == [1, 2, 3, 4]
    assert [e["event"]["event_id"] for e in log(client, reader)] == [e["event_id"] for e in events]


def test_a_batch_retried_whole_is_answered_200_with_the_same_results(client, writer, reader):
    events = [valid_event("ceasefire_agreed"), valid_event("ceasefire_breached")]
    first = post_batch(client, writer, events)

    assert_retry_replays(client, writer, reader, first, lambda: post_batch(client, writer, events))


# -- GET /v1/events ---------------------------------------------------------------------------


def test_log_pages_follow_after_limit_and_next_after(client, writer, reader):
    events = [valid_event("statement", text=f"statement {n}") for n in range(5)]
    append_all(client, writer, events)

    pages = []
    after: int | None = 0
    while after is not None:
        body = client.get("/v1/events", params={"after": after, "limit": 2}, headers=reader).json()
        pages.append(([e["position"] for e in body["events"]], body["next_after"]))
        after = body["next_after"]

    assert pages == [([1, 2], 2), ([3, 4], 4), ([5], 5), ([], None)]


def test_log_entries_carry_position_time_recorder_and_normalised_event(client, writer, reader):
    event = valid_event("shelling")
    receipt = post(client, writer, event).json()

    (entry,) = log(client, reader)

    assert {k: entry[k] for k in ("position", "recorded_at", "recorded_by")} == {
        "position": receipt["position"],
        "recorded_at": receipt["recorded_at"],
        "recorded_by": key_id(writer),
    }
    assert entry["event"] == {**event, "time_precision": "exact"}


def test_log_limit_above_1000_is_refused(client, reader):
    body = assert_problem(client.get("/v1/events?limit=1001", headers=reader), 422)
    assert [error["loc"] for error in body["errors"]] == [["query", "limit"]]


# -- GET /v1/events/{event_id} ---------------------------------------------------------------


def test_one_event_lists_its_correction_and_retraction_in_log_order(client, writer, reader):
    strike = valid_event("strike")
    correction = valid_event("correction", corrects_event_id=strike["event_id"])
    unrelated = valid_event("statement")
    retraction = valid_event("retraction", retracts_event_id=strike["event_id"])
    append_all(client, writer, [strike, correction, unrelated, retraction])
    entries = log(client, reader)

    response = client.get(f"/v1/events/{strike['event_id']}", headers=reader)

    assert response.status_code == 200
    assert response.json() == {**entries[0], "history": [entries[1], entries[3]]}


def test_unknown_event_id_is_a_404_problem(client, reader):
    assert_problem(client.get(f"/v1/events/{new_id()}", headers=reader), 404)


def test_delete_on_the_log_is_a_405_problem(client, writer):
    assert_problem(client.delete("/v1/events", headers=writer), 405)
