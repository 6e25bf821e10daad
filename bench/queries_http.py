"""Read latencies over HTTP, with wrk, against ``truceline serve`` on a built log.

    python bench/queries_http.py WORKDIR SECONDS

WORKDIR holds ``log.db`` and ``read-model.db`` from ``bench/run.py``'s build and catch-up
steps. Prints JSON: p50/p99 (ms) and requests/s per query, with and without ``as_of``, with 4
connections; and the CSV page and the status as_of one request at a time.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appends import TRUCELINE, parse_wrk, server_env, serving, writer_key

from truceline.domain.times import parse_utc, to_micros


def _wrk(url: str, headers: dict[str, str], seconds: int, connections: int = 4) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def _cursor(occurred_us: int) -> str:
    # The timeline's keyset cursor (api/projections.py): base64 of [occurred_us, position].
    return base64.urlsafe_b64encode(json.dumps([occurred_us, 0]).encode()).decode().rstrip("=")


def main() -> None:
    workdir, seconds = Path(sys.argv[1]), int(sys.argv[2])
    env = server_env(f"sqlite:///{workdir}/log.db", workdir)
    env["TRUCELINE_READ_MODEL_PATH"] = str(workdir / "read-model.db")
    headers = writer_key(env, workdir)
    results: dict[str, dict[str, float]] = {}
    with serving([str(TRUCELINE), "serve"], env, workdir) as base:
        health = httpx.get(f"{base}/v1/health").json()
        half = health["log_position"] // 2
        entry = httpx.get(
            f"{base}/v1/events", params={"after": half - 1, "limit": 1}, headers=headers
        ).json()["events"][0]
        deep = to_micros(parse_utc(entry["event"]["occurred_at"]))
        # The middle of the ceasefires known at the middle of the log, so that the status
        # exists both now and as_of then.
        ceasefires = httpx.get(
            f"{base}/v1/ceasefires", params={"as_of": half}, headers=headers, timeout=120
        ).json()["items"]
        middle = ceasefires[len(ceasefires) // 2]
        at = middle["effective_at"]
        queries = {
            "timeline page, two filters": (
                "/v1/timeline",
                {"conflict": "conflict-3", "type": "shelling"},
            ),
            "deep cursor page": (
                "/v1/timeline",
                {"conflict": "conflict-3", "cursor": _cursor(deep)},
            ),
            "10,000-row CSV": ("/v1/timeline", {"format": "csv", "limit": 10_000}),
            "ceasefire status": (
                f"/v1/ceasefires/{middle['ceasefire_id']}",
                {"conflict": middle["conflict"], "at": at},
            ),
        }
        for name, (path, params) in queries.items():
            for label, extra in (("", {}), (" as_of", {"as_of": half})):
                url = f"{base}{path}?{urlencode({**params, **extra})}"
                results[name + label] = _wrk(url, headers, seconds)
        # One request at a time: what one client waits, where the figures above (four
        # at once in one process) include the wait for the others' share of the
        # interpreter lock.
        for name in ("10,000-row CSV", "ceasefire status"):
            path, params = queries[name]
            url = f"{base}{path}?{urlencode({**params, 'as_of': half})}"
            results[f"{name} as_of, one at a time,"] = _wrk(url, headers, seconds, 1)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
