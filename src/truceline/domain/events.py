"""The event catalogue: the envelope a client appends, one pydantic model per type.

The models validate shape and format (what a field may hold). They do not know the log:
whether a referenced event or ceasefire exists is checked by the application layer with
:mod:`truceline.domain.references`. Models are frozen: an event, once accepted, never
changes; a correction or retraction is a new event.

``SCHEMA_VERSION`` is stored with every event so a later change of these models can
upcast old events instead of rewriting the log.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, ClassVar, Literal

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

SCHEMA_VERSION = 1


# The form nearly every client sends, checked by one regular expression: parsing with
# uuid.UUID and printing it back was a quarter of parse_event (11 of 39 µs an event).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical_uuid(value: str) -> str:
    if _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        parsed = uuid.UUID(value)
    except ValueError as error:
        raise ValueError("must be a UUID such as '3f2c8a9e-1d4b-4c7a-9f0e-2b6d5a8c1e47'") from error
    if str(parsed) != value.lower():
        raise ValueError("must be a UUID in its hyphenated form, 8-4-4-4-12 hex digits")
    return str(parsed)


def _country_code(value: str) -> str:
    if pycountry.countries.get(alpha_2=value) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code such as 'AZ'")
    return value


Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,64}$")]
UUIDText = Annotated[str, AfterValidator(_canonical_uuid)]
# Actors, speakers and place names: plain names, compared exactly.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Count = Annotated[int, Field(ge=0)]
TimeText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Precision = Literal["exact", "minute", "hour", "day", "week", "month", "approximate"]


class _Strict(BaseModel):
    # strict: "12" is not a count and true is not a number; extra="forbid": unknown
    # fields are refused, so a typo never silently drops a fact.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Location(_Strict):
    name: Name
    admin1: Name | None = None
    country: Annotated[str, AfterValidator(_country_code)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None


class Source(_Strict):
    name: Name
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)] | None = None
    published_at: TimeText | None = None


FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,64}$")]
FieldText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


class External(_Strict):
    """Where an event came from outside Truceline: the dataset (``acled``), its own id
    for the event, and its fields that have no place in the envelope, kept so that an
    export in that dataset's layout writes them back."""

    source: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,32}$")]
    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    fields: Annotated[dict[FieldName, FieldText], Field(max_length=100)] | None = None


class Envelope(_Strict):
    """Fields every event has. ``type`` is fixed by each subclass."""

    type: str
    event_id: UUIDText | None = None
    conflict: Slug
    occurred_at: TimeText
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    time_precision: Precision = "exact"
    location: Location | None = None
    sources: Annotated[list[Source], Field(max_length=100)] | None = None
    summary: Annotated[str, StringConstraints(max_length=2000)] | None = None
    external: External | None = None

    # Fields holding times (besides sources[].published_at), normalised to UTC on storage.
    time_fields: ClassVar[tuple[str, ...]] = ("occurred_at",)
    # Fields naming another event of the log, and the types that event may have.
    event_references: ClassVar[dict[str, tuple[str, ...] | None]] = {}


class _Casualties(_Strict):
    killed: Count | None = None
    wounded: Count | None = None
    killed_low: Count | None = None
    killed_high: Count | None = None
    wounded_low: Count | None = None
    wounded_high: Count | None = None


class Strike(Envelope, _Casualties):
    type: Literal["strike"]
    perpetrator: Name | None = None
    target: Name | None = None
    weapon: Name | None = None


class Shelling(Envelope, _Casualties):
    type: Literal["shelling"]
    perpetrator: Name | None = None
    target: Name | None = None
    weapon: Name | None = None


class Clash(Envelope, _Casualties):
    type: Literal["clash"]
    parties: Annotated[list[Name], Field(min_length=2, max_length=50)]
    initiator: Name | None = None


class CeasefireAgreed(Envelope):
    type: Literal["ceasefire_agreed"]
    ceasefire_id: Slug
    parties: Annotated[list[Name], Field(min_length=1, max_length=50)]
    mediators: Annotated[list[Name], Field(max_length=50)] | None = None
    effective_at: TimeText
    ends_at: TimeText | None = None
    terms: LongText | None = None

    time_fields: ClassVar[tuple[str, ...]] = ("occurred_at", "effective_at", "ends_at")


INCIDENT_TYPES = ("strike", "shelling", "clash")
# Every type that records something observed or said (all but correction and retraction).
OBSERVED_TYPES = (
    *INCIDENT_TYPES,
    "ceasefire_agreed",
    "ceasefire_breached",
    "ceasefire_ended",
    "casualty_report",
    "displacement",
    "statement",
)


class CeasefireBreached(Envelope):
    type: Literal["ceasefire_breached"]
    ceasefire_id: Slug
    accused: Name
    reported_by: Name | None = None
    incident_event_id: UUIDText | None = None

    event_references: ClassVar[dict[str, tuple[str, ...] | None]] = {
        "incident_event_id": INCIDENT_TYPES
    }


class CeasefireEnded(Envelope):
    type: Literal["ceasefire_ended"]
    ceasefire_id: Slug
    reason: Literal["collapsed", "terminated"]


class CasualtyReport(Envelope):
    type: Literal["casualty_report"]
    killed: Count | None = None
    wounded: Count | None = None
    party: Name | None = None
    about_event_id: UUIDText | None = None

    event_references: ClassVar[dict[str, tuple[str, ...] | None]] = {"about_event_id": None}


class Displacement(Envelope):
    type: Literal["displacement"]
    displaced: Count
    population: Count | None = None


class Statement(Envelope):
    type: Literal["statement"]
    speaker: Name
    text: LongText


class Correction(Envelope):
    type: Literal["correction"]
    corrects_event_id: UUIDText
    changes: Annotated[dict[str, Any], Field(min_length=1)]

    # A correction corrects an observed event: not another correction, not a retraction
    # (retract the correction instead, then correct anew).
    event_references: ClassVar[dict[str, tuple[str, ...] | None]] = {
        "corrects_event_id": OBSERVED_TYPES
    }


class Retraction(Envelope):
    type: Literal["retraction"]
    retracts_event_id: UUIDText
    reason: ShortText

    # "A retraction of a retraction: 422" (the contract).
    event_references: ClassVar[dict[str, tuple[str, ...] | None]] = {
        "retracts_event_id": (*OBSERVED_TYPES, "correction")
    }


Event = (
    Strike
    | Shelling
    | Clash
    | CeasefireAgreed
    | CeasefireBreached
    | CeasefireEnded
    | CasualtyReport
    | Displacement
    | Statement
    | Correction
    | Retraction
)

EVENT_TYPES: dict[str, type[Envelope]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        Strike,
        Shelling,
        Clash,
        CeasefireAgreed,
        CeasefireBreached,
        CeasefireEnded,
        CasualtyReport,
        Displacement,
        Statement,
        Correction,
        Retraction,
    )
}

# Fields a correction may never change: they are the event's identity.
IDENTITY_FIELDS = frozenset({"type", "event_id", "conflict"})
