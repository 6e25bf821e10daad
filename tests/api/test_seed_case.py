"""The seed case file, events/ganja-2020-10-17.ndjson, appended as one batch and read back.

The answers, worked by hand from the contract ("Ceasefire status", "Breaches"). Asia/Baku is
UTC+4 all year in 2020 (Azerbaijan has kept no summer time since 2016).

- The humanitarian truce is agreed at 12:00 local on 10 October, 08:00Z. Its `day`
  precision does not matter: "ceasefire lifecycle times are instants whatever
  time_precision says". It takes effect at 12:00 local, 08:00Z, the same instant, and has
  no `ends_at`, no `ceasefire_ended` and no superseder: in effect from 10 Oct 08:00Z on.
- Four incidents, all by one of its parties (Armenia, Azerbaijan), all inferred, and each
  window lies wholly inside the period, so all are certain; each counts once its window
  has ended:
  - the shelling of Stepanakert by Azerbaijan, 21:00 local on 16 Oct (17:00Z),
    `approximate`: 15 Oct 17:00Z to 17 Oct 17:00Z;
  - the Ganja strike by Armenia, 03:00 local on 17 Oct (16 Oct 23:00Z), `hour`:
    16 Oct 23:00Z to 17 Oct 00:00Z;
  - the second Ganja missile and the Mingachevir missile by Armenia, `day` in Asia/Baku:
    16 Oct 20:00Z to 17 Oct 20:00Z.
- The two reports name inferred incidents (the Ganja strike, the shelling) and accuse
  their own perpetrators: they add nothing to the count and no second attribution, so
  nothing is contested or reported.
- last_breach_at is the latest occurred_at among the counted incidents: 16 Oct 23:00Z.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.ceasefire_helpers import SQLITE_ONLY, Service, expected, verdict
from tests.helpers import Envelope, Headers, assert_problem, tally

# The answers come from the read model, which is always SQLite: the SQLite store only.
pytestmark = SQLITE_ONLY

SEED = Path(__file__).resolve().parents[2] / "events" / "ganja-2020-10-17.ndjson"
CONFLICT = "nagorno-karabakh-2020"
TRUCE = "humanitarian-truce-2020-10-10"
SHELLING_STEPANAKERT = "ee036ff2-0afc-5775-8050-d706faab226c"
GANJA_STRIKE = "e4343f67-9df8-5f80-92da-0e2d7e663fcd"
SECOND_MISSILE = "c80ec202-db74-55b0-ba19-79271597d5bb"
MINGACHEVIR = "94d11e80-9da7-5c09-8ceb-a847de423c7c"


def seed_events() -> list[Envelope]:
    return [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture
def seeded(client: TestClient, writer: Headers, reader: Headers) -> Service:
    service = Service(client, writer, reader, conflict=CONFLICT)
    events = seed_events()
    service.append(*events)
    assert service.position == len(events) == 14
    return service


def test_the_truce_does_not_exist_before_its_agreement(seeded):
    assert_problem(seeded.ceasefire_response(TRUCE, "2020-10-10T07:59:59Z"), 404)
    assert seeded.ceasefires("2020-10-10T07:59:59Z") == []
    assert seeded.conflict_status("2020-10-10T07:59:59Z")["state"] == "no_ceasefire"


def test_the_truce_holds_from_its_agreement(seeded):
    # Agreed and in effect at the same instant: holding at once, nothing counted yet.
    assert verdict(seeded.ceasefire(TRUCE, "2020-10-10T08:00:00Z")) == expected("holding")


def test_the_truce_on_11_october(seeded):
    assert seeded.ceasefire(TRUCE, "2020-10-11T12:00:00Z") == {
        "ceasefire_id": TRUCE,
        "conflict": CONFLICT,
        "status": "holding",
        "parties": ["Armenia", "Azerbaijan"],
        "mediators": ["Russia"],
        "agreed_at": "2020-10-10T08:00:00Z",
        "effective_at": "2020-10-10T08:00:00Z",
        "ends_at": None,
        "ended_at": None,
        "ended_reason": None,
        "superseded_by": None,
        "breaches": tally(),
        "last_breach_at": None,
        "breach_event_ids": [],
    }


def test_the_ganja_strike_alone_counts_once_its_hour_has_passed(seeded):
    # At 16 Oct 23:59:59Z no window has ended yet (the earliest end is the Ganja hour's).
    assert verdict(seeded.ceasefire(TRUCE, "2020-10-16T23:59:59Z")) == expected("holding")
    assert verdict(seeded.ceasefire(TRUCE, "2020-10-17T00:00:00Z")) == expected(
        "violated",
        breaches=tally(1, {"Armenia": 1}, inferred=1),
        last_breach_at="2020-10-16T23:00:00Z",
        breach_event_ids=[GANJA_STRIKE],
    )


def test_the_conflict_status_on_17_october(seeded):
    # 12:00Z: the shelling's window ends at 17:00Z and the day windows at 20:00Z, so only
    # the Ganja strike is counted yet.
    at = "2020-10-17T12:00:00Z"
    body = seeded.conflict_status(at)

    assert body == {
        "conflict": CONFLICT,
        "at": at,
        "state": "ceasefire_violated",
        "ceasefire": seeded.ceasefire(TRUCE, at),
    }
    assert verdict(body["ceasefire"]) == expected(
        "violated",
        breaches=tally(1, {"Armenia": 1}, inferred=1),
        last_breach_at="2020-10-16T23:00:00Z",
        breach_event_ids=[GANJA_STRIKE],
    )


def test_every_incident_counts_by_the_end_of_17_october(seeded):
    answer = expected(
        "violated",
        breaches=tally(4, {"Armenia": 3, "Azerbaijan": 1}, inferred=4),
        last_breach_at="2020-10-16T23:00:00Z",
        breach_event_ids=[SHELLING_STEPANAKERT, GANJA_STRIKE, SECOND_MISSILE, MINGACHEVIR],
    )

    assert verdict(seeded.ceasefire(TRUCE, "2020-10-17T20:00:00Z")) == answer
    assert verdict(seeded.ceasefire(TRUCE, "2020-10-18T00:00:00Z")) == answer
    assert verdict(seeded.ceasefire(TRUCE, "2020-10-17T19:59:59Z")) == expected(
        "violated",
        breaches=tally(2, {"Armenia": 1, "Azerbaijan": 1}, inferred=2),
        last_breach_at="2020-10-16T23:00:00Z",
        breach_event_ids=[SHELLING_STEPANAKERT, GANJA_STRIKE],
    )


def test_the_timeline_places_the_ganja_strike_by_its_utc_time(seeded):
    response = seeded.get("/v1/timeline", conflict=CONFLICT)
    assert response.status_code == 200, response.text
    items = response.json()["items"]

    # Ordered by occurred_at in UTC, then position: here the file's own order.
    assert [item["event_id"] for item in items] == [e["event_id"] for e in seed_events()]
    ganja = items[2]
    assert (ganja["event_id"], ganja["occurred_at"], ganja["position"]) == (
        GANJA_STRIKE,
        "2020-10-16T23:00:00Z",
        3,
    )
    assert [item["occurred_at"] for item in items[:5]] == [
        "2020-10-10T08:00:00Z",
        "2020-10-16T17:00:00Z",
        "2020-10-16T23:00:00Z",
        "2020-10-16T23:00:00Z",
        "2020-10-16T23:00:00Z",
    ]


def test_the_timeline_at_the_instant_of_the_ganja_strike(seeded):
    instant = "2020-10-16T23:00:00Z"
    response = seeded.get("/v1/timeline", conflict=CONFLICT, **{"from": instant, "to": instant})
    assert response.status_code == 200, response.text

    assert [item["event_id"] for item in response.json()["items"]] == [
        GANJA_STRIKE,
        SECOND_MISSILE,
        MINGACHEVIR,
    ]


def test_breaches_by_day_in_the_conflict_zone_and_in_utc(seeded):
    # Asia/Baku: the shelling at 21:00 local on 16 October, the three Armenian missiles
    # at 03:00 local on the 17th. In UTC all four fall on the 16th.
    def by_day(**zone: str) -> list[Envelope]:
        response = seeded.get(
            "/v1/ceasefires", conflict=CONFLICT, at="2020-10-18T00:00:00Z", by_day="true", **zone
        )
        assert response.status_code == 200, response.text
        [status] = response.json()["items"]
        days: list[Envelope] = status["breaches_by_day"]
        return days

    assert by_day(day_zone="Asia/Baku") == [
        {"day": "2020-10-16", "total": 1, "by_party": {"Azerbaijan": 1}},
        {"day": "2020-10-17", "total": 3, "by_party": {"Armenia": 3}},
    ]
    assert by_day() == [
        {"day": "2020-10-16", "total": 4, "by_party": {"Armenia": 3, "Azerbaijan": 1}},
    ]


def test_breaches_by_day_is_only_there_when_asked_and_names_a_bad_zone(seeded):
    at = "2020-10-18T00:00:00Z"
    assert "breaches_by_day" not in seeded.ceasefire(TRUCE, at)
    response = seeded.get(
        f"/v1/ceasefires/{TRUCE}", conflict=CONFLICT, at=at, by_day="true", day_zone="Mars/Base"
    )
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", "day_zone"]


def test_the_conflicts_list_counts_items_and_spans_them(seeded):
    response = seeded.get("/v1/conflicts")
    assert response.status_code == 200, response.text

    assert response.json() == {
        "items": [
            {
                "conflict": CONFLICT,
                "events": 14,
                "first_occurred_at": "2020-10-10T08:00:00Z",
                "last_occurred_at": "2020-10-17T08:00:00Z",
            }
        ]
    }
    assert seeded.get("/v1/conflicts", as_of="0").json() == {"items": []}
    assert seeded.get("/v1/conflicts", as_of="3").json()["items"][0]["events"] == 3


def test_every_read_of_an_unknown_conflict_is_404(seeded):
    at = "2020-10-18T00:00:00Z"
    for path, params in [
        ("/v1/timeline", {"conflict": "nagorno-karabak-2020"}),
        ("/v1/ceasefires", {"conflict": "nagorno-karabak-2020", "at": at}),
        (f"/v1/ceasefires/{TRUCE}", {"conflict": "nagorno-karabak-2020", "at": at}),
        ("/v1/conflicts/nagorno-karabak-2020/status", {"at": at}),
    ]:
        body = assert_problem(seeded.get(path, **params), 404)
        assert body["detail"] == "no event of conflict 'nagorno-karabak-2020' in the log", path
