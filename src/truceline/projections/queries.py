"""Read-side functions: each answers one API question from the read-model tables.

Routes call these with a snapshot from :meth:`ReadModel.reading`; none of them reads the
log.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlite_utils

from truceline.domain.ceasefires import (
    Ceasefire,
    Incident,
    Period,
    conflict_state,
    in_effect,
    status_at,
)
from truceline.domain.times import format_micros
from truceline.projections import jsontext
from truceline.projections.ceasefires import (
    View,
    all_incidents,
    ceasefire_from_row,
    lifecycle,
    version_clause,
)
from truceline.projections.csvrow import csv_line
from truceline.projections.tables import BREACH_COLUMNS, BreachRow


@dataclass(frozen=True)
class TimelineFilter:
    """The timeline's filters; times are microseconds since the epoch."""

    conflict: str | None = None
    types: Sequence[str] = ()
    actor: str | None = None
    location: str | None = None
    from_us: int | None = None
    to_us: int | None = None
    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat
    include_retracted: bool = False


TimelineKey = tuple[int, int]  # (occurred_us, position): the order of the timeline


def timeline_page(
    db: sqlite_utils.Database,
    where: TimelineFilter,
    limit: int,
    after: TimelineKey | None = None,
    as_of: int | None = None,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], TimelineKey | None]:
    """Items ordered by (occurred_at, position), after the keyset ``after``; and the key of
    the last item when there may be more (the next page's ``after``). With ``as_of``, the
    items as they stood when the log ended at that position; ``newest_first`` reverses the
    order (and ``after`` then means "before")."""
    rows = list(timeline_rows(db, where, limit, after, as_of, newest_first))
    more = len(rows) > limit
    rows = rows[:limit]
    return [item for _, item in rows], (rows[-1][0] if more else None)


def timeline_rows(
    db: sqlite_utils.Database,
    where: TimelineFilter,
    limit: int,
    after: TimelineKey | None = None,
    as_of: int | None = None,
    newest_first: bool = False,
) -> Iterator[tuple[TimelineKey, dict[str, Any]]]:
    """:func:`timeline_page`'s items with their keys, read one at a time from the
    cursor, up to ``limit`` + 1 (the one more says that another page follows): an export
    page is written as it is read, never held whole as objects."""
    cursor = _timeline_cursor(db, "item", where, limit, after, as_of, newest_first)
    for occurred_us, position, item in cursor:
        yield (occurred_us, position), jsontext.loads(item)


class StoredItem(NamedTuple):
    """A timeline item as the read model stores it, in UTF-8: its JSON (see jsontext),
    its CSV line (see csvrow) and its point, if it has one."""

    item: bytes
    csv: bytes
    lon: float | None
    lat: float | None


def timeline_texts(
    db: sqlite_utils.Database,
    where: TimelineFilter,
    limit: int,
    after: TimelineKey | None = None,
    as_of: int | None = None,
    newest_first: bool = False,
    *,
    csv: bool = False,
) -> Iterator[tuple[TimelineKey, StoredItem]]:
    """:func:`timeline_rows` as the stored bytes, for pages written without parsing
    them: with ``csv``, only each item's CSV line (its JSON stays empty), else its JSON
    and point (its line empty). Bytes, and only the columns a page uses: read as text,
    a 10,000-row CSV page spent 7 ms decoding it, and reading the JSON too doubled the
    time SQLite took."""
    if csv:  # the JSON only where the line is missing (see below)
        columns = "iif(csv IS NULL, CAST(item AS BLOB), NULL), CAST(csv AS BLOB), NULL, NULL"
    else:
        columns = "CAST(item AS BLOB), NULL, lon, lat"
    cursor = _timeline_cursor(db, columns, where, limit, after, as_of, newest_first)
    for occurred_us, position, item, line, lon, lat in cursor:
        if csv and line is None:  # a row written before the lines were stored
            line, item = csv_line(jsontext.loads(item.decode())).encode(), None
        yield (occurred_us, position), StoredItem(item or b"", line or b"", lon, lat)


def _timeline_cursor(
    db: sqlite_utils.Database,
    columns: str,
    where: TimelineFilter,
    limit: int,
    after: TimelineKey | None,
    as_of: int | None,
    newest_first: bool,
) -> sqlite3.Cursor:
    clauses, params = _versions(db, versions_needed(db, as_of))
    for clause, values in _filters(where):
        clauses.append(clause)
        params += values
    if after is not None:
        clauses.append(f"(occurred_us, position) {'<' if newest_first else '>'} (?, ?)")
        params += list(after)
    direction = "DESC" if newest_first else ""
    return db.execute(
        f"SELECT occurred_us, position, {columns} FROM timeline "
        f"WHERE {' AND '.join(clauses)} "
        f"ORDER BY occurred_us {direction}, position {direction} LIMIT ?",
        [*params, limit + 1],
    )


def conflicts(db: sqlite_utils.Database, as_of: int | None = None) -> list[dict[str, Any]]:
    """Each conflict of the log (as of ``as_of``), ordered by slug: its timeline items
    (retracted ones left out) and the span of their ``occurred_at``."""
    if (as_of := versions_needed(db, as_of)) is not None:
        return _conflicts_as_of(db, as_of)
    rows = db.execute(
        "SELECT conflict, items - retracted FROM conflicts ORDER BY conflict"
    ).fetchall()
    return [_conflict(name, events, *_span(db, name)) for name, events in rows]


def _span(db: sqlite_utils.Database, conflict: str) -> tuple[int | None, int | None]:
    # Two walks of the current items' index on (conflict, occurred_us), from either end
    # to the first unretracted item: the counts are kept, only the ends are looked up.
    ends = [
        db.execute(
            "SELECT occurred_us FROM timeline WHERE conflict = ? AND valid_to IS NULL "
            f"AND retracted = 0 ORDER BY occurred_us {direction} LIMIT 1",
            [conflict],
        ).fetchone()
        for direction in ("ASC", "DESC")
    ]
    first, last = (None if end is None else int(end[0]) for end in ends)
    return first, last


def _conflicts_as_of(db: sqlite_utils.Database, as_of: int) -> list[dict[str, Any]]:
    """:func:`conflicts` from the versioned timeline, each item as it stood at ``as_of``."""
    clauses, params = _versions(db, as_of)
    rows = db.execute(
        "SELECT conflict, sum(retracted = 0), "
        "min(CASE WHEN retracted = 0 THEN occurred_us END), "
        "max(CASE WHEN retracted = 0 THEN occurred_us END) "
        f"FROM timeline WHERE {' AND '.join(clauses)} GROUP BY conflict ORDER BY conflict",
        params,
    ).fetchall()
    return [_conflict(*row) for row in rows]


def _conflict(name: str, events: int, first: int | None, last: int | None) -> dict[str, Any]:
    return {
        "conflict": name,
        "events": events,
        "first_occurred_at": format_micros(first),
        "last_occurred_at": format_micros(last),
    }


def conflict_exists(db: sqlite_utils.Database, conflict: str, as_of: int | None = None) -> bool:
    """Whether any event of the log (as of ``as_of``) names ``conflict``. Corrections and
    retractions share their target's conflict, so the timeline's rows say it."""
    known = "" if as_of is None else f" AND valid_from <= {int(as_of)}"
    row = db.execute(f"SELECT 1 FROM timeline WHERE conflict = ?{known} LIMIT 1", [conflict])
    return row.fetchone() is not None


def read_model_position(db: sqlite_utils.Database) -> int:
    """The log position the read model (this snapshot of it) has reached."""
    row = db.execute("SELECT position FROM log_meta WHERE id = 1").fetchone()
    return 0 if row is None else int(row[0])


def versions_needed(db: sqlite_utils.Database, as_of: int | None) -> int | None:
    """``as_of``, or None when the read model holds nothing after it: its current rows
    are then exactly the state as of ``as_of``, and far cheaper to read than the versions
    (a cited view opened before the log moves on: an as_of ceasefire list of a 100,000-
    event log, 1.6 s from the versions, is read like a current one)."""
    if as_of is None:
        return None
    return None if read_model_position(db) <= as_of else as_of


def _versions(db: sqlite_utils.Database, as_of: int | None) -> tuple[list[str], list[Any]]:
    """The clauses that pick the version of each item current now, or at ``as_of``."""
    clause, params = version_clause(as_of)
    clauses = [clause]
    if as_of is None:
        return clauses, params
    # No row written by then occurred later than the frontier of the page that held
    # as_of: bounding the scan there keeps a page near the end of what was known as
    # fast as any other (without it, every later row was read and discarded).
    bound = db.execute(
        "SELECT max_occurred_us FROM frontier WHERE position >= ? ORDER BY position LIMIT 1",
        [as_of],
    ).fetchone()
    if bound is not None:
        clauses.append("occurred_us <= ?")
        params.append(bound[0])
    return clauses, params


def _filters(where: TimelineFilter) -> Iterator[tuple[str, list[Any]]]:
    """A clause and its parameters for each filter that is set."""
    if where.conflict is not None:
        yield "conflict = ?", [where.conflict]
    if where.types:
        yield f"type IN ({','.join('?' * len(where.types))})", list(where.types)
    if where.actor is not None:
        # ``actors`` is a compact JSON array; an element is matched as ,"name", in the text
        # between the brackets. (json_each would cut a name at a NUL character.)
        yield (
            "instr(',' || substr(actors, 2, length(actors) - 2) || ',', ?) > 0",
            ["," + json.dumps(where.actor) + ","],
        )
    if where.location is not None:
        yield "location = ?", [where.location]
    if where.from_us is not None:
        yield "occurred_us >= ?", [where.from_us]
    if where.to_us is not None:
        yield "occurred_us <= ?", [where.to_us]
    if where.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = where.bbox
        yield "lat BETWEEN ? AND ?", [min_lat, max_lat]
        if min_lon <= max_lon:
            yield "lon BETWEEN ? AND ?", [min_lon, max_lon]
        else:  # the box crosses the antimeridian
            yield "(lon >= ? OR lon <= ?)", [min_lon, max_lon]
    if not where.include_retracted:
        yield "retracted = 0", []


def _ceasefire_rows(
    db: sqlite_utils.Database, where: str, params: list[Any], as_of: int | None
) -> list[dict[str, Any]]:
    """The ceasefire rows (current, or as of ``as_of``) that ``where`` picks, by the
    start of their periods in effect."""
    version, bound = version_clause(as_of)
    return list(
        db.table("ceasefires").rows_where(
            f"{version} AND {where}", [*bound, *params], order_by="start_us, position"
        )
    )


def _status(
    db: sqlite_utils.Database,
    row: dict[str, Any],
    at: int,
    as_of: int | None,
    by_day: ZoneInfo | None = None,
) -> dict[str, Any] | None:
    return _status_of(db, *ceasefire_from_row(row), at, as_of, by_day)


def _status_of(
    db: sqlite_utils.Database,
    ceasefire: Ceasefire,
    period: Period,
    at: int,
    as_of: int | None,
    by_day: ZoneInfo | None = None,
) -> dict[str, Any] | None:
    """The status at ``at`` from the breach rows (current, or as of ``as_of``) whose
    windows have ended by then: a lookup on the index of each period's windows."""
    version, bound = version_clause(as_of)
    rows = db.execute(
        f"SELECT {BREACH_COLUMNS} FROM breaches "
        f"WHERE conflict = ? AND ceasefire_id = ? AND window_end <= ? AND {version}",
        [ceasefire.conflict, ceasefire.ceasefire_id, at, *bound],
    ).fetchall()
    found = [_incident(BreachRow(*row)) for row in rows]
    return status_at(ceasefire, period, found, at, by_day=by_day)


def _incident(row: BreachRow) -> Incident:
    return Incident(
        key=row.key,
        event_id=row.event_id,
        position=row.position,
        occurred_at=row.occurred_us,
        happened_at=row.happened_us,
        kind=row.kind,
        window=(row.window_start, row.window_end),
        attributed=tuple(json.loads(row.attributed)),
        certain=bool(row.certain),
    )


def versions_from(db: sqlite_utils.Database) -> int:
    """The position from which the ceasefire tables hold every version (see
    tables.HistoryRow)."""
    row = db.execute("SELECT since FROM ceasefire_history WHERE id = 1").fetchone()
    return 0 if row is None else int(row[0])


def _by_the_rules(db: sqlite_utils.Database, as_of: int | None) -> bool:
    """Whether an answer as of ``as_of`` must run the rules again on the timeline as it
    stood: only before the position from which a file's ceasefire rows are versioned."""
    return as_of is not None and as_of < versions_from(db)


def _statuses_by_the_rules(
    db: sqlite_utils.Database,
    conflict: str,
    at: int,
    as_of: int,
    wanted: Callable[[Ceasefire, Period], bool] = lambda _c, _p: True,
    by_day: ZoneInfo | None = None,
) -> list[tuple[Ceasefire, dict[str, Any]]]:
    """The ceasefires of a conflict that ``wanted`` picks, as the log at ``as_of`` made
    them: periods from every ceasefire of the conflict, then incidents only for the ones
    asked about, from the versioned timeline, by the same rules the projection applies.
    For a file whose ceasefire rows were versioned after ``as_of`` (see _by_the_rules)."""
    view = View(db, as_of)
    ceasefires, in_effect = lifecycle(view, conflict)
    answers = []
    for ceasefire in ceasefires:
        period = in_effect[ceasefire.ceasefire_id]
        if not wanted(ceasefire, period):
            continue
        found = all_incidents(view, ceasefire, period, counted_by=at)
        status = status_at(ceasefire, period, found, at, by_day=by_day)
        if status is not None:
            answers.append((ceasefire, status))
    answers.sort(key=lambda pair: (pair[0].start, pair[0].position))
    return answers


def ceasefire_status(
    db: sqlite_utils.Database,
    conflict: str,
    ceasefire_id: str,
    at: int,
    as_of: int | None = None,
    by_day: ZoneInfo | None = None,
) -> dict[str, Any] | None:
    """One ceasefire's status at ``at`` (as of ``as_of``); None if it does not exist
    (yet). ``by_day`` adds the counted breaches per day in that zone."""
    as_of = versions_needed(db, as_of)
    if _by_the_rules(db, as_of):
        assert as_of is not None
        found = _statuses_by_the_rules(
            db, conflict, at, as_of, lambda c, _p: c.ceasefire_id == ceasefire_id, by_day
        )
        return found[0][1] if found else None
    rows = _ceasefire_rows(db, "conflict = ? AND ceasefire_id = ?", [conflict, ceasefire_id], as_of)
    return _status(db, rows[0], at, as_of, by_day) if rows else None


def ceasefire_list(
    db: sqlite_utils.Database,
    conflict: str | None,
    at: int,
    as_of: int | None = None,
    by_day: ZoneInfo | None = None,
) -> list[dict[str, Any]]:
    """Every ceasefire agreed at or before ``at`` (as of ``as_of``), by the start of its
    period in effect; ``by_day`` adds each one's counted breaches per day in that zone."""
    as_of = versions_needed(db, as_of)
    if _by_the_rules(db, as_of):
        assert as_of is not None
        names = [conflict] if conflict is not None else _conflict_names(db, as_of)
        found = [
            pair
            for name in names
            for pair in _statuses_by_the_rules(db, name, at, as_of, by_day=by_day)
        ]
        found.sort(key=lambda pair: (pair[0].start, pair[0].position))
        return [status for _, status in found]
    where = "agreed_us <= ?"
    params: list[Any] = [at]
    if conflict is not None:
        where += " AND conflict = ?"
        params.append(conflict)
    rows = _ceasefire_rows(db, where, params, as_of)
    return [status for row in rows if (status := _status(db, row, at, as_of, by_day)) is not None]


def _conflict_names(db: sqlite_utils.Database, as_of: int) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT conflict FROM timeline WHERE type = 'ceasefire_agreed' "
        "AND valid_from <= ?",
        [as_of],
    ).fetchall()
    return [name for (name,) in rows]


def conflict_status(
    db: sqlite_utils.Database, conflict: str, at: int, as_of: int | None = None
) -> dict[str, Any]:
    """The ceasefire in effect at ``at`` (the latest start wins), if any."""
    as_of = versions_needed(db, as_of)
    if _by_the_rules(db, as_of):
        assert as_of is not None
        found = _statuses_by_the_rules(db, conflict, at, as_of, lambda c, p: in_effect(c, p, at))
        statuses = [status for _, status in found]
    else:
        # The index on (conflict, start_us) narrows the rows; the rule decides.
        rows = _ceasefire_rows(db, "conflict = ? AND start_us <= ?", [conflict, at], as_of)
        pairs = [ceasefire_from_row(row) for row in rows]
        statuses = [
            status
            for ceasefire, period in pairs
            if in_effect(ceasefire, period, at)
            and (status := _status_of(db, ceasefire, period, at, as_of)) is not None
        ]
    state, current = conflict_state(statuses)
    return {"conflict": conflict, "state": state, "ceasefire": current}
