"""Checking the log: its hash chain, its Merkle tree, and what others kept of it.

Inside the database, each entry's hash covers its stored content and the previous
entry's hash (:mod:`truceline.application.log`), so an event edited, deleted or moved
behind the service's back breaks the chain at the first position that changed. A forger
who can write the database can recompute the chain, though, or cut its tail: only a
state kept *outside* it detects that. :func:`against_checkpoints` compares the log with
signed checkpoints (:mod:`truceline.application.checkpoints`), and
:func:`against_export` with an earlier export, both through the tree rebuilt from the
entries themselves.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from truceline.application.checkpoints import Checkpoint
from truceline.application.log import (
    GENESIS_HASH,
    IndexedColumns,
    KeyRecord,
    StoredEntry,
    content_hash,
    entry_hash_v1,
    entry_hash_v2,
    indexed_columns,
    key_record_hash,
)
from truceline.domain import merkle

Decode = Callable[[str, str, bytes], dict[str, Any]]
"""(event id, topic, stored bytes) -> the event they decode to (``{}`` if they do not)."""


@dataclass(frozen=True)
class ChainReport:
    """What a walk along the chain found."""

    ok: bool
    events_checked: int
    first_bad_position: int | None
    reason: str | None = None


@dataclass(frozen=True)
class _Checked:
    """One entry in the form the chain check reads, from the store or an export."""

    position: Any
    recorded_at: str
    recorded_by: str
    hash: str
    hash_version: Any
    event: dict[str, Any]
    columns: IndexedColumns  # as stored (the store), or as the event implies (an export)
    topic: str | None = None
    state: bytes | None = None
    content_hash: str | None = None
    decoded: dict[str, Any] | None = None  # what ``state`` decodes to, when not ``event``


def _from_store(entry: StoredEntry) -> _Checked:
    row = entry.row
    return _Checked(
        row.position,
        row.recorded_at,
        row.recorded_by,
        row.hash,
        row.hash_version,
        entry.event,
        IndexedColumns(row.event_id, row.type, row.conflict, row.ceasefire_id, row.refers_to),
        entry.topic,
        entry.state,
        row.content_hash,
    )


def _from_export(line: dict[str, Any], decode: Decode | None) -> _Checked:
    """An export line as :meth:`StoredEntry.export_dict` writes it; KeyError for a
    missing field, ValueError for a malformed one."""
    event = line["event"]
    if not isinstance(event, dict):
        raise ValueError("the entry's event is not an object")
    version = line.get("hash_version", 1)
    topic = state = None
    decoded = None
    if version != 1:
        stored = line["stored"]
        topic = stored["topic"]
        state = _stored_bytes(stored)
        if decode is not None:
            decoded = decode(str(event.get("event_id", "")), topic, state)
    return _Checked(
        line["position"],
        line["recorded_at"],
        line["recorded_by"],
        line["hash"],
        version,
        event,
        indexed_columns(event),
        topic,
        state,
        line.get("content_hash"),
        decoded,
    )


def _stored_bytes(stored: dict[str, Any]) -> bytes:
    if "state" in stored:
        return str(stored["state"]).encode()
    try:
        return base64.b64decode(stored["state_base64"], validate=True)
    except binascii.Error as error:
        raise ValueError(f"stored.state_base64 is not base64: {error}") from None


def _why_bad(entry: _Checked, previous: str, expected: int) -> str | None:
    """Why ``entry`` does not verify at position ``expected`` after ``previous``."""
    if entry.position != expected:
        return f"expected position {expected}, found {entry.position}"
    if entry.hash_version == 1:
        recomputed = entry_hash_v1(
            previous, expected, entry.recorded_at, entry.recorded_by, entry.event
        )
    elif entry.hash_version == 2:
        if entry.state is None or entry.topic is None:
            return "the entry lacks its stored bytes"
        if content_hash(entry.state) != entry.content_hash:
            return "the stored bytes do not match their content_hash"
        if entry.decoded is not None and entry.decoded != entry.event:
            return "the event does not match its stored bytes"
        recomputed = entry_hash_v2(
            previous,
            expected,
            entry.recorded_at,
            entry.recorded_by,
            entry.topic,
            entry.content_hash,
            entry.columns,
        )
    else:
        return f"unknown hash_version {entry.hash_version!r}"
    if recomputed != entry.hash:
        return "the hash does not match the entry's content"
    if not entry.event:
        return "the stored bytes no longer decode to an event"
    if entry.columns != indexed_columns(entry.event):
        return (
            "the indexed columns (type, conflict, ceasefire_id, refers_to) do not match the event"
        )
    return None


def leaf_of(entry_hash: Any) -> bytes:
    """The tree's leaf for an entry hash as recorded (text that is no hash still makes
    a leaf, so the tree of a damaged log can be compared)."""
    text = str(entry_hash)
    try:
        data = bytes.fromhex(text)
    except ValueError:
        data = text.encode()
    return merkle.leaf_hash(data)


def _walk(entries: Iterable[_Checked | str], tree: merkle.MemoryTree | None) -> ChainReport:
    """The chain check over entries in log order; a string stands for an entry that could
    not be read, and says why. Each recorded hash also becomes a leaf of ``tree``."""
    previous, expected, checked = GENESIS_HASH, 1, 0
    first_bad: int | None = None
    reason: str | None = None
    for entry in entries:
        checked += 1
        if isinstance(entry, str):
            why: str | None = entry
            recorded_hash, position = "", expected
        else:
            why = _why_bad(entry, previous, expected)
            recorded_hash = entry.hash
            position = entry.position if isinstance(entry.position, int) else expected
        if why is not None and first_bad is None:
            first_bad, reason = expected, why
        if tree is not None:
            tree.append(leaf_of(recorded_hash))
        previous = str(recorded_hash)
        expected = position + 1
    return ChainReport(first_bad is None, checked, first_bad, reason)


def verify_stored(
    entries: Iterable[StoredEntry], tree: merkle.MemoryTree | None = None
) -> ChainReport:
    """Walk the store's entries in log order, checking each one's hash under its own
    scheme, its stored bytes against their digest and its indexed columns against its
    event; the walk goes on to the end, counting every entry, and reports the first
    position that does not verify. With ``tree``, the recorded hashes are its leaves."""
    return _walk((_from_store(entry) for entry in entries), tree)


def verify_export(
    lines: Iterable[dict[str, Any]],
    decode: Decode | None = None,
    tree: merkle.MemoryTree | None = None,
) -> ChainReport:
    """:func:`verify_stored` for the lines of an export (each a dict, ``{}`` for a line
    that is no JSON object). With ``decode``, a version 2 entry's stored bytes must
    also decode to the line's ``event``."""
    return _walk(_export_entries(lines, decode), tree)


def _export_entries(
    lines: Iterable[dict[str, Any]], decode: Decode | None
) -> Iterator[_Checked | str]:
    for line in lines:
        try:
            yield _from_export(line, decode)
        except KeyError as missing:
            yield f"the entry has no {missing}"
        except (TypeError, ValueError, AttributeError) as error:
            yield f"the entry is malformed: {error}"


# -- the stored tree ---------------------------------------------------------------------


def tree_difference(
    stored: Iterable[tuple[int, int, bytes]], rebuilt: merkle.MemoryTree
) -> str | None:
    """The first stored node that the tree rebuilt from the entries does not have, or
    has with another hash, or the first level whose node count differs; None if the
    stored tree is exactly the rebuilt one."""
    counts: dict[int, int] = {}
    for level, index, node in stored:
        counts[level] = counts.get(level, 0) + 1
        try:
            if rebuilt.get(level, index) != node:
                return f"node ({level}, {index}) differs from the tree of the entries"
        except KeyError:
            return f"node ({level}, {index}) is not in the tree of the entries"
    for level in range(max([*counts, rebuilt.size.bit_length()]) + 1):
        if counts.get(level, 0) != rebuilt.node_count(level):
            return (
                f"level {level} holds {counts.get(level, 0)} nodes, the tree of the "
                f"entries {rebuilt.node_count(level)}"
            )
    return None


# -- against what others kept --------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Whether the log extends a state kept outside it, and if not, how it departs."""

    ok: bool
    message: str
    first_difference: int | None = None  # a position, when one can be named


def against_checkpoints(
    checkpoints: Sequence[Checkpoint], tree: merkle.MemoryTree, what: str = "the log"
) -> Comparison:
    """Compare the tree rebuilt from the entries with signed checkpoints (their
    signatures already checked), smallest first. The first checkpoint the log does not
    extend bounds where it was rewritten: after the largest one it still extends."""
    ordered = sorted(checkpoints, key=lambda c: c.tree_size)
    if not ordered:
        return Comparison(False, "no checkpoint to compare with")
    last_good = 0
    for checkpoint in ordered:
        size = checkpoint.tree_size
        if tree.size < size:
            state = "emptied" if tree.size == 0 else "truncated"
            return Comparison(
                False,
                f"{what} was {state}: it holds {tree.size} entries, and a checkpoint "
                f"signed at {checkpoint.timestamp} covers {size}",
                tree.size + 1,
            )
        if merkle.root(size, tree.get).hex() != checkpoint.root_hash:
            return Comparison(
                False,
                f"{what} was rewritten: its first {size} entries no longer hash to the "
                f"root signed at {checkpoint.timestamp}; the first changed entry lies "
                f"between positions {last_good + 1} and {size}",
            )
        last_good = size
    return Comparison(
        True, f"{what} extends the checkpoint of {last_good} entries ({tree.size} now)"
    )


def against_tree(
    earlier: merkle.MemoryTree, current: merkle.MemoryTree, what: str = "the log"
) -> Comparison:
    """Compare the current tree with an earlier one (an export's): the current log
    must hold every earlier entry unchanged. Names the first position that differs,
    found by bisection down the two trees."""
    size = min(earlier.size, current.size)
    index = merkle.first_difference(size, earlier.get, current.get)
    if index is not None:
        return Comparison(
            False, f"{what} was rewritten: entry {index + 1} differs from the export", index + 1
        )
    if current.size < earlier.size:
        state = "emptied" if current.size == 0 else "truncated"
        return Comparison(
            False,
            f"{what} was {state}: it holds {current.size} entries, the export {earlier.size}",
            current.size + 1,
        )
    return Comparison(
        True, f"{what} extends the export's {earlier.size} entries ({current.size} now)"
    )


# -- the keys' access log --------------------------------------------------------------------


def verify_key_log(
    records: Sequence[KeyRecord], keys: Sequence[dict[str, Any]]
) -> tuple[str | None, merkle.MemoryTree]:
    """Why the keys' access log does not verify (its chain, or a key in the keys table
    that its records do not account for), or None; and the log's tree."""
    tree = merkle.MemoryTree()
    previous, why = GENESIS_HASH, None
    for seq, record in enumerate(records, start=1):
        if why is None and record.seq != seq:
            why = f"record {seq}: expected seq {seq}, found {record.seq}"
        if why is None and key_record_hash(previous, *record[:-1]) != record.hash:
            why = f"record {seq}: the hash does not match its content"
        tree.append(leaf_of(record.hash))
        previous = record.hash
    return why or _unaccounted_key(records, keys), tree


def _unaccounted_key(records: Sequence[KeyRecord], keys: Sequence[dict[str, Any]]) -> str | None:
    logged: dict[str, tuple[str, str, bool]] = {}  # key id -> (role, secret hash, revoked)
    for record in records:
        logged[record.key_id] = (record.role, record.secret_hash, record.action == "revoke")
    for key in keys:
        stored = (key["role"], key["secret_hash"], key["revoked_at"] is not None)
        if logged.get(key["key_id"]) != stored:
            return f"key {key['key_id']} in the keys table is not as the access log records it"
    if missing := logged.keys() - {key["key_id"] for key in keys}:
        return f"key {min(missing)} of the access log is missing from the keys table"
    return None
