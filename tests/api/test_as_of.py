"""``as_of``: any past answer, reproduced ("Audit: any past answer, reproduced").

``as_of`` is knowledge time: a log position, or an RFC 3339 recorded time meaning the last
position recorded by then. The answer is exactly what the service gave when the log ended
there: corrections and retractions count only from their own position on. ``at`` (world
time) defaults, with ``as_of``, to the ``recorded_at`` of the last entry at or before it,
so that an as-of answer never changes with the clock.

The worked example of shared/examples/breach-rules.md is appended one event per request, so
that each of its eleven entries has its own ``recorded_at``. It and the amended log live in
tests/api/as_of_logs.py, shared with tests/cli/test_replay.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.as_of_logs import (
    AMENDED_LOG,
    CONFLICT,
    EXAMPLE,
    STATEMENT,
    STRIKE,
    WORKED_EXAMPLE,
    n,
)
from tests.helpers import Headers, append_each, assert_problem

# Every read that takes as_of, with what else it needs.
ENDPOINTS: list[tuple[str, dict[str, str]]] = [
    ("/v1/timeline", {}),
    ("/v1/ceasefires", {}),
    ("/v1/ceasefires/truce-1", {"conflict": EXAMPLE}),
    (f"/v1/conflicts/{EXAMPLE}/status", {}),
]


NO_BREACHES = {
    "total": 0,
    "by_party": {},
    "inferred": 0,
    "reported": 0,
    "contested": 0,
    "unattributed": 0,
    "possible": 0,
}
TRUCE_1 = {
    "ceasefire_id": "truce-1",
    "conflict": EXAMPLE,
    "parties": ["North", "South"],
    "mediators": ["Neutralia"],
    "agreed_at": "2021-03-01T09:00:00Z",
    "effective_at": "2021-03-01T10:00:00Z",  # 12:00 in Kyiv
    "ends_at": None,
    "ended_at": None,
    "ended_reason": None,
}
TRUCE_2 = {
    "ceasefire_id": "truce-2",
    "conflict": EXAMPLE,
    "parties": ["North", "South", "East"],
    "agreed_at": "2021-03-04T12:00:00Z",
    "effective_at": "2021-03-05T00:00:00Z",
    "ends_at": None,
    "ended_at": None,
    "ended_reason": None,
}
# Both as-of rows of the worked example's table (``#N`` there is ``n(N)`` here).
TRUCE_1_BREACHES_AS_OF_10 = {
    "total": 4,
    "by_party": {"North": 2, "South": 2},
    "inferred": 3,
    "reported": 1,
    "contested": 1,
    "unattributed": 1,
    "possible": 1,
}
TRUCE_1_AT_MARCH_3_AS_OF_10 = {
    **TRUCE_1,
    "status": "violated",
    "superseded_by": None,
    "breaches": TRUCE_1_BREACHES_AS_OF_10,
    "last_breach_at": "2021-03-02T20:00:00Z",
    "breach_event_ids": [n(2), n(3), n(6), n(7)],
}
TRUCE_2_AT_MARCH_6_NOON_AS_OF_9 = {
    **TRUCE_2,
    "status": "violated",
    "superseded_by": None,
    "breaches": {**NO_BREACHES, "total": 1, "by_party": {"North": 1}, "inferred": 1},
    "last_breach_at": "2021-03-06T10:00:00Z",
    "breach_event_ids": [n(9)],
}
MARCH_3 = "2021-03-03T00:00:00Z"
MARCH_6 = "2021-03-06T00:00:00Z"
MARCH_6_NOON = "2021-03-06T12:00:00Z"


def get(client: TestClient, headers: Headers, path: str, **params: Any) -> Any:
    """The JSON body of a 200 answer."""
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def example(client: TestClient, writer: Headers) -> list[str]:
    """The worked example appended one event a request; the ``recorded_at`` of each
    position (index 0 is position 1)."""
    recorded = append_each(client, writer, WORKED_EXAMPLE)
    # Read-your-writes once, so that answers without as_of see the whole log.
    get(client, writer, "/v1/timeline", min_position=len(WORKED_EXAMPLE))
    return recorded


def status(
    client: TestClient, headers: Headers, ceasefire_id: str, **params: Any
) -> dict[str, Any]:
    body: dict[str, Any] = get(
        client, headers, f"/v1/ceasefires/{ceasefire_id}", conflict=EXAMPLE, **params
    )
    return body


# -- the worked example's as-of rows ---------------------------------------------------------


def test_truce_1_at_march_3_as_of_10(client, reader, example):
    assert status(client, reader, "truce-1", at=MARCH_3, as_of=10) == TRUCE_1_AT_MARCH_3_AS_OF_10


def test_truce_2_at_march_6_noon_as_of_9(client, reader, example):
    body = status(client, reader, "truce-2", at=MARCH_6_NOON, as_of=9)
    # truce-2 names no mediators: the contract leaves [] or null open, but as of 9 it must
    # read as it reads now.
    current = status(client, reader, "truce-2", at=MARCH_6_NOON)
    assert body.pop("mediators") == current["mediators"]

    assert body == TRUCE_2_AT_MARCH_6_NOON_AS_OF_9


# -- corrections and retractions around as_of --------------------------------------------------


def test_the_correction_counts_from_its_own_position_on(client, reader, example):
    """#11 makes #3 North's: as of 10 the old attribution stands, from 11 the new one."""
    before = status(client, reader, "truce-1", at=MARCH_3, as_of=10)
    from_it = status(client, reader, "truce-1", at=MARCH_3, as_of=11)
    now = status(client, reader, "truce-1", at=MARCH_3)

    assert before["breaches"]["by_party"] == {"North": 2, "South": 2}
    corrected = {
        **TRUCE_1_AT_MARCH_3_AS_OF_10,
        "breaches": {**TRUCE_1_BREACHES_AS_OF_10, "by_party": {"North": 3, "South": 1}},
    }
    assert from_it == corrected
    assert now == corrected


def test_the_retraction_counts_from_its_own_position_on(client, reader, example):
    """#10 retracts #9: as of 9 truce-2 is violated, from 10 on it holds."""
    holding = {
        **TRUCE_2_AT_MARCH_6_NOON_AS_OF_9,
        "status": "holding",
        "breaches": NO_BREACHES,
        "last_breach_at": None,
        "breach_event_ids": [],
    }
    answers = {
        as_of: status(client, reader, "truce-2", at=MARCH_6_NOON, as_of=as_of)
        for as_of in (9, 10, 11)
    }
    for answer in answers.values():
        answer.pop("mediators")

    assert answers == {9: TRUCE_2_AT_MARCH_6_NOON_AS_OF_9, 10: holding, 11: holding}


def test_the_list_as_of_7_knows_no_truce_2(client, reader, example):
    """Before #8 is in the log, truce-1 is not superseded at all."""
    as_of_7 = get(client, reader, "/v1/ceasefires", conflict=EXAMPLE, at=MARCH_6, as_of=7)
    as_of_8 = get(client, reader, "/v1/ceasefires", conflict=EXAMPLE, at=MARCH_6, as_of=8)

    assert as_of_7 == {"items": [TRUCE_1_AT_MARCH_3_AS_OF_10]}
    assert [(s["ceasefire_id"], s["status"], s["superseded_by"]) for s in as_of_8["items"]] == [
        ("truce-1", "superseded", "truce-2"),
        ("truce-2", "holding", None),
    ]
    assert as_of_8["items"][0]["breaches"] == TRUCE_1_BREACHES_AS_OF_10


def test_a_ceasefire_not_yet_in_the_log_is_404_as_of_before_it(client, reader, example):
    response = client.get(
        "/v1/ceasefires/truce-2",
        params={"conflict": EXAMPLE, "at": MARCH_6_NOON, "as_of": 7},
        headers=reader,
    )

    assert_problem(response, 404)


def test_conflict_status_as_of(client, reader, example):
    path = f"/v1/conflicts/{EXAMPLE}/status"
    answers = {
        as_of: get(client, reader, path, at=MARCH_6_NOON, as_of=as_of) for as_of in (7, 9, 10)
    }

    assert {as_of: a["state"] for as_of, a in answers.items()} == {
        7: "ceasefire_violated",
        9: "ceasefire_violated",
        10: "ceasefire_holding",
    }
    assert {as_of: a["at"] for as_of, a in answers.items()} == dict.fromkeys(answers, MARCH_6_NOON)
    assert answers[7]["ceasefire"]["ceasefire_id"] == "truce-1"
    assert answers[9]["ceasefire"].pop("mediators") in ([], None)  # the contract is silent
    assert answers[9] == {
        "conflict": EXAMPLE,
        "at": MARCH_6_NOON,
        "state": "ceasefire_violated",
        "ceasefire": TRUCE_2_AT_MARCH_6_NOON_AS_OF_9,
    }
    assert answers[10]["ceasefire"]["ceasefire_id"] == "truce-2"
    assert answers[10]["ceasefire"]["status"] == "holding"


# -- as_of as a recorded time --------------------------------------------------------------


def test_a_recorded_time_answers_as_its_position(client, reader, example):
    reads: list[tuple[str, dict[str, Any]]] = [
        ("/v1/timeline", {"include_retracted": "true"}),
        ("/v1/timeline", {}),
        ("/v1/ceasefires", {"at": MARCH_6_NOON}),
        ("/v1/ceasefires", {}),
        (f"/v1/conflicts/{EXAMPLE}/status", {}),
        (f"/v1/conflicts/{EXAMPLE}/status", {"at": MARCH_3}),
    ]
    for position in (1, 5, 9, 10, 11):
        recorded_at = example[position - 1]
        for path, params in reads:
            by_position = get(client, reader, path, as_of=position, **params)
            by_time = get(client, reader, path, as_of=recorded_at, **params)

            assert by_time == by_position, (position, path, params)


def test_a_recorded_time_may_carry_any_offset_and_fall_between_entries(client, reader, example):
    """The last position recorded at or before the time: 1 µs before entry 10 is entry 9."""
    kyiv = (
        utc(example[8]).astimezone(timezone(timedelta(hours=2))).isoformat(timespec="microseconds")
    )
    just_before_10 = (utc(example[9]) - timedelta(microseconds=1)).isoformat(
        timespec="microseconds"
    )
    assert utc(example[8]) <= utc(just_before_10) < utc(example[9])
    as_of_9 = status(client, reader, "truce-2", at=MARCH_6_NOON, as_of=9)

    assert status(client, reader, "truce-2", at=MARCH_6_NOON, as_of=kyiv) == as_of_9
    assert status(client, reader, "truce-2", at=MARCH_6_NOON, as_of=just_before_10) == as_of_9
    assert as_of_9["status"] == "violated"


def test_a_time_before_the_first_entry_is_the_empty_log(client, reader, example):
    before = (utc(example[0]) - timedelta(seconds=1)).isoformat()

    assert get(client, reader, "/v1/timeline", as_of=before) == {"items": [], "next_cursor": None}
    assert get(client, reader, "/v1/ceasefires", as_of=before, at=MARCH_6) == {"items": []}
    # The conflict has no event yet: a 404 says so, rather than "no_ceasefire".
    response = client.get(
        f"/v1/conflicts/{EXAMPLE}/status", params={"as_of": before, "at": MARCH_6}, headers=reader
    )
    assert_problem(response, 404)
    assert response.json()["detail"] == (
        f"no event of conflict {EXAMPLE!r} in the log up to position 0"
    )


# -- at defaults to the last recorded_at at or before as_of ----------------------------------


def test_at_defaults_to_when_the_last_entry_was_recorded(client, reader, example):
    path = f"/v1/conflicts/{EXAMPLE}/status"
    for position in (1, 8, 9, 11):
        recorded_at = example[position - 1]

        implicit = get(client, reader, path, as_of=position)

        assert utc(implicit["at"]) == utc(recorded_at)
        assert implicit == get(client, reader, path, as_of=position, at=recorded_at)
        assert get(client, reader, "/v1/ceasefires", as_of=position) == get(
            client, reader, "/v1/ceasefires", as_of=position, at=recorded_at
        )
        assert status(client, reader, "truce-1", as_of=position) == status(
            client, reader, "truce-1", as_of=position, at=recorded_at
        )


def test_at_defaults_to_the_recorded_time_that_as_of_names(client, reader, example):
    """as_of given as a time: ``at`` is still the recorded_at of the entry it names, not
    the time as written."""
    later = (utc(example[8]) + (utc(example[9]) - utc(example[8])) / 2).isoformat()

    answer = get(client, reader, f"/v1/conflicts/{EXAMPLE}/status", as_of=later)

    assert utc(answer["at"]) == utc(example[8])


def test_an_as_of_answer_does_not_change_with_the_clock(client, reader, example):
    reads = [
        ("/v1/ceasefires", {"as_of": 9}),
        ("/v1/ceasefires/truce-2", {"conflict": EXAMPLE, "as_of": 9}),
        (f"/v1/conflicts/{EXAMPLE}/status", {"as_of": 9}),
        (f"/v1/conflicts/{EXAMPLE}/status", {"as_of": example[8]}),
    ]
    first = [client.get(path, params=params, headers=reader) for path, params in reads]
    time.sleep(0.05)
    second = [client.get(path, params=params, headers=reader) for path, params in reads]

    assert [r.status_code for r in first + second] == [200] * 8
    assert [r.content for r in second] == [r.content for r in first]
    # Without as_of, ``at`` is now: the same question asked later is answered later.
    now = [get(client, reader, f"/v1/conflicts/{EXAMPLE}/status") for _ in range(2)]
    assert utc(now[0]["at"]) < utc(now[1]["at"])


# -- as_of beyond the end of the log ---------------------------------------------------------


@pytest.mark.parametrize("as_of", ["11", "12", "99999999999999999999"])
def test_as_of_at_or_beyond_the_end_answers_like_the_current_log(client, reader, example, as_of):
    for params in ({}, {"include_retracted": "true"}, {"conflict": EXAMPLE, "limit": 3}):
        assert get(client, reader, "/v1/timeline", as_of=as_of, **params) == get(
            client, reader, "/v1/timeline", **params
        )
    for at in (MARCH_3, MARCH_6_NOON):
        assert get(client, reader, "/v1/ceasefires", as_of=as_of, at=at) == get(
            client, reader, "/v1/ceasefires", at=at
        )
        assert status(client, reader, "truce-1", as_of=as_of, at=at) == status(
            client, reader, "truce-1", at=at
        )
        path = f"/v1/conflicts/{EXAMPLE}/status"
        assert get(client, reader, path, as_of=as_of, at=at) == get(client, reader, path, at=at)
    # Without at, beyond the end is the end: at is the last entry's recorded_at.
    assert get(client, reader, "/v1/ceasefires", as_of=as_of) == get(
        client, reader, "/v1/ceasefires", as_of=11
    )


def test_a_recorded_time_after_the_last_entry_is_the_whole_log(client, reader, example):
    later = (utc(example[-1]) + timedelta(days=1)).isoformat()

    assert get(client, reader, "/v1/timeline", as_of=later) == get(client, reader, "/v1/timeline")
    assert get(client, reader, "/v1/ceasefires", as_of=later) == get(
        client, reader, "/v1/ceasefires", as_of=11
    )


# -- the timeline around corrections and retractions ----------------------------------------


def strike_item(*, killed: int, occurred_at: str, corrected: bool) -> dict[str, Any]:
    return {
        "event_id": STRIKE,
        "type": "strike",
        "conflict": CONFLICT,
        "occurred_at": occurred_at,
        "time_precision": "exact",
        "position": 1,
        "perpetrator": "North",
        "killed": killed,
        "corrected": corrected,
        "retracted": False,
    }


def statement_item(*, retracted: bool) -> dict[str, Any]:
    return {
        "event_id": STATEMENT,
        "type": "statement",
        "conflict": CONFLICT,
        "occurred_at": "2022-01-02T00:00:00Z",
        "time_precision": "exact",
        "position": 2,
        "speaker": "South",
        "text": "Calm.",
        "corrected": False,
        "retracted": retracted,
    }


ORIGINAL = strike_item(killed=2, occurred_at="2022-01-01T00:00:00Z", corrected=False)
CORRECTED = strike_item(killed=5, occurred_at="2022-01-03T00:00:00Z", corrected=True)
SAID = statement_item(retracted=False)
UNSAID = statement_item(retracted=True)


@pytest.fixture
def amended(client: TestClient, writer: Headers) -> None:
    append_each(client, writer, AMENDED_LOG)


# as_of -> (items shown, items shown with include_retracted)
AMENDED_TIMELINE: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    1: ([ORIGINAL], [ORIGINAL]),
    2: ([ORIGINAL, SAID], [ORIGINAL, SAID]),
    3: ([SAID, CORRECTED], [SAID, CORRECTED]),
    4: ([CORRECTED], [UNSAID, CORRECTED]),
    5: ([ORIGINAL], [ORIGINAL, UNSAID]),
}


def test_the_timeline_as_of_each_position(client, reader, amended):
    answers = {
        as_of: (
            get(client, reader, "/v1/timeline", conflict=CONFLICT, as_of=as_of),
            get(
                client,
                reader,
                "/v1/timeline",
                conflict=CONFLICT,
                as_of=as_of,
                include_retracted="true",
            ),
        )
        for as_of in AMENDED_TIMELINE
    }

    assert answers == {
        as_of: (
            {"items": shown, "next_cursor": None},
            {"items": with_retracted, "next_cursor": None},
        )
        for as_of, (shown, with_retracted) in AMENDED_TIMELINE.items()
    }


def test_the_current_timeline_is_the_last_as_of(client, reader, amended):
    for params in ({}, {"include_retracted": "true"}):
        current = get(client, reader, "/v1/timeline", min_position=5, **params)
        assert current == get(client, reader, "/v1/timeline", as_of=5, **params)
        assert current == get(client, reader, "/v1/timeline", as_of=6, **params)


def test_filters_apply_to_the_items_as_they_stood(client, reader, amended):
    """``to`` and ``killed`` follow the correction in force as of each position."""
    params = {"conflict": CONFLICT, "to": "2022-01-02T12:00:00Z", "include_retracted": "true"}

    assert get(client, reader, "/v1/timeline", as_of=2, **params)["items"] == [ORIGINAL, SAID]
    assert get(client, reader, "/v1/timeline", as_of=3, **params)["items"] == [SAID]
    assert get(client, reader, "/v1/timeline", as_of=5, **params)["items"] == [ORIGINAL, UNSAID]


def test_pages_of_an_as_of_timeline_follow_on(client, reader, amended):
    first = get(client, reader, "/v1/timeline", as_of=3, limit=1)
    assert first["items"] == [SAID]
    assert first["next_cursor"] is not None

    second = get(client, reader, "/v1/timeline", as_of=3, limit=1, cursor=first["next_cursor"])

    assert second == {"items": [CORRECTED], "next_cursor": None}


# -- invalid as_of ---------------------------------------------------------------------------


# "²" and "١٢" are digits to str.isdigit, but no log position.
INVALID_AS_OF = [
    "yesterday",
    "-1",
    "3.5",
    "1e3",
    "",
    "2021-13-01T00:00:00Z",
    "2021-03-01",
    "²",
    "١٢",
]


def test_an_invalid_as_of_is_a_422_naming_it(client, reader):
    """Every read, every malformed as_of: a 422 problem whose one error is at
    ["query", "as_of"] (collected, so that one answer shows every miss)."""
    answers = {
        (path, as_of): client.get(path, params={**params, "as_of": as_of}, headers=reader)
        for path, params in ENDPOINTS
        for as_of in INVALID_AS_OF
    }

    misses = [
        (path, as_of, r.status_code, r.headers.get("content-type"))
        for (path, as_of), r in answers.items()
        if r.status_code != 422 or r.headers.get("content-type") != "application/problem+json"
    ]
    assert misses == []
    for response in answers.values():
        body = assert_problem(response, 422)
        assert [error["loc"] for error in body["errors"]] == [["query", "as_of"]]
        assert all(error["msg"] for error in body["errors"])


def test_the_log_and_an_event_read_as_of_a_position(client, writer, reader):
    """``as_of`` on the log reads: the entries up to it, an event's history up to it."""
    agreed = {
        "type": "statement",
        "conflict": "as-of-log",
        "occurred_at": "2021-03-01T09:00:00Z",
        "event_id": "00000000-0000-4000-8000-0000000000a1",
        "speaker": "North",
        "text": "a",
    }
    correction = {
        "type": "correction",
        "conflict": "as-of-log",
        "occurred_at": "2021-03-02T09:00:00Z",
        "event_id": "00000000-0000-4000-8000-0000000000a2",
        "corrects_event_id": agreed["event_id"],
        "changes": {"text": "b"},
    }
    for event in (agreed, correction):
        assert client.post("/v1/events", json=event, headers=writer).status_code == 201
    page = client.get("/v1/events?as_of=1", headers=reader).json()
    assert [e["position"] for e in page["events"]] == [1]
    assert page["next_after"] == 1
    assert client.get("/v1/events?after=1&as_of=1", headers=reader).json() == {
        "events": [],
        "next_after": None,
    }
    early = client.get(f"/v1/events/{agreed['event_id']}?as_of=1", headers=reader).json()
    late = client.get(f"/v1/events/{agreed['event_id']}?as_of=2", headers=reader).json()
    assert early["history"] == []
    assert [h["event"]["event_id"] for h in late["history"]] == [correction["event_id"]]
    missing = client.get(f"/v1/events/{correction['event_id']}?as_of=1", headers=reader)
    assert missing.status_code == 404
