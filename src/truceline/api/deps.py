"""The API's typed dependencies, declared once: a route asks for what it needs by type.

:func:`truceline.api.create_app` keeps the parts it builds on ``app.state``; this module
alone reads them back. Each dependency is an ``async def``: FastAPI runs a plain ``def``
one in its threadpool, and that hand-off costs more than the work (measured for the key
lookup, it nearly halved the rate of single appends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlite_utils import Database

from truceline.api.auth import authorize
from truceline.api.body import BodyBudget
from truceline.api.limits import RequestLimits, SingleRun, Slots, holder_of
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
from truceline.projections.feed import Feed
from truceline.projections.follower import Progress
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings


async def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def _application(request: Request) -> Truceline:
    return cast(Truceline, request.app.state.app)


async def _read_model(request: Request) -> ReadModel:
    return cast(ReadModel, request.app.state.read_model)


async def _follower(request: Request) -> Progress:
    return cast(Progress, request.app.state.follower)


async def _committer(request: Request) -> GroupCommitter:
    return cast(GroupCommitter, request.app.state.committer)


async def _feed(request: Request) -> Feed:
    return cast(Feed, request.app.state.feed)


async def _signing_key(request: Request) -> SigningKey | None:
    return cast(SigningKey | None, request.app.state.signing_key)


async def _stream_slots(request: Request) -> Slots:
    return cast(Slots, request.app.state.stream_slots)


async def _limits(request: Request) -> RequestLimits:
    return cast(RequestLimits, request.app.state.limits)


async def _body_budget(request: Request) -> BodyBudget:
    return cast(BodyBudget, request.app.state.body_budget)


async def _verify_runs(request: Request) -> SingleRun[dict[str, Any]]:
    return cast(SingleRun[dict[str, Any]], request.app.state.verify_runs)


SettingsDep = Annotated[Settings, Depends(_settings)]
ApplicationDep = Annotated[Truceline, Depends(_application)]
ReadModelDep = Annotated[ReadModel, Depends(_read_model)]
FollowerDep = Annotated[Progress, Depends(_follower)]
CommitterDep = Annotated[GroupCommitter, Depends(_committer)]
FeedDep = Annotated[Feed, Depends(_feed)]
StreamSlotsDep = Annotated[Slots, Depends(_stream_slots)]
LimitsDep = Annotated[RequestLimits, Depends(_limits)]
BodyBudgetDep = Annotated[BodyBudget, Depends(_body_budget)]
VerifyRunsDep = Annotated[SingleRun[dict[str, Any]], Depends(_verify_runs)]  # one at a time
SigningKeyDep = Annotated[SigningKey | None, Depends(_signing_key)]


def require(role: str, *, opened: bool = True) -> Callable[..., Awaitable[Key | None]]:
    """A dependency that lets the request through with a key of at least ``role``;
    with open reads, a ``reader`` route needs no key (and gets None) unless ``opened``
    is False (``/v1/audit/``). On PostgreSQL the key lookup awaits an async connection
    rather than blocking the event loop. The request then counts against its key's rate
    limit, or with no key its client address's."""

    async def dependency(
        request: Request, settings: SettingsDep, application: ApplicationDep, limits: LimitsDep
    ) -> Key | None:
        if len(request.headers.getlist("authorization")) > 1:
            # Which one would count is up to each proxy on the way: refuse to guess.
            raise Problem(400, "send one Authorization header, not several", kind="bad-request")
        key: Key | None = None
        if not (role == "reader" and settings.open_reads and opened):
            key = await authorize(application.store, request.headers.get("authorization"), role)
        limits.count(holder_of(request, key))
        return key

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


async def wait_until_caught_up(
    follower: Progress, settings: Settings, knowledge: Knowledge, min_position: int | None
) -> None:
    """Return once the read models hold what the answer needs, else 503; a
    ``min_position`` beyond the log's last position is a 422 at once (nothing could ever
    satisfy the wait). The wait is on the event loop and holds no thread."""
    position = knowledge.reached(min_position)
    if position is None or follower.position >= position:
        return
    if min_position is not None:
        last = await run_in_threadpool(follower.app.log_position)
        if min_position > last:
            raise invalid_request(
                ["query", "min_position"],
                f"is beyond the log's last position, {last}: pass the position an append answered",
            )
    if not await follower.reached(position, settings.read_wait_seconds):
        raise Problem(
            503,
            f"the read models have not reached position {position} yet",
            kind="not-caught-up",
            headers={"Retry-After": "1"},
        )


async def caught_up(
    application: Truceline,
    follower: Progress,
    settings: Settings,
    as_of: str | None,
    at: str | None,
    min_position: int | None,
) -> Knowledge:
    """:func:`knowledge_of`, once the read models hold what it needs. Only an ``as_of``
    looks anything up (in a worker thread: on PostgreSQL it is a round trip)."""
    if as_of is None:
        knowledge = knowledge_of(application, as_of, at)
    else:
        knowledge = await run_in_threadpool(knowledge_of, application, as_of, at)
    await wait_until_caught_up(follower, settings, knowledge, min_position)
    return knowledge


async def _caught_up_knowledge(
    application: ApplicationDep,
    follower: FollowerDep,
    settings: SettingsDep,
    at: At = None,
    as_of: AsOf = None,
    min_position: MinPosition = None,
) -> Knowledge:
    return await caught_up(application, follower, settings, as_of, at, min_position)


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
    cache: dict[tuple[str, str], set[str]] = request.app.state.query_names
    key = (method, path)
    if key not in cache:
        operation = request.app.openapi()["paths"].get(path, {}).get(method, {})
        cache[key] = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    return cache[key]


KnownQuery = Depends(known_query_parameters)


T = TypeVar("T")


async def off_the_loop(
    request: Request, key: Key | None, limits: RequestLimits, work: Callable[[], T], *, long: bool
) -> T:
    """Run a read's ``work`` in a thread: a long one on the long-read pool, in one of
    its holder's slots (:meth:`RequestLimits.run_long`), any other in FastAPI's pool."""
    if long:
        return await limits.run_long(holder_of(request, key), work)
    return await run_in_threadpool(work)
