"""Scale-out: single appends and timeline pages over HTTP with 1, 2 and 4 serving
processes, on one PostgreSQL log and on one SQLite file.

    python bench/scale_out.py SECONDS POSTGRES_URL [COUNTS]

Layouts, each with 1, 2 and 4 processes (COUNTS, comma-separated, names others):

* ``workers``: ``truceline serve --workers N``, N workers and one projector process of
  their read-model file (one worker: the single process, which follows the log itself);
* ``workers-inline``: the same with ``--projector inline``, each worker following the log
  into the one file itself, as every ``--workers N`` did before the projector process;
* ``servers`` (PostgreSQL): N servers, each with a read model of its own, as N machines
  would run (here they share this machine's two cores).

The load is wrk with 32 connections in all, split evenly over the servers; appends carry
fresh event ids, reads are a page of 100 of the timeline. Prints JSON: requests/s by
store, layout and process count.
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
COUNTS = (1, 2, 4)  # how many serving processes, unless the command line says


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


LAYOUTS = (
    ("postgres", "workers"),
    ("postgres", "workers-inline"),
    ("postgres", "servers"),
    ("sqlite", "workers"),
    ("sqlite", "workers-inline"),
)


def measure(
    seconds: int, postgres_url: str, workdir: Path, counts: tuple[int, ...] = COUNTS
) -> dict[str, Any]:
    script = workdir / "append.lua"
    script.write_text(WRK_SCRIPT)
    figures: dict[str, Any] = {}
    for store, layout in LAYOUTS:
        for count in counts:
            if store == "postgres":
                _empty(postgres_url)
                database_url = postgres_url
            else:
                database_url = f"sqlite:///{workdir}/scale-{layout}-{count}.db"
            env = server_env(database_url, workdir)
            headers = writer_key(env, workdir)
            with ExitStack() as stack:
                bases = _start(stack, layout, count, env, workdir)
                appends = _wrk([f"{b}/v1/events" for b in bases], headers, seconds, script)
                reads = _wrk([f"{b}/v1/timeline?limit=100" for b in bases], headers, seconds, None)
            rates = {"appends": appends, "reads": reads}
            figures.setdefault(f"{store} {layout}", {})[str(count)] = rates
    return figures


def _start(
    stack: ExitStack, layout: str, count: int, env: dict[str, str], workdir: Path
) -> list[str]:
    """The base URLs of ``count`` serving processes in ``layout``."""
    if layout == "servers":  # each a read model of its own (server_env names a fresh one)
        database_url = env["TRUCELINE_DATABASE_URL"]
        return [
            stack.enter_context(
                serving([str(TRUCELINE), "serve"], server_env(database_url, workdir), workdir)
            )
            for _ in range(count)
        ]
    command = [str(TRUCELINE), "serve", "--workers", str(count)]
    if layout == "workers-inline":
        command += ["--projector", "inline"]
    return [stack.enter_context(serving(command, env, workdir))]


def main() -> None:
    seconds, database_url = int(sys.argv[1]), sys.argv[2]
    counts = tuple(int(n) for n in sys.argv[3].split(",")) if len(sys.argv) > 3 else COUNTS
    with tempfile.TemporaryDirectory() as workdir:
        print(json.dumps(measure(seconds, database_url, Path(workdir), counts)))


if __name__ == "__main__":
    main()
