"""``make bench``: Truceline's figures beside their baselines, written to bench/results.md.

Machines here are noisy: each figure is measured in the same run as its baseline, and the
ratio is what carries the meaning.

    python bench/run.py [--events N] [--out bench/results.md] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate

from truceline.application.app import Truceline
from truceline.projections import queries
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings


def _timed(work: Callable[[], int]) -> tuple[float, int]:
    began = time.perf_counter()
    count = work()
    return time.perf_counter() - began, count


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _lines(count: int) -> Iterator[tuple[int, object]]:
    yield from enumerate(generate(count), start=1)


def run(events: int, workdir: Path) -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []
    app = Truceline(Settings(database_url=f"sqlite:///{workdir}/log.db"))
    seconds, stored = _timed(lambda: app.import_events(_lines(events), "bench", chunk_size=5000))
    rows.append(
        (
            "import (one transaction, validated, referenced)",
            f"{stored / seconds:,.0f} ev/s",
            "-",
            "-",
            f"{stored:,} events in {seconds:.1f} s",
        )
    )

    def read_and_decode() -> int:
        return sum(1 for _ in app.store.iter_entries(page=1000))

    base_seconds, read = _timed(read_and_decode)
    read_model = ReadModel(workdir / "read-model.db")
    follower = Follower(app, read_model, page_size=1000)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ours_seconds, projected = _timed(lambda: follower.catch_up(bulk=True))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ours, base = projected / ours_seconds, read / base_seconds
    rows.append(
        (
            "projection catch-up vs read+decode",
            f"{ours:,.0f} ev/s",
            f"{base:,.0f} ev/s",
            f"{ours / base:.2f}",
            f"target >= 0.5; peak RSS {max(rss_before, rss_after) / 1024:,.0f} MiB",
        )
    )

    where = queries.TimelineFilter(conflict="conflict-3", types=("shelling",))
    samples = []
    with read_model.reading() as db:
        for _ in range(200):
            began = time.perf_counter()
            items, _ = queries.timeline_page(db, where, 100)
            samples.append((time.perf_counter() - began) * 1000)
            assert items
        raw = []
        for _ in range(200):
            began = time.perf_counter()
            db.execute(
                "SELECT item FROM timeline WHERE valid_to IS NULL AND conflict = ? AND type = ? "
                "ORDER BY occurred_us, position LIMIT 100",
                ["conflict-3", "shelling"],
            ).fetchall()
            raw.append((time.perf_counter() - began) * 1000)
    p50, p99 = _percentiles(samples)
    raw50, _ = _percentiles(raw)
    rows.append(
        (
            "timeline page of 100, two filters (in-process)",
            f"p50 {p50:.2f} ms",
            f"p50 {raw50:.2f} ms (raw SQL)",
            f"{p50 / raw50:.2f}",
            f"p99 {p99:.2f} ms; target p50 < 10 ms",
        )
    )
    read_model.close()
    app.close()
    return rows


def write(rows: list[tuple[str, str, str, str, str]], events: int, out: Path) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {platform.machine()}, Python {platform.python_version()}, "
        f"a generated log of {events:,} events (bench/generate.py, seed 2020), SQLite store.",
        "Each figure was measured in the same run as its baseline.",
        "",
        "| what | ours | baseline | ratio | notes |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
    ]
    text = "\n".join(lines)
    out.write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        rows = run(args.events, Path(workdir))
    print(write(rows, args.events, args.out))
    print(json.dumps({"events": args.events}))


if __name__ == "__main__":
    main()
