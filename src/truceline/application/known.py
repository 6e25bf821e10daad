"""The log as an append's checks see it, inside the open append transaction.

:class:`KnownLog` is the :class:`~truceline.domain.references.Known` of the reference
rules: what is stored, plus the events of the request being checked that come before
the current one. :func:`same_content` decides whether a retry carries what was stored.
"""

from __future__ import annotations

from truceline.application.log import Entry, LogWriter
from truceline.domain.errors import Invalid
from truceline.domain.timeline import as_corrected
from truceline.domain.validation import NormalizedEvent, apply_correction


def same_content(
    entry: Entry, event: NormalizedEvent, found: dict[str, Entry], writer: LogWriter
) -> bool:
    """Whether a retry carries what was stored. A correction's ``changes`` are stored
    normalised against the event as corrected before it, so the retry's are normalised
    the same way."""
    stored = entry.event
    if stored == event:
        return True
    if event.get("type") != "correction" or stored.get("type") != "correction":
        return False
    target_id = event["corrects_event_id"]
    target = found.get(target_id) or writer.find_events([target_id]).get(target_id)
    if target is None:
        return False
    earlier = [a.event for a in writer.amendments(target_id) if a.position < entry.position]
    try:
        _merged, changes = apply_correction(as_corrected(target.event, earlier), event["changes"])
    except Invalid:
        return False
    return stored == {**event, "changes": changes}


class KnownLog:
    """The log as the reference rules see it: what is stored, plus the events of the
    request being checked that come before the current one.

    Every question is answered from an index of the request's own events and a cache of
    the stored answer, so checking a batch is linear in its size: scanning the pending
    events for each breach report made 1 ceasefire + 9,999 breaches take 6.4 s against
    1.2 s for 10,000 strikes, all of it inside the single writer.
    """

    def __init__(self, writer: LogWriter):
        self.writer = writer
        self.pending: dict[str, NormalizedEvent] = {}
        self.pending_amendments: dict[str, list[NormalizedEvent]] = {}  # by the id they name
        self._pending_ceasefire: dict[tuple[str, str, str], list[str]] = {}
        self._pending_retracted: set[str] = set()
        self._stored_live: dict[tuple[str, str, str], list[str]] = {}

    def add(self, event: NormalizedEvent) -> None:
        event_id = event["event_id"]
        self.pending[event_id] = event
        target = event.get("corrects_event_id") or event.get("retracts_event_id")
        if target is not None:
            self.pending_amendments.setdefault(target, []).append(event)
        if event["type"] == "retraction":
            self._pending_retracted.add(event["retracts_event_id"])
        ceasefire_id = event.get("ceasefire_id")
        if ceasefire_id is not None:
            key = (event["type"], event["conflict"], ceasefire_id)
            self._pending_ceasefire.setdefault(key, []).append(event_id)

    def pending_event(self, event_id: str) -> bool:
        return event_id in self.pending

    def event(self, event_id: str) -> NormalizedEvent | None:
        if event_id in self.pending:
            return self.pending[event_id]
        entry = self.writer.find_events([event_id]).get(event_id)
        return None if entry is None else entry.event

    def corrected(self, event_id: str) -> NormalizedEvent | None:
        original = self.event(event_id)
        if original is None:
            return None
        amendments = [] if event_id in self.pending else self._stored_amendments(event_id)
        amendments += self.pending_amendments.get(event_id, [])
        # A retraction in this request may name a stored or pending correction.
        for correction in [a for a in amendments if a["type"] == "correction"]:
            amendments += self.pending_amendments.get(correction["event_id"], [])
        return as_corrected(original, amendments)

    def _stored_amendments(self, event_id: str) -> list[NormalizedEvent]:
        return [entry.event for entry in self.writer.amendments(event_id)]

    def _live(self, conflict: str, ceasefire_id: str, kind: str) -> list[str]:
        stored_key = (conflict, ceasefire_id, kind)
        if stored_key not in self._stored_live:
            # What is stored cannot change inside the append transaction but through
            # this request, whose events are indexed below.
            self._stored_live[stored_key] = self.writer.live_ceasefire_events(
                conflict, ceasefire_id, kind
            )
        ids = self._stored_live[stored_key] + self._pending_ceasefire.get(
            (kind, conflict, ceasefire_id), []
        )
        return [event_id for event_id in ids if event_id not in self._pending_retracted]

    def ceasefire_agreed(self, conflict: str, ceasefire_id: str) -> bool:
        return bool(self._live(conflict, ceasefire_id, "ceasefire_agreed"))

    def ceasefire_ended(self, conflict: str, ceasefire_id: str) -> bool:
        return bool(self._live(conflict, ceasefire_id, "ceasefire_ended"))
