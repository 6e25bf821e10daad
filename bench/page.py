"""The page's first paint in a real browser, against ``truceline serve`` on a built log.

    python bench/page.py WORKDIR RUNS

WORKDIR holds ``log.db`` and ``read-model.db`` from ``bench/run.py``'s build and catch-up
steps. The baseline is the same page over the seed file's 14 events, served and measured
in the same run. Each load is a new browser context (an empty cache), in Debian's
chromium driven by Playwright. Prints JSON: per log, the median over RUNS loads of the
first paint, the first contentful paint, and the moment the first timeline item is shown
(milliseconds since navigation began).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appends import TRUCELINE, server_env, serving

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "events" / "ganja-2020-10-17.ndjson"
CHROMIUM = os.environ.get("TRUCELINE_TEST_CHROMIUM", "/usr/bin/chromium")
FIRST_ITEM = "#events > li"

_PAINTS = """() => Object.fromEntries(
    performance.getEntriesByType('paint').map(entry => [entry.name, entry.startTime]))"""


def _load(browser: Browser, url: str) -> dict[str, float]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(FIRST_ITEM, timeout=30_000)
        shown = float(page.evaluate("() => performance.now()"))
        paints = page.evaluate(_PAINTS)
        return {
            "first_paint_ms": float(paints["first-paint"]),
            "first_contentful_paint_ms": float(paints["first-contentful-paint"]),
            "timeline_ms": shown,
        }
    finally:
        context.close()


def _measure(browser: Browser, url: str, runs: int) -> dict[str, float]:
    _load(browser, url)  # the server's first answers warm its caches; not counted
    loads = [_load(browser, url) for _ in range(runs)]
    return {name: statistics.median(load[name] for load in loads) for name in loads[0]}


def _serve_and_measure(env: dict[str, str], cwd: Path, query: str, runs: int) -> dict[str, float]:
    with serving([str(TRUCELINE), "serve"], env, cwd) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            return _measure(browser, f"{base}/?{query}", runs)
        finally:
            browser.close()


def main() -> None:
    workdir, runs = Path(sys.argv[1]), int(sys.argv[2])
    env = server_env(f"sqlite:///{workdir}/log.db", workdir, TRUCELINE_OPEN_READS="1")
    env["TRUCELINE_READ_MODEL_PATH"] = str(workdir / "read-model.db")
    results = {"large": _serve_and_measure(env, workdir, "conflict=conflict-3", runs)}
    with tempfile.TemporaryDirectory() as scratch:
        seed = server_env(f"sqlite:///{scratch}/seed.db", Path(scratch), TRUCELINE_OPEN_READS="1")
        subprocess.run([str(TRUCELINE), "import", str(SEED)], env=seed, check=True)
        results["seed"] = _serve_and_measure(
            seed, Path(scratch), "conflict=nagorno-karabakh-2020", runs
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
