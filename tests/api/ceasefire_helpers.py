"""The ceasefire rule tests' service and builders: ``Service`` appends a history and reads
the ceasefire answers once the read model has caught up; ``agreed``, ``strike``, ``clash``,
``report``, ``correction``, ``retraction`` and the other builders make the events of a
small hand-made history; ``expected``, ``verdict`` and ``violated_by`` spell the
answers. Shared by tests/api/test_ceasefire_rules.py, test_ceasefire_worked_example.py,
test_seed_case.py and test_corrections.py.

The ceasefire answers come from the read model, which is always SQLite whatever store
holds the log: the tests that depend only on them run on the SQLite store only
(:data:`SQLITE_ONLY`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.helpers import Envelope, Headers, new_id, tally

# Runs a test (or, as ``pytestmark``, a module) on the SQLite store only: it overrides the
# stores that the ``database_url`` fixture of tests/conftest.py runs every test on.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CONFLICT = "rules-front-2022"
TRUCE = "truce"
PARTIES = ("North", "South")
STATUS_KEYS = {
    "ceasefire_id",
    "conflict",
    "status",
    "parties",
    "mediators",
    "agreed_at",
    "effective_at",
    "ends_at",
    "ended_at",
    "ended_reason",
    "superseded_by",
    "breaches",
    "last_breach_at",
    "breach_event_ids",
}
BREACH_KEYS = {
    "total",
    "by_party",
    "inferred",
    "reported",
    "contested",
    "unattributed",
    "possible",
}
VERDICT_KEYS = (
    "status",
    "superseded_by",
    "ended_at",
    "ended_reason",
    "breaches",
    "last_breach_at",
    "breach_event_ids",
)


def t(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> str:
    """An instant of May 2022, in UTC."""
    return f"2022-05-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


AGREED = t(1, 9)
START = t(1, 12)
LATER = t(20)  # when corrections and retractions are made: after everything else


# -- the service ----------------------------------------------------------------------------


@dataclass
class Service:
    """Appends histories and reads ceasefire answers once the read model has caught up."""

    client: TestClient
    writer: Headers
    reader: Headers
    conflict: str = CONFLICT
    position: int = 0

    def append(self, *events: Envelope) -> None:
        response = self.client.post(
            "/v1/events/batch", json={"events": list(events)}, headers=self.writer
        )
        assert response.status_code == 201, response.text
        self.position = response.json()["results"][-1]["position"]

    def get(self, path: str, **params: str) -> Response:
        response: Response = self.client.get(
            path, params={**params, "min_position": str(self.position)}, headers=self.reader
        )
        return response

    def ceasefire_response(self, ceasefire_id: str, at: str) -> Response:
        return self.get(f"/v1/ceasefires/{ceasefire_id}", conflict=self.conflict, at=at)

    def ceasefire(self, ceasefire_id: str, at: str) -> Envelope:
        response = self.ceasefire_response(ceasefire_id, at)
        assert response.status_code == 200, response.text
        body: Envelope = response.json()
        assert set(body) == STATUS_KEYS
        assert set(body["breaches"]) == BREACH_KEYS
        return body

    def ceasefires(self, at: str) -> list[Envelope]:
        response = self.get("/v1/ceasefires", conflict=self.conflict, at=at)
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"items"}
        items: list[Envelope] = response.json()["items"]
        return items

    def listed(self, at: str) -> list[str]:
        return [item["ceasefire_id"] for item in self.ceasefires(at)]

    def conflict_status(self, at: str) -> Envelope:
        response = self.get(f"/v1/conflicts/{self.conflict}/status", at=at)
        assert response.status_code == 200, response.text
        body: Envelope = response.json()
        assert set(body) == {"conflict", "at", "state", "ceasefire"}
        return body


# -- events -----------------------------------------------------------------------------------


def event(kind: str, occurred_at: str, **fields: Any) -> Envelope:
    return {
        "type": kind,
        "event_id": new_id(),
        "conflict": CONFLICT,
        "occurred_at": occurred_at,
        "sources": [{"name": "rules test"}],
        **fields,
    }


def agreed(
    ceasefire_id: str = TRUCE,
    *,
    at: str = AGREED,
    effective: str = START,
    parties: Sequence[str] = PARTIES,
    **fields: Any,
) -> Envelope:
    own = {
        "ceasefire_id": ceasefire_id,
        "parties": list(parties),
        "mediators": ["Neutralia"],
        "effective_at": effective,
    }
    return event("ceasefire_agreed", at, **{**own, **fields})


def agreed_wider() -> Envelope:
    """``wider``: North, South and East, agreed on 4 May, in effect from 5 May. It has all of
    TRUCE's parties, so it supersedes TRUCE from its start."""
    return agreed("wider", at=t(4), effective=t(5), parties=["North", "South", "East"])


def ended(at: str, reason: str = "collapsed", ceasefire_id: str = TRUCE, **fields: Any) -> Envelope:
    return event("ceasefire_ended", at, ceasefire_id=ceasefire_id, reason=reason, **fields)


def strike(
    at: str, perpetrator: str | None = "North", kind: str = "strike", **fields: Any
) -> Envelope:
    if perpetrator is not None:
        fields["perpetrator"] = perpetrator
    return event(kind, at, **fields)


def clash(at: str, parties: Sequence[str], initiator: str | None = None) -> Envelope:
    fields: Envelope = {"parties": list(parties)}
    if initiator is not None:
        fields["initiator"] = initiator
    return event("clash", at, **fields)


def report(
    at: str, accused: str, incident: Envelope | None = None, ceasefire_id: str = TRUCE
) -> Envelope:
    fields: Envelope = {"ceasefire_id": ceasefire_id, "accused": accused, "reported_by": "Observer"}
    if incident is not None:
        fields["incident_event_id"] = incident["event_id"]
    return event("ceasefire_breached", at, **fields)


def retraction(target: Envelope, at: str = LATER) -> Envelope:
    return event("retraction", at, retracts_event_id=target["event_id"], reason="withdrawn")


def correction(target: Envelope, at: str = LATER, **changes: Any) -> Envelope:
    return event("correction", at, corrects_event_id=target["event_id"], changes=changes)


def ids(*events: Envelope) -> list[str]:
    return [e["event_id"] for e in events]


# -- expected answers -------------------------------------------------------------------------


def verdict(status: Envelope) -> Envelope:
    """The part of a status object that the rules decide."""
    return {key: status[key] for key in VERDICT_KEYS}


def expected(
    status: str,
    *,
    breaches: Envelope | None = None,
    breach_event_ids: Sequence[str] = (),
    last_breach_at: str | None = None,
    superseded_by: str | None = None,
    ended_at: Any = None,
    ended_reason: str | None = None,
) -> Envelope:
    return {
        "status": status,
        "superseded_by": superseded_by,
        "ended_at": ended_at,
        "ended_reason": ended_reason,
        "breaches": breaches or tally(),
        "last_breach_at": last_breach_at,
        "breach_event_ids": list(breach_event_ids),
    }


HOLDING = expected("holding")


def violated_by(*incidents: Envelope, by_party: dict[str, int], last: str) -> Envelope:
    """Violated by inferred incidents with one attribution each (or none)."""
    unattributed = len(incidents) - sum(by_party.values())
    return expected(
        "violated",
        breaches=tally(
            len(incidents), by_party, inferred=len(incidents), unattributed=unattributed
        ),
        breach_event_ids=ids(*incidents),
        last_breach_at=last,
    )
