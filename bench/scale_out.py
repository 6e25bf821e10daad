"""Scale-out on one PostgreSQL log: single appends and timeline pages over HTTP with 1, 2
and 4 serving processes.

    python bench/scale_out.py SECONDS POSTGRES_URL

Two layouts, each with 1, 2 and 4 processes: ``truceline serve --workers N`` (one server,
N workers sharing one read-model file, each worker with its own follower of it), and N
servers, each with a read model of its own, as N machines would run (here they share
this machine's two cores). The load is wrk with 32 connections in all, split evenly over
the servers; appends carry fresh event ids, reads are a page of 100 of the timeline.
Prints JSON: requests/s per layout and process count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appends import TRUCELINE, WRK_SCRIPT, parse_wrk, server_env, serving, writer_key

CONNECTIONS = 32
COUNTS = (1, 2, 4)


def _wrk(urls: list[str], headers: dict[str, str], seconds: int, script: Path | None) -> float:
    """Requests/s of one wrk per URL, run at once, the connections split between them."""
    each = CONNECTIONS // len(urls)
    command = ["wrk", "-t1", f"-c{each}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in {"Content-Type": "application/json", **headers}.items():
        command += ["-H", f"{name}: {value}"]
    runs = [
        subprocess.Popen([*command, url, "--", str(9_000 + n)], stdout=subprocess.PIPE, text=True)
        for n, url in enumerate(urls)
    ]
    return sum(parse_wrk(run.communicate()[0])["rate"] for run in runs)


def _empty(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def measure(seconds: int, database_url: str, workdir: Path) -> dict[str, Any]:
    script = workdir / "append.lua"
    script.write_text(WRK_SCRIPT)
    figures: dict[str, Any] = {"workers": {}, "servers": {}}
    for layout in ("workers", "servers"):
        for count in COUNTS:
            _empty(database_url)
            env = server_env(database_url, workdir)
            headers = writer_key(env, workdir)
            with ExitStack() as stack:
                if layout == "workers":
                    command = [str(TRUCELINE), "serve", "--workers", str(count)]
                    bases = [stack.enter_context(serving(command, env, workdir))]
                else:  # each server a read model of its own (server_env names a fresh one)
                    bases = [
                        stack.enter_context(
                            serving(
                                [str(TRUCELINE), "serve"],
                                server_env(database_url, workdir),
                                workdir,
                            )
                        )
                        for _ in range(count)
                    ]
                appends = _wrk([f"{b}/v1/events" for b in bases], headers, seconds, script)
                reads = _wrk([f"{b}/v1/timeline?limit=100" for b in bases], headers, seconds, None)
            figures[layout][str(count)] = {"appends": appends, "reads": reads}
    return figures


def main() -> None:
    seconds, database_url = int(sys.argv[1]), sys.argv[2]
    with tempfile.TemporaryDirectory() as workdir:
        print(json.dumps(measure(seconds, database_url, Path(workdir))))


if __name__ == "__main__":
    main()
