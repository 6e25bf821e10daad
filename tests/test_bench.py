"""The benchmark itself runs at a tiny size, so `make bench` never rots between runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runs_and_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--events",
            "400",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    table = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    assert table[0] == "| what | ours | baseline | ratio | notes |"
    figures = [line.split(" | ")[0].lstrip("| ") for line in table[1:]]
    assert figures == [
        "import (validated, references checked, one transaction)",
        "projection catch-up",
        "timeline page of 100, two filters (in-process)",
        "the same page, as_of the middle of the log",
        "ceasefire status at `at`",
        "the same status, as_of the middle of the log",
        "full verify: hash chain",
        "full verify: chain + rebuild and compare",
        "full replay (as of the last position)",
    ]
