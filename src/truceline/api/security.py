"""Security headers on every response, and CORS only where configured.

A plain ASGI middleware rather than FastAPI's ``@app.middleware("http")``: it only adds
headers to the response start, so it costs nothing per body chunk and never buffers.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
CSP = b"content-security-policy"
# The API serves data, never pages that run code.
API_CSP = (CSP, b"default-src 'none'; frame-ancestors 'none'")
# The page at /, its files and Swagger UI at /docs: only their own scripts, styles, images
# and API calls.
PAGE_CSP = (
    CSP,
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    b"frame-ancestors 'none'",
)
# ReDoc, vendored, needs two exceptions: its styled-components insert <style> elements, and
# its search index runs in a worker it builds from a blob. Swagger UI needs neither.
REDOC_CSP = (
    CSP,
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; font-src 'self'; worker-src blob:; "
    b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
)


def content_security_policy(path: str) -> tuple[bytes, bytes]:
    """The Content-Security-Policy header for a request path: the ReDoc policy for exactly
    ``/redoc``; the page policy for exactly ``/`` and ``/docs`` and for anything under
    ``/static/``; the API policy for every other path."""
    if path == "/redoc":
        return REDOC_CSP
    if path in ("/", "/docs") or path.startswith("/static/"):
        return PAGE_CSP
    return API_CSP


class SecurityHeaders:
    """Adds HEADERS and the path's Content-Security-Policy to every HTTP response, and
    ``Cache-Control: no-store`` to those under ``/v1/``."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        extra = [*HEADERS, content_security_policy(path)]
        if path.startswith("/v1/"):
            extra.append((b"cache-control", b"no-store"))  # answers carry keyed data

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
