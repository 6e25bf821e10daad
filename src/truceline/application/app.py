"""The Truceline application: the one way in for every append, and the log read back.

Every append (one event, a batch, a file import) goes through :meth:`Truceline.append_group`
or :meth:`Truceline.import_events`, which run in one store transaction under its write
lock: idempotency first, then the reference rules, then the entries are chained onto the
log. Validation of each event's shape happens before, in :func:`parse_event`, outside the
lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from eventsourcing.application import Application

from truceline.application.audit import ChainReport, verify_chain
from truceline.application.log import (
    Entry,
    LogStore,
    LogWriter,
    NewEntry,
    Receipt,
    fixed_width_utc,
)
from truceline.application.recorded import to_stored_event
from truceline.domain.errors import ErrorDetail, Invalid
from truceline.domain.references import check_references
from truceline.domain.timeline import as_corrected
from truceline.domain.validation import NormalizedEvent, apply_correction, parse_event
from truceline.settings import Settings, eventsourcing_env


@dataclass(frozen=True)
class AppendRequest:
    """Events to append all or nothing, already shape-validated by :func:`parse_event`.

    ``single`` requests (``POST /v1/events``) report errors without the index prefix.
    """

    events: Sequence[NormalizedEvent]
    recorded_by: str
    single: bool = False


@dataclass(frozen=True)
class Appended:
    """The receipts of a request, in request order, and how many of them are new
    (0 for a pure retry, answered 200 instead of 201)."""

    receipts: list[Receipt]
    new: int

    @property
    def created(self) -> bool:
        return self.new > 0


@dataclass
class IdConflict(Exception):
    """An ``event_id`` already stored with other content: answered 409."""

    errors: list[ErrorDetail] = field(default_factory=list)


@dataclass
class ImportFailed(Exception):
    """An import stopped at its first bad event; nothing of it was stored."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class Truceline(Application[uuid.UUID]):
    """The eventsourcing application that owns the log."""

    name = "Truceline"

    def __init__(self, settings: Settings):
        super().__init__(env=eventsourcing_env(settings))
        self.settings = settings
        self.store = cast(LogStore, self.recorder)
        self.recorder.mapper = self.mapper  # type: ignore[attr-defined]

    # -- appending ----------------------------------------------------------------------

    def append_group(self, requests: Sequence[AppendRequest]) -> list[Appended | Exception]:
        """Append several independent requests in one transaction (group commit).

        Each request succeeds or fails on its own; the answer for each is an
        :class:`Appended` or the :class:`Invalid` / :class:`IdConflict` that refused it.
        """
        results: list[Appended | Exception] = []
        with self.store.writing() as writer:
            # One idempotency lookup for the whole group; each request then finds its
            # answer in the writer's cache.
            writer.find_events(
                [e["event_id"] for r in requests for e in r.events if "event_id" in e]
            )
            for request in requests:
                try:
                    results.append(self._append(writer, request))
                except (Invalid, IdConflict) as error:
                    results.append(error)
        return results

    def append(self, request: AppendRequest) -> Appended:
        """Append one request on its own; raise what refused it."""
        (result,) = self.append_group([request])
        if isinstance(result, Exception):
            raise result
        return result

    def _append(self, writer: LogWriter, request: AppendRequest) -> Appended:
        events = [_with_event_id(event) for event in request.events]
        receipts: dict[int, Receipt] = {}
        conflicts: list[ErrorDetail] = []
        stored = writer.find_events([e["event_id"] for e in events])
        for index, event in enumerate(events):
            entry = stored.get(event["event_id"])
            if entry is None:
                continue
            if _same_content(entry, event, stored, writer):
                receipts[index] = entry.receipt
            else:
                conflicts.append(
                    {
                        "loc": _loc(request, index, "event_id"),
                        "msg": (
                            f"event {event['event_id']} is already in the log, with other content"
                        ),
                    }
                )
        if conflicts:
            raise IdConflict(conflicts)

        known = _Known(writer)
        errors: list[ErrorDetail] = []
        new_entries: list[tuple[int, NewEntry]] = []
        for index, event in enumerate(events):
            if index in receipts:
                continue
            if known.pending_event(event["event_id"]):
                errors.append(
                    {
                        "loc": _loc(request, index, "event_id"),
                        "msg": "the same event_id appears twice in this request",
                    }
                )
                continue
            try:
                event = check_references(event, known)
            except Invalid as error:
                prefix = [] if request.single else [index]
                errors.extend(error.prefixed(prefix).errors)
                continue
            known.add(event)
            stored_event = to_stored_event(self.mapper, event)
            new_entries.append((index, NewEntry(stored_event, event, request.recorded_by)))
        if errors:
            raise Invalid(errors)
        if new_entries:
            new_receipts = writer.append([entry for _, entry in new_entries])
            receipts.update(zip((index for index, _ in new_entries), new_receipts, strict=True))
        return Appended([receipts[i] for i in range(len(events))], new=len(new_entries))

    def import_events(
        self,
        lines: Iterable[tuple[int, object]],
        recorded_by: str,
        *,
        chunk_size: int = 1000,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Append every event of an import in one transaction: all of them or none.

        ``lines`` yields (line number, parsed JSON) lazily, so a file of any size streams
        through in chunks; events already in the log with the same content are skipped,
        so an interrupted import can simply be run again. Raises :class:`ImportFailed`
        naming the first bad line.
        """
        count = 0
        with self.store.writing() as writer:
            chunk: list[tuple[int, NormalizedEvent]] = []
            for line, data in lines:
                try:
                    event = parse_event(data)
                except Invalid as error:
                    raise ImportFailed(line, str(error)) from None
                chunk.append((line, event))
                if len(chunk) >= chunk_size:
                    count += self._import_chunk(writer, chunk, recorded_by)
                    if on_progress:
                        on_progress(len(chunk))
                    chunk = []
            if chunk:
                count += self._import_chunk(writer, chunk, recorded_by)
                if on_progress:
                    on_progress(len(chunk))
        return count

    def _import_chunk(
        self, writer: LogWriter, chunk: list[tuple[int, NormalizedEvent]], recorded_by: str
    ) -> int:
        request = AppendRequest([event for _, event in chunk], recorded_by)
        try:
            appended = self._append(writer, request)
        except (Invalid, IdConflict) as error:
            first = error.errors[0]
            index = cast(int, first["loc"][0])
            where = ".".join(str(part) for part in first["loc"][1:]) or "(event)"
            raise ImportFailed(chunk[index][0], f"{where}: {first['msg']}") from None
        return appended.new

    # -- reading ------------------------------------------------------------------------

    def read_log(self, after: int, limit: int) -> list[Entry]:
        return self.store.read(after, limit)

    def get_entry(self, event_id: str) -> Entry | None:
        return self.store.find_events([event_id]).get(event_id)

    def history(self, event_id: str) -> list[Entry]:
        return self.store.history(event_id)

    def log_position(self) -> int:
        return self.store.max_position()

    def position_at(self, moment: datetime) -> int:
        """The last position whose ``recorded_at`` is at or before ``moment``."""
        return self.store.position_at(fixed_width_utc(moment))

    def verify_chain(self) -> ChainReport:
        """Recompute the hash chain of the whole log; name the first bad position."""
        return verify_chain(e.as_dict() for e in self.store.iter_entries(tolerant=True))


def _with_event_id(event: NormalizedEvent) -> NormalizedEvent:
    if "event_id" in event:
        return event
    return {"type": event["type"], "event_id": str(uuid.uuid4()), **event}


def _loc(request: AppendRequest, index: int, name: str) -> list[str | int]:
    return [name] if request.single else [index, name]


def _same_content(
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


class _Known:
    """The log as the reference rules see it: what is stored, plus the events of the
    request being checked that come before the current one."""

    def __init__(self, writer: LogWriter):
        self.writer = writer
        self.pending: dict[str, NormalizedEvent] = {}
        self.pending_amendments: dict[str, list[NormalizedEvent]] = {}  # by the id they name

    def add(self, event: NormalizedEvent) -> None:
        self.pending[event["event_id"]] = event
        target = event.get("corrects_event_id") or event.get("retracts_event_id")
        if target is not None:
            self.pending_amendments.setdefault(target, []).append(event)

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
        ids = self.writer.live_ceasefire_events(conflict, ceasefire_id, kind)
        ids += [
            event_id
            for event_id, event in self.pending.items()
            if event["type"] == kind
            and event["conflict"] == conflict
            and event.get("ceasefire_id") == ceasefire_id
        ]
        retracted = {
            e["retracts_event_id"] for e in self.pending.values() if e["type"] == "retraction"
        }
        return [event_id for event_id in ids if event_id not in retracted]

    def ceasefire_agreed(self, conflict: str, ceasefire_id: str) -> bool:
        return bool(self._live(conflict, ceasefire_id, "ceasefire_agreed"))

    def ceasefire_ended(self, conflict: str, ceasefire_id: str) -> bool:
        return bool(self._live(conflict, ceasefire_id, "ceasefire_ended"))
