"""Real ``truceline`` processes for the end-to-end tests: ``truceline serve`` on a free
port, answering ``/v1/health``, and one-off CLI commands, each with only the TRUCELINE_*
settings a test gives it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import environ_without_settings

TRUCELINE = Path(sys.executable).parent / "truceline"
STARTUP_TIMEOUT = 30.0  # seconds for a server to answer /v1/health
COMMAND_TIMEOUT = 120.0  # seconds for one CLI command
START_ATTEMPTS = 3


def cli_env(database_url: str) -> dict[str, str]:
    """The caller's environment with only this test's setting: no TRUCELINE_* knob of the
    caller's shell leaks in."""
    env = environ_without_settings()
    env["TRUCELINE_DATABASE_URL"] = database_url
    return env


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``truceline ARGS``; fail with its output unless it exits 0."""
    result = subprocess.run(
        [str(TRUCELINE), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, (
        f"truceline {' '.join(args)} exited {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> bool:
    """True once /v1/health answers 200; False if the process died first (a port taken
    between choosing it and binding it, say). Fails the test on a timeout."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{base_url}/v1/health", timeout=1.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(
        f"truceline serve did not answer /v1/health within {STARTUP_TIMEOUT}s:\n"
        f"{log.read_text(errors='replace')}"
    )


@contextmanager
def serving(env: dict[str, str], cwd: Path, log: Path, *options: str) -> Iterator[str]:
    """``truceline serve [OPTIONS]`` as a subprocess on a free port, its output in
    ``log``; yields its base URL once it is healthy, and stops it on exit."""
    with serving_process(env, cwd, log, *options) as (_process, base_url):
        yield base_url


@contextmanager
def serving_process(
    env: dict[str, str], cwd: Path, log: Path, *options: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """:func:`serving`, yielding the process too (to kill it)."""
    for _attempt in range(START_ATTEMPTS):  # a port taken before it was bound: another
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(TRUCELINE), "serve", "--host", "127.0.0.1", "--port", str(port), *options],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            if wait_healthy(process, base_url, log):
                yield process, base_url
                return
        finally:
            stop(process)
    pytest.fail(
        f"truceline serve kept exiting at start ({log.name}):\n{log.read_text(errors='replace')}"
    )
