"""One key's heavy reads against everyone else's appends and health checks.

    python bench/under_load.py EVENTS SECONDS

Starts ``truceline serve`` on a new SQLite store of EVENTS strikes, with the default
limits. A bystander (its own writer key) appends one event and asks ``/v1/health``
every 50 ms, first on an idle server, then while one reader key runs 40 connections of
1,000-entry log pages and 24 of 10,000-row CSV exports (wrk). Then four 100,000-item CSV
pages at once, and the server's resident memory before and at its peak. Prints JSON.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appends import TRUCELINE, _free_port, server_env, writer_key

MIN_SAMPLES = 5
EVENT = {
    "type": "strike",
    "conflict": "bench",
    "perpetrator": "Azerbaijan",
    "target": "Stepanakert",
    "location": {"name": "Stepanakert", "lat": 39.82, "lon": 46.75},
    "summary": "Shelling of the city centre reported by several outlets; " * 4,
}


@contextmanager
def _server(env: dict[str, str], cwd: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    process = subprocess.Popen(
        [str(TRUCELINE), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _fill(base: str, writer: dict[str, str], events: int) -> None:
    for start in range(0, events, 10_000):
        batch = [
            {**EVENT, "occurred_at": f"2020-10-{1 + (start + i) % 28:02d}T08:00:00Z"}
            for i in range(min(10_000, events - start))
        ]
        answer = httpx.post(
            f"{base}/v1/events/batch", json={"events": batch}, headers=writer, timeout=300
        )
        answer.raise_for_status()
    position = answer.json()["results"][-1]["position"]
    while httpx.get(f"{base}/v1/health").json()["projection_position"] < position:
        time.sleep(0.2)


def _bystander(base: str, writer: dict[str, str], seconds: float) -> dict[str, float]:
    appends, healths, refused = [], [], 0
    with httpx.Client(timeout=60) as client:
        deadline = time.monotonic() + seconds
        # At least a few samples however slow the machine: percentiles need two or more.
        while time.monotonic() < deadline or len(appends) < MIN_SAMPLES:
            began = time.perf_counter()
            answer = client.post(f"{base}/v1/events", json=_one(), headers=writer)
            appends.append((time.perf_counter() - began) * 1000)
            refused += answer.status_code != 201
            began = time.perf_counter()
            client.get(f"{base}/v1/health")
            healths.append((time.perf_counter() - began) * 1000)
            time.sleep(0.05)
    return {
        **_percentiles("append", appends),
        **_percentiles("health", healths),
        "appends_refused": refused,
    }


def _one() -> dict[str, Any]:
    return {**EVENT, "occurred_at": "2020-10-12T08:00:00Z"}


def _percentiles(name: str, samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100)
    return {f"{name}_p50": cuts[49], f"{name}_p99": cuts[98]}


def _wrk(
    url: str, headers: dict[str, str], connections: int, seconds: int
) -> subprocess.Popen[str]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _export_memory(base: str, reader: dict[str, str], pid: int) -> dict[str, float]:
    before, peak, done = _rss_mib(pid), 0.0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_mib(pid))
            time.sleep(0.02)

    def export() -> None:
        httpx.get(f"{base}/v1/timeline?format=csv&limit=100000", headers=reader, timeout=300)

    sampler = threading.Thread(target=sample)
    sampler.start()
    exports = [threading.Thread(target=export) for _ in range(4)]
    for thread in exports:
        thread.start()
    for thread in exports:
        thread.join()
    done.set()
    sampler.join()
    first = httpx.get(f"{base}/v1/timeline?format=csv&limit=100000", headers=reader, timeout=300)
    return {"rss_before_mib": before, "rss_peak_mib": peak, "csv_page_bytes": len(first.content)}


def main() -> None:
    events, seconds = int(sys.argv[1]), int(sys.argv[2])
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        env = server_env(f"sqlite:///{workdir}/log.db", workdir, limits=True)
        writer, bystander, reader = (
            writer_key(env, workdir, r) for r in ("writer", "writer", "reader")
        )
        with _server(env, workdir) as (base, pid):
            _fill(base, writer, events)
            idle = _bystander(base, bystander, seconds)
            loads = [
                _wrk(f"{base}/v1/events?limit=1000", reader, 40, seconds + 2),
                _wrk(f"{base}/v1/timeline?format=csv&limit=10000", reader, 24, seconds + 2),
            ]
            time.sleep(1)
            loaded = _bystander(base, bystander, seconds)
            for load in loads:
                load.wait()
            memory = _export_memory(base, reader, pid)
    print(json.dumps({"idle": idle, "loaded": loaded, "memory": memory}))


if __name__ == "__main__":
    main()
