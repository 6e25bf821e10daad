"""Importing ACLED files through the application: new rows as events, revised rows as
corrections, rows a later file lacks or ACLED deleted as retractions (docs/acled.md).

Rows are applied in chunks, each one transaction of :meth:`Truceline.import_events`;
every id is derived from ACLED's, so a rerun stores only what an interrupted run did not.
What the file holds is remembered in a scratch SQLite file, not in memory, so memory does
not grow with the file.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from truceline.application.app import Truceline
from truceline.domain.errors import Invalid
from truceline.domain.times import format_utc
from truceline.domain.validation import NormalizedEvent, parse_event
from truceline.interop.acled.mapping import NAMESPACE, Skipped, envelope, event_id
from truceline.interop.acled.reading import Row, parse_date, read_deletions, read_rows

CHUNK = 1000
_FIXED = frozenset({"event_id", "type", "conflict", "local_times"})
Progress = Callable[[int], None]


@dataclass
class Summary:
    """What an import did, for the line that ends the run."""

    new: int = 0
    corrected: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    retracted: int = 0
    actors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Options:
    recorded_by: str
    conflict: str | None = None
    actors: dict[str, str] | None = None
    retract_missing: bool = False
    chunk_size: int = CHUNK


def import_acled(
    app: Truceline, path: Path, options: Options, on_progress: Progress | None = None
) -> Summary:
    """Import an ACLED file (any layout, or a saved API answer); raise
    :class:`LayoutError` for a file that is not ACLED's."""
    summary = Summary()
    with _Seen() as seen:
        for chunk in _chunks(read_rows(path), options.chunk_size):
            _import_chunk(app, chunk, options, seen, summary)
            if on_progress:
                on_progress(len(chunk))
        summary.missing = sorted(_missing(app, seen))
    if options.retract_missing and summary.missing:
        reason = "absent from a later ACLED file"
        summary.retracted = _retract(app, summary.missing, reason, None, options.recorded_by)
    return summary


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _import_chunk(
    app: Truceline, rows: list[Row], options: Options, seen: _Seen, summary: Summary
) -> None:
    mapped = [m for row in rows if (m := _mapped(row, options, seen, summary)) is not None]
    current = app.corrected_events(event["event_id"] for _, event, _ in mapped)
    to_append: list[dict[str, Any]] = []
    for row, event, posted in mapped:
        stored = current.get(event["event_id"])
        if stored is None:
            to_append.append(posted)
            summary.new += 1
            continue
        outcome = _revision(row, stored, event, posted)
        if isinstance(outcome, Skipped):
            summary.skipped[outcome.reason] += 1
        elif outcome is None:
            summary.unchanged += 1
        else:
            to_append.append(outcome)
            summary.corrected += 1
    if to_append:
        app.import_events(enumerate(to_append, start=1), options.recorded_by)


def _mapped(
    row: Row, options: Options, seen: _Seen, summary: Summary
) -> tuple[Row, NormalizedEvent, dict[str, Any]] | None:
    """The row as (row, normalised event, posted envelope); None if it is skipped."""
    acled_id = row.get("event_id_cnty", "")
    if not acled_id:
        summary.skipped["no event_id_cnty"] += 1
        return None
    if not seen.add(acled_id, row):
        summary.skipped["repeated event_id_cnty"] += 1
        return None
    if options.actors is None:
        summary.actors.update(a for a in (row.get("actor1"), row.get("actor2")) if a)
    try:
        posted = envelope(row, options.conflict, options.actors)
        if isinstance(posted, Skipped):
            summary.skipped[posted.reason] += 1
            return None
        return row, parse_event(posted), posted
    except (Invalid, ValueError) as error:
        summary.skipped[f"invalid row ({_first_error(error)})"] += 1
        return None


def _first_error(error: Exception) -> str:
    if isinstance(error, Invalid) and error.errors:
        first = error.errors[0]
        return ".".join(str(part) for part in first["loc"]) or "event"
    return str(error).split(":")[0]


def _revision(
    row: Row, stored: NormalizedEvent, event: NormalizedEvent, posted: dict[str, Any]
) -> dict[str, Any] | Skipped | None:
    """The correction that makes the stored event read as the row; None if it already
    does; Skipped if only a new event could (its type or conflict changed)."""
    if stored["type"] != event["type"] or stored["conflict"] != event["conflict"]:
        return Skipped("type or conflict changed: not correctable")
    names = (set(stored) | set(event)) - _FIXED
    if "fatalities" not in row:  # a layout without the column says nothing of deaths
        names.discard("killed")
    changes = {
        name: posted.get(name) for name in sorted(names) if stored.get(name) != event.get(name)
    }
    if not changes or _only_restamped(changes, stored, event):
        return None
    digest = json.dumps(changes, sort_keys=True, ensure_ascii=False)
    revised_at = _unix_time(row.get("timestamp"))  # when ACLED revised the row
    return {
        "type": "correction",
        "event_id": str(uuid.uuid5(NAMESPACE, f"correction:{event['event_id']}:{digest}")),
        "conflict": event["conflict"],
        "occurred_at": revised_at,
        "corrects_event_id": event["event_id"],
        "changes": changes,
        "sources": [{"name": "ACLED", "published_at": revised_at}],
        "summary": f"ACLED revised event {row['event_id_cnty']}: {', '.join(changes)}",
    }


def _only_restamped(
    changes: dict[str, Any], stored: NormalizedEvent, event: NormalizedEvent
) -> bool:
    """Whether ACLED only stamped the row anew: its ``timestamp`` moved, nothing else."""
    if set(changes) != {"external"}:
        return False

    def unstamped(external: dict[str, Any] | None) -> dict[str, Any]:
        fields = dict((external or {}).get("fields") or {})
        fields.pop("timestamp", None)
        return {**(external or {}), "fields": fields}

    return unstamped(stored.get("external")) == unstamped(event.get("external"))


def _unix_time(text: str | None) -> str:
    """A Unix time in seconds (ACLED's ``timestamp``) as RFC 3339; now without one."""
    try:
        moment = datetime.fromtimestamp(int(float(text or "")), UTC)
    except (ValueError, OverflowError, OSError):
        moment = datetime.now(UTC)
    return format_utc(moment.replace(microsecond=0))


def summary_lines(summary: Summary) -> list[str]:
    """The lines that end an import: the counts, then what was skipped and missing."""
    lines = [
        f"new {summary.new}, corrected {summary.corrected}, unchanged {summary.unchanged}, "
        f"skipped {sum(summary.skipped.values())}, missing {len(summary.missing)}, "
        f"retracted {summary.retracted}"
    ]
    if summary.skipped:
        reasons = "; ".join(f"{reason} {n}" for reason, n in sorted(summary.skipped.items()))
        lines.append(f"skipped: {reasons}")
    if summary.missing:
        lines.append(f"missing: {', '.join(summary.missing)}")
    if summary.actors:
        top = "; ".join(f"{name} {n}" for name, n in summary.actors.most_common(10))
        lines.append(f"most frequent actors (for --actor-map): {top}")
    return lines


# -- rows a later file lacks -------------------------------------------------------------


def _missing(app: Truceline, seen: _Seen) -> Iterator[str]:
    """The ``event_id_cnty`` of earlier imported, unretracted ACLED events of the file's
    countries, within the dates the file covers for that country, that it does not hold."""
    if not seen.ranges:
        return
    candidates: dict[str, str] = {}  # event id -> event_id_cnty
    for event in app.iter_events():
        if event["type"] == "retraction":
            candidates.pop(event["retracts_event_id"], None)
            continue
        external = event.get("external") or {}
        if external.get("source") != "acled" or seen.holds(external["id"]):
            continue
        fields = external.get("fields") or {}
        local = event.get("local_times") or {}
        day = str(local.get("occurred_at") or event["occurred_at"])[:10]  # the local date
        if seen.covers(fields.get("country"), day):
            candidates[event["event_id"]] = external["id"]
    yield from candidates.values()


def _retract(
    app: Truceline,
    acled_ids: Iterable[str],
    reason: str,
    at: str | None,
    recorded_by: str,
    summary: Summary | None = None,
) -> int:
    """Retract the stored, unretracted events of those ACLED ids; how many."""
    ids = {event_id(acled_id): acled_id for acled_id in acled_ids}
    stored = app.corrected_events(ids)
    if summary is not None:
        summary.skipped["not in the log"] += len(ids) - len(stored)
    retracted = app.retracted(stored)
    live = [i for i in stored if i not in retracted]
    retractions = [
        {
            "type": "retraction",
            "event_id": str(uuid.uuid5(NAMESPACE, f"retraction:{i}")),
            "conflict": stored[i]["conflict"],
            "occurred_at": at or _unix_time(None),
            "retracts_event_id": i,
            "reason": f"{reason} ({ids[i]})",
        }
        for i in live
    ]
    for start in range(0, len(retractions), CHUNK):
        app.import_events(enumerate(retractions[start : start + CHUNK], start=1), recorded_by)
    return len(retractions)


# -- ACLED's deletions list --------------------------------------------------------------


def import_deleted(app: Truceline, path: Path, recorded_by: str) -> Summary:
    """Retract the events of ACLED's deletions list (CSV or the API's JSON)."""
    summary = Summary()
    by_time: dict[str, list[str]] = {}
    for row in read_deletions(path):
        by_time.setdefault(_unix_time(row.get("deleted_timestamp")), []).append(
            row["event_id_cnty"]
        )
    for at, acled_ids in sorted(by_time.items()):
        summary.retracted += _retract(app, acled_ids, "deleted by ACLED", at, recorded_by, summary)
    return summary


# -- what the file holds ------------------------------------------------------------------


class _Seen:
    """The ``event_id_cnty`` of the file's rows, and each country's date range, in a
    scratch SQLite file: memory stays flat whatever the file's length."""

    def __enter__(self) -> _Seen:
        self._dir = tempfile.TemporaryDirectory(prefix="truceline-acled-")
        self.db = sqlite3.connect(Path(self._dir.name) / "seen.db")
        self.db.execute("CREATE TABLE seen (id TEXT PRIMARY KEY)")
        self.ranges: dict[str, tuple[str, str]] = {}  # country -> first, last date
        return self

    def __exit__(self, *_: object) -> None:
        self.db.close()
        self._dir.cleanup()

    def add(self, acled_id: str, row: Row) -> bool:
        """Note a row; False if its id was seen before."""
        try:
            self.db.execute("INSERT INTO seen VALUES (?)", (acled_id,))
        except sqlite3.IntegrityError:
            return False
        try:
            day = parse_date(row.get("event_date", "")).isoformat()
        except ValueError:
            return True
        country = row.get("country", "")
        first, last = self.ranges.get(country, (day, day))
        self.ranges[country] = (min(first, day), max(last, day))
        return True

    def holds(self, acled_id: str) -> bool:
        found = self.db.execute("SELECT 1 FROM seen WHERE id = ?", (acled_id,)).fetchone()
        return found is not None

    def covers(self, country: str | None, day: str) -> bool:
        """Whether the file holds rows of that country around that date."""
        first, last = self.ranges.get(country or "", ("9", ""))
        return first <= day <= last
