"""``GET /v1/stream``: the log's new entries as Server-Sent Events.

Every stream of the process reads the one :class:`~truceline.projections.feed.Feed` the
follower publishes to; FastAPI's ``EventSourceResponse`` frames the messages and sends
the heartbeat comment after 15 idle seconds. Everything that can refuse a stream (the
key, the caps, the parameters) is a dependency, so that it is answered as problem+json
before the stream's ``200`` is sent.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import FrameType
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from truceline.api.deps import (
    ApplicationDep,
    FeedDep,
    KnownQuery,
    Reader,
    ReadModelDep,
    StreamSlotsDep,
    known_conflict,
)
from truceline.api.limits import holder_of
from truceline.api.params import MAX_INTEGER
from truceline.api.problems import Problem, invalid_request
from truceline.domain.events import EVENT_TYPES
from truceline.projections.feed import Feed, Message

router = APIRouter(prefix="/v1", tags=["live feed"], dependencies=[KnownQuery])

LOG_PAGE = 1000  # entries a stream reads from the log at a time while it catches up
WAKE_SECONDS = 60.0  # a waiting stream looks at the feed at least this often


async def _slot(request: Request, key: Reader, slots: StreamSlotsDep) -> AsyncIterator[None]:
    # Runs on the event loop, like every request's check of the caps: no lock needed.
    # A dependency with yield ends after the response, so the slot is held while the
    # stream runs.
    holder = holder_of(request, key)
    refused = slots.take(holder)
    if refused == "holder":
        raise Problem(
            429,
            f"at most {slots.per_holder} open streams per key (or client address with "
            "open reads): close one, or resume later",
            kind="too-many-streams",
            headers={"Retry-After": "5"},
        )
    if refused == "process":
        raise Problem(
            503,
            f"this server has its {slots.per_process} streams open: try again shortly",
            kind="too-many-streams",
            headers={"Retry-After": "5"},
        )
    try:
        yield
    finally:
        slots.give_back(holder)


@dataclass(frozen=True)
class StreamStart:
    """Where a stream starts, and which entries it sends."""

    after: int
    conflict: str | None
    types: frozenset[str]

    def wants(self, message: Message) -> bool:
        return (self.conflict is None or message.conflict == self.conflict) and (
            not self.types or message.type in self.types
        )


def _start(
    application: ApplicationDep,
    read_model: ReadModelDep,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_INTEGER, description="the last position already seen; default: now"),
    ] = None,
    conflict: Annotated[str | None, Query(description="only this conflict's entries")] = None,
    type: Annotated[list[str] | None, Query(description="only these types; repeatable")] = None,
    last_event_id: Annotated[
        str | None,
        Header(description="sent by a reconnecting client: wins over after"),
    ] = None,
) -> StreamStart:
    # A plain def: FastAPI runs it in its threadpool, and it reads the store.
    end = application.log_position()
    if last_event_id is not None:
        after = _last_event_id(last_event_id)
    if after is not None and after > end:
        raise invalid_request(
            ["header", "last-event-id"] if last_event_id is not None else ["query", "after"],
            f"the log ends at position {end}; nothing comes after {after} yet",
        )
    unknown = sorted(set(type or ()) - set(EVENT_TYPES))
    if unknown:
        raise invalid_request(["query", "type"], f"no event has type {unknown[0]!r}")
    with read_model.reading() as db:
        known_conflict(db, conflict, None)
    return StreamStart(end if after is None else after, conflict, frozenset(type or ()))


def _last_event_id(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise invalid_request(["header", "last-event-id"], "a log position: an integer >= 0")
    return int(text)


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    dependencies=[Depends(_slot)],
    responses={
        200: {
            "description": "one message per log entry after the start: id its position, "
            "event its type, data the entry as GET /v1/events gives it; a comment line "
            "after 15 idle seconds"
        },
        404: {"description": "no event of that conflict in the log"},
        429: {"description": "this key (or address) has its streams open"},
        503: {"description": "this server has its streams open"},
    },
)
async def stream(
    application: ApplicationDep,
    feed: FeedDep,
    start: Annotated[StreamStart, Depends(_start)],
) -> AsyncIterator[ServerSentEvent]:
    """The log's entries after ``after`` (or the ``Last-Event-ID`` header), as they are
    appended, optionally of one conflict or some types. A client that falls more than
    ``TRUCELINE_STREAM_BACKLOG`` entries behind is sent a comment and closed; it resumes
    with ``Last-Event-ID``."""
    cursor, live = start.after, False
    with feed.watching():
        while not feed.closed:
            messages = feed.since(cursor)
            if messages is None and live:
                yield ServerSentEvent(comment="too far behind: reconnect with Last-Event-ID")
                return
            if messages is None:  # before the feed's window: read the log itself
                entries = await run_in_threadpool(application.read_log, cursor, LOG_PAGE)
                messages = [Message.of(entry) for entry in entries]
            else:
                live = True
            for message in messages:
                if start.wants(message):
                    yield ServerSentEvent(
                        raw_data=message.data, event=message.type, id=str(message.position)
                    )
                cursor = message.position
            if not messages:
                await feed.wait(cursor, WAKE_SECONDS)
    yield ServerSentEvent(comment="the server is shutting down")


def end_streams_on_exit_signals(feed: Feed) -> None:
    """Close ``feed`` as soon as SIGINT or SIGTERM arrives, then let the server's own
    handler run.

    uvicorn waits for open responses to finish before it shuts the app down, and a
    stream never finishes by itself; its lifespan shutdown comes too late. uvicorn
    installs its handlers with ``signal.signal`` before the app starts, so they can be
    wrapped here. Only the main thread may do so (tests that serve from a thread close
    the feed themselves).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if callable(previous):
            signal.signal(signum, _closing(feed, previous))


def _closing(feed: Feed, previous: Any) -> Any:
    def handler(signum: int, frame: FrameType | None) -> None:
        feed.close()
        previous(signum, frame)

    return handler
