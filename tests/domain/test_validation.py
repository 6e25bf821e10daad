"""parse_event, apply_correction, as_posted and the reference rules, without a store."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from truceline.domain.errors import ErrorDetail, Invalid
from truceline.domain.events import EVENT_TYPES
from truceline.domain.references import check_references
from truceline.domain.timeline import as_corrected
from truceline.domain.validation import (
    NormalizedEvent,
    apply_correction,
    as_posted,
    parse_event,
)

CONFLICT = "nagorno-karabakh-2020"
AT = "2020-10-16T23:00:00Z"
ID_1 = "3f2c8a9e-1d4b-4c7a-9f0e-2b6d5a8c1e47"
ID_2 = "9b1d3c5e-7f90-4a2b-8c4d-6e8f0a1b2c3d"

NO_OFFSET = "'2020-10-17T03:00:00' has no offset: add one, or give the event a 'timezone'"
RETRACTABLE = (
    "strike or shelling or clash or ceasefire_agreed or ceasefire_breached or "
    "ceasefire_ended or casualty_report or displacement or statement or correction"
)


def _errors(data: object) -> list[ErrorDetail]:
    """The errors parse_event raises for ``data``; fails the test if it accepts it."""
    with pytest.raises(Invalid) as caught:
        parse_event(data)
    return caught.value.errors


def _strike(**fields: Any) -> dict[str, Any]:
    return {"type": "strike", "conflict": CONFLICT, "occurred_at": AT, **fields}


# -- one minimal valid example per type -------------------------------------------------

MINIMAL: dict[str, dict[str, Any]] = {
    "strike": {"type": "strike", "conflict": CONFLICT, "occurred_at": AT},
    "shelling": {"type": "shelling", "conflict": CONFLICT, "occurred_at": AT},
    "clash": {
        "type": "clash",
        "conflict": CONFLICT,
        "occurred_at": AT,
        "parties": ["Armenia", "Azerbaijan"],
    },
    "ceasefire_agreed": {
        "type": "ceasefire_agreed",
        "conflict": CONFLICT,
        "occurred_at": AT,
        "ceasefire_id": "moscow-2020-10-10",
        "parties": ["Armenia"],
        "effective_at": AT,
    },
    "ceasefire_breached": {
        "type": "ceasefire_breached",
        "conflict": CONFLICT,
        "occurred_at": AT,
        "ceasefire_id": "moscow-2020-10-10",
        "accused": "Armenia",
    },
    "ceasefire_ended": {
        "type": "ceasefire_ended",
        "conflict": CONFLICT,
        "occurred_at": AT,
        "ceasefire_id": "moscow-2020-10-10",
        "reason": "collapsed",
    },
    "casualty_report": {"type": "casualty_report", "conflict": CONFLICT, "occurred_at": AT},
    "displacement": {
        "type": "displacement",
        "conflict": CONFLICT,
        "occurred_at": AT,
        "displaced": 0,
    },
    "statement": {
        "type": "statement",
        "conflict": CONFLICT,
        "occurred_at": AT,
        "speaker": "Ministry of Defence",
        "text": "We deny it.",
    },
    "correction": {
        "type": "correction",
        "conflict": CONFLICT,
        "occurred_at": AT,
        "corrects_event_id": ID_1,
        "changes": {"killed": 3},
    },
    "retraction": {
        "type": "retraction",
        "conflict": CONFLICT,
        "occurred_at": AT,
        "retracts_event_id": ID_1,
        "reason": "duplicate",
    },
}


def test_every_event_type_has_a_minimal_example() -> None:
    assert set(MINIMAL) == set(EVENT_TYPES)


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_minimal_example_parses_with_defaults_spelled_out(kind: str) -> None:
    assert parse_event(MINIMAL[kind]) == {**MINIMAL[kind], "time_precision": "exact"}


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_minimal_example_without_a_required_own_field_is_refused(kind: str) -> None:
    envelope = {"type", "conflict", "occurred_at"}
    for field in set(MINIMAL[kind]) - envelope:
        data = {k: v for k, v in MINIMAL[kind].items() if k != field}
        assert _errors(data) == [{"loc": [field], "msg": "Field required"}]


@pytest.mark.parametrize("field", ["conflict", "occurred_at"])
def test_missing_envelope_field_is_refused(field: str) -> None:
    data = {k: v for k, v in MINIMAL["strike"].items() if k != field}
    assert _errors(data) == [{"loc": [field], "msg": "Field required"}]


# -- normalisation ----------------------------------------------------------------------


def test_parse_event_normalises_a_full_strike() -> None:
    posted = _strike(
        event_id=ID_1.upper(),
        occurred_at="2020-10-17T03:00:00",
        timezone="Asia/Baku",
        location={"name": "Ganja", "admin1": "Ganja", "country": "AZ", "lat": 40.68, "lon": 46},
        sources=[
            {
                "name": "Reuters",
                "url": "https://example.org/a",
                "published_at": "2020-10-17T09:30:00",
            },
            {"name": "AP", "published_at": "2020-10-17T08:00:00+02:00"},
            {"name": "TASS"},
        ],
        summary="Missile strike on a residential area",
        perpetrator="Armenia",
        target="residential area",
        weapon="Scud",
        killed=13,
        wounded=40,
        killed_low=12,
        killed_high=14,
    )

    assert parse_event(posted) == {
        "type": "strike",
        "event_id": ID_1,
        "conflict": CONFLICT,
        "occurred_at": "2020-10-16T23:00:00Z",
        "timezone": "Asia/Baku",
        "time_precision": "exact",
        "location": {
            "name": "Ganja",
            "admin1": "Ganja",
            "country": "AZ",
            "lat": 40.68,
            "lon": 46.0,
        },
        "sources": [
            {
                "name": "Reuters",
                "url": "https://example.org/a",
                "published_at": "2020-10-17T05:30:00Z",
            },
            {"name": "AP", "published_at": "2020-10-17T06:00:00Z"},
            {"name": "TASS"},
        ],
        "summary": "Missile strike on a residential area",
        "perpetrator": "Armenia",
        "target": "residential area",
        "weapon": "Scud",
        "killed": 13,
        "wounded": 40,
        "killed_low": 12,
        "killed_high": 14,
        "local_times": {"occurred_at": "2020-10-17T03:00:00+04:00"},
    }


def test_explicit_time_precision_equals_the_default() -> None:
    assert parse_event(_strike(time_precision="exact")) == parse_event(_strike())


@pytest.mark.parametrize(
    ("occurred_at", "timezone", "utc", "local_times"),
    [
        ("2020-10-16T23:00:00Z", None, "2020-10-16T23:00:00Z", None),
        ("2020-10-16T23:00:00+00:00", None, "2020-10-16T23:00:00Z", None),
        # an event with a zone keeps every wall time, so that an export re-imports unchanged
        ("2020-10-16T23:00:00Z", "Asia/Baku", "2020-10-16T23:00:00Z", "2020-10-16T23:00:00Z"),
        ("2020-01-15T12:00:00", "Europe/London", "2020-01-15T12:00:00Z", "2020-01-15T12:00:00Z"),
        ("2020-10-17T03:00:00+04:00", None, "2020-10-16T23:00:00Z", "2020-10-17T03:00:00+04:00"),
        (
            "2020-10-17T03:00:00+04:00",
            "America/New_York",
            "2020-10-16T23:00:00Z",
            "2020-10-17T03:00:00+04:00",
        ),
        ("2020-10-17T03:00:00", "Asia/Baku", "2020-10-16T23:00:00Z", "2020-10-17T03:00:00+04:00"),
        (
            "2020-10-17T03:00:00.250000",
            "Asia/Baku",
            "2020-10-16T23:00:00.250000Z",
            "2020-10-17T03:00:00.250000+04:00",
        ),
        # a nonexistent local time is kept as the wall time that actually happened
        ("2020-03-29T03:30:00", "Europe/Kyiv", "2020-03-29T01:30:00Z", "2020-03-29T04:30:00+03:00"),
    ],
)
def test_occurred_at_is_stored_in_utc_with_the_wall_time_beside_it(
    occurred_at: str, timezone: str | None, utc: str, local_times: str | None
) -> None:
    posted = _strike(occurred_at=occurred_at)
    if timezone is not None:
        posted["timezone"] = timezone
    event = parse_event(posted)

    assert event["occurred_at"] == utc
    assert event.get("local_times") == (
        None if local_times is None else {"occurred_at": local_times}
    )


def test_ceasefire_times_are_normalised_and_their_wall_times_kept() -> None:
    posted = {
        **MINIMAL["ceasefire_agreed"],
        "timezone": "Asia/Baku",
        "occurred_at": "2020-10-17T00:00:00+04:00",
        "effective_at": "2020-10-18T00:00:00",
        "ends_at": "2020-10-25T00:00:00Z",
        "mediators": ["Russia"],
        "terms": "Humanitarian truce",
    }

    assert parse_event(posted) == {
        **posted,
        "time_precision": "exact",
        "occurred_at": "2020-10-16T20:00:00Z",
        "effective_at": "2020-10-17T20:00:00Z",
        "ends_at": "2020-10-25T00:00:00Z",
        "local_times": {
            "occurred_at": "2020-10-17T00:00:00+04:00",
            "effective_at": "2020-10-18T00:00:00+04:00",
            "ends_at": "2020-10-25T00:00:00Z",
        },
    }


# -- what is refused, and where ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"killer": "Armenia"}, [{"loc": ["killer"], "msg": "Extra inputs are not permitted"}]),
        ({"local_times": {}}, [{"loc": ["local_times"], "msg": "Extra inputs are not permitted"}]),
        ({"killed": "12"}, [{"loc": ["killed"], "msg": "Input should be a valid integer"}]),
        ({"killed": True}, [{"loc": ["killed"], "msg": "Input should be a valid integer"}]),
        ({"killed": 12.0}, [{"loc": ["killed"], "msg": "Input should be a valid integer"}]),
        (
            {"wounded": None, "killed": 1.5},
            [{"loc": ["killed"], "msg": "Input should be a valid integer"}],
        ),
        (
            {"killed": -1},
            [{"loc": ["killed"], "msg": "Input should be greater than or equal to 0"}],
        ),
        ({"perpetrator": 7}, [{"loc": ["perpetrator"], "msg": "Input should be a valid string"}]),
        (
            {"perpetrator": ""},
            [{"loc": ["perpetrator"], "msg": "String should have at least 1 character"}],
        ),
        (
            {"summary": "x" * 2001},
            [{"loc": ["summary"], "msg": "String should have at most 2000 characters"}],
        ),
        (
            {"conflict": "Nagorno-Karabakh"},
            [{"loc": ["conflict"], "msg": "String should match pattern '^[a-z0-9-]{1,64}$'"}],
        ),
        (
            {"event_id": "not-a-uuid"},
            [
                {
                    "loc": ["event_id"],
                    "msg": (
                        "Value error, must be a UUID such as '3f2c8a9e-1d4b-4c7a-9f0e-2b6d5a8c1e47'"
                    ),
                }
            ],
        ),
        (
            {"event_id": "{" + ID_1 + "}"},
            [
                {
                    "loc": ["event_id"],
                    "msg": (
                        "Value error, must be a UUID in its hyphenated form, 8-4-4-4-12 hex digits"
                    ),
                }
            ],
        ),
        (
            {"time_precision": "decade"},
            [
                {
                    "loc": ["time_precision"],
                    "msg": (
                        "Input should be 'exact', 'minute', 'hour', 'day', 'week', 'month' "
                        "or 'approximate'"
                    ),
                }
            ],
        ),
        (
            {"location": {"name": "Ganja", "lat": 90.5}},
            [{"loc": ["location", "lat"], "msg": "Input should be less than or equal to 90"}],
        ),
        (
            {"location": {"name": "Ganja", "lon": -180.01}},
            [{"loc": ["location", "lon"], "msg": "Input should be greater than or equal to -180"}],
        ),
        (
            {"location": {"name": "Ganja", "lat": float("nan")}},
            [{"loc": ["location", "lat"], "msg": "Input should be a finite number"}],
        ),
        (
            {"location": {"name": "Ganja", "lon": float("inf")}},
            [{"loc": ["location", "lon"], "msg": "Input should be a finite number"}],
        ),
        (
            {"location": {"name": "Ganja", "lat": True}},
            [{"loc": ["location", "lat"], "msg": "Input should be a valid number"}],
        ),
        (
            {"location": {"name": "Ganja", "lat": "40.6"}},
            [{"loc": ["location", "lat"], "msg": "Input should be a valid number"}],
        ),
        (
            {"location": {"name": "Ganja", "country": "XX"}},
            [
                {
                    "loc": ["location", "country"],
                    "msg": (
                        "Value error, 'XX' is not an ISO 3166-1 alpha-2 country code such as 'AZ'"
                    ),
                }
            ],
        ),
        (
            {"location": {"name": "Ganja", "elevation": 300}},
            [{"loc": ["location", "elevation"], "msg": "Extra inputs are not permitted"}],
        ),
        (
            {"sources": [{"name": "TASS", "url": "ftp://example.org"}]},
            [
                {
                    "loc": ["sources", 0, "url"],
                    "msg": "String should match pattern '^https?://\\S+$'",
                }
            ],
        ),
        (
            {"timezone": "Mars/Olympus_Mons"},
            [
                {
                    "loc": ["timezone"],
                    "msg": (
                        "unknown time zone 'Mars/Olympus_Mons': "
                        "use an IANA name such as 'Asia/Baku'"
                    ),
                }
            ],
        ),
        (
            {"timezone": "../etc/passwd", "occurred_at": "2020-10-17T03:00:00"},
            [{"loc": ["timezone"], "msg": "unknown time zone '../etc/passwd'"}],
        ),
        (
            {"occurred_at": "2020-10-17T03:00:00"},
            [
                {
                    "loc": ["occurred_at"],
                    "msg": NO_OFFSET,
                }
            ],
        ),
        (
            {"occurred_at": "2020-13-01T00:00:00Z"},
            [
                {
                    "loc": ["occurred_at"],
                    "msg": (
                        "'2020-13-01T00:00:00Z' is not a valid date and time: "
                        "month must be in 1..12"
                    ),
                }
            ],
        ),
        (
            {"occurred_at": 1603000800},
            [{"loc": ["occurred_at"], "msg": "Input should be a valid string"}],
        ),
        (
            {"sources": [{"name": "AP"}, {"name": "TASS", "published_at": "yesterday"}]},
            [
                {
                    "loc": ["sources", 1, "published_at"],
                    "msg": (
                        "'yesterday' is not an RFC 3339 time: "
                        "write e.g. '2020-10-17T03:00:00+04:00', "
                        "'2020-10-16T23:00:00Z', or a local time with a 'timezone'"
                    ),
                }
            ],
        ),
        (
            {"killed": 3, "killed_low": 5},
            [{"loc": ["killed_low"], "msg": "killed_low must be <= killed"}],
        ),
        (
            {"wounded": 9, "wounded_high": 5},
            [{"loc": ["wounded_high"], "msg": "wounded_high must be >= wounded"}],
        ),
        (
            {"killed_low": 9, "killed_high": 5},
            [{"loc": ["killed_low"], "msg": "killed_low must be <= killed_high"}],
        ),
    ],
)
def test_strike_errors_name_the_field(fields: dict[str, Any], errors: list[ErrorDetail]) -> None:
    assert _errors(_strike(**fields)) == errors


@pytest.mark.parametrize("offset", ["+24:00", "+25:00", "-99:00", "+04:60"])
def test_out_of_range_offset_is_refused_at_its_field(offset: str) -> None:
    posted = _strike(
        occurred_at=f"2020-10-17T03:00:00{offset}",
        sources=[{"name": "AP", "published_at": f"2020-10-17T05:00:00{offset}"}],
    )

    assert [e["loc"] for e in _errors(posted)] == [
        ["occurred_at"],
        ["sources", 0, "published_at"],
    ]


def test_every_bad_field_is_reported_at_once() -> None:
    errors = _errors(_strike(killed="1", wounded=-1, extra=True))

    assert sorted(e["loc"][0] for e in errors) == ["extra", "killed", "wounded"]


def test_bad_times_are_all_reported() -> None:
    posted = {
        **MINIMAL["ceasefire_agreed"],
        "effective_at": "soon",
        "ends_at": "2020-10-18T00:00:00",
        "sources": [{"name": "AP", "published_at": "2020-02-30T00:00:00Z"}],
    }

    assert [e["loc"] for e in _errors(posted)] == [
        ["effective_at"],
        ["ends_at"],
        ["sources", 0, "published_at"],
    ]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ([], [{"loc": [], "msg": "an event must be a JSON object"}]),
        ("strike", [{"loc": [], "msg": "an event must be a JSON object"}]),
        ({"conflict": CONFLICT, "occurred_at": AT}, [{"loc": ["type"], "msg": "Field required"}]),
        (
            _strike(type="airstrike"),
            [
                {
                    "loc": ["type"],
                    "msg": (
                        "unknown event type 'airstrike': one of casualty_report, "
                        "ceasefire_agreed, ceasefire_breached, ceasefire_ended, clash, "
                        "correction, displacement, retraction, shelling, statement, strike"
                    ),
                }
            ],
        ),
        (
            {**MINIMAL["clash"], "parties": ["Armenia"]},
            [
                {
                    "loc": ["parties"],
                    "msg": "List should have at least 2 items after validation, not 1",
                }
            ],
        ),
        (
            {**MINIMAL["clash"], "initiator": "Russia"},
            [{"loc": ["initiator"], "msg": "the initiator must be one of the parties"}],
        ),
        (
            {**MINIMAL["ceasefire_ended"], "reason": "expired"},
            [{"loc": ["reason"], "msg": "Input should be 'collapsed' or 'terminated'"}],
        ),
        (
            {**MINIMAL["displacement"], "displaced": "many"},
            [{"loc": ["displaced"], "msg": "Input should be a valid integer"}],
        ),
        (
            {**MINIMAL["correction"], "changes": {}},
            [
                {
                    "loc": ["changes"],
                    "msg": "Dictionary should have at least 1 item after validation, not 0",
                }
            ],
        ),
    ],
)
def test_envelope_and_type_errors(data: object, errors: list[ErrorDetail]) -> None:
    assert _errors(data) == errors


# -- corrections ------------------------------------------------------------------------


def _target() -> NormalizedEvent:
    return parse_event(
        _strike(
            event_id=ID_1,
            perpetrator="Armenia",
            killed=10,
            killed_high=12,
            location={"name": "Ganja"},
        )
    )


def test_apply_correction_merges_and_normalises_the_changes() -> None:
    merged, changes = apply_correction(
        _target(), {"killed": 11, "perpetrator": None, "occurred_at": "2020-10-17T05:00:00+04:00"}
    )

    assert merged == {
        "type": "strike",
        "event_id": ID_1,
        "conflict": CONFLICT,
        "occurred_at": "2020-10-17T01:00:00Z",
        "time_precision": "exact",
        "location": {"name": "Ganja"},
        "killed": 11,
        "killed_high": 12,
        "local_times": {"occurred_at": "2020-10-17T05:00:00+04:00"},
    }
    assert changes == {"killed": 11, "perpetrator": None, "occurred_at": "2020-10-17T01:00:00Z"}


def test_apply_correction_leaves_the_target_untouched() -> None:
    target = _target()
    before = dict(target)
    apply_correction(target, {"killed": 11})

    assert target == before


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"type": "shelling"},
            [{"loc": ["changes", "type"], "msg": "a correction cannot change 'type'"}],
        ),
        (
            {"event_id": ID_2},
            [{"loc": ["changes", "event_id"], "msg": "a correction cannot change 'event_id'"}],
        ),
        (
            {"conflict": "other"},
            [{"loc": ["changes", "conflict"], "msg": "a correction cannot change 'conflict'"}],
        ),
        (
            {"victims": 3},
            [{"loc": ["changes", "victims"], "msg": "a strike event has no field 'victims'"}],
        ),
        (
            {"parties": ["A", "B"]},
            [{"loc": ["changes", "parties"], "msg": "a strike event has no field 'parties'"}],
        ),
        (
            {"local_times": {"occurred_at": "2020-10-17T03:00:00+04:00"}},
            [
                {
                    "loc": ["changes", "local_times"],
                    "msg": "a strike event has no field 'local_times'",
                }
            ],
        ),
        (
            {"type": "shelling", "victims": 3},
            [
                {"loc": ["changes", "type"], "msg": "a correction cannot change 'type'"},
                {"loc": ["changes", "victims"], "msg": "a strike event has no field 'victims'"},
            ],
        ),
        (
            {"killed": "12"},
            [{"loc": ["changes", "killed"], "msg": "Input should be a valid integer"}],
        ),
        (
            {"location": {"name": "Ganja", "lat": 100}},
            [
                {
                    "loc": ["changes", "location", "lat"],
                    "msg": "Input should be less than or equal to 90",
                }
            ],
        ),
        (
            {"occurred_at": None},
            [{"loc": ["changes", "occurred_at"], "msg": "Field required"}],
        ),
        (
            {"occurred_at": "2020-10-17T03:00:00"},
            [
                {
                    "loc": ["changes", "occurred_at"],
                    "msg": NO_OFFSET,
                }
            ],
        ),
        (
            {"killed": 20},
            [
                {
                    "loc": ["changes", "killed_high"],
                    "msg": "killed_high must be >= killed (after applying the changes)",
                }
            ],
        ),
    ],
)
def test_apply_correction_refusals_are_located_under_changes(
    changes: dict[str, Any], errors: list[ErrorDetail]
) -> None:
    with pytest.raises(Invalid) as caught:
        apply_correction(_target(), changes)

    assert caught.value.errors == errors


def test_apply_correction_refuses_a_new_ceasefire_id() -> None:
    target = parse_event({**MINIMAL["ceasefire_agreed"], "event_id": ID_1})

    with pytest.raises(Invalid) as caught:
        apply_correction(target, {"ceasefire_id": "another-id", "parties": ["Armenia", "Russia"]})

    assert caught.value.errors == [
        {"loc": ["changes", "ceasefire_id"], "msg": "a correction cannot change 'ceasefire_id'"}
    ]


def test_apply_correction_may_set_a_timezone_for_later_local_times() -> None:
    merged, changes = apply_correction(
        _target(), {"timezone": "Asia/Baku", "occurred_at": "2020-10-17T03:00:00"}
    )

    assert changes == {"timezone": "Asia/Baku", "occurred_at": "2020-10-16T23:00:00Z"}
    assert merged["local_times"] == {"occurred_at": "2020-10-17T03:00:00+04:00"}


# -- as_posted --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "posted",
    [
        _strike(),
        _strike(occurred_at="2020-10-17T03:00:00", timezone="Asia/Baku"),
        _strike(occurred_at="2020-10-17T03:00:00+04:00"),
        _strike(occurred_at="2020-10-17T03:00:00-03:30", timezone="Asia/Baku"),
        _strike(occurred_at="2020-03-29T03:30:00", timezone="Europe/Kyiv"),
        _strike(occurred_at="2020-10-25T03:30:00", timezone="Europe/Kyiv"),
        _strike(
            occurred_at="2020-10-17T03:00:00",
            timezone="Asia/Baku",
            sources=[{"name": "AP", "published_at": "2020-10-17T05:00:00"}],
        ),
        {
            **MINIMAL["ceasefire_agreed"],
            "timezone": "Asia/Baku",
            "effective_at": "2020-10-18T00:00:00",
            "ends_at": "2020-10-25T00:00:00+04:00",
        },
    ],
)
def test_as_posted_re_parses_to_the_same_event(posted: dict[str, Any]) -> None:
    event = parse_event(posted)
    again = as_posted(event)

    assert "local_times" not in again
    assert parse_event(again) == event


def test_as_posted_puts_the_wall_times_back() -> None:
    event = parse_event(_strike(occurred_at="2020-10-17T03:00:00", timezone="Asia/Baku"))

    assert as_posted(event) == {
        "type": "strike",
        "conflict": CONFLICT,
        "occurred_at": "2020-10-17T03:00:00+04:00",
        "timezone": "Asia/Baku",
        "time_precision": "exact",
    }


@pytest.mark.parametrize(
    "zone_name", ["Europe/London", "UTC", "Africa/Abidjan", "Atlantic/Reykjavik"]
)
def test_as_posted_keeps_a_local_time_in_a_zone_at_utc(zone_name: str) -> None:
    # London is at +00:00 in January: the wall time is still a local time the client sent.
    event = parse_event(_strike(occurred_at="2020-01-15T12:00:00", timezone=zone_name))
    assert event["local_times"] == {"occurred_at": "2020-01-15T12:00:00Z"}

    assert parse_event(as_posted(event)) == event


def test_as_posted_keeps_a_local_mean_time_with_a_seconds_offset() -> None:
    # Baku kept local mean time (+03:19:24) until 1924.
    event = parse_event(_strike(occurred_at="1900-06-01T12:00:00", timezone="Asia/Baku"))
    assert event["occurred_at"] == "1900-06-01T08:40:36Z"

    assert parse_event(as_posted(event)) == event


def _time_text(draw: st.DrawFn, zone_name: str | None) -> str:
    naive = draw(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)))
    choices = ["z", "offset"] + (["local"] if zone_name is not None else [])
    form = draw(st.sampled_from(choices))
    if form == "local":
        return naive.isoformat()
    if form == "z":
        return naive.isoformat() + "Z"
    minutes = draw(st.integers(min_value=-14 * 60, max_value=14 * 60))
    sign = "-" if minutes < 0 else "+"
    return f"{naive.isoformat()}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# Zones with gaps and folds, and zones at UTC, drawn more often than ~600 keys allow.
_INTERESTING_ZONES = ["Asia/Baku", "Europe/Kyiv", "America/New_York", "Europe/London", "UTC"]


@st.composite
def _strikes(draw: st.DrawFn) -> dict[str, Any]:
    zone_name = draw(st.none() | st.sampled_from(_INTERESTING_ZONES) | st.timezone_keys())
    posted: dict[str, Any] = {
        "type": "strike",
        "conflict": draw(st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True)),
        "occurred_at": _time_text(draw, zone_name),
    }
    if zone_name is not None:
        posted["timezone"] = zone_name
    if draw(st.booleans()):
        posted["killed"] = draw(st.integers(min_value=0, max_value=10_000))
    if draw(st.booleans()):
        posted["time_precision"] = draw(st.sampled_from(["exact", "hour", "day", "approximate"]))
    sources = draw(st.lists(st.sampled_from(["AP", "Reuters", "TASS"]), max_size=2))
    if sources:
        posted["sources"] = [
            {"name": name, "published_at": _time_text(draw, zone_name)} for name in sources
        ]
    return posted


@settings(max_examples=300, deadline=None)
@given(_strikes())
@example(_strike(occurred_at="2020-01-15T12:00:00", timezone="Europe/London"))
@example(_strike(occurred_at="1900-06-01T12:00:00", timezone="Asia/Baku"))
def test_as_posted_round_trips_generated_strikes(posted: dict[str, Any]) -> None:
    event = parse_event(posted)

    assert parse_event(as_posted(event)) == event


# -- reference rules --------------------------------------------------------------------


class MemoryLog:
    """A tiny :class:`~truceline.domain.references.Known`: events in a dict."""

    def __init__(self, *events: NormalizedEvent) -> None:
        self.events = {event["event_id"]: event for event in events}

    def event(self, event_id: str) -> NormalizedEvent | None:
        return self.events.get(event_id)

    def corrected(self, event_id: str) -> NormalizedEvent | None:
        original = self.events.get(event_id)
        return None if original is None else as_corrected(original, self.events.values())

    def _live(self, conflict: str, ceasefire_id: str, kind: str) -> bool:
        retracted = {
            e["retracts_event_id"] for e in self.events.values() if e["type"] == "retraction"
        }
        return any(
            e["type"] == kind
            and e["conflict"] == conflict
            and e.get("ceasefire_id") == ceasefire_id
            and event_id not in retracted
            for event_id, e in self.events.items()
        )

    def ceasefire_agreed(self, conflict: str, ceasefire_id: str) -> bool:
        return self._live(conflict, ceasefire_id, "ceasefire_agreed")

    def ceasefire_ended(self, conflict: str, ceasefire_id: str) -> bool:
        return self._live(conflict, ceasefire_id, "ceasefire_ended")


_counter = iter(range(1, 1_000_000))


def _event(kind: str, **fields: Any) -> NormalizedEvent:
    """A parsed event of ``kind`` with a fresh event id; ``fields`` override the minimal one."""
    event_id = f"00000000-0000-4000-8000-{next(_counter):012d}"
    return parse_event({**MINIMAL[kind], "event_id": event_id, **fields})


def _reference_errors(event: NormalizedEvent, log: MemoryLog) -> list[ErrorDetail]:
    with pytest.raises(Invalid) as caught:
        check_references(event, log)
    return caught.value.errors


CEASEFIRE = "moscow-2020-10-10"


def test_breach_of_an_agreed_ceasefire_is_accepted_unchanged() -> None:
    breach = _event("ceasefire_breached")
    assert check_references(breach, MemoryLog(_event("ceasefire_agreed"))) == breach


def test_breach_of_an_unknown_ceasefire_is_refused() -> None:
    elsewhere = _event("ceasefire_agreed", conflict="other-conflict")

    assert _reference_errors(_event("ceasefire_breached"), MemoryLog(elsewhere)) == [
        {
            "loc": ["ceasefire_id"],
            "msg": f"no ceasefire {CEASEFIRE!r} has been agreed in {CONFLICT!r}",
        }
    ]


def test_breach_of_a_retracted_ceasefire_is_refused() -> None:
    agreed = _event("ceasefire_agreed")
    log = MemoryLog(agreed, _event("retraction", retracts_event_id=agreed["event_id"]))

    assert [e["loc"] for e in _reference_errors(_event("ceasefire_breached"), log)] == [
        ["ceasefire_id"]
    ]


def test_end_of_an_unknown_ceasefire_is_refused() -> None:
    assert _reference_errors(_event("ceasefire_ended"), MemoryLog()) == [
        {
            "loc": ["ceasefire_id"],
            "msg": f"no ceasefire {CEASEFIRE!r} has been agreed in {CONFLICT!r}",
        }
    ]


def test_duplicate_ceasefire_id_in_the_same_conflict_is_refused() -> None:
    log = MemoryLog(_event("ceasefire_agreed"))

    assert _reference_errors(_event("ceasefire_agreed"), log) == [
        {
            "loc": ["ceasefire_id"],
            "msg": (
                f"ceasefire {CEASEFIRE!r} already exists in {CONFLICT!r}: "
                "ceasefire ids are unique in their conflict"
            ),
        }
    ]


def test_same_ceasefire_id_in_another_conflict_is_accepted() -> None:
    log = MemoryLog(_event("ceasefire_agreed", conflict="other-conflict"))
    agreed = _event("ceasefire_agreed")

    assert check_references(agreed, log) == agreed


def test_ceasefire_id_of_a_retracted_agreement_may_be_reused() -> None:
    first = _event("ceasefire_agreed")
    log = MemoryLog(first, _event("retraction", retracts_event_id=first["event_id"]))
    again = _event("ceasefire_agreed")

    assert check_references(again, log) == again


def test_second_end_of_a_ceasefire_is_refused() -> None:
    log = MemoryLog(_event("ceasefire_agreed"), _event("ceasefire_ended"))

    assert _reference_errors(_event("ceasefire_ended", reason="terminated"), log) == [
        {
            "loc": ["ceasefire_id"],
            "msg": f"ceasefire {CEASEFIRE!r} has already been ended: retract that end first",
        }
    ]


def test_end_after_the_first_end_was_retracted_is_accepted() -> None:
    ended = _event("ceasefire_ended")
    log = MemoryLog(
        _event("ceasefire_agreed"),
        ended,
        _event("retraction", retracts_event_id=ended["event_id"]),
    )
    again = _event("ceasefire_ended", reason="terminated")

    assert check_references(again, log) == again


def test_retraction_of_a_retraction_is_refused() -> None:
    strike = _event("strike")
    retraction = _event("retraction", retracts_event_id=strike["event_id"])
    log = MemoryLog(strike, retraction)
    retracted_id = retraction["event_id"]

    assert _reference_errors(_event("retraction", retracts_event_id=retracted_id), log) == [
        {
            "loc": ["retracts_event_id"],
            "msg": (
                f"event {retracted_id} is a retraction; retracts_event_id must name a {RETRACTABLE}"
            ),
        }
    ]


def test_retraction_of_a_correction_is_accepted() -> None:
    strike = _event("strike")
    correction = _event("correction", corrects_event_id=strike["event_id"])
    retraction = _event("retraction", retracts_event_id=correction["event_id"])

    assert check_references(retraction, MemoryLog(strike, correction)) == retraction


def test_retraction_of_an_unknown_event_is_refused() -> None:
    assert _reference_errors(_event("retraction", retracts_event_id=ID_2), MemoryLog()) == [
        {"loc": ["retracts_event_id"], "msg": f"no event {ID_2} in the log"}
    ]


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("ceasefire_breached", "incident_event_id"),
        ("casualty_report", "about_event_id"),
        ("correction", "corrects_event_id"),
        ("retraction", "retracts_event_id"),
    ],
)
def test_reference_across_conflicts_is_refused(kind: str, field: str) -> None:
    strike = _event("strike", conflict="other-conflict")
    log = MemoryLog(strike, _event("ceasefire_agreed"))
    event = _event(kind, **{field: strike["event_id"]})

    assert _reference_errors(event, log) == [
        {
            "loc": [field],
            "msg": (
                f"event {strike['event_id']} belongs to conflict 'other-conflict', not {CONFLICT!r}"
            ),
        }
    ]


def test_incident_event_id_naming_a_statement_is_refused() -> None:
    statement = _event("statement")
    log = MemoryLog(_event("ceasefire_agreed"), statement)
    breach = _event("ceasefire_breached", incident_event_id=statement["event_id"])

    assert _reference_errors(breach, log) == [
        {
            "loc": ["incident_event_id"],
            "msg": (
                f"event {statement['event_id']} is a statement; incident_event_id must name a "
                "strike or shelling or clash"
            ),
        }
    ]


@pytest.mark.parametrize("kind", ["strike", "shelling", "clash"])
def test_incident_event_id_naming_an_incident_is_accepted(kind: str) -> None:
    incident = _event(kind)
    breach = _event("ceasefire_breached", incident_event_id=incident["event_id"])

    assert check_references(breach, MemoryLog(_event("ceasefire_agreed"), incident)) == breach


def test_about_event_id_may_name_any_event() -> None:
    statement = _event("statement")
    report = _event("casualty_report", about_event_id=statement["event_id"])

    assert check_references(report, MemoryLog(statement)) == report


def test_correction_is_returned_with_its_changes_normalised() -> None:
    strike = _event("strike", killed=3)
    correction = _event(
        "correction",
        corrects_event_id=strike["event_id"],
        changes={"killed": 4, "occurred_at": "2020-10-17T05:00:00+04:00"},
    )

    assert check_references(correction, MemoryLog(strike)) == {
        **correction,
        "changes": {"killed": 4, "occurred_at": "2020-10-17T01:00:00Z"},
    }


def test_correction_of_a_correction_is_refused() -> None:
    strike = _event("strike")
    first = _event("correction", corrects_event_id=strike["event_id"])
    second = _event("correction", corrects_event_id=first["event_id"])

    assert [e["loc"] for e in _reference_errors(second, MemoryLog(strike, first))] == [
        ["corrects_event_id"]
    ]


def test_correction_changes_are_checked_against_their_target() -> None:
    agreed = _event("ceasefire_agreed")
    correction = _event(
        "correction", corrects_event_id=agreed["event_id"], changes={"ceasefire_id": "other"}
    )

    assert _reference_errors(correction, MemoryLog(agreed)) == [
        {"loc": ["changes", "ceasefire_id"], "msg": "a correction cannot change 'ceasefire_id'"}
    ]


def test_correction_re_pointing_incident_event_id_to_a_statement_is_refused() -> None:
    strike, statement = _event("strike"), _event("statement")
    breach = _event("ceasefire_breached", incident_event_id=strike["event_id"])
    log = MemoryLog(_event("ceasefire_agreed"), strike, statement, breach)
    correction = _event(
        "correction",
        corrects_event_id=breach["event_id"],
        changes={"incident_event_id": statement["event_id"]},
    )

    assert [(e["loc"]) for e in _reference_errors(correction, log)] == [
        ["changes", "incident_event_id"]
    ]


_HEX_OR_NOT = st.sampled_from("0123456789abcdefABCDEFg-{}:")


@settings(max_examples=300)
@given(
    text=st.one_of(
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        st.lists(_HEX_OR_NOT, min_size=30, max_size=40).map("".join),
    )
)
@example(text="3F2C8A9E-1D4B-4C7A-9F0E-2B6D5A8C1E47")
@example(text="{3f2c8a9e-1d4b-4c7a-9f0e-2b6d5a8c1e47}")
def test_an_event_id_is_accepted_and_lowercased_exactly_as_the_uuid_module_reads_it(
    text: str,
) -> None:
    """The canonical form is checked by a pattern, anything else by uuid.UUID: together
    they accept what a hyphenated UUID is, in lower case, and refuse the rest."""
    try:
        expected: str | None = str(uuid.UUID(text))
    except ValueError:
        expected = None
    if expected is not None and expected != text.lower():
        expected = None  # braces, urn: or no hyphens: not the hyphenated form
    data = _strike(event_id=text)
    if expected is None:
        assert [e["loc"] for e in _errors(data)] == [["event_id"]]
    else:
        assert parse_event(data)["event_id"] == expected
