"""Slow and greedy clients against a real ``truceline serve``, over raw sockets.

Each test speaks HTTP/1.1 by hand, since the point is what a client library would never
send: a head or a body trickled a byte at a time, a 100 kB header line, 200 headers,
more connections than the server takes, bodies that together exceed what it buffers,
a key in a URL (which the access log must not write). The server runs with short
deadlines and small caps so that each refusal comes quickly. The answers come from the
HTTP layer, not the store, so one SQLite server serves them all.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.servers import cli_env, run_cli, serving
from tests.helpers import valid_event

HEADER_TIMEOUT = 1.0  # TRUCELINE_HEADER_TIMEOUT_SECONDS
BODY_TIMEOUT = 1.0  # TRUCELINE_BODY_TIMEOUT_SECONDS
BODY_MIN_RATE = 50_000  # TRUCELINE_BODY_MIN_RATE: each 50 kB received earns a second
MAX_CONNECTIONS = 4  # TRUCELINE_MAX_CONNECTIONS
MAX_BUFFERED = 100_000  # TRUCELINE_MAX_BUFFERED_BODY_BYTES
MAX_HEADERS = 100  # the default TRUCELINE_MAX_HEADERS
SLACK = 2.0  # seconds a refusal may come after its deadline on a loaded machine
PATIENCE = HEADER_TIMEOUT + SLACK + 2.0  # how long a test waits for an answer at most


@dataclass
class Server:
    host: str
    port: int
    token: str
    log: Path

    def connect(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=PATIENCE)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == "application/problem+json", self.headers
        body: dict[str, Any] = json.loads(self.body)
        assert body["status"] == self.status, body
        return body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("slow-clients")
    env = {
        **cli_env(f"sqlite:///{tmp_path}/truceline.db"),
        "TRUCELINE_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "TRUCELINE_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "TRUCELINE_BODY_MIN_RATE": str(BODY_MIN_RATE),
        "TRUCELINE_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "TRUCELINE_MAX_BUFFERED_BODY_BYTES": str(MAX_BUFFERED),
    }
    created = run_cli(env, tmp_path, "keys", "create", "slow writer", "--role", "writer")
    token = created.stdout.strip().splitlines()[-1]
    log = tmp_path / "serve.log"
    with serving(env, tmp_path, log) as base_url:
        url = urlsplit(base_url)
        assert url.hostname is not None and url.port is not None
        yield Server(url.hostname, url.port, token, log)


def _recv(sock: socket.socket, deadline: float) -> bytes:
    left = deadline - time.monotonic()
    if left <= 0:
        pytest.fail("no answer in time")
    sock.settimeout(left)
    try:
        return sock.recv(65536)
    except TimeoutError:
        pytest.fail(f"no answer within {PATIENCE} s")
    except ConnectionResetError:
        return b""


def read_answer(sock: socket.socket, timeout: float = PATIENCE) -> Answer | None:
    """The next answer on ``sock``; None if the server closed it without one."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = _recv(sock, deadline)
        if not chunk:
            assert not data, f"the connection closed mid-answer: {data!r}"
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = _recv(sock, deadline)
        if not chunk:
            break
        body += chunk
    return Answer(int(status_line.split()[1]), headers, body)


def closed(sock: socket.socket, timeout: float = PATIENCE) -> bool:
    """True once the server has closed ``sock`` (anything it still sends is dropped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([sock], [], [], deadline - time.monotonic())[0]:
            try:
                if not sock.recv(65536):
                    return True
            except ConnectionResetError:
                return True
    return False


def trickle(sock: socket.socket, data: bytes, every: float = 0.05) -> float:
    """Send ``data`` a byte every ``every`` seconds until the server answers or closes
    the connection, or :data:`PATIENCE` runs out; the seconds it took."""
    began = time.monotonic()
    for byte in data:
        if select.select([sock], [], [], every)[0]:
            break  # an answer, or the end of the connection
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        if time.monotonic() - began > PATIENCE:
            break
    return time.monotonic() - began


def head(path: str, *lines: str, method: str = "GET") -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: truceline", *lines, "", ""]).encode()


def event_request(token: str | None, body: bytes, length: int | None = None) -> bytes:
    lines = [
        "Content-Type: application/json",
        f"Content-Length: {len(body) if length is None else length}",
    ]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    return head("/v1/events", *lines, method="POST") + body


def test_a_connection_that_sends_nothing_is_closed_after_the_header_deadline(
    server: Server,
) -> None:
    with server.connect() as sock:
        began = time.monotonic()
        assert closed(sock)  # without an answer: it asked nothing
        took = time.monotonic() - began
    assert HEADER_TIMEOUT - 0.2 <= took <= HEADER_TIMEOUT + SLACK


def test_a_client_trickling_its_headers_is_answered_408_at_the_deadline(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: truceline\r\n")
        took = trickle(sock, b"X-Slow: " + b"a" * 1000)
        answer = read_answer(sock, timeout=1.0)
        assert answer is not None, f"closed without an answer after {took:.1f} s"
        assert answer.status == 408
        assert answer.headers["connection"] == "close"
        assert answer.problem()["type"] == "urn:truceline:problem:header-timeout"
        assert closed(sock)
    assert HEADER_TIMEOUT - 0.2 <= took <= HEADER_TIMEOUT + SLACK


def test_a_client_trickling_a_body_is_answered_408_at_the_deadline(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(event_request(server.token, b'{"type": "strike"', length=1000))
        took = trickle(sock, b" " * 1000)
        answer = read_answer(sock, timeout=1.0)
        assert answer is not None, f"closed without an answer after {took:.1f} s"
        assert answer.status == 408
        assert answer.problem()["type"] == "urn:truceline:problem:body-timeout"
        assert closed(sock)
    assert BODY_TIMEOUT - 0.2 <= took <= BODY_TIMEOUT + SLACK


def test_a_body_still_trickling_after_its_answer_is_not_waited_for(server: Server) -> None:
    # Without a key the answer (401) comes before the body is read; the connection must
    # not stay open for as long as the client goes on trickling the rest.
    with server.connect() as sock:
        sock.sendall(event_request(None, b"{", length=100_000))
        answer = read_answer(sock)
        assert answer is not None and answer.status == 401
        took = trickle(sock, b" " * 1000)
        assert closed(sock, timeout=1.0)
    assert took <= BODY_TIMEOUT + SLACK


def test_a_body_that_stops_is_not_waited_for_on_the_time_it_earned(server: Server) -> None:
    # 300 kB at once earn 6 s at the minimum rate; then nothing comes. No key: the 401
    # comes first and the body is never read, so the buffered cap is not in play.
    with server.connect() as sock:
        sock.sendall(event_request(None, b" " * 300_000, length=1_000_000))
        answer = read_answer(sock)
        assert answer is not None and answer.status == 401
        began = time.monotonic()
        assert closed(sock)
        took = time.monotonic() - began
    assert took <= BODY_TIMEOUT + SLACK  # not the 1 + 6 s the bytes earned


def test_a_slow_but_steady_body_earns_more_time(server: Server) -> None:
    # 60 kB over about 1.5 s: past the bare 1 s deadline, within the 1.2 s its bytes earn.
    event = json.dumps(valid_event("statement", text="x" * 19_000)).encode()
    body = event + b" " * (60_000 - len(event))
    began = time.monotonic()
    with server.connect() as sock:
        sock.sendall(event_request(server.token, b"", length=len(body)))
        for start in range(0, len(body), 5_000):
            time.sleep(0.125)
            sock.sendall(body[start : start + 5_000])
        answer = read_answer(sock)
    assert time.monotonic() - began > BODY_TIMEOUT
    assert answer is not None
    assert answer.status == 201, answer


def test_a_100_kb_header_line_is_answered_431(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(head("/v1/health", "X-Big: " + "a" * 100_000))
        answer = read_answer(sock)
        assert answer is not None
        assert answer.status == 431
        assert answer.problem()["type"] == "urn:truceline:problem:header-too-large"
        assert closed(sock)


def test_more_headers_than_the_cap_are_answered_431(server: Server) -> None:
    with server.connect() as sock:  # Host and 99 others: as many as the cap allows
        sock.sendall(head("/v1/health", *(f"X-N{n}: 1" for n in range(MAX_HEADERS - 1))))
        answer = read_answer(sock)
        assert answer is not None and answer.status == 200
    with server.connect() as sock:
        sock.sendall(head("/v1/health", *(f"X-N{n}: 1" for n in range(200))))
        answer = read_answer(sock)
        assert answer is not None
        assert answer.status == 431
        problem = answer.problem()
        assert problem["type"] == "urn:truceline:problem:too-many-headers"
        assert problem["detail"] == f"a request may have at most {MAX_HEADERS} header fields"
        assert closed(sock)


def test_a_request_beyond_the_connection_cap_is_answered_503(server: Server) -> None:
    held = [server.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in held:  # each answered, then kept open (keep-alive)
            sock.sendall(head("/v1/health"))
            answer = read_answer(sock)
            assert answer is not None and answer.status == 200
        with server.connect() as extra:
            extra.sendall(head("/v1/health"))
            answer = read_answer(extra)
            assert answer is not None
            assert answer.status == 503
            assert answer.headers["retry-after"] == "1"
            assert answer.problem()["type"] == "urn:truceline:problem:too-many-connections"
            assert closed(extra)
        held.pop().close()  # one slot freed: the next connection is served
        assert _health_once_served(server)
    finally:
        for sock in held:
            sock.close()


def _health_once_served(server: Server) -> bool:
    deadline = time.monotonic() + SLACK
    while time.monotonic() < deadline:  # the server notices the close on its next turn
        with server.connect() as sock:
            sock.sendall(head("/v1/health"))
            answer = read_answer(sock)
            if answer is not None and answer.status == 200:
                return True
        time.sleep(0.05)
    return False


def test_bodies_beyond_the_buffered_cap_are_answered_503(server: Server) -> None:
    with server.connect() as holder:
        # 80 kB of a 90 kB body held by one request: 20 kB of the 100 kB cap are left.
        holder.sendall(event_request(server.token, b" " * 80_000, length=90_000))
        time.sleep(0.3)
        with server.connect() as sock:  # declared larger than what is left
            sock.sendall(event_request(server.token, b" " * 30_000))
            answer = read_answer(sock)
            assert answer is not None
            assert answer.status == 503
            assert answer.headers["retry-after"] == "1"
            assert answer.problem()["type"] == "urn:truceline:problem:bodies-buffered"
        with server.connect() as sock:  # chunked, no length declared: refused as it comes
            lines = ["Content-Type: application/json", "Transfer-Encoding: chunked"]
            lines.append(f"Authorization: Bearer {server.token}")
            chunk = b" " * 30_000
            sock.sendall(
                head("/v1/events", *lines, method="POST")
                + f"{len(chunk):x}\r\n".encode()
                + chunk
                + b"\r\n0\r\n\r\n"
            )
            answer = read_answer(sock)
            assert answer is not None
            assert answer.status == 503
            assert answer.problem()["type"] == "urn:truceline:problem:bodies-buffered"
    # The holder is gone, and what it held with it: a full event is taken again.
    body = json.dumps(valid_event("strike")).encode() + b" " * 40_000
    deadline = time.monotonic() + SLACK
    while True:
        with server.connect() as sock:
            sock.sendall(event_request(server.token, body))
            answer = read_answer(sock)
        assert answer is not None
        if answer.status == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert answer.status == 201, answer


def test_the_access_log_never_records_a_key_secret(server: Server) -> None:
    secret = "s3cr3t-Secret_value0123456789abcdefghijklmnop"
    paths = [
        f"/v1/health?key=tl.key_0123456789ab.{secret}",
        f"/v1/health?a=1&key=tl%2Ekey_0123456789ab%2E{secret}2&b=2",
        f"/v1/events/tl.key_0123456789ab.{secret}3",
    ]
    for path in paths:
        with server.connect() as sock:
            sock.sendall(head(path))
            assert read_answer(sock) is not None
    time.sleep(0.2)
    lines = [line for line in server.log.read_text().splitlines() if "/v1/" in line]
    assert secret not in server.log.read_text()
    assert any('"GET /v1/health?key=tl.*** HTTP/1.1" 422' in line for line in lines), lines
    assert any('"GET /v1/health?a=1&key=tl.***&b=2 HTTP/1.1" 422' in line for line in lines)
    assert any('"GET /v1/events/tl.*** HTTP/1.1"' in line for line in lines), lines
