"""Reference rules: what an event may name, given what the log already holds.

Pure functions over a :class:`Known` view of the log, so the same rules serve a single
append, a batch whose events name each other, and an import of a whole file.
"""

from __future__ import annotations

from typing import Protocol

from truceline.domain.errors import ErrorDetail, Invalid
from truceline.domain.events import EVENT_TYPES
from truceline.domain.validation import NormalizedEvent, apply_correction


class Known(Protocol):
    """What the log (plus the events before this one in the same request) holds."""

    def event(self, event_id: str) -> NormalizedEvent | None:
        """The stored normalised event with that id, or None."""

    def corrected(self, event_id: str) -> NormalizedEvent | None:
        """That event as corrected so far (unretracted corrections applied in log
        order), or None."""

    def ceasefire_agreed(self, conflict: str, ceasefire_id: str) -> bool:
        """Whether a ``ceasefire_agreed`` with that id exists in that conflict."""

    def ceasefire_ended(self, conflict: str, ceasefire_id: str) -> bool:
        """Whether a ``ceasefire_ended`` for that ceasefire exists."""


def check_references(event: NormalizedEvent, known: Known) -> NormalizedEvent:
    """Raise :class:`Invalid` if ``event`` names what does not exist or may not be named.

    Returns the event to store: for a correction, its ``changes`` normalised against the
    event it corrects.
    """
    errors = _ceasefire_id_errors(event, known)
    errors += _event_reference_errors(event, EVENT_TYPES[event["type"]].event_references, known)
    if event["type"] == "correction" and not errors:
        event = _checked_correction(event, known)
    if errors:
        raise Invalid(errors)
    return event


def _ceasefire_id_errors(event: NormalizedEvent, known: Known) -> list[ErrorDetail]:
    if "ceasefire_id" not in event:
        return []
    kind, conflict, ceasefire_id = event["type"], event["conflict"], event["ceasefire_id"]
    exists = known.ceasefire_agreed(conflict, ceasefire_id)
    if kind == "ceasefire_agreed" and exists:
        msg = (
            f"ceasefire {ceasefire_id!r} already exists in {conflict!r}: "
            "ceasefire ids are unique in their conflict"
        )
    elif kind != "ceasefire_agreed" and not exists:
        msg = f"no ceasefire {ceasefire_id!r} has been agreed in {conflict!r}"
    elif kind == "ceasefire_ended" and known.ceasefire_ended(conflict, ceasefire_id):
        msg = f"ceasefire {ceasefire_id!r} has already been ended: retract that end first"
    else:
        return []
    return [{"loc": ["ceasefire_id"], "msg": msg}]


def _checked_correction(event: NormalizedEvent, known: Known) -> NormalizedEvent:
    """The correction with its ``changes`` normalised; :class:`Invalid` if applying them
    leaves no valid event, or re-points a reference at what may not be named."""
    # Corrections build on each other: checked against the event as corrected so far.
    target = known.corrected(event["corrects_event_id"])
    assert target is not None  # the reference was checked before
    merged, changes = apply_correction(target, event["changes"])
    # A correction may re-point a reference: the new target must exist too.
    changed_refs = {
        field: types
        for field, types in EVENT_TYPES[target["type"]].event_references.items()
        if field in changes and field in merged
    }
    errors: list[ErrorDetail] = [
        {"loc": ["changes", *e["loc"]], "msg": e["msg"]}
        for e in _event_reference_errors(merged, changed_refs, known)
    ]
    if errors:
        raise Invalid(errors)
    return {**event, "changes": changes}


def _event_reference_errors(
    event: NormalizedEvent, references: dict[str, tuple[str, ...] | None], known: Known
) -> list[ErrorDetail]:
    errors: list[ErrorDetail] = []
    for field, allowed_types in references.items():
        if field not in event:
            continue
        target = known.event(event[field])
        if target is None:
            errors.append({"loc": [field], "msg": f"no event {event[field]} in the log"})
        elif target["conflict"] != event["conflict"]:
            errors.append(
                {
                    "loc": [field],
                    "msg": (
                        f"event {event[field]} belongs to conflict {target['conflict']!r}, "
                        f"not {event['conflict']!r}"
                    ),
                }
            )
        elif allowed_types is not None and target["type"] not in allowed_types:
            errors.append(
                {
                    "loc": [field],
                    "msg": (
                        f"event {event[field]} is a {target['type']}; {field} must name a "
                        f"{' or '.join(allowed_types)}"
                    ),
                }
            )
    return errors
