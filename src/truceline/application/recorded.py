"""The domain event the log stores, as an eventsourcing event.

Every conflict event, whatever its type, is stored as one :class:`EventRecorded` whose
``envelope`` is the normalised event (:mod:`truceline.domain.validation`). Its
``originator_id`` is the event's ``event_id`` and its ``originator_version`` is always 1:
the store's primary key on (originator_id, originator_version) is what makes an
``event_id`` impossible to store twice, even when two processes race.

``class_version`` is the schema version: when the envelope's shape changes, raise it and
add ``upcast_v1_v2(state)`` here; eventsourcing's mapper applies it to old events as
they are read, so the log itself is never rewritten.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Mapper, StoredEvent

from truceline.application.transcoder import OrjsonTranscoder
from truceline.domain.events import SCHEMA_VERSION


@dataclass(frozen=True)
class EventRecorded(DomainEvent):
    """A conflict event accepted into the log."""

    class_version = SCHEMA_VERSION
    envelope: dict[str, Any]


def to_stored_event(mapper: Mapper[uuid.UUID], envelope: dict[str, Any]) -> StoredEvent:
    """Map a normalised event (with its ``event_id``) to what the recorder stores."""
    event = EventRecorded(
        originator_id=uuid.UUID(envelope["event_id"]),
        originator_version=1,
        timestamp=datetime.now(UTC),
        envelope=envelope,
    )
    return mapper.to_stored_event(event)


def envelope_of(
    mapper: Mapper[uuid.UUID], stored_event: StoredEvent, tolerant: bool = False
) -> dict[str, Any]:
    """The normalised event inside a stored event, upcast to the current schema.

    ``tolerant`` (for audits) gives an empty event for bytes that no longer decode, so
    that the hash chain, not an exception, reports where the log was damaged.
    """
    if tolerant:
        try:
            return envelope_of(mapper, stored_event)
        except Exception:
            return {}
    event = mapper.to_domain_event(stored_event)
    assert isinstance(event, EventRecorded), type(event)
    return event.envelope


def offline_mapper() -> Mapper[uuid.UUID]:
    """The mapper the application uses (:class:`OrjsonTranscoder`), for reading stored
    bytes with no store open: the standalone verifier's."""
    return Mapper(transcoder=OrjsonTranscoder())


def decode_stored(
    mapper: Mapper[uuid.UUID], event_id: str, topic: str, state: bytes
) -> dict[str, Any]:
    """The event that stored bytes decode to (``{}`` if they do not)."""
    try:
        originator_id = uuid.UUID(event_id)
    except ValueError:
        return {}
    stored = StoredEvent(
        originator_id=originator_id, originator_version=1, topic=topic, state=state
    )
    return envelope_of(mapper, stored, tolerant=True)
