"""The knowledge rule of every read: what ``as_of`` and ``at`` mean.

``as_of`` is knowledge time: a log position, or an RFC 3339 time meaning the last position
recorded by then; past the end of the log it means the end. ``at`` is world time: given,
or now, or (with ``as_of`` and no ``at``) the ``recorded_at`` of the last entry at
``as_of``, so that an as-of answer never changes with the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from truceline.domain.errors import invalid
from truceline.domain.times import TimeError, parse_time, to_micros

MAX_INTEGER = 2**63 - 1  # SQLite's and PostgreSQL's bigint


class Knowledge:
    """What one answer is based on: the log up to ``position`` (None: all of it, as it
    grows) and the world time ``at`` in microseconds.

    ``at``'s default for an as-of answer costs a read of the log, so it is found only
    when asked for: a timeline page, which needs no world time, reads no log entry.
    """

    def __init__(
        self, position: int | None, at: int | None, recorded_at: Callable[[int], int]
    ) -> None:
        self.position = position
        self._at = at
        self._recorded_at = recorded_at

    @property
    def at(self) -> int:
        if self._at is None:
            now = to_micros(datetime.now(UTC))
            self._at = now if self.position is None else self._recorded_at(self.position)
        return self._at

    def reached(self, min_position: int | None) -> int | None:
        """The position the read models must have reached for this answer (with
        ``min_position``, read-your-writes): None when nothing need be waited for."""
        wanted = [p for p in (self.position, min_position) if p is not None]
        return max(wanted) if wanted else None


def world_time(name: str, value: str) -> int:
    """An RFC 3339 query time in microseconds; :class:`Invalid` naming ``name``."""
    try:
        return to_micros(parse_time(value, None).utc)
    except TimeError:
        raise invalid([name], query_time_error(name, value)) from None


def query_time_error(name: str, value: str) -> str:
    """What is wrong with a query parameter's time, said for a URL rather than for an
    event (which may give a ``timezone`` instead of an offset)."""
    example = "a time such as 2020-10-18T00:00:00Z or 2020-10-18T04:00:00%2B04:00"
    if name == "as_of":
        message = (
            f"{value!r} is neither a log position nor an RFC 3339 time with an offset: "
            f"as_of takes a position (e.g. 42) or {example}"
        )
    else:
        message = f"{value!r} is not an RFC 3339 time with an offset: {name} takes {example}"
    if " " in value:
        message += " (a '+' in a URL is read as a space: write it %2B)"
    return message


def as_of_position(
    as_of: str, position_at: Callable[[datetime], int], log_position: Callable[[], int]
) -> int:
    """The log position an ``as_of`` names, never past the end of the log."""
    if as_of.isascii() and as_of.isdigit():
        # Past the end means the end; a number too long for int() is past it too.
        position = int(as_of) if len(as_of) <= 18 else MAX_INTEGER
    else:
        try:
            position = position_at(parse_time(as_of, None).utc)
        except TimeError:
            raise invalid(["as_of"], query_time_error("as_of", as_of)) from None
    return min(position, log_position())
