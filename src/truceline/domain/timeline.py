"""Timeline items: an event as it currently reads, corrections applied.

Every event but a ``correction`` or ``retraction`` is an item; those two change the
items they refer to instead. Pure functions, shared by the projection and its tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from truceline.domain.times import event_window, parse_utc

AMENDMENT_TYPES = frozenset({"correction", "retraction"})
LIFECYCLE_TYPES = frozenset({"ceasefire_agreed", "ceasefire_ended"})

# Item columns in a fixed order, for CSV headers that do not change from page to page.
ITEM_FIELDS = (
    "event_id",
    "type",
    "conflict",
    "occurred_at",
    "position",
    "corrected",
    "retracted",
    "time_precision",
    "timezone",
    "local_times",
    "location",
    "sources",
    "summary",
    "perpetrator",
    "target",
    "weapon",
    "parties",
    "initiator",
    "killed",
    "wounded",
    "killed_low",
    "killed_high",
    "wounded_low",
    "wounded_high",
    "ceasefire_id",
    "mediators",
    "effective_at",
    "ends_at",
    "terms",
    "accused",
    "reported_by",
    "incident_event_id",
    "reason",
    "party",
    "about_event_id",
    "displaced",
    "population",
    "speaker",
    "text",
    "external",
)


def amend(original: dict[str, Any], corrections: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The event with each correction's ``changes`` applied in log order.

    A change to ``null`` clears the field. A changed time loses its stored wall time:
    the correction gave it in UTC-normalised form only.
    """
    event = dict(original)
    for changes in corrections:
        for key, value in changes.items():
            if value is None:
                event.pop(key, None)
            else:
                event[key] = value
            local_times = event.get("local_times")
            if local_times and key in local_times:
                event["local_times"] = {k: v for k, v in local_times.items() if k != key}
                if not event["local_times"]:
                    del event["local_times"]
    return event


def as_corrected(original: dict[str, Any], amendments: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The event as corrected so far: ``original`` with the ``changes`` of each of its
    unretracted corrections applied in log order.

    ``amendments`` are in log order and may hold any correction or retraction: only the
    corrections of ``original`` count, less those that one of the retractions retracts.
    """
    event_id = original["event_id"]
    amendments = list(amendments)
    retracted = {a["retracts_event_id"] for a in amendments if a["type"] == "retraction"}
    return amend(
        original,
        (
            a["changes"]
            for a in amendments
            if a["type"] == "correction"
            and a["corrects_event_id"] == event_id
            and a["event_id"] not in retracted
        ),
    )


def item(
    event: dict[str, Any], position: int, *, corrected: bool, retracted: bool
) -> dict[str, Any]:
    """The timeline item of an (amended) event at its original log position."""
    return {**event, "position": position, "corrected": corrected, "retracted": retracted}


def actors(event: dict[str, Any]) -> list[str]:
    """Everyone an ``actor`` filter matches: perpetrator, initiator, parties, accused,
    speaker."""
    names = [event.get(key) for key in ("perpetrator", "initiator", "accused", "speaker")]
    names += event.get("parties", [])
    return sorted({name for name in names if name})


def window(event: dict[str, Any]) -> tuple[int, int]:
    """The window the event occupies, in microseconds (see :func:`times.event_window`)."""
    return event_window(
        parse_utc(event["occurred_at"]), event.get("time_precision", "exact"), event.get("timezone")
    )
