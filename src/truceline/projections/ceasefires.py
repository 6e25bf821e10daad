"""The ceasefire projection: ``ceasefires`` (periods in effect) and ``breaches``.

After each page the projection recomputes the ceasefires the page may have changed, with
the pure rules of :mod:`truceline.domain.ceasefires`, from the current ``timeline`` rows:

- a ceasefire's agreement or end (or an amendment of one) can move every period of its
  conflict (supersession), so every ceasefire of that conflict is recomputed;
- any other event can change only the ceasefires whose period overlaps its window (old
  or new) or that it reports a breach of.

Queries then answer a status at any world time ``at`` from these rows alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from truceline.domain.ceasefires import (
    INCIDENT_TYPES,
    Ceasefire,
    End,
    Observed,
    Period,
    incidents,
    periods,
)
from truceline.domain.timeline import LIFECYCLE_TYPES, window
from truceline.domain.times import parse_utc, to_micros


@dataclass
class _ConflictChanges:
    lifecycle: bool = False
    span: tuple[int, int] | None = None
    reported: set[str] = field(default_factory=set)


class Touched:
    """What a page changed, per conflict, to know which ceasefires to recompute."""

    def __init__(self) -> None:
        self.conflicts: dict[str, _ConflictChanges] = {}

    def add(self, event: dict[str, Any]) -> None:
        changes = self.conflicts.setdefault(event["conflict"], _ConflictChanges())
        if event["type"] in LIFECYCLE_TYPES:
            changes.lifecycle = True
            return
        start, end = window(event)
        if changes.span is None:
            changes.span = (start, end)
        else:
            changes.span = (min(changes.span[0], start), max(changes.span[1], end))
        if event["type"] == "ceasefire_breached":
            changes.reported.add(event["ceasefire_id"])


def recompute_ceasefires(db: sqlite_utils.Database, touched: Touched) -> None:
    for conflict, changes in touched.conflicts.items():
        ceasefires, ends = _lifecycle(db, conflict)
        in_effect = periods(ceasefires, ends)
        if changes.lifecycle:
            _write_ceasefires(db, conflict, ceasefires, in_effect)
        for ceasefire in ceasefires:
            period = in_effect[ceasefire.ceasefire_id]
            if (
                changes.lifecycle
                or ceasefire.ceasefire_id in changes.reported
                or (changes.span is not None and _near(period, changes.span))
            ):
                _write_breaches(db, ceasefire, period)


def _near(period: Period, span: tuple[int, int]) -> bool:
    stop = period.stop if period.stop is not None else 2**62
    return span[0] <= stop and span[1] >= period.start


def _rows(db: sqlite_utils.Database, where: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(
        f"SELECT event_id, position, item FROM timeline WHERE valid_to IS NULL AND {where}",
        params,
    )
    return [json.loads(item) for _, _, item in cursor.fetchall()]


def _lifecycle(db: sqlite_utils.Database, conflict: str) -> tuple[list[Ceasefire], dict[str, End]]:
    agreed = _rows(db, "conflict = ? AND type = 'ceasefire_agreed' AND retracted = 0", [conflict])
    ended = _rows(db, "conflict = ? AND type = 'ceasefire_ended' AND retracted = 0", [conflict])
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
    return ceasefires, ends


def _us(text: str) -> int:
    return to_micros(parse_utc(text))


def _write_ceasefires(
    db: sqlite_utils.Database,
    conflict: str,
    ceasefires: list[Ceasefire],
    in_effect: dict[str, Period],
) -> None:
    live = {c.ceasefire_id for c in ceasefires}
    for (gone,) in db.execute(
        "SELECT ceasefire_id FROM ceasefires WHERE conflict = ?", [conflict]
    ).fetchall():
        if gone not in live:
            db.execute(
                "DELETE FROM breaches WHERE conflict = ? AND ceasefire_id = ?", [conflict, gone]
            )
    db.execute("DELETE FROM ceasefires WHERE conflict = ?", [conflict])
    db.table("ceasefires").insert_all(
        {
            "conflict": conflict,
            "ceasefire_id": c.ceasefire_id,
            "event_id": c.event_id,
            "position": c.position,
            "parties": json.dumps(list(c.parties)),
            "mediators": json.dumps(list(c.mediators)),
            "agreed_us": c.agreed_at,
            "effective_us": c.effective_at,
            "ends_us": c.ends_at,
            "start_us": c.start,
            "stop_us": in_effect[c.ceasefire_id].stop,
            "stop_reason": in_effect[c.ceasefire_id].stop_reason,
            "superseded_by": in_effect[c.ceasefire_id].superseded_by,
        }
        for c in ceasefires
    )


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


def _write_breaches(db: sqlite_utils.Database, ceasefire: Ceasefire, period: Period) -> None:
    conflict, ceasefire_id = ceasefire.conflict, ceasefire.ceasefire_id
    db.execute(
        "DELETE FROM breaches WHERE conflict = ? AND ceasefire_id = ?", [conflict, ceasefire_id]
    )
    stop = period.stop if period.stop is not None else 2**62
    marks = ",".join("?" * len(INCIDENT_TYPES))
    candidates = _rows(
        db,
        f"conflict = ? AND type IN ({marks}) AND retracted = 0 AND window_start <= ? "
        "AND window_end >= ?",
        [conflict, *sorted(INCIDENT_TYPES), stop, period.start],
    )
    reports = _rows(
        db,
        "conflict = ? AND ceasefire_id = ? AND type = 'ceasefire_breached' AND retracted = 0",
        [conflict, ceasefire_id],
    )
    named_ids = sorted({r["incident_event_id"] for r in reports if "incident_event_id" in r})
    named = _named(db, named_ids)
    found = incidents(ceasefire, period, map(_observed, candidates), map(_observed, reports), named)
    db.table("breaches").insert_all(
        {
            "conflict": conflict,
            "ceasefire_id": ceasefire_id,
            "event_id": i.event_id,
            "position": i.position,
            "occurred_us": i.occurred_at,
            "happened_us": i.happened_at,
            "kind": i.kind,
            "window_start": i.window[0],
            "window_end": i.window[1],
            "attributed": json.dumps(list(i.attributed)),
            "certain": int(i.certain),
        }
        for i in found
    )


def _named(db: sqlite_utils.Database, event_ids: Iterable[str]) -> dict[str, Observed]:
    ids = list(event_ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {
        e["event_id"]: _observed(e)
        for e in _rows(db, f"event_id IN ({marks}) AND retracted = 0", ids)
    }
