"""``Truceline-Snapshot: <tree_size>:<root_hash>`` on every read (GET) under ``/v1``.

The header names the state of the log an answer came from, so that a figure can be
cited with it and proven later against a signed checkpoint (an inclusion or consistency
proof from ``/v1/audit/proof/*``). Which state that is:

* an ``as_of`` read: the ``as_of`` position (:func:`knowledge_of` notes it);
* a read of the read models: the position the read model's snapshot had reached
  (:func:`read_snapshot`);
* anything else (the log itself, health, audits, the stream): the log's size when the
  answer started.

The first position noted during a request wins. The note travels in a context
variable: FastAPI runs a plain ``def`` route in a thread with a copy of the request's
context, and the copy holds the same mutable holder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from fastapi.concurrency import run_in_threadpool
from sqlite_utils import Database
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from truceline.application.app import Truceline
from truceline.projections import queries
from truceline.projections.readmodel import ReadModel

HEADER = "Truceline-Snapshot"

_noted: ContextVar[list[int] | None] = ContextVar("truceline_snapshot", default=None)


def answered_from(position: int) -> None:
    """Note the log position this request's answer comes from (the first note wins)."""
    holder = _noted.get()
    if holder is not None and not holder:
        holder.append(position)


@contextmanager
def read_snapshot(read_model: ReadModel) -> Iterator[Database]:
    """``read_model.reading()``, noting the position its snapshot reached."""
    with read_model.reading() as db:
        answered_from(queries.read_model_position(db))
        yield db


class SnapshotHeader:
    """ASGI middleware adding the header to every read under ``/v1``. Appends do not
    carry it: their receipt's position names the state, and a header computed for each
    of them would cost a lookup of the new head per request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith("/v1/")
        ):
            await self.app(scope, receive, send)
            return
        holder: list[int] = []
        token = _noted.set(holder)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                application: Truceline = scope["app"].state.app
                value = await _snapshot(application, holder[0] if holder else None)
                MutableHeaders(scope=message).append(HEADER, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            _noted.reset(token)


async def _snapshot(application: Truceline, position: int | None) -> str:
    # Roots are kept per tree size, so a read at a known size does no I/O here; the
    # rest goes to a thread, never blocking the event loop on the store.
    if position is None:
        position = await run_in_threadpool(application.log_position)
    root = application.known_root(position)
    if root is None:
        root = await run_in_threadpool(application.tree_root, position)
    return f"{position}:{root.hex()}"
