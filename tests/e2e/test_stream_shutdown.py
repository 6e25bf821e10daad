"""A real ``truceline serve`` process ends its open streams when it is told to stop.

uvicorn waits for open responses before it shuts down, and a stream never ends by itself:
without the service closing them on SIGTERM, the process would hang until it was killed.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.e2e.servers import cli_env, serving_process

SHUTDOWN_SECONDS = 10.0


def test_sigterm_ends_open_streams_cleanly_and_the_server_exits(tmp_path: Path) -> None:
    env = {**cli_env(f"sqlite:///{tmp_path}/truceline.db"), "TRUCELINE_OPEN_READS": "1"}
    with serving_process(env, tmp_path, tmp_path / "serve.log") as (process, base_url):
        with httpx.stream("GET", f"{base_url}/v1/stream", timeout=SHUTDOWN_SECONDS) as response:
            assert response.status_code == 200
            process.send_signal(signal.SIGTERM)
            began = time.monotonic()
            body = response.read().decode()  # the whole rest: the stream must end
        exit_code = process.wait(timeout=SHUTDOWN_SECONDS)
        took = time.monotonic() - began

    assert body == ": the server is shutting down\n\n"
    # uvicorn shuts down, then raises the signal it caught again, as servers should.
    assert exit_code == -signal.SIGTERM
    assert took < SHUTDOWN_SECONDS
    assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
