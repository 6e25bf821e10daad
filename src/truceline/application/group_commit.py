"""Group commit: concurrent appends coalesced into one store transaction.

A durable append costs one fsync (SQLite) or one commit round trip (PostgreSQL), and
eventsourcing's recorder does not get faster with more threads. So one writer thread
takes every request that arrived while the previous transaction ran and appends them
together; each request still succeeds or fails on its own (see
:meth:`Truceline.append_group`). Callers wait on a future, so an ``async`` handler never
blocks the event loop.

Both the queue and a group are bounded in events: a full queue refuses at once
(:class:`QueueFull`, answered 503) rather than let callers wait out their timeout, and
no group holds more than ``max_group_events`` unless one request alone does.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from truceline.application.app import Appended, AppendRequest, Truceline

_STOP = None

_Item = tuple[AppendRequest, "Future[Appended]"]


class QueueFull(Exception):
    """The writer has more events queued than it may: try again shortly."""


class GroupCommitter:
    """One writer thread in front of :meth:`Truceline.append_group`."""

    def __init__(
        self,
        app: Truceline,
        max_group_events: int = 20_000,
        on_commit: Callable[[], None] | None = None,
        max_queued_events: int = 100_000,
    ):
        self.app = app
        self.on_commit = on_commit
        self.max_group_events = max_group_events
        self.max_queued_events = max_queued_events
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._queued = 0  # events submitted and not yet taken into a group
        self._count_lock = threading.Lock()
        self._held: _Item | None = None  # taken, but left for the next group
        self._thread = threading.Thread(target=self._run, name="truceline-writer", daemon=True)
        self._thread.start()

    def submit(self, request: AppendRequest) -> Future[Appended]:
        """Queue a request; the future holds its :class:`Appended` or what refused it.
        Raise :class:`QueueFull` if it would take the queue past its bound (a request
        to an empty queue is always taken)."""
        size = len(request.events)
        with self._count_lock:
            if self._queued and self._queued + size > self.max_queued_events:
                raise QueueFull(f"{self._queued} events are waiting for the writer")
            self._queued += size
        future: Future[Appended] = Future()
        self._queue.put((request, future))
        return future

    @property
    def queued_events(self) -> int:
        """Events submitted and not yet taken into a group."""
        return self._queued

    def close(self) -> None:
        """Finish what is queued, then stop the writer."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first, self._held = self._held or self._queue.get(), None
            if first is _STOP:
                return
            group, stop = self._group(first)
            with self._count_lock:
                self._queued -= sum(len(request.events) for request, _ in group)
            self._commit(group)
            if stop:
                return

    def _group(self, first: _Item) -> tuple[list[_Item], bool]:
        """``first`` and what else is queued, up to ``max_group_events``; a request that
        would take the group past it is held for the next. True once the queue says stop."""
        group, size = [first], len(first[0].events)
        while size < self.max_group_events:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return group, False
            if more is _STOP:
                return group, True
            if size + len(more[0].events) > self.max_group_events:
                self._held = more
                return group, False
            group.append(more)
            size += len(more[0].events)
        return group, False

    def _commit(self, group: list[_Item]) -> None:
        try:
            results = self.app.append_group([request for request, _ in group])
        except Exception as error:  # the store failed: every request of the group failed
            for _, future in group:
                future.set_exception(error)
            return
        if self.on_commit is not None:
            self.on_commit()
        for (_, future), result in zip(group, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
