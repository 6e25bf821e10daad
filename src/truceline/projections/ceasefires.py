"""The ceasefire projection: ``ceasefires`` (periods in effect) and ``breaches``.

After each page, with the pure rules of :mod:`truceline.domain.ceasefires` and the
current ``timeline`` rows:

- the periods of every ceasefire of a conflict whose lifecycle the page touched (an
  agreement or end, or an amendment of one) are recomputed; a ceasefire whose period or
  definition changed gets all its breaches recomputed;
- for the other ceasefires only the incidents the page touched are recomputed: an
  incident is identified by its key (the inferred or named event, or the unnamed report),
  and ``incidents()`` given just that key's events returns just that incident.

So catching up costs about the same per event whatever the length of the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from truceline.domain.ceasefires import (
    FOREVER,
    INCIDENT_TYPES,
    Ceasefire,
    End,
    Incident,
    Observed,
    Period,
    incidents,
    periods,
)
from truceline.domain.timeline import LIFECYCLE_TYPES, window
from truceline.domain.times import MAX_WINDOW_US, parse_utc, to_micros
from truceline.projections import jsontext
from truceline.projections.tables import BreachRow, CeasefireRow, insert_rows


@dataclass
class _ConflictChanges:
    lifecycle: bool = False
    versions: list[tuple[dict[str, Any], tuple[int, int]]] = field(default_factory=list)


class Touched:
    """What a page changed, per conflict: each affected event version, old and new."""

    def __init__(self) -> None:
        self.conflicts: dict[str, _ConflictChanges] = {}

    def add(self, event: dict[str, Any], span: tuple[int, int]) -> None:
        """Note a version of an event (and the window it occupies)."""
        changes = self.conflicts.setdefault(event["conflict"], _ConflictChanges())
        if event["type"] in LIFECYCLE_TYPES:
            changes.lifecycle = True
        else:
            changes.versions.append((event, span))


def recompute_ceasefires(db: sqlite_utils.Database, touched: Touched) -> None:
    for conflict, changes in touched.conflicts.items():
        rebuilt = _update_lifecycle(db, conflict) if changes.lifecycle else set()
        stored = _stored_ceasefires(db, conflict, changes.versions)
        keys: dict[str, set[str]] = {}
        for version, span in changes.versions:
            event_keys = {version["event_id"]}
            if "incident_event_id" in version:
                event_keys.add(version["incident_event_id"])
            for ceasefire, period in stored.values():
                if ceasefire.ceasefire_id in rebuilt:
                    continue
                if period.meets(span) or version.get("ceasefire_id") == ceasefire.ceasefire_id:
                    keys.setdefault(ceasefire.ceasefire_id, set()).update(event_keys)
        for ceasefire_id, incident_keys in keys.items():
            ceasefire, period = stored[ceasefire_id]
            _update_incidents(db, ceasefire, period, sorted(incident_keys))


def rebuild_ceasefires(db: sqlite_utils.Database, conflict: str) -> None:
    """Compute a conflict's ceasefires and breaches afresh from its timeline rows."""
    db.execute("DELETE FROM ceasefires WHERE conflict = ?", [conflict])
    db.execute("DELETE FROM breaches WHERE conflict = ?", [conflict])
    _update_lifecycle(db, conflict)


@dataclass(frozen=True)
class View:
    """The timeline as it stood: now (``as_of`` None), or when the log ended at ``as_of``.

    Timeline rows are versioned by log position, so any past state is an indexed lookup;
    the ceasefire rules then run on that state exactly as they ran on the current one.
    """

    db: sqlite_utils.Database
    as_of: int | None = None

    def items(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        if self.as_of is None:
            version, bound = "valid_to IS NULL", []
        else:
            version = "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
            bound = [self.as_of, self.as_of]
        cursor = self.db.execute(
            f"SELECT item FROM timeline WHERE {version} AND {where}", [*bound, *params]
        )
        return [jsontext.loads(item) for (item,) in cursor.fetchall()]


def _us(text: str) -> int:
    return to_micros(parse_utc(text))


# -- lifecycle: periods -----------------------------------------------------------------


def lifecycle(view: View, conflict: str) -> tuple[list[Ceasefire], dict[str, Period]]:
    """The conflict's live ceasefires and their periods in effect."""
    agreed = view.items("conflict = ? AND type = 'ceasefire_agreed' AND retracted = 0", [conflict])
    ended = view.items("conflict = ? AND type = 'ceasefire_ended' AND retracted = 0", [conflict])
    ceasefires = [
        Ceasefire(
            conflict=conflict,
            ceasefire_id=e["ceasefire_id"],
            event_id=e["event_id"],
            position=e["position"],
            parties=tuple(e["parties"]),
            mediators=tuple(e.get("mediators", ())),
            agreed_at=_us(e["occurred_at"]),
            effective_at=_us(e["effective_at"]),
            ends_at=_us(e["ends_at"]) if "ends_at" in e else None,
        )
        for e in sorted(agreed, key=lambda e: e["position"])
    ]
    ends: dict[str, End] = {}
    for e in sorted(ended, key=lambda e: e["position"]):
        ends.setdefault(e["ceasefire_id"], End(_us(e["occurred_at"]), e["reason"], e["position"]))
    return ceasefires, periods(ceasefires, ends)


def _update_lifecycle(db: sqlite_utils.Database, conflict: str) -> set[str]:
    """Recompute the conflict's periods; return the ceasefires whose breaches were rebuilt."""
    ceasefires, in_effect = lifecycle(View(db), conflict)
    new_rows = {c.ceasefire_id: _ceasefire_row(c, in_effect[c.ceasefire_id]) for c in ceasefires}
    old_rows = {
        row["ceasefire_id"]: row
        for row in db.table("ceasefires").rows_where("conflict = ?", [conflict])
    }
    rebuilt = set()
    for ceasefire_id in old_rows.keys() - new_rows.keys():
        db.execute(
            "DELETE FROM ceasefires WHERE conflict = ? AND ceasefire_id = ?",
            [conflict, ceasefire_id],
        )
        db.execute(
            "DELETE FROM breaches WHERE conflict = ? AND ceasefire_id = ?", [conflict, ceasefire_id]
        )
    for ceasefire in ceasefires:
        row, old = new_rows[ceasefire.ceasefire_id], old_rows.get(ceasefire.ceasefire_id)
        if old == row:
            continue
        db.table("ceasefires").upsert(row, pk=("conflict", "ceasefire_id"))
        period = in_effect[ceasefire.ceasefire_id]
        if old is not None and _only_stop_moved(old, row):
            _move_stop(db, ceasefire, period, old["stop_us"])
        else:
            _rebuild_breaches(db, ceasefire, period)
            rebuilt.add(ceasefire.ceasefire_id)
    return rebuilt


_STOP_FIELDS = frozenset({"stop_us", "stop_reason", "superseded_by"})


def _only_stop_moved(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(old[key] == value for key, value in new.items() if key not in _STOP_FIELDS)


def _move_stop(
    db: sqlite_utils.Database, ceasefire: Ceasefire, period: Period, old_stop: int | None
) -> None:
    """The period's end moved (an end, an expiry, a superseder): only incidents whose
    windows end after the earlier of the two ends can change, plus reported ones, whose
    windows are those of the events they name."""
    ends = [stop for stop in (old_stop, period.stop) if stop is not None]
    if not ends:
        return
    low, high = min(ends), max(ends) if len(ends) == 2 else FOREVER
    keys = {
        key
        for (key,) in db.execute(
            "SELECT key FROM breaches WHERE conflict = ? AND ceasefire_id = ? AND window_end >= ?",
            [ceasefire.conflict, ceasefire.ceasefire_id, low],
        ).fetchall()
    }
    view = View(db)
    keys.update(e["event_id"] for e in _incident_candidates(view, ceasefire.conflict, low, high))
    keys.update(r.get("incident_event_id") or r["event_id"] for r in _reports(view, ceasefire))
    if keys:
        _update_incidents(db, ceasefire, period, sorted(keys))


def _ceasefire_row(c: Ceasefire, period: Period) -> dict[str, Any]:
    return CeasefireRow(
        conflict=c.conflict,
        ceasefire_id=c.ceasefire_id,
        event_id=c.event_id,
        position=c.position,
        parties=json.dumps(list(c.parties)),
        mediators=json.dumps(list(c.mediators)),
        agreed_us=c.agreed_at,
        effective_us=c.effective_at,
        ends_us=c.ends_at,
        start_us=c.start,
        stop_us=period.stop,
        stop_reason=period.stop_reason,
        superseded_by=period.superseded_by,
    )._asdict()


def _stored_ceasefires(
    db: sqlite_utils.Database,
    conflict: str,
    versions: list[tuple[dict[str, Any], tuple[int, int]]],
) -> dict[str, tuple[Ceasefire, Period]]:
    """The stored ceasefires a page's events can touch: those whose period meets the span
    of the events' windows, and those the page's reports name."""
    if not versions:
        return {}
    low = min(span[0] for _, span in versions)
    high = max(span[1] for _, span in versions)
    named = sorted({v["ceasefire_id"] for v, _ in versions if "ceasefire_id" in v})
    marks = ",".join("?" * len(named))
    rows = db.table("ceasefires").rows_where(
        "conflict = ? AND ((start_us <= ? AND (stop_us IS NULL OR stop_us >= ?))"
        + (f" OR ceasefire_id IN ({marks}))" if named else ")"),
        [conflict, high, low, *named],
    )
    return {row["ceasefire_id"]: ceasefire_from_row(row) for row in rows}


def ceasefire_from_row(row: dict[str, Any]) -> tuple[Ceasefire, Period]:
    ceasefire = Ceasefire(
        row["conflict"],
        row["ceasefire_id"],
        row["event_id"],
        row["position"],
        tuple(json.loads(row["parties"])),
        tuple(json.loads(row["mediators"])),
        row["agreed_us"],
        row["effective_us"],
        row["ends_us"],
    )
    return ceasefire, Period(
        row["start_us"], row["stop_us"], row["stop_reason"], row["superseded_by"]
    )


# -- breaches ------------------------------------------------------------------------------


def _observed(event: dict[str, Any]) -> Observed:
    return Observed(
        event_id=event["event_id"],
        position=event["position"],
        type=event["type"],
        occurred_at=_us(event["occurred_at"]),
        window=window(event),
        perpetrator=event.get("perpetrator"),
        initiator=event.get("initiator"),
        parties=tuple(event.get("parties", ())),
        accused=event.get("accused"),
        incident_event_id=event.get("incident_event_id"),
    )


def _reports(
    view: View, ceasefire: Ceasefire, extra: str = "", params: Iterable[Any] = ()
) -> list[dict[str, Any]]:
    return view.items(
        "conflict = ? AND ceasefire_id = ? AND type = 'ceasefire_breached' "
        f"AND retracted = 0 {extra}",
        [ceasefire.conflict, ceasefire.ceasefire_id, *params],
    )


def _unretracted(view: View, event_ids: Iterable[str]) -> dict[str, Observed]:
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {
        e["event_id"]: _observed(e)
        for e in view.items(f"event_id IN ({marks}) AND retracted = 0", ids)
    }


def _incident_candidates(view: View, conflict: str, start: int, stop: int) -> list[dict[str, Any]]:
    """The unretracted strikes, shellings and clashes whose windows can meet
    ``[start, stop]``: an indexed range on window_start, reaching back no further than
    the longest window an event can occupy."""
    marks = ",".join("?" * len(INCIDENT_TYPES))
    return view.items(
        f"conflict = ? AND type IN ({marks}) AND retracted = 0 "
        "AND window_start BETWEEN ? AND ? AND window_end >= ?",
        [conflict, *sorted(INCIDENT_TYPES), start - MAX_WINDOW_US, stop, start],
    )


def all_incidents(
    view: View, ceasefire: Ceasefire, period: Period, counted_by: int | None = None
) -> list[Incident]:
    """Every incident of a ceasefire, from the timeline rows that can make one; with
    ``counted_by``, only those a status at that time can count (or, for the reported
    ones, may): an inferred incident counts once its window has ended, so an event whose
    window starts later is not read. A status as_of read every incident of a long period
    (15 ms at 1,000,000 events) to count those of its first day."""
    stop = period.until if counted_by is None else min(period.until, counted_by)
    candidates = _incident_candidates(view, ceasefire.conflict, period.start, stop)
    reports = _reports(view, ceasefire)
    named = _unretracted(
        view, (r["incident_event_id"] for r in reports if "incident_event_id" in r)
    )
    return incidents(ceasefire, period, map(_observed, candidates), map(_observed, reports), named)


def _rebuild_breaches(db: sqlite_utils.Database, ceasefire: Ceasefire, period: Period) -> None:
    db.execute(
        "DELETE FROM breaches WHERE conflict = ? AND ceasefire_id = ?",
        [ceasefire.conflict, ceasefire.ceasefire_id],
    )
    _insert(db, ceasefire, all_incidents(View(db), ceasefire, period))


def _update_incidents(
    db: sqlite_utils.Database, ceasefire: Ceasefire, period: Period, keys: list[str]
) -> None:
    """Recompute the incidents with these keys: what each key's own events make of it.

    Each key depends on its own events only, so keys can be taken a chunk at a time
    (SQLite limits the parameters of one statement)."""
    for start in range(0, len(keys), 1000):
        _update_chunk(db, ceasefire, period, keys[start : start + 1000])


def _update_chunk(
    db: sqlite_utils.Database, ceasefire: Ceasefire, period: Period, keys: list[str]
) -> None:
    marks = ",".join("?" * len(keys))
    db.execute(
        f"DELETE FROM breaches WHERE conflict = ? AND ceasefire_id = ? AND key IN ({marks})",
        [ceasefire.conflict, ceasefire.ceasefire_id, *keys],
    )
    view = View(db)
    events = _unretracted(view, keys)
    candidates = [e for e in events.values() if e.type in INCIDENT_TYPES]
    reports = _reports(
        view,
        ceasefire,
        f"AND (incident_event_id IN ({marks}) OR event_id IN ({marks}))",
        [*keys, *keys],
    )
    _insert(
        db, ceasefire, incidents(ceasefire, period, candidates, map(_observed, reports), events)
    )


def _insert(db: sqlite_utils.Database, ceasefire: Ceasefire, found: Iterable[Incident]) -> None:
    insert_rows(
        db,
        "breaches",
        (
            BreachRow(
                conflict=ceasefire.conflict,
                ceasefire_id=ceasefire.ceasefire_id,
                key=i.key,
                event_id=i.event_id,
                position=i.position,
                occurred_us=i.occurred_at,
                happened_us=i.happened_at,
                kind=i.kind,
                window_start=i.window[0],
                window_end=i.window[1],
                attributed=json.dumps(list(i.attributed)),
                certain=int(i.certain),
            )
            for i in found
        ),
    )
