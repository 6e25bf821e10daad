"""The Truceline application: the one way in for every append, and the log read back.

Every append (one event, a batch, a file import) goes through :meth:`Truceline.append_group`
or :meth:`Truceline.import_events`, which run in one store transaction under its write
lock: idempotency first, then the reference rules, then the entries are chained onto the
log. Validation of each event's shape happens before, in :func:`parse_event`, outside the
lock; an import also encodes its events before it takes the lock (:class:`_Prepared`), so
that the lock is held only for what needs the log.
"""

from __future__ import annotations

import json
import pickle
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, NamedTuple, cast

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from truceline.application.audit import (
    ChainReport,
    leaf_of,
    tree_difference,
    verify_key_log,
    verify_stored,
)
from truceline.application.checkpoints import Checkpoint
from truceline.application.knowledge import Knowledge, as_of_position, world_time
from truceline.application.known import KnownLog, same_content
from truceline.application.log import (
    Entry,
    KeyRecord,
    LogStore,
    LogWriter,
    NewEntry,
    Receipt,
    fixed_width_utc,
)
from truceline.application.recorded import to_stored_event
from truceline.application.transcoder import OrjsonTranscoder
from truceline.domain import merkle
from truceline.domain.errors import ErrorDetail, Invalid, invalid
from truceline.domain.references import check_references
from truceline.domain.timeline import as_corrected
from truceline.domain.times import parse_utc, to_micros
from truceline.domain.validation import NormalizedEvent, parse_event
from truceline.settings import Settings, eventsourcing_env


@dataclass(frozen=True)
class AppendRequest:
    """Events to append all or nothing, already shape-validated by :func:`parse_event`."""

    events: Sequence[NormalizedEvent]
    recorded_by: str
    # False: a correction or retraction may only name events recorded by ``recorded_by``
    # (a writer's key); True for an editor's key and for the command line.
    may_amend_others: bool = True


@dataclass(frozen=True)
class Appended:
    """The receipts of a request, in request order, and how many of them are new
    (0 for a pure retry, answered 200 instead of 201)."""

    receipts: list[Receipt]
    new: int

    @property
    def created(self) -> bool:
        return self.new > 0


@dataclass(frozen=True)
class Rejection:
    """One refused event: its index in the request, and its errors, located inside it."""

    index: int
    errors: list[ErrorDetail]


@dataclass
class Refused(Exception):
    """A request refused whole, nothing of it stored: every refused event, by index."""

    rejections: list[Rejection] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"event {r.index}: {Invalid(r.errors)}" for r in self.rejections)


class InvalidEvents(Refused):
    """Events that break a reference rule of the contract: answered 422."""


class IdConflict(Refused):
    """An ``event_id`` already stored with other content: answered 409."""


class NotYours(Refused):
    """Corrections or retractions of events recorded by another key, from a key that may
    not amend others' records: answered 403."""


@dataclass(frozen=True)
class LogAudit:
    """What :meth:`Truceline.audit` found: the chain, the stored tree against the tree
    rebuilt from the entries (``tree``), and the keys' access log with its own tree."""

    chain: ChainReport
    tree: merkle.MemoryTree
    tree_problem: str | None
    key_log: list[KeyRecord]
    key_tree: merkle.MemoryTree
    key_log_problem: str | None

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.tree_problem is None and self.key_log_problem is None


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
        self._roots: dict[int, bytes] = {}  # tree size -> root, as this process read it
        if self.store.tree_size() < self.store.max_position():
            with self.store.writing():
                pass  # a log from before the tree: its writer completes the tree
        self.store.log_unlogged_keys("unrecorded: created before the access log")

    def construct_transcoder(self) -> Transcoder:
        """eventsourcing's JSON format, written and read by orjson (see
        :mod:`truceline.application.transcoder`)."""
        return OrjsonTranscoder()

    # -- appending ----------------------------------------------------------------------

    def append_group(self, requests: Sequence[AppendRequest]) -> list[Appended | Exception]:
        """Append several independent requests in one transaction (group commit).

        Each request succeeds or fails on its own; the answer for each is an
        :class:`Appended` or the :class:`Refused` that refused it.
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
                except Refused as error:
                    results.append(error)
        return results

    def append(self, request: AppendRequest) -> Appended:
        """Append one request on its own; raise what refused it."""
        (result,) = self.append_group([request])
        if isinstance(result, Exception):
            raise result
        return result

    def _append(
        self,
        writer: LogWriter,
        request: AppendRequest,
        encoded: Sequence[StoredEvent] | None = None,
    ) -> Appended:
        """Retries first, then the reference checks, then the chain: all or nothing.
        ``encoded``: the stored form of each event, if it was encoded beforehand."""
        events = [_with_event_id(event) for event in request.events]
        receipts = _replayed_receipts(writer, events)
        new_entries = self._checked_entries(writer, events, receipts, request.recorded_by, encoded)
        if not request.may_amend_others:
            _refuse_others_records(writer, new_entries, request.recorded_by)
        if new_entries:
            new_receipts = writer.append(list(new_entries.values()))
            receipts.update(zip(new_entries, new_receipts, strict=True))
        return Appended([receipts[i] for i in range(len(events))], new=len(new_entries))

    def _checked_entries(
        self,
        writer: LogWriter,
        events: list[NormalizedEvent],
        replayed: dict[int, Receipt],
        recorded_by: str,
        encoded: Sequence[StoredEvent] | None = None,
    ) -> dict[int, NewEntry]:
        """The new entries by request index, each event checked against the log and the
        events before it; raise :class:`InvalidEvents` naming every one refused."""
        known = KnownLog(writer)
        rejections: list[Rejection] = []
        new_entries: dict[int, NewEntry] = {}
        for index, event in enumerate(events):
            if index in replayed:
                continue
            try:
                checked = _check(event, known)
            except Invalid as error:
                rejections.append(Rejection(index, error.errors))
                continue
            known.add(checked)
            # The checks return the event itself, but a correction with its ``changes``
            # normalised, which is encoded anew.
            if encoded is not None and checked is event:
                stored = encoded[index]
            else:
                stored = to_stored_event(self.mapper, checked)
            new_entries[index] = NewEntry(stored, checked, recorded_by)
        if rejections:
            raise InvalidEvents(rejections)
        return new_entries

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
        naming the first bad line. ``on_progress`` is told how many events each chunk
        held, once the chunk is written.

        Two passes, so that the store's write lock is held only for what needs the log:
        every line is read, shape-validated and encoded first, without the lock; then,
        under the lock, each chunk is looked up for retries, checked against the log and
        chained onto it. Measured on 60,000 lines into SQLite, the lock is held 4.7-5.7 s
        of an import's 10.5-12.0 s, where it was held for all of one (9.8-11.2 s).
        """
        count = 0
        with _prepared(self.mapper, lines, chunk_size) as prepared:
            if not prepared.chunks:  # nothing to write: the lock is not needed
                if prepared.failure is not None:
                    raise prepared.failure
                return 0
            with self.store.writing() as writer:
                for chunk in prepared:
                    count += self._import_chunk(writer, chunk, recorded_by)
                    if on_progress:
                        on_progress(len(chunk))
                if prepared.failure is not None:
                    # The lines before it were all checked: none of them is a bad line.
                    raise prepared.failure  # leaving the transaction rolls it back
        return count

    def _import_chunk(self, writer: LogWriter, chunk: list[_Ready], recorded_by: str) -> int:
        request = AppendRequest([ready.event for ready in chunk], recorded_by)
        try:
            appended = self._append(writer, request, [ready.stored for ready in chunk])
        except Refused as error:
            first = error.rejections[0]
            detail = first.errors[0]
            where = ".".join(str(part) for part in detail["loc"]) or "(event)"
            raise ImportFailed(chunk[first.index].line, f"{where}: {detail['msg']}") from None
        return appended.new

    # -- reading ------------------------------------------------------------------------

    def knowledge(self, as_of: str | None = None, at: str | None = None) -> Knowledge:
        """The knowledge rule of every read: ``as_of`` (a position or an RFC 3339 time;
        past the end, the end) to a log position, ``at`` to a world time, found lazily
        (see :class:`Knowledge`). Raises :class:`Invalid` naming ``as_of`` or ``at``."""
        position = None
        if as_of is not None:
            position = as_of_position(as_of, self.position_at, self.log_position)
        moment = world_time("at", at) if at is not None else None
        return Knowledge(position, moment, self._recorded_at)

    def _recorded_at(self, position: int) -> int:
        entries = self.store.read(position - 1, 1) if position > 0 else []
        return to_micros(parse_utc(entries[0].recorded_at)) if entries else 0

    def read_log(self, after: int, limit: int, as_of: int | None = None) -> list[Entry]:
        """Up to ``limit`` entries after ``after``; with ``as_of``, of the log as it
        ended at that position."""
        if as_of is not None:
            limit = max(0, min(limit, as_of - after))
        return self.store.read(after, limit) if limit else []

    def get_entry(self, event_id: str, as_of: int | None = None) -> Entry | None:
        """The entry of that event; None if it is not in the log (as of ``as_of``)."""
        entry = self.store.find_events([event_id]).get(event_id)
        return None if entry is None or _later(entry, as_of) else entry

    def history(self, event_id: str, as_of: int | None = None) -> list[Entry]:
        """The corrections and retractions naming that event, in log order (those
        recorded by ``as_of``)."""
        return [e for e in self.store.history(event_id) if not _later(e, as_of)]

    def corrected_events(self, event_ids: Iterable[str]) -> dict[str, NormalizedEvent]:
        """The stored events with those ids as corrected so far (missing ids absent)."""
        found = self.store.find_events(list(event_ids))
        return {
            event_id: as_corrected(entry.event, [a.event for a in self.store.amendments(event_id)])
            for event_id, entry in found.items()
        }

    def iter_events(self) -> Iterator[NormalizedEvent]:
        """Every event of the log, in log order, a page in memory at a time."""
        return (entry.event for entry in self.store.iter_entries())

    def retracted(self, event_ids: Iterable[str]) -> set[str]:
        """Those of the ids whose event has been retracted."""
        return {
            event_id
            for event_id in event_ids
            if any(e.event["type"] == "retraction" for e in self.store.history(event_id))
        }

    def log_position(self) -> int:
        return self.store.max_position()

    def position_at(self, moment: datetime) -> int:
        """The last position whose ``recorded_at`` is at or before ``moment``."""
        return self.store.position_at(fixed_width_utc(moment))

    def verify_chain(self) -> ChainReport:
        """Recompute the hash chain of the whole log; name the first bad position."""
        return verify_stored(self.store.iter_stored())

    def audit(self) -> LogAudit:
        """Check the whole log: the hash chain, the stored Merkle tree against the tree
        rebuilt from the entries' hashes, and the keys' access log against the keys
        table. Reads every entry and node once; the rebuilt trees are in the answer, for
        comparison with what others kept (:mod:`truceline.application.audit`)."""
        tree = merkle.MemoryTree()
        chain = verify_stored(self.store.iter_stored(), tree)
        tree_problem = tree_difference(self.store.iter_tree_nodes(), tree)
        records = self.store.key_log()
        key_problem, key_tree = verify_key_log(records, self._keys_with_hashes())
        return LogAudit(chain, tree, tree_problem, records, key_tree, key_problem)

    def _keys_with_hashes(self) -> list[dict[str, Any]]:
        keys = self.store.list_keys()
        for key in keys:
            found = self.store.find_key(key["key_id"])
            key["secret_hash"] = found[2] if found else None
        return keys

    # -- the tree ----------------------------------------------------------------------

    def tree_root(self, size: int) -> bytes:
        """The root of the log's first ``size`` entries (``size`` <= the log's size),
        from the stored tree; kept, since a tree size's root never changes."""
        root = self._roots.get(size)
        if root is None:
            root = self.stored_root(size)
            if len(self._roots) >= 4096:
                self._roots.clear()
            self._roots[size] = root
        return root

    def known_root(self, size: int) -> bytes | None:
        """:meth:`tree_root` if this process has read it already, else None."""
        return self._roots.get(size)

    def stored_root(self, size: int) -> bytes:
        """:meth:`tree_root`, read from the store now."""
        with self.store.reading_tree() as get:
            return merkle.root(size, get)

    def inclusion_proof(self, position: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        """The leaf hash of the entry at ``position`` and its RFC 9162 inclusion path
        in the tree of ``tree_size`` entries (1 <= position <= tree_size <= log size)."""
        with self.store.reading_tree() as get:
            return get(0, position - 1), merkle.inclusion_path(position - 1, tree_size, get)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """The RFC 9162 consistency path from the tree of ``first`` entries to the tree
        of ``second`` (1 <= first <= second <= log size)."""
        with self.store.reading_tree() as get:
            return merkle.consistency_path(first, second, get)

    def latest_checkpoint(self, log: str = "events") -> Checkpoint | None:
        """The largest checkpoint signed of ``log`` (``events`` or ``keys``), or None."""
        body = self.store.latest_checkpoint(log)
        return None if body is None else Checkpoint.from_dict(json.loads(body))

    @staticmethod
    def key_log_root(tree: merkle.MemoryTree) -> bytes:
        return merkle.root(tree.size, tree.get)

    def key_log_tree(self) -> tuple[list[KeyRecord], merkle.MemoryTree]:
        """The keys' access log, and its tree (small enough to rebuild each time)."""
        records = self.store.key_log()
        tree = merkle.MemoryTree()
        for record in records:
            tree.append(leaf_of(record.hash))
        return records, tree


def _later(entry: Entry, as_of: int | None) -> bool:
    return as_of is not None and entry.position > as_of


def _with_event_id(event: NormalizedEvent) -> NormalizedEvent:
    if "event_id" in event:
        return event
    return {"type": event["type"], "event_id": str(uuid.uuid4()), **event}


class _Ready(NamedTuple):
    """An event of an import as the first pass leaves it: its line, the event with its
    ``event_id``, and its stored form."""

    line: int
    event: NormalizedEvent
    stored: StoredEvent


# An import's events wait for the second pass pickled, a chunk at a time, in memory up to
# this size and then in a temporary file, so that memory stays flat whatever the import's
# length (about 0.7 KB an event: 16 MiB is some 20,000 events, a 1M-line import 0.7 GB
# of temporary file). Reading a chunk back costs about 11 us an event, under the lock,
# where encoding it there cost 60 us.
SPILL_IN_MEMORY = 16 * 2**20


class _Prepared:
    """The events of an import, shape-validated and encoded (:func:`_prepared`), ready
    to be read back a chunk at a time; ``failure``: the first bad line, at which reading
    stopped, if there was one."""

    def __init__(self, spill: IO[bytes]):
        self._spill = spill
        self.chunks = 0
        self.failure: ImportFailed | None = None

    def add(self, chunk: list[_Ready]) -> None:
        if chunk:
            rows = [(r.line, r.event, r.stored.topic, r.stored.state) for r in chunk]
            pickle.dump(rows, self._spill, protocol=pickle.HIGHEST_PROTOCOL)
            self.chunks += 1

    def __iter__(self) -> Iterator[list[_Ready]]:
        self._spill.seek(0)
        for _ in range(self.chunks):
            # Unpickled: only what this process has just written, to a file with no name.
            rows = pickle.load(self._spill)
            yield [
                _Ready(line, event, StoredEvent(uuid.UUID(event["event_id"]), 1, topic, state))
                for line, event, topic, state in rows
            ]


@contextmanager
def _prepared(
    mapper: Mapper[uuid.UUID], lines: Iterable[tuple[int, object]], size: int
) -> Iterator[_Prepared]:
    """Every line of an import validated and encoded, in chunks of ``size``, with no lock
    held. At a line that is no valid event reading stops; the lines before it are kept,
    since one of them may yet break a reference rule, and so be the first bad line."""
    with tempfile.SpooledTemporaryFile(max_size=SPILL_IN_MEMORY) as spill:
        prepared = _Prepared(cast(IO[bytes], spill))
        chunk: list[_Ready] = []
        try:
            for line, data in lines:
                chunk.append(_ready(mapper, line, data))
                if len(chunk) >= size:
                    prepared.add(chunk)
                    chunk = []
        except ImportFailed as failure:  # from parse_event, or from reading the line
            prepared.failure = failure
        prepared.add(chunk)
        yield prepared


def _ready(mapper: Mapper[uuid.UUID], line: int, data: object) -> _Ready:
    """One line of an import, validated and encoded; :class:`ImportFailed` if it is no
    valid event."""
    try:
        event = _with_event_id(parse_event(data))
    except Invalid as error:
        raise ImportFailed(line, str(error)) from None
    return _Ready(line, event, to_stored_event(mapper, event))


def _replayed_receipts(writer: LogWriter, events: list[NormalizedEvent]) -> dict[int, Receipt]:
    """The stored receipts of the events that are retries, by request index; raise
    :class:`IdConflict` for every event id stored with other content."""
    receipts: dict[int, Receipt] = {}
    conflicts: list[Rejection] = []
    stored = writer.find_events([e["event_id"] for e in events])
    for index, event in enumerate(events):
        entry = stored.get(event["event_id"])
        if entry is None:
            continue
        if same_content(entry, event, stored, writer):
            receipts[index] = entry.receipt
        else:
            message = f"event {event['event_id']} is already in the log, with other content"
            conflicts.append(Rejection(index, [{"loc": ["event_id"], "msg": message}]))
    if conflicts:
        raise IdConflict(conflicts)
    return receipts


def _refuse_others_records(
    writer: LogWriter, new_entries: dict[int, NewEntry], recorded_by: str
) -> None:
    """Raise :class:`NotYours` naming each amendment of an event that another key
    recorded (an event earlier in the same request is the request's own)."""
    named = {
        index: (name, entry.event[name])
        for index, entry in new_entries.items()
        for name in ("corrects_event_id", "retracts_event_id")
        if name in entry.event
    }
    stored = writer.find_events([target for _, target in named.values()])
    rejections = []
    for index, (name, target) in named.items():
        owner = stored[target].recorded_by if target in stored else recorded_by
        if owner != recorded_by:
            message = f"{target} was recorded by {owner}: amending it needs an editor key"
            rejections.append(Rejection(index, [{"loc": [name], "msg": message}]))
    if rejections:
        raise NotYours(rejections)


def _check(event: NormalizedEvent, known: KnownLog) -> NormalizedEvent:
    """The event to store, once checked against the log and the request so far."""
    if known.pending_event(event["event_id"]):
        raise invalid(["event_id"], "the same event_id appears twice in this request")
    return check_references(event, known)
