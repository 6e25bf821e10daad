"""Response models and request-body schemas: what the OpenAPI document says.

Request bodies are parsed by :mod:`truceline.api.body` and validated by the domain's own
models (so error locations carry no framework prefix); here they are only described, by
the JSON Schema of those same models.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from truceline.domain.events import Event


class Receipt(BaseModel):
    event_id: str
    position: int
    recorded_at: str


class BatchReceipt(BaseModel):
    results: list[Receipt]


class LogEntry(BaseModel):
    position: int
    recorded_at: str
    recorded_by: str
    hash: str
    event: dict[str, Any]


class LogEntryWithHistory(LogEntry):
    history: list[LogEntry]


class LogPage(BaseModel):
    events: list[LogEntry]
    next_after: int | None


class VerifyReport(BaseModel):
    ok: bool
    events_checked: int
    first_bad_position: int | None
    projections_consistent: bool
    tree_consistent: bool = Field(description="the stored Merkle tree is the entries' tree")
    key_log_consistent: bool = Field(
        description="the keys' access log chains and accounts for every key"
    )


class SignedCheckpoint(BaseModel):
    log: str = Field(description="events (the log), or keys (the keys' access log)")
    tree_size: int
    root_hash: str = Field(description="RFC 9162 root of the first tree_size entries, hex")
    timestamp: str
    key_id: str = Field(description="first 8 bytes of SHA-256 of the raw public key, hex")
    algorithm: str
    signature: str = Field(description="Ed25519 over the documented lines, hex")


class PublicKey(BaseModel):
    algorithm: str
    key_id: str
    public_key: str = Field(description="the raw 32-byte Ed25519 public key, hex")
    pem: str = Field(description="the same key as SubjectPublicKeyInfo PEM")


class InclusionProof(BaseModel):
    position: int
    tree_size: int
    leaf_hash: str
    path: list[str]
    root_hash: str


class ConsistencyProof(BaseModel):
    first: int
    second: int
    path: list[str]
    first_root_hash: str
    second_root_hash: str


class KeyRecordOut(BaseModel):
    seq: int
    at: str
    action: str
    key_id: str
    name: str
    role: str
    secret_hash: str
    actor: str
    hash: str


class KeyLog(BaseModel):
    items: list[KeyRecordOut]
    tree_size: int
    root_hash: str
    checkpoint: SignedCheckpoint | None


class Health(BaseModel):
    status: str
    log_position: int
    projection_position: int


_EVENT_SCHEMA = TypeAdapter(Annotated[Event, Field(discriminator="type")]).json_schema(
    ref_template="#/components/schemas/{model}"
)
# The catalogue's models, to be merged into the OpenAPI document's components.
EVENT_COMPONENTS: dict[str, Any] = _EVENT_SCHEMA.pop("$defs")
EVENT_COMPONENTS["Event"] = _EVENT_SCHEMA

EVENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
    }
}
BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["events"],
                    "additionalProperties": False,
                    "properties": {
                        "events": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 10_000,
                            "items": {"$ref": "#/components/schemas/Event"},
                        }
                    },
                }
            }
        },
    }
}


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
_WHY = {
    "400": "the body is not UTF-8 JSON",
    "401": "no key, or an unknown or revoked one",
    "403": "the key's role is too weak",
    "404": "no such thing",
    "409": "event_id used with other content",
    "413": "the body is too large",
    "429": "too many at once for this key: retry after Retry-After seconds",
    "422": "invalid input, the field named",
    "503": "the store is unavailable, or the read models have not caught up; retry",
}


def _statuses(path: str, method: str) -> list[str]:
    if path == "/v1/health":
        return []
    statuses = ["401", "403", "422", "503"]
    if method == "post":
        statuses += ["400", "409", "413"]
    if path.endswith(("{event_id}", "{ceasefire_id}")) or path in _NAMING_A_CONFLICT:
        statuses.append("404")
    if path == "/v1/stream":
        statuses.append("429")
    return sorted(statuses)


# Reads whose `conflict` must name one with an event in the log (else 404).
_NAMING_A_CONFLICT = {
    "/v1/timeline",
    "/v1/ceasefires",
    "/v1/conflicts/{conflict}/status",
    "/v1/stream",
}


def document_problems(schema: dict[str, Any]) -> None:
    """Describe every error answer as what it is: problem+json (RFC 9457), and the bearer
    key, instead of FastAPI's default 422 body, which this service never sends."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method):
                # A route's own description of an error says more than the generic one.
                why = responses.get(status, {}).get("description", _WHY[status])
                responses[status] = {"description": why, "content": problem}
            if path != "/v1/health":
                operation["security"] = [{"bearer": []}]
