"""Time rules: parsing what clients send, normalising it to UTC, and time windows.

Clients mix local time and UTC (the seed article says "3 a.m. local time (2100 UTC)").
A time is accepted as RFC 3339 with an offset or ``Z``, or as a local wall time without
an offset plus an IANA ``timezone``. It is stored as UTC; the original wall time and
offset are kept beside it so that nothing the source said is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The standard library's fromisoformat() accepts far more than RFC 3339 (week dates,
# basic format, dates alone). This pattern narrows it to what the contract promises:
# a full date, a time of at least hours and minutes, an optional offset or Z.
_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"(?P<offset>[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)?"
)


MIN_YEAR, MAX_YEAR = 1000, 9000


class TimeError(ValueError):
    """A time or time zone that cannot be understood; the message says why."""


@dataclass(frozen=True)
class ParsedTime:
    """A time as the client wrote it, resolved to an instant."""

    utc: datetime
    wall: datetime  # the wall-clock time with the offset that applied there
    had_offset: bool


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; raises TimeError for an unknown name."""
    # ZoneInfo accepts paths; an IANA name never starts with a slash or contains "..".
    if not name or name.startswith("/") or ".." in name:
        raise TimeError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise TimeError(
            f"unknown time zone {name!r}: use an IANA name such as 'Asia/Baku'"
        ) from error


def parse_time(text: str, timezone: str | None) -> ParsedTime:
    """Parse an RFC 3339 time, or a local time in ``timezone``.

    An explicit offset wins over the zone. An ambiguous local time (a clock set back)
    takes the earlier offset; a nonexistent one (a clock set forward) moves forward:
    both are what ``zoneinfo`` does with ``fold=0``.
    """
    match = _RFC3339.fullmatch(text)
    if not match:
        raise TimeError(
            f"{text!r} is not an RFC 3339 time: write e.g. '2020-10-17T03:00:00+04:00', "
            "'2020-10-16T23:00:00Z', or a local time with a 'timezone'"
        )
    offset = match.group("offset")
    iso = f"{match.group('date')}T{match.group('time')}"
    if not offset and timezone is None:
        raise TimeError(f"{text!r} has no offset: add one, or give the event a 'timezone'")
    try:
        if offset:
            wall = datetime.fromisoformat(iso + ("+00:00" if offset in "Zz" else offset))
            parsed = ParsedTime(utc=wall.astimezone(UTC), wall=wall, had_offset=True)
        else:
            utc = datetime.fromisoformat(iso).replace(tzinfo=zone(timezone)).astimezone(UTC)
            # Re-derive the wall time from the instant: for a nonexistent local time this
            # is the moved-forward wall time that actually happened.
            parsed = ParsedTime(utc=utc, wall=utc.astimezone(zone(timezone)), had_offset=False)
    except (ValueError, OverflowError) as error:
        raise TimeError(f"{text!r} is not a valid date and time: {error}") from None
    # Far from the ends of the calendar, so that windows (a month, a week) never overflow.
    if not MIN_YEAR <= parsed.utc.year <= MAX_YEAR:
        raise TimeError(f"{text!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return parsed


def format_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; microseconds only when there are any."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def format_micros(micros: int | None) -> str | None:
    """:func:`format_utc` of an instant in microseconds since the epoch; None stays None."""
    return None if micros is None else format_utc(from_micros(micros))


def format_wall(moment: datetime) -> str:
    """RFC 3339 wall time with its offset (``+04:00``), as a person there read the clock."""
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z") if moment.utcoffset() == timedelta(0) else text


def parse_utc(text: str) -> datetime:
    """Parse a time this service wrote (UTC with Z) back into an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch: an integer that sorts and compares exactly."""
    delta = moment.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MICROS = 86_400 * 1_000_000


def _local_start(wall: datetime, tz: ZoneInfo) -> datetime:
    # A wall time in a gap moves forward; an ambiguous one takes the earlier offset.
    return wall.replace(tzinfo=tz).astimezone(UTC)


# The longest window an event can occupy: a month, plus a clock change.
MAX_WINDOW_US = 33 * 86_400 * 1_000_000


def event_window(occurred_at: datetime, precision: str, timezone: str | None) -> tuple[int, int]:
    """The half-open window ``[start, end)`` in microseconds an event occupies.

    ``exact`` is the instant (start == end); ``minute``, ``hour``, ``day`` and ``month``
    the calendar unit holding ``occurred_at`` in the event's zone (UTC without one);
    ``week`` the seven days centred on that day; ``approximate`` plus or minus 24 hours.
    """
    instant = to_micros(occurred_at)
    if precision == "exact":
        return instant, instant
    if precision == "approximate":
        return instant - _DAY_MICROS, instant + _DAY_MICROS
    tz = zone(timezone) if timezone else ZoneInfo("UTC")
    wall = occurred_at.astimezone(tz).replace(tzinfo=None)
    if precision == "minute":
        start = wall.replace(second=0, microsecond=0)
        end = start + timedelta(minutes=1)
    elif precision == "hour":
        start = wall.replace(minute=0, second=0, microsecond=0)
        end = start + timedelta(hours=1)
    elif precision == "day":
        start = wall.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
    elif precision == "week":
        midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
        start, end = midnight - timedelta(days=3), midnight + timedelta(days=4)
    elif precision == "month":
        start = wall.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    else:
        raise ValueError(f"unknown time precision {precision!r}")
    return to_micros(_local_start(start, tz)), to_micros(_local_start(end, tz))
