"""``GET /v1/timeline``: exact items, order, amendments, filters, keyset pages, CSV, GeoJSON,
``min_position`` (read-your-writes or 503), and ``/v1/health`` catching up.

Every test starts from the same small case file (:data:`EVENTS`), appended out of world
order, then amended: the strike corrected, the shelling retracted, and a correction of the
statement itself retracted. The case file lives in tests/api/timeline_case.py, shared with
tests/e2e/test_two_servers.py. Reads pass ``min_position`` so they never race the follower.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.api.timeline_case import (
    AMENDMENTS,
    APPEND_ORDER,
    CEASEFIRE_ID,
    CURRENT,
    EVENTS,
    LAST,
    NK,
    ORDER,
    ORDER_WITH_RETRACTED,
    PACIFIC,
    STEPANAKERT,
    item,
)
from tests.api.timeline_case import case_id as _id
from tests.helpers import Envelope, Headers, assert_problem, post, post_batch
from truceline.api import create_app
from truceline.application.keys import create_key

WITH_COORDINATES = ["agreed", "strike", "island_strike", "island_shelling", "displacement"]

LINK_NEXT = re.compile(r'^<([^>]+)>; rel="next"$')


def seed(client: TestClient, writer: Headers) -> None:
    """Append the case file and its amendments; positions 1..LAST."""
    appended = post_batch(client, writer, [EVENTS[name] for name in APPEND_ORDER])
    assert appended.status_code == 201, appended.text
    amended = post_batch(client, writer, AMENDMENTS)
    assert amended.status_code == 201, amended.text
    positions = [r["position"] for r in appended.json()["results"] + amended.json()["results"]]
    assert positions == list(range(1, LAST + 1))


def get_timeline(
    client: TestClient,
    headers: Headers,
    params: dict[str, Any] | None = None,
    min_position: int = LAST,
) -> Response:
    response: Response = client.get(
        "/v1/timeline", params={"min_position": min_position, **(params or {})}, headers=headers
    )
    return response


def timeline(
    client: TestClient, headers: Headers, params: dict[str, Any] | None = None
) -> list[Envelope]:
    """One JSON page that holds everything (asserts there is no next page)."""
    response = get_timeline(client, headers, params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    assert body["next_cursor"] is None
    assert "link" not in response.headers
    items: list[Envelope] = body["items"]
    return items


def names(items: list[Envelope]) -> list[str]:
    by_id: dict[str, str] = {event["event_id"]: name for name, event in EVENTS.items()}
    ids = [str(i["event_id"]) for i in items]
    return [by_id.get(event_id, event_id) for event_id in ids]


def walk(
    client: TestClient, headers: Headers, params: dict[str, Any], min_position: int = LAST
) -> list[list[Envelope]]:
    """Every JSON page, following ``next_cursor``."""
    pages: list[list[Envelope]] = []
    cursor: str | None = None
    while True:
        response = get_timeline(
            client, headers, {**params, **({"cursor": cursor} if cursor else {})}, min_position
        )
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"


def follow_links(client: TestClient, response: Response, headers: Headers) -> list[Response]:
    """The response and every page its ``Link: rel="next"`` headers lead to."""
    responses = [response]
    while "link" in responses[-1].headers:
        match = LINK_NEXT.match(responses[-1].headers["link"])
        assert match, responses[-1].headers["link"]
        responses.append(client.get(match.group(1), headers=headers))
        assert responses[-1].status_code == 200, responses[-1].text
        assert len(responses) < 100, "the Link headers never end"
    return responses


# -- items, order, amendments -----------------------------------------------------------------


def test_items_are_exact_and_ordered_by_occurred_at_then_position(client, writer, reader):
    seed(client, writer)

    items = timeline(client, reader)

    assert names(items) == ORDER
    assert items == [CURRENT[name] for name in ORDER]


def test_retracted_items_are_hidden_unless_asked_for(client, writer, reader):
    seed(client, writer)

    hidden = timeline(client, reader, {"include_retracted": "false"})
    shown = timeline(client, reader, {"include_retracted": "true"})

    assert names(hidden) == ORDER
    assert names(shown) == ORDER_WITH_RETRACTED
    assert shown == [CURRENT[name] for name in ORDER_WITH_RETRACTED]
    assert shown[2] == {**item("shelling"), "retracted": True}


def test_a_correction_applies_and_a_retracted_correction_no_longer_does(client, writer, reader):
    statement = EVENTS["statement"]
    correction, retraction = AMENDMENTS[2], AMENDMENTS[3]

    assert post(client, writer, statement).status_code == 201
    assert post(client, writer, correction).status_code == 201
    corrected = _read_all(client, reader, 2)
    assert post(client, writer, retraction).status_code == 201
    restored = _read_all(client, reader, 3)

    first = {**item("statement"), "position": 1}
    assert corrected == [{**first, "text": "Nothing to add.", "corrected": True}]
    assert restored == [first]


def _read_all(client: TestClient, headers: Headers, min_position: int) -> list[Envelope]:
    response = get_timeline(client, headers, {"include_retracted": "true"}, min_position)
    assert response.status_code == 200, response.text
    items: list[Envelope] = response.json()["items"]
    return items


def _amendment(n: int, kind: str, target: str, **fields: Any) -> Envelope:
    key = "corrects_event_id" if kind == "correction" else "retracts_event_id"
    return {
        "type": kind,
        "event_id": _id(n),
        "conflict": NK,
        "occurred_at": "2020-10-17T00:00:00Z",
        key: target,
        **fields,
    }


def test_corrections_apply_in_log_order_and_each_retracted_one_stops_applying(
    client, writer, reader
):
    strike = EVENTS["strike"]
    steps = [
        _amendment(21, "correction", strike["event_id"], changes={"killed": 4}),
        _amendment(22, "correction", strike["event_id"], changes={"killed": 6, "target": "Shusha"}),
        _amendment(23, "retraction", _id(22), reason="wrong report"),
        _amendment(24, "retraction", _id(21), reason="wrong report"),
    ]
    assert post(client, writer, strike).status_code == 201
    original = {**item("strike"), "position": 1}

    seen = []
    for position, step in enumerate(steps, start=2):
        assert post(client, writer, step).status_code == 201
        (current,) = _read_all(client, reader, position)
        seen.append(current)

    assert seen == [
        {**original, "corrected": True, "killed": 4},
        {**original, "corrected": True, "killed": 6, "target": "Shusha"},
        {**original, "corrected": True, "killed": 4},
        original,
    ]


def test_filters_see_corrected_values(client, writer, reader):
    seed(client, writer)
    island, displacement = EVENTS["island_strike"], EVENTS["displacement"]
    suva = {"name": "Suva", "lat": -18.14, "lon": 178.44}
    corrections = [
        _amendment(
            21,
            "correction",
            island["event_id"],
            conflict=PACIFIC,
            changes={"perpetrator": "Green", "location": suva},
        ),
        _amendment(22, "correction", displacement["event_id"], changes={"location": None}),
    ]
    assert post_batch(client, writer, corrections).status_code == 201
    moved = item("island_strike", corrected=True, perpetrator="Green", location=suva)
    unplaced = {k: v for k, v in item("displacement", corrected=True).items() if k != "location"}

    def read(params: dict[str, Any]) -> list[Envelope]:
        response = get_timeline(client, reader, params, LAST + 2)
        assert response.status_code == 200, response.text
        items: list[Envelope] = response.json()["items"]
        return items

    assert read({"actor": "Blue"}) == []
    assert read({"actor": "Green"}) == [moved]
    assert read({"location": "Taveuni"}) == []
    assert read({"location": "Suva"}) == [moved]
    assert read({"location": "Stepanakert"}) == [CURRENT["strike"]]
    assert read({"bbox": "178,-19,179,-18"}) == [moved]
    assert read({"bbox": "179,-20,-170,-10"}) == [CURRENT["island_shelling"]]
    assert read({"type": "displacement"}) == [unplaced]
    geojson = get_timeline(client, reader, {"format": "geojson"}, LAST + 2).json()
    assert [f["properties"]["event_id"] for f in geojson["features"]] == [
        EVENTS[name]["event_id"]
        for name in ("agreed", "strike", "island_strike", "island_shelling")
    ]


def test_a_corrected_occurred_at_moves_the_item(client, writer, reader):
    seed(client, writer)
    moved = {
        "type": "correction",
        "event_id": _id(20),
        "conflict": NK,
        "occurred_at": "2020-10-17T00:00:00Z",
        "corrects_event_id": EVENTS["agreed"]["event_id"],
        "changes": {"occurred_at": "2020-10-12T18:00:00+03:00"},
    }
    assert post(client, writer, moved).status_code == 201

    response = get_timeline(client, reader, min_position=LAST + 1)

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert names(items) == [
        "strike",
        "island_strike",
        "clash",
        "breach",
        "agreed",  # now 2020-10-12T15:00:00Z
        "island_shelling",
        "statement",
        "displacement",
        "casualty",
    ]
    assert items[4] == item("agreed", corrected=True, occurred_at="2020-10-12T15:00:00Z")


# -- filters ----------------------------------------------------------------------------------

ALONE: list[tuple[dict[str, Any], list[str]]] = [
    ({"conflict": PACIFIC}, ["island_strike", "island_shelling"]),
    ({"conflict": NK}, [n for n in ORDER if not n.startswith("island")]),
    ({"type": ["strike", "shelling"]}, ["strike", "island_strike", "island_shelling"]),
    ({"type": "ceasefire_breached"}, ["breach"]),
    (
        {"type": ["displacement", "statement", "casualty_report"]},
        ["statement", "displacement", "casualty"],
    ),
    ({"actor": "Azerbaijan"}, ["agreed", "strike", "clash"]),  # party, perpetrator, initiator
    ({"actor": "Armenia"}, ["agreed", "clash", "breach"]),  # party, party, accused
    ({"actor": "Russia"}, ["statement"]),  # a speaker; a mediator is not an actor
    ({"actor": "Blue"}, ["island_strike"]),
    ({"actor": "Nobody"}, []),
    ({"location": "Stepanakert"}, ["strike", "displacement"]),
    ({"location": "Hadrut"}, ["clash"]),
    (
        {"from": "2020-10-12T12:00:00Z"},
        ["breach", "island_shelling", "statement", "displacement", "casualty"],
    ),
    ({"to": "2020-10-11T12:00:00Z"}, ["agreed", "strike", "island_strike"]),
    ({"from": "2020-10-13T06:00:00Z", "to": "2020-10-13T06:00:00Z"}, ["statement"]),
    ({"from": "2020-10-13T06:00:00.000001Z"}, ["displacement", "casualty"]),
    ({"bbox": "46,39,47,41"}, ["strike", "displacement"]),
    ({"bbox": "37,55,38,56"}, ["agreed"]),
    ({"bbox": "-180,-90,180,90"}, WITH_COORDINATES),
    ({"bbox": "179,-20,-170,-10"}, ["island_strike", "island_shelling"]),  # the antimeridian
    ({"bbox": "179.99,-20,-170,-10"}, ["island_shelling"]),
    ({"bbox": "-179,-20,-170,-10"}, ["island_shelling"]),
    ({"bbox": "170,-20,-175,-10"}, ["island_strike"]),
]

COMBINED: list[tuple[dict[str, Any], list[str]]] = [
    ({"conflict": NK, "type": ["strike", "shelling"]}, ["strike"]),
    ({"actor": "Azerbaijan", "type": "clash"}, ["clash"]),
    ({"actor": "Armenia", "from": "2020-10-12T00:00:00Z"}, ["clash", "breach"]),
    ({"location": "Stepanakert", "to": "2020-10-13T00:00:00Z"}, ["strike"]),
    ({"bbox": "46,39,47,41", "from": "2020-10-12T00:00:00Z"}, ["displacement"]),
    ({"conflict": PACIFIC, "actor": "Red"}, ["island_shelling"]),
    ({"conflict": PACIFIC, "location": "Stepanakert"}, []),
    # Bounds with offsets: 10:00+04:00 is 06:00Z, and both bounds are inclusive.
    (
        {"from": "2020-10-11T10:00:00+04:00", "to": "2020-10-12T15:00:00+03:00"},
        ["strike", "island_strike", "clash", "breach"],
    ),
    ({"actor": "Armenia", "include_retracted": "true"}, ["agreed", "shelling", "clash", "breach"]),
    ({"bbox": "46,39,47,41", "include_retracted": "true"}, ["strike", "shelling", "displacement"]),
]


def _check_filters(
    client: TestClient, headers: Headers, cases: list[tuple[dict[str, Any], list[str]]]
) -> None:
    current = {**CURRENT}
    wrong = []
    for params, expected in cases:
        items = timeline(client, headers, params)
        if items != [current[name] for name in expected]:
            wrong.append((params, expected, names(items)))
    assert wrong == [], "(filter, expected, answered)"


def test_each_filter_alone(client, writer, reader):
    seed(client, writer)
    _check_filters(client, reader, ALONE)


def test_a_conflict_with_no_event_is_404_not_an_empty_list(client, writer, reader):
    seed(client, writer)

    response = get_timeline(client, reader, {"conflict": "no-such-war"})

    assert_problem(response, 404)
    assert response.json()["detail"] == "no event of conflict 'no-such-war' in the log"


def test_newest_first_is_the_same_items_reversed_and_pages_alike(client, writer, reader):
    seed(client, writer)
    oldest_first = timeline(client, reader)
    pages, cursor = [], None
    while True:
        params = {"order": "desc", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get_timeline(client, reader, params).json()
        pages.append(page["items"])
        if (cursor := page["next_cursor"]) is None:
            break

    assert [item for page in pages for item in page] == oldest_first[::-1]
    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)


def test_filters_combined(client, writer, reader):
    seed(client, writer)
    _check_filters(client, reader, COMBINED)


# -- keyset pages -----------------------------------------------------------------------------


def test_walking_next_cursor_gives_every_item_exactly_once(client, writer, reader):
    seed(client, writer)

    for limit in (1, 2, 4, 9, 10):
        pages = walk(client, reader, {"limit": limit})
        assert [len(page) for page in pages[:-1]] == [limit] * (len(pages) - 1)
        assert 1 <= len(pages[-1]) <= limit
        assert [i for page in pages for i in page] == [CURRENT[name] for name in ORDER]

    # Across the tie (the strike and the shelling share an instant), and with filters.
    pages = walk(client, reader, {"limit": 1, "include_retracted": "true"})
    assert [names(page) for page in pages] == [[name] for name in ORDER_WITH_RETRACTED]
    pages = walk(
        client,
        reader,
        {"limit": 2, "conflict": NK, "type": ["strike", "shelling"], "include_retracted": "true"},
    )
    assert [names(page) for page in pages] == [["strike", "shelling"]]


def _strike(n: int, occurred_at: str, conflict: str = NK) -> Envelope:
    return {
        "type": "strike",
        "event_id": _id(n),
        "conflict": conflict,
        "occurred_at": occurred_at,
        "perpetrator": "Azerbaijan",
    }


def test_pages_stay_correct_when_events_are_appended_between_requests(client, writer, reader):
    seed(client, writer)
    first = get_timeline(client, reader, {"limit": 3})
    assert first.status_code == 200, first.text
    assert names(first.json()["items"]) == ["agreed", "strike", "island_strike"]

    # The cursor sits at island_strike (2020-10-11T12:00:00Z, position 10).
    before = _strike(30, "2020-10-10T12:00:00Z")  # sorts before it: never on a later page
    tie = _strike(31, "2020-10-11T12:00:00Z")  # same instant, later position: after it
    later = _strike(32, "2020-10-13T03:00:00Z")  # between island_shelling and statement
    appended = post_batch(client, writer, [before, tie, later])
    assert appended.status_code == 201, appended.text

    second = get_timeline(
        client, reader, {"limit": 3, "cursor": first.json()["next_cursor"]}, LAST + 3
    )
    assert second.status_code == 200, second.text
    assert names(second.json()["items"]) == [_id(31), "clash", "breach"]

    last = _strike(33, "2020-10-20T00:00:00Z")  # after everything
    earlier = _strike(34, "2020-10-12T06:00:00Z")  # before the second cursor
    assert post_batch(client, writer, [last, earlier]).status_code == 201
    rest = walk(client, reader, {"limit": 3, "cursor": second.json()["next_cursor"]}, LAST + 5)

    seen = [
        *first.json()["items"],
        *second.json()["items"],
        *(i for page in rest for i in page),
    ]
    assert names(seen) == [
        "agreed",
        "strike",
        "island_strike",
        _id(31),
        "clash",
        "breach",
        "island_shelling",
        _id(32),
        "statement",
        "displacement",
        "casualty",
        _id(33),
    ]
    assert len({i["event_id"] for i in seen}) == len(seen)
    # A fresh walk sees the ones that landed before the cursors too.
    fresh = [i for page in walk(client, reader, {"limit": 4}, LAST + 5) for i in page]
    assert names(fresh) == [
        "agreed",
        _id(30),
        "strike",
        "island_strike",
        _id(31),
        "clash",
        _id(34),
        "breach",
        "island_shelling",
        _id(32),
        "statement",
        "displacement",
        "casualty",
        _id(33),
    ]


# -- bad requests -----------------------------------------------------------------------------


def _cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({"cursor": "not a cursor!"}, "cursor"),
    ({"cursor": "bm90IGpzb24"}, "cursor"),  # base64 of "not json"
    ({"cursor": _cursor_of(["2020", 1])}, "cursor"),
    ({"cursor": _cursor_of([1])}, "cursor"),
    ({"cursor": _cursor_of({"occurred": 1, "position": 1})}, "cursor"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "1,2,3,4,5"}, "bbox"),
    ({"bbox": "0,10,10,5"}, "bbox"),  # min lat above max lat
    ({"bbox": "0,0,181,10"}, "bbox"),
    ({"bbox": "0,-91,10,10"}, "bbox"),
    ({"bbox": "nan,0,1,1"}, "bbox"),
    ({"bbox": "inf,0,1,1"}, "bbox"),
    ({"from": "yesterday"}, "from"),
    ({"from": "2020-13-01T00:00:00Z"}, "from"),
    ({"from": "2020-10-10T00:00:00"}, "from"),  # no offset and no zone
    ({"to": "2020-10-10"}, "to"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),  # JSON pages hold at most 1,000
    ({"limit": "100001", "format": "csv"}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"min_position": "-1"}, "min_position"),
]


def test_bad_query_parameters_are_422_problems(client, writer, reader):
    seed(client, writer)
    for params, name in BAD_REQUESTS:
        body = assert_problem(get_timeline(client, reader, params), 422)
        assert [error["loc"] for error in body["errors"]] == [["query", name]], params


def test_csv_and_geojson_pages_may_hold_more_than_1000(client, writer, reader):
    seed(client, writer)
    accept_csv = {**reader, "Accept": "text/csv"}
    for response in (
        get_timeline(client, reader, {"limit": 1001, "format": "csv"}),
        get_timeline(client, accept_csv, {"limit": 100_000}),
        get_timeline(client, reader, {"limit": 1001, "format": "geojson"}),
    ):
        assert response.status_code == 200, response.text
        assert "link" not in response.headers


# -- CSV --------------------------------------------------------------------------------------

HEADER_START = ["event_id", "type", "conflict", "occurred_at", "position"]


def _same_cell(cell: str, value: Any) -> bool:
    """Whether a CSV cell says ``value``: nested values as JSON text, booleans as words."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    if isinstance(value, dict | list):
        return bool(json.loads(cell) == value)
    if isinstance(value, int):
        return cell == str(value)
    if isinstance(value, float):
        return float(cell) == value
    return bool(cell == value)


def assert_csv_matches(response: Response, items: list[Envelope]) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.text)))
    header, body = rows[0], rows[1:]
    assert header[:5] == HEADER_START
    assert len(set(header)) == len(header)
    assert len(body) == len(items)
    for row, expected in zip(body, items, strict=True):
        assert len(row) == len(header)
        assert set(expected) <= set(header), set(expected) - set(header)
        cells = dict(zip(header, row, strict=True))
        wrong = {
            name: (cells[name], expected.get(name))
            for name in header
            if not _same_cell(cells[name], expected.get(name))
        }
        assert wrong == {}, expected["event_id"]


def test_csv_by_format_and_by_accept_holds_the_json_items(client, writer, reader):
    seed(client, writer)
    params = {"include_retracted": "true"}
    items = timeline(client, reader, params)
    assert names(items) == ORDER_WITH_RETRACTED

    by_format = get_timeline(client, reader, {**params, "format": "csv"})
    by_accept = get_timeline(client, {**reader, "Accept": "text/csv"}, params)

    assert_csv_matches(by_format, items)
    assert_csv_matches(by_accept, items)
    assert by_format.text == by_accept.text
    # A nested value, spelled out: the strike's location.
    rows = list(csv.DictReader(io.StringIO(by_format.text)))
    assert json.loads(rows[1]["location"]) == STEPANAKERT
    assert rows[1]["killed"] == "4"
    assert (rows[1]["corrected"], rows[2]["retracted"]) == ("true", "true")


def test_csv_pages_follow_the_link_header(client, writer, reader):
    seed(client, writer)
    headers = {**reader, "Accept": "text/csv"}

    pages = follow_links(client, get_timeline(client, headers, {"limit": 4}), headers)

    assert len(pages) == 3
    rows = [row for page in pages for row in list(csv.DictReader(io.StringIO(page.text)))]
    assert [row["event_id"] for row in rows] == [CURRENT[name]["event_id"] for name in ORDER]
    for page in pages:
        assert page.headers["content-type"].split(";")[0] == "text/csv"


def test_link_headers_keep_every_filter(client, writer, reader):
    seed(client, writer)
    params = {"type": ["strike", "shelling", "displacement"], "include_retracted": "true"}
    expected = ["strike", "shelling", "island_strike", "island_shelling", "displacement"]

    for extra in ({"format": "csv"}, {"format": "geojson"}, {}):
        first = get_timeline(client, reader, {**params, **extra, "limit": 1})
        pages = follow_links(client, first, reader)

        assert len(pages) == len(expected), extra
        if extra.get("format") == "csv":
            ids = [r["event_id"] for p in pages for r in csv.DictReader(io.StringIO(p.text))]
        elif extra.get("format") == "geojson":
            ids = [f["properties"]["event_id"] for p in pages for f in p.json()["features"]]
        else:
            ids = [i["event_id"] for p in pages for i in p.json()["items"]]
        assert ids == [EVENTS[name]["event_id"] for name in expected], extra


def test_csv_quotes_commas_quotes_newlines_and_non_ascii(client, writer, reader):
    awkward = {
        "type": "statement",
        "event_id": _id(50),
        "conflict": NK,
        "occurred_at": "2020-10-13T00:00:00Z",
        "speaker": 'Ministry of Defence, "Press" office',
        "text": 'They said "no", twice.\nThen: ceasefire — 停火; Ağdam, Xankəndi',
        "location": {"name": "Ağdam, district", "lat": 39.99, "lon": 46.93},
        "sources": [{"name": 'Agency, "B"', "url": "https://example.org/b?x=1,2"}],
    }
    assert post(client, writer, awkward).status_code == 201

    items = [
        {
            **awkward,
            "time_precision": "exact",
            "position": 1,
            "corrected": False,
            "retracted": False,
        }
    ]
    assert timeline(client, reader, {"min_position": 1}) == items
    response = get_timeline(client, reader, {"format": "csv"}, min_position=1)
    assert_csv_matches(response, items)
    (row,) = csv.DictReader(io.StringIO(response.text))
    assert row["text"] == awkward["text"]
    assert json.loads(row["location"]) == awkward["location"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"], ids=repr)
def test_csv_text_that_a_spreadsheet_would_run_is_escaped(client, writer, reader, start):
    """The contract: a text cell beginning with a formula character gets a leading
    quote; number cells (a negative longitude) stay numbers."""
    speaker = f'{start}HYPERLINK("https://example.org/x","click")'
    formula: Envelope = {
        "type": "statement",
        "event_id": _id(51),
        "conflict": NK,
        "occurred_at": "2020-10-13T00:00:00Z",
        "speaker": speaker,
        "text": "Plain text.",
        "location": {"name": "West", "lat": 10.5, "lon": -20.25},
    }
    assert post(client, writer, formula).status_code == 201

    response = get_timeline(client, reader, {"format": "csv"}, min_position=1)

    (row,) = csv.DictReader(io.StringIO(response.text))
    assert row["speaker"] == "'" + speaker
    assert row["text"] == "Plain text."
    assert json.loads(row["location"])["lon"] == -20.25


def test_the_link_header_is_relative_whatever_the_host(client, writer, reader):
    seed(client, writer)

    response = client.get(
        "/v1/timeline",
        params={"limit": 1, "min_position": LAST},  # the reader waits for the seed's pages
        headers={**reader, "Host": "attacker.example"},
    )

    match = LINK_NEXT.match(response.headers["link"])
    assert match, response.headers["link"]
    assert match.group(1).startswith("/v1/timeline?"), match.group(1)
    assert "attacker" not in response.headers["link"]


# -- GeoJSON ----------------------------------------------------------------------------------


def _feature(item: Envelope) -> Envelope:
    location = item["location"]
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [location["lon"], location["lat"]]},
        "properties": item,
    }


def test_geojson_by_format_and_by_accept(client, writer, reader):
    seed(client, writer)
    expected: Envelope = {
        "type": "FeatureCollection",
        "features": [_feature(CURRENT[name]) for name in WITH_COORDINATES],
    }

    by_format = get_timeline(client, reader, {"format": "geojson"})
    by_accept = get_timeline(client, {**reader, "Accept": "application/geo+json"})

    for response in (by_format, by_accept):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/geo+json"
        assert response.json() == expected
    assert expected["features"][0]["geometry"]["coordinates"] == [37.6173, 55.7558]


def test_geojson_pages_follow_the_link_header(client, writer, reader):
    seed(client, writer)

    pages = follow_links(
        client, get_timeline(client, reader, {"format": "geojson", "limit": 2}), reader
    )

    assert len(pages) == 5  # pages count items; items without coordinates are left out
    features = [f for page in pages for f in page.json()["features"]]
    assert features == [_feature(CURRENT[name]) for name in WITH_COORDINATES]
    assert "link" not in pages[-1].headers


def test_json_pages_carry_the_link_header_too(client, writer, reader):
    seed(client, writer)
    pages = follow_links(client, get_timeline(client, reader, {"limit": 5}), reader)
    assert [names(page.json()["items"]) for page in pages] == [ORDER[:5], ORDER[5:]]


# -- min_position and health ------------------------------------------------------------------


def test_a_read_with_min_position_sees_the_write(client, writer, reader):
    for n in range(1, 6):
        event = _strike(40 + n, f"2020-10-0{n}T00:00:00Z")
        receipt = post(client, writer, event)
        assert receipt.status_code == 201, receipt.text
        assert receipt.json()["position"] == n

        response = get_timeline(client, reader, min_position=n)

        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [i["event_id"] for i in items] == [_id(40 + k) for k in range(1, n + 1)]
        assert items[-1] == {
            **event,
            "time_precision": "exact",
            "position": n,
            "corrected": False,
            "retracted": False,
        }


def test_min_position_beyond_the_log_is_a_422_at_once_naming_the_last_position(
    settings, tmp_path: Path
):
    """A position no append has answered can never be reached: no wait (which would hold
    a worker thread for read_wait_seconds), a 422 naming the log's last position."""
    patient = settings.model_copy(
        update={"read_wait_seconds": 5, "read_model_path": str(tmp_path / "patient.db")}
    )
    with TestClient(create_app(patient), raise_server_exceptions=False) as client:
        _, token = create_key(client.app.state.app.store, "patient reader", "reader")  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {token}"}
        for path, params in (
            ("/v1/timeline", {}),
            ("/v1/ceasefires", {}),
            (f"/v1/ceasefires/{CEASEFIRE_ID}", {"conflict": NK}),
            (f"/v1/conflicts/{NK}/status", {}),
        ):
            started = time.monotonic()
            response = client.get(path, params={**params, "min_position": 1}, headers=headers)
            waited = time.monotonic() - started

            body = assert_problem(response, 422)
            assert body["errors"] == [
                {
                    "loc": ["query", "min_position"],
                    "msg": "is beyond the log's last position, 0: pass the position an "
                    "append answered",
                }
            ], path
            assert waited < 1, (path, waited)


def test_health_projection_position_reaches_log_position(client, writer, reader):
    seed(client, writer)

    deadline = time.monotonic() + 10
    while True:
        health = client.get("/v1/health").json()
        if health["projection_position"] == health["log_position"] or time.monotonic() > deadline:
            break
        time.sleep(0.02)

    assert health == {"status": "ok", "log_position": LAST, "projection_position": LAST}
