"""``make bench``: Truceline's figures beside their baselines, written to bench/results.md.

Machines here are noisy: each figure is measured in the same run as its baseline, and the
ratio is what carries the meaning. Each step runs in a process of its own, so that its
peak memory (max RSS) is its own.

    python bench/run.py [--events N] [--out bench/results.md] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from acled_file import write_acled_csv
from generate import generate

from truceline.application.app import Truceline
from truceline.domain.times import parse_utc, to_micros
from truceline.projections import queries
from truceline.projections.audit import consistent, replay
from truceline.projections.follower import BULK_PAGE_SIZE, Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings

Row = tuple[str, str, str, str, str]


def _app(workdir: Path) -> Truceline:
    return Truceline(Settings(database_url=f"sqlite:///{workdir}/log.db"))


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latencies(work: Callable[[], object], runs: int = 200) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(runs - 1, int(runs * 0.99))]


# -- steps, each run in its own process ------------------------------------------------


def step_build(workdir: Path, events: int) -> dict[str, Any]:
    app = _app(workdir)
    began = time.perf_counter()
    stored = app.import_events(enumerate(generate(events), start=1), "bench", chunk_size=5000)
    return {"seconds": time.perf_counter() - began, "events": stored, "peak": _peak_mib()}


def step_read(workdir: Path, events: int) -> dict[str, Any]:
    app = _app(workdir)
    began = time.perf_counter()
    count = sum(1 for _ in app.store.iter_entries(page=1000))
    return {"seconds": time.perf_counter() - began, "events": count, "peak": _peak_mib()}


def step_catch_up(workdir: Path, events: int) -> dict[str, Any]:
    app = _app(workdir)
    read_model = ReadModel(workdir / "read-model.db")
    began = time.perf_counter()
    count = Follower(app, read_model, page_size=BULK_PAGE_SIZE).catch_up(bulk=True)
    return {"seconds": time.perf_counter() - began, "events": count, "peak": _peak_mib()}


def step_verify(workdir: Path, events: int) -> dict[str, Any]:
    app = _app(workdir)
    read_model = ReadModel(workdir / "read-model.db")
    began = time.perf_counter()
    audit = app.audit()  # the chain, the tree rebuilt and compared, the keys' log
    chain_seconds = time.perf_counter() - began
    same, _ = consistent(app, read_model)
    assert audit.ok and same, (audit.chain, audit.tree_problem, same)
    return {
        "seconds": time.perf_counter() - began,
        "chain_seconds": chain_seconds,
        "events": audit.chain.events_checked,
        "peak": _peak_mib(),
    }


def step_replay(workdir: Path, events: int) -> dict[str, Any]:
    app = _app(workdir)
    began = time.perf_counter()
    count = replay(app, app.log_position(), workdir / "replay.db")
    return {"seconds": time.perf_counter() - began, "events": count, "peak": _peak_mib()}


def step_queries(workdir: Path, events: int) -> dict[str, Any]:
    app = _app(workdir)
    read_model = ReadModel(workdir / "read-model.db")
    half = app.log_position() // 2
    at = to_micros(parse_utc(app.read_log(half - 1, 1)[0].recorded_at))
    where = queries.TimelineFilter(conflict="conflict-3", types=("shelling",))
    answers: dict[str, Any] = {}
    with read_model.reading() as db:
        ceasefire = db.execute(
            "SELECT conflict, ceasefire_id, start_us FROM ceasefires WHERE valid_to IS NULL "
            "ORDER BY start_us LIMIT 1 "
            "OFFSET (SELECT COUNT(*) / 3 FROM ceasefires WHERE valid_to IS NULL)"
        ).fetchone()
        conflict, ceasefire_id, start = ceasefire
        moment = start + 86_400_000_000
        answers["page"] = _latencies(lambda: queries.timeline_page(db, where, 100))
        answers["page_raw"] = _latencies(
            lambda: db.execute(
                "SELECT item FROM timeline WHERE valid_to IS NULL AND conflict = ? AND type = ? "
                "ORDER BY occurred_us, position LIMIT 100",
                ["conflict-3", "shelling"],
            ).fetchall()
        )
        answers["page_as_of"] = _latencies(
            lambda: queries.timeline_page(db, where, 100, None, as_of=half)
        )
        answers["status"] = _latencies(
            lambda: queries.ceasefire_status(db, conflict, ceasefire_id, moment)
        )
        answers["status_as_of"] = _latencies(
            lambda: queries.ceasefire_status(db, conflict, ceasefire_id, moment, as_of=half),
            runs=50,
        )
    answers["at"] = at
    return answers


def step_acled_import(workdir: Path, events: int) -> dict[str, Any]:
    """An ACLED file of ``events`` rows into an empty log, through the importer."""
    from truceline.interop.acled.importing import Options, import_acled

    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "acled.csv"
    write_acled_csv(source, events)
    app = Truceline(Settings(database_url=f"sqlite:///{workdir}/acled-log.db"))
    began = time.perf_counter()
    summary = import_acled(app, source, Options("bench", conflict="acled-bench"))
    return {
        "seconds": time.perf_counter() - began,
        "rows": events,
        "stored": summary.new,
        "peak": _peak_mib(),
    }


STEPS = {
    "build": step_build,
    "read": step_read,
    "catch_up": step_catch_up,
    "verify": step_verify,
    "replay": step_replay,
    "queries": step_queries,
    "acled_import": step_acled_import,
}


def _run_step(name: str, workdir: Path, events: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--step",
            name,
            "--workdir",
            str(workdir),
            "--events",
            str(events),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def core_rows(events: int, workdir: Path) -> tuple[list[Row], Row]:
    """The main figures, and the growth row of this size."""
    build = _run_step("build", workdir, events)
    read = _run_step("read", workdir, events)
    catch_up = _run_step("catch_up", workdir, events)
    found = _run_step("queries", workdir, events)
    verify = _run_step("verify", workdir, events)
    replayed = _run_step("replay", workdir, events)
    acled = _run_step("acled_import", workdir / "acled", events)
    small = _run_step("acled_import", workdir / "acled-small", min(events, 10_000))
    base = read["events"] / read["seconds"]

    def rate(step: dict[str, Any]) -> float:
        return float(step["events"] / step["seconds"])

    def ms(pair: list[float]) -> str:
        return f"p50 {pair[0]:.2f} ms, p99 {pair[1]:.2f} ms"

    rows: list[Row] = [
        (
            "import (validated, references checked, one transaction)",
            f"{rate(build):,.0f} ev/s",
            "-",
            "-",
            f"{build['events']:,} events in {build['seconds']:.0f} s; "
            f"peak {build['peak']:,.0f} MiB",
        ),
        (
            "ACLED import (CSV rows; chunks of 1,000, a third of rows skipped)",
            f"{acled['rows'] / acled['seconds']:,.0f} rows/s",
            f"{rate(build):,.0f} ev/s NDJSON import",
            f"{acled['rows'] / acled['seconds'] / rate(build):.2f}",
            f"{acled['rows']:,} rows ({acled['stored']:,} events) in {acled['seconds']:.0f} s; "
            f"peak {acled['peak']:,.0f} MiB (at {small['rows']:,} rows: {small['peak']:,.0f} MiB)",
        ),
        (
            "projection catch-up",
            f"{rate(catch_up):,.0f} ev/s",
            f"{base:,.0f} ev/s read+decode",
            f"{rate(catch_up) / base:.2f}",
            f"target >= 0.5; {catch_up['seconds']:.0f} s; peak {catch_up['peak']:,.0f} MiB",
        ),
        (
            "timeline page of 100, two filters (in-process)",
            ms(found["page"]),
            ms(found["page_raw"]) + " raw SQL",
            f"{found['page'][0] / found['page_raw'][0]:.1f}",
            "target p50 < 10 ms",
        ),
        (
            "the same page, as_of the middle of the log",
            ms(found["page_as_of"]),
            ms(found["page"]) + " current",
            f"{found['page_as_of'][0] / found['page'][0]:.1f}",
            "target p50 < 20 ms",
        ),
        ("ceasefire status at `at`", ms(found["status"]), "-", "-", "from breaches rows"),
        (
            "the same status, as_of the middle of the log",
            ms(found["status_as_of"]),
            ms(found["status"]) + " current",
            f"{found['status_as_of'][0] / found['status'][0]:.1f}",
            "target p50 < 20 ms; rules run on the timeline as it stood",
        ),
        (
            "full verify: hash chain and Merkle tree",
            f"{verify['chain_seconds']:.0f} s",
            f"{read['seconds']:.0f} s read+decode",
            f"{verify['chain_seconds'] / read['seconds']:.2f}",
            f"{verify['events']:,} events",
        ),
        (
            "full verify: chain + rebuild and compare",
            f"{verify['seconds']:.0f} s",
            "-",
            "-",
            f"peak {verify['peak']:,.0f} MiB; target < 1 GiB",
        ),
        (
            "full replay (as of the last position)",
            f"{replayed['seconds']:.0f} s",
            f"{catch_up['seconds']:.0f} s catch-up",
            f"{replayed['seconds'] / catch_up['seconds']:.2f}",
            f"peak {replayed['peak']:,.0f} MiB; target < 1 GiB",
        ),
    ]
    return rows, _growth(build, catch_up, found)


def growth_row(events: int, workdir: Path) -> Row:
    """Catch-up and query figures at one size of the log."""
    build = _run_step("build", workdir, events)
    return _growth(
        build, _run_step("catch_up", workdir, events), _run_step("queries", workdir, events)
    )


def _growth(build: dict[str, Any], catch_up: dict[str, Any], found: dict[str, Any]) -> Row:
    return (
        f"{build['events']:,}",
        f"{catch_up['events'] / catch_up['seconds']:,.0f} ev/s",
        f"{found['page'][0]:.2f} ms",
        f"{found['page_as_of'][0]:.2f} ms",
        f"{found['status'][0]:.2f} ms",
        f"{found['status_as_of'][0]:.2f} ms",
    )


def _script(name: str, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / name), *args],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        # Say which step failed and why: a bare CalledProcessError hides the script's stderr.
        raise SystemExit(f"bench/{name} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def append_rows(seconds: int, postgres_url: str) -> list[Row]:
    """HTTP appends under wrk, group commit, batches; on SQLite and PostgreSQL."""
    figures = _script("appends.py", str(seconds), postgres_url)
    rows: list[Row] = []
    for store, f in figures.items():
        raw = "raw sqlite3" if store == "sqlite" else "raw psycopg"
        rows += [
            (
                f"{store}: single appends over HTTP, 32 connections (wrk)",
                f"{f['ours']['rate']:,.0f} req/s; p50 {f['ours']['p50']:.1f} ms, "
                f"p99 {f['ours']['p99']:.1f} ms",
                f"{f['bare']['rate']:,.0f} req/s bare FastAPI (validates, stores nothing)",
                f"{f['ours']['rate'] / f['bare']['rate']:.2f}",
                "target >= 0.7; durable, idempotent",
            ),
            (
                f"{store}: the same, group commit off",
                f"{f['no_group']['rate']:,.0f} req/s; p99 {f['no_group']['p99']:.1f} ms",
                f"{f['raw_single']:,.0f} rows/s {raw}, one-row transactions",
                f"{f['ours']['rate'] / f['raw_single']:.2f} (with group commit)",
                "group commit must beat one fsync per append",
            ),
            (
                f"{store}: group commit in-process, 32 threads, no HTTP",
                f"{f['in_process']:,.0f} ev/s; off {f['in_process_off']:,.0f} ev/s",
                f"{f['raw_single']:,.0f} rows/s {raw}, one-row transactions",
                f"{f['in_process'] / f['raw_single']:.2f}",
                "target > 1: above one commit per append",
            ),
            (
                f"{store}: batches of 10,000 events a request",
                f"{f['batch']:,.0f} ev/s",
                f"{f['raw_batch']:,.0f} rows/s {raw} executemany",
                f"{f['batch'] / f['raw_batch']:.2f}",
                "target >= 0.4",
            ),
        ]
    return rows


def http_query_rows(workdir: Path, seconds: int) -> list[Row]:
    figures = _script("queries_http.py", str(workdir), str(seconds))
    return [
        (
            f"{name} over HTTP",
            f"p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms",
            f"{f['rate']:,.0f} req/s",
            "-",
            _http_note(name),
        )
        for name, f in figures.items()
    ]


def _http_note(name: str) -> str:
    connections = "1 connection" if "one at a time" in name else "4 connections, one process"
    target = "p50 < 100 ms" if "CSV" in name else "p50 < 10 ms, p99 < 50 ms"
    return f"{connections}; target {target}"


# The page's first paint is measured on a log of this size (the figure), or on
# the whole log when the run is smaller.
PAGE_EVENTS = 100_000


def page_rows(workdir: Path, events: int, runs: int = 5) -> list[Row]:
    """The page in Debian's chromium: first paint and first timeline item, against the
    same page over the 14-event seed file."""
    f = _script("page.py", str(workdir), str(runs))
    large, seed = f["large"], f["seed"]
    return [
        (
            f"page at /, {events:,}-event log: first contentful paint (chromium)",
            f"{large['first_contentful_paint_ms']:.0f} ms",
            f"{seed['first_contentful_paint_ms']:.0f} ms on the seed's 14 events",
            f"{large['first_contentful_paint_ms'] / seed['first_contentful_paint_ms']:.2f}",
            f"target < 1,000 ms; median of {runs} cold loads",
        ),
        (
            f"page at /, {events:,}-event log: first timeline item shown",
            f"{large['timeline_ms']:.0f} ms",
            f"{seed['timeline_ms']:.0f} ms on the seed's 14 events",
            f"{large['timeline_ms'] / seed['timeline_ms']:.2f}",
            "conflicts, ceasefires and a page of 50 items read first",
        ),
    ]


# The load runs use a log of this size (or the whole run's, when smaller).
LOAD_EVENTS = 100_000


def scale_out_rows(seconds: int, postgres_url: str, counts: list[int]) -> list[Row]:
    """Single appends and timeline pages with 1, 2 and 4 serving processes (``counts``):
    on one PostgreSQL log as workers of one server (with the projector process, and with
    a follower in every worker, as before) and as servers with read models of their own;
    on one SQLite file as workers, both ways."""
    f = _script("scale_out.py", str(seconds), postgres_url, ",".join(map(str, counts)))
    what = {
        "postgres workers": (
            "`serve --workers N`, one read model",
            "one projector process beside the workers",
        ),
        "postgres workers-inline": (
            "`serve --workers N --projector inline`",
            "each worker projects every event (before #19)",
        ),
        "postgres servers": (
            "N servers, a read model each",
            "as N machines would, on these 2 cores",
        ),
        "sqlite workers": (
            "`serve --workers N`, one read model",
            "one projector process; one writer at a time",
        ),
        "sqlite workers-inline": (
            "`serve --workers N --projector inline`",
            "each worker projects every event (before #19)",
        ),
    }
    rows: list[Row] = []
    for layout, (name, note) in what.items():
        store = layout.split()[0]
        for load in ("appends", "reads"):
            rates = [f[layout][str(n)][load] for n in counts]
            rows.append(
                (
                    f"{store}: {'single appends' if load == 'appends' else 'pages of 100'}, "
                    f"{' / '.join(map(str, counts))} processes, {name}",
                    " / ".join(f"{rate:,.0f}" for rate in rates) + " req/s",
                    f"{rates[0]:,.0f} req/s with {counts[0]}",
                    " / ".join(f"{rate / rates[0]:.2f}" for rate in rates),
                    f"wrk, 32 connections in all; {note}",
                )
            )
    return rows


def load_rows(events: int, seconds: int) -> list[Row]:
    """One key floods the server with long reads; a bystander's appends and health
    checks, against the same on an idle server; and four big CSV pages at once."""
    f = _script("under_load.py", str(min(events, LOAD_EVENTS)), str(seconds))
    idle, loaded, memory = f["idle"], f["loaded"], f["memory"]
    flood = "while one key runs 40 log pages of 1,000 and 24 CSV exports of 10,000 (wrk)"
    rows: list[Row] = [
        (
            f"sqlite: a bystander's {what} {flood}",
            f"p50 {loaded[f'{name}_p50']:.0f} ms, p99 {loaded[f'{name}_p99']:.0f} ms",
            f"p50 {idle[f'{name}_p50']:.0f} ms, p99 {idle[f'{name}_p99']:.0f} ms idle",
            f"{loaded[f'{name}_p50'] / idle[f'{name}_p50']:.1f}",
            "limits at their defaults; before #18 an append's p50 went to 3.2 s",
        )
        for what, name in (("single append", "append"), ("GET /v1/health", "health"))
    ]
    rows.append(
        (
            "sqlite: four CSV pages of up to 100,000 items at once: server memory",
            f"peak {memory['rss_peak_mib']:.0f} MiB",
            f"{memory['rss_before_mib']:.0f} MiB before",
            f"{memory['rss_peak_mib'] / memory['rss_before_mib']:.2f}",
            f"a page stops near 8 MB ({memory['csv_page_bytes'] / 1e6:.1f} MB here)",
        )
    )
    return rows


def import_window_rows(workdir: Path, events: int) -> list[Row]:
    """HTTP appends while the command line imports into the same store."""
    lines = min(events, 60_000)
    f = _script("import_window.py", "--lines", str(lines), "--workdir", str(workdir))
    return [
        (
            f"sqlite: HTTP appends during a {lines:,}-line CLI import",
            f"longest 503 run {f['window_503_seconds']:.1f} s; "
            f"no append for {f['longest_gap_seconds']:.1f} s",
            f"{f['import_seconds']:.1f} s the import",
            "-",
            "the write lock is held only for the import's second pass",
        )
    ]


def write(rows: list[Row], growth: list[Row], events: int, out: Path) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {platform.machine()}, Python {platform.python_version()}, 2 cores, "
        f"a generated log of {events:,} events (bench/generate.py, seed 2020).",
        "Each figure was measured in the same run as its baseline; each step in its own",
        "process, whose peak memory (max RSS) is given. Load is generated by wrk on the same",
        "machine, so server and client share its two cores.",
        "",
        "| what | ours | baseline | ratio | notes |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
        "## Growth: the same figures as the log grows (p50, in-process)",
        "",
        "| events | catch-up | timeline page | page as_of | status | status as_of |",
        "|---|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in growth),
        "",
    ]
    text = "\n".join(lines) + _kept_sections(out)
    out.write_text(text)
    return text


SIDE_BY_SIDE = "\n## Side by side"  # sections written by hand from bench/side_by_side.sh


def _kept_sections(out: Path) -> str:
    """The side-by-side sections of the file being replaced: a run of this script does
    not measure them, so it keeps them."""
    old = out.read_text() if out.exists() else ""
    start = old.find(SIDE_BY_SIDE)
    return old[start:] if start >= 0 else ""


@contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    """A PostgreSQL database of its own for the append benchmarks, dropped after."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS truceline_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE truceline_bench")
    try:
        yield admin_url.rsplit("/", 1)[0] + "/truceline_bench"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS truceline_bench WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seconds", type=int, default=5, help="how long each wrk run lasts")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TRUCELINE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL URL whose server may host a scratch database",
    )
    parser.add_argument(
        "--scale-counts",
        default="1,2,4",
        help="how many serving processes the scale-out figures run with, comma-separated",
    )
    parser.add_argument("--step", choices=sorted(STEPS), default=None)
    parser.add_argument(
        "--only",
        choices=sorted(STEPS),
        default=None,
        help="run one step in --workdir, kept between runs",
    )
    args = parser.parse_args()
    if args.step is not None:
        print(json.dumps(STEPS[args.step](args.workdir, args.events)))
        return
    if args.only is not None:  # one step on a log kept from an earlier run
        print(json.dumps(_run_step(args.only, args.workdir, args.events)))
        return
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        rows, largest = core_rows(args.events, Path(workdir))
        rows += http_query_rows(Path(workdir), args.seconds)
        if args.events <= PAGE_EVENTS:
            rows += page_rows(Path(workdir), args.events)
    growth = []
    for size in (10_000, PAGE_EVENTS):
        if size < args.events:
            with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
                growth.append(growth_row(size, Path(workdir)))
                if size == PAGE_EVENTS:
                    rows += page_rows(Path(workdir), size)
    growth.append(largest)
    with bench_database(args.postgres) as postgres_url:
        rows += append_rows(args.seconds, postgres_url)
        counts = [int(n) for n in args.scale_counts.split(",")]
        rows += scale_out_rows(args.seconds, postgres_url, counts)
    rows += load_rows(args.events, max(args.seconds, 2))
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        rows += import_window_rows(Path(workdir), args.events)
    print(write(rows, growth, args.events, args.out))


if __name__ == "__main__":
    main()
