"""Fixtures for the browser tests: real ``truceline serve`` processes, each on a fresh
SQLite file, and pages of a headless Chromium (Debian's, driven by Playwright; no browser
is downloaded).

``web_server`` is one server for a whole module: open reads, the seed case imported.
``start_server`` starts more, with other settings, for one test. ``browser`` is one
Chromium for a module; ``page`` a fresh browser context and page for one test.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.e2e.servers import TRUCELINE, cli_env, free_port, run_cli, stop, wait_healthy

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "events" / "ganja-2020-10-17.ndjson"
SCREENSHOTS = REPO / "test-output" / "screenshots"
# The seed case, as the page shows it.
CONFLICT = "nagorno-karabakh-2020"
CEASEFIRE = "humanitarian-truce-2020-10-10"
GANJA = "e4343f67-9df8-5f80-92da-0e2d7e663fcd"  # the strike: killed 12
# The Ganja strike's toll corrected, 12 -> 13 (loaded by the command line, so amending it
# takes an editor's key).
GANJA_CORRECTION = {
    "type": "correction",
    "conflict": CONFLICT,
    "occurred_at": "2020-10-18T10:00:00Z",
    "corrects_event_id": GANJA,
    "changes": {"killed": 13},
    "sources": [{"name": "Azerbaijan Prosecutor General's office"}],
}
CHROMIUM = os.environ.get("TRUCELINE_TEST_CHROMIUM", "/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
START_ATTEMPTS = 3


@dataclass
class Server:
    """A ``truceline serve`` process on ``port`` with its SQLite file in ``root``; it can be
    stopped and started again on the same port (a dropped connection, for a client)."""

    root: Path
    open_reads: bool = True
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = cli_env(f"sqlite:///{self.root / 'truceline.db'}")
        if self.open_reads:
            env["TRUCELINE_OPEN_READS"] = "1"
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``truceline ARGS`` on this server's store."""
        return run_cli(self.env, self.root, *args)

    def create_key(self, name: str, role: str) -> str:
        """A new key's secret (the last line ``keys create`` prints)."""
        return self.cli("keys", "create", name, "--role", role).stdout.strip().splitlines()[-1]

    def start(self) -> None:
        """Serve on this server's port (another free one if it was taken before the first
        start could bind it); fail the test with the log if it never answers."""
        for _attempt in range(START_ATTEMPTS):
            self.starts += 1
            log = self.root / f"serve-{self.starts}.log"
            with log.open("wb") as out:
                self.process = subprocess.Popen(
                    [str(TRUCELINE), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                    env=self.env,
                    cwd=self.root,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            if wait_healthy(self.process, self.base_url, log):
                return
            if self.starts > 1:
                break  # a restart keeps its port: clients reconnect to it
            self.port = free_port()
        pytest.fail(f"truceline serve did not start:\n{log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def get(self, path: str, key: str | None = None, **params: Any) -> Any:
        """The JSON answer of a 200 to ``GET path``, read with httpx beside the page."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.get(f"{self.base_url}{path}", params=params, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def append(self, key: str, event: dict[str, Any]) -> int:
        """``POST /v1/events`` with that key; the new event's position."""
        response = httpx.post(
            f"{self.base_url}/v1/events",
            json=event,
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        position: int = response.json()["position"]
        return position


def _server(root: Path, *, open_reads: bool, seed: bool) -> Server:
    root.mkdir(parents=True, exist_ok=True)
    server = Server(root, open_reads=open_reads)
    if seed:
        server.cli("import", str(SEED))
    server.start()
    return server


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: open reads, the seed case (the Ganja strike) imported."""
    server = _server(tmp_path_factory.mktemp("web-server"), open_reads=True, seed=True)
    yield server
    server.stop()


StartServer = Callable[..., Server]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """``start_server(open_reads=True, seed=True)``: a server of this test's own; each is
    stopped when the test ends."""
    started: list[Server] = []

    def start(*, open_reads: bool = True, seed: bool = True) -> Server:
        server = _server(tmp_path / f"server-{len(started)}", open_reads=open_reads, seed=seed)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per module (one Playwright driver at a time, whichever module runs)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a browser context of its own (its own storage), closed after the test."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go (``test-output/screenshots`` in the repository)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
