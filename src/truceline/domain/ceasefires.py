"""The ceasefire rules of the contract, as pure functions.

Times are integers, microseconds since the epoch (see :func:`times.to_micros`), so every
comparison is exact. Periods and windows are half-open ``[start, end)``; an ``exact``
event's window is the instant ``[t, t]``, which lies in a period when ``start <= t < end``.

The projection calls :func:`periods` and :func:`incidents` whenever something a
ceasefire depends on changes, and stores what they return; a query then calls
:func:`status_at` with the stored facts and the world time ``at``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from truceline.domain.times import format_utc, from_micros

INCIDENT_TYPES = frozenset({"strike", "shelling", "clash"})


@dataclass(frozen=True)
class Ceasefire:
    """A ``ceasefire_agreed`` as it currently reads (corrections applied)."""

    conflict: str
    ceasefire_id: str
    event_id: str
    position: int
    parties: tuple[str, ...]
    mediators: tuple[str, ...]
    agreed_at: int
    effective_at: int
    ends_at: int | None

    @property
    def start(self) -> int:
        """When it takes effect: a backdated truce counts from its agreement."""
        return max(self.effective_at, self.agreed_at)


@dataclass(frozen=True)
class End:
    """An unretracted ``ceasefire_ended``."""

    ended_at: int
    reason: str  # collapsed | terminated
    position: int


@dataclass(frozen=True)
class Period:
    """When a ceasefire is in effect, and what stopped it (None: nothing yet)."""

    start: int
    stop: int | None
    stop_reason: str | None  # collapsed | terminated | expired | superseded
    superseded_by: str | None = None

    def contains(self, window: tuple[int, int]) -> bool:
        if not self.ever_in_effect:  # a ceasefire never in effect has no period to break
            return False
        begin, end = window
        stop = self.stop if self.stop is not None else _FOREVER
        if begin == end:
            return self.start <= begin < stop
        return self.start <= begin and end <= stop

    def overlaps(self, window: tuple[int, int]) -> bool:
        if not self.ever_in_effect:
            return False
        begin, end = window
        stop = self.stop if self.stop is not None else _FOREVER
        if begin == end:
            return self.start <= begin < stop
        return begin < stop and end > self.start

    @property
    def ever_in_effect(self) -> bool:
        return self.stop is None or self.stop > self.start


_FOREVER = 2**62


def _own_stop(ceasefire: Ceasefire, end: End | None) -> tuple[int, str] | None:
    # On a tie, a ceasefire_ended comes before ends_at.
    stops = []
    if end is not None:
        stops.append((end.ended_at, 0, end.reason))
    if ceasefire.ends_at is not None:
        stops.append((ceasefire.ends_at, 1, "expired"))
    if not stops:
        return None
    at, _, reason = min(stops)
    return at, reason


def periods(ceasefires: Sequence[Ceasefire], ends: Mapping[str, End]) -> dict[str, Period]:
    """The period in effect of every ceasefire of one conflict.

    A ceasefire is superseded by the first later one (strictly later start) whose parties
    include all of its parties and which takes effect while it is still in effect; one that
    ends before it takes effect supersedes nothing, and is never in effect.
    """
    own: dict[str, Period] = {}
    for ceasefire in ceasefires:
        stop = _own_stop(ceasefire, ends.get(ceasefire.ceasefire_id))
        own[ceasefire.ceasefire_id] = Period(
            ceasefire.start, stop[0] if stop else None, stop[1] if stop else None
        )
    # In order of start, the first later one that qualifies is the superseder; the scan
    # stops where a start is no longer inside the period.
    ordered = sorted(ceasefires, key=lambda c: (c.start, c.position))
    result: dict[str, Period] = {}
    for index, ceasefire in enumerate(ordered):
        period = own[ceasefire.ceasefire_id]
        result[ceasefire.ceasefire_id] = period
        if not period.ever_in_effect:
            continue
        parties = set(ceasefire.parties)
        for other in ordered[index + 1 :]:
            if period.stop is not None and other.start >= period.stop:
                break
            if (
                other.start > ceasefire.start
                and own[other.ceasefire_id].ever_in_effect
                and parties <= set(other.parties)
            ):
                result[ceasefire.ceasefire_id] = Period(
                    period.start, other.start, "superseded", other.ceasefire_id
                )
                break
    return result


@dataclass(frozen=True)
class Observed:
    """An event of the timeline as the rules need it (corrections applied, unretracted)."""

    event_id: str
    position: int
    type: str
    occurred_at: int
    window: tuple[int, int]
    perpetrator: str | None = None
    initiator: str | None = None
    parties: tuple[str, ...] = ()
    accused: str | None = None
    incident_event_id: str | None = None


@dataclass(frozen=True)
class Incident:
    """One incident that breaks (or possibly breaks) one ceasefire."""

    key: str  # what makes it one: the inferred or named event, or the unnamed report
    event_id: str  # the event that defines it: the inferred event, or the first report
    position: int
    occurred_at: int  # of the defining event
    happened_at: int  # of the event whose window it occupies: when the breach happened
    kind: str  # inferred | reported
    window: tuple[int, int]
    attributed: tuple[str, ...]
    certain: bool

    @property
    def cut(self) -> int:
        """It is at or before ``at`` when its window ends at or before ``at``."""
        return self.window[1]


def is_inferred(ceasefire: Ceasefire, event: Observed) -> bool:
    parties = set(ceasefire.parties)
    if event.type in ("strike", "shelling"):
        return event.perpetrator in parties
    if event.type == "clash":
        return len(parties & set(event.parties)) >= 2
    return False


def incidents(
    ceasefire: Ceasefire,
    period: Period,
    candidates: Iterable[Observed],
    reports: Iterable[Observed],
    named: Mapping[str, Observed],
) -> list[Incident]:
    """Every incident of ``ceasefire``: certain ones (window inside the period) and
    possible ones (window overlapping it).

    ``candidates`` are the conflict's strikes, shellings and clashes (at least those
    whose windows overlap the period); ``reports`` its unretracted ``ceasefire_breached``;
    ``named`` the unretracted events those reports name (a report naming a retracted
    event is absent from it, and counts for nothing).
    """
    inferred = {e.event_id: e for e in candidates if is_inferred(ceasefire, e)}
    accused: dict[str, list[str]] = {}
    reported: dict[str, list[Observed]] = {}
    for report in sorted(reports, key=lambda r: r.position):
        target = report.incident_event_id
        if target is not None and target not in named:
            continue
        if target is not None and target in inferred:
            accused.setdefault(target, []).append(report.accused or "")
            continue
        # Reports naming the same event are one incident; an unnamed report is its own.
        reported.setdefault(target or report.event_id, []).append(report)

    found: list[Incident | None] = []
    for event in inferred.values():
        names = [n for n in (event.perpetrator, event.initiator) if n]
        found.append(
            _incident(
                period,
                event.event_id,
                event,
                event,
                "inferred",
                names + accused.get(event.event_id, []),
            )
        )
    for key, group in reported.items():
        first = group[0]
        occupied = named.get(key, first)
        found.append(
            _incident(
                period, key, first, occupied, "reported", [r.accused for r in group if r.accused]
            )
        )
    return [incident for incident in found if incident is not None]


def _incident(
    period: Period,
    key: str,
    defining: Observed,
    occupied: Observed,
    kind: str,
    names: list[str],
) -> Incident | None:
    if not period.overlaps(occupied.window):
        return None
    return Incident(
        key=key,
        event_id=defining.event_id,
        position=defining.position,
        occurred_at=defining.occurred_at,
        happened_at=occupied.occurred_at,
        kind=kind,
        window=occupied.window,
        attributed=tuple(sorted(set(names))),
        certain=period.contains(occupied.window),
    )


@dataclass
class _Tally:
    total: int = 0
    inferred: int = 0
    reported: int = 0
    contested: int = 0
    unattributed: int = 0
    possible: int = 0
    by_party: dict[str, int] = field(default_factory=dict)


def status_at(
    ceasefire: Ceasefire, period: Period, found: Iterable[Incident], at: int
) -> dict[str, Any] | None:
    """The status object at world time ``at``, or None before the agreement."""
    if at < ceasefire.agreed_at:
        return None
    tally = _Tally()
    counted: list[Incident] = []
    for incident in found:
        if incident.cut > at:
            continue
        if not incident.certain:
            tally.possible += 1
            continue
        counted.append(incident)
        tally.total += 1
        if incident.kind == "inferred":
            tally.inferred += 1
        else:
            tally.reported += 1
        if len(incident.attributed) >= 2:
            tally.contested += 1
        if not incident.attributed:
            tally.unattributed += 1
        for party in incident.attributed:
            tally.by_party[party] = tally.by_party.get(party, 0) + 1

    stopped = period.stop is not None and period.stop <= at
    ended_reason = period.stop_reason if stopped and period.stop_reason != "superseded" else None
    if ended_reason is not None:
        status = "collapsed" if ended_reason == "collapsed" else "ended"
    elif stopped:
        status = "superseded"
    elif at < period.start:
        status = "agreed"
    else:
        status = "violated" if counted else "holding"
    counted.sort(key=lambda i: (i.occurred_at, i.position))
    return {
        "ceasefire_id": ceasefire.ceasefire_id,
        "conflict": ceasefire.conflict,
        "status": status,
        "parties": list(ceasefire.parties),
        "mediators": list(ceasefire.mediators),
        "agreed_at": _time(ceasefire.agreed_at),
        "effective_at": _time(ceasefire.effective_at),
        "ends_at": _time(ceasefire.ends_at),
        # Whatever stopped the period (an end, ends_at, a superseder), once it has.
        "ended_at": _time(period.stop) if stopped else None,
        "ended_reason": ended_reason,
        "superseded_by": period.superseded_by if status == "superseded" else None,
        "breaches": {
            "total": tally.total,
            "by_party": dict(sorted(tally.by_party.items())),
            "inferred": tally.inferred,
            "reported": tally.reported,
            "contested": tally.contested,
            "unattributed": tally.unattributed,
            "possible": tally.possible,
        },
        "last_breach_at": _time(max((i.happened_at for i in counted), default=None)),
        "breach_event_ids": [i.event_id for i in counted],
    }


def _time(micros: int | None) -> str | None:
    return None if micros is None else format_utc(from_micros(micros))
