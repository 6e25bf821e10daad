"""Builders and HTTP helpers shared by the tests of every layer: valid envelopes of each
type (``valid_event``), appending them through the API (``post``, ``post_batch``,
``append_all``, ``append_each``), reading the log back (``log``) and checking problems
(``assert_problem``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

Envelope = dict[str, Any]
Headers = dict[str, str]

CONFLICT = "nagorno-karabakh-2020"
CEASEFIRE = "moscow-2020-10-10"
OCCURRED_AT = "2020-10-16T23:00:00Z"
PROBLEM_KEYS = {"type", "title", "status", "detail"}
# An export line's fields in order: the contract's, then what the entry's hash covers
# (scheme 2: the exact stored bytes).
EXPORT_FIELDS = [
    "position",
    "recorded_at",
    "recorded_by",
    "hash",
    "event",
    "hash_version",
    "content_hash",
    "stored",
]

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


def tally(
    total: int = 0,
    by_party: Mapping[str, int] | None = None,
    inferred: int = 0,
    reported: int = 0,
    contested: int = 0,
    unattributed: int = 0,
    possible: int = 0,
) -> dict[str, Any]:
    """A whole ``breaches`` object of a ceasefire status."""
    return {
        "total": total,
        "by_party": dict(by_party or {}),
        "inferred": inferred,
        "reported": reported,
        "contested": contested,
        "unattributed": unattributed,
        "possible": possible,
    }
