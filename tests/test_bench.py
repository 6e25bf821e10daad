"""The benchmark itself runs at a tiny size, so `make bench` never rots between runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CORE = [
    "import (validated, references checked, one transaction)",
    "ACLED import (CSV rows; chunks of 1,000, a third of rows skipped)",
    "projection catch-up",
    "timeline page of 100, two filters (in-process)",
    "the same page, as_of the middle of the log",
    "ceasefire status at `at`",
    "the same status, as_of the middle of the log",
    "full verify: hash chain and Merkle tree",
    "full verify: chain + rebuild and compare",
    "full replay (as of the last position)",
]
HTTP = [
    f"{query}{as_of} over HTTP"
    for query in (
        "timeline page, two filters",
        "deep cursor page",
        "10,000-row CSV",
        "ceasefire status",
    )
    for as_of in ("", " as_of")
] + [f"{query} as_of, one at a time, over HTTP" for query in ("10,000-row CSV", "ceasefire status")]
PAGE = [
    "page at /, 400-event log: first contentful paint (chromium)",
    "page at /, 400-event log: first timeline item shown",
]
APPENDS = [
    f"{store}: {what}"
    for store in ("sqlite", "postgres")
    for what in (
        "single appends over HTTP, 32 connections (wrk)",
        "the same, group commit off",
        "group commit in-process, 32 threads, no HTTP",
        "batches of 10,000 events a request",
    )
]

# Two processes only here (1 / 2 / 4 in `make bench`): the layouts' servers started three
# times over were half of this test's time.
SCALE_OUT = [
    f"{store}: {load}, 2 processes, {layout}"
    for store, layout in (
        ("postgres", "`serve --workers N`, one read model"),
        ("postgres", "`serve --workers N --projector inline`"),
        ("postgres", "N servers, a read model each"),
        ("sqlite", "`serve --workers N`, one read model"),
        ("sqlite", "`serve --workers N --projector inline`"),
    )
    for load in ("single appends", "pages of 100")
]

FLOOD = "while one key runs 40 log pages of 1,000 and 24 CSV exports of 10,000 (wrk)"
LOAD = [
    f"sqlite: a bystander's single append {FLOOD}",
    f"sqlite: a bystander's GET /v1/health {FLOOD}",
    "sqlite: four CSV pages of up to 100,000 items at once: server memory",
    "sqlite: HTTP appends during a 400-line CLI import",
]


def test_bench_runs_and_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--events",
            "400",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path),
            "--seconds",
            "1",
            "--scale-counts",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    main_table = rows[
        : rows.index("| events | catch-up | timeline page | page as_of | status | status as_of |")
    ]
    assert main_table[0] == "| what | ours | baseline | ratio | notes |"
    assert [line.split(" | ")[0].lstrip("| ") for line in main_table[1:]] == [
        *CORE,
        *HTTP,
        *PAGE,
        *APPENDS,
        *SCALE_OUT,
        *LOAD,
    ]
    growth = rows[len(main_table) + 1 :]
    assert [line.split(" | ")[0].lstrip("| ") for line in growth] == ["400"]
