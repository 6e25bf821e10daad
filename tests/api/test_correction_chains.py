"""Property: a chain of corrections of one event reads as the event as corrected so far.

The contract's "Edge rules" under Breaches: a correction is checked, and its times
without offset are read, against the event as corrected so far (every earlier unretracted
correction applied in log order); it is valid when that event with its ``changes``
applied is a valid event of its type. A recorded time is an instant: a correction of
``timezone`` changes the calendar units of ``time_precision`` and the zone that reads
later times without offset, never an instant already recorded.

For a random clash, strike or shelling and a random chain of corrections of it (parties,
initiator, perpetrator, casualty counts and ranges, ``null`` to clear, time zones, times
with and without offset, precisions), each posted as its own request, an independent
model holds the event as corrected so far, normalised. For each correction the model
applies the ``changes`` to its event (``null`` removes the field) and asks
:func:`parse_event` whether the result is a valid event of its type (``changes`` that
name a field the type does not have are refused, even to clear it: the contract allows
"envelope or own fields of that event"). Then:

- the service accepts (201) exactly the corrections the model finds valid and refuses
  (422) exactly the others; an accepted one makes the parsed result the model's event;
- the timeline item is the model's event, field for field, ``corrected`` iff a
  correction was accepted; ``as_of`` each position of the chain it is the model's event
  as it stood then;
- a ceasefire agreed before the event (between parties the event's actors are drawn
  from) has the status, breaches included, that the pure rules of
  :mod:`truceline.domain.ceasefires` give for the model's event, at several world times,
  now and ``as_of`` a middle position of the chain.

Each example uses a conflict of its own, so one ``client`` serves all of them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, note, settings
from hypothesis import event as statistic
from hypothesis import strategies as st

from tests.helpers import Envelope, Headers, assert_problem, new_id, post
from truceline.domain.ceasefires import Ceasefire, Observed, incidents, periods, status_at
from truceline.domain.errors import Invalid
from truceline.domain.timeline import window
from truceline.domain.times import parse_utc, to_micros
from truceline.domain.validation import parse_event

CONFLICTS = itertools.count(1)  # chain-1, chain-2, ...: a conflict for each example
TRUCE = "truce"
TRUCE_PARTIES = ["North", "South", "East"]
ACTORS = (*TRUCE_PARTIES, "Militia X")  # Militia X is no party to the truce
# Agreed 1 May 09:00Z, in effect from 12:00Z until 15 May 00:00Z.
AGREED_AT = "2022-05-01T09:00:00Z"
EFFECTIVE_AT = "2022-05-01T12:00:00Z"
ENDS_AT = "2022-05-15T00:00:00Z"
CORRECTED_AT = "2022-06-20T00:00:00Z"  # when the corrections are made: after everything
# World times the status is asked at: at the start, in the middle, after the end, and once
# every window of the generated times (a month at most) has closed.
STATUS_TIMES = (
    "2022-05-01T12:00:00Z",
    "2022-05-08T00:00:00Z",
    "2022-05-20T00:00:00Z",
    "2022-07-10T00:00:00Z",
)

ZONES = ("UTC", "Asia/Yerevan", "America/New_York", "Asia/Kolkata")
PRECISIONS = ("exact", "minute", "hour", "day", "week", "month", "approximate")
# Wall-clock times near the ends of the period and of the months around it: with a zone
# and a precision, some windows fall inside the period, some overlap it, some miss it.
WALL_TIMES = (
    "2022-04-30T22:00:00",
    "2022-05-01T08:30:00",
    "2022-05-01T11:30:00",
    "2022-05-01T12:00:00",
    "2022-05-01T15:45:00",
    "2022-05-04T03:00:00",
    "2022-05-06T10:15:00",
    "2022-05-09T18:00:00",
    "2022-05-11T20:00:00",
    "2022-05-14T21:30:00",
    "2022-05-15T00:00:00",
    "2022-05-31T23:00:00",
    "2022-06-01T01:00:00",
)
WITH_OFFSET = ("Z", "+04:00", "-04:00", "+05:30")
NO_OFFSET = ""  # read in the event's zone (as corrected so far): refused without one

KINDS = ("clash", "strike", "shelling")
CASUALTY_FIELDS = ("killed", "killed_low", "killed_high", "wounded", "wounded_low", "wounded_high")
# What ``changes`` may name (the contract: envelope or own fields of that event).
ENVELOPE_FIELDS = ("occurred_at", "timezone", "time_precision", "location", "sources", "summary")
OWN_FIELDS = {
    "clash": ("parties", "initiator", *CASUALTY_FIELDS),
    "strike": ("perpetrator", "target", "weapon", *CASUALTY_FIELDS),
    "shelling": ("perpetrator", "target", "weapon", *CASUALTY_FIELDS),
}


def times(offsets: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.builds(str.__add__, st.sampled_from(WALL_TIMES), st.sampled_from(offsets))


def or_null(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | values


ACTOR = st.sampled_from(ACTORS)
COUNT = st.integers(0, 12)
ZONE_OR_NONE = st.sampled_from((None, *ZONES))  # a zone four times in five
# What a correction may set each field to. A party list of one, an initiator who is not
# a party, a low above the best estimate, a time without offset and no zone to read it
# in, a field the type does not have: refused.
CHANGE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "parties": or_null(st.lists(ACTOR, min_size=1, max_size=3, unique=True)),
    "initiator": or_null(ACTOR),
    "perpetrator": or_null(ACTOR),
    **{name: or_null(COUNT) for name in CASUALTY_FIELDS},
    "timezone": ZONE_OR_NONE,
    "occurred_at": times((*WITH_OFFSET, *[NO_OFFSET] * len(WITH_OFFSET))),
    "time_precision": or_null(st.sampled_from(PRECISIONS)),
}
# Twice as likely as the others: the times are what the chain is about.
TIME_FIELDS = ("timezone", "occurred_at", "time_precision") * 2
# The fields each type's corrections touch, one of them foreign to the type (refused).
CORRECTED_FIELDS = {
    "clash": ("parties", "initiator", *CASUALTY_FIELDS, *TIME_FIELDS, "perpetrator"),
    "strike": ("perpetrator", *CASUALTY_FIELDS, *TIME_FIELDS, "initiator"),
    "shelling": ("perpetrator", *CASUALTY_FIELDS, *TIME_FIELDS, "parties"),
}


@st.composite
def incidents_to_correct(draw: st.DrawFn) -> Envelope:
    """A valid clash, strike or shelling, without its conflict and id."""
    kind = draw(st.sampled_from(KINDS))
    zone = draw(ZONE_OR_NONE)
    offsets = (*WITH_OFFSET, NO_OFFSET) if zone else WITH_OFFSET
    event: Envelope = {
        "type": kind,
        "occurred_at": draw(times(offsets)),
        "time_precision": draw(st.sampled_from(PRECISIONS)),
        "sources": [{"name": "chain test"}],
    }
    if zone:
        event["timezone"] = zone
    if kind == "clash":
        event["parties"] = draw(st.lists(ACTOR, min_size=2, max_size=3, unique=True))
        actor = draw(or_null(st.sampled_from(event["parties"])))
    else:
        actor = draw(ACTOR)
    if actor is not None:
        event["initiator" if kind == "clash" else "perpetrator"] = actor
    # A best estimate of each, so that a range drawn later may contradict it.
    event["killed"], event["wounded"] = draw(COUNT), draw(COUNT)
    return event


@st.composite
def changes(draw: st.DrawFn, kind: str) -> Envelope:
    names = draw(st.lists(st.sampled_from(CORRECTED_FIELDS[kind]), min_size=1, max_size=3))
    return {name: draw(CHANGE_VALUES[name]) for name in dict.fromkeys(names)}


@st.composite
def chains(draw: st.DrawFn) -> tuple[Envelope, list[Envelope]]:
    """An event and the ``changes`` of each correction of it, in log order (1 to 6).

    Half the chains correct the zone first and end with a time without offset, which is
    read in the zone as corrected so far (unless a correction between cleared it)."""
    event = draw(incidents_to_correct())
    chain = draw(st.lists(changes(event["type"]), min_size=1, max_size=6))
    if draw(st.booleans()):
        move_zone = {"timezone": draw(st.sampled_from(ZONES))}
        local_time = {"occurred_at": draw(times((NO_OFFSET,)))}
        chain = [move_zone, *chain[:4], local_time]
    return event, chain


# -- the model --------------------------------------------------------------------------------


def without_local_times(event: Envelope) -> Envelope:
    return {key: value for key, value in event.items() if key != "local_times"}


def corrected(current: Envelope, changes: Envelope) -> Envelope | None:
    """The event with ``changes`` applied, normalised; None when that is not a valid
    event of its type, or when ``changes`` name a field the type does not have (even to
    clear it)."""
    if not set(changes) <= {*ENVELOPE_FIELDS, *OWN_FIELDS[current["type"]]}:
        return None
    merged = without_local_times(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    try:
        return parse_event(merged)
    except Invalid:
        return None


@dataclass(frozen=True)
class Version:
    """The model's event as it stood when the log ended at ``position``."""

    position: int
    event: Envelope
    corrected: bool


@dataclass
class Chain:
    """One example's history, posted one event a request, and the model beside it."""

    client: TestClient
    writer: Headers
    reader: Headers
    conflict: str
    truce_id: str = ""
    truce_position: int = 0
    event_position: int = 0
    versions: list[Version] = field(default_factory=list)

    def append(self, event: Envelope) -> int:
        response = post(self.client, self.writer, event)
        assert response.status_code == 201, response.text
        return int(response.json()["position"])

    def correct(self, changes: Envelope) -> None:
        """Post one correction; the service must judge it as the model does."""
        current = self.versions[-1]
        expected = corrected(current.event, changes)
        verdict = "refused" if expected is None else "accepted"
        note(f"correction {changes}: {verdict}")
        statistic(f"some correction {verdict}")
        response = post(self.client, self.writer, correction(self.conflict, current, changes))
        if expected is None:
            assert_problem(response, 422)
            return
        assert response.status_code == 201, response.text
        if self.reads_in_a_corrected_zone(changes):
            statistic("a time without offset read in a zone an earlier correction set")
        self.versions.append(Version(int(response.json()["position"]), expected, True))

    def reads_in_a_corrected_zone(self, changes: Envelope) -> bool:
        """Whether ``changes`` give a time without offset, to be read in a zone that an
        earlier correction set (for the statistics)."""
        zone = self.versions[-1].event.get("timezone")
        no_offset = "occurred_at" in changes and len(changes["occurred_at"]) == len(WALL_TIMES[0])
        return no_offset and "timezone" not in changes and zone != self.original_zone

    @property
    def original_zone(self) -> str | None:
        zone: str | None = self.versions[0].event.get("timezone")
        return zone

    @property
    def last_position(self) -> int:
        return self.versions[-1].position

    def get(self, path: str, **params: str) -> Envelope:
        params = {**params, "min_position": str(self.last_position)}
        response = self.client.get(path, params=params, headers=self.reader)
        assert response.status_code == 200, response.text
        body: Envelope = response.json()
        return body

    def item(self, **params: str) -> Envelope:
        """The event's timeline item, its wall times (``local_times``) aside."""
        items = self.get("/v1/timeline", conflict=self.conflict, **params)["items"]
        event_id = self.versions[0].event["event_id"]
        (item,) = [item for item in items if item["event_id"] == event_id]
        return without_local_times(item)

    def status(self, at: str, **params: str) -> Envelope:
        return self.get(f"/v1/ceasefires/{TRUCE}", conflict=self.conflict, at=at, **params)


def truce(conflict: str) -> Envelope:
    return {
        "type": "ceasefire_agreed",
        "event_id": new_id(),
        "conflict": conflict,
        "occurred_at": AGREED_AT,
        "ceasefire_id": TRUCE,
        "parties": TRUCE_PARTIES,
        "mediators": ["Neutralia"],
        "effective_at": EFFECTIVE_AT,
        "ends_at": ENDS_AT,
    }


def correction(conflict: str, target: Version, changes: Envelope) -> Envelope:
    return {
        "type": "correction",
        "event_id": new_id(),
        "conflict": conflict,
        "occurred_at": CORRECTED_AT,
        "corrects_event_id": target.event["event_id"],
        "changes": changes,
    }


# -- the expected answers ---------------------------------------------------------------------


def micros(text: str) -> int:
    return to_micros(parse_utc(text))


def expected_item(version: Version, event_position: int) -> Envelope:
    """The timeline item of the model's event (its wall times aside)."""
    return {
        **without_local_times(version.event),
        "position": event_position,
        "corrected": version.corrected,
        "retracted": False,
    }


def truce_as_ceasefire(chain: Chain) -> Ceasefire:
    return Ceasefire(
        conflict=chain.conflict,
        ceasefire_id=TRUCE,
        event_id=chain.truce_id,
        position=chain.truce_position,
        parties=tuple(TRUCE_PARTIES),
        mediators=("Neutralia",),
        agreed_at=micros(AGREED_AT),
        effective_at=micros(EFFECTIVE_AT),
        ends_at=micros(ENDS_AT),
    )


def observed(event: Envelope, position: int) -> Observed:
    return Observed(
        event_id=event["event_id"],
        position=position,
        type=event["type"],
        occurred_at=micros(event["occurred_at"]),
        window=window(event),
        perpetrator=event.get("perpetrator"),
        initiator=event.get("initiator"),
        parties=tuple(event.get("parties", ())),
    )


def expected_status(chain: Chain, version: Version, at: str) -> Envelope:
    """What the pure rules make of the truce and the model's event, at ``at``."""
    ceasefire = truce_as_ceasefire(chain)
    period = periods([ceasefire], {})[TRUCE]
    found = incidents(ceasefire, period, [observed(version.event, chain.event_position)], [], {})
    status = status_at(ceasefire, period, found, micros(at))
    assert status is not None  # every time in STATUS_TIMES is after the agreement
    return status


# -- the property -----------------------------------------------------------------------------


def start_chain(client: TestClient, writer: Headers, reader: Headers, event: Envelope) -> Chain:
    """A new conflict: the truce, then the event to correct."""
    chain = Chain(client, writer, reader, f"chain-{next(CONFLICTS)}")
    agreement = truce(chain.conflict)
    chain.truce_id = agreement["event_id"]
    chain.truce_position = chain.append(agreement)
    original = {**event, "event_id": new_id(), "conflict": chain.conflict}
    chain.event_position = chain.append(original)
    chain.versions.append(Version(chain.event_position, parse_event(original), False))
    return chain


def assert_timeline_follows_the_model(chain: Chain) -> None:
    latest = chain.versions[-1]
    assert chain.item() == expected_item(latest, chain.event_position)
    for version in chain.versions:
        as_of = chain.item(as_of=str(version.position))
        assert as_of == expected_item(version, chain.event_position), version.position


def assert_status_follows_the_rules(chain: Chain) -> None:
    middle = chain.versions[len(chain.versions) // 2]
    for at in STATUS_TIMES:
        assert chain.status(at) == expected_status(chain, chain.versions[-1], at), at
        as_of = chain.status(at, as_of=str(middle.position))
        assert as_of == expected_status(chain, middle, at), (at, middle.position)
    statistic(breach_kind(expected_status(chain, chain.versions[-1], STATUS_TIMES[-1])))


def breach_kind(status: Envelope) -> str:
    """How the event, as finally corrected, breaks the truce (for the statistics)."""
    if status["breaches"]["total"]:
        return "a certain breach"
    return "a possible breach" if status["breaches"]["possible"] else "no breach"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(chain_of_changes=chains())
def test_a_chain_of_corrections_reads_as_the_event_as_corrected_so_far(
    client: TestClient,
    writer: Headers,
    reader: Headers,
    chain_of_changes: tuple[Envelope, list[Envelope]],
) -> None:
    event, changes_in_order = chain_of_changes
    note(f"event {event}")
    chain = start_chain(client, writer, reader, event)

    for changes_of_one in changes_in_order:
        chain.correct(changes_of_one)

    assert_timeline_follows_the_model(chain)
    assert_status_follows_the_rules(chain)
