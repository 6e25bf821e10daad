"""How ``truceline serve`` runs the projector as a process of its own: started before the
workers, started again whenever it ends on its own, stopped after the workers.

The projector is ``python -m truceline project --exit-with <serve's pid>``: it ends by
itself if ``serve`` is killed without the chance to stop it. A projector killed alone
resumes from its read model's tracking row, so nothing is applied twice or skipped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time

from truceline.projections.projector import PositionBoard

log = logging.getLogger("truceline.serve")

READY_TIMEOUT = 60.0  # seconds for a new projector to open the read model
RESTART_DELAY = 1.0  # seconds between a projector's end and its next start
STOP_TIMEOUT = 10.0  # seconds a stopping projector has before it is killed


class ProjectorFailed(Exception):
    """The projector ended before it was ready; ``returncode`` is its exit status."""

    def __init__(self, returncode: int):
        super().__init__(f"the projector exited with status {returncode} before it was ready")
        self.returncode = returncode


class ProjectorSupervisor:
    """One ``truceline project`` child for the read model at ``read_model_path``."""

    def __init__(self, read_model_path: str, env: dict[str, str]):
        self.read_model_path = read_model_path
        self.env = env
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a stop and a restart never cross
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="projector")

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the projector and return once it has opened the read model and written
        its position (the workers then read a board that is its own, not one left from
        an earlier run); :class:`ProjectorFailed` if it ends first."""
        board = PositionBoard(self.read_model_path, writer=False)
        with contextlib.suppress(FileNotFoundError):
            os.remove(board.path)
        self._spawn()
        deadline = time.monotonic() + READY_TIMEOUT
        try:
            while board.read() is None:
                assert self._process is not None
                if (status := self._process.poll()) is not None:
                    raise ProjectorFailed(status)
                if time.monotonic() > deadline:
                    self.stop()
                    raise ProjectorFailed(-1)
                time.sleep(0.02)
        finally:
            board.close()
        self._watcher.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._process = self._popen()

    def _popen(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "truceline", "project", "--exit-with", str(os.getpid())]
        # A session of its own: a terminal's Ctrl-C reaches serve, which stops the
        # projector after the workers, rather than both at once.
        return subprocess.Popen(command, env=self.env, start_new_session=True)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            assert self._process is not None
            status = self._process.wait()
            if self._stopping.wait(RESTART_DELAY):
                return
            log.warning("the projector exited with status %s; starting it again", status)
            self.restarts += 1
            self._spawn()
