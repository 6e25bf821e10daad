"""The timeline tests' case file, shared by tests/api/test_timeline.py and
tests/e2e/test_two_servers.py: ten events of two conflicts (:data:`EVENTS`), appended in
:data:`APPEND_ORDER`, nothing like world order, then amended (:data:`AMENDMENTS`: the
strike corrected, the shelling retracted, and a correction of the statement itself
retracted); the items they read as afterwards (:data:`CURRENT`) and their world order
(:data:`ORDER`).
"""

from __future__ import annotations

from typing import Any

from tests.helpers import Envelope

NK = "nagorno-karabakh-2020"
PACIFIC = "pacific-2021"
CEASEFIRE_ID = "moscow-2020-10-10"
STEPANAKERT = {"name": "Stepanakert", "lat": 39.8153, "lon": 46.7519}


def case_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


# The case file, by name. Times are already UTC with Z except the statement's (an offset).
EVENTS: dict[str, Envelope] = {
    "agreed": {
        "type": "ceasefire_agreed",
        "event_id": case_id(1),
        "conflict": NK,
        "occurred_at": "2020-10-10T00:00:00Z",
        "ceasefire_id": CEASEFIRE_ID,
        "parties": ["Armenia", "Azerbaijan"],
        "mediators": ["Russia"],
        "effective_at": "2020-10-10T08:00:00Z",
        "location": {"name": "Moscow", "country": "RU", "lat": 55.7558, "lon": 37.6173},
    },
    "strike": {
        "type": "strike",
        "event_id": case_id(2),
        "conflict": NK,
        "occurred_at": "2020-10-11T06:00:00Z",
        "perpetrator": "Azerbaijan",
        "target": "Stepanakert",
        "killed": 2,
        "location": STEPANAKERT,
        "sources": [{"name": "Agency A", "url": "https://example.org/a"}],
    },
    "shelling": {  # the same instant as the strike: ordered after it by position
        "type": "shelling",
        "event_id": case_id(3),
        "conflict": NK,
        "occurred_at": "2020-10-11T06:00:00Z",
        "perpetrator": "Armenia",
        "target": "Ganja",
        "wounded": 5,
        "location": {"name": "Ganja", "lat": 40.6828, "lon": 46.3606},
    },
    "clash": {
        "type": "clash",
        "event_id": case_id(4),
        "conflict": NK,
        "occurred_at": "2020-10-12T00:00:00Z",
        "parties": ["Armenia", "Azerbaijan"],
        "initiator": "Azerbaijan",
        "location": {"name": "Hadrut"},
    },
    "breach": {
        "type": "ceasefire_breached",
        "event_id": case_id(5),
        "conflict": NK,
        "occurred_at": "2020-10-12T12:00:00Z",
        "ceasefire_id": CEASEFIRE_ID,
        "accused": "Armenia",
        "reported_by": "Azerbaijan",
        "incident_event_id": case_id(4),
    },
    "statement": {
        "type": "statement",
        "event_id": case_id(6),
        "conflict": NK,
        "occurred_at": "2020-10-13T10:00:00+04:00",
        "speaker": "Russia",
        "text": "Both sides must observe the truce.",
    },
    "displacement": {
        "type": "displacement",
        "event_id": case_id(7),
        "conflict": NK,
        "occurred_at": "2020-10-14T00:00:00Z",
        "displaced": 1000,
        "location": STEPANAKERT,
    },
    "casualty": {
        "type": "casualty_report",
        "event_id": case_id(8),
        "conflict": NK,
        "occurred_at": "2020-10-15T00:00:00Z",
        "killed": 3,
        "about_event_id": case_id(2),
    },
    "island_strike": {  # just west of the antimeridian
        "type": "strike",
        "event_id": case_id(9),
        "conflict": PACIFIC,
        "occurred_at": "2020-10-11T12:00:00Z",
        "perpetrator": "Blue",
        "location": {"name": "Taveuni", "lat": -16.85, "lon": 179.97},
    },
    "island_shelling": {  # just east of it
        "type": "shelling",
        "event_id": case_id(10),
        "conflict": PACIFIC,
        "occurred_at": "2020-10-13T00:00:00Z",
        "perpetrator": "Red",
        "location": {"name": "Apia", "lat": -13.83, "lon": -171.76},
    },
}
# Appended in this order (positions 1..10): nothing like world order.
APPEND_ORDER = [
    "displacement",
    "island_shelling",
    "agreed",
    "clash",
    "breach",
    "statement",
    "strike",
    "casualty",
    "shelling",
    "island_strike",
]
POSITION = {name: index for index, name in enumerate(APPEND_ORDER, start=1)}
STATEMENT_CORRECTION = case_id(13)
AMENDMENTS: list[Envelope] = [  # positions 11..14
    {
        "type": "correction",
        "event_id": case_id(11),
        "conflict": NK,
        "occurred_at": "2020-10-16T00:00:00Z",
        "corrects_event_id": case_id(2),
        "changes": {"killed": 4},
    },
    {
        "type": "retraction",
        "event_id": case_id(12),
        "conflict": NK,
        "occurred_at": "2020-10-16T00:00:00Z",
        "retracts_event_id": case_id(3),
        "reason": "the source withdrew the report",
    },
    {
        "type": "correction",
        "event_id": STATEMENT_CORRECTION,
        "conflict": NK,
        "occurred_at": "2020-10-16T00:00:00Z",
        "corrects_event_id": case_id(6),
        "changes": {"text": "Nothing to add."},
    },
    {
        "type": "retraction",
        "event_id": case_id(14),
        "conflict": NK,
        "occurred_at": "2020-10-16T00:00:00Z",
        "retracts_event_id": STATEMENT_CORRECTION,
        "reason": "wrong statement corrected",
    },
]
LAST = len(APPEND_ORDER) + len(AMENDMENTS)

# What the service stores beyond the posted fields: the default precision, and for the
# statement its time in UTC with the wall time kept.
_NORMALIZED: dict[str, Envelope] = {
    "statement": {
        "occurred_at": "2020-10-13T06:00:00Z",
        "local_times": {"occurred_at": "2020-10-13T10:00:00+04:00"},
    },
}


def item(
    name: str, *, corrected: bool = False, retracted: bool = False, **changes: Any
) -> Envelope:
    """The timeline item of ``EVENTS[name]`` with ``changes`` applied."""
    return {
        **EVENTS[name],
        "time_precision": "exact",
        **_NORMALIZED.get(name, {}),
        **changes,
        "position": POSITION[name],
        "corrected": corrected,
        "retracted": retracted,
    }


# The items as they read after the amendments.
CURRENT: dict[str, Envelope] = {name: item(name) for name in EVENTS}
CURRENT["strike"] = item("strike", corrected=True, killed=4)
CURRENT["shelling"] = item("shelling", retracted=True)

# World order: occurred_at, then position.
ORDER = [
    "agreed",
    "strike",
    "island_strike",
    "clash",
    "breach",
    "island_shelling",
    "statement",
    "displacement",
    "casualty",
]
ORDER_WITH_RETRACTED = ["agreed", "strike", "shelling", *ORDER[2:]]
