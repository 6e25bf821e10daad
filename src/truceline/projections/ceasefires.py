"""The ceasefire projection: ``ceasefires`` (periods in effect) and ``breaches``.

Both tables are versioned as the timeline is: a row is current from the log position
``valid_from`` at which it changed until ``valid_to``, so a status ``as_of`` any position
is a lookup. A version is written only where a row changes, at the position of the entry
that changed it; the rows are therefore the same however the log was cut into pages.

The read model applies a page in runs (see :func:`truceline.projections.readmodel`): an
entry that can change a lifecycle (an agreement or end, or an amendment of one) is a run
of its own, so everything in a run sees the same periods. After each run, with the pure
rules of :mod:`truceline.domain.ceasefires` and the current ``timeline`` rows:

- the periods of every ceasefire of a conflict whose lifecycle the page touched (an
  agreement or end, or an amendment of one) are recomputed; a ceasefire whose period or
  definition changed gets all its breaches recomputed;
- for the other ceasefires only the incidents the page touched are recomputed: an
  incident is identified by its key (the inferred or named event, or the unnamed report),
  and ``incidents()`` given just that key's events returns just that incident. A key
  touched at several positions of a run gets a version at each: the timeline as it stood
  there (its rows are versioned by position) gives all but the last.

So catching up costs about the same per event whatever the length of the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
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
from truceline.projections.tables import (
    BREACH_COLUMNS,
    TABLES,
    BreachRow,
    CeasefireRow,
    insert_rows,
)

Version = tuple[dict[str, Any], tuple[int, int], int]  # an item, its window, a position


@dataclass
class _ConflictChanges:
    lifecycle_at: int | None = None  # the position of the run's lifecycle entry
    # its agreements and ends, each version made (ended False) or ended (True)
    lifecycle: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    # The version of each item the run made that is current at its end, and its window:
    # the last recomputation of a key reads its event from here rather than the table
    # (re-reading and decoding them was a tenth of a bulk build).
    current: dict[str, tuple[dict[str, Any], tuple[int, int]]] = field(default_factory=dict)


class Touched:
    """What a run changed, per conflict: each affected event version, old and new."""

    def __init__(self) -> None:
        self.conflicts: dict[str, _ConflictChanges] = {}

    def add(
        self, event: dict[str, Any], span: tuple[int, int], at: int, *, ended: bool = False
    ) -> None:
        """Note a version of an event (and the window it occupies) that the entry at log
        position ``at`` made (or ``ended``)."""
        changes = self.conflicts.setdefault(event["conflict"], _ConflictChanges())
        if event["type"] in LIFECYCLE_TYPES:
            changes.lifecycle_at = at
            changes.lifecycle.append((event, ended))
        else:
            changes.versions.append((event, span, at))
            if not ended:
                changes.current[event["event_id"]] = (event, span)


@dataclass
class _Lifecycle:
    """A conflict's unretracted agreements and ends, by event id, and the ceasefires and
    periods its table rows hold."""

    agreed: dict[str, Ceasefire]
    ended: dict[str, tuple[str, End]]  # the ceasefire id, and the end
    stored: dict[str, tuple[Ceasefire, Period]]

    def update(self, versions: list[tuple[dict[str, Any], bool]]) -> None:
        """Take in a run's versions of agreements and ends, in the order they were made."""
        for event, ended in versions:
            kept = self.agreed if event["type"] == "ceasefire_agreed" else self.ended
            kept.pop(event["event_id"], None)
            if not ended and not event["retracted"]:
                if event["type"] == "ceasefire_agreed":
                    self.agreed[event["event_id"]] = _ceasefire_of(event)
                else:
                    self.ended[event["event_id"]] = (event["ceasefire_id"], _end_of(event))

    def periods(self) -> tuple[list[Ceasefire], dict[str, Period]]:
        """What :func:`lifecycle` reads from the timeline, from what is kept here."""
        ceasefires = sorted(self.agreed.values(), key=lambda c: c.position)
        ends: dict[str, End] = {}
        for ceasefire_id, end in sorted(self.ended.values(), key=lambda pair: pair[1].position):
            ends.setdefault(ceasefire_id, end)
        return ceasefires, periods(ceasefires, ends)


class Lifecycles:
    """Each conflict's lifecycle through one page: read from the tables at the first
    lifecycle entry of the page, then kept up to date from each run's versions. Read
    again at every lifecycle entry, a conflict's hundreds of agreements and ends (and its
    ceasefire rows) made a bulk build slow down as the log grew: 7,261 ev/s at 100,000
    events, 4,395 at 1,000,000."""

    def __init__(self) -> None:
        self._conflicts: dict[str, _Lifecycle] = {}

    def of(self, db: sqlite_utils.Database, conflict: str) -> _Lifecycle:
        if conflict not in self._conflicts:
            self._conflicts[conflict] = _read_lifecycle(db, conflict)
        return self._conflicts[conflict]


def _read_lifecycle(db: sqlite_utils.Database, conflict: str) -> _Lifecycle:
    state = _agreements(View(db), conflict)
    rows = db.table("ceasefires").rows_where("conflict = ? AND valid_to IS NULL", [conflict])
    state.stored = {row["ceasefire_id"]: ceasefire_from_row(row) for row in rows}
    return state


def recompute_ceasefires(
    db: sqlite_utils.Database,
    touched: Touched,
    lifecycles: Lifecycles,
    conflict: str | None = None,
) -> None:
    """Bring both tables to the end of a run (of every conflict ``touched`` holds, or of
    ``conflict`` alone), writing a version wherever a row changed; what was done leaves
    ``touched``. ``lifecycles`` is the page's (see :class:`Lifecycles`)."""
    names = list(touched.conflicts) if conflict is None else [conflict]
    for name in names:
        changes = touched.conflicts.pop(name, None)
        if changes is not None:
            _recompute_conflict(db, name, changes, lifecycles)


def _recompute_conflict(
    db: sqlite_utils.Database, conflict: str, changes: _ConflictChanges, lifecycles: Lifecycles
) -> None:
    rebuilt = set()
    if changes.lifecycle_at is not None:
        state = lifecycles.of(db, conflict)
        state.update(changes.lifecycle)
        rebuilt = _update_lifecycle(db, conflict, changes.lifecycle_at, state)
    stored = _stored_ceasefires(db, conflict, changes.versions)
    touches: dict[str, dict[str, set[int]]] = {}  # ceasefire -> key -> positions
    for version, span, at in changes.versions:
        event_keys = {version["event_id"]}
        if "incident_event_id" in version:
            event_keys.add(version["incident_event_id"])
        for ceasefire, period in stored.values():
            if ceasefire.ceasefire_id in rebuilt:
                continue
            if period.meets(span) or version.get("ceasefire_id") == ceasefire.ceasefire_id:
                by_key = touches.setdefault(ceasefire.ceasefire_id, {})
                for key in event_keys:
                    by_key.setdefault(key, set()).add(at)
    for ceasefire_id, by_key in touches.items():
        ceasefire, period = stored[ceasefire_id]
        _update_touched(db, ceasefire, period, by_key, changes.current)


def version_clause(as_of: int | None) -> tuple[str, list[Any]]:
    """The clause that picks the version of a row current now (``as_of`` None), or when
    the log ended at ``as_of``; and its parameters."""
    if as_of is None:
        return "valid_to IS NULL", []
    return "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)", [as_of, as_of]


@dataclass(frozen=True)
class View:
    """The timeline as it stood: now (``as_of`` None), or when the log ended at ``as_of``.

    Timeline rows are versioned by log position, so any past state is an indexed lookup;
    the ceasefire rules then run on that state exactly as they ran on the current one.
    """

    db: sqlite_utils.Database
    as_of: int | None = None

    def items(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        version, bound = version_clause(self.as_of)
        cursor = self.db.execute(
            f"SELECT item FROM timeline WHERE {version} AND {where}", [*bound, *params]
        )
        return [jsontext.loads(item) for (item,) in cursor.fetchall()]


def _us(text: str) -> int:
    return to_micros(parse_utc(text))


# -- lifecycle: periods -----------------------------------------------------------------


def lifecycle(view: View, conflict: str) -> tuple[list[Ceasefire], dict[str, Period]]:
    """The conflict's live ceasefires and their periods in effect."""
    return _agreements(view, conflict).periods()


def _agreements(view: View, conflict: str) -> _Lifecycle:
    """The conflict's unretracted agreements and ends (no stored rows)."""
    agreed = view.items("conflict = ? AND type = 'ceasefire_agreed' AND retracted = 0", [conflict])
    ended = view.items("conflict = ? AND type = 'ceasefire_ended' AND retracted = 0", [conflict])
    return _Lifecycle(
        agreed={e["event_id"]: _ceasefire_of(e) for e in agreed},
        ended={e["event_id"]: (e["ceasefire_id"], _end_of(e)) for e in ended},
        stored={},
    )


def _ceasefire_of(e: dict[str, Any]) -> Ceasefire:
    """A ``ceasefire_agreed`` item as the rules read it."""
    return Ceasefire(
        conflict=e["conflict"],
        ceasefire_id=e["ceasefire_id"],
        event_id=e["event_id"],
        position=e["position"],
        parties=tuple(e["parties"]),
        mediators=tuple(e.get("mediators", ())),
        agreed_at=_us(e["occurred_at"]),
        effective_at=_us(e["effective_at"]),
        ends_at=_us(e["ends_at"]) if "ends_at" in e else None,
    )


def _end_of(e: dict[str, Any]) -> End:
    """A ``ceasefire_ended`` item as the rules read it."""
    return End(_us(e["occurred_at"]), e["reason"], e["position"])


def _update_lifecycle(
    db: sqlite_utils.Database, conflict: str, at: int, state: _Lifecycle
) -> set[str]:
    """Recompute the conflict's periods after the lifecycle entry at ``at`` (``state``:
    its agreements and ends as of it); return the ceasefires whose breaches were all
    recomputed."""
    ceasefires, in_effect = state.periods()
    new = {c.ceasefire_id: (c, in_effect[c.ceasefire_id]) for c in ceasefires}
    old, state.stored = state.stored, new
    for ceasefire_id in sorted(old.keys() - new.keys()):
        _end_version(db, "ceasefires", (conflict, ceasefire_id), at)
        _write_versions(
            db, conflict, ceasefire_id, {}, _current_breaches(db, conflict, ceasefire_id), at
        )
    rebuilt = set()
    for ceasefire in ceasefires:
        period, before = in_effect[ceasefire.ceasefire_id], old.get(ceasefire.ceasefire_id)
        if before == (ceasefire, period):
            continue
        if before is not None:
            _end_version(db, "ceasefires", (conflict, ceasefire.ceasefire_id), at)
        insert_rows(db, "ceasefires", [_ceasefire_row(ceasefire, period, at)])
        if before is not None and before[0] == ceasefire:  # only the stop moved
            _move_stop(db, ceasefire, period, before[1].stop, at)
        else:
            _rebuild_breaches(db, ceasefire, period, at)
            rebuilt.add(ceasefire.ceasefire_id)
    return rebuilt


def _unversioned(row: BreachRow) -> tuple[Any, ...]:
    """A breach row without its versions (the row ends with them)."""
    return tuple(row)[:-2]


def _end_version(db: sqlite_utils.Database, table: str, key: tuple[str, ...], at: int) -> None:
    """End the current version of the row with this key (the primary key's columns before
    ``valid_from``) at ``at``: a version made at ``at`` itself was never seen, and goes."""
    columns = TABLES[table][1][: len(key)]
    where = " AND ".join(f"{column} = ?" for column in columns) + " AND valid_to IS NULL"
    db.execute(f"DELETE FROM {table} WHERE {where} AND valid_from = ?", [*key, at])
    db.execute(f"UPDATE {table} SET valid_to = ? WHERE {where}", [at, *key])


def _move_stop(
    db: sqlite_utils.Database, ceasefire: Ceasefire, period: Period, old_stop: int | None, at: int
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
            "SELECT key FROM breaches WHERE conflict = ? AND ceasefire_id = ? "
            "AND window_end >= ? AND valid_to IS NULL",
            [ceasefire.conflict, ceasefire.ceasefire_id, low],
        ).fetchall()
    }
    view = View(db)
    keys.update(e["event_id"] for e in _incident_candidates(view, ceasefire.conflict, low, high))
    keys.update(r.get("incident_event_id") or r["event_id"] for r in _reports(view, ceasefire))
    if keys:
        _update_incidents(db, ceasefire, period, view, dict.fromkeys(keys, at))


def _ceasefire_row(c: Ceasefire, period: Period, at: int) -> CeasefireRow:
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
        valid_from=at,
        valid_to=None,
    )


def _stored_ceasefires(
    db: sqlite_utils.Database,
    conflict: str,
    versions: list[Version],
) -> dict[str, tuple[Ceasefire, Period]]:
    """The stored ceasefires a page's events can touch: those whose period meets the span
    of the events' windows, and those the page's reports name."""
    if not versions:
        return {}
    low = min(span[0] for _, span, _ in versions)
    high = max(span[1] for _, span, _ in versions)
    named = sorted({v["ceasefire_id"] for v, _, _ in versions if "ceasefire_id" in v})
    marks = ",".join("?" * len(named))
    rows = db.table("ceasefires").rows_where(
        "conflict = ? AND valid_to IS NULL "
        "AND ((start_us <= ? AND (stop_us IS NULL OR stop_us >= ?))"
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


def _observed(event: dict[str, Any], span: tuple[int, int] | None = None) -> Observed:
    """What the rules read of an item (``span``: its window, if known)."""
    return Observed(
        event_id=event["event_id"],
        position=event["position"],
        type=event["type"],
        occurred_at=_us(event["occurred_at"]),
        window=window(event) if span is None else span,
        perpetrator=event.get("perpetrator"),
        initiator=event.get("initiator"),
        parties=tuple(event.get("parties", ())),
        accused=event.get("accused"),
        incident_event_id=event.get("incident_event_id"),
    )


def _reports(view: View, ceasefire: Ceasefire) -> list[dict[str, Any]]:
    """Every unretracted report of the ceasefire."""
    return view.items(
        "conflict = ? AND ceasefire_id = ? AND type = 'ceasefire_breached' AND retracted = 0",
        [ceasefire.conflict, ceasefire.ceasefire_id],
    )


def _unretracted(view: View, event_ids: Iterable[str]) -> dict[str, Observed]:
    found = {}
    for chunk in _chunks(sorted(set(event_ids))):
        marks = ",".join("?" * len(chunk))
        for e in view.items(f"event_id IN ({marks}) AND retracted = 0", chunk):
            found[e["event_id"]] = _observed(e)
    return found


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    """Keys a thousand at a time: SQLite limits the parameters of one statement."""
    for start in range(0, len(keys), 1000):
        yield keys[start : start + 1000]


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


def _rebuild_breaches(
    db: sqlite_utils.Database, ceasefire: Ceasefire, period: Period, at: int
) -> None:
    found = {i.key: i for i in all_incidents(View(db), ceasefire, period)}
    current = _current_breaches(db, ceasefire.conflict, ceasefire.ceasefire_id)
    _write_versions(db, ceasefire.conflict, ceasefire.ceasefire_id, found, current, at)


def _update_touched(
    db: sqlite_utils.Database,
    ceasefire: Ceasefire,
    period: Period,
    by_key: dict[str, set[int]],
    current: dict[str, tuple[dict[str, Any], tuple[int, int]]],
) -> None:
    """Each touched key's incident after each position of the run that touched it: the
    timeline as it stood there gives all but the last, the timeline now (and the items
    the run made ``current``) the last."""
    earlier: dict[int, dict[str, int]] = {}
    last: dict[str, int] = {}
    for key, positions in by_key.items():
        *before, last[key] = sorted(positions)
        for position in before:
            earlier.setdefault(position, {})[key] = position
    for position in sorted(earlier):
        _update_incidents(db, ceasefire, period, View(db, position), earlier[position])
    _update_incidents(db, ceasefire, period, View(db), last, current)


def _update_incidents(
    db: sqlite_utils.Database,
    ceasefire: Ceasefire,
    period: Period,
    view: View,
    stamps: dict[str, int],
    made: dict[str, tuple[dict[str, Any], tuple[int, int]]] | None = None,
) -> None:
    """Recompute the incidents with these keys, as ``view`` shows their events, each
    changed one getting a version at its key's position in ``stamps``. Each key depends
    on its own events only: the events with these ids, and the reports that are or name
    one of them. ``made``: items known to be current in ``view``, by event id."""
    keys = sorted(stamps)
    known = made or {}
    events = _unretracted(view, [key for key in keys if key not in known])
    for key in keys:
        if key in known and not known[key][0]["retracted"]:
            events[key] = _observed(*known[key])
    candidates = [e for e in events.values() if e.type in INCIDENT_TYPES]
    reports = _reports_of(view, ceasefire, keys)
    found = {
        i.key: i
        for i in incidents(ceasefire, period, candidates, map(_observed, reports), events)
        if i.key in stamps
    }
    current = _current_breaches(db, ceasefire.conflict, ceasefire.ceasefire_id, keys)
    _write_versions(db, ceasefire.conflict, ceasefire.ceasefire_id, found, current, stamps)


def _reports_of(view: View, ceasefire: Ceasefire, keys: list[str]) -> list[dict[str, Any]]:
    """The ceasefire's unretracted reports that are, or name, one of ``keys``: found by
    those ids (the primary key, and the index of named incidents). The unary ``+`` keeps
    SQLite from walking the index of the ceasefire's reports instead, which it prefers
    for its three equalities: every report of a long ceasefire, for each run."""
    found = {}
    for chunk in _chunks(keys):
        marks = ",".join("?" * len(chunk))
        for column in ("incident_event_id", "event_id"):
            for report in view.items(
                f"{column} IN ({marks}) AND +conflict = ? AND +ceasefire_id = ? "
                "AND +type = 'ceasefire_breached' AND retracted = 0",
                [*chunk, ceasefire.conflict, ceasefire.ceasefire_id],
            ):
                found[report["event_id"]] = report
    return sorted(found.values(), key=lambda r: int(r["position"]))


def _current_breaches(
    db: sqlite_utils.Database, conflict: str, ceasefire_id: str, keys: list[str] | None = None
) -> dict[str, BreachRow]:
    """The current breach rows of a ceasefire (of those keys only, if given)."""
    select = (
        f"SELECT {BREACH_COLUMNS} FROM breaches "
        "WHERE conflict = ? AND ceasefire_id = ? AND valid_to IS NULL"
    )
    if keys is None:
        found = db.execute(select, [conflict, ceasefire_id]).fetchall()
    else:
        found = [
            row
            for chunk in _chunks(keys)
            for row in db.execute(
                f"{select} AND key IN ({','.join('?' * len(chunk))})",
                [conflict, ceasefire_id, *chunk],
            )
        ]
    return {breach.key: breach for breach in map(BreachRow._make, found)}


def _write_versions(
    db: sqlite_utils.Database,
    conflict: str,
    ceasefire_id: str,
    found: dict[str, Incident],
    current: dict[str, BreachRow],
    at: int | dict[str, int],
) -> None:
    """Make the current breach rows of these keys (those of ``current``, and ``found``)
    say what ``found`` says: a row that changed, appeared or went gets a version at its
    key's position (``at``, or ``at[key]``); one that did not change is left as it is."""
    new_rows = []
    for key in sorted(current.keys() | found.keys()):
        position = at if isinstance(at, int) else at[key]
        old, incident = current.get(key), found.get(key)
        row = None if incident is None else _breach_row(conflict, ceasefire_id, incident, position)
        if old is not None and row is not None and _unversioned(old) == _unversioned(row):
            continue
        if old is not None:
            _end_version(db, "breaches", (conflict, ceasefire_id, key), position)
        if row is not None:
            new_rows.append(row)
    insert_rows(db, "breaches", new_rows)


def _breach_row(conflict: str, ceasefire_id: str, i: Incident, at: int) -> BreachRow:
    return BreachRow(
        conflict=conflict,
        ceasefire_id=ceasefire_id,
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
        valid_from=at,
        valid_to=None,
    )
