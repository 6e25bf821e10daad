"""End to end: the real ``truceline`` console script, a real server process, real HTTP.

The flow a new installation goes through: serve, create a writer key, import the seed
events, read the log over HTTP, append over HTTP, export. It runs on a SQLite file and on
the test run's PostgreSQL database, with the server and the CLI as separate processes
sharing the store, as they do in production.
"""

from __future__ import annotations

import getpass
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import empty_postgres
from tests.e2e.servers import cli_env, run_cli, serving
from tests.helpers import EXPORT_FIELDS

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "events" / "ganja-2020-10-17.ndjson"

# The seed file's size and its missile strike on Ganja: "around 3 a.m. local time on
# Saturday" 17 October 2020, stored as a local time in Asia/Baku (UTC+4).
SEED_EVENTS = 14
GANJA_STRIKE_ID = "e4343f67-9df8-5f80-92da-0e2d7e663fcd"

EXPORT_KEYS = set(EXPORT_FIELDS)


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    cwd: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``truceline ARGS`` against the server's store; fail with its output."""
        return run_cli(self.env, self.cwd, *args)


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """``truceline serve`` as a subprocess on a free port, over an empty store."""
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path}/truceline.db"
    else:
        database_url = request.getfixturevalue("postgres_url")
        empty_postgres(database_url)
    env = cli_env(database_url)
    with serving(env, tmp_path, tmp_path / "serve.log") as base_url:
        yield Server(base_url, env, tmp_path)


def _seed_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line]


def test_serve_import_read_append_export(server: Server) -> None:
    seed = _seed_lines()
    assert len(seed) == SEED_EVENTS

    created = server.cli("keys", "create", "e2e writer", "--role", "writer")
    token = created.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}

    imported = server.cli("import", str(SEED))
    assert f"imported {SEED_EVENTS} new events" in imported.stdout
    again = server.cli("import", str(SEED))  # fixed event ids: a re-import stores nothing
    assert "imported 0 new events" in again.stdout

    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10.0) as http:
        health = http.get("/v1/health")
        assert health.status_code == 200
        assert health.json()["log_position"] == SEED_EVENTS

        page = http.get("/v1/events", params={"limit": 1000})
        assert page.status_code == 200, page.text
        entries = page.json()["events"]
        assert len(entries) == SEED_EVENTS
        assert [e["position"] for e in entries] == list(range(1, SEED_EVENTS + 1))
        assert [e["event"]["event_id"] for e in entries] == [e["event_id"] for e in seed]
        assert page.json()["next_after"] == SEED_EVENTS
        assert {e["recorded_by"] for e in entries} == {f"local:{getpass.getuser()}"}

        ganja = next(e["event"] for e in entries if e["event"]["event_id"] == GANJA_STRIKE_ID)
        assert ganja["type"] == "strike"
        assert ganja["occurred_at"] == "2020-10-16T23:00:00Z"
        assert ganja["location"]["name"] == "Ganja"

        appended = http.post(
            "/v1/events",
            json={
                "type": "casualty_report",
                "conflict": "nagorno-karabakh-2020",
                "occurred_at": "2020-10-17T18:00:00+04:00",
                "killed": 12,
                "about_event_id": GANJA_STRIKE_ID,
                "sources": [{"name": "e2e test"}],
            },
        )
        assert appended.status_code == 201, appended.text
        receipt = appended.json()
        assert receipt["position"] == SEED_EVENTS + 1

        tail = http.get("/v1/events", params={"after": SEED_EVENTS})
        assert tail.status_code == 200, tail.text
        (last,) = tail.json()["events"]
        assert last["position"] == SEED_EVENTS + 1
        assert last["event"]["event_id"] == receipt["event_id"]
        assert last["event"]["occurred_at"] == "2020-10-17T14:00:00Z"
        assert last["recorded_by"] != f"local:{getpass.getuser()}"
        assert last["recorded_at"] >= entries[-1]["recorded_at"]

    exported = server.cli("export")
    lines = exported.stdout.splitlines()
    assert len(lines) == SEED_EVENTS + 1
    exported_entries = [json.loads(line) for line in lines]
    for entry in exported_entries:
        assert set(entry) == EXPORT_KEYS
    assert [e["position"] for e in exported_entries] == list(range(1, SEED_EVENTS + 2))
    assert exported_entries[-1]["event"]["event_id"] == receipt["event_id"]
