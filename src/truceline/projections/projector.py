"""The projector on its own: one process applies the log to a read-model file, and the
serving processes only read it.

With ``serve --workers N`` and a follower in every worker, N workers projected every
event N times into the same file, and each follower took its share of its worker's
interpreter lock. Here one process, ``truceline project``, holds the file's projector
lock (``<file>.projector.lock``, exclusive: a second projector of the file is refused)
and runs the :class:`~truceline.projections.follower.Follower`; a serving process runs
a :class:`ProjectorProgress` in its place. They speak through two small files beside the
read model:

* ``<file>.position``: the position the projector's read model has committed, written
  after each page's commit (:class:`PositionBoard`). A serving process reads it from
  shared memory, a load and no system call, so ``min_position`` waits and
  ``/v1/health`` never query the read model for it. It may lag the read model's tracking
  row (which stays the truth the projector resumes from), never lead it.
* ``<file>.wake``: a FIFO. A serving process writes a byte to it after each commit of
  its own, and the projector, waiting on it, looks at the log at once rather than at its
  next poll (:class:`WakeChannel`). On PostgreSQL the projector also listens for other
  machines' appends (LISTEN/NOTIFY), as the follower always has.

A FIFO rather than a signal to a process id read from a file: a stale id (the projector
died, its id was reused) would deliver the signal, whose default action is to end the
process, to whichever process has it now. A write to a FIFO nobody reads fails harmlessly.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import mmap
import os
import select
import stat
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from truceline.application.app import Truceline
from truceline.application.log import Entry
from truceline.application.sqlite_store import create_private
from truceline.projections.feed import Feed
from truceline.projections.follower import Follower, PositionWaiters, open_read_model
from truceline.projections.readmodel import (
    POSITION_SUFFIX,
    ReadModel,
    ReadModelInUse,
    ReadModelLock,
)

log = logging.getLogger("truceline.projections")

WAKE_SUFFIX = ".wake"
# Two copies of the position, written one after the other: a reader that finds them
# equal has read one whole write (an 8-byte copy into shared memory is not promised to be
# a single store).
_BOARD = struct.Struct("<qq")


class ProjectorRunning(Exception):
    """Another projector holds the read model's projector lock."""


class PositionBoard:
    """``<read model>.position``: the projector writes, serving processes read."""

    def __init__(self, read_model_path: str | Path, *, writer: bool):
        self.path = f"{read_model_path}{POSITION_SUFFIX}"
        self._map: mmap.mmap | None = None
        self._writer = writer
        if writer:
            create_private(self.path)
            with open(self.path, "r+b") as file:
                file.truncate(_BOARD.size)
                self._map = mmap.mmap(file.fileno(), _BOARD.size)

    def read(self) -> int | None:
        """The position last written; None while no projector has written one."""
        if self._map is None and not self._open():
            return None
        assert self._map is not None
        while True:
            first: int
            second: int
            first, second = _BOARD.unpack_from(self._map)
            if first == second:
                return first

    def write(self, position: int) -> None:
        assert self._map is not None and self._writer
        self._map[:8] = position.to_bytes(8, "little", signed=True)
        self._map[8:] = position.to_bytes(8, "little", signed=True)

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None

    def _open(self) -> bool:
        try:
            with open(self.path, "rb") as file:
                if os.fstat(file.fileno()).st_size < _BOARD.size:
                    return False  # a projector is creating it
                self._map = mmap.mmap(file.fileno(), _BOARD.size, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            return False
        return True


class WakeChannel:
    """``<read model>.wake``, a FIFO: :meth:`poke` from serving processes, :meth:`listen`
    in the projector."""

    def __init__(self, read_model_path: str | Path):
        self.path = f"{read_model_path}{WAKE_SUFFIX}"
        self._descriptor: int | None = None
        self._lock = threading.Lock()

    def poke(self) -> None:
        """Tell the projector something was appended; never blocks, never fails: without
        a projector reading, the byte is dropped (it catches up when it starts)."""
        with self._lock:
            for _attempt in range(2):  # a projector restarted since: reopen once
                if self._descriptor is None and not self._open_for_writing():
                    return
                assert self._descriptor is not None
                try:
                    os.write(self._descriptor, b"\0")
                    return
                except BlockingIOError:
                    return  # the FIFO is full of pokes the projector has yet to read
                except BrokenPipeError:
                    self._close()

    def listen(self, on_poke: Callable[[], None], stopped: threading.Event) -> None:
        """Call ``on_poke`` after each burst of pokes, until ``stopped`` is set (checked
        every 0.2 s)."""
        self._make_fifo()
        # Read and write: the FIFO then always has a writer, so it never reads as ended
        # between serving processes.
        descriptor = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        try:
            while not stopped.is_set():
                readable, _, _ = select.select([descriptor], [], [], 0.2)
                if readable:
                    with contextlib.suppress(BlockingIOError):
                        while os.read(descriptor, 4096):
                            pass
                    on_poke()
        finally:
            os.close(descriptor)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open_for_writing(self) -> bool:
        try:
            self._descriptor = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:  # no FIFO yet, or nobody reading it
            if error.errno not in (errno.ENOENT, errno.ENXIO):
                log.warning("cannot poke the projector through %s: %s", self.path, error)
            return False
        return True

    def _close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def _make_fifo(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISFIFO(os.stat(self.path).st_mode):
                return
            os.remove(self.path)  # not a FIFO: whatever it is, it is not ours to read
        with contextlib.suppress(FileExistsError):
            os.mkfifo(self.path, 0o600)


class Projector:
    """The one follower of a read-model file, publishing its position on the board.

    :meth:`start` takes the projector lock (or raises :class:`ProjectorRunning`), opens
    the read model as :func:`open_read_model` does (its refusals included), and follows
    the log on threads of its own until :meth:`stop`.
    """

    def __init__(self, app: Truceline, read_model_path: str):
        self.app = app
        self.path = read_model_path
        self.follower: Follower | None = None
        self._lock: ReadModelLock | None = None
        self._board: PositionBoard | None = None
        self._stopped = threading.Event()
        self._listener: threading.Thread | None = None

    def start(self) -> None:
        try:
            self._lock = ReadModelLock(f"{self.path}.projector", exclusive=True)
        except ReadModelInUse:
            raise ProjectorRunning(
                f"another projector of {self.path} is running ({self.path}.projector.lock "
                "is locked): one projector per read-model file"
            ) from None
        try:
            read_model = open_read_model(self.app, self.path)
        except BaseException:
            self._lock.release()
            raise
        self.follower = follower = Follower(self.app, read_model)
        self._board = board = PositionBoard(self.path, writer=True)
        board.write(follower.position)
        follower.on_applied.append(lambda _entries: board.write(follower.position))
        follower.start()
        wake = WakeChannel(self.path)
        self._listener = threading.Thread(
            target=wake.listen,
            args=(follower.poke, self._stopped),
            daemon=True,
            name="truceline-wake",
        )
        self._listener.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        if self.follower is not None:
            self.follower.stop()
            self.follower.read_model.close()
        if self._board is not None:
            self._board.close()
        if self._lock is not None:
            self._lock.release()


class ProjectorProgress:
    """A serving process's view of the projector, in the follower's place: the position
    its read model has reached, waits for a position on the event loop, the stream's
    entries once applied, and a poke after this process's commits.

    One thread watches the board: every ``tick`` seconds while a request waits for a
    position, every ``stream_tick`` while streams are open, every ``idle`` otherwise.
    Each look is a read of shared memory; the streams' entries are read from the log,
    once per process, only while a stream is open.
    """

    def __init__(
        self,
        app: Truceline,
        read_model: ReadModel,
        read_model_path: str,
        *,
        tick: float = 0.002,
        stream_tick: float = 0.02,
        idle: float = 0.2,
    ):
        self.app = app
        self.read_model = read_model
        self.tick, self.stream_tick, self.idle = tick, stream_tick, idle
        self.feed: Feed | None = None  # published to as the projector advances
        self._board = PositionBoard(read_model_path, writer=False)
        self._wake = WakeChannel(read_model_path)
        self._position = read_model.position()  # until a projector writes the board
        self._published = self._position
        self._waiters = PositionWaiters()
        self._looking = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="truceline-board")

    @property
    def position(self) -> int:
        board = self._board.read()
        return self._position if board is None else board

    def poke(self) -> None:
        """This process committed: wake the projector."""
        self._wake.poke()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._looking.set()
        self._thread.join(timeout=5)
        self._wake.close()
        self._board.close()

    async def reached(self, position: int, timeout: float) -> bool:
        """True once the projector has reached ``position``; False after ``timeout``."""
        if self.position >= position:
            return True
        return await self._waiters.wait(position, timeout, lambda: self.position, self._looking.set)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._looking.clear()
            try:
                self._look()
            except Exception:  # the store may be down for a while: keep looking
                log.exception("reading the projector's progress failed; retrying")
                self._stopped.wait(1.0)
            self._looking.wait(self._interval())

    def _interval(self) -> float:
        if self._waiters:
            return self.tick
        if self.feed is not None and self.feed.watched:
            return self.stream_tick
        return self.idle

    def _look(self) -> None:
        position = self.position
        if position > self._published:
            self._publish(position)
        self._waiters.release(position)

    def _publish(self, position: int) -> None:
        """Hand the feed the entries up to ``position``, read from the log only while a
        stream reads the feed."""
        feed = self.feed
        if feed is None or not feed.watched:
            if feed is not None:
                feed.skip_to(position)
            self._published = position
            return
        while self._published < position:
            entries: Sequence[Entry] = self.app.read_log(
                self._published, min(1000, position - self._published)
            )
            if not entries:
                return
            feed.publish(entries)
            self._published = entries[-1].position
