"""Time rules: RFC 3339 in, UTC with Z out; local time plus an IANA zone resolved to UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.domain.times import ParsedTime, TimeError, format_utc, parse_time


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def _offset(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(timedelta(hours=hours, minutes=sign * minutes))


# -- offsets and Z ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc", "wall_offset"),
    [
        ("2020-10-16T23:00:00Z", _utc(2020, 10, 16, 23), timedelta(0)),
        ("2020-10-16T23:00:00z", _utc(2020, 10, 16, 23), timedelta(0)),
        ("2020-10-16T23:00:00+00:00", _utc(2020, 10, 16, 23), timedelta(0)),
        ("2020-10-17T03:00:00+04:00", _utc(2020, 10, 16, 23), timedelta(hours=4)),
        ("2020-10-16T18:00:00-05:00", _utc(2020, 10, 16, 23), timedelta(hours=-5)),
        ("2020-10-17T04:30:00+05:30", _utc(2020, 10, 16, 23), timedelta(hours=5, minutes=30)),
        ("2020-10-17T12:00:00+14:00", _utc(2020, 10, 16, 22), timedelta(hours=14)),
        ("2020-10-16T23:00:00.5Z", _utc(2020, 10, 16, 23, 0, 0, 500_000), timedelta(0)),
        ("2020-10-16T23:00:00.123456Z", _utc(2020, 10, 16, 23, 0, 0, 123_456), timedelta(0)),
        ("2020-12-31T23:30:00-01:00", _utc(2021, 1, 1, 0, 30), timedelta(hours=-1)),
    ],
)
def test_offset_and_z_times_resolve_to_their_instant(
    text: str, utc: datetime, wall_offset: timedelta
) -> None:
    parsed = parse_time(text, None)

    assert parsed.utc == utc
    assert parsed.utc.utcoffset() == timedelta(0)
    assert parsed.wall.utcoffset() == wall_offset
    assert parsed.wall == utc
    assert parsed.had_offset is True


def test_utc_of_an_offset_time_is_formatted_with_z() -> None:
    assert format_utc(parse_time("2020-10-17T03:00:00+04:00", None).utc) == "2020-10-16T23:00:00Z"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (_utc(2020, 10, 16, 23), "2020-10-16T23:00:00Z"),
        (_utc(2020, 10, 16, 23, 0, 0, 500_000), "2020-10-16T23:00:00.500000Z"),
        (_utc(2020, 10, 16, 23, 0, 0, 1), "2020-10-16T23:00:00.000001Z"),
        (datetime(2020, 10, 17, 3, tzinfo=_offset(4)), "2020-10-16T23:00:00Z"),
        (datetime(2020, 10, 17, 3, tzinfo=ZoneInfo("Asia/Baku")), "2020-10-16T23:00:00Z"),
        (datetime(2020, 10, 16, 20, tzinfo=_offset(-3, 30)), "2020-10-16T23:30:00Z"),
    ],
)
def test_format_utc(moment: datetime, text: str) -> None:
    assert format_utc(moment) == text


@pytest.mark.parametrize(
    ("text", "zone_name", "utc"),
    [
        ("1000-01-01T00:00:00Z", None, _utc(1000, 1, 1)),
        ("9000-12-31T23:59:59.999999Z", None, _utc(9000, 12, 31, 23, 59, 59, 999_999)),
        ("1000-01-01T05:00:00", "Asia/Baku", _utc(1000, 1, 1, 1, 40, 36)),
    ],
)
def test_years_1000_to_9000_are_accepted(text: str, zone_name: str | None, utc: datetime) -> None:
    assert parse_time(text, zone_name).utc == utc


@pytest.mark.parametrize(
    ("text", "zone_name"),
    [
        ("0999-12-31T23:59:59Z", None),
        ("0001-01-01T00:00:00Z", None),
        ("9001-01-01T00:00:00Z", None),
        ("9999-12-31T23:59:59Z", None),
        # the UTC year decides
        ("1000-01-01T00:30:00+01:00", None),
        ("9000-12-31T23:30:00-01:00", None),
        ("1000-01-01T00:30:00", "Asia/Tokyo"),
        # beyond datetime's range once in UTC
        ("9999-12-31T23:00:00-02:00", None),
        ("0001-01-01T00:00:00+02:00", None),
        ("9999-12-31T23:00:00", "America/New_York"),
    ],
)
def test_years_outside_1000_to_9000_raise_time_error(text: str, zone_name: str | None) -> None:
    with pytest.raises(TimeError):
        parse_time(text, zone_name)


# -- local time plus a zone -------------------------------------------------------------


def test_local_time_in_a_zone_resolves_to_utc() -> None:
    parsed = parse_time("2020-10-17T03:00:00", "Asia/Baku")

    assert parsed == ParsedTime(
        utc=_utc(2020, 10, 16, 23),
        wall=datetime(2020, 10, 17, 3, tzinfo=ZoneInfo("Asia/Baku")),
        had_offset=False,
    )
    assert format_utc(parsed.utc) == "2020-10-16T23:00:00Z"
    assert parsed.wall.utcoffset() == timedelta(hours=4)


@pytest.mark.parametrize("zone_name", ["Asia/Baku", "America/New_York", "UTC", "Asia/Tokyo"])
def test_explicit_offset_wins_over_the_zone(zone_name: str) -> None:
    parsed = parse_time("2020-10-17T03:00:00+04:00", zone_name)

    assert parsed.utc == _utc(2020, 10, 16, 23)
    assert parsed.wall.utcoffset() == timedelta(hours=4)
    assert parsed.had_offset is True


def test_z_wins_over_the_zone() -> None:
    parsed = parse_time("2020-10-16T23:00:00Z", "Asia/Baku")

    assert parsed.utc == _utc(2020, 10, 16, 23)
    assert parsed.wall.utcoffset() == timedelta(0)
    assert parsed.had_offset is True


@pytest.mark.parametrize(
    ("text", "zone_name", "utc", "wall_offset"),
    [
        # Kyiv set clocks back from 04:00 EEST to 03:00 EET: 03:30 happened twice.
        ("2020-10-25T03:30:00", "Europe/Kyiv", _utc(2020, 10, 25, 0, 30), timedelta(hours=3)),
        # New York set clocks back from 02:00 EDT to 01:00 EST: 01:30 happened twice.
        ("2020-11-01T01:30:00", "America/New_York", _utc(2020, 11, 1, 5, 30), timedelta(hours=-4)),
    ],
)
def test_ambiguous_local_time_takes_the_earlier_offset(
    text: str, zone_name: str, utc: datetime, wall_offset: timedelta
) -> None:
    parsed = parse_time(text, zone_name)

    assert parsed.utc == utc
    assert parsed.wall.utcoffset() == wall_offset
    assert parsed.wall.replace(tzinfo=None) == datetime.fromisoformat(text)
    assert parsed.had_offset is False


@pytest.mark.parametrize(
    ("text", "zone_name", "utc", "wall"),
    [
        # Kyiv jumped from 03:00 EET to 04:00 EEST: 03:30 never happened.
        (
            "2020-03-29T03:30:00",
            "Europe/Kyiv",
            _utc(2020, 3, 29, 1, 30),
            "2020-03-29T04:30:00+03:00",
        ),
        # New York jumped from 02:00 EST to 03:00 EDT: 02:30 never happened.
        (
            "2020-03-08T02:30:00",
            "America/New_York",
            _utc(2020, 3, 8, 7, 30),
            "2020-03-08T03:30:00-04:00",
        ),
    ],
)
def test_nonexistent_local_time_moves_forward(
    text: str, zone_name: str, utc: datetime, wall: str
) -> None:
    parsed = parse_time(text, zone_name)

    assert parsed.utc == utc
    assert parsed.wall.isoformat() == wall
    assert parsed.had_offset is False


def test_local_time_without_a_zone_is_refused() -> None:
    with pytest.raises(TimeError, match="has no offset"):
        parse_time("2020-10-17T03:00:00", None)


# -- what is refused --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2020-10-17",  # a date alone
        "2020-10-17Z",
        "2020-W42-6T03:00:00Z",  # week date
        "2020-W42-6",
        "2020-291T03:00:00Z",  # ordinal date
        "20201017T030000Z",  # basic format
        "2020-13-01T00:00:00Z",  # month 13
        "2020-00-10T00:00:00Z",
        "2020-02-30T00:00:00Z",
        "2021-02-29T00:00:00Z",
        "2020-10-17T24:00:00Z",
        "2020-10-17T03:60:00Z",
        "2020-10-17T03:00:60Z",
        "2020-10-17T03:00:00.1234567Z",  # 7 fractional digits
        "2020-10-17T03:00:00.123456789Z",
        "2020-10-17T03:00:00.Z",
        "2020-10-17T03:00:00,5Z",
        "2020-10-17T03Z",
        "2020-10-17T03:00:00+0400",
        "2020-10-17T03:00:00+04",
        "2020-10-17T03:00:00 +04:00",
        "2020-10-17T03:00:00+04:60",  # offset minute 60
        "2020-10-17T03:00:00+24:00",  # offset out of range
        "2020-10-17T03:00:00+25:00",
        "2020-10-17T03:00:00-99:00",
        " 2020-10-17T03:00:00Z",
        "2020-10-17T03:00:00Z ",
        "2020-10-17T03:00:00Z\n",
        "\u0662\u0660\u0662\u0660-10-17T03:00:00Z",  # Arabic-Indic digits
        "",
        "garbage",
        "yesterday at noon",
        "1603000800",
    ],
)
def test_malformed_times_raise_time_error(text: str) -> None:
    with pytest.raises(TimeError):
        parse_time(text, None)
    with pytest.raises(TimeError):
        parse_time(text, "Asia/Baku")


@pytest.mark.parametrize(
    "zone_name",
    [
        "Mars/Olympus_Mons",
        "Asia/Bakuu",
        "",
        "../etc/passwd",
        "/etc/localtime",
        "/usr/share/zoneinfo/Asia/Baku",
        "Europe/../../etc/passwd",
        "Etc/../Asia/Baku",
        "Asia/Baku/..",
        "Asia/Baku\x00",
        "Asia//Baku",
        "Asia/",
        "+04:00",
    ],
)
def test_unknown_and_path_like_zones_raise_time_error(zone_name: str) -> None:
    with pytest.raises(TimeError, match="unknown time zone"):
        parse_time("2020-10-17T03:00:00", zone_name)


# -- properties -------------------------------------------------------------------------

_fixed_offsets = st.builds(
    timezone,
    st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1000, 1, 2),
        max_value=datetime(9000, 12, 30),
        timezones=st.one_of(st.just(UTC), _fixed_offsets, st.timezones()),
    )
)
def test_format_utc_round_trips_through_parse_time(moment: datetime) -> None:
    text = format_utc(moment)
    parsed = parse_time(text, None)

    assert text.endswith("Z")
    # Compare in UTC: an aware time in a fold never equals one of another zone (PEP 495).
    assert parsed.utc == moment.astimezone(UTC)
    assert parsed.had_offset is True
    assert format_utc(parsed.utc) == text


@settings(max_examples=500, deadline=None)
@given(
    st.timezone_keys(),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31, 23, 59, 59)),
)
def test_local_time_keeps_its_wall_time_unless_in_a_gap(zone_name: str, naive: datetime) -> None:
    parsed = parse_time(naive.isoformat(), zone_name)

    zone = ZoneInfo(zone_name)
    before = naive.replace(tzinfo=zone, fold=0).utcoffset()
    after = naive.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None and after is not None
    in_gap = before < after  # the clock jumped forward over this wall time
    assert parsed.had_offset is False
    assert parsed.utc.utcoffset() == timedelta(0)
    # fold=0: the offset in force before the transition (the earlier one when ambiguous).
    assert parsed.utc.replace(tzinfo=None) == naive - before
    assert parsed.wall.astimezone(UTC) == parsed.utc
    if in_gap:
        assert parsed.wall.replace(tzinfo=None) == naive + (after - before)
    else:
        assert parsed.wall.replace(tzinfo=None) == naive
