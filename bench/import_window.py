"""How long a command-line import keeps HTTP appends out: the "503 window".

A real ``truceline serve`` on a SQLite file, a writer key, and one client that sends single
appends (``POST /v1/events``, a fresh ``event_id`` each) in a loop, while ``truceline
import`` loads a generated NDJSON file (bench/generate.py) into the same store. An append
waits for the store's write lock up to ``TRUCELINE_SQLITE_LOCK_TIMEOUT`` (5 s), then is
answered 503, so the figures are:

- ``window_503_seconds``: the longest run of consecutive 503s, from the sending of its
  first request to the answer of its last (0 when no append was refused);
- ``longest_append_seconds``: the longest any append took to be answered, 503 or not;
- ``longest_gap_seconds``: the longest time between two appends answered 201 while the
  import ran: how long the log accepted nothing from HTTP;
- ``import_seconds``: the import's wall time, process start to exit.

    python bench/import_window.py [--lines N] [--workdir DIR] [--database-url URL]

The last line printed is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appends import TRUCELINE, server_env, serving, writer_key
from generate import generate

SETTLE_SECONDS = 1.0  # appends measured before the import starts and after it ends


@dataclass(frozen=True)
class Sample:
    """One append: when it was sent and answered (monotonic seconds), and its status."""

    sent: float
    answered: float
    status: int


def write_ndjson(path: Path, lines: int) -> None:
    with path.open("w") as out:
        for event in generate(lines):
            out.write(json.dumps(event) + "\n")


def _statement() -> dict[str, Any]:
    return {
        "type": "statement",
        "event_id": str(uuid.uuid4()),
        "conflict": "bench-window",
        "occurred_at": "2020-10-17T03:00:00Z",
        "speaker": "Ministry of Defence",
        "text": "The front line is calm.",
    }


def append_loop(
    base_url: str, headers: dict[str, str], stop: threading.Event, samples: list[Sample]
) -> None:
    """Single appends, one at a time, until ``stop`` is set."""
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        while not stop.is_set():
            sent = time.monotonic()
            status = client.post("/v1/events", json=_statement()).status_code
            samples.append(Sample(sent, time.monotonic(), status))


def window_503(samples: list[Sample]) -> tuple[float, int]:
    """The longest run of consecutive 503s, in seconds, and the number of 503s."""
    longest, run_start = 0.0, None
    for sample in samples:
        if sample.status == 503:
            run_start = sample.sent if run_start is None else run_start
            longest = max(longest, sample.answered - run_start)
        else:
            run_start = None
    return longest, sum(1 for s in samples if s.status == 503)


def longest_gap(samples: list[Sample], began: float, ended: float) -> float:
    """The longest time between two 201 answers around [began, ended]."""
    answered = [s.answered for s in samples if s.status == 201]
    before = [t for t in answered if t <= began]
    during = [t for t in answered if began < t <= ended]
    after = [t for t in answered if t > ended]
    marks = before[-1:] + during + after[:1]
    return max((b - a for a, b in pairwise(marks)), default=0.0)


def measure(lines: int, workdir: Path, database_url: str | None) -> dict[str, Any]:
    source = workdir / "import.ndjson"
    write_ndjson(source, lines)
    env = server_env(database_url or f"sqlite:///{workdir}/log.db", workdir)
    headers = writer_key(env, workdir)
    samples: list[Sample] = []
    stop = threading.Event()
    with serving([str(TRUCELINE), "serve"], env, workdir) as base_url:
        client = threading.Thread(target=append_loop, args=(base_url, headers, stop, samples))
        client.start()
        time.sleep(SETTLE_SECONDS)
        began = time.monotonic()
        done = subprocess.run(
            [str(TRUCELINE), "import", str(source)],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            check=True,
        )
        ended = time.monotonic()
        time.sleep(SETTLE_SECONDS)
        stop.set()
        client.join()
    window, refused = window_503(samples)
    answered = [s for s in samples if s.status == 201]
    assert done.stdout == f"imported {lines} new events\n", done.stdout
    assert answered, {s.status for s in samples}
    return {
        "lines": lines,
        "import_seconds": ended - began,
        "window_503_seconds": window,
        "refused_503": refused,
        "appends": len(samples),
        "appended_201": len(answered),
        "longest_append_seconds": max(s.answered - s.sent for s in samples),
        "longest_gap_seconds": longest_gap(samples, began, ended),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=60_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--database-url", default=None, help="an empty store (default: a SQLite file)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        figures = measure(args.lines, Path(workdir), args.database_url)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
