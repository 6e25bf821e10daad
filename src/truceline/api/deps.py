"""The API's typed dependencies, declared once: a route asks for what it needs by type.

:func:`truceline.api.create_app` keeps the parts it builds on ``app.state``; this module
alone reads them back. Each dependency is an ``async def``: FastAPI runs a plain ``def``
one in its threadpool, and that hand-off costs more than the work (measured for the key
lookup, it nearly halved the rate of single appends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlite_utils import Database

from truceline.api.auth import authorize
from truceline.api.params import AsOf, At, MinPosition
from truceline.api.problems import Problem, invalid_query, invalid_request
from truceline.api.snapshot import answered_from
from truceline.application.app import Truceline
from truceline.application.checkpoints import SigningKey
from truceline.application.group_commit import GroupCommitter
from truceline.application.keys import Key
from truceline.application.knowledge import Knowledge
from truceline.domain.errors import ErrorDetail, Invalid
from truceline.projections import queries
from truceline.projections.feed import Feed, StreamSlots
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings


async def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def _application(request: Request) -> Truceline:
    return cast(Truceline, request.app.state.app)


async def _read_model(request: Request) -> ReadModel:
    return cast(ReadModel, request.app.state.read_model)


async def _follower(request: Request) -> Follower:
    return cast(Follower, request.app.state.follower)


async def _committer(request: Request) -> GroupCommitter:
    return cast(GroupCommitter, request.app.state.committer)


async def _feed(request: Request) -> Feed:
    return cast(Feed, request.app.state.feed)


async def _signing_key(request: Request) -> SigningKey | None:
    return cast(SigningKey | None, request.app.state.signing_key)


async def _stream_slots(request: Request) -> StreamSlots:
    return cast(StreamSlots, request.app.state.stream_slots)


SettingsDep = Annotated[Settings, Depends(_settings)]
ApplicationDep = Annotated[Truceline, Depends(_application)]
ReadModelDep = Annotated[ReadModel, Depends(_read_model)]
FollowerDep = Annotated[Follower, Depends(_follower)]
CommitterDep = Annotated[GroupCommitter, Depends(_committer)]
FeedDep = Annotated[Feed, Depends(_feed)]
StreamSlotsDep = Annotated[StreamSlots, Depends(_stream_slots)]
SigningKeyDep = Annotated[SigningKey | None, Depends(_signing_key)]


def require(role: str, *, opened: bool = True) -> Callable[..., Awaitable[Key | None]]:
    """A dependency that lets the request through with a key of at least ``role``;
    with open reads, a ``reader`` route needs no key (and gets None) unless ``opened``
    is False (``/v1/audit/``). On PostgreSQL the key lookup awaits an async connection
    rather than blocking the event loop."""

    async def dependency(
        request: Request, settings: SettingsDep, application: ApplicationDep
    ) -> Key | None:
        if len(request.headers.getlist("authorization")) > 1:
            # Which one would count is up to each proxy on the way: refuse to guess.
            raise Problem(400, "send one Authorization header, not several", kind="bad-request")
        if role == "reader" and settings.open_reads and opened:
            return None
        return await authorize(application.store, request.headers.get("authorization"), role)

    return dependency


Reader = Annotated[Key | None, Depends(require("reader"))]
Writer = Annotated[Key, Depends(require("writer"))]
Auditor = Annotated[Key, Depends(require("auditor"))]
AuditReader = Annotated[Key, Depends(require("reader", opened=False))]  # checkpoint, proofs


def knowledge_of(application: Truceline, as_of: str | None, at: str | None = None) -> Knowledge:
    """:meth:`Truceline.knowledge`, its errors answered as a query's 422."""
    try:
        knowledge = application.knowledge(as_of, at)
    except Invalid as error:
        raise invalid_query(error) from None
    if knowledge.position is not None:
        answered_from(knowledge.position)
    return knowledge


def known_conflict(db: Database, conflict: str | None, position: int | None) -> None:
    """404 unless the log (up to ``position``) holds an event of ``conflict``: a misspelt
    slug is said to be one, rather than answered with an empty list."""
    if conflict is not None and not queries.conflict_exists(db, conflict, position):
        known = "in the log" if position is None else f"in the log up to position {position}"
        raise Problem(404, f"no event of conflict {conflict!r} {known}", kind="not-found")


def wait_until_caught_up(
    follower: Follower, settings: Settings, knowledge: Knowledge, min_position: int | None
) -> None:
    """Return once the read models hold what the answer needs, else 503; a
    ``min_position`` beyond the log's last position is a 422 at once (nothing could ever
    satisfy the wait)."""
    position = knowledge.reached(min_position)
    if position is None:
        return
    if min_position is not None and position > follower.position:
        last = follower.app.log_position()
        if min_position > last:
            raise invalid_request(
                ["query", "min_position"],
                f"is beyond the log's last position, {last}: pass the position an append answered",
            )
    if not follower.wait_for(position, settings.read_wait_seconds):
        raise Problem(
            503,
            f"the read models have not reached position {position} yet",
            kind="not-caught-up",
            headers={"Retry-After": "1"},
        )


def _caught_up_knowledge(
    application: ApplicationDep,
    follower: FollowerDep,
    settings: SettingsDep,
    at: At = None,
    as_of: AsOf = None,
    min_position: MinPosition = None,
) -> Knowledge:
    # A plain def, so FastAPI runs it in its threadpool: it may wait for the follower.
    knowledge = knowledge_of(application, as_of, at)
    wait_until_caught_up(follower, settings, knowledge, min_position)
    return knowledge


# The status reads' shared parameters (at, as_of, min_position), as one dependency.
KnowledgeDep = Annotated[Knowledge, Depends(_caught_up_knowledge)]


async def known_query_parameters(request: Request) -> None:
    """422 for a query parameter the route does not take (``confict=`` for
    ``conflict=``), naming each one: ignored, it would quietly widen the answer. The
    route's parameters are read from the OpenAPI document, built once."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return
    allowed = _query_names(request, path)
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in allowed]
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no query parameters"
        errors: list[ErrorDetail] = [
            {"loc": ["query", name], "msg": f"unknown parameter; this path takes {takes}"}
            for name in unknown
        ]
        raise Problem(
            422,
            f"unknown query parameter {unknown[0]!r}",
            title="Invalid request",
            kind="invalid-request",
            errors=errors,
        )


def _query_names(request: Request, path: str) -> set[str]:
    method = "get" if request.method in ("GET", "HEAD") else request.method.lower()
    cache: dict[tuple[str, str], set[str]] = request.app.state.__dict__.setdefault(
        "query_names", {}
    )
    key = (method, path)
    if key not in cache:
        operation = request.app.openapi()["paths"].get(path, {}).get(method, {})
        cache[key] = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    return cache[key]


KnownQuery = Depends(known_query_parameters)
