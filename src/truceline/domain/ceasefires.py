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
from zoneinfo import ZoneInfo

from truceline.domain.times import format_micros, from_micros

INCIDENT_TYPES = frozenset({"strike", "shelling", "clash"})
FOREVER = 2**62  # a stop later than any instant: microseconds in year 146,000 or so


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

    @property
    def until(self) -> int:
        """The stop, or :data:`FOREVER` while nothing has stopped it."""
        return self.stop if self.stop is not None else FOREVER

    def in_effect_at(self, at: int) -> bool:
        return self.start <= at < self.until

    def meets(self, span: tuple[int, int]) -> bool:
        """Whether a span touches the period, both ends included: what a change of an
        event occupying that span can affect."""
        return span[0] <= self.until and span[1] >= self.start

    def contains(self, window: tuple[int, int]) -> bool:
        if not self.ever_in_effect:  # a ceasefire never in effect has no period to break
            return False
        begin, end = window
        stop = self.until
        if begin == end:
            return self.start <= begin < stop
        return self.start <= begin and end <= stop

    def overlaps(self, window: tuple[int, int]) -> bool:
        if not self.ever_in_effect:
            return False
        begin, end = window
        stop = self.until
        if begin == end:
            return self.start <= begin < stop
        return begin < stop and end > self.start

    @property
    def ever_in_effect(self) -> bool:
        return self.stop is None or self.stop > self.start


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
    accused, reported = _sort_reports(reports, inferred, named)
    found: list[Incident | None] = []
    for event in inferred.values():
        names = [n for n in (event.perpetrator, event.initiator) if n]
        names += accused.get(event.event_id, [])
        found.append(_incident(period, event.event_id, event, event, "inferred", names))
    for key, group in reported.items():
        first = group[0]
        occupied = named.get(key, first)
        names = [r.accused for r in group if r.accused]
        found.append(_incident(period, key, first, occupied, "reported", names))
    return [incident for incident in found if incident is not None]


def _sort_reports(
    reports: Iterable[Observed], inferred: Mapping[str, Observed], named: Mapping[str, Observed]
) -> tuple[dict[str, list[str]], dict[str, list[Observed]]]:
    """The accused that reports add to inferred incidents, by event id; and the reported
    incidents' reports, in log order, by incident key."""
    accused: dict[str, list[str]] = {}
    reported: dict[str, list[Observed]] = {}
    for report in sorted(reports, key=lambda r: r.position):
        target = report.incident_event_id
        if target is not None and target not in named:
            continue
        if target is not None and target in inferred:
            if report.accused:
                accused.setdefault(target, []).append(report.accused)
            continue
        # Reports naming the same event are one incident; an unnamed report is its own.
        reported.setdefault(target or report.event_id, []).append(report)
    return accused, reported


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

    def count(self, incident: Incident) -> None:
        """Count one certain incident."""
        self.total += 1
        if incident.kind == "inferred":
            self.inferred += 1
        else:
            self.reported += 1
        if len(incident.attributed) >= 2:
            self.contested += 1
        if not incident.attributed:
            self.unattributed += 1
        for party in incident.attributed:
            self.by_party[party] = self.by_party.get(party, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_party": dict(sorted(self.by_party.items())),
            "inferred": self.inferred,
            "reported": self.reported,
            "contested": self.contested,
            "unattributed": self.unattributed,
            "possible": self.possible,
        }


def in_effect(ceasefire: Ceasefire, period: Period, at: int) -> bool:
    """Whether the ceasefire exists and is in effect at ``at``."""
    return ceasefire.agreed_at <= at and period.in_effect_at(at)


def conflict_state(statuses: Sequence[dict[str, Any]]) -> tuple[str, dict[str, Any] | None]:
    """A conflict's ``state`` and the ceasefire in effect, from its status objects in the
    order of their periods' starts: the latest start in effect wins."""
    in_effect_now = [s for s in statuses if s["status"] in ("holding", "violated")]
    if not in_effect_now:
        return "no_ceasefire", None
    current = in_effect_now[-1]
    return f"ceasefire_{current['status']}", current


def status_at(
    ceasefire: Ceasefire,
    period: Period,
    found: Iterable[Incident],
    at: int,
    *,
    by_day: ZoneInfo | None = None,
) -> dict[str, Any] | None:
    """The status object at world time ``at``, or None before the agreement; ``by_day``
    adds ``breaches_by_day``, the days being that zone's."""
    if at < ceasefire.agreed_at:
        return None
    tally, counted = _tally(found, at)
    stopped = period.stop is not None and period.stop <= at
    ended_reason = period.stop_reason if stopped and period.stop_reason != "superseded" else None
    name = _status_name(period, at, stopped, ended_reason, counted)
    status: dict[str, Any] = {
        "ceasefire_id": ceasefire.ceasefire_id,
        "conflict": ceasefire.conflict,
        "status": name,
        "parties": list(ceasefire.parties),
        "mediators": list(ceasefire.mediators),
        "agreed_at": format_micros(ceasefire.agreed_at),
        "effective_at": format_micros(ceasefire.effective_at),
        "ends_at": format_micros(ceasefire.ends_at),
        # Whatever stopped the period (an end, ends_at, a superseder), once it has.
        "ended_at": format_micros(period.stop) if stopped else None,
        "ended_reason": ended_reason,
        "superseded_by": period.superseded_by if name == "superseded" else None,
        "breaches": tally.as_dict(),
        "last_breach_at": format_micros(max((i.happened_at for i in counted), default=None)),
        "breach_event_ids": [i.event_id for i in counted],
    }
    if by_day is not None:
        status["breaches_by_day"] = _by_day(counted, by_day)
    return status


def _by_day(counted: Iterable[Incident], zone: ZoneInfo) -> list[dict[str, Any]]:
    """The counted incidents per calendar day in ``zone`` of when each happened
    (``happened_at``, as ``last_breach_at``), with the attribution ``breaches`` uses:
    summed over the days, ``total`` and ``by_party`` are the status's own."""
    days: dict[str, _Tally] = {}
    for incident in counted:
        day = from_micros(incident.happened_at).astimezone(zone).date().isoformat()
        days.setdefault(day, _Tally()).count(incident)
    return [
        {"day": day, "total": tally.total, "by_party": dict(sorted(tally.by_party.items()))}
        for day, tally in sorted(days.items())
    ]


def _tally(found: Iterable[Incident], at: int) -> tuple[_Tally, list[Incident]]:
    """The breach counts at ``at``, and the counted incidents in the order they are
    listed: by the defining event's own ``occurred_at``, then its position."""
    tally = _Tally()
    counted: list[Incident] = []
    for incident in found:
        if incident.cut > at:
            continue
        if not incident.certain:
            tally.possible += 1
            continue
        counted.append(incident)
        tally.count(incident)
    counted.sort(key=lambda i: (i.occurred_at, i.position))
    return tally, counted


def _status_name(
    period: Period, at: int, stopped: bool, ended_reason: str | None, counted: list[Incident]
) -> str:
    """The first rule of the contract's "Status at world time at" that applies."""
    if ended_reason is not None:
        return "collapsed" if ended_reason == "collapsed" else "ended"
    if stopped:
        return "superseded"
    if at < period.start:
        return "agreed"
    return "violated" if counted else "holding"
