"""The tampering tests' shared case: ten events, a raw connection to the store's tables,
and the command line run against this test's store.

Used by ``test_tampering.py`` (edits the chain itself finds), ``test_forgery.py``
(forgeries only checkpoints find) and ``tests/api/test_checkpoints.py``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from tests.helpers import append_all
from truceline.application.app import AppendRequest, Truceline
from truceline.application.postgres_store import PostgresLogRecorder
from truceline.application.sqlite_store import SQLiteLogRecorder
from truceline.cli import app as cli
from truceline.domain.validation import parse_event
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings, read_model_path

CONFLICT = "tamper-front-2023"
RECORDED_BY = "key_tamper0test"
LOG_SIZE = 10


def n(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def events() -> list[dict[str, Any]]:
    """Ten valid events: a ceasefire, incidents each with its own perpetrator and toll
    (so that every stored state is distinct), a breach report, a correction."""
    log: list[dict[str, Any]] = [
        {
            "event_id": n(1),
            "type": "ceasefire_agreed",
            "conflict": CONFLICT,
            "occurred_at": "2023-05-01T00:00:00Z",
            "ceasefire_id": "truce",
            "parties": ["North", "South"],
            "effective_at": "2023-05-01T06:00:00Z",
        },
    ]
    for number in range(2, 9):
        log.append(
            {
                "event_id": n(number),
                "type": "shelling",
                "conflict": CONFLICT,
                "occurred_at": f"2023-05-{number:02d}T12:00:00Z",
                "perpetrator": "South" if number == 4 else "North",
                "killed": number,
            }
        )
    log.append(
        {
            "event_id": n(9),
            "type": "ceasefire_breached",
            "conflict": CONFLICT,
            "occurred_at": "2023-05-10T00:00:00Z",
            "ceasefire_id": "truce",
            "accused": "North",
        }
    )
    log.append(
        {
            "event_id": n(10),
            "type": "correction",
            "conflict": CONFLICT,
            "occurred_at": "2023-05-11T00:00:00Z",
            "corrects_event_id": n(2),
            "changes": {"killed": 20},
        }
    )
    assert len(log) == LOG_SIZE
    return log


# -- the raw store --------------------------------------------------------------------------


class RawStore:
    """The store's tables over a connection of its own, in autocommit mode. The
    eventsourcing events table is named by the recorder (``stored_events`` on SQLite,
    after the application on PostgreSQL)."""

    def __init__(self, database_url: str, application: Truceline):
        self.sqlite = database_url.startswith("sqlite:")
        self.database_url = database_url
        recorder = application.recorder
        assert isinstance(recorder, SQLiteLogRecorder | PostgresLogRecorder)
        self.events: str = recorder.events_table_name

    @contextmanager
    def _connection(self) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
        if self.sqlite:
            path = self.database_url.removeprefix("sqlite:///")
            with closing(sqlite3.connect(path, isolation_level=None)) as conn:
                yield lambda sql, *params: conn.execute(sql, params).fetchall()
        else:
            with psycopg.connect(self.database_url, autocommit=True) as pg:

                def run(sql: str, *params: Any) -> list[tuple[Any, ...]]:
                    cursor = pg.execute(sql.replace("?", "%s").encode(), params)
                    return cursor.fetchall() if cursor.description else []

                yield run

    @property
    def _position(self) -> str:
        """The stored_events column that holds the log position."""
        return "rowid" if self.sqlite else "notification_id"

    def state(self, position: int) -> bytes:
        with self._connection() as run:
            rows = run(f"SELECT state FROM {self.events} WHERE {self._position} = ?", position)
        assert len(rows) == 1
        return bytes(rows[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        with self._connection() as run:
            run(f"UPDATE {self.events} SET state = ? WHERE {self._position} = ?", state, position)
        assert self.state(position) == state

    def replace_in_state(self, position: int, old: bytes, new: bytes) -> None:
        state = self.state(position)
        assert state.count(old) == 1, state
        self.set_state(position, state.replace(old, new))

    def delete_event(self, position: int) -> None:
        with self._connection() as run:
            run(f"DELETE FROM {self.events} WHERE {self._position} = ?", position)

    def delete_entry(self, position: int) -> None:
        with self._connection() as run:
            run("DELETE FROM truceline_entries WHERE position = ?", position)

    def set_recorded_by(self, position: int, recorded_by: str) -> None:
        with self._connection() as run:
            run(
                "UPDATE truceline_entries SET recorded_by = ? WHERE position = ?",
                recorded_by,
                position,
            )


def change_content(raw: RawStore) -> None:
    """Position 4 is South's shelling: make it North's."""
    raw.replace_in_state(4, b'"South"', b'"North"')


def garble_content(raw: RawStore) -> None:
    """Position 4's stored bytes no longer decode at all."""
    raw.set_state(4, b"\x00 not an event")


def delete_event_row(raw: RawStore) -> None:
    raw.delete_event(6)


def delete_entry_row(raw: RawStore) -> None:
    raw.delete_entry(6)


def delete_both_rows(raw: RawStore) -> None:
    raw.delete_event(6)
    raw.delete_entry(6)


def swap_events(raw: RawStore) -> None:
    third, seventh = raw.state(3), raw.state(7)
    raw.set_state(3, seventh)
    raw.set_state(7, third)


def rewrite_recorded_by(raw: RawStore) -> None:
    raw.set_recorded_by(5, "key_someoneelse")


# (how, first bad position, entries left in the log)
TAMPERINGS: list[tuple[Callable[[RawStore], None], int, int]] = [
    (change_content, 4, LOG_SIZE),
    (garble_content, 4, LOG_SIZE),
    (delete_event_row, 6, LOG_SIZE - 1),
    (delete_entry_row, 6, LOG_SIZE - 1),
    (delete_both_rows, 6, LOG_SIZE - 1),
    (swap_events, 3, LOG_SIZE),
    (rewrite_recorded_by, 5, LOG_SIZE),
]
TAMPERING_IDS = [how.__name__ for how, _, _ in TAMPERINGS]


def fill(application: Truceline) -> None:
    for position, event in enumerate(events(), start=1):
        appended = application.append(AppendRequest([parse_event(event)], RECORDED_BY))
        assert [r.position for r in appended.receipts] == [position]


# -- the command line ---------------------------------------------------------------------


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def project(application: Truceline, settings: Settings) -> None:
    """Bring this installation's read model up to the log, as a server would."""
    read_model = ReadModel(read_model_path(settings))
    try:
        Follower(application, read_model).catch_up()
    finally:
        read_model.close()


def export(env: dict[str, str], out: Path) -> list[dict[str, Any]]:
    result = run(env, "export", "--out", str(out))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def write_lines(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))


def edit_killed(lines: list[dict[str, Any]]) -> None:
    lines[6]["event"]["killed"] = 70


def serve_the_case(client: TestClient, writer: dict[str, str]) -> TestClient:
    """The ten events appended through the API, and the read models caught up."""
    append_all(client, writer, events())
    caught_up = client.get("/v1/timeline", params={"min_position": LOG_SIZE}, headers=writer)
    assert caught_up.status_code == 200, caught_up.text
    return client
