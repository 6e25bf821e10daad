"""The web page at ``/`` and its static files: plain HTML, CSS and JavaScript served by
the app itself (no CDN), which reads the same ``/v1`` API as every other client; and,
unless ``Settings.docs`` is off, the interactive API docs at ``/docs`` (Swagger UI) and
``/redoc`` (ReDoc), built from the vendored copies under ``static/vendor/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from truceline.settings import Settings

HERE = Path(__file__).parent
STATIC = HERE / "static"
DOCS = HERE / "docs"
HTML = "text/html; charset=utf-8"


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the page at ``/`` and its files under ``/static/``; add ``/docs`` and
    ``/redoc`` when ``settings.docs`` is true (otherwise neither route exists)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type=HTML)

    if settings.docs:
        install_docs(app)


def install_docs(app: FastAPI) -> None:
    """Add ``GET /docs`` and ``GET /redoc``: static HTML pages whose scripts, styles and
    initialisation all load from ``/static/``, reading the spec from ``/openapi.json``."""

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> FileResponse:
        return FileResponse(DOCS / "swagger.html", media_type=HTML)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> FileResponse:
        return FileResponse(DOCS / "redoc.html", media_type=HTML)
