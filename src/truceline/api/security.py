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
# The API serves data, never pages that run code; the interactive docs are the exception.
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
DOC_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(HEADERS)
        if not str(scope.get("path", "")).startswith(DOC_PATHS):
            extra.append(API_CSP)
        if str(scope.get("path", "")).startswith("/v1/"):
            extra.append((b"cache-control", b"no-store"))  # answers carry keyed data

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
