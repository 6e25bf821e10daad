"""A generated log, and the rows of the read model built from it: shared by the
projections' crash-recovery tests (tests/projections/test_crash_recovery.py) and the CLI's
rebuild tests (tests/cli/test_rebuild.py).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from truceline.application.app import Truceline
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel

Event = dict[str, Any]
Rows = dict[str, list[tuple[Any, ...]]]

# The read model's tables compared, each in the order of its primary key.
TABLES = (
    "timeline",
    "amendments",
    "ceasefires",
    "breaches",
    "log_meta",
    "conflicts",
    "ceasefire_history",
)


def table_rows(path: str | Path) -> Rows:
    """Every row of the read model's tables, ordered by primary key, and its position."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows: Rows = {}
        for name in TABLES:
            columns = db.execute(f"PRAGMA table_info({name})").fetchall()
            key = [c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5]]
            assert key, f"{name} has no primary key"
            rows[name] = db.execute(f"SELECT * FROM {name} ORDER BY {', '.join(key)}").fetchall()
        rows["tracking"] = db.execute(
            "SELECT * FROM tracking WHERE application_name = 'Truceline'"
        ).fetchall()
    return rows


def _uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _time(rng: random.Random, first_day: int = 0, last_day: int = 300) -> str:
    day = rng.randint(first_day, last_day)
    return f"2021-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}T{rng.randint(0, 23):02d}:00:00Z"


def history(size: int, conflicts: int = 100, seed: int = 7) -> Iterator[Event]:
    """A valid log of ``size`` events, in bursts of one conflict at a time."""
    rng = random.Random(seed)
    actors = ["A", "B", "C"]
    counter = 0
    incidents: dict[str, list[str]] = {}
    reports: dict[str, list[str]] = {}
    retracted: set[str] = set()

    def new(kind: str, conflict: str, **fields: Any) -> Event:
        nonlocal counter
        counter += 1
        return {"type": kind, "event_id": _uuid(counter), "conflict": conflict, **fields}

    names = [f"war-{n:03d}" for n in range(conflicts)]
    for conflict in names:
        incidents[conflict], reports[conflict] = [], []
        yield new(
            "ceasefire_agreed",
            conflict,
            occurred_at="2021-01-01T00:00:00Z",
            ceasefire_id="first",
            parties=["A", "B"],
            effective_at="2021-01-02T00:00:00Z",
        )
        yield new(
            "ceasefire_agreed",
            conflict,
            occurred_at="2021-04-01T00:00:00Z",
            ceasefire_id="second",
            parties=["A", "B", "C"],
            mediators=["M"],
            effective_at="2021-04-02T00:00:00Z",
        )
        yield new(
            "ceasefire_agreed",
            conflict,
            occurred_at="2021-02-01T00:00:00Z",
            ceasefire_id="local",
            parties=["C"],
            effective_at="2021-01-20T00:00:00Z",
            ends_at="2021-09-01T00:00:00Z",
        )
        yield new(
            "ceasefire_ended",
            conflict,
            occurred_at="2021-08-01T00:00:00Z",
            ceasefire_id="second",
            reason="collapsed",
        )
    while counter < size:
        conflict = rng.choice(names)
        for _ in range(50):  # a burst; each history is a prefix of every longer one
            if counter >= size:
                return
            roll = rng.random()
            common = {
                "occurred_at": _time(rng),
                "time_precision": rng.choice(
                    ["exact", "exact", "hour", "day", "week", "month", "approximate"]
                ),
            }
            if roll < 0.55 or not incidents[conflict]:
                kind = rng.choice(["strike", "shelling"])
                perpetrator = rng.choice([*actors, None])
                event = new(
                    kind,
                    conflict,
                    **common,
                    **({"perpetrator": perpetrator} if perpetrator else {}),
                )
                incidents[conflict].append(event["event_id"])
            elif roll < 0.7:
                parties = rng.sample(actors, rng.randint(2, 3))
                event = new(
                    "clash",
                    conflict,
                    **common,
                    parties=parties,
                    **({"initiator": parties[0]} if rng.random() < 0.5 else {}),
                )
                incidents[conflict].append(event["event_id"])
            elif roll < 0.82:
                named = rng.choice(incidents[conflict][-20:]) if rng.random() < 0.5 else None
                event = new(
                    "ceasefire_breached",
                    conflict,
                    **common,
                    ceasefire_id=rng.choice(["first", "second", "local"]),
                    accused=rng.choice(actors),
                    **({"incident_event_id": named} if named else {}),
                )
                reports[conflict].append(event["event_id"])
            elif roll < 0.94:
                target = rng.choice(incidents[conflict])
                changes = rng.choice(
                    [
                        {"occurred_at": _time(rng)},
                        {"time_precision": "day"},
                        {"killed": rng.randint(0, 9)},
                    ]
                )
                event = new(
                    "correction",
                    conflict,
                    occurred_at=_time(rng, 300, 320),
                    corrects_event_id=target,
                    changes=changes,
                )
            else:
                candidates = [
                    e
                    for e in incidents[conflict][-30:] + reports[conflict][-10:]
                    if e not in retracted
                ]
                if not candidates:
                    continue
                target = rng.choice(candidates)
                retracted.add(target)
                event = new(
                    "retraction",
                    conflict,
                    occurred_at=_time(rng, 300, 320),
                    retracts_event_id=target,
                    reason="withdrawn",
                )
            yield event


def build(app: Truceline, path: Path, page_size: int = 1000) -> Rows:
    """A read model built fresh from the whole log; its rows."""
    read_model = ReadModel(path)
    try:
        Follower(app, read_model, page_size=page_size).catch_up()
    finally:
        read_model.close()
    return table_rows(path)
