"""How ``truceline serve`` runs uvicorn: an HTTP protocol that drops slow and greedy
clients, and an access log that never writes a key's secret.

uvicorn (0.55, on httptools) sets no deadline on reading a request: a client trickling
its headers or its body a byte at a time keeps its connection, and its buffered bytes,
for as long as it likes (50 such sockets stayed open for as long as they were fed). Nor
does it bound the head: a 5 MB header line and 10,000 header fields were taken.
``h11_max_incomplete_event_size`` bounds the head for h11 only, and its
``limit_concurrency`` answers a plain-text 503 without ``Retry-After`` and counts the
asking connection against the cap. :class:`GuardedHttpProtocol` subclasses uvicorn's
httptools protocol (kept for its speed) and adds, from the ``TRUCELINE_*`` settings:

* a deadline for the request line and headers (408), counted from the connection, or
  from a kept-alive connection's next request (uvicorn's ``timeout_keep_alive`` covers
  the idle time between requests);
* a deadline for the body once the headers are in (408), which a body arriving at the
  minimum rate keeps pushing back, as Apache's mod_reqtimeout does, so a slow but honest
  upload of a large batch completes; and, since time so earned is banked, the same
  timeout for a body that stops arriving, as nginx's ``client_body_timeout``;
* caps on the head's bytes and on its header fields (431);
* a cap on open connections and running requests (503 with ``Retry-After``).

Those refusals come before the app, so they are written here, as problem+json with the
app's security headers. The bytes of bodies a process buffers at once are capped where
they are buffered: :mod:`truceline.api.body`.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.config import LOGGING_CONFIG, Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from truceline.api.security import API_CSP, HEADERS
from truceline.settings import Settings

PROTOCOL = f"{__name__}:GuardedHttpProtocol"
# After a refusal the connection is half-closed and what the client still sends is read
# and dropped for this long, as nginx's lingering close does: closing with unread bytes
# sends a reset, which can destroy the answer before the client has read it.
LINGER_SECONDS = 2.0


def uvicorn_options() -> dict[str, Any]:
    """What ``truceline serve`` gives ``uvicorn.run`` besides the app, host, port and
    workers. Each worker reads its limits from the ``TRUCELINE_*`` environment, as
    ``create_app_from_env`` reads the app's settings."""
    return {
        "http": PROTOCOL,
        "ws": "none",  # the API has no WebSocket route: no upgrade path to guard
        "log_config": log_config(),
    }


@dataclass(frozen=True)
class ServingLimits:
    """The settings the protocol enforces (see their descriptions in :class:`Settings`)."""

    header_timeout: float
    body_timeout: float
    body_min_rate: int
    max_header_bytes: int
    max_headers: int
    max_connections: int

    @classmethod
    def of(cls, settings: Settings) -> ServingLimits:
        return cls(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            body_min_rate=settings.body_min_rate,
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            max_connections=settings.max_connections,
        )


@functools.cache
def serving_limits() -> ServingLimits:
    """This process's limits, read from the environment on its first connection."""
    return ServingLimits.of(Settings())


class Refusal(Exception):
    """An answer the protocol gives in the app's place, as problem+json."""

    def __init__(self, status: int, kind: str, detail: str, *, retry: bool = False):
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.retry = retry

    def response(self, default_headers: Iterable[tuple[bytes, bytes]]) -> bytes:
        """The whole response, ``connection: close`` included."""
        phrase = HTTPStatus(self.status).phrase
        body = json.dumps(
            {
                "type": f"urn:truceline:problem:{self.kind}",
                "title": phrase,
                "status": self.status,
                "detail": self.detail,
            }
        ).encode()
        headers = [
            *default_headers,
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"cache-control", b"no-store"),
            *HEADERS,
            API_CSP,
        ]
        if self.retry:
            headers.append((b"retry-after", b"1"))
        lines = [f"HTTP/1.1 {self.status} {phrase}".encode()]
        lines += [name + b": " + value for name, value in headers]
        return b"\r\n".join([*lines, b"", body])


def _head_too_large(limits: ServingLimits) -> Refusal:
    return Refusal(
        431,
        "header-too-large",
        f"the request line and headers are larger than {limits.max_header_bytes} bytes",
    )


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines and caps (see the module's docstring).

    One timer per connection at most: the head's deadline from the connection (or the
    request's first byte) to its headers, then the body's until the request is complete,
    then none while the app answers. A deadline that finds reading paused (the server,
    not the client, holding the bytes back) starts again. A timer is armed only for a
    request still incomplete at the end of a read: arming and cancelling one costs
    3.5 us on uvloop, and all the rest this class adds to a request that comes in one
    read, as nearly all do, is about 4.5 us (measured on 2 cores, 5 header fields).
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = serving_limits()
        self._max_headers = self.limits.max_headers
        self._max_header_bytes = self.limits.max_header_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._in_head = True  # from the connection, or a request's end, to the next headers
        self._head_begun = False  # a byte of the next request has come
        # Bytes received while a head was incomplete: with the head's pieces below, it
        # bounds a head that never completes to the cap plus one read.
        self._head_bytes = 0
        self._head_size = 0  # the request target and header fields parsed so far
        self._header_count = 0
        self._head_since = 0.0
        self._body_since = 0.0
        self._body_last = 0.0  # when a byte of the body last came
        self._body_bytes = 0
        self._refusal: Refusal | None = None  # raised in a parser callback
        self._refused = False  # answered: what comes next is dropped

    # The connection

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._head_overdue)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """uvicorn's, plus the head's byte count and a callback's refusal."""
        if self._refused:
            return
        if self._in_head:
            self._head_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse_head(self._refusal)
                return
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)
            return
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()  # served as plain HTTP: ws is "none"
        if not self._in_head:
            if self._deadline is None:  # a body still to come
                self._arm_at(self._body_since + self.limits.body_timeout, self._body_overdue)
        elif self._head_bytes > self._max_header_bytes:
            self._refuse_head(_head_too_large(self.limits))
        elif self._head_begun and self._deadline is None:  # the rest of a head to come
            self._arm_at(self._head_since + self.limits.header_timeout, self._head_overdue)

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True
        self._head_size = self._header_count = 0
        if self._deadline is None:  # else the deadline armed at the connection stands
            self._head_since = self.loop.time()

    def on_url(self, url: bytes) -> None:
        self._grow_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Called for every header field: the checks are inlined and the parent named,
        # since a zero-argument super() and a helper's call were most of its cost.
        self._header_count += 1
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        if self._header_count > self._max_headers:
            raise self._refusing(
                Refusal(
                    431,
                    "too-many-headers",
                    f"a request may have at most {self._max_headers} header fields",
                )
            )
        if self._head_size > self._max_header_bytes:
            raise self._refusing(_head_too_large(self.limits))
        HttpToolsProtocol.on_header(self, name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        cap = self.limits.max_connections
        # This connection is among ``connections``; the new request is not yet a task.
        if len(self.connections) > cap or len(self.tasks) >= cap:
            raise self._refusing(
                Refusal(
                    503,
                    "too-many-connections",
                    f"the server is at its cap of {cap} connections or running requests: "
                    "retry shortly",
                    retry=True,
                )
            )
        super().on_headers_complete()
        self._body_since = self._body_last = self.loop.time()
        self._body_bytes = 0

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        self._body_last = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._in_head, self._head_begun, self._head_bytes = True, False, 0

    def _grow_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self._max_header_bytes:
            raise self._refusing(_head_too_large(self.limits))

    def _refusing(self, refusal: Refusal) -> Refusal:
        """Keep ``refusal`` for :meth:`data_received`, which the parser's error reaches."""
        self._refusal = refusal
        return refusal

    # Deadlines

    def _arm(self, seconds: float, then: Callable[[], None]) -> None:
        self._arm_at(self.loop.time() + seconds, then)

    def _arm_at(self, when: float, then: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_at(when, then)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_overdue(self) -> None:
        self._deadline = None
        if self.flow.read_paused:
            self._arm(self.limits.header_timeout, self._head_overdue)
        elif not self._head_begun:
            self.transport.close()  # it asked nothing, so there is nothing to answer
        else:
            self._refuse_head(
                Refusal(
                    408,
                    "header-timeout",
                    "the request line and headers did not arrive within "
                    f"{self.limits.header_timeout:g} seconds",
                )
            )

    def _body_overdue(self) -> None:
        self._deadline = None
        now = self.loop.time()
        timeout = self.limits.body_timeout
        if self.flow.read_paused:  # the app has not taken what came: not the client's fault
            self._body_since = self._body_last = now
            self._body_bytes = 0
            self._arm(timeout, self._body_overdue)
            return
        rate = self.limits.body_min_rate
        earned = self._body_bytes / rate if rate else 0.0
        left = min(self._body_since + timeout + earned, self._body_last + timeout) - now
        if left > 0:
            self._arm(left, self._body_overdue)
        else:
            self._refuse_body()

    # Refusals

    def _refuse_head(self, refusal: Refusal) -> None:
        """Refuse a request whose head is incomplete, or complete but not yet started."""
        self._log(refusal)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # An earlier request on this connection (pipelined) is still being answered:
            # the refusal would land inside its answer. That answer ends the connection.
            cycle.keep_alive = False
            self._refused = True
            self._disarm()
            return
        self._write_and_close(refusal)

    def _refuse_body(self) -> None:
        timeout, rate = self.limits.body_timeout, self.limits.body_min_rate
        earning = f" plus one for each {rate} bytes received" if rate else ""
        refusal = Refusal(
            408,
            "body-timeout",
            f"the request body did not arrive within {timeout:g} seconds{earning}, or "
            f"stopped arriving for {timeout:g} seconds",
        )
        cycle = self.cycle
        if cycle.response_started or self.pipeline:
            # Answered without the body (a 401, say), or queued behind another request:
            # there is nothing left to say, only the connection to end.
            self._log(refusal, answered=False)
            self.transport.close()
            return
        self._log(refusal)
        # The app's receive() now reports a disconnect, and whatever it sends is dropped.
        cycle.disconnected = True
        cycle.message_event.set()
        self._write_and_close(refusal)

    def _write_and_close(self, refusal: Refusal) -> None:
        self._refused = True
        self._disarm()
        self.transport.write(refusal.response(self.server_state.default_headers))
        self.flow.resume_reading()  # go on reading, to drop, what the client still sends
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _log(self, refusal: Refusal, *, answered: bool = True) -> None:
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        said = str(refusal.status) if answered else "connection closed"
        self.logger.warning("%s - %s: %s", client, said, refusal.detail)


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`~truceline.redaction.RedactSecrets`
    on every handler, so no line uvicorn writes holds a key's secret."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_secrets": {"()": "truceline.redaction.RedactSecrets"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_secrets"]
    return config
