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
