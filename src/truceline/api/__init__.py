"""The HTTP API: ``create_app(settings)`` builds everything; nothing is built at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

import truceline
from truceline.api import audit, events, health, projections, stream
from truceline.api.body import BodyBudget
from truceline.api.limits import RequestLimits, SingleRun, Slots
from truceline.api.problems import install_problem_handlers, install_store_error_handler
from truceline.api.schemas import EVENT_COMPONENTS, document_problems
from truceline.api.security import SecurityHeaders
from truceline.api.snapshot import SnapshotHeader
from truceline.api.stream import end_streams_on_exit_signals
from truceline.application.app import Truceline
from truceline.application.checkpoints import CheckpointError, SigningKey
from truceline.application.group_commit import GroupCommitter
from truceline.application.notary import Notary
from truceline.projections.feed import Feed
from truceline.projections.follower import Follower, ReadModelMismatch, open_read_model
from truceline.projections.projector import ProjectorProgress
from truceline.projections.readmodel import ReadModel
from truceline.settings import (
    Settings,
    checkpoint_archive_path,
    read_model_path,
    signing_key_path,
)
from truceline.web import install as install_web


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for ``settings``: opens the store and the read models, starts the
    writer thread and the follower (or the view of a projector process's progress)."""
    application = Truceline(settings)
    signing_key, notary = _notary(settings, application)
    try:
        read_model = open_read_model(application, read_model_path(settings))
    except ReadModelMismatch:
        application.close()
        raise
    follower = _follower(settings, application, read_model)
    committer = GroupCommitter(
        application,
        # One full batch at most per group, so that a single append waits behind at
        # most one batch's checks.
        max_group_events=settings.max_batch_events if settings.group_commit else 1,
        on_commit=follower.poke if notary is None else _both(follower.poke, notary.poke),
        max_queued_events=settings.max_queued_events,
    )
    limits = RequestLimits(settings)
    feed = Feed(follower.position, settings.stream_backlog)
    if isinstance(follower, Follower):
        follower.on_applied.append(feed.publish)
    else:
        follower.feed = feed
    follower.start()
    if notary is not None:
        notary.start(settings.checkpoint_every, settings.checkpoint_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        end_streams_on_exit_signals(feed)
        yield
        feed.close()
        limits.close()
        await application.store.aclose()
        committer.close()
        if notary is not None:
            notary.stop()
        follower.stop()
        read_model.close()
        application.close()

    app = FastAPI(
        title="Truceline",
        version=truceline.__version__,
        description="An event-sourced conflict timeline with ceasefire tracking.",
        lifespan=lifespan,
        docs_url=None,  # the web room serves the docs from vendored assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.app = application
    app.state.committer = committer
    app.state.read_model = read_model
    app.state.follower = follower
    app.state.feed = feed
    app.state.signing_key = signing_key
    app.state.limits = limits
    app.state.body_budget = BodyBudget(settings.max_buffered_body_bytes)
    app.state.query_names = {}  # (method, path) -> the query parameters it takes
    app.state.verify_runs = SingleRun[dict[str, Any]]()
    app.state.stream_slots = Slots(settings.max_streams, settings.max_streams_per_key)
    _add_middleware(app, settings)
    install_problem_handlers(app)
    install_store_error_handler(app)
    app.include_router(events.router)
    app.include_router(projections.router)
    app.include_router(audit.router)
    app.include_router(stream.router)

    app.include_router(health.router)
    install_web(app, settings)
    app.openapi = partial(_openapi, app)  # type: ignore[method-assign]
    return app


def _follower(
    settings: Settings, application: Truceline, read_model: ReadModel
) -> Follower | ProjectorProgress:
    """What keeps the read model up to the log: this process's own follower, or, with
    ``TRUCELINE_PROJECTOR=external``, a view of the projector process's progress."""
    if settings.projector == "external":
        return ProjectorProgress(application, read_model, read_model_path(settings))
    return Follower(application, read_model)


def _notary(settings: Settings, application: Truceline) -> tuple[SigningKey | None, Notary | None]:
    """The signing key and its notary, when the key file exists (without one, nothing is
    signed: ``truceline signing-key create`` makes it). A key file others may read, or
    that is no Ed25519 key, stops the server."""
    path = signing_key_path(settings)
    if not path.exists():
        return None, None
    try:
        key = SigningKey.load(path)
    except CheckpointError:
        application.close()
        raise
    return key, Notary(application, key, checkpoint_archive_path(settings))


def _both(first: Callable[[], None], second: Callable[[], None]) -> Callable[[], None]:
    def both() -> None:
        first()
        second()

    return both


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SnapshotHeader)
    app.add_middleware(SecurityHeaders)
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the event catalogue and problem+json errors."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(EVENT_COMPONENTS)
        document_problems(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from ``TRUCELINE_*`` variables."""
    return create_app(Settings())
