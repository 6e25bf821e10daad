"""The logs of the as-of tests, shared by tests/api/test_as_of.py and
tests/cli/test_replay.py: the worked example of shared/examples/breach-rules.md (events
#1-#11, whose ids ``n(N)`` the worked-example tests use too) and a short history of
corrections and retractions in another conflict (:data:`AMENDED_LOG`).
"""

from __future__ import annotations

from typing import Any

from tests.helpers import Envelope

EXAMPLE = "example-front-2021"


def n(number: int) -> str:
    """The id of worked-example event #N."""
    return f"00000000-0000-4000-8000-{number:012d}"


def _example(number: int, kind: str, occurred_at: str, **fields: Any) -> Envelope:
    return {
        "event_id": n(number),
        "type": kind,
        "conflict": EXAMPLE,
        "occurred_at": occurred_at,
        "sources": [{"name": "worked example"}],
        **fields,
    }


# shared/examples/breach-rules.md, events #1-#11 in log order.
WORKED_EXAMPLE: list[Envelope] = [
    _example(
        1,
        "ceasefire_agreed",
        "2021-03-01T09:00:00Z",
        ceasefire_id="truce-1",
        parties=["North", "South"],
        mediators=["Neutralia"],
        effective_at="2021-03-01T12:00:00",
        timezone="Europe/Kyiv",
    ),
    _example(2, "shelling", "2021-03-01T13:00:00", timezone="Europe/Kyiv", perpetrator="North"),
    _example(3, "strike", "2021-03-01T11:00:00Z", time_precision="hour", perpetrator="South"),
    _example(
        4,
        "shelling",
        "2021-03-01T10:00:00",
        timezone="Europe/Kyiv",
        time_precision="day",
        perpetrator="South",
    ),
    _example(
        5,
        "ceasefire_breached",
        "2021-03-01T15:00:00Z",
        ceasefire_id="truce-1",
        accused="South",
        reported_by="North",
        incident_event_id=n(2),
    ),
    _example(
        6,
        "ceasefire_breached",
        "2021-03-02T08:00:00Z",
        ceasefire_id="truce-1",
        accused="North",
        reported_by="South",
    ),
    _example(7, "clash", "2021-03-02T20:00:00Z", parties=["North", "South"]),
    _example(
        8,
        "ceasefire_agreed",
        "2021-03-04T12:00:00Z",
        ceasefire_id="truce-2",
        parties=["North", "South", "East"],
        effective_at="2021-03-05T00:00:00Z",
    ),
    _example(9, "shelling", "2021-03-06T10:00:00Z", perpetrator="North"),
    _example(
        10,
        "retraction",
        "2021-03-07T00:00:00Z",
        retracts_event_id=n(9),
        reason="misattributed: the shelling came from outside the line",
    ),
    _example(
        11,
        "correction",
        "2021-03-08T00:00:00Z",
        corrects_event_id=n(3),
        changes={"perpetrator": "North"},
    ),
]


# A strike corrected, a statement retracted, and the correction retracted.
CONFLICT = "as-of-front-2022"
STRIKE, STATEMENT, CORRECTION = n(101), n(102), n(103)
RETRACT_STATEMENT, RETRACT_CORRECTION = n(104), n(105)


def _event(event_id: str, kind: str, occurred_at: str, **fields: Any) -> Envelope:
    return {
        "event_id": event_id,
        "type": kind,
        "conflict": CONFLICT,
        "occurred_at": occurred_at,
        **fields,
    }


AMENDED_LOG: list[Envelope] = [
    _event(STRIKE, "strike", "2022-01-01T00:00:00Z", perpetrator="North", killed=2),
    _event(STATEMENT, "statement", "2022-01-02T00:00:00Z", speaker="South", text="Calm."),
    # Moves the strike after the statement, and raises its toll.
    _event(
        CORRECTION,
        "correction",
        "2022-01-05T00:00:00Z",
        corrects_event_id=STRIKE,
        changes={"killed": 5, "occurred_at": "2022-01-03T00:00:00Z"},
    ),
    _event(
        RETRACT_STATEMENT,
        "retraction",
        "2022-01-06T00:00:00Z",
        retracts_event_id=STATEMENT,
        reason="never said",
    ),
    # A retracted correction no longer applies.
    _event(
        RETRACT_CORRECTION,
        "retraction",
        "2022-01-07T00:00:00Z",
        retracts_event_id=CORRECTION,
        reason="the first count was right",
    ),
]
