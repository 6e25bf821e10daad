"""The log's vocabulary: what an entry is, how it is hashed, and what a store must offer.

An *entry* is one event in the global log: its position (the eventsourcing notification
id), when and by whom it was recorded, the hash that chains it to the entry before, and
the normalised event itself. The event is stored as an eventsourcing domain event (see
:mod:`truceline.application.recorded`); the rest lives in an ``truceline_entries`` row
written in the same transaction.
"""

from __future__ import annotations

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
from truceline.domain.times import format_utc, parse_utc

GENESIS_HASH = "0" * 64
ENTRIES = "truceline_entries"  # the log's own table, beside eventsourcing's events table
KEYS = "truceline_keys"


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

    @property
    def refers_to(self) -> str | None:
        """The event a correction or retraction is about (indexed for history)."""
        target = self.event.get("corrects_event_id") or self.event.get("retracts_event_id")
        return str(target) if target else None


def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value: sorted keys, no spaces, UTF-8 (RFC 8785 in spirit;
    our values hold no floats that need its number rules beyond Python's repr)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(
    previous_hash: str, position: int, recorded_at: str, recorded_by: str, event: dict[str, Any]
) -> str:
    """The chain link: SHA-256 over the previous hash and this entry's canonical content."""
    content = canonical_json(
        {
            "position": position,
            "recorded_at": recorded_at,
            "recorded_by": recorded_by,
            "event": event,
        }
    )
    return hashlib.sha256(previous_hash.encode() + b"\n" + content).hexdigest()


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

    def iter_entries(
        self, after: int = 0, page: int = 1000, *, tolerant: bool = False
    ) -> Iterator[Entry]:
        """Every entry after ``after`` in log order, one page in memory at a time."""
        while entries := self.read(after, page, tolerant=tolerant):
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


def column_types(row: type[Any]) -> dict[str, tuple[type, bool]]:
    """A named tuple's columns: each one's type, and whether it may be null."""
    columns = {}
    for name, hint in get_type_hints(row).items():
        nullable = get_origin(hint) in (Union, types.UnionType)
        if nullable:
            (hint,) = [arg for arg in get_args(hint) if arg is not type(None)]
        columns[name] = (hint, nullable)
    return columns


def entries_columns(type_names: dict[type, str]) -> str:
    """The entries table's column definitions, in a store's names for int and str."""
    constraints = {"position": "PRIMARY KEY", "event_id": "NOT NULL UNIQUE"}
    return ", ".join(
        f"{name} {type_names[kind]} "
        + constraints.get(name, "" if nullable else "NOT NULL")
        for name, (kind, nullable) in column_types(EntriesRow).items()
    ).replace(" ,", ",")


@dataclass(frozen=True)
class Linked:
    """A new entry with its place in the chain, ready for the store's insert."""

    new: NewEntry
    position: int
    recorded_at: str
    hash: str

    def entry(self) -> Entry:
        return Entry(
            self.position, self.recorded_at, self.new.recorded_by, self.hash, self.new.event
        )

    def entries_row(self) -> EntriesRow:
        """The ``truceline_entries`` row."""
        event = self.new.event
        return EntriesRow(
            position=self.position,
            event_id=self.new.event_id,
            type=event["type"],
            conflict=event["conflict"],
            ceasefire_id=event.get("ceasefire_id"),
            refers_to=self.new.refers_to,
            recorded_at=self.recorded_at,
            recorded_by=self.new.recorded_by,
            hash=self.hash,
        )


class ChainWriter:
    """What both stores' append transactions share: the next positions, a
    ``recorded_at`` that never goes back, the hash chain, and a buffer of new rows.

    ``append`` links entries at once (so receipts are known) but inserts them later, in
    one statement per table for a whole group commit: a single-event request costs two
    inserts on its own, while many of them share the two. Lookups see the buffer, and
    answers from the store are kept until the next flush (the log only grows, and only
    through this transaction), so a group's idempotency checks are one query.
    Subclasses read and insert.
    """

    flush_at = 5000  # rows buffered before they are inserted; bounds an import's memory

    def __init__(self, last: tuple[int, str, str] | None):
        """``last``: the position, ``recorded_at`` and hash of the log's last entry."""
        self.position: int = last[0] if last else 0
        self.recorded_at: str | None = last[1] if last else None
        self.hash: str = last[2] if last else GENESIS_HASH
        self._pending: list[Linked] = []
        self._seen: dict[str, Entry | None] = {}  # event id -> entry, or None: not stored

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
            previous = entry_hash(previous, position, recorded_at, new.recorded_by, new.event)
            linked.append(Linked(new, position, recorded_at, previous))
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
            self._pending = []
            self._seen.clear()

    def _find_stored(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        raise NotImplementedError

    def _amendments_stored(self, event_id: str) -> list[Entry]:
        raise NotImplementedError

    def _live_stored(self, conflict: str, ceasefire_id: str, kind: str) -> list[str]:
        raise NotImplementedError

    def _insert(self, linked: list[Linked]) -> None:
        raise NotImplementedError


def entry_from_row(
    mapper: Mapper[uuid.UUID], row: Any, originator_id: uuid.UUID | str, tolerant: bool
) -> Entry:
    """An :class:`Entry` from a joined events/entries row (any mapping-like row)."""
    stored = StoredEvent(
        originator_id=originator_id,
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )
    return Entry(
        row["position"],
        row["recorded_at"],
        row["recorded_by"],
        row["hash"],
        envelope_of(mapper, stored, tolerant),
    )


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

    def insert_key(
        self, key_id: str, name: str, role: str, secret_hash: str, created_at: str
    ) -> None: ...

    def find_key(self, key_id: str) -> tuple[str, str, str, str | None] | None:
        """(name, role, secret_hash, revoked_at) of a key, or None."""

    async def find_key_async(self, key_id: str) -> tuple[str, str, str, str | None] | None:
        """:meth:`find_key` for the event loop, which it must not block on a network."""

    async def aclose(self) -> None:
        """Close what :meth:`find_key_async` opened (in the loop it opened it in)."""

    def list_keys(self) -> list[dict[str, Any]]: ...

    def revoke_key(self, key_id: str, revoked_at: str) -> bool: ...

    def close(self) -> None: ...
