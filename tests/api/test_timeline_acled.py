"""``GET /v1/timeline?format=acled``: ACLED's CSV layout over HTTP (docs/acled.md, "Export").

Exact CSV answers for events posted with and without an ACLED ``external``, corrections
and ``as_of``, pages that follow the ``Link`` header, and ``Truceline-Attribution`` on the
pages that hold ACLED-derived rows only.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.helpers import Headers, assert_problem, post, post_batch, valid_event

ATTRIBUTION = (
    "Data from the Armed Conflict Location & Event Data Project (ACLED), acleddata.com, "
    "for rows whose event_id_cnty came from ACLED"
)
LINK_NEXT = re.compile(r'^<([^>]+)>; rel="next"$')
HEADER = (
    "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,"
    "actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,"
    "iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,"
    "source,source_scale,notes,fatalities,tags,timestamp,data_id,event_id_no_cnty,iso3,gwno\r\n"
)

# An ACLED row as the import posts it: local midnight in Baku, ACLED's other columns kept.
# Its fields have no disorder_type, so that column stays empty (no Truceline default).
SHELLING = valid_event(
    "shelling",
    event_id="0b6a3c3e-5f7d-5e7a-9a43-2f1c0d9e8b71",
    occurred_at="2020-10-17T00:00:00",
    timezone="Asia/Baku",
    time_precision="day",
    location={
        "name": "Ganja",
        "admin1": "Ganja-Gazakh",
        "country": "AZ",
        "lat": 40.6828,
        "lon": 46.3606,
    },
    sources=[{"name": "Trend"}, {"name": "Azeri Press Agency"}],
    summary="On 17 October 2020, a missile hit Ganja.",
    perpetrator="Military Forces of Armenia (2018-)",
    target="Civilians (Azerbaijan)",
    killed=13,
    wounded=None,
    external={
        "source": "acled",
        "id": "AZE1234",
        "fields": {
            "event_type": "Explosions/Remote violence",
            "sub_event_type": "Shelling/artillery/missile attack",
            "inter1": "8",
            "interaction": "78",
            "iso": "31",
            "region": "Caucasus and Central Asia",
            "country": "Azerbaijan",
            "timestamp": "1603152000",
        },
    },
)
SHELLING_LINE = (
    "AZE1234,2020-10-17,2020,1,,Explosions/Remote violence,"
    "Shelling/artillery/missile attack,Military Forces of Armenia (2018-),,8,"
    "Civilians (Azerbaijan),,,78,,31,Caucasus and Central Asia,Azerbaijan,Ganja-Gazakh,,,"
    'Ganja,40.6828,46.3606,,Trend; Azeri Press Agency,,"On 17 October 2020, a missile hit '
    'Ganja.",13,,1603152000,,,,\r\n'
)
# Truceline's own: a strike in UTC, a clash a month long in Yerevan's time.
STRIKE = valid_event(
    "strike",
    event_id="3f2c8a9e-1d4b-4c7a-9f0e-2b6d5a8c1e47",
    occurred_at="2020-10-16T23:00:00Z",
    location={"name": "Stepanakert", "country": "AZ", "lat": 39.8153, "lon": 46.7519},
    sources=[{"name": "Armenpress"}],
)
STRIKE_LINE = (
    "TL3F2C8A9E1D4B,2020-10-16,2020,1,Political violence,Explosions/Remote violence,"
    "Air/drone strike,Azerbaijan,,,Stepanakert,,,,,31,,Azerbaijan,,,,Stepanakert,39.8153,"
    "46.7519,,Armenpress,,,2,,,,,,\r\n"
)
CLASH = valid_event(
    "clash",
    event_id="abcdef01-2345-4678-9abc-def012345678",
    occurred_at="2020-10-01T00:00:00",
    timezone="Asia/Yerevan",
    time_precision="month",
)
CLASH_LINE = (
    "TLABCDEF012345,2020-10-01,2020,3,Political violence,Battles,Armed clash,"
    "Armenia,,,Azerbaijan,,,,,,,,,,,,,,,,,,0,,,,,,\r\n"
)
# Not in ACLED's layout, ACLED-derived or not.
STATEMENT = valid_event("statement", external={"source": "acled", "id": "AZE99"})
EVENTS = [STRIKE, STATEMENT, SHELLING, CLASH]  # by occurred_at: clash, shelling, strike


def seed(client: TestClient, writer: Headers, events: list[dict[str, Any]]) -> int:
    """Append ``events`` in one batch; the last position."""
    response = post_batch(client, writer, events)
    assert response.status_code == 201, response.text
    return int(response.json()["results"][-1]["position"])


def acled_raw(client: TestClient, reader: Headers, last: int, **params: Any) -> Response:
    """An ACLED request, read once the read model holds position ``last``, whatever it
    answers."""
    response: Response = client.get(
        "/v1/timeline",
        params={"format": "acled", "min_position": last, **params},
        headers=reader,
    )
    return response


def acled(client: TestClient, reader: Headers, last: int, **params: Any) -> Response:
    """One ACLED page (200, CSV)."""
    response = acled_raw(client, reader, last, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return response


def follow_links(client: TestClient, response: Response, headers: Headers) -> list[Response]:
    """The response and every page its ``Link: rel="next"`` headers lead to."""
    responses = [response]
    while "link" in responses[-1].headers:
        match = LINK_NEXT.match(responses[-1].headers["link"])
        assert match, responses[-1].headers["link"]
        responses.append(client.get(match.group(1), headers=headers))
        assert responses[-1].status_code == 200, responses[-1].text
        assert len(responses) < 10, "the Link headers never end"
    return responses


def test_the_timeline_in_acleds_layout_is_exact_and_attributed(client, writer, reader):
    last = seed(client, writer, EVENTS)

    response = acled(client, reader, last)

    assert response.text == HEADER + CLASH_LINE + SHELLING_LINE + STRIKE_LINE
    assert response.headers["truceline-attribution"] == ATTRIBUTION
    assert "link" not in response.headers


def test_no_attribution_without_acled_derived_rows(client, writer, reader):
    last = seed(client, writer, [STRIKE, STATEMENT, CLASH])

    response = acled(client, reader, last)
    statements = acled(client, reader, last, type="statement")

    assert response.text == HEADER + CLASH_LINE + STRIKE_LINE
    assert "truceline-attribution" not in response.headers
    assert statements.text == HEADER  # an ACLED-derived statement has no row
    assert "truceline-attribution" not in statements.headers


def test_pages_follow_the_link_header_and_only_acleds_page_is_attributed(client, writer, reader):
    last = seed(client, writer, EVENTS)

    pages = follow_links(client, acled(client, reader, last, limit=1), reader)

    # Pages count rows: the statement is not read into an ACLED page.
    assert [page.text for page in pages] == [
        HEADER + CLASH_LINE,
        HEADER + SHELLING_LINE,
        HEADER + STRIKE_LINE,
    ]
    assert [page.headers.get("truceline-attribution") for page in pages] == [
        None,
        ATTRIBUTION,
        None,
    ]
    assert all("format=acled" in page.headers["link"] for page in pages[:2])


def test_filters_apply(client, writer, reader):
    last = seed(client, writer, EVENTS)

    strikes = acled(client, reader, last, type=["strike", "statement"])
    in_baku = acled(client, reader, last, location="Ganja")

    assert strikes.text == HEADER + STRIKE_LINE
    assert in_baku.text == HEADER + SHELLING_LINE


def test_corrections_show_and_as_of_reads_what_was_said_before(client, writer, reader):
    seed(client, writer, EVENTS)
    correction = valid_event(
        "correction",
        conflict=SHELLING["conflict"],
        corrects_event_id=SHELLING["event_id"],
        changes={"killed": 14, "target": "Ganja"},
    )
    receipt = post(client, writer, correction)
    assert receipt.status_code == 201, receipt.text
    last = receipt.json()["position"]

    now = acled(client, reader, last, type="shelling")
    before = acled(client, reader, last, type="shelling", as_of=last - 1)

    corrected = SHELLING_LINE.replace("Civilians (Azerbaijan)", "Ganja").replace(",13,", ",14,")
    assert now.text == HEADER + corrected
    assert before.text == HEADER + SHELLING_LINE


def test_retracted_rows_are_left_out(client, writer, reader):
    seed(client, writer, EVENTS)
    retraction = valid_event("retraction", retracts_event_id=SHELLING["event_id"])
    receipt = post(client, writer, retraction)
    assert receipt.status_code == 201, receipt.text

    response = acled(client, reader, receipt.json()["position"])

    assert response.text == HEADER + CLASH_LINE + STRIKE_LINE
    assert "truceline-attribution" not in response.headers


def test_acled_pages_may_hold_up_to_the_export_limit(client, writer, reader):
    last = seed(client, writer, EVENTS)

    assert acled(client, reader, last, limit=100_000).text.startswith(HEADER)
    body = assert_problem(acled_raw(client, reader, last, limit=100_001), 422)
    assert [error["loc"] for error in body["errors"]] == [["query", "limit"]]
    assert body["errors"][0]["msg"] == "at most 100000 items a page in ACLED"


def test_accept_text_csv_is_still_the_timelines_own_csv(client, writer, reader):
    last = seed(client, writer, [STRIKE])

    response = client.get(
        "/v1/timeline", params={"min_position": last}, headers={**reader, "Accept": "text/csv"}
    )

    assert response.status_code == 200, response.text
    assert response.text.startswith("event_id,type,conflict,occurred_at,position,")
    assert "truceline-attribution" not in response.headers


def test_an_unknown_format_names_acled_among_the_formats(client, writer, reader):
    body = assert_problem(acled_raw(client, reader, 0, format="xlsx"), 422)
    assert body["errors"] == [
        {"loc": ["query", "format"], "msg": "one of json, csv, geojson, acled, ndjson"}
    ]
