"""Hostile input on every parameter and field, on both stores; headers, CORS, keys, logs.

What must hold whatever is sent: no 5xx (a 503 only for a ``min_position`` the read models
have not reached, as the contract says); every error is ``application/problem+json`` with
the contract's keys; a refused request stores nothing; and the store answers afterwards
with its log intact.

Most requests go through the TestClient. What an HTTP client refuses to send (10,000
repeated parameters, a query of megabytes, a Content-Length that lies, bytes that are not
UTF-8 in the query) is sent to the ASGI app directly, as a server would pass it on.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.helpers import (
    CEASEFIRE,
    CONFLICT,
    PROBLEM_KEYS,
    Envelope,
    Headers,
    key_id,
    valid_event,
)
from truceline.api import create_app
from truceline.application.keys import create_key
from truceline.settings import Settings

PROBLEM_JSON = "application/problem+json"
MAX_BODY = 1_000_000  # Settings().max_body_bytes
MAX_BATCH_BODY = 64_000_000  # Settings().max_batch_body_bytes

HOSTILE = [
    "'; DROP TABLE stored_events; --",
    "' OR '1'='1' --",
    '" OR ""="',
    "1; SELECT pg_sleep(5); --",
    "../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "%00",
    "\x00",
    "a\x00b",
    "%2e%2e%2f%2e%2e%2f",
    "\u202etxt.exe\u202c",  # right-to-left override
    "\u200f\u200e\u2066\u2069",
    "\x1b[2J\x07\x08\x7f",
    "\r\nX-Injected: 1",
    "<script>alert(1)</script>",
    "${jndi:ldap://example.invalid/a}",
    "{{7*7}}",
    "\ufeff\ufffe\uffff",
    "\U0001d54f\U0001f600",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "-1",
    "-0",
    "0x7fffffff",
    "99999999999999999999999999999999",
    "",
    " ",
    "a" * 10_000,
]

# Every query parameter of every read, with what the read needs besides.
QUERY_PARAMETERS: list[tuple[str, str, dict[str, str]]] = [
    ("/v1/events", "after", {}),
    ("/v1/events", "limit", {}),
    ("/v1/events", "as_of", {}),
    ("/v1/events/{id}", "as_of", {}),
    *[
        ("/v1/timeline", name, {})
        for name in (
            "conflict",
            "type",
            "actor",
            "location",
            "from",
            "to",
            "bbox",
            "limit",
            "cursor",
            "include_retracted",
            "format",
            "min_position",
            "as_of",
        )
    ],
    *[("/v1/ceasefires", name, {}) for name in ("conflict", "at", "as_of", "min_position")],
    *[
        ("/v1/ceasefires/{id}", name, {"conflict": CONFLICT})
        for name in ("conflict", "at", "as_of", "min_position")
    ],
    *[("/v1/conflicts/{id}/status", name, {}) for name in ("at", "as_of", "min_position")],
]
# The reads with a path parameter: where it goes, what else they need, a value that exists.
PATH_TEMPLATES = {
    "/v1/events/{id}": "/v1/events/{}",
    "/v1/ceasefires/{id}": "/v1/ceasefires/{}",
    "/v1/conflicts/{id}/status": "/v1/conflicts/{}/status",
}
PATH_QUERY = {"/v1/ceasefires/{id}": {"conflict": CONFLICT}}


def target(path: str, seeded: list[str]) -> str:
    """``path`` with its parameter naming what ``seeded`` stored."""
    existing = {"/v1/events/{id}": seeded[0], "/v1/ceasefires/{id}": CEASEFIRE}
    return PATH_TEMPLATES.get(path, path).format(existing.get(path, CONFLICT))


# Fields of an envelope, as paths into it; the free-text ones are stored as sent.
FREE_TEXT = ["location.name", "location.admin1", "sources.0.name", "summary", "perpetrator"]
FREE_TEXT += ["target", "weapon"]
FORMATTED = ["type", "event_id", "conflict", "occurred_at", "timezone", "time_precision"]
FORMATTED += ["location.country", "location.lat", "location.lon", "sources.0.url"]
FORMATTED += ["sources.0.published_at", "killed"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The conftest's settings, but a min_position past the log is a 503 at once."""
    return Settings(
        database_url=database_url,
        read_model_path=str(tmp_path / "read-model.db"),
        read_wait_seconds=0.05,
    )


@pytest.fixture
def admin(client: TestClient) -> Headers:
    _, token = create_key(client.app.state.app.store, "hostile admin", "admin")  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seeded(client: TestClient, admin: Headers) -> list[str]:
    """A ceasefire, a strike and a statement; their event ids."""
    events = [
        valid_event(
            "ceasefire_agreed",
            occurred_at="2020-10-10T01:00:00Z",
            effective_at="2020-10-10T08:00:00Z",
        ),
        valid_event("strike", location={"name": "Stepanakert", "lat": 39.8, "lon": 46.7}),
        valid_event("statement"),
    ]
    response = client.post("/v1/events/batch", json={"events": events}, headers=admin)
    assert response.status_code == 201, response.text
    return [event["event_id"] for event in events]


# -- what every answer must be ------------------------------------------------------------


def problem_failure(response: Response) -> str | None:
    """Why an error answer is not a contract problem (None if it is, or not an error)."""
    status = response.status_code
    if status < 400:
        return None
    if status >= 500 and not _waited(response):
        return f"{status}: {response.text[:300]}"
    if response.headers.get("content-type") != PROBLEM_JSON:
        return f"{status} as {response.headers.get('content-type')}: {response.text[:300]}"
    body = response.json()
    if not (PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"}):
        return f"{status} with keys {sorted(body)}"
    if body["status"] != status or not isinstance(body["detail"], str) or not body["detail"]:
        return f"{status}: {body}"
    if status == 422:
        errors = body.get("errors")
        if not errors or not all(
            set(e) == {"loc", "msg"} and isinstance(e["loc"], list) and e["msg"] for e in errors
        ):
            return f"422 without errors[].loc/msg: {body}"
    return None


def _waited(response: Response) -> bool:
    """The contract's 503 for a min_position the read models have not reached."""
    return (
        response.status_code == 503
        and "min_position" in response.request.url.params
        and response.headers.get("content-type") == PROBLEM_JSON
        and response.json()["type"] == "urn:truceline:problem:not-caught-up"
        and response.headers.get("retry-after") == "1"
    )


def assert_refused(response: Response, *statuses: int) -> dict[str, Any]:
    """A 4xx problem (one of ``statuses`` if given); returns its body."""
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if statuses:
        assert response.status_code in statuses, response.text[:500]
    failure = problem_failure(response)
    assert failure is None, failure
    body: dict[str, Any] = response.json()
    return body


def log_entries(client: TestClient, headers: Headers) -> list[Envelope]:
    """The whole log, page by page."""
    entries: list[Envelope] = []
    after = 0
    while True:
        response = client.get("/v1/events", params={"after": after, "limit": 1000}, headers=headers)
        assert response.status_code == 200, response.text
        page: list[Envelope] = response.json()["events"]
        if not page:
            return entries
        entries += page
        after = page[-1]["position"]


def assert_store_answers(client: TestClient, headers: Headers, count: int) -> None:
    """The log still reads, holds ``count`` entries, and its chain and read models check."""
    entries = log_entries(client, headers)
    assert [entry["position"] for entry in entries] == list(range(1, count + 1))
    deadline = time.monotonic() + 10
    while (health := client.get("/v1/health").json())["projection_position"] < count:
        assert time.monotonic() < deadline, health
        time.sleep(0.02)
    assert health["log_position"] == count
    verify = client.get("/v1/audit/verify", headers=headers)
    assert verify.status_code == 200, verify.text
    assert verify.json() == {
        "ok": True,
        "events_checked": count,
        "first_bad_position": None,
        "projections_consistent": True,
        "tree_consistent": True,
        "key_log_consistent": True,
    }


# -- the ASGI app reached directly --------------------------------------------------------


class Raw:
    """An answer of the ASGI app to a request no HTTP client would build."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes, raised: str | None):
        self.status = status
        self.headers = headers
        self.body = body
        self.raised = raised

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"{self.status} {self.headers.get('content-type')} {self.body[:300]!r} {self.raised}"


def raw_request(
    client: TestClient,
    method: str,
    raw_path: bytes,
    query: bytes = b"",
    headers: Iterable[tuple[bytes, bytes]] = (),
    chunks: Iterable[bytes] = (b"",),
) -> Raw:
    """Send one request to the app as a server would: the path percent-decoded as
    uvicorn does, the query string and headers as they came, the body in ``chunks``."""
    app = client.app
    parts = list(chunks) or [b""]

    async def run() -> Raw:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in headers],
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 80),
            "state": {},
        }
        messages = [
            {"type": "http.request", "body": part, "more_body": index < len(parts) - 1}
            for index, part in enumerate(parts)
        ]
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(30)  # the body is over; the client is still there
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        raised = None
        try:
            await app(scope, receive, send)
        except Exception as error:  # a server would log it; the answer already went out
            raised = repr(error)[:300]
        start = sent[0]
        answer_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
        body = b"".join(message.get("body", b"") for message in sent[1:])
        return Raw(start["status"], answer_headers, body, raised)

    return asyncio.run(run())


def authorization(headers: Headers) -> tuple[bytes, bytes]:
    return (b"authorization", headers["Authorization"].encode())


def assert_raw_not_server_error(answer: Raw) -> None:
    assert answer.status < 500, answer
    if answer.status >= 400:
        assert answer.headers["content-type"] == PROBLEM_JSON, answer
        body = answer.json()
        assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"}, body
        assert body["status"] == answer.status, body


# -- hostile strings everywhere -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "base"),
    QUERY_PARAMETERS,
    ids=[f"{path} {name}" for path, name, _ in QUERY_PARAMETERS],
)
def test_hostile_strings_in_every_query_parameter(client, admin, seeded, path, name, base):
    failures = []
    for value in HOSTILE:
        response = client.get(target(path, seeded), params={**base, name: value}, headers=admin)
        failure = problem_failure(response)
        if failure is None and response.status_code < 300:
            response.json()  # a success is JSON (or, for format=..., its own media)
        if failure is not None:
            failures.append(f"{name}={value[:60]!r}: {failure}")

    assert failures == []
    assert_store_answers(client, admin, len(seeded))


@pytest.mark.parametrize("path", list(PATH_TEMPLATES))
def test_hostile_strings_in_every_path_parameter(client, admin, seeded, path):
    failures = []
    for value in HOSTILE:
        response = client.get(
            PATH_TEMPLATES[path].format(quote(value, safe="")),
            params=PATH_QUERY.get(path, {}),
            headers=admin,
        )
        failure = problem_failure(response)
        if failure is not None:
            failures.append(f"{value[:60]!r}: {failure}")
        assert b"root:" not in response.content

    assert failures == []
    assert_store_answers(client, admin, len(seeded))


@pytest.mark.parametrize(
    "raw_path",
    [
        "/v1/events/../../etc/passwd",
        "/v1/events/..%2F..%2Fetc%2Fpasswd",
        "/v1/events/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/v1/events/a%2Fb",
        "/v1/events/a/b",
        "/v1/events/..",
        "/v1/events/%00",
        "/v1/events/%ff%fe",
        "/v1/events/" + "9" * 60_000,
        "/v1/ceasefires/..%2F..%2F?conflict=" + CONFLICT,
        "/v1/ceasefires/a%2Fb?conflict=..%2F..",
        "/v1/ceasefires/%00?conflict=%00",
        "/v1/ceasefires/" + "a" * 60_000 + "?conflict=" + CONFLICT,
        "/v1/conflicts/..%2F..%2F/status",
        "/v1/conflicts/%2F/status",
        "/v1/conflicts/a/b/status",
        "/v1/conflicts/../status",
        "/v1/conflicts/%ff/status",
        "/v1/conflicts/" + "a" * 60_000 + "/status",
    ],
    ids=lambda path: path[:60],
)
def test_slashes_dots_and_long_ids_in_paths(client, admin, seeded, raw_path):
    response = client.get(raw_path, headers=admin)

    assert problem_failure(response) is None
    assert response.status_code < 500
    assert b"root:" not in response.content
    assert_store_answers(client, admin, len(seeded))


def test_a_path_of_a_megabyte_and_bytes_that_are_not_utf8(client, admin, seeded):
    for raw_path, query in [
        (b"/v1/events/" + b"a" * 1_000_000, b""),
        (b"/v1/conflicts/" + b"%ff" * 1000 + b"/status", b"at=%ff%fe"),
        (b"/v1/ceasefires/%ff%fe", b"conflict=\xff\xfe&at=\xc3\x28"),
        (b"/v1/timeline", b"conflict=\xff&actor=\xed\xa0\x80&type=\xc0\xaf&cursor=\xff"),
        (b"/v1/events", b"after=\xff&as_of=\xff"),
    ]:
        assert_raw_not_server_error(
            raw_request(client, "GET", raw_path, query, [authorization(admin)])
        )
    assert_store_answers(client, admin, len(seeded))


def set_field(event: Envelope, path: str, value: Any) -> Envelope:
    """``event`` with the field at ``path`` (``location.name``, ``sources.0.url``) set."""
    copy: Envelope = json.loads(json.dumps(event))
    *parents, last = path.split(".")
    node: Any = copy
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return copy


def get_field(event: Envelope, path: str) -> Any:
    node: Any = event
    for part in path.split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node


def hostile_strike() -> Envelope:
    return valid_event(
        "strike",
        weapon="artillery",
        summary="shelling of the market",
        location={"name": "Stepanakert", "admin1": "Karabakh", "country": "AZ", "lat": 39.8},
        sources=[
            {
                "name": "Reuters",
                "url": "https://example.org/a",
                "published_at": "2020-10-17T00:00:00Z",
            }
        ],
    )


@pytest.mark.parametrize("field", FREE_TEXT + FORMATTED)
def test_hostile_strings_in_every_field_of_an_event(client, admin, field):
    failures, stored = [], []
    for value in HOSTILE:
        event = set_field(hostile_strike(), field, value)
        response = client.post("/v1/events", json=event, headers=admin)
        if response.status_code == 201:
            stored.append((response.json()["event_id"], value))
            continue
        failure = problem_failure(response)
        if failure is not None:
            failures.append(f"{field}={value[:60]!r}: {failure}")
        elif response.status_code == 422:
            locs = [error["loc"] for error in response.json()["errors"]]
            # The error names the field (a location or source: that object, or inside it).
            named = [part for part in field.split(".") if not part.isdigit()]
            if not any(named[0] in [str(part) for part in loc] for loc in locs):
                failures.append(f"{field}={value[:60]!r}: 422 naming {locs}")

    assert failures == []
    if field in FREE_TEXT:
        # Names and texts are stored exactly as sent (the empty string is refused where
        # the field has a minimum length).
        for event_id, value in stored:
            entry = client.get(f"/v1/events/{event_id}", headers=admin).json()
            assert get_field(entry["event"], field) == value
    assert_store_answers(client, admin, len(stored))


@pytest.mark.parametrize("field", ["type", "event_id", "conflict", "occurred_at", "perpetrator"])
def test_a_hostile_event_in_a_batch_refuses_the_whole_batch(client, admin, field):
    failures, stored = [], 0
    for value in HOSTILE:
        events = [valid_event("statement"), set_field(hostile_strike(), field, value)]
        response = client.post("/v1/events/batch", json={"events": events}, headers=admin)
        if response.status_code == 201:
            stored += 2
            continue
        failure = problem_failure(response)
        if (
            failure is None
            and response.status_code == 422
            and response.json()["errors"][0]["loc"][:2] != [1, field]
        ):
            failure = f"422 at {response.json()['errors'][0]['loc']}"
        if failure is not None:
            failures.append(f"{field}={value[:60]!r}: {failure}")

    assert failures == []
    assert_store_answers(client, admin, stored)


def test_control_characters_and_rtl_overrides_in_names_are_kept_exactly(client, admin):
    names = ["\u202eAzerbaijan\u202c", "Arm\u200benia", "\x1b[31mRussia\x1b[0m", "a\tb\nc"]
    events = [valid_event("strike", perpetrator=name, location={"name": name}) for name in names]
    response = client.post("/v1/events/batch", json={"events": events}, headers=admin)
    assert response.status_code == 201, response.text

    for name in names:
        for filter_ in ("actor", "location"):
            found = client.get(
                "/v1/timeline", params={filter_: name, "min_position": len(names)}, headers=admin
            )
            assert found.status_code == 200, found.text
            assert [item["perpetrator"] for item in found.json()["items"]] == [name]
    assert_store_answers(client, admin, len(names))


def test_an_actor_with_a_nul_is_found_by_exactly_its_name(client, admin):
    """Actors are compared exactly; a NUL in a name must not cut it short."""
    events = [valid_event("strike", perpetrator=name) for name in ("Armenia\x00x", "Armenia")]
    response = client.post("/v1/events/batch", json={"events": events}, headers=admin)
    assert response.status_code == 201, response.text

    def perpetrators(actor: str) -> list[str]:
        found = client.get(
            "/v1/timeline", params={"actor": actor, "min_position": 2}, headers=admin
        )
        assert found.status_code == 200, found.text
        return [item["perpetrator"] for item in found.json()["items"]]

    assert perpetrators("Armenia") == ["Armenia"]
    assert perpetrators("Armenia\x00x") == ["Armenia\x00x"]


# -- numbers ------------------------------------------------------------------------------


def raw_event(**raw_fields: str) -> bytes:
    """A valid strike as JSON bytes, with fields spelled as raw JSON (``NaN``, ``1e400``)."""
    event = valid_event("strike", location={"name": "Stepanakert"})
    text = json.dumps(event)[:-1]
    location = "".join(f', "{k}": {v}' for k, v in raw_fields.items() if k in ("lat", "lon"))
    text = text.replace('"Stepanakert"}', '"Stepanakert"' + location + "}")
    rest = "".join(f', "{k}": {v}' for k, v in raw_fields.items() if k not in ("lat", "lon"))
    return (text + rest + "}").encode()


@pytest.mark.parametrize(
    ("field", "raw", "loc"),
    [
        ("lat", "NaN", ["location", "lat"]),
        ("lat", "Infinity", ["location", "lat"]),
        ("lon", "-Infinity", ["location", "lon"]),
        ("lat", "1e400", ["location", "lat"]),
        ("lon", "-1e400", ["location", "lon"]),
        ("lat", str(10**30), ["location", "lat"]),
        ("lon", "1e-400", None),  # underflows to 0.0: a valid longitude
        ("killed", "1e400", ["killed"]),
        ("killed", "NaN", ["killed"]),
        ("killed", "-1", ["killed"]),
        ("killed", "1.5", ["killed"]),
        ("wounded", "-" + str(10**30), ["wounded"]),
    ],
)
def test_nan_infinite_and_huge_numbers_in_an_event(client, admin, field, raw, loc):
    response = client.post("/v1/events", content=raw_event(**{field: raw}), headers=admin)

    if loc is None:
        assert response.status_code == 201, response.text
        assert_store_answers(client, admin, 1)
        return
    body = assert_refused(response, 422)
    assert body["errors"][0]["loc"] == loc
    assert_store_answers(client, admin, 0)


def test_a_count_of_ten_to_the_thirty_is_stored_exactly(client, admin):
    response = client.post("/v1/events", content=raw_event(killed=str(10**30)), headers=admin)

    if response.status_code == 201:
        entry = client.get(f"/v1/events/{response.json()['event_id']}", headers=admin).json()
        assert entry["event"]["killed"] == 10**30
        items = client.get("/v1/timeline", params={"min_position": 1}, headers=admin).json()
        assert items["items"][0]["killed"] == 10**30
        assert_store_answers(client, admin, 1)
    else:
        assert_refused(response, 422)
        assert_store_answers(client, admin, 0)


def test_a_number_too_long_to_parse_is_a_400(client, admin):
    response = client.post("/v1/events", content=raw_event(killed="1" + "0" * 5000), headers=admin)

    assert_refused(response, 400)
    assert_store_answers(client, admin, 0)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/events", {"after": str(10**30)}),
        ("/v1/events", {"after": str(2**63)}),
        ("/v1/events", {"limit": str(10**30)}),
        ("/v1/events", {"as_of": str(10**30)}),
        ("/v1/events", {"as_of": "9" * 5000}),
        ("/v1/events/{id}", {"as_of": "9" * 5000}),
        ("/v1/timeline", {"as_of": "9" * 5000}),
        ("/v1/ceasefires", {"as_of": "9" * 5000}),
        ("/v1/conflicts/{id}/status", {"as_of": "9" * 5000}),
        ("/v1/timeline", {"limit": str(10**30)}),
        ("/v1/timeline", {"min_position": "9" * 5000}),
        ("/v1/timeline", {"bbox": "1e400,0,1,1"}),
        ("/v1/timeline", {"bbox": "nan,nan,nan,nan"}),
        ("/v1/timeline", {"from": "9" * 5000}),
        ("/v1/ceasefires", {"at": "9999-12-31T23:59:59-23:59"}),
        ("/v1/ceasefires", {"at": "0001-01-01T00:00:00+23:59"}),
    ],
    ids=lambda value: str(value)[:40],
)
def test_huge_numbers_in_query_parameters(client, admin, seeded, path, params):
    response = client.get(target(path, seeded), params=params, headers=admin)

    assert response.status_code < 500 or _waited(response), response.text
    assert problem_failure(response) is None
    assert_store_answers(client, admin, len(seeded))


def cursor(key: object) -> str:
    raw = key if isinstance(key, bytes) else json.dumps(key).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "value",
    [
        cursor([10**30, 1]),
        cursor([1, -(10**30)]),
        cursor(b"[" * 10_000 + b"]" * 10_000),
        cursor({"a": 1, "b": 2}),
        cursor([True, False]),
        cursor(b"\xff\xfe"),
        cursor([1e400, 1]),
        "====",
        "%%%",
    ],
    ids=["huge", "huge negative", "nested", "object", "booleans", "not utf8", "inf", "pad", "pct"],
)
def test_forged_cursors_are_refused(client, admin, seeded, value):
    response = client.get("/v1/timeline", params={"cursor": value}, headers=admin)

    if response.status_code != 200:
        assert_refused(response, 422)
    assert_store_answers(client, admin, len(seeded))


# -- bodies: not JSON, too deep, too large ------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch"])
@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\xfd",
        b'{"type": "strike\xff"}',
        b'{"type": "\xed\xa0\x80"}',  # an encoded surrogate
        b'{"type": "\\ud800"}',  # an escaped lone surrogate
        '{"type": "strike"}'.encode("utf-16"),
        b"\xef\xbb\xbf{}",  # a byte order mark
        b"",
        b"{",
        b"[" * 10_000 + b"]" * 10_000,
        b'{"events": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b"{}" * 1000,
        b"\x00",
    ],
    ids=lambda body: repr(body[:20]),
)
def test_bodies_that_are_not_json_are_a_400(client, admin, path, body):
    response = client.post(path, content=body, headers=admin)

    assert_refused(response, 400, 422)
    assert_store_answers(client, admin, 0)


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("depth", [100, 10_000])
def test_deeply_nested_changes_are_refused(client, admin, seeded, depth):
    correction = valid_event("correction", corrects_event_id=seeded[1])
    body = json.dumps(correction).encode()
    body = body.replace(
        b'{"summary": "corrected by a later report"}', b'{"summary": ' + nested(depth) + b"}"
    )
    assert nested(depth) in body

    response = client.post("/v1/events", content=body, headers=admin)

    body_ = assert_refused(response, 400, 422)
    if response.status_code == 422:
        assert body_["errors"][0]["loc"][:2] == ["changes", "summary"]
    assert_store_answers(client, admin, len(seeded))


def statement_of(size: int) -> bytes:
    event = valid_event("statement", text="x")
    text = json.dumps(event).encode()
    return text.replace(b'"text": "x"', b'"text": "' + b"x" * size + b'"')


def test_a_two_megabyte_event_is_a_413_at_once(client, admin):
    body = statement_of(2_000_000)
    started = time.monotonic()

    response = client.post("/v1/events", content=body, headers=admin)

    assert time.monotonic() - started < 2
    assert_refused(response, 413)
    assert_store_answers(client, admin, 0)


def test_a_chunked_two_megabyte_event_is_a_413(client, admin):
    body = statement_of(2_000_000)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    response = client.post("/v1/events", content=chunks(), headers=admin)

    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_refused(response, 413)
    assert_store_answers(client, admin, 0)


@pytest.mark.parametrize("declared", [b"10", b"0", b"1000000"])
def test_a_content_length_that_lies_does_not_let_a_large_body_in(client, admin, declared):
    body = statement_of(2_000_000)
    chunks = [body[start : start + 65_536] for start in range(0, len(body), 65_536)]
    headers = [authorization(admin), (b"content-type", b"application/json")]

    answer = raw_request(
        client,
        "POST",
        b"/v1/events",
        headers=[*headers, (b"content-length", declared)],
        chunks=chunks,
    )

    assert answer.status == 413, answer
    assert_raw_not_server_error(answer)
    assert_store_answers(client, admin, 0)


@pytest.mark.parametrize("path", [b"/v1/events", b"/v1/events/batch"])
def test_a_declared_length_over_the_limit_is_a_413_before_the_body(client, admin, path):
    limit = MAX_BODY if path == b"/v1/events" else MAX_BATCH_BODY
    headers = [authorization(admin), (b"content-length", str(limit + 1).encode())]

    answer = raw_request(client, "POST", path, headers=headers, chunks=[b"{"])

    assert answer.status == 413, answer
    assert_raw_not_server_error(answer)
    assert_store_answers(client, admin, 0)


@pytest.mark.parametrize("declared", [b"9" * 5000, b"-1", b"1e3", "\u0661\u0662".encode()])
def test_a_content_length_that_is_not_a_number_is_not_a_500(client, admin, declared):
    """uvicorn's parser refuses such a header itself; the app must not fall over on it."""
    body = json.dumps(valid_event("statement")).encode()
    headers = [authorization(admin), (b"content-length", declared)]

    answer = raw_request(client, "POST", b"/v1/events", headers=headers, chunks=[body])

    assert_raw_not_server_error(answer)


def test_a_batch_body_over_the_batch_limit_is_a_413(client, admin):
    piece = b'{"type": "statement", "conflict": "x", "text": "' + b"x" * 999_950 + b'"},'

    def chunks() -> Iterator[bytes]:
        yield b'{"events": ['
        for _ in range(MAX_BATCH_BODY // len(piece) + 1):
            yield piece
        yield b"{}]}"

    started = time.monotonic()
    response = client.post("/v1/events/batch", content=chunks(), headers=admin)

    assert time.monotonic() - started < 20
    assert_refused(response, 413)
    assert_store_answers(client, admin, 0)


def test_a_batch_of_more_than_the_most_events_is_a_422_on_events(client, admin):
    events = [valid_event("statement") for _ in range(10_001)]

    response = client.post("/v1/events/batch", json={"events": events}, headers=admin)

    body = assert_refused(response, 422)
    assert body["errors"][0]["loc"] == ["events"]
    assert_store_answers(client, admin, 0)


# -- query strings ------------------------------------------------------------------------


def test_very_long_query_strings(client, admin, seeded):
    for params in [
        {"conflict": "a" * 60_000},
        {"actor": "'; DROP TABLE stored_events; --" * 1000},
        {"bbox": ",".join(["1"] * 10_000)},
        {"cursor": "A" * 60_000},
        {"from": "2020-10-17T00:00:00Z" * 1500},
    ]:
        response = client.get("/v1/timeline", params=params, headers=admin)
        assert response.status_code < 500, response.text
        assert problem_failure(response) is None
    for query in [b"conflict=" + b"a" * 2_000_000, b"&".join([b"x=1"] * 50_000)]:
        answer = raw_request(client, "GET", b"/v1/timeline", query, [authorization(admin)])
        assert_raw_not_server_error(answer)
    assert_store_answers(client, admin, len(seeded))


def test_ten_thousand_repeated_type_parameters(client, admin, seeded):
    query = b"&".join([b"type=strike"] * 10_000) + b"&min_position=3"

    answer = raw_request(client, "GET", b"/v1/timeline", query, [authorization(admin)])

    assert answer.status == 200, answer
    assert [item["type"] for item in answer.json()["items"]] == ["strike"]
    assert_store_answers(client, admin, len(seeded))


def test_more_type_parameters_than_sqlite_has_variables_is_not_a_5xx(client, admin, seeded):
    """A read with 260,000 ``type=`` (past SQLite's 250,000 bound variables) is a bad
    request to refuse or a filter to answer, not a store that is down."""
    query = b"&".join([b"type=strike"] * 260_000)

    answer = raw_request(client, "GET", b"/v1/timeline", query, [authorization(admin)])

    assert_raw_not_server_error(answer)
    assert_store_answers(client, admin, len(seeded))


# -- security headers and CORS ------------------------------------------------------------

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
}


@pytest.mark.parametrize(
    ("method", "path", "body", "keyed", "status"),
    [
        ("GET", "/v1/health", None, False, 200),
        ("GET", "/v1/events", None, True, 200),
        ("GET", "/v1/timeline?format=csv", None, True, 200),
        ("GET", "/v1/events", None, False, 401),
        ("GET", "/v1/nowhere", None, True, 404),
        ("PUT", "/v1/events", None, True, 405),
        ("POST", "/v1/events", b"\xff", True, 400),
        ("POST", "/v1/events", b"{}", True, 422),
        ("POST", "/v1/events", b"x" * (MAX_BODY + 1), True, 413),
    ],
)
def test_security_headers_on_v1_answers(client, admin, method, path, body, keyed, status):
    response = client.request(method, path, content=body, headers=admin if keyed else {})

    assert response.status_code == status, response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_security_headers_on_an_unexpected_error(client, admin):
    """A 500 (from a route that fails) is still a problem, with the same headers."""

    def fail() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/v1/test-unexpected-error", fail)

    response = client.get("/v1/test-unexpected-error", headers=admin)

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "a bug" not in response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


ORIGIN = "https://example.org"


def preflight(client: TestClient, origin: str) -> Response:
    response: Response = client.options(
        "/v1/events",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    return response


def test_cors_is_off_by_default(client, admin):
    simple = client.get("/v1/events", headers={**admin, "Origin": ORIGIN})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers

    answer = preflight(client, ORIGIN)
    assert not [name for name in answer.headers if name.startswith("access-control-")]
    assert_refused(answer, 405)


@pytest.fixture
def cors_client(settings: Settings) -> Iterator[TestClient]:
    with_cors = settings.model_copy(update={"cors_origins": f"{ORIGIN}, https://other.example"})
    with TestClient(create_app(with_cors), raise_server_exceptions=False) as test_client:
        yield test_client


def test_cors_echoes_only_a_configured_origin(cors_client):
    store = cors_client.app.state.app.store
    _, token = create_key(store, "cors reader", "reader")
    headers = {"Authorization": f"Bearer {token}"}

    allowed = cors_client.get("/v1/events", headers={**headers, "Origin": ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert preflight(cors_client, ORIGIN).headers["access-control-allow-origin"] == ORIGIN

    for origin in ("https://evil.example", "null", "https://example.org.evil.example"):
        refused = cors_client.get("/v1/events", headers={**headers, "Origin": origin})
        assert refused.status_code == 200
        assert "access-control-allow-origin" not in refused.headers
        assert "access-control-allow-origin" not in preflight(cors_client, origin).headers


# -- keys and logs ------------------------------------------------------------------------


def test_a_revoked_key_is_refused_at_once(client, admin):
    store = client.app.state.app.store
    _, token = create_key(store, "soon revoked", "writer")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/events", headers=headers).status_code == 200

    assert store.revoke_key(key_id(headers), "2026-01-01T00:00:00Z", "local:test")

    assert_refused(client.get("/v1/events", headers=headers), 401)
    assert_refused(client.post("/v1/events", json=valid_event("statement"), headers=headers), 401)
    batch = {"events": [valid_event("statement")]}
    assert_refused(client.post("/v1/events/batch", json=batch, headers=headers), 401)
    assert_refused(client.get("/v1/timeline", headers=headers), 401)
    assert_store_answers(client, admin, 0)


def test_secrets_never_reach_the_logs_or_the_answers(client, admin, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("truceline", "truceline.api", "uvicorn", "uvicorn.error", "uvicorn.access"):
        caplog.set_level(logging.DEBUG, logger=name)
    store = client.app.state.app.store
    _, writer_token = create_key(store, "logged writer", "writer")
    _, reader_token = create_key(store, "logged reader", "reader")
    _, revoked_token = create_key(store, "logged revoked", "writer")
    store.revoke_key(revoked_token.split(".")[1], "2026-01-01T00:00:00Z", "local:test")
    tokens = [writer_token, reader_token, revoked_token]
    wrong_secret = f"tl.{writer_token.split('.')[1]}.wrong-secret-{'s' * 20}"

    answers = []
    for token in [*tokens, wrong_secret]:
        headers = {"Authorization": f"Bearer {token}"}
        answers += [
            client.get("/v1/events", headers=headers),
            client.post("/v1/events", json=valid_event("statement"), headers=headers),
            client.post("/v1/events", content=b"{", headers=headers),
            client.post("/v1/events", json={"type": "strike"}, headers=headers),
            client.get("/v1/events", params={"as_of": "9" * 5000}, headers=headers),
            client.get("/v1/timeline", params={"cursor": cursor([10**30, 1])}, headers=headers),
            client.get("/v1/audit/verify", headers=headers),
        ]
    answers.append(client.get("/v1/events", headers={"Authorization": f"Basic {writer_token}"}))

    assert caplog.records, "nothing was logged: the capture is not working"
    secrets_ = [token.split(".")[2] for token in tokens] + [wrong_secret.split(".")[2]]
    logged = "\n".join(
        [record.getMessage() for record in caplog.records]
        + [caplog.text]
        + [str(record.exc_info) for record in caplog.records if record.exc_info]
    )
    for secret in secrets_:
        assert secret not in logged
        for answer in answers:
            assert secret not in answer.text
            assert secret not in str(answer.headers)
