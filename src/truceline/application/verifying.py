"""``truceline verify``'s work, apart from its printing: the live log checked on its own
and against files kept elsewhere, or an export checked offline with nothing but files.

Each check gives :class:`Finding` lines; the command prints them and exits 0 only if
every one is ok.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from truceline.application.app import LogAudit
from truceline.application.audit import (
    ChainReport,
    Comparison,
    against_checkpoints,
    against_tree,
    verify_export,
)
from truceline.application.checkpoints import (
    Checkpoint,
    CheckpointError,
    key_id_of,
    read_checkpoints,
)
from truceline.application.recorded import decode_stored, offline_mapper
from truceline.domain import merkle


@dataclass(frozen=True)
class Finding:
    ok: bool
    line: str


def chain_finding(report: ChainReport, what: str = "hash chain") -> Finding:
    if report.ok:
        return Finding(True, f"{what} verified: {report.events_checked} events")
    return Finding(
        False,
        f"{what} BROKEN at position {report.first_bad_position} ({report.reason}); "
        f"{report.events_checked} events checked",
    )


def audit_findings(audit: LogAudit) -> list[Finding]:
    """What :meth:`Truceline.audit` found, as lines."""
    records = len(audit.key_log)
    return [
        chain_finding(audit.chain),
        Finding(True, f"Merkle tree: {audit.tree.size} leaves match the stored tree")
        if audit.tree_problem is None
        else Finding(False, f"Merkle tree DIFFERS from the entries: {audit.tree_problem}"),
        Finding(True, f"keys' access log verified: {records} record{'' if records == 1 else 's'}")
        if audit.key_log_problem is None
        else Finding(False, f"keys' access log BROKEN: {audit.key_log_problem}"),
    ]


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    """An export's lines, in order; a line that is no JSON object reads as ``{}``, which
    the chain then reports as the first bad position."""
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                try:
                    entry = json.loads(line)
                except ValueError:
                    entry = {}
                yield entry if isinstance(entry, dict) else {}


def is_export(path: Path) -> bool:
    """Whether a file holds log entries (an export) rather than checkpoints; raises
    CheckpointError for a file that holds neither."""
    with path.open("rb") as lines:
        first = next((line for line in lines if line.strip()), b"")
    try:
        head = json.loads(first)
    except ValueError:
        head = _whole_json(path)  # one checkpoint, written over several lines
    if isinstance(head, dict) and "root_hash" in head:
        return False
    if isinstance(head, dict) and "position" in head:
        return True
    if not first:
        return True  # an empty export: the log had no entries
    raise CheckpointError(f"{path} holds neither checkpoints nor an export")


def _whole_json(path: Path) -> Any:
    if path.stat().st_size > 1_000_000:  # no checkpoint is that long
        return None
    try:
        return json.loads(path.read_bytes())
    except ValueError:
        return None


def signed_checkpoints(path: Path, public_key: Ed25519PublicKey) -> list[Checkpoint]:
    """The checkpoints in ``path``, each signature checked; CheckpointError names the
    first that ``public_key`` did not sign."""
    checkpoints = read_checkpoints(path.read_text(encoding="utf-8"))
    for checkpoint in checkpoints:
        if not checkpoint.signed_by(public_key):
            raise CheckpointError(
                f"the checkpoint of {checkpoint.tree_size} entries signed at "
                f"{checkpoint.timestamp} does not verify with key {key_id_of(public_key)}"
            )
    return checkpoints


def against_file(audit: LogAudit, path: Path, public_key: Ed25519PublicKey | None) -> list[Finding]:
    """The live log (as audited) against a checkpoint, an archive of them, or an
    earlier export. Raises CheckpointError for a file that cannot be used."""
    if is_export(path):
        earlier = merkle.MemoryTree()
        chain = verify_export(read_export(path), tree=earlier)
        findings = [] if chain.ok else [chain_finding(chain, f"{path.name}'s own chain")]
        return [*findings, _finding(against_tree(earlier, audit.tree))]
    if public_key is None:
        raise CheckpointError("no public key to check the checkpoints with: pass --public-key")
    checkpoints = signed_checkpoints(path, public_key)
    trees = {"events": (audit.tree, "the log"), "keys": (audit.key_tree, "the keys' log")}
    findings = []
    for name, (tree, what) in trees.items():
        mine = [c for c in checkpoints if c.log == name]
        if mine:
            findings.append(_finding(against_checkpoints(mine, tree, what)))
    return findings


def offline(
    export: Path, checkpoint: Path | None, public_key: Ed25519PublicKey | None
) -> list[Finding]:
    """An export checked with nothing but files: each entry's hash, its stored bytes
    against its event, and, with a checkpoint, the export's tree against the signed
    root. Raises CheckpointError for a checkpoint that cannot be used."""
    tree = merkle.MemoryTree()
    decode = partial(decode_stored, offline_mapper())
    findings = [chain_finding(verify_export(read_export(export), decode, tree))]
    if checkpoint is not None:
        if public_key is None:
            raise CheckpointError("--checkpoint needs --public-key, the key it was signed with")
        checkpoints = [c for c in signed_checkpoints(checkpoint, public_key) if c.log == "events"]
        findings.append(_finding(against_checkpoints(checkpoints, tree, "the export")))
    return findings


def _finding(comparison: Comparison) -> Finding:
    return Finding(comparison.ok, comparison.message)
