"""``/v1/events``: appending events and reading the log (the audit trail)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from truceline.api.auth import require
from truceline.api.body import read_json
from truceline.api.problems import Problem, invalid_problem, invalid_request
from truceline.api.projections import MAX_INTEGER, AsOf, as_of_position
from truceline.api.schemas import (
    BATCH_BODY,
    EVENT_BODY,
    BatchReceipt,
    LogEntryWithHistory,
    LogPage,
    Receipt,
)
from truceline.application.app import Appended, AppendRequest, IdConflict
from truceline.application.keys import Key
from truceline.domain.errors import Invalid
from truceline.domain.validation import parse_event

router = APIRouter(prefix="/v1/events", tags=["events"])

Writer = Annotated[Key, Depends(require("writer"))]
Reader = Annotated[Key | None, Depends(require("reader"))]


async def _submit(request: Request, append: AppendRequest) -> Appended:
    future = request.app.state.committer.submit(append)
    timeout = request.app.state.settings.append_timeout_seconds
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
    except Invalid as error:
        raise invalid_problem(error.errors) from None
    except IdConflict as error:
        raise Problem(
            409,
            error.errors[0]["msg"],
            title="Event id already used",
            kind="event-id-conflict",
            errors=error.errors,
        ) from None


@router.post(
    "",
    status_code=201,
    response_model=Receipt,
    openapi_extra=EVENT_BODY,
    responses={200: {"model": Receipt, "description": "a retry: already stored"}},
)
async def append_event(request: Request, key: Writer) -> JSONResponse:
    """Append one event. The same ``event_id`` with the same content again answers 200."""
    data = await read_json(request, request.app.state.settings.max_body_bytes)
    try:
        event = parse_event(data)
    except Invalid as error:
        raise invalid_problem(error.errors) from None
    appended = await _submit(request, AppendRequest([event], key.key_id, single=True))
    return JSONResponse(
        appended.receipts[0].as_dict(), status_code=201 if appended.created else 200
    )


@router.post(
    "/batch",
    status_code=201,
    response_model=BatchReceipt,
    openapi_extra=BATCH_BODY,
    responses={200: {"model": BatchReceipt, "description": "a retry: all already stored"}},
)
async def append_batch(request: Request, key: Writer) -> JSONResponse:
    """Append up to 10,000 events, all or nothing; events may name earlier ones."""
    settings = request.app.state.settings
    data = await read_json(request, settings.max_batch_body_bytes)
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
    appended = await _submit(request, AppendRequest(events, key.key_id))
    return JSONResponse(
        {"results": [r.as_dict() for r in appended.receipts]},
        status_code=201 if appended.created else 200,
    )


@router.get("", response_model=LogPage)
def read_log(
    request: Request,
    _: Reader,
    after: Annotated[
        int, Query(ge=0, le=MAX_INTEGER, description="the last position already read")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_INTEGER, description="<= 1,000")] = 100,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """The log in order from ``after``. ``next_after`` is the position to pass as
    ``after`` for the next page (the last one on this page), or null on an empty page.
    With ``as_of``, the log as it ended there."""
    app = request.app.state.app
    most = request.app.state.settings.max_page
    if limit > most:
        raise invalid_request(["query", "limit"], f"at most {most} entries a page")
    if as_of is not None:
        limit = max(0, min(limit, as_of_position(app, as_of) - after))
    entries = app.read_log(after, limit) if limit else []
    return {
        "events": [entry.as_dict() for entry in entries],
        "next_after": entries[-1].position if entries else None,
    }


@router.get(
    "/{event_id}",
    response_model=LogEntryWithHistory,
    responses={404: {"description": "no such event"}},
)
def read_event(request: Request, event_id: str, _: Reader, as_of: AsOf = None) -> dict[str, Any]:
    """One entry as first recorded, plus the corrections and retraction naming it (with
    ``as_of``, those recorded by then; 404 for an event recorded later)."""
    try:
        canonical = str(uuid.UUID(event_id))
    except ValueError:
        raise Problem(
            404, f"no event {event_id!r}: event ids are UUIDs", kind="not-found"
        ) from None
    app = request.app.state.app
    last = as_of_position(app, as_of) if as_of is not None else None
    entry = app.get_entry(canonical)
    if entry is None or (last is not None and entry.position > last):
        raise Problem(404, f"no event {canonical} in the log", kind="not-found")
    history = [e.as_dict() for e in app.history(canonical) if last is None or e.position <= last]
    return {**entry.as_dict(), "history": history}
