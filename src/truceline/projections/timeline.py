"""The timeline projection: each entry of the log into ``timeline`` / ``amendments`` rows.

An item changes only through a correction or a retraction naming it (or a retraction of
such a correction); each change closes the current version (``valid_to``) and writes the
next one (``valid_from``) at the position of the entry that caused it.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from truceline.application.log import Entry
from truceline.domain.timeline import AMENDMENT_TYPES, actors, amend, item, window
from truceline.domain.times import parse_utc, to_micros
from truceline.projections.ceasefires import Touched


def project_entry(db: sqlite_utils.Database, entry: Entry, touched: Touched) -> None:
    event = entry.event
    if event["type"] not in AMENDMENT_TYPES:
        _write_version(db, event, entry.position, entry.position, corrected=False, retracted=False)
        touched.add(event)
        return
    target_id = event.get("corrects_event_id") or event["retracts_event_id"]
    db.table("amendments").insert(
        {
            "event_id": event["event_id"],
            "target_event_id": target_id,
            "position": entry.position,
            "kind": event["type"],
            "changes": json.dumps(event.get("changes", {})),
            "retracted": 0,
        }
    )
    retracted_correction = db.execute(
        "SELECT target_event_id FROM amendments WHERE event_id = ? AND kind = 'correction'",
        [target_id],
    ).fetchone()
    if event["type"] == "retraction" and retracted_correction is not None:
        # A retracted correction no longer applies: its own target is recomputed.
        db.execute("UPDATE amendments SET retracted = 1 WHERE event_id = ?", [target_id])
        target_id = retracted_correction[0]
    _recompute_item(db, target_id, entry.position, touched)


def _current(db: sqlite_utils.Database, event_id: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = db.execute(
        "SELECT original, position, item FROM timeline WHERE event_id = ? AND valid_to IS NULL",
        [event_id],
    ).fetchone()
    return row


def _recompute_item(
    db: sqlite_utils.Database, event_id: str, at_position: int, touched: Touched
) -> None:
    current = _current(db, event_id)
    if current is None:  # an amendment of an amendment-only id: nothing on the timeline
        return
    original_json, position, old_item_json = current
    original = json.loads(original_json)
    rows = db.execute(
        "SELECT kind, changes, retracted FROM amendments WHERE target_event_id = ? "
        "ORDER BY position",
        [event_id],
    ).fetchall()
    corrections = [
        json.loads(changes)
        for kind, changes, retracted in rows
        if kind == "correction" and not retracted
    ]
    retracted = any(kind == "retraction" for kind, _, _ in rows)
    old = json.loads(old_item_json)
    db.execute(
        "UPDATE timeline SET valid_to = ? WHERE event_id = ? AND valid_to IS NULL",
        [at_position, event_id],
    )
    new = _write_version(
        db,
        amend(original, corrections),
        position,
        at_position,
        corrected=bool(corrections),
        retracted=retracted,
        original=original,
    )
    touched.add(old)
    touched.add(new)


def _write_version(
    db: sqlite_utils.Database,
    event: dict[str, Any],
    position: int,
    valid_from: int,
    *,
    corrected: bool,
    retracted: bool,
    original: dict[str, Any] | None = None,
) -> dict[str, Any]:
    current = item(event, position, corrected=corrected, retracted=retracted)
    start, end = window(event)
    location = event.get("location") or {}
    db.table("timeline").insert(
        {
            "event_id": event["event_id"],
            "valid_from": valid_from,
            "valid_to": None,
            "position": position,
            "type": event["type"],
            "conflict": event["conflict"],
            "occurred_us": to_micros(parse_utc(event["occurred_at"])),
            "occurred_at": event["occurred_at"],
            "window_start": start,
            "window_end": end,
            "ceasefire_id": event.get("ceasefire_id"),
            "incident_event_id": event.get("incident_event_id"),
            "location": location.get("name"),
            "lat": location.get("lat"),
            "lon": location.get("lon"),
            "actors": json.dumps(actors(event)),
            "corrected": int(corrected),
            "retracted": int(retracted),
            "item": json.dumps(current),
            "original": json.dumps(original if original is not None else event),
        }
    )
    return current
