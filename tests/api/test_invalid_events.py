"""Every bad input the contract lists: 4xx problem+json naming the field, nothing stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from _pytest.mark import ParameterSet
from fastapi.testclient import TestClient
from httpx import Response

from tests.helpers import (
    PROBLEM_KEYS,
    Envelope,
    Headers,
    append_all,
    assert_problem,
    log,
    new_id,
    post,
    post_batch,
    valid_event,
)

Loc = list[str | int]


def without(event: Envelope, field: str) -> Envelope:
    return {key: value for key, value in event.items() if key != field}


def assert_invalid(response: Response, loc: Loc) -> None:
    """A 422 problem with exactly one error, located at ``loc``."""
    body = assert_problem(response, 422)
    assert set(body) == PROBLEM_KEYS | {"errors"}
    assert [error["loc"] for error in body["errors"]] == [loc]
    assert all(isinstance(e["msg"], str) and e["msg"] for e in body["errors"])


def case(name: str, bad: Envelope, loc: Loc, setup: Sequence[Envelope] = ()) -> ParameterSet:
    """A bad envelope, the valid events appended before it, and where its error is."""
    return pytest.param(list(setup), bad, loc, id=name)


def _ceasefire_cases() -> list[ParameterSet]:
    agreed = valid_event("ceasefire_agreed")
    ended = valid_event("ceasefire_ended")
    return [
        case("breach-of-unknown-ceasefire", valid_event("ceasefire_breached"), ["ceasefire_id"]),
        case("end-of-unknown-ceasefire", valid_event("ceasefire_ended"), ["ceasefire_id"]),
        case(
            "duplicate-ceasefire-id",
            valid_event("ceasefire_agreed"),
            ["ceasefire_id"],
            setup=[agreed],
        ),
        case(
            "second-ceasefire-ended",
            valid_event("ceasefire_ended", reason="terminated"),
            ["ceasefire_id"],
            setup=[agreed, ended],
        ),
        case(
            "unknown-incident-event-id",
            valid_event("ceasefire_breached", incident_event_id=new_id()),
            ["incident_event_id"],
            setup=[agreed],
        ),
    ]


def _reference_cases() -> list[ParameterSet]:
    strike = valid_event("strike")
    retraction = valid_event("retraction", retracts_event_id=strike["event_id"])
    return [
        case(
            "unknown-about-event-id",
            valid_event("casualty_report", about_event_id=new_id()),
            ["about_event_id"],
        ),
        case(
            "unknown-corrects-event-id",
            valid_event("correction", corrects_event_id=new_id()),
            ["corrects_event_id"],
        ),
        case(
            "unknown-retracts-event-id",
            valid_event("retraction", retracts_event_id=new_id()),
            ["retracts_event_id"],
        ),
        case(
            "retraction-of-a-retraction",
            valid_event("retraction", retracts_event_id=retraction["event_id"]),
            ["retracts_event_id"],
            setup=[strike, retraction],
        ),
        *(
            case(
                f"correction-changes-{field}",
                valid_event(
                    "correction", corrects_event_id=strike["event_id"], changes={field: value}
                ),
                ["changes", field],
                setup=[strike],
            )
            for field, value in (
                ("type", "shelling"),
                ("event_id", new_id()),
                ("conflict", "another-conflict"),
            )
        ),
    ]


MALFORMED_TIMES = [
    ("not-rfc3339", "17/10/2020 03:00"),
    ("date-only", "2020-10-17"),
    ("no-such-day", "2020-02-30T12:00:00Z"),
    ("offset-of-24h", "2020-10-16T23:00:00+24:00"),
    ("offset-minute-60", "2020-10-17T03:00:00+04:60"),
    ("before-year-1-in-utc", "0001-01-01T00:30:00+01:00"),
    ("after-year-9999-in-utc", "9999-12-31T23:30:00-01:00"),
]

BAD_EVENTS = [
    case("unknown-type", valid_event("strike", type="bombing"), ["type"]),
    case("unknown-field", valid_event("strike", colour="red"), ["colour"]),
    case("missing-type", without(valid_event("strike"), "type"), ["type"]),
    case("missing-conflict", without(valid_event("strike"), "conflict"), ["conflict"]),
    case("missing-occurred-at", without(valid_event("strike"), "occurred_at"), ["occurred_at"]),
    case(
        "missing-effective-at",
        without(valid_event("ceasefire_agreed"), "effective_at"),
        ["effective_at"],
    ),
    case("missing-displaced", without(valid_event("displacement"), "displaced"), ["displaced"]),
    *(
        case(f"malformed-time-{name}", valid_event("strike", occurred_at=text), ["occurred_at"])
        for name, text in MALFORMED_TIMES
    ),
    case(
        "malformed-effective-at",
        valid_event("ceasefire_agreed", effective_at="2020-10-10T08:00:00+24:00"),
        ["effective_at"],
    ),
    case(
        "local-time-without-timezone",
        valid_event("strike", occurred_at="2020-10-17T03:00:00"),
        ["occurred_at"],
    ),
    case(
        "unknown-timezone",
        valid_event("strike", occurred_at="2020-10-17T03:00:00", timezone="Asia/Atlantis"),
        ["timezone"],
    ),
    case(
        "lat-out-of-range",
        valid_event("strike", location={"name": "Ganja", "lat": 90.5, "lon": 46.36}),
        ["location", "lat"],
    ),
    case(
        "lon-out-of-range",
        valid_event("strike", location={"name": "Ganja", "lat": 40.68, "lon": -180.5}),
        ["location", "lon"],
    ),
    case("negative-count", valid_event("strike", killed=-1), ["killed"]),
    *_ceasefire_cases(),
    *_reference_cases(),
    case("bad-slug", valid_event("strike", conflict="Nagorno Karabakh"), ["conflict"]),
    case("bad-uuid", valid_event("strike", event_id="not-a-uuid"), ["event_id"]),
    case(
        "bad-reference-uuid",
        valid_event("casualty_report", about_event_id="1234"),
        ["about_event_id"],
    ),
    case(
        "bad-time-precision",
        valid_event("strike", time_precision="fortnight"),
        ["time_precision"],
    ),
    case("bad-ended-reason", valid_event("ceasefire_ended", reason="expired"), ["reason"]),
    case(
        "bad-country-code",
        valid_event("strike", location={"name": "Ganja", "country": "XX"}),
        ["location", "country"],
    ),
    case(
        "clash-initiator-not-a-party",
        valid_event("clash", initiator="Russia"),
        ["initiator"],
    ),
    case("killed-low-above-killed", valid_event("strike", killed=2, killed_low=5), ["killed_low"]),
]


@pytest.mark.parametrize(("setup", "bad", "loc"), BAD_EVENTS)
def test_bad_event_is_refused_and_nothing_stored(
    client: TestClient,
    writer: Headers,
    reader: Headers,
    setup: list[Envelope],
    bad: Envelope,
    loc: Loc,
) -> None:
    append_all(client, writer, setup)
    before = log(client, reader)

    assert_invalid(post(client, writer, bad), loc)
    assert log(client, reader) == before


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["lat", "lon"])
def test_non_finite_coordinates_sent_as_raw_json_are_refused(
    client: TestClient, writer: Headers, reader: Headers, field: str, number: str
) -> None:
    event = valid_event("strike", location={"name": "Ganja", field: float(number)})
    body = json.dumps(event, allow_nan=True).encode()
    assert number.encode() in body

    response = client.post(
        "/v1/events", content=body, headers={**writer, "Content-Type": "application/json"}
    )

    assert_invalid(response, ["location", field])
    assert log(client, reader) == []


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"type": "strike", ', id="not-json"),
        pytest.param(b'{"type": "strike", "summary": "\xff\xfe"}', id="invalid-utf8"),
    ],
)
def test_a_body_that_is_not_utf8_json_is_a_400(
    client: TestClient, writer: Headers, reader: Headers, path: str, body: bytes
) -> None:
    response = client.post(
        path, content=body, headers={**writer, "Content-Type": "application/json"}
    )

    assert set(assert_problem(response, 400)) == PROBLEM_KEYS
    assert log(client, reader) == []


@pytest.mark.parametrize(
    ("fourth", "loc"),
    [
        pytest.param(
            valid_event("strike", location={"name": "Ganja", "lat": 91.0}),
            [3, "location", "lat"],
            id="bad-shape",
        ),
        pytest.param(
            valid_event("ceasefire_breached", ceasefire_id="no-such-ceasefire"),
            [3, "ceasefire_id"],
            id="bad-reference",
        ),
    ],
)
def test_a_batch_with_one_bad_event_stores_nothing(
    client: TestClient, writer: Headers, reader: Headers, fourth: Envelope, loc: Loc
) -> None:
    events = [
        valid_event("ceasefire_agreed"),
        valid_event("strike"),
        valid_event("ceasefire_breached"),
        fourth,
        valid_event("statement"),
    ]

    assert_invalid(post_batch(client, writer, events), loc)
    assert log(client, reader) == []


def test_a_batch_of_more_than_10000_events_is_refused(
    client: TestClient, writer: Headers, reader: Headers
) -> None:
    events: list[Any] = [valid_event("statement") for _ in range(10_001)]

    assert_invalid(post_batch(client, writer, events), ["events"])
    assert log(client, reader) == []
