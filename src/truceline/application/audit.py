"""Checking the hash chain: of the live log, or of an export file, offline.

Each entry's hash covers its canonical content and the previous entry's hash
(:func:`truceline.application.log.entry_hash`), so an event edited, deleted or moved
behind the service's back breaks the chain at the first position that changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from truceline.application.log import GENESIS_HASH, entry_hash


@dataclass(frozen=True)
class ChainReport:
    """What a walk along the chain found."""

    ok: bool
    events_checked: int
    first_bad_position: int | None
    reason: str | None = None


def verify_chain(entries: Iterable[dict[str, Any]]) -> ChainReport:
    """Walk entries in log order (dicts of ``position``, ``recorded_at``, ``recorded_by``,
    ``hash``, ``event``, as ``export`` writes them).

    The walk goes on to the end, counting every entry, and reports the first position
    that does not verify: a missing position, an entry out of place, or a hash that no
    longer matches its content (an event that no longer decodes reads as ``{}``).
    """
    previous, expected, checked = GENESIS_HASH, 1, 0
    first_bad: int | None = None
    reason: str | None = None
    for entry in entries:
        checked += 1
        position = entry.get("position")
        if not isinstance(position, int) or isinstance(position, bool):
            position = expected
            why: str | None = "the entry has no position"
        elif position != expected:
            why = f"expected position {expected}, found {position}"
        else:
            why = None
        try:
            recomputed = entry_hash(
                previous, position, entry["recorded_at"], entry["recorded_by"], entry["event"]
            )
        except KeyError as missing:
            recomputed, why = "", why or f"the entry has no {missing}"
        if why is None and recomputed != entry.get("hash"):
            why = "the hash does not match the entry's content"
        if why is not None and first_bad is None:
            first_bad, reason = expected, why
        previous = str(entry.get("hash"))
        expected = position + 1
    return ChainReport(first_bad is None, checked, first_bad, reason)
