"""Read-side functions: each answers one API question from the read-model tables.

Routes call these with a snapshot from :meth:`ReadModel.reading`; none of them reads the
log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from truceline.domain.ceasefires import Ceasefire, Incident, Period, status_at
from truceline.projections import jsontext
from truceline.projections.ceasefires import View, all_incidents, ceasefire_from_row, lifecycle


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


def timeline_page(
    db: sqlite_utils.Database,
    where: TimelineFilter,
    limit: int,
    after: tuple[int, int] | None = None,
    as_of: int | None = None,
) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """Items ordered by (occurred_at, position), after the keyset ``after``; and the key of
    the last item when there may be more (the next page's ``after``). With ``as_of``, the
    items as they stood when the log ended at that position."""
    clauses: list[str] = ["valid_to IS NULL"]
    params: list[Any] = []
    if as_of is not None:
        clauses = ["valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"]
        params = [as_of, as_of]
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
    if where.conflict is not None:
        clauses.append("conflict = ?")
        params.append(where.conflict)
    if where.types:
        clauses.append(f"type IN ({','.join('?' * len(where.types))})")
        params.extend(where.types)
    if where.actor is not None:
        # ``actors`` is a compact JSON array; an element is matched as ,"name", in the text
        # between the brackets. (json_each would cut a name at a NUL character.)
        clauses.append("instr(',' || substr(actors, 2, length(actors) - 2) || ',', ?) > 0")
        params.append("," + json.dumps(where.actor) + ",")
    if where.location is not None:
        clauses.append("location = ?")
        params.append(where.location)
    if where.from_us is not None:
        clauses.append("occurred_us >= ?")
        params.append(where.from_us)
    if where.to_us is not None:
        clauses.append("occurred_us <= ?")
        params.append(where.to_us)
    if where.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = where.bbox
        clauses.append("lat BETWEEN ? AND ?")
        params += [min_lat, max_lat]
        if min_lon <= max_lon:
            clauses.append("lon BETWEEN ? AND ?")
            params += [min_lon, max_lon]
        else:  # the box crosses the antimeridian
            clauses.append("(lon >= ? OR lon <= ?)")
            params += [min_lon, max_lon]
    if not where.include_retracted:
        clauses.append("retracted = 0")
    if after is not None:
        clauses.append("(occurred_us, position) > (?, ?)")
        params += list(after)
    rows = db.execute(
        f"SELECT occurred_us, position, item FROM timeline WHERE {' AND '.join(clauses)} "
        "ORDER BY occurred_us, position LIMIT ?",
        [*params, limit + 1],
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [jsontext.loads(item) for _, _, item in rows]
    return items, ((rows[-1][0], rows[-1][1]) if more else None)


def _status(db: sqlite_utils.Database, row: dict[str, Any], at: int) -> dict[str, Any] | None:
    ceasefire, period = ceasefire_from_row(row)
    found = [
        Incident(
            key=r[0],
            event_id=r[1],
            position=r[2],
            occurred_at=r[3],
            happened_at=r[4],
            kind=r[5],
            window=(r[6], r[7]),
            attributed=tuple(json.loads(r[8])),
            certain=bool(r[9]),
        )
        for r in db.execute(
            "SELECT key, event_id, position, occurred_us, happened_us, kind, window_start, "
            "window_end, attributed, certain FROM breaches "
            "WHERE conflict = ? AND ceasefire_id = ? AND window_end <= ?",
            [ceasefire.conflict, ceasefire.ceasefire_id, at],
        ).fetchall()
    ]
    return status_at(ceasefire, period, found, at)


def _statuses_as_of(
    db: sqlite_utils.Database,
    conflict: str,
    at: int,
    as_of: int,
    wanted: Callable[[Ceasefire, Period], bool] = lambda _c, _p: True,
) -> list[tuple[Ceasefire, dict[str, Any]]]:
    """The ceasefires of a conflict that ``wanted`` picks, as the log at ``as_of`` made
    them: periods from every ceasefire of the conflict, then incidents only for the ones
    asked about, from the versioned timeline, by the same rules the projection applies."""
    view = View(db, as_of)
    ceasefires, in_effect = lifecycle(view, conflict)
    answers = []
    for ceasefire in ceasefires:
        period = in_effect[ceasefire.ceasefire_id]
        if not wanted(ceasefire, period):
            continue
        status = status_at(ceasefire, period, all_incidents(view, ceasefire, period), at)
        if status is not None:
            answers.append((ceasefire, status))
    return answers


def _in_effect(at: int) -> Callable[[Ceasefire, Period], bool]:
    def wanted(ceasefire: Ceasefire, period: Period) -> bool:
        return (
            ceasefire.agreed_at <= at
            and period.start <= at
            and (period.stop is None or at < period.stop)
        )

    return wanted


def ceasefire_status(
    db: sqlite_utils.Database,
    conflict: str,
    ceasefire_id: str,
    at: int,
    as_of: int | None = None,
) -> dict[str, Any] | None:
    """One ceasefire's status at ``at``; None if it does not exist (yet)."""
    if as_of is not None:
        found = _statuses_as_of(
            db, conflict, at, as_of, lambda c, _p: c.ceasefire_id == ceasefire_id
        )
        return found[0][1] if found else None
    rows = list(
        db.table("ceasefires").rows_where(
            "conflict = ? AND ceasefire_id = ?", [conflict, ceasefire_id]
        )
    )
    return _status(db, rows[0], at) if rows else None


def ceasefire_list(
    db: sqlite_utils.Database, conflict: str | None, at: int, as_of: int | None = None
) -> list[dict[str, Any]]:
    """Every ceasefire agreed at or before ``at``, by the start of its period in effect."""
    if as_of is not None:
        conflicts = (
            [conflict]
            if conflict is not None
            else [
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT conflict FROM timeline WHERE type = 'ceasefire_agreed' "
                    "AND valid_from <= ?",
                    [as_of],
                ).fetchall()
            ]
        )
        found = [pair for name in conflicts for pair in _statuses_as_of(db, name, at, as_of)]
        found.sort(key=lambda pair: (pair[0].start, pair[0].position))
        return [status for _, status in found]
    where, params = "agreed_us <= ?", [at]
    if conflict is None:
        rows = db.table("ceasefires").rows_where(where, params, order_by="start_us, position")
    else:
        rows = db.table("ceasefires").rows_where(
            where + " AND conflict = ?", [at, conflict], order_by="start_us, position"
        )
    return [status for row in rows if (status := _status(db, row, at)) is not None]


def conflict_status(
    db: sqlite_utils.Database, conflict: str, at: int, as_of: int | None = None
) -> dict[str, Any]:
    """The ceasefire in effect at ``at`` (the latest start wins), if any."""
    if as_of is not None:
        found = _statuses_as_of(db, conflict, at, as_of, _in_effect(at))
        statuses = [
            status
            for _, status in sorted(found, key=lambda pair: (pair[0].start, pair[0].position))
        ]
    else:
        rows = db.table("ceasefires").rows_where(
            "conflict = ? AND agreed_us <= ? AND start_us <= ? AND (stop_us IS NULL "
            "OR stop_us > ?)",
            [conflict, at, at, at],
            order_by="start_us, position",
        )
        statuses = [status for row in rows if (status := _status(db, row, at)) is not None]
    in_effect = [s for s in statuses if s["status"] in ("holding", "violated")]
    current = in_effect[-1] if in_effect else None
    state = f"ceasefire_{current['status']}" if current else "no_ceasefire"
    return {"conflict": conflict, "state": state, "ceasefire": current}
