"""Corrections build on corrections (the contract's "Edge rules" under Breaches).

A correction is checked, and its times without offset are read, against the event as
corrected so far: every earlier unretracted correction applied in log order, whether it
came in an earlier request or earlier in the same batch. Each history runs both ways:
``requests`` posts one event per request, ``batch`` posts the whole history at once.
These depend on the store's append checks, and run on both stores; the last test, of the
order of ``breach_event_ids``, depends only on the read model and runs on SQLite alone.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.ceasefire_helpers import (
    SQLITE_ONLY,
    Service,
    agreed,
    clash,
    correction,
    event,
    expected,
    retraction,
    strike,
    verdict,
)
from tests.helpers import Envelope, Headers, assert_problem, post, post_batch, tally

ORDERS = ["requests", "batch"]


def append(client: TestClient, writer: Headers, order: str, *events: Envelope) -> int:
    """Append a history that must be accepted whole; the last position."""
    if order == "batch":
        response = post_batch(client, writer, list(events))
        assert response.status_code == 201, response.text
        return int(response.json()["results"][-1]["position"])
    for one in events:
        response = post(client, writer, one)
        assert response.status_code == 201, response.text
    return int(response.json()["position"])


def refused(client: TestClient, writer: Headers, order: str, *events: Envelope) -> list[Any]:
    """Append a history whose last event must be refused; its errors, located as for a
    single event."""
    *accepted, last = events
    if order == "batch":
        response = post_batch(client, writer, list(events))
        body = assert_problem(response, 422)
        assert all(error["loc"][0] == len(accepted) for error in body["errors"])
        return [{**error, "loc": error["loc"][1:]} for error in body["errors"]]
    if accepted:
        append(client, writer, order, *accepted)
    return list(assert_problem(post(client, writer, last), 422)["errors"])


def timeline_item(client: TestClient, reader: Headers, position: int, event_id: str) -> Envelope:
    response = client.get(
        "/v1/timeline", params={"min_position": position, "limit": 1000}, headers=reader
    )
    assert response.status_code == 200, response.text
    (item,) = [i for i in response.json()["items"] if i["event_id"] == event_id]
    return dict(item)


# -- a correction is checked against the event as corrected so far ----------------------------


@pytest.mark.parametrize("order", ORDERS)
def test_an_initiator_may_name_a_party_an_earlier_correction_added(client, writer, reader, order):
    fight = clash("2022-05-02T06:00:00Z", ["South", "West"])
    add_party = correction(fight, parties=["South", "West", "Militia X"])
    name_initiator = correction(fight, initiator="Militia X")

    position = append(client, writer, order, fight, add_party, name_initiator)

    item = timeline_item(client, reader, position, fight["event_id"])
    assert (item["parties"], item["initiator"], item["corrected"]) == (
        ["South", "West", "Militia X"],
        "Militia X",
        True,
    )


@pytest.mark.parametrize("order", ORDERS)
def test_a_retracted_correction_is_left_out_of_the_event_as_corrected(client, writer, order):
    fight = clash("2022-05-02T06:00:00Z", ["South", "West"])
    add_party = correction(fight, parties=["South", "West", "Militia X"])

    errors = refused(
        client,
        writer,
        order,
        fight,
        add_party,
        retraction(add_party),
        correction(fight, initiator="Militia X"),
    )

    assert errors == [
        {
            "loc": ["changes", "initiator"],
            "msg": "the initiator must be one of the parties",
        }
    ]


@pytest.mark.parametrize("order", ORDERS)
def test_a_casualty_range_is_checked_against_the_corrected_best_estimate(
    client, writer, reader, order
):
    hit = strike("2022-05-02T06:00:00Z", killed=5)
    raise_estimate = correction(hit, killed=10)
    add_low = correction(hit, killed_low=8)

    position = append(client, writer, order, hit, raise_estimate, add_low)

    item = timeline_item(client, reader, position, hit["event_id"])
    assert (item["killed"], item["killed_low"]) == (10, 8)


@pytest.mark.parametrize("order", ORDERS)
def test_a_casualty_range_beyond_the_corrected_best_estimate_is_refused(client, writer, order):
    hit = strike("2022-05-02T06:00:00Z", killed=10)

    errors = refused(
        client, writer, order, hit, correction(hit, killed=5), correction(hit, killed_low=8)
    )

    assert errors == [{"loc": ["changes", "killed_low"], "msg": "killed_low must be <= killed"}]


# -- a time without offset is read in the zone as corrected ------------------------------------

YEREVAN = "Asia/Yerevan"
NEW_YORK = "America/New_York"
# In effect from 24 Dec 00:00Z until 31 Dec 12:00Z. The shelling, corrected to 07:42 in New
# York on 28 Dec (12:42Z), occupies the week 25 Dec 05:00Z to 1 Jan 05:00Z, which runs past
# the end: a possible breach. Read in Yerevan instead (03:42Z, the New York day 27 Dec), its
# week would end on 31 Dec 05:00Z, inside the period: a certain one.
WINTER_TRUCE = agreed(
    "winter",
    at="2021-12-23T12:00:00Z",
    effective="2021-12-24T00:00:00Z",
    ends_at="2021-12-31T12:00:00Z",
)


def yerevan_shelling() -> Envelope:
    return strike(
        "2021-12-10T09:00:00",
        kind="shelling",
        timezone=YEREVAN,
        time_precision="week",
    )


@pytest.mark.parametrize("order", ORDERS)
def test_a_later_time_without_offset_is_read_in_the_corrected_zone(client, writer, reader, order):
    shelling = yerevan_shelling()
    move_zone = correction(shelling, timezone=NEW_YORK)
    move_time = correction(shelling, occurred_at="2021-12-28T07:42:00")

    position = append(client, writer, order, WINTER_TRUCE, shelling, move_zone, move_time)

    item = timeline_item(client, reader, position, shelling["event_id"])
    assert (item["occurred_at"], item["timezone"]) == ("2021-12-28T12:42:00Z", NEW_YORK)
    stored = client.get(f"/v1/events/{move_time['event_id']}", headers=reader).json()
    assert stored["event"]["changes"] == {"occurred_at": "2021-12-28T12:42:00Z"}
    service = Service(client, writer, reader, position=position)
    assert verdict(service.ceasefire("winter", "2022-01-02T00:00:00Z")) == expected(
        "ended",
        ended_at="2021-12-31T12:00:00Z",
        ended_reason="expired",
        breaches=tally(possible=1),
    )


def test_a_retried_correction_is_normalised_against_the_event_as_corrected_before_it(
    client, writer
):
    shelling = yerevan_shelling()
    move_zone = correction(shelling, timezone=NEW_YORK)
    move_time = correction(shelling, occurred_at="2021-12-28T07:42:00")
    append(client, writer, "requests", shelling, move_zone, move_time)
    first = post(client, writer, move_time)  # already stored: this is the retry

    assert first.status_code == 200, first.text
    assert first.json()["position"] == 3


@pytest.mark.parametrize("order", ORDERS)
def test_a_zone_correction_keeps_every_recorded_instant(client, writer, reader, order):
    shelling = yerevan_shelling()  # 09:00 in Yerevan: 05:00Z

    position = append(client, writer, order, shelling, correction(shelling, timezone=NEW_YORK))

    item = timeline_item(client, reader, position, shelling["event_id"])
    assert (item["occurred_at"], item["timezone"]) == ("2021-12-10T05:00:00Z", NEW_YORK)


def test_as_of_answers_follow_the_corrections_in_log_order(client, writer, reader):
    shelling = yerevan_shelling()
    move_zone = correction(shelling, timezone=NEW_YORK)
    move_time = correction(shelling, occurred_at="2021-12-28T07:42:00")
    position = append(client, writer, "batch", WINTER_TRUCE, shelling, move_zone, move_time)
    service = Service(client, writer, reader, position=position)
    before_the_move = service.get(
        "/v1/ceasefires/winter", conflict=service.conflict, as_of=str(position - 1)
    ).json()
    after_the_move = service.get(
        "/v1/ceasefires/winter", conflict=service.conflict, as_of=str(position)
    ).json()
    at = {"at": "2022-01-02T00:00:00Z"}
    later = service.get("/v1/ceasefires/winter", conflict=service.conflict, **at).json()

    assert before_the_move["breaches"] == tally()  # on 10 Dec: before the truce
    assert after_the_move["breaches"] == tally(possible=1) == later["breaches"]


# -- the order of breach_event_ids -------------------------------------------------------------


# Ceasefire rules only: the read model answers them, always on SQLite.
@SQLITE_ONLY
def test_breach_event_ids_follow_the_listed_events_own_time(client, writer, reader):
    """The reported incident is listed by its report (at 12:00), though the strike it
    names, whose window it occupies, happened at 06:00: by the listed event's own time it
    comes after the inferred incident of 09:00, by the time of the breach and by position
    it would come first."""
    unattributed = strike("2022-05-02T06:00:00Z", perpetrator=None)
    claim = event(
        "ceasefire_breached",
        "2022-05-02T12:00:00Z",
        ceasefire_id="truce",
        accused="North",
        incident_event_id=unattributed["event_id"],
    )
    inferred = strike("2022-05-02T09:00:00Z", perpetrator="South")
    service = Service(client, writer, reader)
    service.append(agreed(), unattributed, claim, inferred)

    assert verdict(service.ceasefire("truce", "2022-05-03T00:00:00Z")) == expected(
        "violated",
        breaches=tally(2, {"North": 1, "South": 1}, inferred=1, reported=1),
        breach_event_ids=[inferred["event_id"], claim["event_id"]],
        last_breach_at="2022-05-02T09:00:00Z",
    )
