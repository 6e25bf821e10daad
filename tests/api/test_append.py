"""Appending (``POST /v1/events``, ``POST /v1/events/batch``) and reading the log back.

The builders at the top (``valid_event``, ``post``, ``append_each``, ``log``,
``assert_problem``) are shared by the other API and application tests, which import them
from here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

Envelope = dict[str, Any]
Headers = dict[str, str]

CONFLICT = "nagorno-karabakh-2020"
CEASEFIRE = "moscow-2020-10-10"
OCCURRED_AT = "2020-10-16T23:00:00Z"
PROBLEM_KEYS = {"type", "title", "status", "detail"}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")

# The fields each type requires (and a few it allows), valid on their own. ``correction``
# and ``retraction`` also need the id of the event they name, which callers pass.
_OWN_FIELDS: dict[str, Envelope] = {
    "strike": {"perpetrator": "Azerbaijan", "target": "Stepanakert", "killed": 2},
    "shelling": {"perpetrator": "Armenia", "target": "Ganja", "wounded": 5},
    "clash": {"parties": ["Armenia", "Azerbaijan"], "initiator": "Armenia"},
    "ceasefire_agreed": {
        "ceasefire_id": CEASEFIRE,
        "parties": ["Armenia", "Azerbaijan"],
        "mediators": ["Russia"],
        "effective_at": "2020-10-10T08:00:00Z",
    },
    "ceasefire_breached": {"ceasefire_id": CEASEFIRE, "accused": "Armenia"},
    "ceasefire_ended": {"ceasefire_id": CEASEFIRE, "reason": "collapsed"},
    "casualty_report": {"killed": 3, "party": "Azerbaijan"},
    "displacement": {"displaced": 1000},
    "statement": {"speaker": "Ministry of Defence", "text": "The front line is calm."},
    "correction": {"changes": {"summary": "corrected by a later report"}},
    "retraction": {"reason": "the source withdrew the report"},
}


def new_id() -> str:
    return str(uuid.uuid4())


def valid_event(kind: str, **fields: Any) -> Envelope:
    """A valid envelope of type ``kind`` with a fresh ``event_id``; ``fields`` override."""
    return {
        "type": kind,
        "event_id": new_id(),
        "conflict": CONFLICT,
        "occurred_at": OCCURRED_AT,
        **_OWN_FIELDS[kind],
        **fields,
    }


def post(client: TestClient, headers: Headers, event: Envelope) -> Response:
    response: Response = client.post("/v1/events", json=event, headers=headers)
    return response


def post_batch(client: TestClient, headers: Headers, events: list[Envelope]) -> Response:
    response: Response = client.post("/v1/events/batch", json={"events": events}, headers=headers)
    return response


def append_all(client: TestClient, headers: Headers, events: list[Envelope]) -> None:
    """Append valid events one by one; fail loudly if any is refused."""
    for event in events:
        response = post(client, headers, event)
        assert response.status_code == 201, response.text


def append_each(client: TestClient, headers: Headers, events: list[Envelope]) -> list[str]:
    """Append valid events one a request, into an empty log: each must land at the next
    position. The ``recorded_at`` of each position (index 0 is position 1)."""
    recorded = []
    for position, event in enumerate(events, start=1):
        response = post(client, headers, event)
        assert response.status_code == 201, response.text
        assert response.json()["position"] == position
        recorded.append(response.json()["recorded_at"])
    return recorded


def log(client: TestClient, headers: Headers) -> list[Envelope]:
    """The whole log (tests keep it under one page)."""
    response = client.get("/v1/events", params={"limit": 1000}, headers=headers)
    assert response.status_code == 200, response.text
    events: list[Envelope] = response.json()["events"]
    return events


def key_id(headers: Headers) -> str:
    """The key id inside a bearer token ``tl.<key_id>.<secret>``."""
    return headers["Authorization"].removeprefix("Bearer ").split(".")[1]


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


def assert_problem(response: Response, status: int) -> Envelope:
    """An RFC 9457 problem with that status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: Envelope = response.json()
    assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"}
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


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
