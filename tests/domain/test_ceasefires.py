"""The ceasefire and breach rules of the contract (api-v1.md, "Ceasefire status" and
"Breaches"), tested directly on the pure functions of :mod:`truceline.domain.ceasefires`:

- ``periods``: when each ceasefire is in effect and what stopped it (a ``ceasefire_ended``,
  ``ends_at``, a superseder), with the tie rules;
- ``Period``: half-open periods and windows, ``contains`` (certain), ``overlaps``
  (possible), ``meets``, ``in_effect_at``;
- ``is_inferred`` and ``incidents``: inferred and reported incidents, their keys, defining
  events, windows and attribution;
- ``status_at``, ``in_effect`` and ``conflict_state``;
- the worked example of ``examples/breach-rules.md``;
- properties (hypothesis): the order of observations never matters, retraction (modelled
  as leaving an event out) behaves, ``inferred + reported == total``, ``possible`` never
  counts, answers only grow as ``at`` moves later, and ``periods`` agrees with a model
  written from the contract's text.

No I/O: no store, no HTTP. Times are integer microseconds.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from random import Random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import tally
from truceline.domain.ceasefires import (
    FOREVER,
    INCIDENT_TYPES,
    Ceasefire,
    End,
    Incident,
    Observed,
    Period,
    conflict_state,
    in_effect,
    incidents,
    is_inferred,
    periods,
)
from truceline.domain.ceasefires import status_at as status_at_
from truceline.domain.timeline import window
from truceline.domain.times import event_window, parse_utc, to_micros

HOUR = 3_600 * 1_000_000
DAY = 24 * HOUR
CONFLICT = "rules-front-2022"
PARTIES = ("North", "South")
_POSITIONS = itertools.count(100)

History = Sequence[Observed]
Status = dict[str, Any]


def t(day: int, hour: int = 0, minute: int = 0) -> int:
    """An instant of May 2022 in UTC, in microseconds."""
    return to_micros(datetime(2022, 5, day, hour, minute, tzinfo=UTC))


def iso(day: int, hour: int = 0, minute: int = 0) -> str:
    """The same instant as the status object writes it."""
    return f"2022-05-{day:02d}T{hour:02d}:{minute:02d}:00Z"


AGREED = t(1, 9)
START = t(1, 12)


# -- building ceasefires and observations ------------------------------------------------


def truce(
    ceasefire_id: str = "truce",
    *,
    parties: Sequence[str] = PARTIES,
    agreed: int = AGREED,
    effective: int = START,
    ends_at: int | None = None,
    position: int = 1,
    mediators: Sequence[str] = (),
) -> Ceasefire:
    return Ceasefire(
        conflict=CONFLICT,
        ceasefire_id=ceasefire_id,
        event_id=f"agreement-{ceasefire_id}",
        position=position,
        parties=tuple(parties),
        mediators=tuple(mediators),
        agreed_at=agreed,
        effective_at=effective,
        ends_at=ends_at,
    )


def period_of(ceasefire: Ceasefire, end: End | None = None) -> Period:
    ends = {ceasefire.ceasefire_id: end} if end else {}
    return periods([ceasefire], ends)[ceasefire.ceasefire_id]


def _position(position: int | None) -> int:
    return next(_POSITIONS) if position is None else position


def strike(
    event_id: str,
    when: int,
    perpetrator: str | None = None,
    *,
    kind: str = "strike",
    span: tuple[int, int] | None = None,
    position: int | None = None,
) -> Observed:
    """A strike or shelling; ``span`` is its window (default: the exact instant)."""
    return Observed(
        event_id, _position(position), kind, when, span or (when, when), perpetrator=perpetrator
    )


def clash(
    event_id: str,
    when: int,
    parties: Sequence[str] = PARTIES,
    initiator: str | None = None,
    *,
    span: tuple[int, int] | None = None,
    position: int | None = None,
) -> Observed:
    return Observed(
        event_id,
        _position(position),
        "clash",
        when,
        span or (when, when),
        parties=tuple(parties),
        initiator=initiator,
    )


def report(
    event_id: str,
    when: int,
    accused: str,
    names: str | None = None,
    *,
    position: int | None = None,
) -> Observed:
    """A ``ceasefire_breached`` accusing ``accused``, naming the event ``names``."""
    return Observed(
        event_id,
        _position(position),
        "ceasefire_breached",
        when,
        (when, when),
        accused=accused,
        incident_event_id=names,
    )


def split(history: History) -> tuple[list[Observed], list[Observed], dict[str, Observed]]:
    """Candidates, reports and named events, as the projection gives them to the rules:
    ``named`` holds the events of the history that some report names."""
    candidates = [e for e in history if e.type in INCIDENT_TYPES]
    reports = [e for e in history if e.type == "ceasefire_breached"]
    targets = {r.incident_event_id for r in reports}
    named = {e.event_id: e for e in history if e.event_id in targets}
    return candidates, reports, named


def found(ceasefire: Ceasefire, period: Period, history: History) -> list[Incident]:
    return incidents(ceasefire, period, *split(history))


def by_key(found_incidents: Sequence[Incident]) -> list[Incident]:
    return sorted(found_incidents, key=lambda i: i.key)


def status_at(
    ceasefire: Ceasefire, period: Period, found_incidents: Sequence[Incident], at: int
) -> Status:
    """``status_at`` where the ceasefire exists (never None)."""
    status = status_at_(ceasefire, period, found_incidents, at)
    assert status is not None
    return status


def status(ceasefire: Ceasefire, history: History, at: int, period: Period | None = None) -> Status:
    period = period or period_of(ceasefire)
    return status_at(ceasefire, period, found(ceasefire, period, history), at)


def breaches(ceasefire: Ceasefire, history: History, at: int) -> dict[str, Any]:
    counts: dict[str, Any] = status(ceasefire, history, at)["breaches"]
    return counts


# -- periods: start and own stop ---------------------------------------------------------


def test_a_truce_takes_effect_at_effective_at() -> None:
    assert period_of(truce()) == Period(START, None, None)


def test_a_backdated_truce_counts_from_its_agreement() -> None:
    ceasefire = truce(agreed=t(1, 9), effective=t(1, 6))
    assert ceasefire.start == t(1, 9)
    assert period_of(ceasefire) == Period(t(1, 9), None, None)


def test_ends_at_stops_it_as_expired() -> None:
    assert period_of(truce(ends_at=t(3))) == Period(START, t(3), "expired")


@pytest.mark.parametrize("reason", ["collapsed", "terminated"])
def test_a_ceasefire_ended_stops_it_with_its_reason(reason: str) -> None:
    end = End(t(2), reason, position=5)
    assert period_of(truce(ends_at=t(3)), end) == Period(START, t(2), reason)


def test_ends_at_before_a_ceasefire_ended_stops_it_first() -> None:
    end = End(t(4), "collapsed", position=5)
    assert period_of(truce(ends_at=t(3)), end) == Period(START, t(3), "expired")


@pytest.mark.parametrize("reason", ["collapsed", "terminated"])
def test_a_ceasefire_ended_at_the_instant_of_ends_at_comes_first(reason: str) -> None:
    end = End(t(3), reason, position=5)
    assert period_of(truce(ends_at=t(3)), end) == Period(START, t(3), reason)


def test_an_end_of_another_ceasefire_ends_nothing() -> None:
    ends = {"other": End(t(2), "collapsed", position=5)}
    assert periods([truce()], ends)["truce"] == Period(START, None, None)


# -- periods: supersession ---------------------------------------------------------------


def test_a_later_ceasefire_with_all_its_parties_supersedes_it() -> None:
    first = truce("truce-1")
    second = truce("truce-2", parties=("South", "North", "East"), effective=t(5), position=2)
    assert periods([first, second], {}) == {
        "truce-1": Period(START, t(5), "superseded", "truce-2"),
        "truce-2": Period(t(5), None, None),
    }


def test_a_later_ceasefire_lacking_one_of_its_parties_does_not_supersede_it() -> None:
    first = truce("truce-1")
    second = truce("truce-2", parties=("North", "East"), effective=t(5), position=2)
    assert periods([first, second], {})["truce-1"] == Period(START, None, None)


def test_a_ceasefire_starting_at_the_same_instant_does_not_supersede_it() -> None:
    first = truce("truce-1")
    second = truce("truce-2", agreed=t(1, 10), effective=START, position=2)
    result = periods([first, second], {})
    assert result["truce-1"] == Period(START, None, None)
    assert result["truce-2"] == Period(START, None, None)


def test_supersession_compares_the_start_not_effective_at() -> None:
    """A superseder backdated to before the first's start takes effect at its agreement."""
    first = truce("truce-1")
    second = truce("truce-2", agreed=t(4), effective=t(1), position=2)
    assert periods([first, second], {})["truce-1"] == Period(START, t(4), "superseded", "truce-2")


@pytest.mark.parametrize("stop", [t(5), t(4)], ids=["at-its-stop", "after-its-stop"])
@pytest.mark.parametrize("how", ["ends_at", "ceasefire_ended"])
def test_a_ceasefire_starting_at_or_after_its_stop_does_not_supersede_it(
    stop: int, how: str
) -> None:
    first = truce("truce-1", ends_at=t(4) if how == "ends_at" else None)
    ends = {"truce-1": End(t(4), "terminated", 5)} if how == "ceasefire_ended" else {}
    second = truce("truce-2", effective=stop, position=2)
    reason = "expired" if how == "ends_at" else "terminated"
    assert periods([first, second], ends)["truce-1"] == Period(START, t(4), reason)


def test_the_first_qualifying_superseder_wins() -> None:
    first = truce("truce-1")
    lacking = truce("lacking", parties=("North", "Rebels"), effective=t(2), position=2)
    earliest = truce("earliest", effective=t(3), position=3)
    later = truce("later", parties=(*PARTIES, "East"), effective=t(4), position=4)
    for order in ([first, lacking, earliest, later], [later, earliest, lacking, first]):
        result = periods(order, {})
        assert result["truce-1"] == Period(START, t(3), "superseded", "earliest")
        assert result["earliest"] == Period(t(3), t(4), "superseded", "later")
        assert result["lacking"] == Period(t(2), None, None)


def test_a_ceasefire_ended_after_it_was_superseded_stays_superseded() -> None:
    first = truce("truce-1", ends_at=t(6))
    second = truce("truce-2", effective=t(5), position=2)
    ends = {"truce-1": End(t(7), "collapsed", 5)}
    assert periods([first, second], ends)["truce-1"] == Period(START, t(5), "superseded", "truce-2")


def test_a_ceasefire_ending_before_it_takes_effect_supersedes_nothing() -> None:
    first = truce("truce-1")
    stillborn = truce("stillborn", agreed=t(2), effective=t(5), position=2)
    ends = {"stillborn": End(t(3), "collapsed", 5)}
    result = periods([first, stillborn], ends)
    assert result["truce-1"] == Period(START, None, None)
    assert result["stillborn"] == Period(t(5), t(3), "collapsed")
    assert not result["stillborn"].ever_in_effect


def test_a_ceasefire_ending_before_it_takes_effect_is_never_in_effect() -> None:
    stillborn = truce(agreed=t(2), effective=t(5), ends_at=t(3))
    period = period_of(stillborn)
    instants = [t(2), t(3), t(4), t(5), t(6)]
    assert not any(in_effect(stillborn, period, at) for at in instants)
    assert [status_at(stillborn, period, [], at)["status"] for at in instants] == [
        "agreed",
        "ended",
        "ended",
        "ended",
        "ended",
    ]


def test_a_ceasefire_ending_at_the_instant_it_takes_effect_is_never_in_effect() -> None:
    """Its half-open period ``[start, start)`` is empty."""
    period = period_of(truce(ends_at=START))
    assert period == Period(START, START, "expired")
    assert not period.ever_in_effect
    assert not period.in_effect_at(START)


def test_a_superseder_that_never_takes_effect_supersedes_nothing() -> None:
    first = truce("truce-1")
    stillborn = truce("stillborn", agreed=t(2), effective=t(5), ends_at=t(5), position=2)
    assert periods([first, stillborn], {})["truce-1"] == Period(START, None, None)


# -- Period: half-open windows -----------------------------------------------------------

PERIOD = Period(t(2), t(4), "expired")


@pytest.mark.parametrize(
    ("window_", "contains", "overlaps"),
    [
        ((t(2), t(2)), True, True),  # an exact instant at the start counts
        ((t(3), t(3)), True, True),
        ((t(4) - 1, t(4) - 1), True, True),
        ((t(4), t(4)), False, False),  # ... at the stop it does not
        ((t(2) - 1, t(2) - 1), False, False),
        ((t(2), t(3)), True, True),  # a window starting at the start
        ((t(3), t(4)), True, True),  # a window ending at the stop
        ((t(2), t(4)), True, True),  # the whole period
        ((t(1), t(2)), False, False),  # ending at the start: not even possible
        ((t(4), t(5)), False, False),  # beginning at the stop
        ((t(1), t(2) + 1), False, True),  # straddling the start: possible
        ((t(4) - 1, t(5)), False, True),  # straddling the stop: possible
        ((t(1), t(5)), False, True),  # around the whole period
    ],
)
def test_contains_and_overlaps_are_half_open(
    window_: tuple[int, int], contains: bool, overlaps: bool
) -> None:
    assert PERIOD.contains(window_) is contains
    assert PERIOD.overlaps(window_) is overlaps


def test_a_period_without_stop_contains_every_later_window() -> None:
    period = Period(t(2), None, None)
    assert period.until == FOREVER
    assert period.contains((t(31), t(31)))
    assert period.contains((t(20), t(21)))
    assert not period.contains((t(2) - 1, t(2) - 1))


def test_a_period_never_in_effect_contains_and_overlaps_nothing() -> None:
    period = Period(t(4), t(2), "collapsed")
    for window_ in [(t(4), t(4)), (t(2), t(2)), (t(1), t(5)), (t(3), t(3))]:
        assert not period.contains(window_)
        assert not period.overlaps(window_)


def test_in_effect_at_is_half_open() -> None:
    assert [PERIOD.in_effect_at(at) for at in (t(2) - 1, t(2), t(4) - 1, t(4))] == [
        False,
        True,
        True,
        False,
    ]


def test_meets_includes_both_ends() -> None:
    assert PERIOD.meets((t(1), t(2)))
    assert PERIOD.meets((t(4), t(5)))
    assert not PERIOD.meets((t(1), t(2) - 1))
    assert not PERIOD.meets((t(4) + 1, t(5)))


def test_until_is_the_stop_once_there_is_one() -> None:
    assert PERIOD.until == t(4)


# -- incidents: inferred -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "inferred"),
    [
        (strike("s", START, "North"), True),
        (strike("s", START, "South", kind="shelling"), True),
        (strike("s", START, "Rebels"), False),
        (strike("s", START, None), False),
        (clash("c", START, ("North", "South")), True),
        (clash("c", START, ("North", "Rebels")), False),
        (clash("c", START, ("North", "South", "Rebels"), "Rebels"), True),
        (report("r", START, "North"), False),
    ],
)
def test_is_inferred(event: Observed, inferred: bool) -> None:
    assert is_inferred(truce(), event) is inferred


@pytest.mark.parametrize("kind", ["strike", "shelling"])
def test_a_strike_or_shelling_by_a_party_is_an_inferred_incident(kind: str) -> None:
    ceasefire = truce()
    event = strike("s1", t(1, 14), "North", kind=kind, position=7)
    assert found(ceasefire, period_of(ceasefire), [event]) == [
        Incident(
            key="s1",
            event_id="s1",
            position=7,
            occurred_at=t(1, 14),
            happened_at=t(1, 14),
            kind="inferred",
            window=(t(1, 14), t(1, 14)),
            attributed=("North",),
            certain=True,
        )
    ]


@pytest.mark.parametrize("perpetrator", ["Rebels", None])
def test_a_strike_by_no_party_is_no_incident(perpetrator: str | None) -> None:
    ceasefire = truce()
    assert found(ceasefire, period_of(ceasefire), [strike("s1", t(2), perpetrator)]) == []


def test_a_clash_of_two_parties_without_initiator_is_unattributed() -> None:
    ceasefire = truce()
    (incident,) = found(ceasefire, period_of(ceasefire), [clash("c1", t(2))])
    assert (incident.kind, incident.attributed) == ("inferred", ())


def test_a_clash_with_only_one_party_is_no_incident() -> None:
    ceasefire = truce()
    event = clash("c1", t(2), ("North", "Rebels"), "North")
    assert found(ceasefire, period_of(ceasefire), [event]) == []


def test_a_clash_is_attributed_to_its_initiator_party_or_not() -> None:
    ceasefire = truce()
    event = clash("c1", t(2), ("North", "South", "Rebels"), "Rebels")
    (incident,) = found(ceasefire, period_of(ceasefire), [event])
    assert incident.attributed == ("Rebels",)


# -- incidents: reported -----------------------------------------------------------------


def test_a_report_without_an_incident_is_a_reported_incident_of_its_own() -> None:
    ceasefire = truce()
    event = report("r1", t(2), "South", position=9)
    assert found(ceasefire, period_of(ceasefire), [event]) == [
        Incident(
            key="r1",
            event_id="r1",
            position=9,
            occurred_at=t(2),
            happened_at=t(2),
            kind="reported",
            window=(t(2), t(2)),
            attributed=("South",),
            certain=True,
        )
    ]


def test_a_report_naming_a_non_inferred_event_occupies_that_events_window() -> None:
    ceasefire = truce()
    named = strike("s1", t(2, 6), "Rebels", span=(t(2, 6), t(2, 7)), position=3)
    history = [named, report("r1", t(3), "North", "s1", position=9)]
    assert found(ceasefire, period_of(ceasefire), history) == [
        Incident(
            key="s1",
            event_id="r1",
            position=9,
            occurred_at=t(3),
            happened_at=t(2, 6),
            kind="reported",
            window=(t(2, 6), t(2, 7)),
            attributed=("North",),  # the accused only, not the named perpetrator
            certain=True,
        )
    ]


def test_several_reports_naming_one_event_are_one_incident_defined_by_the_first() -> None:
    ceasefire = truce()
    history = [
        report("r3", t(4), "North", "s1", position=30),
        report("r2", t(3), "South", "s1", position=20),
        report("r1", t(5), "North", "s1", position=10),
        strike("s1", t(2), None, position=5),
    ]
    (incident,) = found(ceasefire, period_of(ceasefire), history)
    assert (incident.key, incident.event_id, incident.position) == ("s1", "r1", 10)
    assert (incident.occurred_at, incident.happened_at) == (t(5), t(2))
    assert incident.attributed == ("North", "South")


def test_a_report_naming_an_inferred_incident_adds_its_accused_only() -> None:
    ceasefire = truce()
    history = [strike("s1", t(2), "North"), report("r1", t(3), "South", "s1")]
    (incident,) = found(ceasefire, period_of(ceasefire), history)
    assert (incident.key, incident.event_id, incident.kind) == ("s1", "s1", "inferred")
    assert incident.attributed == ("North", "South")


def test_a_report_naming_an_event_absent_from_named_counts_for_nothing() -> None:
    ceasefire = truce()
    retracted = strike("s1", t(2), "Rebels")
    reports = [report("r1", t(3), "South", "s1")]
    assert incidents(ceasefire, period_of(ceasefire), [retracted], reports, {}) == []
    assert incidents(ceasefire, period_of(ceasefire), [], reports, {}) == []


def test_a_report_of_an_event_outside_the_period_is_no_incident() -> None:
    ceasefire = truce()
    history = [strike("s1", t(1, 10), "Rebels"), report("r1", t(2), "North", "s1")]
    assert found(ceasefire, period_of(ceasefire), history) == []


def test_an_unnamed_report_outside_the_period_is_no_incident() -> None:
    ceasefire = truce()
    assert found(ceasefire, period_of(ceasefire), [report("r1", t(1, 10), "North")]) == []


# -- incidents: certain or possible ------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "certain"),
    [
        ((START, START + HOUR), True),
        ((START - HOUR, START + HOUR), False),
        ((START - HOUR, START), None),  # ending at the start: no incident at all
        ((START, START), True),
        ((START - 1, START - 1), None),
    ],
)
def test_an_incident_is_certain_inside_the_period_and_possible_overlapping_it(
    span: tuple[int, int], certain: bool | None
) -> None:
    ceasefire = truce()
    result = found(ceasefire, period_of(ceasefire), [strike("s1", span[0], "North", span=span)])
    assert [i.certain for i in result] == ([] if certain is None else [certain])


def test_an_incident_at_a_superseders_start_belongs_to_the_superseder() -> None:
    first, second = truce("truce-1"), truce("truce-2", effective=t(5), position=2)
    result = periods([first, second], {})
    history = [strike("s1", t(5), "North")]
    assert found(first, result["truce-1"], history) == []
    assert [i.key for i in found(second, result["truce-2"], history)] == ["s1"]


# -- status_at: each status --------------------------------------------------------------


def test_no_status_before_the_agreement() -> None:
    ceasefire = truce()
    assert status_at_(ceasefire, period_of(ceasefire), [], AGREED - 1) is None
    assert status_at_(ceasefire, period_of(ceasefire), [], AGREED) is not None


def test_agreed_until_it_takes_effect_then_holding() -> None:
    ceasefire = truce()
    assert status(ceasefire, [], START - 1)["status"] == "agreed"
    assert status(ceasefire, [], START)["status"] == "holding"


def test_a_holding_status_object_in_full() -> None:
    ceasefire = truce(mediators=("Neutralia",), ends_at=t(9))
    assert status(ceasefire, [], t(2)) == {
        "ceasefire_id": "truce",
        "conflict": CONFLICT,
        "status": "holding",
        "parties": ["North", "South"],
        "mediators": ["Neutralia"],
        "agreed_at": iso(1, 9),
        "effective_at": iso(1, 12),
        "ends_at": iso(9),
        "ended_at": None,
        "ended_reason": None,
        "superseded_by": None,
        "breaches": tally(),
        "last_breach_at": None,
        "breach_event_ids": [],
    }


def test_violated_from_its_first_counted_breach() -> None:
    ceasefire = truce()
    history = [strike("s1", t(2), "North")]
    assert status(ceasefire, history, t(2) - 1)["status"] == "holding"
    assert status(ceasefire, history, t(2))["status"] == "violated"


@pytest.mark.parametrize(
    ("end", "ends_at", "status_name", "reason"),
    [
        (End(t(3), "collapsed", 5), None, "collapsed", "collapsed"),
        (End(t(3), "terminated", 5), None, "ended", "terminated"),
        (None, t(3), "ended", "expired"),
    ],
)
def test_a_stopped_ceasefire_gives_its_end_once_at_or_after_it(
    end: End | None, ends_at: int | None, status_name: str, reason: str
) -> None:
    ceasefire = truce(ends_at=ends_at)
    period = period_of(ceasefire, end)
    before = status_at(ceasefire, period, [], t(3) - 1)
    assert (before["status"], before["ended_at"], before["ended_reason"]) == ("holding", None, None)
    after = status_at(ceasefire, period, [], t(3))
    assert (after["status"], after["ended_at"], after["ended_reason"]) == (
        status_name,
        iso(3),
        reason,
    )
    assert after["superseded_by"] is None


def test_a_superseded_ceasefire_ends_at_the_superseders_start_with_no_reason() -> None:
    first, second = truce("truce-1"), truce("truce-2", effective=t(5), position=2)
    period = periods([first, second], {})["truce-1"]
    before = status_at(first, period, [], t(5) - 1)
    assert (before["status"], before["ended_at"], before["superseded_by"]) == (
        "holding",
        None,
        None,
    )
    after = status_at(first, period, [], t(5))
    assert (after["status"], after["ended_at"], after["ended_reason"], after["superseded_by"]) == (
        "superseded",
        iso(5),
        None,
        "truce-2",
    )


def test_a_stopped_ceasefire_keeps_its_breaches() -> None:
    ceasefire = truce(ends_at=t(3))
    answer = status(ceasefire, [strike("s1", t(2), "North")], t(4))
    assert answer["status"] == "ended"
    assert answer["breaches"] == tally(total=1, by_party={"North": 1}, inferred=1)


# -- status_at: the counts ---------------------------------------------------------------


def test_counts_by_party_contested_unattributed_and_possible() -> None:
    ceasefire = truce()
    history = [
        strike("s1", t(2), "North"),
        report("r1", t(2, 1), "South", "s1"),  # s1 is contested
        clash("c1", t(2, 2)),  # unattributed
        report("r2", t(2, 3), "North"),  # reported, North
        report("r3", t(2, 4), "East", "x1"),  # reported, East (a non-party)
        strike("x1", t(2, 4), "Rebels"),
        strike("s2", START - HOUR, "South", span=(START - HOUR, START + HOUR)),  # possible
    ]
    assert breaches(ceasefire, history, t(3)) == tally(
        total=4,
        by_party={"East": 1, "North": 2, "South": 1},
        inferred=2,
        reported=2,
        contested=1,
        unattributed=1,
        possible=1,
    )


def test_an_incident_counts_once_its_window_has_ended() -> None:
    ceasefire = truce()
    history = [strike("s1", t(2, 11), "North", span=(t(2, 11), t(2, 12)))]
    assert breaches(ceasefire, history, t(2, 11, 30))["total"] == 0
    assert breaches(ceasefire, history, t(2, 12))["total"] == 1


def test_a_possible_incident_counts_only_in_possible_once_its_window_has_ended() -> None:
    ceasefire = truce()
    history = [strike("s1", START, "North", span=(START - HOUR, START + HOUR))]
    early = status(ceasefire, history, START + HOUR - 1)
    late = status(ceasefire, history, START + HOUR)
    assert (early["status"], early["breaches"]) == ("holding", tally())
    assert (late["status"], late["breaches"]) == ("holding", tally(possible=1))
    assert (late["last_breach_at"], late["breach_event_ids"]) == (None, [])


def test_breach_event_ids_are_ordered_by_the_defining_events_occurred_at_then_position() -> None:
    ceasefire = truce()
    history = [
        report("r1", t(4), "North", "x1", position=1),  # defines x1's incident at t(4)
        strike("x1", t(2), "Rebels", position=2),
        strike("s2", t(3), "South", position=6),
        strike("s1", t(3), "North", position=5),
        report("r2", t(2, 12), "South", position=7),
    ]
    answer = status(ceasefire, history, t(5))
    assert answer["breach_event_ids"] == ["r2", "s1", "s2", "r1"]


def test_breach_event_ids_order_does_not_depend_on_the_incidents_order() -> None:
    ceasefire = truce()
    period = period_of(ceasefire)
    history = [strike(f"s{i}", t(2 + i % 3), "North", position=i) for i in range(6)]
    incidents_ = found(ceasefire, period, history)
    forward = status_at(ceasefire, period, incidents_, t(9))
    backward = status_at(ceasefire, period, incidents_[::-1], t(9))
    assert forward == backward
    assert forward["breach_event_ids"] == ["s0", "s3", "s1", "s4", "s2", "s5"]


def test_last_breach_at_is_the_latest_time_a_counted_breach_happened() -> None:
    """Not the occurred_at of the last listed event: a report made late about an early
    event is listed last but happened first."""
    ceasefire = truce()
    history = [
        strike("s1", t(3), "North"),
        strike("x1", t(2), "Rebels"),
        report("r1", t(4), "South", "x1"),
        strike("s2", t(5, 1), "North", span=(t(5), t(9))),  # not yet ended at t(6)
    ]
    answer = status(ceasefire, history, t(6))
    assert answer["breach_event_ids"] == ["s1", "r1"]
    assert answer["last_breach_at"] == iso(3)


# -- in_effect and conflict_state --------------------------------------------------------


def test_in_effect_from_its_start_until_its_stop() -> None:
    ceasefire = truce(ends_at=t(3))
    period = period_of(ceasefire)
    instants = [AGREED, START - 1, START, t(3) - 1, t(3)]
    assert [in_effect(ceasefire, period, at) for at in instants] == [
        False,
        False,
        True,
        True,
        False,
    ]


def _named(status_name: str, ceasefire_id: str = "truce") -> Status:
    return {"ceasefire_id": ceasefire_id, "status": status_name}


def test_a_conflict_without_a_ceasefire_in_effect_has_none() -> None:
    assert conflict_state([]) == ("no_ceasefire", None)
    others = [_named(name) for name in ("agreed", "collapsed", "ended", "superseded")]
    assert conflict_state(others) == ("no_ceasefire", None)


@pytest.mark.parametrize(
    ("statuses", "state", "current"),
    [
        (["holding"], "ceasefire_holding", 0),
        (["violated"], "ceasefire_violated", 0),
        (["holding", "violated"], "ceasefire_violated", 1),
        (["violated", "holding"], "ceasefire_holding", 1),
        (["violated", "holding", "agreed"], "ceasefire_holding", 1),
        (["holding", "superseded", "ended"], "ceasefire_holding", 0),
    ],
)
def test_the_latest_start_in_effect_wins(statuses: list[str], state: str, current: int) -> None:
    objects = [_named(name, f"truce-{i}") for i, name in enumerate(statuses)]
    assert conflict_state(objects) == (state, objects[current])


def test_two_ceasefires_in_effect_the_later_start_gives_the_state() -> None:
    older = truce("older")
    newer = truce("newer", parties=("North", "East"), effective=t(3), position=2)
    result = periods([older, newer], {})
    history = [strike("s1", t(2), "North")]
    at = t(4)
    statuses = [status(c, history, at, result[c.ceasefire_id]) for c in (older, newer)]
    assert all(in_effect(c, result[c.ceasefire_id], at) for c in (older, newer))
    state, current = conflict_state(statuses)
    assert (state, current) == ("ceasefire_holding", statuses[1])


# -- the worked example (examples/breach-rules.md) ---------------------------------------

EXAMPLE = "example-front-2021"


def us(text: str) -> int:
    return to_micros(parse_utc(text))


def numbered(
    number: int,
    kind: str,
    occurred_at: str,
    precision: str = "exact",
    timezone: str | None = None,
    **fields: Any,
) -> Observed:
    """Event #N of the example; ``occurred_at`` in UTC, its window from the event's fields."""
    event = {"occurred_at": occurred_at, "time_precision": precision, "timezone": timezone}
    return Observed(f"#{number}", number, kind, us(occurred_at), window(event), **fields)


def example_truce(ceasefire_id: str, position: int, **fields: Any) -> Ceasefire:
    return Ceasefire(
        conflict=EXAMPLE,
        ceasefire_id=ceasefire_id,
        event_id=f"#{position}",
        position=position,
        ends_at=None,
        **fields,
    )


TRUCE_1 = example_truce(
    "truce-1",
    1,
    parties=("North", "South"),
    mediators=("Neutralia",),
    agreed_at=us("2021-03-01T09:00:00Z"),
    effective_at=us("2021-03-01T10:00:00Z"),  # 12:00 in Europe/Kyiv
)
TRUCE_2 = example_truce(
    "truce-2",
    8,
    parties=("North", "South", "East"),
    mediators=(),
    agreed_at=us("2021-03-04T12:00:00Z"),
    effective_at=us("2021-03-05T00:00:00Z"),
)
STRIKE_3 = numbered(3, "strike", "2021-03-01T11:00:00Z", "hour", perpetrator="South")
AS_OF_9 = [
    numbered(2, "shelling", "2021-03-01T11:00:00Z", timezone="Europe/Kyiv", perpetrator="North"),
    STRIKE_3,
    numbered(4, "shelling", "2021-03-01T08:00:00Z", "day", "Europe/Kyiv", perpetrator="South"),
    numbered(
        5, "ceasefire_breached", "2021-03-01T15:00:00Z", accused="South", incident_event_id="#2"
    ),
    numbered(6, "ceasefire_breached", "2021-03-02T08:00:00Z", accused="North"),
    numbered(7, "clash", "2021-03-02T20:00:00Z", parties=("North", "South")),
    numbered(9, "shelling", "2021-03-06T10:00:00Z", perpetrator="North"),
]
AS_OF_10 = AS_OF_9[:-1]  # the retraction #10 removes #9
NOW = [replace(e, perpetrator="North") if e is STRIKE_3 else e for e in AS_OF_10]  # #11
HISTORIES = {"as_of 9": AS_OF_9, "as_of 10": AS_OF_10, "now": NOW}


def example_status(ceasefire: Ceasefire, history: str, at: str) -> Status | None:
    period = periods([TRUCE_1, TRUCE_2], {})[ceasefire.ceasefire_id]
    found_ = found(ceasefire, period, HISTORIES[history])
    return status_at_(ceasefire, period, found_, us(at))


def test_the_example_windows() -> None:
    by_id = {e.event_id: e.window for e in AS_OF_9}
    assert by_id["#3"] == (us("2021-03-01T11:00:00Z"), us("2021-03-01T12:00:00Z"))
    assert by_id["#4"] == (us("2021-02-28T22:00:00Z"), us("2021-03-01T22:00:00Z"))
    when = parse_utc("2021-03-01T08:00:00Z")
    assert by_id["#4"] == event_window(when, "day", "Europe/Kyiv")


def test_the_example_periods() -> None:
    assert periods([TRUCE_2, TRUCE_1], {}) == {
        "truce-1": Period(
            us("2021-03-01T10:00:00Z"), us("2021-03-05T00:00:00Z"), "superseded", "truce-2"
        ),
        "truce-2": Period(us("2021-03-05T00:00:00Z"), None, None),
    }


ROW_KEYS = ("status", "superseded_by", "breaches", "last_breach_at", "breach_event_ids")
FULL_TRUCE_1 = tally(4, {"North": 3, "South": 1}, 3, 1, 1, 1, 1)
FULL_IDS = ["#2", "#3", "#6", "#7"]


@pytest.mark.parametrize(
    ("ceasefire", "at", "history", "row"),
    [
        (TRUCE_1, "2021-03-01T09:30:00Z", "now", ("agreed", None, tally(), None, [])),
        (TRUCE_1, "2021-03-01T10:30:00Z", "now", ("holding", None, tally(), None, [])),
        (
            TRUCE_1,
            "2021-03-03T00:00:00Z",
            "as_of 10",
            (
                "violated",
                None,
                tally(4, {"North": 2, "South": 2}, 3, 1, 1, 1, 1),
                "2021-03-02T20:00:00Z",
                FULL_IDS,
            ),
        ),
        (
            TRUCE_1,
            "2021-03-03T00:00:00Z",
            "now",
            ("violated", None, FULL_TRUCE_1, "2021-03-02T20:00:00Z", FULL_IDS),
        ),
        (
            TRUCE_1,
            "2021-03-06T00:00:00Z",
            "now",
            ("superseded", "truce-2", FULL_TRUCE_1, "2021-03-02T20:00:00Z", FULL_IDS),
        ),
        (
            TRUCE_2,
            "2021-03-06T12:00:00Z",
            "as_of 9",
            ("violated", None, tally(1, {"North": 1}, 1), "2021-03-06T10:00:00Z", ["#9"]),
        ),
        (TRUCE_2, "2021-03-06T12:00:00Z", "now", ("holding", None, tally(), None, [])),
    ],
)
def test_the_worked_example(
    ceasefire: Ceasefire, at: str, history: str, row: tuple[Any, ...]
) -> None:
    answer = example_status(ceasefire, history, at)
    assert answer is not None
    assert tuple(answer[key] for key in ROW_KEYS) == row


def test_the_example_truce_2_does_not_exist_before_its_agreement() -> None:
    assert example_status(TRUCE_2, "now", "2021-03-04T11:00:00Z") is None


def test_the_example_truce_1_ends_when_truce_2_takes_effect() -> None:
    answer = example_status(TRUCE_1, "now", "2021-03-06T00:00:00Z")
    assert answer is not None
    assert (answer["ended_at"], answer["ended_reason"]) == ("2021-03-05T00:00:00Z", None)


def test_the_example_conflict_state() -> None:
    at = "2021-03-06T12:00:00Z"
    statuses = [example_status(c, "now", at) for c in (TRUCE_1, TRUCE_2)]
    state, current = conflict_state([s for s in statuses if s is not None])
    assert (state, current) == ("ceasefire_holding", statuses[1])


# -- properties: strategies --------------------------------------------------------------

ACTORS = ("North", "South", "East", "Rebels")
BASE = t(1)
EARLY = st.integers(0, 24).map(lambda h: BASE + h * HOUR)  # agreements and starts
HOURS = st.integers(0, 72).map(lambda h: BASE + h * HOUR)  # events
AT = st.integers(0, 120).map(lambda h: BASE + (120 - h) * HOUR)  # simplest: late
KINDS = ("strike", "shelling", "clash", "ceasefire_breached")
RANK = {"agreed": 0, "holding": 1, "violated": 2, "collapsed": 3, "ended": 3, "superseded": 3}
# (how far the window begins before occurred_at, its width): exact, hour, day, approximate
SPANS = st.sampled_from(
    [(0, 0), (0, 0), (HOUR // 2, HOUR), (0, DAY), (DAY // 2, DAY), (DAY, 2 * DAY)]
)
MAYBE_ACTOR = st.sampled_from((*ACTORS, None))
SIDES = st.lists(st.sampled_from(ACTORS), min_size=2, max_size=4, unique=True)
PARTY_SETS = st.lists(st.sampled_from(ACTORS[:3]), min_size=1, max_size=3, unique=True)
# Hours from the start to the stop: none yet, in effect for a while, or never in effect.
STOPS = st.sampled_from([None, 1, 1, 0]).flatmap(
    lambda kind: (
        st.just(None) if kind is None else st.integers(1, 96) if kind else st.integers(-12, 0)
    )
)
REASONS = ("collapsed", "terminated", "expired", "superseded")

# Few examples each, to keep the file fast (~5 s): the example tests above pin the cases.
PROPERTY = settings(max_examples=60, deadline=None)
PERIODS_PROPERTY = settings(max_examples=120, deadline=None)


def observation(
    draw: st.DrawFn, event_id: str, position: int, kind: str, targets: Sequence[str | None]
) -> Observed:
    """One event at a whole hour, occupying an instant, an hour or a day or two around it."""
    occurred = draw(HOURS)
    back, width = draw(SPANS)
    span = (occurred - back, occurred - back + width)
    if kind in ("strike", "shelling"):
        perpetrator = draw(MAYBE_ACTOR)
        return strike(event_id, occurred, perpetrator, kind=kind, span=span, position=position)
    if kind == "clash":
        sides = draw(SIDES)
        initiator = draw(st.sampled_from([None, *sides]))
        return clash(event_id, occurred, sides, initiator, span=span, position=position)
    target = draw(st.sampled_from(targets))
    return report(event_id, occurred, draw(st.sampled_from(ACTORS)), target, position=position)


@st.composite
def histories(draw: st.DrawFn) -> list[Observed]:
    """Two to ten events; reports name one of the first two incident events of the
    history (so that several reports name one), a ``ghost`` absent from it, or nothing."""
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=2, max_size=10))
    named = [f"e{i}" for i, k in enumerate(kinds) if k in INCIDENT_TYPES][:2]
    targets = [None, "ghost", *named, *named]
    return [observation(draw, f"e{i}", i + 1, kind, targets) for i, kind in enumerate(kinds)]


@st.composite
def ceasefires_with_periods(draw: st.DrawFn) -> tuple[Ceasefire, Period]:
    """A ceasefire and any period it could have (stopped or not, even never in effect)."""
    parties = draw(PARTY_SETS)
    ceasefire = truce(parties=parties, agreed=draw(EARLY), effective=draw(EARLY), position=0)
    hours = draw(STOPS)
    if hours is None:
        return ceasefire, Period(ceasefire.start, None, None)
    reason = draw(st.sampled_from(REASONS if hours > 0 else REASONS[:3]))
    superseder = "next" if reason == "superseded" else None
    return ceasefire, Period(ceasefire.start, ceasefire.start + hours * HOUR, reason, superseder)


def without(history: History, event_id: str) -> list[Observed]:
    """The history once ``event_id`` is retracted."""
    return [e for e in history if e.event_id != event_id]


def counts_of(ceasefire: Ceasefire, period: Period, history: History, at: int) -> Status:
    return status(ceasefire, history, max(at, ceasefire.agreed_at), period)


# -- properties: observations ------------------------------------------------------------


@PROPERTY
@given(ceasefires_with_periods(), histories(), AT, st.randoms(use_true_random=False))
def test_the_order_of_observations_never_changes_the_incidents_or_the_status(
    case: tuple[Ceasefire, Period], history: list[Observed], at: int, random: Random
) -> None:
    ceasefire, period = case
    candidates, reports, named = split(history)
    shuffled_named = dict(random.sample(list(named.items()), len(named)))
    shuffled = (random.sample(candidates, len(candidates)), random.sample(reports, len(reports)))
    again = incidents(ceasefire, period, *shuffled, shuffled_named)
    original = incidents(ceasefire, period, candidates, reports, named)
    assert by_key(again) == by_key(original)
    at = max(at, ceasefire.agreed_at)
    assert status_at(ceasefire, period, again, at) == status_at(ceasefire, period, original, at)


@PROPERTY
@given(ceasefires_with_periods(), histories(), AT)
def test_the_counts_add_up(
    case: tuple[Ceasefire, Period], history: list[Observed], at: int
) -> None:
    ceasefire, period = case
    answer = counts_of(ceasefire, period, history, at)
    counts = answer["breaches"]
    assert counts["inferred"] + counts["reported"] == counts["total"]
    assert len(answer["breach_event_ids"]) == counts["total"]
    assert counts["contested"] + counts["unattributed"] <= counts["total"]
    assert all(1 <= n <= counts["total"] for n in counts["by_party"].values())
    assert (answer["last_breach_at"] is None) == (counts["total"] == 0)
    if answer["status"] in ("holding", "violated"):
        assert (answer["status"] == "violated") == (counts["total"] > 0)


@PROPERTY
@given(ceasefires_with_periods(), histories(), AT)
def test_possible_incidents_never_count_in_total_nor_in_the_status(
    case: tuple[Ceasefire, Period], history: list[Observed], at: int
) -> None:
    ceasefire, period = case
    at = max(at, ceasefire.agreed_at)
    every = found(ceasefire, period, history)
    certain = [i for i in every if i.certain]
    with_possible = status_at(ceasefire, period, every, at)
    without_possible = status_at(ceasefire, period, certain, at)
    assert without_possible["breaches"]["possible"] == 0
    with_possible["breaches"]["possible"] = 0
    assert with_possible == without_possible


@PROPERTY
@given(ceasefires_with_periods(), histories(), AT, st.sampled_from(sorted(INCIDENT_TYPES)), HOURS)
def test_appending_an_event_then_retracting_it_gives_the_original_answer(
    case: tuple[Ceasefire, Period], history: list[Observed], at: int, kind: str, when: int
) -> None:
    """The appended event is ``ghost``, which reports of the history may already name:
    while it stands they count with it (it never uncounts another incident); once it is
    retracted, they count for nothing again."""
    ceasefire, period = case
    original = counts_of(ceasefire, period, history, at)
    ghost = strike("ghost", when, "North", kind=kind) if kind != "clash" else clash("ghost", when)
    appended = [*history, replace(ghost, position=len(history) + 1)]
    with_ghost = counts_of(ceasefire, period, appended, at)
    assert set(original["breach_event_ids"]) <= set(with_ghost["breach_event_ids"])
    assert original["breaches"]["possible"] <= with_ghost["breaches"]["possible"]
    assert counts_of(ceasefire, period, without(appended, "ghost"), at) == original


@PROPERTY
@given(ceasefires_with_periods(), histories(), AT, st.sampled_from(ACTORS), HOURS)
def test_a_report_naming_an_absent_event_changes_nothing(
    case: tuple[Ceasefire, Period], history: list[Observed], at: int, accused: str, when: int
) -> None:
    ceasefire, period = case
    late = report("late", when, accused, "missing", position=len(history) + 1)
    assert counts_of(ceasefire, period, [*history, late], at) == counts_of(
        ceasefire, period, history, at
    )


@PROPERTY
@given(ceasefires_with_periods(), histories(), AT)
def test_retracting_an_incident_event_voids_the_reports_about_it(
    case: tuple[Ceasefire, Period], history: list[Observed], at: int
) -> None:
    ceasefire, period = case
    for event in history:
        if event.type not in INCIDENT_TYPES:
            continue
        retracted = without(history, event.event_id)
        voided = [e for e in retracted if e.incident_event_id != event.event_id]
        assert counts_of(ceasefire, period, retracted, at) == counts_of(
            ceasefire, period, voided, at
        )


@PROPERTY
@given(ceasefires_with_periods(), histories())
def test_each_incident_is_made_by_its_own_events_alone(
    case: tuple[Ceasefire, Period], history: list[Observed]
) -> None:
    """What the projection relies on: given only the events of one key (the event with
    that id and the reports naming it), ``incidents`` gives just that key's incident."""
    ceasefire, period = case
    whole = {i.key: i for i in found(ceasefire, period, history)}
    for event in history:
        key = event.event_id
        own = [e for e in history if key in (e.event_id, e.incident_event_id)]
        candidates = [e for e in own if e.type in INCIDENT_TYPES]
        reports = [e for e in own if e.type == "ceasefire_breached"]
        named = {e.event_id: e for e in own if e.event_id == key}
        alone = incidents(ceasefire, period, candidates, reports, named)
        assert alone == ([whole[key]] if key in whole else [])


@PROPERTY
@given(ceasefires_with_periods(), histories(), st.lists(AT, min_size=2, max_size=4))
def test_the_answer_only_moves_forward_as_at_moves_later(
    case: tuple[Ceasefire, Period], history: list[Observed], instants: list[int]
) -> None:
    """With a fixed history, counts never fall, a counted breach stays counted and the
    status never goes back (agreed, holding, violated, then stopped for good)."""
    ceasefire, period = case
    answers = [counts_of(ceasefire, period, history, at) for at in sorted(instants)]
    for earlier, later in itertools.pairwise(answers):
        assert RANK[earlier["status"]] <= RANK[later["status"]]
        if RANK[earlier["status"]] == 3:
            assert earlier["status"] == later["status"]
            assert earlier["ended_at"] == later["ended_at"]
        assert set(earlier["breach_event_ids"]) <= set(later["breach_event_ids"])
        for count in ("total", "possible"):
            assert earlier["breaches"][count] <= later["breaches"][count]


# -- properties: periods -----------------------------------------------------------------

SHORT = st.integers(0, 8).map(lambda h: BASE + h * HOUR)  # few instants: many ties


@st.composite
def ceasefire_sets(draw: st.DrawFn) -> tuple[list[Ceasefire], dict[str, End]]:
    count = draw(st.integers(1, 5))
    ceasefires, ends = [], {}
    for i in range(count):
        parties = draw(PARTY_SETS)
        ceasefire = truce(
            f"c{i}",
            parties=parties,
            agreed=draw(SHORT),
            effective=draw(SHORT),
            ends_at=draw(st.none() | SHORT),
            position=i + 1,
        )
        ceasefires.append(ceasefire)
        if draw(st.booleans()):
            ends[ceasefire.ceasefire_id] = End(
                draw(SHORT), draw(st.sampled_from(["collapsed", "terminated"])), 10 + i
            )
    return ceasefires, ends


def own_stop(ceasefire: Ceasefire, ends: Mapping[str, End]) -> tuple[int, str] | None:
    """The first of its ``ceasefire_ended`` and its ``ends_at``; the end wins a tie."""
    end = ends.get(ceasefire.ceasefire_id)
    choices = [(end.ended_at, 0, end.reason)] if end else []
    if ceasefire.ends_at is not None:
        choices.append((ceasefire.ends_at, 1, "expired"))
    return (min(choices)[0], min(choices)[2]) if choices else None


def supersedes(later: Ceasefire, earlier: Ceasefire, ends: Mapping[str, End]) -> bool:
    """The contract's test, against the earlier one's own stop (ties go to the stop)."""
    stop, later_stop = own_stop(earlier, ends), own_stop(later, ends)
    return (
        later.start > earlier.start
        and set(earlier.parties) <= set(later.parties)
        and (stop is None or later.start < stop[0])
        and (later_stop is None or later_stop[0] > later.start)
    )


@PERIODS_PROPERTY
@given(ceasefire_sets())
def test_periods_agree_with_the_contracts_rules(
    case: tuple[list[Ceasefire], dict[str, End]],
) -> None:
    ceasefires, ends = case
    result = periods(ceasefires, ends)
    for ceasefire in ceasefires:
        period = result[ceasefire.ceasefire_id]
        assert period.start == max(ceasefire.effective_at, ceasefire.agreed_at)
        stop = own_stop(ceasefire, ends)
        never = stop is not None and stop[0] <= ceasefire.start
        superseders = [] if never else [o for o in ceasefires if supersedes(o, ceasefire, ends)]
        if superseders:
            first = min(o.start for o in superseders)
            assert (period.stop, period.stop_reason) == (first, "superseded")
            assert period.superseded_by in {o.ceasefire_id for o in superseders if o.start == first}
        else:
            assert (period.stop, period.stop_reason, period.superseded_by) == (
                stop[0] if stop else None,
                stop[1] if stop else None,
                None,
            )


@PERIODS_PROPERTY
@given(ceasefire_sets(), st.randoms(use_true_random=False))
def test_a_superseded_ceasefire_stops_where_a_superseder_with_all_its_parties_starts(
    case: tuple[list[Ceasefire], dict[str, End]], random: Random
) -> None:
    ceasefires, ends = case
    result = periods(ceasefires, ends)
    shuffled = list(ceasefires)
    random.shuffle(shuffled)
    assert periods(shuffled, ends) == result
    by_id = {c.ceasefire_id: c for c in ceasefires}
    for ceasefire in ceasefires:
        period = result[ceasefire.ceasefire_id]
        if period.stop_reason != "superseded":
            assert period.superseded_by is None
            continue
        assert period.superseded_by is not None
        superseder = by_id[period.superseded_by]
        assert period.stop == superseder.start == result[superseder.ceasefire_id].start
        assert set(ceasefire.parties) <= set(superseder.parties)
        assert period.start < period.stop
        assert result[superseder.ceasefire_id].ever_in_effect
