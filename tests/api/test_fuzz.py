"""Schemathesis against the service's own OpenAPI document, on both stores.

Every operation of ``/openapi.json`` is fuzzed with an admin key, with inputs that fit the
document (positive) and inputs that break it (negative), over a store seeded with a
ceasefire and a few incidents. Every answer must be:

* never a 5xx: a 503 is allowed only for a ``min_position`` the read models have not
  reached, which the contract answers with a 503 (and ``Retry-After``) after its timeout;
* an error as ``application/problem+json`` with the contract's keys and statuses;
* a success as the OpenAPI document says: a documented status, content type and schema
  (the timeline's CSV and GeoJSON are not in the document: only their media type is checked).

After the fuzzing, the read models must catch up with the log and the audit must pass: a
fuzzed event the follower cannot project would stop them there.

``test_the_schema_documents_the_problem_answers`` checks that the document describes
every error answer as ``application/problem+json`` (FastAPI's default, an
``HTTPValidationError`` in ``application/json``, is never sent by this service).

schemathesis's own pytest integration (``schemathesis.pytest.from_fixture``) fails on
pytest 9 (``'Function' object has no attribute '_nodeid'``), so the cases come from each
operation's hypothesis strategy instead, and reach the app in-process through
schemathesis's ASGI session, leaving the app's lifespan to the TestClient.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import BaseSchema, Case, CheckContext, CheckFunction, GenerationMode, Response
from schemathesis.core.result import Ok
from schemathesis.python.asgi import ASGIClient, get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from truceline.api import create_app
from truceline.application.keys import create_key
from truceline.settings import Settings

PROBLEM_JSON = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail"}
# Every status the contract gives for a refused request.
CONTRACT_ERRORS = {400, 401, 403, 404, 405, 409, 413, 422}
EXAMPLES_PER_OPERATION = 25

CONFLICT = "nagorno-karabakh-2020"
CEASEFIRE = "moscow-2020-10-10"
SEED: list[dict[str, Any]] = [
    {
        "type": "ceasefire_agreed",
        "conflict": CONFLICT,
        "occurred_at": "2020-10-10T01:00:00+03:00",
        "ceasefire_id": CEASEFIRE,
        "parties": ["Armenia", "Azerbaijan"],
        "mediators": ["Russia"],
        "effective_at": "2020-10-10T12:00:00+04:00",
    },
    {
        "type": "strike",
        "conflict": CONFLICT,
        "occurred_at": "2020-10-11T02:00:00Z",
        "perpetrator": "Azerbaijan",
        "location": {"name": "Stepanakert", "country": "AZ", "lat": 39.82, "lon": 46.75},
        "killed": 2,
    },
    {
        "type": "ceasefire_breached",
        "conflict": CONFLICT,
        "occurred_at": "2020-10-12T08:00:00Z",
        "time_precision": "day",
        "ceasefire_id": CEASEFIRE,
        "accused": "Armenia",
    },
    {
        "type": "statement",
        "conflict": CONFLICT,
        "occurred_at": "2020-10-13T10:00:00Z",
        "speaker": "Ministry of Defence",
        "text": "The front line is calm.",
    },
]

# Every operation of the document, each fuzzed (a new one must be added here).
OPERATIONS = [
    "POST /v1/events",
    "POST /v1/events/batch",
    "GET /v1/events",
    "GET /v1/events/{event_id}",
    "GET /v1/timeline",
    "GET /v1/ceasefires",
    "GET /v1/ceasefires/{ceasefire_id}",
    "GET /v1/conflicts",
    "GET /v1/conflicts/{conflict}/status",
    "GET /v1/audit/verify",
    "GET /v1/audit/checkpoint",
    "GET /v1/audit/public-key",
    "GET /v1/audit/proof/inclusion",
    "GET /v1/audit/proof/consistency",
    "GET /v1/audit/keys",
    "GET /v1/health",
]
# A stream that starts never ends, and an in-process session waits for the end of an
# answer: its refusals are tested over a socket in test_stream.py instead.
NOT_FUZZED = {"GET /v1/stream"}
# Operations without parameters or a body: nothing of theirs can break the document.
NO_INPUT = {
    "GET /v1/audit/verify",
    "GET /v1/audit/checkpoint",
    "GET /v1/audit/public-key",
    "GET /v1/audit/keys",
    "GET /v1/health",
}


class Fuzzed:
    """An app on a fresh SQLite store with a seeded log, an admin key, and a session that
    reaches the app in-process."""

    def __init__(self, app: FastAPI, client: TestClient, headers: dict[str, str]):
        self.app = app
        self.client = client
        self.headers = headers
        # schemathesis.openapi.from_asgi would start the app's lifespan in schemathesis's
        # own event loop and keep it to the end of the process; fetch the document through
        # the TestClient instead, and call the app through a session that does not enter.
        self.session: ASGIClient = get_client(app)  # type: ignore[arg-type]
        self.schema: BaseSchema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        self.schema.app = app
        self.schema.location = "/openapi.json"


@pytest.fixture
def fuzzed(database_url: str, tmp_path: Path) -> Iterator[Fuzzed]:
    app_settings = Settings(
        database_url=database_url,
        read_model_path=str(tmp_path / "fuzz-read-model.db"),
        # A min_position past the log waits this long, then answers 503.
        read_wait_seconds=0.05,
    )
    app = create_app(app_settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        _, token = create_key(app.state.app.store, "fuzz admin", "admin")
        headers = {"Authorization": f"Bearer {token}"}
        seeded = client.post("/v1/events/batch", json={"events": SEED}, headers=headers)
        assert seeded.status_code == 201, seeded.text
        yield Fuzzed(app, client, headers)


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _header(response: Response, name: str) -> str:
    values = response.headers.get(name.lower(), [])
    return values[0] if values else ""


def _where(case: Case[Any], response: Response) -> str:
    return f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}"


def no_server_error(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Never a 5xx, but for the read-your-writes timeout the contract documents."""
    if response.status_code < 500:
        return None
    body = _json(response)
    waited = (
        response.status_code == 503
        and "min_position" in (case.query or {})
        and isinstance(body, dict)
        and body.get("type") == "urn:truceline:problem:not-caught-up"
        and _header(response, "retry-after") == "1"
    )
    assert waited, f"{_where(case, response)}: {response.text[:500]}"
    return None


def errors_are_problems(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every error is an RFC 9457 problem with the contract's keys and statuses."""
    status = response.status_code
    if status < 400:
        return None
    where = _where(case, response)
    assert _header(response, "content-type") == PROBLEM_JSON, where
    body = _json(response)
    assert isinstance(body, dict), f"{where}: {response.text[:500]}"
    assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"}, f"{where}: {body}"
    assert body["status"] == status, f"{where}: {body}"
    assert isinstance(body["detail"], str), f"{where}: {body}"
    assert body["detail"], f"{where}: {body}"
    assert status in CONTRACT_ERRORS or status == 503, f"{where}: not a contract status"
    if status == 422:
        errors = body.get("errors")
        assert isinstance(errors, list), f"{where}: {body}"
        assert errors, f"{where}: {body}"
        for error in errors:
            assert set(error) == {"loc", "msg"}, f"{where}: {error}"
            assert isinstance(error["loc"], list), f"{where}: {error}"
            assert isinstance(error["msg"], str), f"{where}: {error}"
            assert error["msg"], f"{where}: {error}"
    return None


def successes_conform(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A success is what the document says: status, content type, schema."""
    if response.status_code >= 400:
        return None
    status_code_conformance(ctx, response, case)
    media = _header(response, "content-type").split(";")[0]
    if media == "application/json":
        content_type_conformance(ctx, response, case)
        response_schema_conformance(ctx, response, case)
    else:
        # The timeline's CSV and GeoJSON (by `format` or `Accept`) are not in the document.
        where = _where(case, response)
        assert case.path == "/v1/timeline", f"{where}: {media}"
        assert media in ("text/csv", "application/geo+json"), f"{where}: {media}"
    return None


CHECKS: list[CheckFunction] = [no_server_error, errors_are_problems, successes_conform]


def _plausible(event: Any, number: int) -> Any:
    """A generated envelope with what the document cannot say made valid (times, the
    conflict, a country code, no client event id), so that many are stored and then
    projected, odd names and all."""
    if not isinstance(event, dict):
        return event
    fixed = {key: value for key, value in event.items() if key not in ("event_id", "timezone")}
    fixed["conflict"] = CONFLICT
    for name, moment in (
        ("occurred_at", f"2020-10-{10 + number % 10:02d}T0{number % 10}:30:00Z"),
        ("effective_at", "2020-10-20T00:00:00+04:00"),
        ("ends_at", "2020-11-20T00:00:00Z"),
    ):
        if name in fixed:
            fixed[name] = moment
    if isinstance(fixed.get("location"), dict):
        fixed["location"] = {k: v for k, v in fixed["location"].items() if k != "country"}
    if isinstance(fixed.get("sources"), list):
        fixed["sources"] = [
            {**source, "published_at": "2020-10-17T00:00:00Z"}
            if isinstance(source, dict) and "published_at" in source
            else source
            for source in fixed["sources"]
        ]
    return fixed


def _made_plausible(case: Case[Any]) -> Case[Any]:
    if case.path == "/v1/events":
        case.body = _plausible(case.body, len(str(case.body)))
    elif isinstance(case.body, dict):
        events = case.body.get("events")
        if isinstance(events, list):
            case.body = {**case.body, "events": [_plausible(e, i) for i, e in enumerate(events)]}
    return case


def _cases(fuzzed: Fuzzed, label: str, mode: GenerationMode) -> st.SearchStrategy[Case[Any]]:
    operation = fuzzed.schema.find_operation_by_label(label)
    assert operation is not None, label
    strategy = operation.as_strategy(mode)
    if mode is GenerationMode.POSITIVE and label.startswith("POST"):
        # Half as generated (almost all refused), half made plausible (many stored).
        return st.one_of(strategy, strategy.map(_made_plausible))
    return strategy


def _caught_up(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        health: dict[str, Any] = client.get("/v1/health").json()
        if health["projection_position"] == health["log_position"]:
            return health
        assert time.monotonic() < deadline, f"the read models stopped: {health}"
        time.sleep(0.02)


def test_every_operation_of_the_schema_is_fuzzed(fuzzed: Fuzzed) -> None:
    results = list(fuzzed.schema.get_all_operations())
    labels = {result.ok().label for result in results if isinstance(result, Ok)}

    assert len(labels) == len(results), "the document has operations schemathesis cannot read"

    assert labels == set(OPERATIONS) | NOT_FUZZED


@pytest.mark.parametrize(
    ("label", "mode"),
    [
        (label, mode)
        for label in OPERATIONS
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        # An operation with no parameters and no body has no input to break.
        if not (mode is GenerationMode.NEGATIVE and label in NO_INPUT)
    ],
)
def test_every_operation_survives_fuzzing(fuzzed: Fuzzed, label: str, mode: GenerationMode) -> None:
    answered: list[int] = []

    @given(case=_cases(fuzzed, label, mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Case[Any]) -> None:
        response = case.call_and_validate(
            session=fuzzed.session, headers=fuzzed.headers, checks=CHECKS
        )
        answered.append(response.status_code)

    fuzz()

    assert answered
    _caught_up(fuzzed.client, fuzzed.headers)
    verify = fuzzed.client.get("/v1/audit/verify", headers=fuzzed.headers)
    assert verify.status_code == 200, verify.text
    assert verify.json()["ok"], verify.json()
    assert verify.json()["events_checked"] >= len(SEED)


def test_fuzzed_appends_are_stored_and_projected(fuzzed: Fuzzed) -> None:
    """The plausible POST cases do reach the log (the fuzzing is not all refusals)."""
    stored: list[str] = []

    @given(case=_cases(fuzzed, "POST /v1/events", GenerationMode.POSITIVE))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Case[Any]) -> None:
        response = case.call_and_validate(
            session=fuzzed.session, headers=fuzzed.headers, checks=CHECKS
        )
        if response.status_code == 201:
            stored.append(response.json()["event_id"])

    fuzz()

    assert stored, "no fuzzed event was stored: the generation is too far from valid"
    health = _caught_up(fuzzed.client, fuzzed.headers)
    assert health["log_position"] == len(SEED) + len(stored)
    for event_id in stored:
        entry = fuzzed.client.get(f"/v1/events/{event_id}", headers=fuzzed.headers)
        assert entry.status_code == 200, entry.text
        assert uuid.UUID(entry.json()["event"]["event_id"]) == uuid.UUID(event_id)


def _problem_schema_of(schema: dict[str, Any], path: str, method: str, status: str) -> Any:
    responses = schema["paths"][path][method]["responses"]
    return responses.get(status, {}).get("content", {}).get(PROBLEM_JSON)


def test_the_schema_documents_the_problem_answers(fuzzed: Fuzzed) -> None:
    document = fuzzed.client.get("/openapi.json").json()
    missing = [
        f"{method.upper()} {path} {status}"
        for path, method, statuses in [
            ("/v1/events", "post", ("400", "401", "403", "409", "413", "422")),
            ("/v1/events/batch", "post", ("400", "401", "403", "409", "413", "422")),
            ("/v1/events", "get", ("401", "403", "422")),
            ("/v1/events/{event_id}", "get", ("401", "404", "422")),
            ("/v1/timeline", "get", ("401", "404", "422", "503")),
            ("/v1/ceasefires", "get", ("401", "404", "422", "503")),
            ("/v1/ceasefires/{ceasefire_id}", "get", ("401", "404", "422", "503")),
            ("/v1/conflicts", "get", ("401", "422", "503")),
            ("/v1/conflicts/{conflict}/status", "get", ("401", "404", "422", "503")),
            ("/v1/stream", "get", ("401", "404", "422", "429", "503")),
            ("/v1/audit/verify", "get", ("401", "403")),
        ]
        for status in statuses
        if _problem_schema_of(document, path, method, status) is None
    ]

    assert missing == []
