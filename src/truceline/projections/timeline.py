"""The timeline projection: each entry of the log into ``timeline`` / ``amendments`` rows.

An item changes only through a correction or a retraction naming it (or a retraction of
such a correction); each change closes the current version (``valid_to``) and writes the
next one (``valid_from``) at the position of the entry that caused it.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import sqlite_utils

from truceline.application.log import Entry
from truceline.domain.timeline import AMENDMENT_TYPES, LIFECYCLE_TYPES, actors, amend, item, window
from truceline.domain.times import parse_utc, to_micros
from truceline.projections import jsontext
from truceline.projections.ceasefires import Touched
from truceline.projections.csvrow import csv_line
from truceline.projections.tables import AmendmentRow, TimelineRow, insert_rows


class TimelineWriter:
    """Writes one page's timeline rows, in log order.

    New items wait to be inserted together (one ``executemany`` instead of a statement
    each) until an amendment or :meth:`flush` needs them in the table.
    """

    def __init__(self, db: sqlite_utils.Database, touched: Touched):
        self.db = db
        self.touched = touched
        self.items: list[TimelineRow] = []
        self.latest: int | None = None  # the latest occurred_us of the rows written
        self.counts = ConflictCounts()

    def project(self, entry: Entry) -> None:
        event = entry.event
        if event["type"] in AMENDMENT_TYPES:
            self._insert_items()
            row = _amend(self.db, entry, self.touched, self.counts)
            if row is not None:
                self._written(row.occurred_us)
        else:
            self.items.append(_row(event, entry.position, entry.position, self.touched))

    def changes_lifecycle(self, entry: Entry) -> bool:
        """Whether ``entry`` can change a ceasefire's lifecycle: an agreement or an end,
        or an amendment of one (or a retraction of a correction of one)."""
        event = entry.event
        if event["type"] in LIFECYCLE_TYPES:
            return True
        if event["type"] not in AMENDMENT_TYPES:
            return False
        self._insert_items()  # the target may be among them
        target = _corrected_by_retracted(self.db, event) or _target(event)
        found = self.db.execute(
            "SELECT type FROM timeline WHERE event_id = ? AND valid_to IS NULL", [target]
        ).fetchone()
        return found is not None and found[0] in LIFECYCLE_TYPES

    def flush(self) -> None:
        """Write what waits, and the conflicts' counts."""
        self._insert_items()
        self.counts.write(self.db)

    def _insert_items(self) -> None:
        if self.items:
            insert_rows(self.db, "timeline", self.items)
            self.counts.items.update(row.conflict for row in self.items)
            self._written(max(row.occurred_us for row in self.items))
            self.items = []

    def _written(self, occurred_us: int) -> None:
        self.latest = occurred_us if self.latest is None else max(self.latest, occurred_us)


class ConflictCounts:
    """What a page changed in each conflict's counts (the ``conflicts`` table)."""

    def __init__(self) -> None:
        self.items: Counter[str] = Counter()
        self.retracted: Counter[str] = Counter()

    def write(self, db: sqlite_utils.Database) -> None:
        changed = set(self.items) | set(self.retracted)
        db.conn.executemany(
            "INSERT INTO conflicts (conflict, items, retracted) VALUES (?, ?, ?) "
            "ON CONFLICT (conflict) DO UPDATE SET items = items + excluded.items, "
            "retracted = retracted + excluded.retracted",
            [(name, self.items[name], self.retracted[name]) for name in sorted(changed)],
        )
        self.items.clear()
        self.retracted.clear()


def _amend(
    db: sqlite_utils.Database, entry: Entry, touched: Touched, counts: ConflictCounts
) -> TimelineRow | None:
    """Record a correction or retraction; the new row of the item it changes, if any."""
    event = entry.event
    target_id = _target(event)
    insert_rows(
        db,
        "amendments",
        [
            AmendmentRow(
                event_id=event["event_id"],
                target_event_id=target_id,
                position=entry.position,
                kind=event["type"],
                changes=json.dumps(event.get("changes", {})),
                retracted=0,
            )
        ],
    )
    corrected = _corrected_by_retracted(db, event)
    if corrected is not None:
        # A retracted correction no longer applies: its own target is recomputed.
        db.execute("UPDATE amendments SET retracted = 1 WHERE event_id = ?", [target_id])
        target_id = corrected
    return _recompute_item(db, target_id, entry.position, touched, counts)


def _target(amendment: dict[str, Any]) -> str:
    """The event a correction or retraction names."""
    return str(amendment.get("corrects_event_id") or amendment["retracts_event_id"])


def _corrected_by_retracted(db: sqlite_utils.Database, amendment: dict[str, Any]) -> str | None:
    """For a retraction of a correction, the event that correction corrects."""
    if amendment["type"] != "retraction":
        return None
    row = db.execute(
        "SELECT target_event_id FROM amendments WHERE event_id = ? AND kind = 'correction'",
        [amendment["retracts_event_id"]],
    ).fetchone()
    return None if row is None else str(row[0])


def _recompute_item(
    db: sqlite_utils.Database,
    event_id: str,
    at_position: int,
    touched: Touched,
    counts: ConflictCounts,
) -> TimelineRow | None:
    current = db.execute(
        "SELECT original, position, item FROM timeline WHERE event_id = ? AND valid_to IS NULL",
        [event_id],
    ).fetchone()
    if current is None:  # an amendment of an amendment-only id: nothing on the timeline
        return None
    original_json, position, old_item_json = current
    old = jsontext.loads(old_item_json)
    # Only amended versions store their original; an unamended item is its own original.
    original = jsontext.loads(original_json) if original_json else _unamended(old)
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
    db.execute(
        "UPDATE timeline SET valid_to = ? WHERE event_id = ? AND valid_to IS NULL",
        [at_position, event_id],
    )
    touched.add(old, window(old), at_position, ended=True)
    row = _row(
        amend(original, corrections),
        position,
        at_position,
        touched,
        corrected=bool(corrections),
        retracted=retracted,
        original=original,
    )
    insert_rows(db, "timeline", [row])
    counts.retracted[row.conflict] += row.retracted - int(old["retracted"])
    return row


def _unamended(current: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in current.items() if k not in ("position", "corrected", "retracted")}


def _row(
    event: dict[str, Any],
    position: int,
    valid_from: int,
    touched: Touched,
    *,
    corrected: bool = False,
    retracted: bool = False,
    original: dict[str, Any] | None = None,
) -> TimelineRow:
    """The timeline row of one version of an item; notes it in ``touched``."""
    current = item(event, position, corrected=corrected, retracted=retracted)
    start, end = span = window(event)
    touched.add(current, span, valid_from)
    location = event.get("location") or {}
    return TimelineRow(
        event_id=event["event_id"],
        valid_from=valid_from,
        valid_to=None,
        position=position,
        type=event["type"],
        conflict=event["conflict"],
        occurred_us=to_micros(parse_utc(event["occurred_at"])),
        occurred_at=event["occurred_at"],
        window_start=start,
        window_end=end,
        ceasefire_id=event.get("ceasefire_id"),
        incident_event_id=event.get("incident_event_id"),
        location=location.get("name"),
        lat=location.get("lat"),
        lon=location.get("lon"),
        actors=json.dumps(actors(event), separators=(",", ":")),
        corrected=int(corrected),
        retracted=int(retracted),
        item=jsontext.dumps(current),
        original=(
            jsontext.dumps(original) if original is not None and (corrected or retracted) else None
        ),
        csv=csv_line(current),
    )
