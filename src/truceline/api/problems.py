"""Every error as ``application/problem+json`` (RFC 9457), and never a stack trace.

Handlers raise :class:`Problem`; FastAPI's own errors (404, 405, bad query parameters)
and anything unexpected are turned into the same shape here.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from truceline.api.security import API_CSP, HEADERS
from truceline.domain.errors import ErrorDetail, Invalid

log = logging.getLogger("truceline.api")

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error answer: status, a short title, a detail a person can act on."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        kind: str | None = None,
        errors: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.kind = kind
        self.errors = errors
        self.headers = headers


def problem_response(problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:truceline:problem:{problem.kind}" if problem.kind else "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def invalid_problem(errors: list[ErrorDetail]) -> Problem:
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Problem(
        422,
        f"{where}: {first['msg']}{more}",
        title="Invalid event",
        kind="invalid-event",
        errors=errors,
    )


def invalid_request(loc: list[str | int], msg: str) -> Problem:
    """422 for a query parameter (``loc`` like ``["query", "limit"]``)."""
    where = ".".join(str(part) for part in loc)
    return Problem(
        422,
        f"{where}: {msg}",
        title="Invalid request",
        kind="invalid-request",
        errors=[{"loc": loc, "msg": msg}],
    )


def invalid_query(error: Invalid) -> Problem:
    """422 for a query parameter the domain or application refused (``loc`` its name)."""
    detail = error.errors[0]
    return invalid_request(["query", *detail["loc"]], detail["msg"])


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(_: Request, problem: Problem) -> JSONResponse:
        return problem_response(problem)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = (
            error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        )
        if error.status_code == 404 and detail == "Not Found":
            detail = f"nothing at {request.url.path}"
        elif error.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(
            Problem(error.status_code, detail, headers=getattr(error, "headers", None))
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, error: RequestValidationError) -> JSONResponse:
        errors: list[ErrorDetail] = [
            {"loc": list(e["loc"][1:] if e["loc"][:1] == ("body",) else e["loc"]), "msg": e["msg"]}
            for e in error.errors()
        ]
        where = ".".join(str(part) for part in errors[0]["loc"]) if errors else "request"
        return problem_response(
            Problem(
                422,
                f"{where}: {errors[0]['msg']}" if errors else "invalid request",
                title="Invalid request",
                kind="invalid-request",
                errors=errors,
            )
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # Answered outside the middleware stack, so the security headers are added here.
        headers = {name.decode(): value.decode() for name, value in (*HEADERS, API_CSP)}
        return problem_response(
            Problem(
                500,
                "an unexpected error occurred; it has been logged",
                headers={**headers, "Cache-Control": "no-store"},
            )
        )


def install_store_error_handler(app: FastAPI) -> None:
    """A store that is down or locked is a temporary condition: 503 with Retry-After."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    async def on_store_down(_: Request, error: Exception) -> JSONResponse:
        log.warning("store unavailable: %s", error)
        return problem_response(
            Problem(
                503,
                "the event store is unavailable or busy; retry shortly",
                kind="store-unavailable",
                headers={"Retry-After": "1"},
            )
        )

    app.add_exception_handler(OperationalError, on_store_down)
    app.add_exception_handler(InterfaceError, on_store_down)
