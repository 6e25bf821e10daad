"""The read side: ``/v1/timeline``, ``/v1/ceasefires``, ``/v1/conflicts`` and
``/v1/conflicts/{conflict}/status``."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from truceline.api.deps import (
    ApplicationDep,
    FollowerDep,
    KnowledgeDep,
    KnownQuery,
    LimitsDep,
    Reader,
    ReadModelDep,
    SettingsDep,
    caught_up,
    known_conflict,
    off_the_loop,
)
from truceline.api.exports import MEDIA_TYPES, acled_page, export_page
from truceline.api.limits import SHORT_PAGE
from truceline.api.params import MAX_INTEGER, AsOf, MinPosition
from truceline.api.problems import Problem, invalid_query, invalid_request
from truceline.api.snapshot import read_snapshot
from truceline.application.knowledge import Knowledge, world_time
from truceline.domain.errors import Invalid
from truceline.domain.events import EVENT_TYPES
from truceline.domain.timeline import AMENDMENT_TYPES
from truceline.domain.times import TimeError, format_utc, from_micros, zone
from truceline.interop.acled.exporting import ATTRIBUTION, exported_types
from truceline.projections import queries
from truceline.projections.queries import TimelineFilter
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings

router = APIRouter(prefix="/v1", tags=["read models"], dependencies=[KnownQuery])


TIMELINE_TYPES = frozenset(EVENT_TYPES) - AMENDMENT_TYPES
_FORMATS = ("json", "csv", "geojson", "acled", "ndjson")

ByDay = Annotated[
    bool,
    Query(
        description="add breaches_by_day: the counted breaches per day (of day_zone), in "
        "total and by party (the same attribution as breaches)"
    ),
]
DayZone = Annotated[
    str, Query(description="the IANA zone whose calendar days breaches_by_day counts")
]


def _day_zone(by_day: bool, name: str) -> ZoneInfo | None:
    if not by_day:
        return None
    try:
        return zone(name)
    except TimeError as error:
        raise invalid_request(["query", "day_zone"], str(error)) from None


_NO_CONFLICT: dict[int | str, dict[str, Any]] = {
    404: {"description": "no event of that conflict in the log (as of as_of)"}
}


def _micros(name: str, value: str) -> int:
    try:
        return world_time(name, value)
    except Invalid as error:
        raise invalid_query(error) from None


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
        if format_ not in _FORMATS:
            raise invalid_request(["query", "format"], f"one of {', '.join(_FORMATS)}")
        return format_
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return "csv"
    if "application/geo+json" in accept:
        return "geojson"
    if "application/x-ndjson" in accept:
        return "ndjson"
    return "json"


@router.get("/timeline", responses=_NO_CONFLICT)
async def timeline(
    request: Request,
    key: Reader,
    settings: SettingsDep,
    application: ApplicationDep,
    follower: FollowerDep,
    read_model: ReadModelDep,
    limits: LimitsDep,
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
    order: Annotated[
        Literal["asc", "desc"], Query(description="asc: oldest first (default); desc: newest first")
    ] = "asc",
    include_retracted: bool = False,
    format: Annotated[str | None, Query(description="json, csv, geojson, acled or ndjson")] = None,
    min_position: MinPosition = None,
    as_of: AsOf = None,
) -> Response:
    """Items ordered by occurred_at then position; ``next_cursor`` pages on."""
    kind = _format(request, format)
    _check_limit(settings, kind, limit)
    types = _types(type or [])
    where = TimelineFilter(
        conflict=conflict,
        types=exported_types(types) if kind == "acled" else types,
        actor=actor,
        location=location,
        from_us=_micros("from", from_) if from_ is not None else None,
        to_us=_micros("to", to) if to is not None else None,
        bbox=_bbox(bbox) if bbox is not None else None,
        include_retracted=include_retracted,
    )
    after = _decode_cursor(cursor) if cursor is not None else None
    knowledge = await caught_up(application, follower, settings, as_of, None, min_position)
    page = _TimelinePage(request, read_model, settings.max_export_page_bytes)
    answer = partial(page.answer, kind, where, limit, after, order == "desc", knowledge)
    if kind == "json" and limit <= SHORT_PAGE and as_of is None:
        # A default page is well under a millisecond of reading the local read-model file:
        # on the event loop it skips the hand-off to a worker thread, which cost more than
        # that (a page's p50 under load: 8.5 -> 5.4 ms). Exports, big pages and as_of
        # reads run on the long-read pool.
        return answer()
    return await off_the_loop(request, key, limits, answer, long=True)


def _check_limit(settings: Settings, kind: str, limit: int) -> None:
    most = settings.max_page if kind == "json" else settings.max_export_page
    if limit > most:
        raise invalid_request(["query", "limit"], f"at most {most} items a page in {kind.upper()}")


@dataclass(frozen=True)
class _TimelinePage:
    """What answering one timeline page needs."""

    request: Request
    read_model: ReadModel
    budget: int  # about how much an export page may hold (settings.max_export_page_bytes)

    def answer(
        self,
        kind: str,
        where: TimelineFilter,
        limit: int,
        after: tuple[int, int] | None,
        newest_first: bool,
        knowledge: Knowledge,
    ) -> Response:
        query = (where, limit, after, knowledge.position, newest_first)
        with read_snapshot(self.read_model) as db:
            known_conflict(db, where.conflict, knowledge.position)
            if kind == "json":
                items, next_key = queries.timeline_page(db, *query)
            else:
                if kind == "acled":
                    page = acled_page(queries.timeline_rows(db, *query), limit, self.budget)
                else:  # joined from the stored bytes
                    texts = queries.timeline_texts(db, *query, csv=kind == "csv")
                    page = export_page(kind, texts, limit, self.budget)
                next_key = page.next_key
        next_cursor = _encode_cursor(next_key) if next_key else None
        headers = {}
        if next_cursor:
            # Relative: a URL built from the request's Host header would let a client
            # (or a proxy) point the next page anywhere.
            url = self.request.url.include_query_params(cursor=next_cursor)
            headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
        if kind == "json":
            return JSONResponse({"items": items, "next_cursor": next_cursor}, headers=headers)
        if page.acled_rows and kind == "acled":
            headers["Truceline-Attribution"] = ATTRIBUTION
        return Response(page.body, media_type=MEDIA_TYPES[kind], headers=headers)


@router.get("/conflicts")
async def conflicts(
    request: Request,
    key: Reader,
    application: ApplicationDep,
    follower: FollowerDep,
    settings: SettingsDep,
    read_model: ReadModelDep,
    limits: LimitsDep,
    as_of: AsOf = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Each conflict with its timeline items (retracted ones left out) and the span of
    their ``occurred_at``, ordered by slug."""
    knowledge = await caught_up(application, follower, settings, as_of, None, min_position)

    def answer() -> dict[str, Any]:
        with read_snapshot(read_model) as db:
            return {"items": queries.conflicts(db, knowledge.position)}

    return await off_the_loop(request, key, limits, answer, long=as_of is not None)


@router.get("/ceasefires", responses=_NO_CONFLICT)
async def ceasefires(
    request: Request,
    key: Reader,
    knowledge: KnowledgeDep,
    read_model: ReadModelDep,
    limits: LimitsDep,
    conflict: str | None = None,
    by_day: ByDay = False,
    day_zone: DayZone = "UTC",
) -> dict[str, Any]:
    """Every ceasefire agreed by ``at``, ordered by the start of its period in effect."""
    days = _day_zone(by_day, day_zone)

    def answer() -> dict[str, Any]:
        with read_snapshot(read_model) as db:
            known_conflict(db, conflict, knowledge.position)
            items = queries.ceasefire_list(db, conflict, knowledge.at, knowledge.position, days)
        return {"items": items}

    return await off_the_loop(request, key, limits, answer, long=knowledge.position is not None)


@router.get(
    "/ceasefires/{ceasefire_id}",
    responses={404: {"description": "no such ceasefire, or no event of that conflict"}},
)
async def ceasefire(
    request: Request,
    ceasefire_id: str,
    key: Reader,
    knowledge: KnowledgeDep,
    read_model: ReadModelDep,
    limits: LimitsDep,
    conflict: str,
    by_day: ByDay = False,
    day_zone: DayZone = "UTC",
) -> dict[str, Any]:
    """One ceasefire's status at world time ``at``."""
    days = _day_zone(by_day, day_zone)

    def answer() -> tuple[int, dict[str, Any] | None]:
        moment = knowledge.at
        with read_snapshot(read_model) as db:
            known_conflict(db, conflict, knowledge.position)
            return moment, queries.ceasefire_status(
                db, conflict, ceasefire_id, moment, knowledge.position, days
            )

    moment, status = await off_the_loop(
        request, key, limits, answer, long=knowledge.position is not None
    )
    if status is None:
        raise Problem(
            404,
            f"no ceasefire {ceasefire_id!r} agreed in {conflict!r} by "
            f"{format_utc(from_micros(moment))}",
            kind="not-found",
        )
    return status


@router.get("/conflicts/{conflict}/status", responses=_NO_CONFLICT)
async def conflict_status(
    request: Request,
    conflict: str,
    key: Reader,
    knowledge: KnowledgeDep,
    read_model: ReadModelDep,
    limits: LimitsDep,
) -> dict[str, Any]:
    """Whether a ceasefire is in effect at ``at``, and which (the latest start wins)."""

    def status() -> tuple[int, dict[str, Any]]:
        moment = knowledge.at
        with read_snapshot(read_model) as db:
            known_conflict(db, conflict, knowledge.position)
            return moment, queries.conflict_status(db, conflict, moment, knowledge.position)

    moment, answer = await off_the_loop(
        request, key, limits, status, long=knowledge.position is not None
    )
    return {
        "conflict": conflict,
        "at": format_utc(from_micros(moment)),
        "state": answer["state"],
        "ceasefire": answer["ceasefire"],
    }
