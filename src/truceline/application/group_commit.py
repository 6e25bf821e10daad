"""Group commit: concurrent appends coalesced into one store transaction.

A durable append costs one fsync (SQLite) or one commit round trip (PostgreSQL), and
eventsourcing's recorder does not get faster with more threads. So one writer thread
takes every request that arrived while the previous transaction ran and appends them
together; each request still succeeds or fails on its own (see
:meth:`Truceline.append_group`). Callers wait on a future, so an ``async`` handler never
blocks the event loop.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from truceline.application.app import Appended, AppendRequest, Truceline

_STOP = None


class GroupCommitter:
    """One writer thread in front of :meth:`Truceline.append_group`."""

    def __init__(
        self,
        app: Truceline,
        max_group_events: int = 20_000,
        on_commit: Callable[[], None] | None = None,
    ):
        self.app = app
        self.on_commit = on_commit
        self.max_group_events = max_group_events
        self._queue: queue.SimpleQueue[tuple[AppendRequest, Future[Appended]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name="truceline-writer", daemon=True)
        self._thread.start()

    def submit(self, request: AppendRequest) -> Future[Appended]:
        """Queue a request; the future holds its :class:`Appended` or what refused it."""
        future: Future[Appended] = Future()
        self._queue.put((request, future))
        return future

    def close(self) -> None:
        """Finish what is queued, then stop the writer."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            group = [item]
            size = len(item[0].events)
            stop = False
            while size < self.max_group_events:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                group.append(more)
                size += len(more[0].events)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[tuple[AppendRequest, Future[Appended]]]) -> None:
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
