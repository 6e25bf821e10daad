"""The live feed: the log's newest entries, held once for every stream of a process.

The follower publishes each page of entries it has applied to the read models, so a
client that hears of an entry can read it back at once. Streams never query the log on
a tick: they wait on the feed, which wakes all of them, and read the entries it holds in
a window of the last ``backlog``. A stream whose position has fallen out of that window
reads the log itself in pages until it is back in it (a client resuming from an old
``Last-Event-ID``), or, once it has been live, is told it fell too far behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from truceline.application.log import Entry


@dataclass(frozen=True)
class Message:
    """One log entry as a stream sends it: ``data`` is the entry as ``GET /v1/events``
    gives it, as JSON text on one line."""

    position: int
    type: str
    conflict: str
    data: str

    @classmethod
    def of(cls, entry: Entry) -> Message:
        # The standard library rather than orjson: counts have no upper bound, and
        # orjson refuses integers beyond 64 bits. JSON text escapes line breaks, so the
        # text is one SSE data line.
        text = json.dumps(entry.as_dict(), ensure_ascii=False, separators=(",", ":"))
        return cls(entry.position, entry.event["type"], entry.event["conflict"], text)


class Feed:
    """The last ``backlog`` entries the follower applied, and a wake-up for waiters.

    ``publish`` runs on the follower's thread; ``since`` and ``wait`` on event loops.
    """

    def __init__(self, position: int, backlog: int):
        self.backlog = backlog
        self.closed = False
        self._start = position  # the window holds the entries after this position
        self._messages: list[Message] = []
        self._lock = threading.Lock()
        self._watchers = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def position(self) -> int:
        """The last position published."""
        return self._start + len(self._messages)

    @property
    def watched(self) -> bool:
        """Whether any stream reads the feed now."""
        return self._watchers > 0

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Count a stream as reading the feed while the block runs."""
        with self._lock:
            self._watchers += 1
        try:
            yield
        finally:
            with self._lock:
                self._watchers -= 1

    def publish(self, entries: Sequence[Entry]) -> None:
        """Add entries that follow on from :attr:`position`, and wake every waiter."""
        if not entries:
            return
        if not self._watchers:
            # Nobody reads the window: skip making messages (a catch-up of the whole
            # log would otherwise serialise every entry once more).
            self.skip_to(entries[-1].position)
            return
        messages = [Message.of(entry) for entry in entries]
        with self._lock:
            if entries[0].position != self.position + 1:  # a gap: start a new window
                self._start, self._messages = entries[0].position - 1, []
            self._messages.extend(messages)
            excess = len(self._messages) - self.backlog
            if excess > self.backlog // 4:  # trim now and then, not on every page
                self._start += excess
                del self._messages[:excess]
        self._wake_all()

    def skip_to(self, position: int) -> None:
        """Start an empty window at ``position``: a stream that starts later, before the
        window, reads the log instead."""
        with self._lock:
            self._start, self._messages = position, []

    def since(self, position: int) -> list[Message] | None:
        """The messages after ``position``; None if ``position`` lies before the window
        (the entries after it are no longer all held here)."""
        with self._lock:
            if position < self._start:
                return None
            return self._messages[position - self._start :]

    async def wait(self, position: int, timeout: float) -> None:
        """Return once something after ``position`` is published, the feed closes, or
        ``timeout`` seconds pass."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        self._waiters.add(waiter)
        try:
            if self.position > position or self.closed:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._waiters.discard(waiter)

    def close(self) -> None:
        """End every stream: waiters wake, and streams see :attr:`closed`."""
        self.closed = True
        self._wake_all()

    def _wake_all(self) -> None:
        for loop, event in list(self._waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop has closed; its streams are gone
                self._waiters.discard((loop, event))
