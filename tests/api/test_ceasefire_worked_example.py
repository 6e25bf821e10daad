"""The worked example of the ceasefire and breach rules: eleven events, every answer.

Its eleven events of an invented conflict, appended in order (positions 1-11), and every
row of its table that has no ``as_of`` asserted exactly, plus the conflict status line. The
as-of rows are reached here through prefixes of the log (tests/api/test_as_of.py asks with
``as_of``), since an as-of answer is "exactly what the service would have answered when
the log ended there".
Europe/Kyiv is UTC+2 in early March 2021, so truce-1 takes effect at 10:00Z.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.as_of_logs import EXAMPLE, n
from tests.api.ceasefire_helpers import SQLITE_ONLY, Service, expected, verdict
from tests.helpers import Envelope, Headers, assert_problem, tally

# The answers come from the read model, which is always SQLite: the SQLite store only.
pytestmark = SQLITE_ONLY

EVENTS: list[Envelope] = [
    {
        "event_id": "00000000-0000-4000-8000-000000000001",
        "type": "ceasefire_agreed",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-01T09:00:00Z",
        "sources": [{"name": "worked example"}],
        "ceasefire_id": "truce-1",
        "parties": ["North", "South"],
        "mediators": ["Neutralia"],
        "effective_at": "2021-03-01T12:00:00",
        "timezone": "Europe/Kyiv",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000002",
        "type": "shelling",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-01T13:00:00",
        "sources": [{"name": "worked example"}],
        "timezone": "Europe/Kyiv",
        "perpetrator": "North",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000003",
        "type": "strike",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-01T11:00:00Z",
        "sources": [{"name": "worked example"}],
        "time_precision": "hour",
        "perpetrator": "South",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000004",
        "type": "shelling",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-01T10:00:00",
        "sources": [{"name": "worked example"}],
        "timezone": "Europe/Kyiv",
        "time_precision": "day",
        "perpetrator": "South",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000005",
        "type": "ceasefire_breached",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-01T15:00:00Z",
        "sources": [{"name": "worked example"}],
        "ceasefire_id": "truce-1",
        "accused": "South",
        "reported_by": "North",
        "incident_event_id": "00000000-0000-4000-8000-000000000002",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000006",
        "type": "ceasefire_breached",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-02T08:00:00Z",
        "sources": [{"name": "worked example"}],
        "ceasefire_id": "truce-1",
        "accused": "North",
        "reported_by": "South",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000007",
        "type": "clash",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-02T20:00:00Z",
        "sources": [{"name": "worked example"}],
        "parties": ["North", "South"],
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000008",
        "type": "ceasefire_agreed",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-04T12:00:00Z",
        "sources": [{"name": "worked example"}],
        "ceasefire_id": "truce-2",
        "parties": ["North", "South", "East"],
        "effective_at": "2021-03-05T00:00:00Z",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000009",
        "type": "shelling",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-06T10:00:00Z",
        "sources": [{"name": "worked example"}],
        "perpetrator": "North",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000010",
        "type": "retraction",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-07T00:00:00Z",
        "sources": [{"name": "worked example"}],
        "retracts_event_id": "00000000-0000-4000-8000-000000000009",
        "reason": "misattributed: the shelling came from outside the line",
    },
    {
        "event_id": "00000000-0000-4000-8000-000000000011",
        "type": "correction",
        "conflict": "example-front-2021",
        "occurred_at": "2021-03-08T00:00:00Z",
        "sources": [{"name": "worked example"}],
        "corrects_event_id": "00000000-0000-4000-8000-000000000003",
        "changes": {"perpetrator": "North"},
    },
]


# Counted by truce-1 on 3 March, once the correction #11 has made #3 North's: #2 (North, and
# South by report #5: contested), #3, #6 (reported), #7 (clash, unattributed); #4 possible.
TRUCE_1_BREACHES = tally(
    4,
    {"North": 3, "South": 1},
    inferred=3,
    reported=1,
    contested=1,
    unattributed=1,
    possible=1,
)
TRUCE_1_LAST = "2021-03-02T20:00:00Z"
TRUCE_1_IDS = [n(2), n(3), n(6), n(7)]


@pytest.fixture
def example(client: TestClient, writer: Headers, reader: Headers) -> Service:
    service = Service(client, writer, reader, conflict=EXAMPLE)
    service.append(*EVENTS)
    assert service.position == 11
    return service


@pytest.mark.parametrize(
    ("ceasefire_id", "at", "answer"),
    [
        pytest.param("truce-1", "2021-03-01T09:30:00Z", expected("agreed"), id="agreed"),
        pytest.param("truce-1", "2021-03-01T10:30:00Z", expected("holding"), id="holding"),
        pytest.param(
            "truce-1",
            "2021-03-03T00:00:00Z",
            expected(
                "violated",
                breaches=TRUCE_1_BREACHES,
                last_breach_at=TRUCE_1_LAST,
                breach_event_ids=TRUCE_1_IDS,
            ),
            id="violated",
        ),
        pytest.param(
            # ended_at: when truce-2 took effect and so truce-1's period in effect stopped.
            "truce-1",
            "2021-03-06T00:00:00Z",
            expected(
                "superseded",
                superseded_by="truce-2",
                ended_at="2021-03-05T00:00:00Z",
                breaches=TRUCE_1_BREACHES,
                last_breach_at=TRUCE_1_LAST,
                breach_event_ids=TRUCE_1_IDS,
            ),
            id="superseded",
        ),
        pytest.param("truce-2", "2021-03-06T12:00:00Z", expected("holding"), id="retracted-breach"),
    ],
)
def test_the_table(example, ceasefire_id, at, answer):
    assert verdict(example.ceasefire(ceasefire_id, at)) == answer


def test_truce_2_is_404_before_its_agreement(example):
    assert_problem(example.ceasefire_response("truce-2", "2021-03-04T11:00:00Z"), 404)
    assert example.listed("2021-03-04T11:00:00Z") == ["truce-1"]


def test_the_conflict_status_line(example):
    at = "2021-03-06T12:00:00Z"

    assert example.conflict_status(at) == {
        "conflict": EXAMPLE,
        "at": at,
        "state": "ceasefire_holding",
        "ceasefire": example.ceasefire("truce-2", at),
    }


def test_the_whole_status_object_of_truce_1(example):
    assert example.ceasefire("truce-1", "2021-03-03T00:00:00Z") == {
        "ceasefire_id": "truce-1",
        "conflict": EXAMPLE,
        "status": "violated",
        "parties": ["North", "South"],
        "mediators": ["Neutralia"],
        "agreed_at": "2021-03-01T09:00:00Z",
        "effective_at": "2021-03-01T10:00:00Z",
        "ends_at": None,
        "ended_at": None,
        "ended_reason": None,
        "superseded_by": None,
        "breaches": {
            "total": 4,
            "by_party": {"North": 3, "South": 1},
            "inferred": 3,
            "reported": 1,
            "contested": 1,
            "unattributed": 1,
            "possible": 1,
        },
        "last_breach_at": "2021-03-02T20:00:00Z",
        "breach_event_ids": [n(2), n(3), n(6), n(7)],
    }


def test_the_whole_status_object_of_truce_2(example):
    body = example.ceasefire("truce-2", "2021-03-06T12:00:00Z")

    # truce-2 names no mediators: the contract does not say whether that reads [] or null.
    assert body.pop("mediators") in ([], None)
    assert body == {
        "ceasefire_id": "truce-2",
        "conflict": EXAMPLE,
        "status": "holding",
        "parties": ["North", "South", "East"],
        "agreed_at": "2021-03-04T12:00:00Z",
        "effective_at": "2021-03-05T00:00:00Z",
        "ends_at": None,
        "ended_at": None,
        "ended_reason": None,
        "superseded_by": None,
        "breaches": tally(),
        "last_breach_at": None,
        "breach_event_ids": [],
    }


def test_the_list_is_ordered_by_start(example):
    items = example.ceasefires("2021-03-06T12:00:00Z")

    assert [(i["ceasefire_id"], i["status"]) for i in items] == [
        ("truce-1", "superseded"),
        ("truce-2", "holding"),
    ]
    assert items[1] == example.ceasefire("truce-2", "2021-03-06T12:00:00Z")


def test_the_day_window_of_4_is_possible_only_once_it_has_ended(example):
    # Not a row of the table; from its notes. #4's window is 28 Feb 22:00Z to 1 Mar 22:00Z.
    # By then #2 (contested) and #3 (North's, after the correction) are counted.
    before = verdict(example.ceasefire("truce-1", "2021-03-01T21:59:59Z"))
    after = verdict(example.ceasefire("truce-1", "2021-03-01T22:00:00Z"))

    ids, last = [n(2), n(3)], "2021-03-01T11:00:00Z"
    assert before == expected(
        "violated",
        breaches=tally(2, {"North": 2, "South": 1}, inferred=2, contested=1),
        breach_event_ids=ids,
        last_breach_at=last,
    )
    assert after == expected(
        "violated",
        breaches=tally(2, {"North": 2, "South": 1}, inferred=2, contested=1, possible=1),
        breach_event_ids=ids,
        last_breach_at=last,
    )


def test_each_prefix_of_the_log_answers_as_its_as_of_rows(client, writer, reader):
    # The as-of rows, reached by appending one event at a time (each its own page of the
    # read model) and reading as the log then stood.
    service = Service(client, writer, reader, conflict=EXAMPLE)
    for number, event in enumerate(EVENTS[:9], start=1):
        service.append(event)
        assert service.position == number
        # Reading after each append makes every event a page of its own.
        agreed_by_then = ["truce-1", "truce-2"] if number >= 8 else ["truce-1"]
        assert service.listed("2021-03-31T00:00:00Z") == agreed_by_then

    # as_of 9: the shelling #9 breaks truce-2.
    assert verdict(service.ceasefire("truce-2", "2021-03-06T12:00:00Z")) == expected(
        "violated",
        breaches=tally(1, {"North": 1}, inferred=1),
        last_breach_at="2021-03-06T10:00:00Z",
        breach_event_ids=[n(9)],
    )

    # as_of 10: the retraction #10 removes it; #3 is still South's.
    service.append(EVENTS[9])
    assert verdict(service.ceasefire("truce-2", "2021-03-06T12:00:00Z")) == expected("holding")
    assert verdict(service.ceasefire("truce-1", "2021-03-03T00:00:00Z")) == expected(
        "violated",
        breaches=tally(
            4,
            {"North": 2, "South": 2},
            inferred=3,
            reported=1,
            contested=1,
            unattributed=1,
            possible=1,
        ),
        last_breach_at=TRUCE_1_LAST,
        breach_event_ids=TRUCE_1_IDS,
    )

    # Position 11: the correction makes #3 North's, as in the table.
    service.append(EVENTS[10])
    assert verdict(service.ceasefire("truce-1", "2021-03-03T00:00:00Z")) == expected(
        "violated",
        breaches=TRUCE_1_BREACHES,
        last_breach_at=TRUCE_1_LAST,
        breach_event_ids=TRUCE_1_IDS,
    )
