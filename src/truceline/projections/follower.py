"""The follower: keeps a read model up to the log, page by page.

It catches up from the position the read model recorded, then follows: woken at once by
this process's own appends, by PostgreSQL's LISTEN/NOTIFY (eventsourcing's subscription)
for other processes' appends, and on SQLite, which has no subscription, by polling.
Readers that need their own write (``min_position``) wait on :meth:`wait_for`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError

from truceline.application.app import Truceline
from truceline.application.log import Entry
from truceline.application.postgres_store import PostgresLogRecorder
from truceline.projections.readmodel import ReadModel, ReadModelLock

log = logging.getLogger("truceline.projections")


# Pages of a bulk build (rebuild, replay): bigger pages mean fewer commits, and nobody
# waits on the file meanwhile. A commit writes every index page its inserts touched, and
# keys in random order (event ids) touch one page each once the index is large: at 200,000
# events, pages of 5,000 spent 62 ms a commit against 32 ms at 20,000; pages of 20,000
# share more of those pages (catch-up of 200,000: 17.2 -> 16.2 s).
BULK_PAGE_SIZE = 20000


class Progress(Protocol):
    """How far the read models have come, as the API needs it: a :class:`Follower` in
    the serving process, or a view of a projector of its own
    (:class:`~truceline.projections.projector.ProjectorProgress`)."""

    app: Truceline

    @property
    def position(self) -> int: ...

    async def reached(self, position: int, timeout: float) -> bool: ...


class Follower:
    """One thread that applies new log entries to a :class:`ReadModel`."""

    def __init__(
        self,
        app: Truceline,
        read_model: ReadModel,
        *,
        page_size: int = 1000,
        poll_interval: float = 0.2,
        until: int | None = None,
    ):
        self.app = app
        self.read_model = read_model
        self.page_size = page_size
        self.poll_interval = poll_interval
        self.until = until  # stop at this position (a replay, a scratch rebuild)
        self.position = read_model.position()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._advanced = threading.Condition()
        self._waiters = PositionWaiters()  # requests waiting on an event loop
        self._threads: list[threading.Thread] = []
        self._subscription: Any = None
        # Called on the follower's thread with each page, once the read model holds it.
        self.on_applied: list[Callable[[Sequence[Entry]], None]] = []

    # -- driving it ---------------------------------------------------------------------

    def step(self) -> int:
        """Apply the next page; return how many entries it held."""
        position = self.position  # this follower's own writes are the only usual ones
        limit = self.page_size
        if self.until is not None:
            limit = min(limit, self.until - position)
            if limit <= 0:
                return 0
        entries = self.app.read_log(position, limit)
        if not entries:
            return 0
        try:
            self.read_model.apply(entries)
            position = entries[-1].position
        except IntegrityError:
            # Another follower of the same file applied this page first: its tracking
            # row refused ours, and our transaction rolled back. Carry on from there.
            log.info("page after %s already applied elsewhere", entries[0].position - 1)
            position = self.read_model.position()
        with self._advanced:
            self.position = position
            self._advanced.notify_all()
        self._waiters.release(position)
        for listener in self.on_applied:
            listener(entries)
        return len(entries)

    def catch_up(
        self, on_progress: Callable[[int], None] | None = None, *, bulk: bool = False
    ) -> int:
        """Apply pages until the read model has reached the end of the log; ``bulk``
        defers the serving indexes to the end (for a rebuild, not while serving)."""
        if bulk:
            with self.read_model.bulk():
                return self.catch_up(on_progress)
        total = 0
        while count := self.step():
            total += count
            if on_progress:
                on_progress(count)
        return total

    def start(self) -> None:
        """Follow in the background until :meth:`stop`."""
        self._threads.append(
            threading.Thread(target=self._run, name="truceline-follower", daemon=True)
        )
        if isinstance(self.app.recorder, PostgresLogRecorder):
            self._threads.append(
                threading.Thread(target=self._listen, daemon=True, name="truceline-listen")
            )
        for thread in self._threads:
            thread.start()

    def poke(self) -> None:
        """Something was appended: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._subscription is not None:
            self._subscription.stop()
        for thread in self._threads:
            thread.join(timeout=5)

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the read model has reached ``position``; False on timeout."""
        if self.position >= position:
            return True  # already there: no need to wake the follower for an empty read
        self.poke()
        with self._advanced:
            return self._advanced.wait_for(lambda: self.position >= position, timeout)

    async def reached(self, position: int, timeout: float) -> bool:
        """:meth:`wait_for` on the event loop, holding no thread."""
        if self.position >= position:
            return True
        return await self._waiters.wait(position, timeout, lambda: self.position, self.poke)

    # -- the threads -------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopped.is_set():
            # Cleared before the step, so a poke during it is not lost: the wait below
            # then returns at once.
            self._wake.clear()
            try:
                if self.step() == self.page_size:
                    continue  # a full page: there may be more already
            except Exception:  # the store may be down for a while: keep trying
                log.exception("projection step failed; retrying")
                self._stopped.wait(1.0)
            self._wake.wait(self.poll_interval)

    def _listen(self) -> None:
        while not self._stopped.is_set():
            try:
                with self.app.recorder.subscribe(gt=self.position) as subscription:
                    self._subscription = subscription
                    for _ in subscription:
                        self.poke()
                        if self._stopped.is_set():
                            return
            except Exception:
                log.exception("LISTEN subscription failed; polling until it is back")
                self._stopped.wait(1.0)


class PositionWaiters:
    """Requests waiting on their event loops until a position is reached. The waiting
    holds no thread (45 reads waiting in worker threads once made ``/v1/health`` take
    9 s); whoever advances the position calls :meth:`release` from its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def __bool__(self) -> bool:
        return bool(self._waiting)

    async def wait(
        self,
        position: int,
        timeout: float,
        current: Callable[[], int],
        wake: Callable[[], None],
    ) -> bool:
        """True once ``current()`` or a :meth:`release` has reached ``position``; False
        after ``timeout``. ``wake`` is called once this waiter is registered."""
        loop = asyncio.get_running_loop()
        waiter = (position, loop, loop.create_future())
        with self._lock:
            if current() >= position:  # a release may have passed since the caller looked
                return True
            self._waiting.append(waiter)
        wake()
        try:
            await asyncio.wait_for(waiter[2], timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiting.remove(waiter)

    def release(self, position: int) -> None:
        """Wake the waiters for ``position`` or before; call once it is visible."""
        with self._lock:
            reached = [w for w in self._waiting if w[0] <= position]
        for _, loop, future in reached:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    """Resolve a waiter's future (on its own event loop), unless it timed out already."""
    if not future.done():
        future.set_result(None)


class ReadModelMismatch(Exception):
    """The read model was built from entries the log no longer holds."""


def open_read_model(app: Truceline, path: str) -> ReadModel:
    """The read model at ``path``, once it is known to have been built from this log.

    It remembers the hash of the last entry it applied. If the log holds another entry at
    that position (history rewritten, a database restored or replaced) or ends before it,
    raise :class:`ReadModelMismatch` rather than rebuild: the file is then evidence of
    what the log held, and is replaced only on purpose, by ``truceline rebuild``.

    The read model holds its lock, shared with other servers of the file, until closed;
    while a rebuild holds it, :class:`ReadModelLock` raises ``ReadModelInUse``.
    """
    lock = ReadModelLock(path, exclusive=False)
    try:
        read_model = ReadModel(path, lock=lock)
    except BaseException:
        lock.release()
        raise
    position, last_hash = read_model.position(), read_model.last_hash()
    if position == 0:
        return read_model
    entries = app.read_log(position - 1, 1)
    if entries and entries[0].hash == last_hash:
        return read_model
    read_model.close()
    what = "holds another entry there" if entries else f"ends at {app.log_position()}"
    raise ReadModelMismatch(
        f"the read model {path} was built up to position {position} of a log, and this log "
        f"{what}: its history differs from what the read model saw. Run `truceline verify`; "
        "then `truceline rebuild` to build the read model again from the log as it is now"
    )
