"""``truceline serve --workers 2`` runs one projector process beside its workers: the
workers only read the read model, and learn the projector's position from its board.

Killed alone, the projector is started again by ``serve`` and resumes from its read
model's tracking row: the file ends up as a fresh build of the same log would be, every
event applied exactly once. A second projector of the same file is refused; a projector
run on its own (``truceline project``) serves workers started with ``--projector
external``; and a projector whose ``serve`` was killed ends by itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import empty_postgres
from tests.e2e.servers import TRUCELINE, cli_env, run_cli, serving, serving_process, stop
from tests.helpers import CONFLICT, valid_event
from tests.projections.read_model_helpers import build, history, table_rows
from truceline.application.app import Truceline
from truceline.projections.projector import PositionBoard
from truceline.settings import Settings

LOG_SIZE = 20_000
TIMEOUT = 60.0  # seconds for the projector to show progress, or to end


def _wait(what: str, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def projector_pids(serve_pid: int) -> list[int]:
    """The ``truceline project`` children of the process ``serve_pid``."""
    pids = []
    for task in Path(f"/proc/{serve_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue  # ended meanwhile
            if b"project" in command:
                pids.append(int(child))
    return pids


def writer_headers(env: dict[str, str], cwd: Path) -> dict[str, str]:
    created = run_cli(env, cwd, "keys", "create", "projector test", "--role", "writer")
    return {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}


def append_and_read_back(base_url: str, headers: dict[str, str], count: int) -> int:
    """Append ``count`` events one at a time, each read back at once through
    ``min_position``; the last position."""
    position = 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for _ in range(count):
            appended = client.post("/v1/events", json=valid_event("strike"))
            assert appended.status_code == 201, appended.text
            position = appended.json()["position"]
            event_id = appended.json()["event_id"]
            params = {"min_position": position, "conflict": CONFLICT, "limit": 1000}
            page = client.get("/v1/timeline", params=params)
            assert page.status_code == 200, page.text
            assert event_id in {item["event_id"] for item in page.json()["items"]}
    return position


@pytest.fixture
def imported(tmp_path: Path) -> Iterator[tuple[Truceline, dict[str, str]]]:
    """A SQLite log of LOG_SIZE events, imported before any server starts."""
    database_url = f"sqlite:///{tmp_path}/log.db"
    app = Truceline(Settings(database_url=database_url))
    assert app.import_events(enumerate(history(LOG_SIZE), start=1), "test") == LOG_SIZE
    env = {**cli_env(database_url), "TRUCELINE_READ_MODEL_PATH": str(tmp_path / "rm.db")}
    yield app, env
    app.close()


def test_a_projector_killed_alone_is_restarted_and_applies_every_event_once(
    imported: tuple[Truceline, dict[str, str]], tmp_path: Path
) -> None:
    app, env = imported
    read_model = tmp_path / "rm.db"
    headers = writer_headers(env, tmp_path)
    log = tmp_path / "serve.log"
    with serving_process(env, tmp_path, log, "--workers", "2") as (serve, base_url):
        (first,) = projector_pids(serve.pid)
        board = PositionBoard(read_model, writer=False)
        _wait("a page applied", lambda: (board.read() or 0) > 0)
        os.kill(first, signal.SIGKILL)
        killed_at = board.read() or 0
        assert killed_at < LOG_SIZE, "the projector finished before it was killed"
        _wait("a new projector", lambda: projector_pids(serve.pid) not in ([], [first]))
        last = append_and_read_back(base_url, headers, 5)
        assert last == LOG_SIZE + 5
        health = httpx.get(f"{base_url}/v1/health", timeout=10).json()
        assert health == {"status": "ok", "log_position": last, "projection_position": last}
        board.close()
    assert "the projector exited with status -9; starting it again" in log.read_text()
    resumed = table_rows(read_model)
    fresh = build(app, tmp_path / "fresh.db")
    for name in resumed:
        assert resumed[name] == fresh[name], name
    assert len(fresh["timeline"]) > LOG_SIZE // 2


def test_a_second_projector_of_the_same_file_is_refused(
    imported: tuple[Truceline, dict[str, str]], tmp_path: Path
) -> None:
    _, env = imported
    with serving(env, tmp_path, tmp_path / "serve.log", "--workers", "2"):
        second = subprocess.run(
            [str(TRUCELINE), "project"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert second.returncode == 1, second.stderr
    assert f"another projector of {tmp_path / 'rm.db'} is running" in second.stderr


def test_a_projector_ends_when_its_serve_is_killed(
    imported: tuple[Truceline, dict[str, str]], tmp_path: Path
) -> None:
    _, env = imported
    log = tmp_path / "serve.log"
    with serving_process(env, tmp_path, log, "--projector", "process") as (serve, _):
        (projector,) = projector_pids(serve.pid)
        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=10)
        _wait("the projector to end", lambda: not Path(f"/proc/{projector}").exists(), 10)


def test_workers_read_a_projector_run_on_its_own_on_postgres(
    postgres_url: str, tmp_path: Path
) -> None:
    empty_postgres(postgres_url)
    env = {**cli_env(postgres_url), "TRUCELINE_READ_MODEL_PATH": str(tmp_path / "rm.db")}
    headers = writer_headers(env, tmp_path)  # creates the tables first
    with (tmp_path / "project.log").open("wb") as out:
        projector = subprocess.Popen(
            [str(TRUCELINE), "project"], env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    try:
        board = PositionBoard(tmp_path / "rm.db", writer=False)
        _wait("the projector's board", lambda: board.read() is not None)
        board.close()
        options = ("--workers", "2", "--projector", "external")
        with serving(env, tmp_path, tmp_path / "serve.log", *options) as base_url:
            assert append_and_read_back(base_url, headers, 20) == 20
    finally:
        stop(projector)
    assert projector.returncode == 0, (tmp_path / "project.log").read_text()
