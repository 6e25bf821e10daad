"""Append benchmarks: HTTP under load (wrk), group commit, batches; each beside its
baseline, on SQLite and on PostgreSQL.

- single appends over HTTP, 32 connections, against a bare FastAPI endpoint that
  validates the same body and stores nothing (``bench/bare.py``);
- the same load with group commit off (one transaction per request), beside a raw
  loop of one-row transactions on the same store;
- batches of 10,000 events a request, beside raw ``executemany`` of the same rows in one
  transaction;
- group commit on its own, in-process (32 threads appending one event each at a time,
  no HTTP), on and off, beside the same raw loop of one-row transactions.

wrk (Debian's package) is the load generator: Python's own clients would be slower than
the servers they measure. Every request carries its own event id, so every append is a
real, durable, idempotent one.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from truceline.application.app import AppendRequest, Truceline
from truceline.application.checkpoints import SigningKey
from truceline.application.group_commit import GroupCommitter
from truceline.domain.validation import parse_event
from truceline.settings import Settings

BENCH = Path(__file__).resolve().parent
TRUCELINE = Path(sys.executable).parent / "truceline"
UVICORN = Path(sys.executable).parent / "uvicorn"

# Each wrk thread numbers its own requests; the thread number goes into the event id.
WRK_SCRIPT = """
local counter = 0
local thread_number = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init(args)
  thread_number = tonumber(wrk.thread:get("thread_number")) or 0
  run = args[1] or "0"
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"type":"statement","event_id":"%08x-%04x-4000-8000-%012x","conflict":"bench",' ..
    '"occurred_at":"2020-10-17T03:00:00","timezone":"Asia/Baku","speaker":"Ilham Aliyev",' ..
    '"text":"We will take revenge on the battlefield."}',
    tonumber(run), thread_number, counter)
  return wrk.format("POST", "/v1/events", nil, body)
end
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wrk(
    base_url: str, headers: dict[str, str], seconds: int, run: int, workdir: Path
) -> dict[str, float]:
    script = workdir / "append.lua"
    script.write_text(WRK_SCRIPT)
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(script)]
    for name, value in {"Content-Type": "application/json", **headers}.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, base_url, "--", str(run)], capture_output=True, text=True, check=True
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    """Requests/s and the 50th and 99th latency percentiles (ms) from ``wrk --latency``."""
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    found = re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    figures = {f"p{percent}": float(value) * scale[unit] for percent, value, unit in found}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate and len(figures) == 2, out
    return {"rate": float(rate.group(1)), **figures}


# Throughput runs measure the work, so one wrk key must not meet the per-key limits;
# bench/under_load.py measures the limits themselves, at their defaults.
LIMITS_OFF = {
    "TRUCELINE_RATE_LIMIT": "",
    "TRUCELINE_OPEN_RATE_LIMIT": "",
    "TRUCELINE_MAX_LONG_REQUESTS_PER_KEY": "1000",
    "TRUCELINE_MAX_LONG_REQUESTS": "1000",
}


def server_env(
    database_url: str, workdir: Path, *, limits: bool = False, **extra: str
) -> dict[str, str]:
    """A server's environment, signing checkpoints as a deployment would (every 1,000
    entries or 60 s, the defaults); without ``limits``, no rate or long-request limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUCELINE_")}
    if not limits:
        env.update(LIMITS_OFF)
    env.update(
        TRUCELINE_DATABASE_URL=database_url,
        TRUCELINE_READ_MODEL_PATH=str(workdir / f"rm-{uuid.uuid4().hex}.db"),
        TRUCELINE_SIGNING_KEY_PATH=str(_signing_key(workdir)),
        TRUCELINE_CHECKPOINT_ARCHIVE_PATH=str(workdir / "checkpoints.ndjson"),
        **extra,
    )
    return env


def _signing_key(workdir: Path) -> Path:
    path = workdir / "signing-key.pem"
    if not path.exists():
        SigningKey.create(path)
    return path


def writer_key(env: dict[str, str], cwd: Path, role: str = "writer") -> dict[str, str]:
    """Headers carrying a new key of ``role`` (a writer's by default)."""
    created = subprocess.run(
        [str(TRUCELINE), "keys", "create", "bench", "--role", role],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}


def _batch(size: int, run: int) -> dict[str, Any]:
    return {
        "events": [
            {
                "type": "statement",
                "event_id": f"{run:08x}-0000-4000-9000-{n:012x}",
                "conflict": "bench",
                "occurred_at": "2020-10-17T03:00:00",
                "timezone": "Asia/Baku",
                "speaker": "Ilham Aliyev",
                "text": "We will take revenge on the battlefield.",
            }
            for n in range(size)
        ]
    }


def _raw_single_sqlite(path: Path, count: int) -> float:
    """One-row transactions, WAL, synchronous FULL: what one durable commit each costs."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS raw (id TEXT PRIMARY KEY, body BLOB)")
    began = time.perf_counter()
    for n in range(count):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO raw VALUES (?, ?)", (f"single-{n}", b"x" * 300))
        conn.execute("COMMIT")
    rate = count / (time.perf_counter() - began)
    conn.close()
    return rate


def _raw_batch_sqlite(path: Path, rows: list[tuple[str, bytes]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS raw (id TEXT PRIMARY KEY, body BLOB)")
    began = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO raw VALUES (?, ?)", rows)
    conn.execute("COMMIT")
    rate = len(rows) / (time.perf_counter() - began)
    conn.close()
    return rate


def _raw_single_postgres(url: str, count: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS raw (id text PRIMARY KEY, body bytea)")
        began = time.perf_counter()
        for n in range(count):
            with conn.transaction():
                conn.execute("INSERT INTO raw VALUES (%s, %s)", (f"single-{n}", b"x" * 300))
        return count / (time.perf_counter() - began)


def _raw_batch_postgres(url: str, rows: list[tuple[str, bytes]]) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS raw (id text PRIMARY KEY, body bytea)")
        began = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany("INSERT INTO raw VALUES (%s, %s)", rows)
        return len(rows) / (time.perf_counter() - began)


def _in_process(database_url: str, group: bool, run: int, count: int = 4_000) -> float:
    """Events/s of single-event appends from 32 threads through the group committer."""
    app = Truceline(Settings(database_url=database_url))
    committer = GroupCommitter(app, max_group_events=20_000 if group else 1)
    requests = [
        AppendRequest([parse_event(event)], "bench")
        for event in _batch(count, run)["events"]
    ]
    began = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda request: committer.submit(request).result(), requests))
    rate = count / (time.perf_counter() - began)
    committer.close()
    app.close()
    return rate


def _post_batches(base_url: str, headers: dict[str, str], size: int, repeats: int) -> float:
    bodies = [json.dumps(_batch(size, run + 1)) for run in range(repeats)]
    began = time.perf_counter()
    for body in bodies:
        answer = httpx.post(
            f"{base_url}/v1/events/batch",
            content=body,
            timeout=300,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert answer.status_code == 201, answer.text[:500]
    return size * repeats / (time.perf_counter() - began)


def run_store(database_url: str, seconds: int, workdir: Path) -> dict[str, Any]:
    """Every append figure on one store."""
    figures: dict[str, Any] = {}
    env = server_env(database_url, workdir)
    headers = writer_key(env, workdir)
    with serving([str(UVICORN), "--app-dir", str(BENCH), "bare:app"], env, workdir) as bare:
        figures["bare"] = _wrk(bare, {}, seconds, 1, workdir)
    with serving([str(TRUCELINE), "serve"], env, workdir) as ours:
        figures["ours"] = _wrk(ours, headers, seconds, 2, workdir)
        figures["batch"] = _post_batches(ours, headers, 10_000, 3)
    with serving(
        [str(TRUCELINE), "serve"],
        server_env(database_url, workdir, TRUCELINE_GROUP_COMMIT="0"),
        workdir,
    ) as single:
        figures["no_group"] = _wrk(single, headers, seconds, 3, workdir)
    figures["in_process"] = _in_process(database_url, group=True, run=100)
    figures["in_process_off"] = _in_process(database_url, group=False, run=101)
    rows = [(f"batch-{n}", b"x" * 300) for n in range(10_000)]
    if database_url.startswith("sqlite"):
        raw = workdir / "raw.db"
        figures["raw_single"] = _raw_single_sqlite(raw, 2_000)
        figures["raw_batch"] = _raw_batch_sqlite(raw, rows)
    else:
        figures["raw_single"] = _raw_single_postgres(database_url, 2_000)
        figures["raw_batch"] = _raw_batch_postgres(database_url, rows)
    return figures


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    postgres = sys.argv[2] if len(sys.argv) > 2 else ""
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        results["sqlite"] = run_store(f"sqlite:///{workdir}/appends.db", seconds, Path(workdir))
        if postgres:
            results["postgres"] = run_store(postgres, seconds, Path(workdir))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
