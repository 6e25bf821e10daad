"""Signing checkpoints of the log and of the keys' access log, on demand or as they grow.

:meth:`Notary.sign` signs the head of each log that moved since its latest checkpoint,
keeps the checkpoints in the store (``GET /v1/audit/checkpoint`` reads them back) and
appends them to an archive file an auditor can copy. Before signing, it checks that the
log still extends its latest checkpoint, so the service never signs a rewritten history:
it refuses, and says so, until someone has looked (``truceline verify``). The latest
checkpoint is the larger of the store's and the archive file's, so emptying the store's
checkpoints does not get a rewritten history signed.

In a server, :meth:`Notary.start` runs a thread that signs once ``every`` entries were
appended since the last checkpoint, or ``seconds`` after an append that was not yet
signed. Several workers may each run one: the store keeps one checkpoint per tree size,
and only the worker whose checkpoint was kept archives it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from truceline.application.app import Truceline
from truceline.application.checkpoints import Checkpoint, SigningKey, read_checkpoints
from truceline.domain import merkle
from truceline.settings import private_folder

log = logging.getLogger(__name__)

RootOf = Callable[[int], bytes]  # a tree size -> the root of that many entries


class CheckpointRefused(Exception):
    """The log no longer extends its latest checkpoint: nothing was signed."""


class Notary:
    """Signs checkpoints of ``app``'s logs with ``key``, archiving them to ``archive``."""

    def __init__(self, app: Truceline, key: SigningKey, archive: Path | None):
        self.app = app
        self.key = key
        self.archive = archive
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def latest(self, log_name: str = "events") -> Checkpoint | None:
        return self.app.latest_checkpoint(log_name)

    def sign(self) -> list[Checkpoint]:
        """Sign each log's head if it moved since its latest checkpoint; return the
        checkpoints this call kept. Raises :class:`CheckpointRefused` if a log no
        longer extends its latest checkpoint."""
        size = self.app.log_position()
        records, key_tree = self.app.key_log_tree()
        heads: dict[str, tuple[int, RootOf]] = {
            "events": (size, self.app.stored_root),
            "keys": (len(records), partial(merkle.root, get=key_tree.get)),
        }
        kept = []
        for log_name, (head, root_of) in heads.items():
            stored = self.latest(log_name)
            for signed_before in (self._archived(log_name), stored):
                if signed_before is not None:
                    _check_extends(log_name, signed_before, head, root_of)
            if stored is not None and stored.tree_size == head:
                continue
            checkpoint = self.key.sign(log_name, head, root_of(head))
            if self.app.store.insert_checkpoint(log_name, head, checkpoint.to_json()):
                self._archive(checkpoint)
                kept.append(checkpoint)
        return kept

    def _archived(self, log_name: str) -> Checkpoint | None:
        """The largest checkpoint of ``log_name`` in the archive file: kept outside the
        database, so emptying the store's checkpoints does not let a rewritten history
        be signed."""
        if self.archive is None or not self.archive.exists():
            return None
        mine = [
            c
            for c in read_checkpoints(self.archive.read_text(encoding="utf-8"))
            if c.log == log_name
        ]
        return max(mine, key=lambda c: c.tree_size, default=None)

    def _archive(self, checkpoint: Checkpoint) -> None:
        if self.archive is None:
            return
        private_folder(self.archive.parent)
        # 0600 when it is made: the archive is the operator's, like the signing key.
        descriptor = os.open(self.archive, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as out:
            out.write(checkpoint.to_json() + "\n")

    # -- in a server --------------------------------------------------------------------

    def start(self, every: int, seconds: float) -> None:
        """Sign in a thread once ``every`` entries wait, or ``seconds`` after the first
        unsigned one (:meth:`poke` after each commit)."""
        self._thread = threading.Thread(
            target=self._run, args=(every, seconds), name="truceline-notary", daemon=True
        )
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    poll_interval = 0.5  # seconds between two looks at the logs, however many commits poke

    def _run(self, every: int, seconds: float) -> None:
        deadline: float | None = None  # when the oldest unsigned entry must be signed
        while not self._stopped.is_set():
            timeout = seconds if deadline is None else max(0.0, deadline - time.monotonic())
            self._wake.wait(timeout)
            # Commits poke this thread hundreds of times a second under load; each look
            # costs a few queries, so it looks at most every poll_interval.
            if self._stopped.wait(min(self.poll_interval, timeout)):
                return
            self._wake.clear()
            unsigned = self._unsigned()
            if unsigned == 0:
                deadline = None
                continue
            if deadline is None:
                deadline = time.monotonic() + seconds
            if unsigned >= every or time.monotonic() >= deadline:
                self._sign_logged()
                deadline = None

    def _unsigned(self) -> int:
        """Entries of either log appended since its latest checkpoint."""
        heads = {"events": self.app.log_position(), "keys": len(self.app.store.key_log())}
        return sum(
            head - (latest.tree_size if (latest := self.latest(name)) else 0)
            for name, head in heads.items()
        )

    def _sign_logged(self) -> None:
        try:
            self.sign()
        except CheckpointRefused as refusal:
            log.error("no checkpoint signed: %s", refusal)
        except Exception:  # a store that is down: the next round tries again
            log.exception("signing a checkpoint failed")


def _check_extends(log_name: str, latest: Checkpoint, head: int, root_of: RootOf) -> None:
    if head < latest.tree_size:
        raise CheckpointRefused(
            f"the {log_name} log holds {head} entries, fewer than the {latest.tree_size} "
            "of its latest checkpoint: run truceline verify"
        )
    if root_of(latest.tree_size).hex() != latest.root_hash:
        raise CheckpointRefused(
            f"the {log_name} log's first {latest.tree_size} entries no longer hash to its "
            "latest checkpoint's root: run truceline verify"
        )
