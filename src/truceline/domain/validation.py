"""From what a client posted to a normalised event, or an :class:`Invalid` naming the field.

The normalised event is what the log stores: a plain JSON object whose times are UTC with
``Z``, whose defaults are spelled out (so a retry that omits ``time_precision`` equals one
that sends ``"exact"``), and which keeps the original wall times in ``local_times``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from truceline.domain.errors import ErrorDetail, Invalid, Loc, invalid
from truceline.domain.events import EVENT_TYPES, IDENTITY_FIELDS, Envelope
from truceline.domain.times import TimeError, format_utc, format_wall, parse_time, zone

NormalizedEvent = dict[str, Any]

_SECONDS_OFFSET = re.compile(r"[+-]\d{2}:\d{2}:\d{2}$")

_CASUALTY_RANGES = (
    ("killed_low", "killed", "killed_high"),
    ("wounded_low", "wounded", "wounded_high"),
)


def parse_event(data: object) -> NormalizedEvent:
    """Validate one posted envelope and return it normalised; raise :class:`Invalid`."""
    if not isinstance(data, dict):
        raise invalid([], "an event must be a JSON object")
    kind = data.get("type")
    if kind is None:
        raise invalid(["type"], "Field required")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise invalid(
            ["type"], f"unknown event type {kind!r}: one of {', '.join(sorted(EVENT_TYPES))}"
        )
    model = EVENT_TYPES[kind]
    try:
        event = model.model_validate(data)
    except ValidationError as error:
        raise Invalid([_detail(e) for e in error.errors(include_url=False)]) from None
    return _normalize(event)


def _detail(error: Any) -> ErrorDetail:
    return {"loc": list(error["loc"]), "msg": error["msg"]}


def _normalize(event: Envelope) -> NormalizedEvent:
    errors: list[ErrorDetail] = []
    if event.timezone is not None:
        try:
            zone(event.timezone)
        except TimeError as error:
            raise invalid(["timezone"], str(error)) from None

    out: NormalizedEvent = event.model_dump(exclude_none=True)
    local_times: dict[str, str] = {}
    for name in event.time_fields:
        value = getattr(event, name)
        if value is None:
            continue
        try:
            parsed = parse_time(value, event.timezone)
        except TimeError as error:
            errors.append({"loc": [name], "msg": str(error)})
            continue
        out[name] = format_utc(parsed.utc)
        # Keep the wall time whenever it says more than UTC does, and always for an event
        # with a zone, so that an export re-imports as exactly the same event.
        if parsed.wall.utcoffset() or event.timezone is not None:
            local_times[name] = format_wall(parsed.wall)
    for index, source in enumerate(event.sources or ()):
        if source.published_at is None:
            continue
        try:
            published = parse_time(source.published_at, event.timezone)
        except TimeError as error:
            errors.append({"loc": ["sources", index, "published_at"], "msg": str(error)})
            continue
        out["sources"][index]["published_at"] = format_utc(published.utc)
    errors.extend(_range_errors(out))
    if out["type"] == "clash" and "initiator" in out and out["initiator"] not in out["parties"]:
        errors.append({"loc": ["initiator"], "msg": "the initiator must be one of the parties"})
    if errors:
        raise Invalid(errors)
    if local_times:
        out["local_times"] = local_times
    return out


def _range_errors(event: NormalizedEvent) -> list[ErrorDetail]:
    errors: list[ErrorDetail] = []
    for low_name, best_name, high_name in _CASUALTY_RANGES:
        low, best, high = event.get(low_name), event.get(best_name), event.get(high_name)
        if low is not None and high is not None and low > high:
            errors.append({"loc": [low_name], "msg": f"{low_name} must be <= {high_name}"})
        if best is not None and low is not None and low > best:
            errors.append({"loc": [low_name], "msg": f"{low_name} must be <= {best_name}"})
        if best is not None and high is not None and best > high:
            errors.append({"loc": [high_name], "msg": f"{high_name} must be >= {best_name}"})
    return errors


def apply_correction(
    target: NormalizedEvent, changes: dict[str, Any]
) -> tuple[NormalizedEvent, dict[str, Any]]:
    """The target with ``changes`` applied, validated as its own type, and the changes
    normalised (times in UTC). Errors are located under ``["changes", field]``.

    A change to ``null`` clears an optional field. ``ceasefire_id`` is refused like the
    identity fields: renaming a ceasefire would orphan every report that names it.
    """
    model = EVENT_TYPES[target["type"]]
    errors: list[ErrorDetail] = []
    for key in changes:
        if key in IDENTITY_FIELDS or key == "ceasefire_id":
            errors.append({"loc": ["changes", key], "msg": f"a correction cannot change {key!r}"})
        elif key not in model.model_fields:
            errors.append(
                {"loc": ["changes", key], "msg": f"a {target['type']} event has no field {key!r}"}
            )
    if errors:
        raise Invalid(errors)
    merged_input = {k: v for k, v in target.items() if k != "local_times"}
    for key, value in changes.items():
        if value is None:
            merged_input.pop(key, None)
        else:
            merged_input[key] = value
    try:
        merged = parse_event(merged_input)
    except Invalid as error:
        raise Invalid([_under_changes(e["loc"], changes, e["msg"]) for e in error.errors]) from None
    normalized = {key: merged.get(key) for key in changes}
    return merged, normalized


def _under_changes(loc: Loc, changes: dict[str, Any], msg: str) -> ErrorDetail:
    return {
        "loc": ["changes", *loc],
        "msg": msg if not loc or loc[0] in changes else f"{msg} (after applying the changes)",
    }


def as_posted(stored: NormalizedEvent) -> dict[str, Any]:
    """A stored event turned back into an envelope a client could post: the original
    wall times (with their offsets) replace the UTC ones, so that re-importing an export
    stores exactly the same event again."""
    event = {key: value for key, value in stored.items() if key != "local_times"}
    for name, wall in stored.get("local_times", {}).items():
        # Before standard time, zones had offsets in seconds (Baku: +03:19:24), which
        # RFC 3339 cannot write: give such a time without its offset, in the event's zone.
        event[name] = _SECONDS_OFFSET.sub("", wall)
    return event
