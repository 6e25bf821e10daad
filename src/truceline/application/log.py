"""The log's vocabulary: what an entry is, how it is hashed, and what a store must offer.

An *entry* is one event in the global log: its position (the eventsourcing notification
id), when and by whom it was recorded, the hash that chains it to the entry before, and
the normalised event itself. The event is stored as an eventsourcing domain event (see
:mod:`truceline.application.recorded`); the rest lives in an ``truceline_entries`` row
written in the same transaction, with the entry's nodes of the log's Merkle tree
(:mod:`truceline.domain.merkle`) in ``truceline_tree``.

Hash schemes, versioned per entry (``hash_version``):

1. ``entry_hash_v1``: the previous hash and a canonical JSON of the *decoded* event. Entries
   written before version 2 keep it and still verify; it does not cover the indexed
   columns, so :func:`truceline.application.audit.verify_stored` compares those with the
   decoded event instead.
2. ``entry_hash_v2`` (every new entry): the previous hash, the position, ``recorded_at``,
   ``recorded_by``, the stored event's topic, ``content_hash`` (SHA-256 of the exact bytes
   stored for the event, not a re-serialisation that an upcaster or a number format
   would change) and every indexed column that reads depend on. The chain covers the
   content through its digest, so a later redaction can erase an event's bytes while the
   chain and the tree still verify: the entry keeps its ``content_hash``, and a verifier
   told which entries were redacted accepts their missing bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import types
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol, Union, get_args, get_origin, get_type_hints

from eventsourcing.persistence import Mapper, StoredEvent

from truceline.application.recorded import envelope_of
from truceline.domain import merkle
from truceline.domain.times import format_utc, parse_utc

GENESIS_HASH = "0" * 64
HASH_VERSION = 2  # the scheme new entries are hashed with (see the module's docstring)
ENTRIES = "truceline_entries"  # the log's own table, beside eventsourcing's events table
TREE = "truceline_tree"  # the log's Merkle tree: (level, idx) -> hash, complete nodes only
KEYS = "truceline_keys"
KEY_LOG = "truceline_key_log"  # who created or revoked which key, hash-chained
CHECKPOINTS = "truceline_checkpoints"  # signed checkpoints, as their JSON text


@dataclass(frozen=True)
class Receipt:
    """What an append answers: where the event went and when."""

    event_id: str
    position: int
    recorded_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "position": self.position,
            "recorded_at": self.recorded_at,
        }


@dataclass(frozen=True)
class Entry:
    """One entry of the log as readers see it."""

    position: int
    recorded_at: str
    recorded_by: str
    hash: str
    event: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "recorded_at": self.recorded_at,
            "recorded_by": self.recorded_by,
            "hash": self.hash,
            "event": self.event,
        }

    @property
    def receipt(self) -> Receipt:
        return Receipt(self.event["event_id"], self.position, self.recorded_at)


@dataclass(frozen=True)
class NewEntry:
    """An event about to be appended, with what the entries table indexes about it."""

    stored_event: StoredEvent
    event: dict[str, Any]
    recorded_by: str

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])


class IndexedColumns(NamedTuple):
    """What the entries table indexes about an event, and reads depend on."""

    event_id: str
    type: str
    conflict: str
    ceasefire_id: str | None
    refers_to: str | None  # the event a correction or retraction names


def indexed_columns(event: dict[str, Any]) -> IndexedColumns:
    """The columns an event's entries row must hold (for an event that no longer decodes,
    ``{}``, columns no row can match)."""
    target = event.get("corrects_event_id") or event.get("retracts_event_id")
    return IndexedColumns(
        event_id=event.get("event_id", ""),
        type=event.get("type", ""),
        conflict=event.get("conflict", ""),
        ceasefire_id=event.get("ceasefire_id"),
        refers_to=str(target) if target else None,
    )


def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value: sorted keys, no spaces, UTF-8 (RFC 8785 in spirit;
    our values hold no floats that need its number rules beyond Python's repr)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash_v1(
    previous_hash: str, position: int, recorded_at: str, recorded_by: str, event: dict[str, Any]
) -> str:
    """Version 1 of the chain link (entries written before version 2): SHA-256 over the
    previous hash and this entry's canonical content, the event as decoded."""
    content = canonical_json(
        {
            "position": position,
            "recorded_at": recorded_at,
            "recorded_by": recorded_by,
            "event": event,
        }
    )
    return hashlib.sha256(previous_hash.encode() + b"\n" + content).hexdigest()


def content_hash(state: bytes) -> str:
    """The digest of the exact bytes stored for an event."""
    return hashlib.sha256(state).hexdigest()


def entry_hash_v2(
    previous_hash: str,
    position: int,
    recorded_at: str,
    recorded_by: str,
    topic: str,
    content_digest: str,
    columns: IndexedColumns,
) -> str:
    """Version 2 of the chain link: SHA-256 over ``v2``, the previous hash and a
    canonical JSON of the entry's stored form (its topic, the digest of its stored bytes
    and every indexed column)."""
    content = canonical_json(
        {
            "position": position,
            "recorded_at": recorded_at,
            "recorded_by": recorded_by,
            "topic": topic,
            "content_hash": content_digest,
            **columns._asdict(),
        }
    )
    return hashlib.sha256(b"v2\n" + previous_hash.encode() + b"\n" + content).hexdigest()


def fixed_width_utc(moment: datetime) -> str:
    """``recorded_at``'s form: microseconds always written, so times sort as text."""
    text = format_utc(moment)
    return text if "." in text else text[:-1] + ".000000Z"


def next_recorded_at(last_recorded_at: str | None) -> str:
    """Server time, never before the last entry's (clocks can step back)."""
    now = datetime.now(UTC)
    if last_recorded_at is not None:
        now = max(now, parse_utc(last_recorded_at))
    return fixed_width_utc(now)


class PagedReads:
    """Reading the whole log page by page, for any store that can ``read`` a page."""

    def read(self, after: int, limit: int, *, tolerant: bool = False) -> list[Entry]:
        raise NotImplementedError

    def read_stored(self, after: int, limit: int) -> list[StoredEntry]:
        raise NotImplementedError

    def iter_entries(
        self, after: int = 0, page: int = 1000, *, tolerant: bool = False
    ) -> Iterator[Entry]:
        """Every entry after ``after`` in log order, one page in memory at a time."""
        while entries := self.read(after, page, tolerant=tolerant):
            yield from entries
            after = entries[-1].position

    def iter_stored(self, after: int = 0, page: int = 1000) -> Iterator[StoredEntry]:
        """Every entry after ``after`` as stored, in log order, a page at a time."""
        while entries := self.read_stored(after, page):
            yield from entries
            after = entries[-1].position


class EntriesRow(NamedTuple):
    """A ``truceline_entries`` row: what the log indexes about each entry, beside the
    event stored by eventsourcing at the same position."""

    position: int
    event_id: str
    type: str
    conflict: str
    ceasefire_id: str | None
    refers_to: str | None  # the event a correction or retraction names
    recorded_at: str
    recorded_by: str
    hash: str
    # Added by version 2 of the hash scheme (older rows: 1 and null).
    hash_version: int
    content_hash: str | None


def column_types(row: type[Any]) -> dict[str, tuple[type, bool]]:
    """A named tuple's columns: each one's type, and whether it may be null."""
    columns = {}
    for name, hint in get_type_hints(row).items():
        nullable = get_origin(hint) in (Union, types.UnionType)
        if nullable:
            (hint,) = [arg for arg in get_args(hint) if arg is not type(None)]
        columns[name] = (hint, nullable)
    return columns


ADDED_COLUMNS = {"hash_version": "NOT NULL DEFAULT 1", "content_hash": ""}
"""Columns older entries tables lack; each store adds them when it opens one."""


def entries_columns(type_names: dict[type, str]) -> str:
    """The entries table's column definitions, in a store's names for int and str."""
    constraints = {"position": "PRIMARY KEY", "event_id": "NOT NULL UNIQUE", **ADDED_COLUMNS}
    return ", ".join(
        f"{name} {type_names[kind]} " + constraints.get(name, "" if nullable else "NOT NULL")
        for name, (kind, nullable) in column_types(EntriesRow).items()
    ).replace(" ,", ",")


def column_definition(name: str, type_names: dict[type, str]) -> str:
    """One entries column's definition, for ``ALTER TABLE ... ADD COLUMN``."""
    kind, _nullable = column_types(EntriesRow)[name]
    return f"{name} {type_names[kind]} {ADDED_COLUMNS[name]}".rstrip()


@dataclass(frozen=True)
class StoredEntry:
    """An entry exactly as stored, for audits: the event's topic and bytes beside its
    entries row. ``event`` is the decoded event (``{}`` if the bytes no longer decode)."""

    row: EntriesRow
    topic: str
    state: bytes
    event: dict[str, Any]

    @property
    def position(self) -> int:
        return self.row.position

    def export_dict(self) -> dict[str, Any]:
        """The entry as ``truceline export`` writes it: the contract's fields, plus what
        its hash covers (the stored bytes: UTF-8 JSON text, or base64 otherwise)."""
        row = self.row
        out: dict[str, Any] = {
            "position": row.position,
            "recorded_at": row.recorded_at,
            "recorded_by": row.recorded_by,
            "hash": row.hash,
            "event": self.event,
            "hash_version": row.hash_version,
        }
        if row.hash_version >= 2:
            out["content_hash"] = row.content_hash
            try:
                out["stored"] = {"topic": self.topic, "state": self.state.decode()}
            except UnicodeDecodeError:
                encoded = base64.b64encode(self.state).decode()
                out["stored"] = {"topic": self.topic, "state_base64": encoded}
        return out


@dataclass(frozen=True)
class Linked:
    """A new entry with its place in the chain, ready for the store's insert."""

    new: NewEntry
    position: int
    recorded_at: str
    content_hash: str
    hash: str

    def entry(self) -> Entry:
        return Entry(
            self.position, self.recorded_at, self.new.recorded_by, self.hash, self.new.event
        )

    def entries_row(self) -> EntriesRow:
        """The ``truceline_entries`` row."""
        return EntriesRow(
            self.position,
            *indexed_columns(self.new.event),
            recorded_at=self.recorded_at,
            recorded_by=self.new.recorded_by,
            hash=self.hash,
            hash_version=HASH_VERSION,
            content_hash=self.content_hash,
        )


def link(previous_hash: str, position: int, recorded_at: str, new: NewEntry) -> Linked:
    """``new`` chained after ``previous_hash`` at ``position``, hashed with the current
    scheme."""
    stored = new.stored_event
    digest = content_hash(stored.state)
    columns = indexed_columns(new.event)
    chained = entry_hash_v2(
        previous_hash, position, recorded_at, new.recorded_by, stored.topic, digest, columns
    )
    return Linked(new, position, recorded_at, digest, chained)


@dataclass(frozen=True)
class Frontier:
    """A tree's peaks (the nodes of :func:`truceline.domain.merkle.root_nodes`): all an
    append needs to read of it."""

    size: int
    peaks: dict[tuple[int, int], bytes]


class LogDamaged(Exception):
    """The log's own tables disagree in a way no append could have left them: the tree
    is longer than the log. Appends stop until ``truceline verify`` has been run."""


class ChainWriter:
    """What both stores' append transactions share: the next positions, a
    ``recorded_at`` that never goes back, the hash chain, the Merkle tree, and a buffer
    of new rows.

    ``append`` links entries at once (so receipts are known) but inserts them later, in
    one statement per table for a whole group commit: a single-event request costs
    three inserts on its own, while many of them share the three. Lookups see the
    buffer, and answers from the store are kept until the next flush (the log only
    grows, and only through this transaction), so a group's idempotency checks are one
    query. The tree's nodes are computed at the flush, from the nodes already stored
    (:func:`truceline.domain.merkle.appended_nodes`). Subclasses read and insert.
    """

    flush_at = 5000  # rows buffered before they are inserted; bounds an import's memory
    backfill_page = 10_000  # entries a tree backfill reads at a time

    def __init__(
        self, last: tuple[int, str, str] | None, tree_size: int, frontier: Frontier | None = None
    ):
        """``last``: the position, ``recorded_at`` and hash of the log's last entry;
        ``tree_size``: the leaves its Merkle tree holds (fewer in a log written before
        the tree, which is completed here, inside the transaction); ``frontier``: the
        tree's peaks as this process last committed them, used if still current."""
        self.position: int = last[0] if last else 0
        self.recorded_at: str | None = last[1] if last else None
        self.hash: str = last[2] if last else GENESIS_HASH
        self._pending: list[Linked] = []
        self._seen: dict[str, Entry | None] = {}  # event id -> entry, or None: not stored
        self._tree_size = tree_size
        current = frontier is not None and frontier.size == tree_size
        self._peaks = dict(frontier.peaks) if frontier is not None and current else {}
        if tree_size > self.position:
            raise LogDamaged(
                f"the log's Merkle tree has {tree_size} leaves but the log only "
                f"{self.position} entries: run truceline verify"
            )
        self.complete_tree()

    def complete_tree(self) -> int:
        """Add the tree's nodes for entries that have none (a log from before the tree);
        return how many entries that took."""
        added = 0
        while self._tree_size < self.position:
            hashes = self._hashes_after(self._tree_size, self.backfill_page)
            if not hashes:
                raise LogDamaged(f"the log has no entry after position {self._tree_size}")
            self._add_leaves(hashes)
            added += len(hashes)
        return added

    def find_events(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        """Entries for those event ids, stored or appended in this transaction."""
        unseen = [i for i in dict.fromkeys(event_ids) if i not in self._seen]
        if unseen:
            stored = self._find_stored(unseen)
            self._seen.update((i, stored.get(i)) for i in unseen)
        return {i: entry for i in event_ids if (entry := self._seen[i]) is not None}

    def live_ceasefire_events(self, conflict: str, ceasefire_id: str, kind: str) -> list[str]:
        """Ids of unretracted events of type ``kind`` that carry that ceasefire id."""
        self.flush()  # a query over the table must see this transaction's rows
        return self._live_stored(conflict, ceasefire_id, kind)

    def amendments(self, event_id: str) -> list[Entry]:
        """The corrections and retractions naming that event, and the retractions of
        those corrections, in log order (this transaction's included)."""
        self.flush()  # a query over the table must see this transaction's rows
        return self._amendments_stored(event_id)

    def append(self, entries: Sequence[NewEntry]) -> list[Receipt]:
        recorded_at = next_recorded_at(self.recorded_at)
        position, previous = self.position, self.hash
        linked: list[Linked] = []
        for new in entries:
            position += 1
            linked.append(link(previous, position, recorded_at, new))
            previous = linked[-1].hash
            self._seen[new.event_id] = linked[-1].entry()
        self.position, self.recorded_at, self.hash = position, recorded_at, previous
        self._pending += linked
        if len(self._pending) >= self.flush_at:
            self.flush()
        return [Receipt(item.new.event_id, item.position, recorded_at) for item in linked]

    def flush(self) -> None:
        """Insert what is buffered; the store calls it before committing."""
        if self._pending:
            self._insert(self._pending)
            self._add_leaves([item.hash for item in self._pending])
            self._pending = []
            self._seen.clear()

    def _add_leaves(self, entry_hashes: Sequence[str]) -> None:
        if not entry_hashes:
            return
        leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in entry_hashes]
        nodes = merkle.appended_nodes(self._tree_size, leaves, self._peak)
        self._insert_nodes(nodes)
        self._tree_size += len(leaves)
        known = {**self._peaks, **{(level, index): node for level, index, node in nodes}}
        self._peaks = {
            key: known[key] if key in known else self._get_node(*key)
            for key in merkle.root_nodes(self._tree_size)
        }

    def _peak(self, level: int, index: int) -> bytes:
        # An append reads only the tree's peaks: kept from this process's last commit,
        # they save a query each (on PostgreSQL a round trip: measured, 8 of them cost a
        # single append about a sixth of its rate).
        node = self._peaks.get((level, index))
        return node if node is not None else self._get_node(level, index)

    @property
    def frontier(self) -> Frontier:
        """The tree's peaks once this transaction's rows are inserted."""
        return Frontier(self._tree_size, self._peaks)

    def _find_stored(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        raise NotImplementedError

    def _amendments_stored(self, event_id: str) -> list[Entry]:
        raise NotImplementedError

    def _live_stored(self, conflict: str, ceasefire_id: str, kind: str) -> list[str]:
        raise NotImplementedError

    def _insert(self, linked: list[Linked]) -> None:
        raise NotImplementedError

    def _hashes_after(self, after: int, limit: int) -> list[str]:
        """The stored entry hashes of positions ``after + 1`` on, at most ``limit``."""
        raise NotImplementedError

    def _get_node(self, level: int, index: int) -> bytes:
        raise NotImplementedError

    def _insert_nodes(self, nodes: list[tuple[int, int, bytes]]) -> None:
        raise NotImplementedError


def entry_from_row(
    mapper: Mapper[uuid.UUID], row: Any, originator_id: uuid.UUID | str, tolerant: bool
) -> Entry:
    """An :class:`Entry` from a joined events/entries row (any mapping-like row)."""
    return Entry(
        row["position"],
        row["recorded_at"],
        row["recorded_by"],
        row["hash"],
        envelope_of(mapper, _stored_event(row, originator_id), tolerant),
    )


def stored_entry_from_row(
    mapper: Mapper[uuid.UUID], row: Any, originator_id: uuid.UUID | str
) -> StoredEntry:
    """A :class:`StoredEntry` from a row of every events and entries column."""
    stored = _stored_event(row, originator_id)
    return StoredEntry(
        EntriesRow(*(row[name] for name in EntriesRow._fields)),
        stored.topic,
        stored.state,
        envelope_of(mapper, stored, tolerant=True),
    )


def _stored_event(row: Any, originator_id: uuid.UUID | str) -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id,
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )


class KeyRecord(NamedTuple):
    """One entry of the keys' access log: a key created or revoked, by whom, when."""

    seq: int
    at: str
    action: str  # "create" or "revoke"
    key_id: str
    name: str
    role: str
    secret_hash: str
    actor: str  # who did it: local:<OS user>, or the key that did it
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


def key_record(
    last: KeyRecord | None,
    at: str,
    action: str,
    key_id: str,
    name: str,
    role: str,
    secret_hash: str,
    actor: str,
) -> KeyRecord:
    """The access log's next record after ``last``, chained to it."""
    seq = last.seq + 1 if last else 1
    fields = (seq, at, action, key_id, name, role, secret_hash, actor)
    return KeyRecord(*fields, key_record_hash(last.hash if last else GENESIS_HASH, *fields))


def key_record_hash(previous_hash: str, *fields: Any) -> str:
    """SHA-256 over the previous record's hash and this record's fields, in order."""
    names = KeyRecord._fields[:-1]
    content = canonical_json(dict(zip(names, fields, strict=True)))
    return hashlib.sha256(previous_hash.encode() + b"\n" + content).hexdigest()


class LogWriter(Protocol):
    """One open append transaction holding the store's write lock.

    Lookups see what this transaction has appended so far. Nothing is visible to others
    until the transaction commits when the ``writing()`` block ends without error.
    """

    def find_events(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        """Stored entries for those event ids (missing ids are absent)."""

    def live_ceasefire_events(self, conflict: str, ceasefire_id: str, kind: str) -> list[str]:
        """Ids of unretracted events of type ``kind`` that carry that ceasefire id."""

    def amendments(self, event_id: str) -> list[Entry]:
        """Corrections and retractions naming that event, and retractions of those
        corrections, in log order."""

    def append(self, entries: Sequence[NewEntry]) -> list[Receipt]:
        """Add entries at the end of the log, chained; all of them or none."""

    def flush(self) -> None:
        """Insert the rows buffered so far (the store does before committing)."""


class LogStore(Protocol):
    """What the application needs of a store: the log plus the keys table."""

    def writing(self) -> AbstractContextManager[LogWriter]:
        """Open an append transaction under the store's write lock."""

    def read(self, after: int, limit: int, *, tolerant: bool = False) -> list[Entry]:
        """Entries with position > ``after``, in log order."""

    def find_events(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        """Committed entries for those event ids."""

    def history(self, event_id: str) -> list[Entry]:
        """Corrections and retractions naming that event, in log order."""

    def amendments(self, event_id: str) -> list[Entry]:
        """:meth:`history`, plus the retractions of those corrections, in log order."""

    def max_position(self) -> int:
        """The last position in the log, 0 when empty."""

    def position_at(self, recorded_at: str) -> int:
        """The last position recorded at or before ``recorded_at`` (0: none), which is
        compared as text: give it in :func:`fixed_width_utc` form."""

    def iter_entries(
        self, after: int = 0, page: int = 1000, *, tolerant: bool = False
    ) -> Iterator[Entry]:
        """Every entry after ``after`` in log order, read page by page."""

    def iter_stored(self, after: int = 0, page: int = 1000) -> Iterator[StoredEntry]:
        """Every entry after ``after`` exactly as stored, in log order (for audits)."""

    def tree_size(self) -> int:
        """How many leaves the stored Merkle tree holds (the log's size once complete)."""

    def reading_tree(self) -> AbstractContextManager[merkle.GetNode]:
        """A read transaction over the stored tree; the node getter raises KeyError for
        a node that is not stored."""

    def iter_tree_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        """Every stored node (level, index, hash), by level then index."""

    def insert_checkpoint(self, log: str, tree_size: int, body: str) -> bool:
        """Keep a signed checkpoint's JSON; False if one of that size is kept already."""

    def latest_checkpoint(self, log: str) -> str | None:
        """The JSON of the largest checkpoint kept for ``log``, or None."""

    def insert_key(
        self, key_id: str, name: str, role: str, secret_hash: str, created_at: str, actor: str
    ) -> None:
        """Store a key, and record its creation in the access log, in one transaction."""

    def key_log(self) -> list[KeyRecord]:
        """The keys' access log, in order."""

    def log_unlogged_keys(self, actor: str) -> int:
        """Record in the access log the keys stored before it existed (as created, and
        revoked if they are), done by ``actor``; return how many."""

    def find_key(self, key_id: str) -> tuple[str, str, str, str | None] | None:
        """(name, role, secret_hash, revoked_at) of a key, or None."""

    async def find_key_async(self, key_id: str) -> tuple[str, str, str, str | None] | None:
        """:meth:`find_key` for the event loop, which it must not block on a network."""

    async def max_position_async(self) -> int:
        """:meth:`max_position` for the event loop."""

    async def aclose(self) -> None:
        """Close what :meth:`find_key_async` opened (in the loop it opened it in)."""

    def list_keys(self) -> list[dict[str, Any]]: ...

    def revoke_key(self, key_id: str, revoked_at: str, actor: str) -> bool:
        """Revoke a key and record it in the access log; False if it was not active."""

    def close(self) -> None: ...
