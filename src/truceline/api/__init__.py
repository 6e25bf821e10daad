"""The HTTP API: ``create_app(settings)`` builds everything; nothing is built at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi

import truceline
from truceline.api import events
from truceline.api.problems import install_problem_handlers, install_store_error_handler
from truceline.api.schemas import EVENT_COMPONENTS, Health
from truceline.application.app import Truceline
from truceline.application.group_commit import GroupCommitter
from truceline.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for ``settings``: opens the store and starts the writer thread."""
    application = Truceline(settings)
    committer = GroupCommitter(application)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        committer.close()
        application.close()

    app = FastAPI(
        title="Truceline",
        version=truceline.__version__,
        description="An event-sourced conflict timeline with ceasefire tracking.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.app = application
    app.state.committer = committer
    install_problem_handlers(app)
    install_store_error_handler(app)
    app.include_router(events.router)

    @app.get("/v1/health", response_model=Health, tags=["health"])
    def health(request: Request) -> dict[str, Any]:
        """Liveness and how far the log has come; needs no key."""
        return {
            "status": "ok",
            "log_position": request.app.state.app.log_position(),
            "projection_position": None,
        }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(EVENT_COMPONENTS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from ``TRUCELINE_*`` variables."""
    return create_app(Settings())
