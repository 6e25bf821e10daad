"""The ceasefire status and breach rules of the contract ("Ceasefire status", "Breaches"),
one small hand-made history per rule, read back through the HTTP API.

Each history is appended as one batch (or a few, where a rule must also hold when events
arrive in later pages of the read model); every read passes ``min_position`` of the last
event so that the read model has caught up. The helpers (``Service``, the event builders,
``tally`` and ``expected``) live in tests/api/ceasefire_helpers.py, shared with the
worked-example, seed-case and corrections tests. The answers come from the read model,
which is always SQLite: these tests run on the SQLite store only.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.api.ceasefire_helpers import (
    AGREED,
    CONFLICT,
    HOLDING,
    SQLITE_ONLY,
    START,
    TRUCE,
    Service,
    agreed,
    agreed_wider,
    clash,
    correction,
    ended,
    expected,
    ids,
    report,
    retraction,
    strike,
    t,
    verdict,
    violated_by,
)
from tests.helpers import Headers, assert_problem, tally

pytestmark = SQLITE_ONLY


@pytest.fixture
def service(client: TestClient, writer: Headers, reader: Headers) -> Service:
    return Service(client, writer, reader)


# -- existence and the period in effect ------------------------------------------------------


def test_a_ceasefire_exists_from_its_agreement(service):
    service.append(agreed())

    assert_problem(service.ceasefire_response(TRUCE, t(1, 8, 59, 59)), 404)
    assert service.ceasefires(t(1, 8, 59, 59)) == []
    assert verdict(service.ceasefire(TRUCE, AGREED)) == expected("agreed")
    assert service.listed(AGREED) == [TRUCE]


def test_a_backdated_truce_counts_from_its_agreement(service):
    before_agreement = strike(t(2, 6))
    after_agreement = strike(t(3, 10))
    service.append(agreed(at=t(3, 9), effective=t(1)), before_agreement, after_agreement)

    assert_problem(service.ceasefire_response(TRUCE, t(2, 12)), 404)
    at_agreement = service.ceasefire(TRUCE, t(3, 9))
    assert verdict(at_agreement) == HOLDING
    assert (at_agreement["agreed_at"], at_agreement["effective_at"]) == (t(3, 9), t(1))
    assert verdict(service.ceasefire(TRUCE, t(4))) == violated_by(
        after_agreement, by_party={"North": 1}, last=t(3, 10)
    )


def test_agreed_until_it_takes_effect_then_holding(service):
    service.append(agreed(), strike(t(1, 10)))  # a strike before it takes effect

    assert verdict(service.ceasefire(TRUCE, t(1, 11, 59, 59))) == expected("agreed")
    assert verdict(service.ceasefire(TRUCE, START)) == HOLDING


def test_holding_in_effect_without_breaches(service):
    service.append(agreed(ends_at=t(10)))

    body = service.ceasefire(TRUCE, t(5))

    assert body == {
        "ceasefire_id": TRUCE,
        "conflict": CONFLICT,
        "status": "holding",
        "parties": ["North", "South"],
        "mediators": ["Neutralia"],
        "agreed_at": AGREED,
        "effective_at": START,
        "ends_at": t(10),
        "ended_at": None,
        "ended_reason": None,
        "superseded_by": None,
        "breaches": tally(),
        "last_breach_at": None,
        "breach_event_ids": [],
    }


def test_violated_from_its_first_counted_breach(service):
    hit = strike(t(2, 6))
    service.append(agreed(), hit)

    assert verdict(service.ceasefire(TRUCE, t(2, 5, 59, 59))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(2, 6))) == violated_by(
        hit, by_party={"North": 1}, last=t(2, 6)
    )


@pytest.mark.parametrize(
    ("reason", "status"), [("collapsed", "collapsed"), ("terminated", "ended")]
)
def test_a_ceasefire_ended_stops_it(service, reason, status):
    during = strike(t(2))
    service.append(agreed(), during, ended(t(3), reason), strike(t(4)))
    stopped = expected(
        status,
        ended_at=t(3),
        ended_reason=reason,
        breaches=tally(1, {"North": 1}, inferred=1),
        breach_event_ids=ids(during),
        last_breach_at=t(2),
    )

    assert verdict(service.ceasefire(TRUCE, t(2, 23, 59, 59))) == violated_by(
        during, by_party={"North": 1}, last=t(2)
    )
    assert verdict(service.ceasefire(TRUCE, t(3))) == stopped
    assert verdict(service.ceasefire(TRUCE, t(5))) == stopped


def test_ends_at_expires_it(service):
    service.append(agreed(ends_at=t(3)), strike(t(4)))

    assert verdict(service.ceasefire(TRUCE, t(2, 23, 59, 59))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(3))) == expected(
        "ended", ended_at=t(3), ended_reason="expired"
    )
    assert verdict(service.ceasefire(TRUCE, t(5))) == expected(
        "ended", ended_at=t(3), ended_reason="expired"
    )


# -- supersession -----------------------------------------------------------------------------


def test_a_later_ceasefire_with_all_its_parties_supersedes_it(service):
    hit = strike(t(6))
    service.append(agreed(), agreed_wider(), hit)

    assert verdict(service.ceasefire(TRUCE, t(4, 23, 59, 59))) == HOLDING
    assert verdict(service.ceasefire("wider", t(4, 23, 59, 59))) == expected("agreed")
    # ended_at: when the superseder took effect, and so the period in effect stopped.
    superseded = expected("superseded", superseded_by="wider", ended_at=t(5))
    assert verdict(service.ceasefire(TRUCE, t(5))) == superseded
    assert verdict(service.ceasefire(TRUCE, t(7))) == superseded
    assert verdict(service.ceasefire("wider", t(7))) == violated_by(
        hit, by_party={"North": 1}, last=t(6)
    )


def test_a_later_ceasefire_lacking_one_of_its_parties_does_not_supersede_it(service):
    service.append(agreed(), agreed("partial", at=t(4), effective=t(5), parties=["North", "East"]))

    assert verdict(service.ceasefire(TRUCE, t(6))) == HOLDING
    assert verdict(service.ceasefire("partial", t(6))) == HOLDING


def test_a_ceasefire_starting_at_the_same_instant_does_not_supersede_it(service):
    service.append(agreed(), agreed("twin", at=t(1, 10), parties=["North", "South", "East"]))

    assert verdict(service.ceasefire(TRUCE, t(2))) == HOLDING
    assert verdict(service.ceasefire("twin", t(2))) == HOLDING


@pytest.mark.parametrize(
    ("stop", "answer"),
    [
        pytest.param(
            {"ends_at": t(3)},
            expected("ended", ended_at=t(3), ended_reason="expired"),
            id="expired",
        ),
        pytest.param(
            {}, expected("collapsed", ended_at=t(3), ended_reason="collapsed"), id="collapsed"
        ),
    ],
)
def test_a_ceasefire_starting_after_it_ended_does_not_supersede_it(service, stop, answer):
    events = [agreed(**stop)]
    if not stop:
        events.append(ended(t(3)))
    service.append(
        *events, agreed("next", at=t(4), effective=t(5), parties=["North", "South", "East"])
    )

    assert verdict(service.ceasefire(TRUCE, t(6))) == answer
    assert verdict(service.ceasefire("next", t(6))) == HOLDING


def test_the_first_superseder_names_it(service):
    service.append(agreed(), agreed("same-parties", at=t(2), effective=t(3)), agreed_wider())

    answer = expected("superseded", superseded_by="same-parties", ended_at=t(3))
    assert verdict(service.ceasefire(TRUCE, t(6))) == answer
    assert verdict(service.ceasefire("same-parties", t(4))) == HOLDING
    assert verdict(service.ceasefire("same-parties", t(6))) == expected(
        "superseded", superseded_by="wider", ended_at=t(5)
    )
    assert service.conflict_status(t(6))["ceasefire"]["ceasefire_id"] == "wider"


def test_a_ceasefire_ended_after_it_was_superseded_stays_superseded(service):
    service.append(agreed(), agreed_wider(), ended(t(7)))

    # The period in effect stopped when "wider" took effect; the later end changes nothing.
    assert verdict(service.ceasefire(TRUCE, t(8))) == expected(
        "superseded", superseded_by="wider", ended_at=t(5)
    )


def test_a_retracted_superseder_supersedes_nothing(service):
    later_hit = strike(t(6))
    wider = agreed_wider()
    service.append(agreed(), wider, later_hit)
    assert verdict(service.ceasefire(TRUCE, t(7)))["status"] == "superseded"

    service.append(retraction(wider))  # a page of its own: the periods are recomputed

    assert verdict(service.ceasefire(TRUCE, t(7))) == violated_by(
        later_hit, by_party={"North": 1}, last=t(6)
    )
    assert_problem(service.ceasefire_response("wider", t(7)), 404)


def test_a_superseder_corrected_to_lack_a_party_no_longer_supersedes(service):
    wider = agreed_wider()
    service.append(agreed(), wider)
    assert verdict(service.ceasefire(TRUCE, t(6)))["status"] == "superseded"

    service.append(correction(wider, parties=["North", "East"]))

    assert verdict(service.ceasefire(TRUCE, t(6))) == HOLDING


def test_lifecycle_times_are_instants_whatever_their_precision(service):
    # Were the precisions windows, the day would start the truce at 00:00Z and the month
    # would end it on 1 May.
    service.append(
        agreed(time_precision="day"),
        ended(t(3), time_precision="month"),
    )

    assert_problem(service.ceasefire_response(TRUCE, t(1, 8, 59, 59)), 404)
    assert verdict(service.ceasefire(TRUCE, t(1, 11, 59, 59))) == expected("agreed")
    assert verdict(service.ceasefire(TRUCE, t(2, 23, 59, 59))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(3))) == expected(
        "collapsed", ended_at=t(3), ended_reason="collapsed"
    )


def test_a_ceasefire_ending_before_it_takes_effect_supersedes_nothing(service):
    service.append(
        agreed(),
        agreed("stillborn", at=t(2), effective=t(5), parties=["North", "South", "East"]),
        ended(t(3), ceasefire_id="stillborn"),
    )

    assert verdict(service.ceasefire("stillborn", t(2, 12))) == expected("agreed")
    stillborn = expected("collapsed", ended_at=t(3), ended_reason="collapsed")
    assert verdict(service.ceasefire("stillborn", t(3))) == stillborn
    assert verdict(service.ceasefire("stillborn", t(6))) == stillborn
    assert verdict(service.ceasefire(TRUCE, t(6))) == HOLDING
    assert service.conflict_status(t(6))["ceasefire"]["ceasefire_id"] == TRUCE


def test_a_ceasefire_expiring_before_it_takes_effect_is_ended_from_its_end(service):
    service.append(agreed(effective=t(5), ends_at=t(3)))

    assert verdict(service.ceasefire(TRUCE, t(2, 23))) == expected("agreed")
    assert verdict(service.ceasefire(TRUCE, t(3))) == expected(
        "ended", ended_at=t(3), ended_reason="expired"
    )
    assert verdict(service.ceasefire(TRUCE, t(6))) == expected(
        "ended", ended_at=t(3), ended_reason="expired"
    )


@pytest.mark.parametrize(
    ("effective", "ends_at", "incident"),
    [
        # In effect from t(10) until t(5): never. The week [t(4), t(11)) spans both.
        pytest.param(t(10), t(5), strike(t(7, 12), time_precision="week"), id="ends-before"),
        # In effect from t(5) until t(5): the empty period. The window [t(4), t(6)) spans it.
        pytest.param(t(5), t(5), strike(t(5), time_precision="approximate"), id="ends-at-start"),
    ],
)
def test_a_ceasefire_never_in_effect_has_no_possible_breaches(
    service, effective, ends_at, incident
):
    # Incidents break a ceasefire "while it is in effect"; a possible one's window
    # "only overlaps" the period in effect. A ceasefire never in effect has no such period.
    service.append(agreed(effective=effective, ends_at=ends_at), incident)

    assert verdict(service.ceasefire(TRUCE, t(12))) == expected(
        "ended", ended_at=ends_at, ended_reason="expired"
    )


# -- ties -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "status"), [("collapsed", "collapsed"), ("terminated", "ended")]
)
def test_a_ceasefire_ended_at_the_instant_of_ends_at_gives_its_reason(service, reason, status):
    service.append(agreed(ends_at=t(3)), ended(t(3), reason))

    assert verdict(service.ceasefire(TRUCE, t(3))) == expected(
        status, ended_at=t(3), ended_reason=reason
    )


def test_ends_at_at_a_superseders_start_is_expiry_not_supersession(service):
    service.append(agreed(ends_at=t(5)), agreed_wider())

    assert verdict(service.ceasefire(TRUCE, t(5))) == expected(
        "ended", ended_at=t(5), ended_reason="expired"
    )
    assert verdict(service.ceasefire("wider", t(5))) == HOLDING


def test_a_ceasefire_ended_at_a_superseders_start_is_collapse_not_supersession(service):
    service.append(agreed(), agreed_wider(), ended(t(5)))

    assert verdict(service.ceasefire(TRUCE, t(5))) == expected(
        "collapsed", ended_at=t(5), ended_reason="collapsed"
    )


# -- inferred incidents -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["strike", "shelling"])
def test_a_strike_or_shelling_by_a_party_is_an_inferred_breach(service, kind):
    hit = strike(t(2), "South", kind=kind)
    service.append(agreed(), hit)

    assert verdict(service.ceasefire(TRUCE, t(3))) == violated_by(
        hit, by_party={"South": 1}, last=t(2)
    )


@pytest.mark.parametrize("perpetrator", ["East", None], ids=["non-party", "unknown"])
def test_a_strike_by_no_party_does_not_count(service, perpetrator):
    service.append(agreed(), strike(t(2), perpetrator), strike(t(2), perpetrator, "shelling"))

    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING


def test_a_clash_of_two_parties_counts_unattributed_without_initiator(service):
    fight = clash(t(2), ["North", "South", "East"])
    service.append(agreed(), fight)

    assert verdict(service.ceasefire(TRUCE, t(3))) == violated_by(fight, by_party={}, last=t(2))


@pytest.mark.parametrize("initiator", [None, "North", "East"])
def test_a_clash_with_only_one_party_does_not_count(service, initiator):
    service.append(agreed(), clash(t(2), ["North", "East"], initiator))

    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING


@pytest.mark.parametrize("initiator", ["South", "East"], ids=["party", "non-party"])
def test_a_clash_is_attributed_to_its_initiator(service, initiator):
    fight = clash(t(2), ["North", "South", "East"], initiator)
    service.append(agreed(), fight)

    assert verdict(service.ceasefire(TRUCE, t(3))) == violated_by(
        fight, by_party={initiator: 1}, last=t(2)
    )


# -- reported incidents -----------------------------------------------------------------------


@pytest.mark.parametrize("accused", ["North", "Militia"], ids=["party", "non-party"])
def test_a_report_without_an_incident_is_a_reported_breach(service, accused):
    claim = report(t(2, 8), accused)
    service.append(agreed(), claim)

    assert verdict(service.ceasefire(TRUCE, t(2, 7))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(2, 8))) == expected(
        "violated",
        breaches=tally(1, {accused: 1}, reported=1),
        breach_event_ids=ids(claim),
        last_breach_at=t(2, 8),
    )


def test_reports_naming_the_same_other_event_are_one_contested_incident(service):
    # A strike by a non-party is no inferred incident; the reports make it one, which
    # occupies the strike's window and is attributed only to the accused.
    outside = strike(t(2, 6), "East")
    first, second = report(t(2, 8), "North", outside), report(t(2, 9), "South", outside)
    service.append(agreed(), outside, first, second)
    answer = expected(
        "violated",
        breaches=tally(1, {"North": 1, "South": 1}, reported=1, contested=1),
        breach_event_ids=ids(first),
        last_breach_at=t(2, 6),
    )

    assert verdict(service.ceasefire(TRUCE, t(2, 5))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(2, 6))) == answer
    assert verdict(service.ceasefire(TRUCE, t(3))) == answer


def test_reports_accusing_the_same_party_of_one_event_are_one_uncontested_incident(service):
    outside = strike(t(2, 6), "East")
    first, second = report(t(2, 8), "North", outside), report(t(2, 9), "North", outside)
    service.append(agreed(), outside, first, second)

    assert verdict(service.ceasefire(TRUCE, t(3))) == expected(
        "violated",
        breaches=tally(1, {"North": 1}, reported=1),
        breach_event_ids=ids(first),
        last_breach_at=t(2, 6),
    )


def test_a_report_of_an_event_outside_the_period_does_not_count(service):
    before = strike(t(1, 6), "East")
    service.append(agreed(), before, report(t(2), "North", before))

    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING


@pytest.mark.parametrize(
    ("accused", "by_party", "contested"),
    [
        ("South", {"North": 1, "South": 1}, 1),
        ("North", {"North": 1}, 0),
        ("Militia", {"North": 1, "Militia": 1}, 1),
    ],
    ids=["other-party", "same-party", "non-party"],
)
def test_a_report_of_an_inferred_incident_adds_attribution_only(
    service, accused, by_party, contested
):
    hit = strike(t(2, 6))
    service.append(agreed(), hit, report(t(2, 8), accused, hit))

    assert verdict(service.ceasefire(TRUCE, t(3))) == expected(
        "violated",
        breaches=tally(1, by_party, inferred=1, contested=contested),
        breach_event_ids=ids(hit),
        last_breach_at=t(2, 6),
    )


@pytest.mark.parametrize("perpetrator", ["North", "East"], ids=["inferred", "not-inferred"])
def test_a_report_naming_a_retracted_event_counts_for_nothing(service, perpetrator):
    hit = strike(t(2, 6), perpetrator)
    service.append(agreed(), hit, report(t(2, 8), "South", hit), retraction(hit))

    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING


def test_a_retracted_report_counts_for_nothing(service):
    claim = report(t(2, 8), "North")
    service.append(agreed(), claim, retraction(claim))

    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING


# -- retractions and corrections --------------------------------------------------------------


def test_a_retracted_strike_does_not_count(service):
    hit = strike(t(2))
    service.append(agreed(), hit, retraction(hit))

    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING


@pytest.mark.parametrize(
    ("perpetrator", "corrected", "by_party"),
    [("North", "East", None), ("East", "South", {"South": 1}), ("North", "South", {"South": 1})],
    ids=["to-non-party", "to-party", "party-to-party"],
)
def test_a_corrected_strike_counts_as_corrected(service, perpetrator, corrected, by_party):
    hit = strike(t(2), perpetrator)
    service.append(agreed(), hit, correction(hit, perpetrator=corrected))

    answer = violated_by(hit, by_party=by_party, last=t(2)) if by_party else HOLDING
    assert verdict(service.ceasefire(TRUCE, t(3))) == answer


def test_a_strike_corrected_into_the_period_counts_from_its_corrected_time(service):
    hit = strike(t(1, 6))  # before the start
    service.append(agreed(), hit, correction(hit, occurred_at=t(2, 6)))

    assert verdict(service.ceasefire(TRUCE, t(2, 5))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(3))) == violated_by(
        hit, by_party={"North": 1}, last=t(2, 6)
    )


@pytest.mark.parametrize(
    ("perpetrator", "corrected", "by_party"),
    [("East", "North", None), ("North", "East", {"North": 1})],
    ids=["into-a-party", "out-of-a-party"],
)
def test_a_retracted_correction_no_longer_applies(service, perpetrator, corrected, by_party):
    hit = strike(t(2), perpetrator)
    amendment = correction(hit, perpetrator=corrected)
    service.append(agreed(), hit, amendment, retraction(amendment, t(21)))

    answer = violated_by(hit, by_party=by_party, last=t(2)) if by_party else HOLDING
    assert verdict(service.ceasefire(TRUCE, t(3))) == answer


def test_a_retracted_agreement_makes_the_ceasefire_404_and_unlisted(service):
    agreement = agreed()
    service.append(agreement, strike(t(2)), retraction(agreement))

    assert_problem(service.ceasefire_response(TRUCE, t(3)), 404)
    assert service.ceasefires(t(3)) == []
    assert service.conflict_status(t(3))["state"] == "no_ceasefire"


def test_a_retracted_end_ends_nothing(service):
    end = ended(t(3))
    service.append(agreed(), end, retraction(end))

    assert verdict(service.ceasefire(TRUCE, t(4))) == HOLDING


def test_a_corrected_end_ends_it_at_its_corrected_time(service):
    end = ended(t(3))
    service.append(agreed(), end, correction(end, occurred_at=t(6), reason="terminated"))

    assert verdict(service.ceasefire(TRUCE, t(4))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(6))) == expected(
        "ended", ended_at=t(6), ended_reason="terminated"
    )


def test_amendments_arriving_one_page_at_a_time(service):
    outside = strike(t(2, 6), "East")
    claim = report(t(2, 8), "South", outside)
    amendment = correction(outside, perpetrator="North")
    reported_only = expected(
        "violated",
        breaches=tally(1, {"South": 1}, reported=1),
        breach_event_ids=ids(claim),
        last_breach_at=t(2, 6),
    )

    service.append(agreed(), outside)
    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING
    service.append(claim)
    assert verdict(service.ceasefire(TRUCE, t(3))) == reported_only
    service.append(amendment)  # now North's: inferred, and South accused of it too
    assert verdict(service.ceasefire(TRUCE, t(3))) == expected(
        "violated",
        breaches=tally(1, {"North": 1, "South": 1}, inferred=1, contested=1),
        breach_event_ids=ids(outside),
        last_breach_at=t(2, 6),
    )
    service.append(retraction(amendment))
    assert verdict(service.ceasefire(TRUCE, t(3))) == reported_only
    service.append(retraction(outside, t(21)))
    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING


def test_an_incident_recorded_after_the_end_still_counts(service):
    service.append(agreed(), ended(t(3)))
    collapsed = expected("collapsed", ended_at=t(3), ended_reason="collapsed")
    assert verdict(service.ceasefire(TRUCE, t(4))) == collapsed

    late_news = strike(t(2))
    service.append(late_news, strike(t(3, 1)))

    assert verdict(service.ceasefire(TRUCE, t(4))) == {
        **collapsed,
        "breaches": tally(1, {"North": 1}, inferred=1),
        "breach_event_ids": ids(late_news),
        "last_breach_at": t(2),
    }


# -- time windows -----------------------------------------------------------------------------


def test_a_window_straddling_the_start_is_only_possible_once_it_has_ended(service):
    # Day precision: the window is 1 May 00:00Z to 2 May 00:00Z; the truce starts at 12:00Z.
    straddling = strike(t(1, 8), time_precision="day")
    service.append(agreed(), straddling)

    assert verdict(service.ceasefire(TRUCE, t(1, 23, 59, 59))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(2))) == expected(
        "holding", breaches=tally(possible=1)
    )


def test_a_window_inside_the_period_counts_once_it_has_ended(service):
    inside = strike(t(3, 10), time_precision="day")
    service.append(agreed(), inside)

    assert verdict(service.ceasefire(TRUCE, t(3, 23, 59, 59))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(4))) == violated_by(
        inside, by_party={"North": 1}, last=t(3, 10)
    )


def test_a_window_straddling_the_end_is_only_possible(service):
    # Hour precision: 2 May 23:00Z to 3 May 00:00Z would fit; 3 May 00:30Z's hour does not.
    fits = strike(t(2, 23, 30), time_precision="hour")
    straddles = strike(t(3, 0, 30), time_precision="hour")
    service.append(agreed(ends_at=t(3, 0, 45)), fits, straddles)

    assert verdict(service.ceasefire(TRUCE, t(4))) == expected(
        "ended",
        ended_at=t(3, 0, 45),
        ended_reason="expired",
        breaches=tally(1, {"North": 1}, inferred=1, possible=1),
        breach_event_ids=ids(fits),
        last_breach_at=t(2, 23, 30),
    )


def test_a_day_window_uses_the_events_time_zone(service):
    # 01:00 on 2 May in Asia/Baku (UTC+4) is 1 May 21:00Z. Its day there, 1 May 20:00Z to
    # 2 May 20:00Z, lies inside the period.
    zoned = strike("2022-05-02T01:00:00", time_precision="day", timezone="Asia/Baku")
    service.append(agreed(), zoned)

    assert verdict(service.ceasefire(TRUCE, t(2, 19, 59, 59))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(2, 20))) == violated_by(
        zoned, by_party={"North": 1}, last=t(1, 21)
    )


def test_an_offset_alone_names_no_zone_for_a_day_window(service):
    # The same instant written with +04:00 and no timezone: its day is the UTC day, 1 May,
    # which straddles the start (12:00Z): only possible, and only from 2 May 00:00Z.
    service.append(agreed(), strike("2022-05-02T01:00:00+04:00", time_precision="day"))

    assert verdict(service.ceasefire(TRUCE, t(1, 23, 59, 59))) == HOLDING
    assert verdict(service.ceasefire(TRUCE, t(2, 20))) == expected(
        "holding", breaches=tally(possible=1)
    )


def test_a_window_ending_at_the_start_is_not_even_possible(service):
    service.append(agreed(), strike(t(1, 11, 30), time_precision="hour"))

    assert verdict(service.ceasefire(TRUCE, t(2))) == HOLDING


@pytest.mark.parametrize(
    ("precision", "occurred_at", "possible"),
    [
        ("approximate", t(1, 13), 1),
        ("approximate", t(2, 13), 0),
        ("week", t(4), 1),
        ("week", t(5), 0),
        ("month", t(3), 1),
    ],
)
def test_wide_windows(service, precision, occurred_at, possible):
    # The truce starts 1 May 12:00Z. approximate: +-24h; week: the seven days centred on
    # that day (4 May: 1 to 8 May, straddling; 5 May: 2 to 9 May, inside); month: all May.
    hit = strike(occurred_at, time_precision=precision)
    service.append(agreed(), hit)

    answer = (
        expected("holding", breaches=tally(possible=1))
        if possible
        else violated_by(hit, by_party={"North": 1}, last=occurred_at)
    )
    assert verdict(service.ceasefire(TRUCE, "2022-06-01T00:00:00Z")) == answer


def test_exact_instants_at_the_boundaries(service):
    at_start = strike(START)
    at_end = strike(t(3), "South")
    service.append(agreed(ends_at=t(3)), at_start, at_end)

    assert verdict(service.ceasefire(TRUCE, START)) == violated_by(
        at_start, by_party={"North": 1}, last=START
    )
    assert verdict(service.ceasefire(TRUCE, t(4))) == expected(
        "ended",
        ended_at=t(3),
        ended_reason="expired",
        breaches=tally(1, {"North": 1}, inferred=1),
        breach_event_ids=ids(at_start),
        last_breach_at=START,
    )


def test_an_incident_at_the_instant_of_a_superseders_start_belongs_to_the_superseder(service):
    hit = strike(t(5))
    service.append(agreed(), agreed_wider(), hit)

    assert verdict(service.ceasefire(TRUCE, t(6))) == expected(
        "superseded", superseded_by="wider", ended_at=t(5)
    )
    assert verdict(service.ceasefire("wider", t(6))) == violated_by(
        hit, by_party={"North": 1}, last=t(5)
    )


# -- ordering ---------------------------------------------------------------------------------


def test_breach_event_ids_are_ordered_by_occurred_at_then_position(service):
    late = strike(t(2, 10))
    early = clash(t(2, 8), ["North", "South"], "South")
    claim = report(t(2, 9), "North")
    late_too = strike(t(2, 10), "South", "shelling")
    service.append(agreed(), late, early, late_too, claim)

    assert verdict(service.ceasefire(TRUCE, t(3))) == expected(
        "violated",
        breaches=tally(4, {"North": 2, "South": 2}, inferred=3, reported=1),
        breach_event_ids=ids(early, claim, late, late_too),
        last_breach_at=t(2, 10),
    )


def test_the_list_is_ordered_by_the_start_of_the_period_in_effect(service):
    service.append(
        agreed("third", at=t(1, 9), effective=t(3)),
        agreed("second", at=t(1, 10), effective=t(2), parties=["East", "West"]),
        agreed("first", at=t(1, 11), effective=t(1), parties=["Up", "Down"]),  # backdated
    )

    assert service.listed(t(1, 9, 30)) == ["third"]
    assert service.listed(t(4)) == ["first", "second", "third"]
    items = service.ceasefires(t(4))
    assert [verdict(item) for item in items] == [HOLDING] * 3
    assert items == [service.ceasefire(name, t(4)) for name in ("first", "second", "third")]


def test_the_list_is_of_one_conflict(service):
    service.append(agreed())
    elsewhere = Service(service.client, service.writer, service.reader, "elsewhere-2022")
    other = {**agreed(), "conflict": "elsewhere-2022"}
    elsewhere.append(other)
    service.position = elsewhere.position

    assert service.listed(t(2)) == [TRUCE]
    assert elsewhere.ceasefire(TRUCE, t(2))["conflict"] == "elsewhere-2022"


# -- conflict status --------------------------------------------------------------------------


def test_conflict_status_through_a_ceasefires_life(service):
    hit = strike(t(2, 6))
    service.append(strike(t(1)), agreed(), hit, ended(t(3)))

    def state(at: str) -> tuple[str, str | None]:
        body = service.conflict_status(at)
        assert body["conflict"] == CONFLICT
        assert body["at"] == at
        ceasefire = body["ceasefire"]
        if ceasefire is not None:
            assert ceasefire == service.ceasefire(ceasefire["ceasefire_id"], at)
        return body["state"], ceasefire and ceasefire["ceasefire_id"]

    assert state(t(1, 8)) == ("no_ceasefire", None)
    assert state(t(1, 10)) == ("no_ceasefire", None)  # agreed, not yet in effect
    assert state(START) == ("ceasefire_holding", TRUCE)
    assert state(t(2, 6)) == ("ceasefire_violated", TRUCE)
    assert state(t(3)) == ("no_ceasefire", None)


def test_conflict_status_of_a_conflict_without_ceasefires(service):
    service.append(strike(t(1)))

    assert service.conflict_status(t(2)) == {
        "conflict": CONFLICT,
        "at": t(2),
        "state": "no_ceasefire",
        "ceasefire": None,
    }


def test_conflict_status_the_latest_start_wins(service):
    service.append(
        agreed(),
        agreed("local", at=t(2), effective=t(2, 12), parties=["North", "East"]),
        agreed("future", at=t(2), effective=t(9), parties=["North", "East", "West"]),
    )

    assert service.conflict_status(t(2, 11))["ceasefire"]["ceasefire_id"] == TRUCE
    body = service.conflict_status(t(3))
    assert body["state"] == "ceasefire_holding"
    assert body["ceasefire"] == service.ceasefire("local", t(3))
    assert service.listed(t(3)) == [TRUCE, "local", "future"]
    assert verdict(service.ceasefire(TRUCE, t(3))) == HOLDING


def test_conflict_status_at_is_answered_in_utc(service):
    service.append(agreed())

    body = service.conflict_status("2022-05-02T14:00:00+02:00")

    assert (body["at"], body["state"]) == (t(2, 12), "ceasefire_holding")


@pytest.mark.parametrize(
    "at",
    ["2022-05-02T12:00:00.000001Z", "2999-06-01T12:00:00.000001Z", "1492-10-12T06:00:00.000001Z"],
    ids=["2022", "2999", "1492"],
)
def test_conflict_status_echoes_at_to_the_microsecond(service, at):
    service.append(agreed())

    assert service.conflict_status(at)["at"] == at


# -- parameters -------------------------------------------------------------------------------


def test_at_defaults_to_now(service):
    service.append(
        agreed(),
        agreed("far-future", at=t(2), effective="2999-01-01T00:00:00Z", parties=["East", "West"]),
    )
    params = {"conflict": CONFLICT}
    before = datetime.now(UTC)

    now = service.get(f"/v1/conflicts/{CONFLICT}/status")
    one = service.get(f"/v1/ceasefires/{TRUCE}", **params)
    future = service.get("/v1/ceasefires/far-future", **params)
    listed = service.get("/v1/ceasefires", **params)

    after = datetime.now(UTC)
    assert [r.status_code for r in (now, one, future, listed)] == [200] * 4
    answered_at = datetime.fromisoformat(now.json()["at"].replace("Z", "+00:00"))
    assert before.replace(microsecond=0) <= answered_at <= after
    assert now.json()["state"] == "ceasefire_holding"
    assert now.json()["ceasefire"]["ceasefire_id"] == TRUCE
    assert (one.json()["status"], future.json()["status"]) == ("holding", "agreed")
    assert [item["status"] for item in listed.json()["items"]] == ["holding", "agreed"]


@pytest.mark.parametrize(
    "path",
    [f"/v1/ceasefires/{TRUCE}", "/v1/ceasefires", f"/v1/conflicts/{CONFLICT}/status"],
    ids=["one", "list", "conflict"],
)
@pytest.mark.parametrize(
    "at",
    ["yesterday", "2022-05-01T12:00:00", "2022-13-01T00:00:00Z"],
    ids=["words", "no-offset", "no-such-month"],
)
def test_an_invalid_at_is_a_422_naming_it(service, path, at):
    service.append(agreed())
    # The conflict status names its conflict in the path, and takes no conflict= query.
    named = {} if path.startswith("/v1/conflicts/") else {"conflict": CONFLICT}

    response = service.get(path, **named, at=at)

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["query", "at"]]


def test_one_ceasefire_needs_its_conflict(service):
    service.append(agreed())

    response = service.get(f"/v1/ceasefires/{TRUCE}", at=t(2))

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["query", "conflict"]]


def test_a_ceasefire_of_another_conflict_is_404(service):
    service.append(agreed())

    response = service.get(f"/v1/ceasefires/{TRUCE}", conflict="elsewhere-2022", at=t(2))

    assert_problem(response, 404)
