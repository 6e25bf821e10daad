"""The read side: ``/v1/timeline``, ``/v1/ceasefires``, ``/v1/conflicts/{conflict}/status``."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from truceline.api.auth import require
from truceline.api.problems import Problem, invalid_request
from truceline.application.app import Truceline
from truceline.application.keys import Key
from truceline.domain.events import EVENT_TYPES
from truceline.domain.timeline import AMENDMENT_TYPES, ITEM_FIELDS
from truceline.domain.times import TimeError, format_utc, from_micros, parse_time, to_micros
from truceline.projections import queries
from truceline.projections.queries import TimelineFilter

router = APIRouter(prefix="/v1", tags=["read models"])

Reader = Annotated[Key | None, Depends(require("reader"))]
MAX_INTEGER = 2**63 - 1  # SQLite's and PostgreSQL's bigint
INLINE_PAGE = 100  # JSON pages up to this size are answered on the event loop
MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_INTEGER,
        description="answer only once the read models have reached this position",
    ),
]
At = Annotated[
    str | None,
    Query(description="world time, RFC 3339; default now, or with as_of the time it was recorded"),
]
AsOf = Annotated[
    str | None,
    Query(
        description="knowledge time: a log position, or an RFC 3339 time (the last "
        "position recorded by then); the answer the service gave when the log ended there"
    ),
]

TIMELINE_TYPES = frozenset(EVENT_TYPES) - AMENDMENT_TYPES
_MEDIA = {"csv": "text/csv", "geojson": "application/geo+json", "json": "application/json"}


def _micros(name: str, value: str) -> int:
    try:
        return to_micros(parse_time(value, None).utc)
    except TimeError as error:
        raise invalid_request(["query", name], str(error)) from None


def _at(value: str | None) -> int:
    return _micros("at", value) if value is not None else to_micros(datetime.now(UTC))


def _caught_up(request: Request, min_position: int | None) -> None:
    if min_position is None:
        return
    settings = request.app.state.settings
    if not request.app.state.follower.wait_for(min_position, settings.read_wait_seconds):
        raise Problem(
            503,
            f"the read models have not reached position {min_position} yet",
            kind="not-caught-up",
            headers={"Retry-After": "1"},
        )


def _knowledge(
    request: Request, as_of: str | None, at: str | None, min_position: int | None
) -> tuple[int, int | None]:
    """World time ``at`` and knowledge position ``as_of``, once the read models have
    reached what the answer needs."""
    if as_of is None:
        moment = _at(at)
        _caught_up(request, min_position)
        return moment, None
    app = request.app.state.app
    position = as_of_position(app, as_of)
    moment = _at(at) if at is not None else _recorded_at(app, position)
    _caught_up(request, max(position, min_position or 0))
    return moment, position


def _knowledge_position(
    request: Request, as_of: str | None, min_position: int | None
) -> int | None:
    """Only the knowledge position, for answers that need no world time (the timeline):
    it spares the log read that :func:`_knowledge` makes for ``at``'s default."""
    position = None if as_of is None else as_of_position(request.app.state.app, as_of)
    _caught_up(request, min_position if position is None else max(position, min_position or 0))
    return position


def as_of_position(app: Truceline, as_of: str) -> int:
    """The log position an ``as_of`` names: a position, or the last one recorded by an
    RFC 3339 time; never past the end of the log."""
    if as_of.isascii() and as_of.isdigit():
        # Past the end means the end; a number too long for int() is past it too.
        position = int(as_of) if len(as_of) <= 18 else MAX_INTEGER
    else:
        try:
            position = app.position_at(parse_time(as_of, None).utc)
        except TimeError as error:
            raise invalid_request(["query", "as_of"], str(error)) from None
    return min(position, app.log_position())


def _recorded_at(app: Truceline, position: int) -> int:
    # An as-of answer must not change with the clock: ``at`` defaults to when the last
    # entry of that log was recorded.
    entries = app.read_log(position - 1, 1) if position > 0 else []
    return to_micros(parse_time(entries[0].recorded_at, None).utc) if entries else 0


def _bbox(value: str) -> tuple[float, float, float, float]:
    try:
        parts = tuple(float(part) for part in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not all(abs(p) < float("inf") for p in parts):
        raise invalid_request(
            ["query", "bbox"], "bbox is minLon,minLat,maxLon,maxLat: four numbers"
        )
    min_lon, min_lat, max_lon, max_lat = parts
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise invalid_request(
            ["query", "bbox"], "longitudes in [-180, 180], latitudes in [-90, 90], minLat <= maxLat"
        )
    return min_lon, min_lat, max_lon, max_lat


def _types(names: list[str]) -> tuple[str, ...]:
    unknown = sorted(set(names) - TIMELINE_TYPES)
    if unknown:
        raise invalid_request(
            ["query", "type"],
            f"no timeline item has type {unknown[0]!r}: one of {', '.join(sorted(TIMELINE_TYPES))}",
        )
    return tuple(sorted(set(names)))


def _encode_cursor(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        occurred, position = key
        if all(isinstance(v, int) and abs(v) <= MAX_INTEGER for v in (occurred, position)):
            return occurred, position
    except (ValueError, TypeError, binascii.Error, RecursionError):
        pass
    raise invalid_request(["query", "cursor"], "not a cursor this service gave out")


def _format(request: Request, format_: str | None) -> str:
    if format_ is not None:
        if format_ == "acled":
            raise invalid_request(["query", "format"], "the ACLED layout is not available yet")
        if format_ not in _MEDIA:
            raise invalid_request(["query", "format"], "one of json, csv, geojson")
        return format_
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return "csv"
    if "application/geo+json" in accept:
        return "geojson"
    return "json"


@router.get("/timeline")
async def timeline(
    request: Request,
    _: Reader,
    conflict: str | None = None,
    type: Annotated[list[str] | None, Query(description="repeatable")] = None,
    actor: Annotated[
        str | None, Query(description="perpetrator, initiator, party, accused or speaker")
    ] = None,
    location: Annotated[str | None, Query(description="location name")] = None,
    from_: Annotated[str | None, Query(alias="from", description="occurred_at >= this")] = None,
    to: Annotated[str | None, Query(description="occurred_at <= this")] = None,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_INTEGER, description="<= 1,000 for JSON, 100,000 otherwise")
    ] = 100,
    cursor: str | None = None,
    include_retracted: bool = False,
    format: Annotated[str | None, Query(description="json, csv or geojson")] = None,
    min_position: MinPosition = None,
    as_of: AsOf = None,
) -> Response:
    """Items ordered by occurred_at then position; ``next_cursor`` pages on."""
    kind = _format(request, format)
    settings = request.app.state.settings
    most = settings.max_page if kind == "json" else settings.max_export_page
    if limit > most:
        raise invalid_request(["query", "limit"], f"at most {most} items a page in {kind.upper()}")
    where = TimelineFilter(
        conflict=conflict,
        types=_types(type or []),
        actor=actor,
        location=location,
        from_us=_micros("from", from_) if from_ is not None else None,
        to_us=_micros("to", to) if to is not None else None,
        bbox=_bbox(bbox) if bbox is not None else None,
        include_retracted=include_retracted,
    )
    after = _decode_cursor(cursor) if cursor is not None else None
    page = partial(_timeline_page, request, kind, where, limit, after, as_of, min_position)
    if kind == "json" and limit <= INLINE_PAGE and as_of is None and min_position is None:
        # A default page is well under a millisecond of reading the local read-model
        # file: on the event loop it skips the hand-off to a worker thread, which cost
        # more than that (a page's p50 under load: 8.5 -> 5.4 ms). Whatever can wait
        # (min_position, as_of's log lookups) or runs long (exports) still goes there.
        return page()
    return await run_in_threadpool(page)


def _timeline_page(
    request: Request,
    kind: str,
    where: TimelineFilter,
    limit: int,
    after: tuple[int, int] | None,
    as_of: str | None,
    min_position: int | None,
) -> Response:
    position = _knowledge_position(request, as_of, min_position)
    with request.app.state.read_model.reading() as db:
        items, next_key = queries.timeline_page(db, where, limit, after, position)
    next_cursor = _encode_cursor(next_key) if next_key else None
    headers = {}
    if next_cursor:
        headers["Link"] = f'<{request.url.include_query_params(cursor=next_cursor)}>; rel="next"'
    if kind == "csv":
        return Response(_csv(items), media_type="text/csv; charset=utf-8", headers=headers)
    if kind == "geojson":
        return JSONResponse(_geojson(items), media_type="application/geo+json", headers=headers)
    return JSONResponse({"items": items, "next_cursor": next_cursor}, headers=headers)


def _csv(items: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ITEM_FIELDS)
    for item in items:
        writer.writerow([_cell(item.get(name)) for name in ITEM_FIELDS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _geojson(items: list[dict[str, Any]]) -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [item["location"]["lon"], item["location"]["lat"]],
            },
            "properties": item,
        }
        for item in items
        if "lat" in item.get("location", {}) and "lon" in item.get("location", {})
    ]
    return {"type": "FeatureCollection", "features": features}


def _world_and_knowledge(
    request: Request, at: At = None, as_of: AsOf = None, min_position: MinPosition = None
) -> tuple[int, int | None]:
    return _knowledge(request, as_of, at, min_position)


# The status reads' shared parameters (at, as_of, min_position), as one dependency.
When = Annotated[tuple[int, int | None], Depends(_world_and_knowledge)]


@router.get("/ceasefires")
def ceasefires(
    request: Request, _: Reader, when: When, conflict: str | None = None
) -> dict[str, Any]:
    """Every ceasefire agreed by ``at``, ordered by the start of its period in effect."""
    moment, position = when
    with request.app.state.read_model.reading() as db:
        return {"items": queries.ceasefire_list(db, conflict, moment, position)}


@router.get("/ceasefires/{ceasefire_id}", responses={404: {"description": "no such ceasefire"}})
def ceasefire(
    request: Request, ceasefire_id: str, _: Reader, when: When, conflict: str
) -> dict[str, Any]:
    """One ceasefire's status at world time ``at``."""
    moment, position = when
    with request.app.state.read_model.reading() as db:
        status = queries.ceasefire_status(db, conflict, ceasefire_id, moment, position)
    if status is None:
        raise Problem(
            404,
            f"no ceasefire {ceasefire_id!r} agreed in {conflict!r} by "
            f"{format_utc(from_micros(moment))}",
            kind="not-found",
        )
    return status


@router.get("/conflicts/{conflict}/status")
def conflict_status(request: Request, conflict: str, _: Reader, when: When) -> dict[str, Any]:
    """Whether a ceasefire is in effect at ``at``, and which (the latest start wins)."""
    moment, position = when
    with request.app.state.read_model.reading() as db:
        answer = queries.conflict_status(db, conflict, moment, position)
    return {
        "conflict": conflict,
        "at": format_utc(from_micros(moment)),
        "state": answer["state"],
        "ceasefire": answer["ceasefire"],
    }
