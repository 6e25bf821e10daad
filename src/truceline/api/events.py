"""``/v1/events``: appending events and reading the log (the audit trail)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from truceline.api.body import read_json
from truceline.api.deps import (
    ApplicationDep,
    BodyBudgetDep,
    CommitterDep,
    KnownQuery,
    LimitsDep,
    Reader,
    SettingsDep,
    Writer,
    knowledge_of,
    off_the_loop,
)
from truceline.api.limits import SHORT_PAGE
from truceline.api.params import MAX_INTEGER, AsOf
from truceline.api.problems import Problem, invalid_problem, invalid_request
from truceline.api.schemas import (
    BATCH_BODY,
    EVENT_BODY,
    BatchReceipt,
    LogEntryWithHistory,
    LogPage,
    Receipt,
)
from truceline.application.app import Appended, AppendRequest, IdConflict, NotYours, Refused
from truceline.application.group_commit import GroupCommitter, QueueFull
from truceline.application.keys import Key
from truceline.domain.errors import ErrorDetail, Invalid
from truceline.domain.validation import NormalizedEvent, parse_event
from truceline.settings import Settings

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=[KnownQuery])
_Route = TypeVar("_Route", bound=Callable[..., Any])


def located(refused: Refused, *, batch: bool) -> list[ErrorDetail]:
    """Each refused event's errors, under its index in a batch; a single event's as
    they are."""
    return [
        {"loc": [rejection.index, *error["loc"]] if batch else error["loc"], "msg": error["msg"]}
        for rejection in refused.rejections
        for error in rejection.errors
    ]


async def _submit(
    committer: GroupCommitter, settings: Settings, append: AppendRequest, *, batch: bool
) -> Appended:
    try:
        future = committer.submit(append)
    except QueueFull as error:
        raise Problem(
            503,
            f"the writer is busy ({error}): nothing was stored, retry shortly",
            kind="writer-busy",
            headers={"Retry-After": "1"},
        ) from None
    timeout = settings.append_timeout_seconds
    try:
        # shield: a timeout stops the waiting, never the append already queued.
        appended: Appended = await asyncio.wait_for(
            asyncio.shield(asyncio.wrap_future(future)), timeout
        )
        return appended
    except TimeoutError:
        raise Problem(
            503,
            f"the append was not confirmed within {timeout:g} s and may still be stored: "
            "retry with the same event_id (an event sent without one could be stored twice)",
            kind="append-timeout",
            headers={"Retry-After": "1"},
        ) from None
    except IdConflict as error:
        errors = located(error, batch=batch)
        raise Problem(
            409,
            errors[0]["msg"],
            title="Event id already used",
            kind="event-id-conflict",
            errors=errors,
        ) from None
    except NotYours as error:
        errors = located(error, batch=batch)
        raise Problem(
            403, errors[0]["msg"], title="Not your record", kind="not-your-record", errors=errors
        ) from None
    except Refused as error:
        raise invalid_problem(located(error, batch=batch)) from None


def _request(events: list[NormalizedEvent], key: Key) -> AppendRequest:
    """What ``key`` asks to append: an editor's key may amend another key's record."""
    return AppendRequest(events, key.key_id, may_amend_others=key.allows("editor"))


def _append_route(
    path: str, answer: type[Any], body: dict[str, Any], retry: str
) -> Callable[[_Route], _Route]:
    """An append route: 201 with ``answer`` when something was stored, 200 for a retry."""
    return router.post(
        path,
        status_code=201,
        response_model=answer,
        openapi_extra=body,
        responses={200: {"model": answer, "description": retry}},
    )


@_append_route("", Receipt, EVENT_BODY, "a retry: already stored")
async def append_event(
    request: Request,
    key: Writer,
    settings: SettingsDep,
    committer: CommitterDep,
    budget: BodyBudgetDep,
) -> JSONResponse:
    """Append one event. The same ``event_id`` with the same content again answers 200."""
    data = await read_json(request, settings.max_body_bytes, budget)
    try:
        event = parse_event(data)
    except Invalid as error:
        raise invalid_problem(error.errors) from None
    appended = await _submit(committer, settings, _request([event], key), batch=False)
    return JSONResponse(
        appended.receipts[0].as_dict(), status_code=201 if appended.created else 200
    )


@_append_route("/batch", BatchReceipt, BATCH_BODY, "a retry: all already stored")
async def append_batch(
    request: Request,
    key: Writer,
    settings: SettingsDep,
    committer: CommitterDep,
    budget: BodyBudgetDep,
) -> JSONResponse:
    """Append up to 10,000 events, all or nothing; events may name earlier ones."""
    data = await read_json(request, settings.max_batch_body_bytes, budget)
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise invalid_problem([{"loc": ["events"], "msg": 'the body must be {"events": [...]}'}])
    extra = sorted(set(data) - {"events"})
    if extra:
        raise invalid_problem([{"loc": [extra[0]], "msg": "Extra inputs are not permitted"}])
    raw: list[Any] = data["events"]
    if not raw or len(raw) > settings.max_batch_events:
        raise invalid_problem(
            [
                {
                    "loc": ["events"],
                    "msg": (
                        f"a batch holds 1 to {settings.max_batch_events} events; "
                        f"this one has {len(raw)}"
                    ),
                }
            ]
        )
    events, errors = [], []
    for index, item in enumerate(raw):
        try:
            events.append(parse_event(item))
        except Invalid as error:
            errors.extend(error.prefixed([index]).errors)
    if errors:
        raise invalid_problem(errors)
    appended = await _submit(committer, settings, _request(events, key), batch=True)
    return JSONResponse(
        {"results": [r.as_dict() for r in appended.receipts]},
        status_code=201 if appended.created else 200,
    )


@router.get("", response_model=LogPage)
async def read_log(
    request: Request,
    key: Reader,
    application: ApplicationDep,
    settings: SettingsDep,
    limits: LimitsDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_INTEGER, description="the last position already read")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_INTEGER, description="<= 1,000")] = 100,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """The log in order from ``after``. ``next_after`` is the position to pass as
    ``after`` for the next page (the last one on this page), or null on an empty page.
    With ``as_of``, the log as it ended there."""
    if limit > settings.max_page:
        raise invalid_request(["query", "limit"], f"at most {settings.max_page} entries a page")

    def page() -> dict[str, Any]:
        knowledge = knowledge_of(application, as_of)
        entries = application.read_log(after, limit, knowledge.position)
        return {
            "events": [entry.as_dict() for entry in entries],
            "next_after": entries[-1].position if entries else None,
        }

    # A page of 1,000 entries is tens of milliseconds of encoding: on the long-read pool
    # (40 of them at once in FastAPI's pool once pushed a single append's p50 to 3.2 s).
    long = limit > SHORT_PAGE or as_of is not None
    return await off_the_loop(request, key, limits, page, long=long)


@router.get(
    "/{event_id}",
    response_model=LogEntryWithHistory,
    responses={404: {"description": "no such event"}},
)
def read_event(
    event_id: str, _: Reader, application: ApplicationDep, as_of: AsOf = None
) -> dict[str, Any]:
    """One entry as first recorded, plus the corrections and retraction naming it (with
    ``as_of``, those recorded by then; 404 for an event recorded later)."""
    try:
        canonical = str(uuid.UUID(event_id))
    except ValueError:
        raise Problem(
            404, f"no event {event_id!r}: event ids are UUIDs", kind="not-found"
        ) from None
    position = knowledge_of(application, as_of).position if as_of is not None else None
    entry = application.get_entry(canonical, position)
    if entry is None:
        raise Problem(404, f"no event {canonical} in the log", kind="not-found")
    history = [e.as_dict() for e in application.history(canonical, position)]
    return {**entry.as_dict(), "history": history}
