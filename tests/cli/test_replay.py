"""``truceline replay --as-of P|TIME --out FILE.db``: the read models as they stood then.

The file is standalone SQLite (sqlite-utils, Datasette) with the ``timeline``,
``ceasefires`` and ``breaches`` tables. Its current timeline rows (``valid_to IS NULL``)
must be exactly the items ``GET /v1/timeline?as_of=P`` answers, on both stores. The log is
the worked example of shared/examples/breach-rules.md (positions 1-11) followed by a short
history of corrections and retractions in another conflict (12-16), one event a request
so that every entry has its own ``recorded_at``.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from tests.api.as_of_logs import AMENDED_LOG, WORKED_EXAMPLE, n
from tests.helpers import Headers, append_each
from truceline.cli import app as cli

LOG = [*WORKED_EXAMPLE, *AMENDED_LOG]
LOG_SIZE = len(LOG)
# Before anything; during the example; around the retraction of #9 (position 10);
# the end of the example; part way through the amendments; the end.
POSITIONS = (0, 3, 9, 10, 11, 14, LOG_SIZE)
TABLES = ("timeline", "amendments", "ceasefires", "breaches")
# Only this test's TRUCELINE_* variables; relative paths land in tmp_path.
pytestmark = pytest.mark.usefixtures("no_outside_settings")


@pytest.fixture
def recorded(client: TestClient, writer: Headers) -> list[str]:
    """The log appended through the API; the recorded_at of each position (index 0 is
    position 1)."""
    return append_each(client, writer, LOG)


def replay(database_url: str, as_of: str, out: Path, *flags: str) -> Result:
    return CliRunner().invoke(
        cli,
        ["replay", "--as-of", as_of, "--out", str(out), *flags],
        env={"TRUCELINE_DATABASE_URL": database_url},
    )


def replayed(database_url: str, as_of: str, out: Path, position: int, *flags: str) -> Path:
    """Run a replay that must succeed, and check what it says it did."""
    result = replay(database_url, as_of, out, *flags)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"wrote the read models as of position {position} ({position} events) to {out}\n"
    )
    return out


def current_items(path: Path, *, include_retracted: bool = True) -> list[tuple[str, Any]]:
    """(event_id, item) of the file's current timeline rows, in the timeline's order."""
    db = sqlite_utils.Database(path)
    try:
        where = "valid_to IS NULL" + ("" if include_retracted else " AND retracted = 0")
        rows = db.execute(
            f"SELECT event_id, item FROM timeline WHERE {where} ORDER BY occurred_us, position"
        ).fetchall()
    finally:
        db.close()
    return [(event_id, json.loads(item)) for event_id, item in rows]


def served_items(
    client: TestClient, headers: Headers, as_of: int, *, include_retracted: bool = True
) -> list[tuple[str, Any]]:
    response = client.get(
        "/v1/timeline",
        params={
            "as_of": as_of,
            "limit": 1000,
            "include_retracted": str(include_retracted).lower(),
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    return [(item["event_id"], item) for item in body["items"]]


def all_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the compared tables, in primary-key order."""
    db = sqlite_utils.Database(path)
    try:
        return {
            name: db.execute(
                f"SELECT * FROM {name} ORDER BY {', '.join(db[name].pks)}"  # type: ignore[union-attr]
            ).fetchall()
            for name in TABLES
        }
    finally:
        db.close()


def ceasefire_ids(path: Path) -> list[str]:
    db = sqlite_utils.Database(path)
    try:
        return [
            row[0]
            for row in db.execute(
                "SELECT ceasefire_id FROM ceasefires WHERE valid_to IS NULL ORDER BY 1"
            )
        ]
    finally:
        db.close()


def test_the_file_holds_the_timeline_as_of_each_position(
    client, reader, database_url, recorded, tmp_path
):
    for position in POSITIONS:
        out = replayed(database_url, str(position), tmp_path / f"as-of-{position}.db", position)

        assert current_items(out) == served_items(client, reader, position), position
        assert current_items(out, include_retracted=False) == served_items(
            client, reader, position, include_retracted=False
        ), position


def test_the_file_is_a_standalone_sqlite_database(database_url, recorded, tmp_path):
    out = replayed(database_url, "9", tmp_path / "replay.db", 9)
    alone = tmp_path / "elsewhere" / "copy.db"
    alone.parent.mkdir()
    shutil.copyfile(out, alone)  # the file alone, without any -wal or -shm beside it

    db = sqlite_utils.Database(alone)
    try:
        assert {"timeline", "ceasefires", "breaches"} <= set(db.table_names())
        assert db["timeline"].count == 9  # one row per item version: #10 retracts #9
    finally:
        db.close()
    assert all_rows(alone) == all_rows(out)
    assert ceasefire_ids(alone) == ["truce-1", "truce-2"]


def test_the_breaches_table_follows_the_log_as_it_stood(database_url, recorded, tmp_path):
    """truce-2 is broken by #9 as of 9; the retraction at 10 removes that breach."""
    before = replayed(database_url, "9", tmp_path / "9.db", 9)
    after = replayed(database_url, "10", tmp_path / "10.db", 10)

    def truce_2_breaches(path: Path) -> list[str]:
        db = sqlite_utils.Database(path)
        try:
            return [
                row[0]
                for row in db.execute(
                    "SELECT event_id FROM breaches "
                    "WHERE ceasefire_id = 'truce-2' AND certain = 1 AND valid_to IS NULL"
                )
            ]
        finally:
            db.close()

    assert truce_2_breaches(before) == [n(9)]
    assert truce_2_breaches(after) == []
    assert ceasefire_ids(replayed(database_url, "7", tmp_path / "7.db", 7)) == ["truce-1"]
    assert ceasefire_ids(replayed(database_url, "0", tmp_path / "0.db", 0)) == []


def test_as_of_a_recorded_time_is_the_last_position_recorded_by_then(
    database_url, recorded, tmp_path
):
    by_position = replayed(database_url, "10", tmp_path / "position.db", 10)
    at_10 = datetime.fromisoformat(recorded[9].replace("Z", "+00:00"))
    at_11 = datetime.fromisoformat(recorded[10].replace("Z", "+00:00"))
    times = [
        recorded[9],  # exactly when 10 was recorded, as the API wrote it
        at_10.astimezone(timezone(timedelta(hours=4))).isoformat(),  # another offset
        (at_11 - timedelta(microseconds=1)).isoformat(),  # just before 11
    ]
    assert at_10 <= at_11 - timedelta(microseconds=1)

    for number, moment in enumerate(times):
        by_time = replayed(database_url, moment, tmp_path / f"time-{number}.db", 10)

        assert all_rows(by_time) == all_rows(by_position), moment


def test_as_of_beyond_the_end_is_the_whole_log(client, reader, database_url, recorded, tmp_path):
    out = replayed(database_url, "1000", tmp_path / "beyond.db", LOG_SIZE)
    later = datetime.fromisoformat(recorded[-1].replace("Z", "+00:00")) + timedelta(days=1)
    by_time = replayed(database_url, later.isoformat(), tmp_path / "later.db", LOG_SIZE)

    assert current_items(out) == served_items(client, reader, LOG_SIZE)
    assert all_rows(by_time) == all_rows(out)


def test_an_existing_file_is_kept_unless_forced(database_url, recorded, tmp_path):
    out = tmp_path / "replay.db"
    replayed(database_url, str(LOG_SIZE), out, LOG_SIZE)
    before = all_rows(out)

    refused = replay(database_url, "3", out)

    assert refused.exit_code == 2, refused.output
    assert f"--out {out} exists: pass --force to replace it" in refused.stderr
    assert all_rows(out) == before


def test_an_existing_file_is_replaced_with_force(database_url, recorded, tmp_path):
    out = tmp_path / "replay.db"
    replayed(database_url, str(LOG_SIZE), out, LOG_SIZE)

    replayed(database_url, "3", out, 3, "--force")

    assert all_rows(out) == all_rows(replayed(database_url, "3", tmp_path / "fresh.db", 3))
    assert [event_id for event_id, _ in current_items(out)] == [n(1), n(2), n(3)]


@pytest.mark.parametrize("as_of", ["yesterday", "2021-13-01T00:00:00Z", "-1", "²"])
def test_an_invalid_as_of_is_refused_and_writes_nothing(database_url, recorded, tmp_path, as_of):
    out = tmp_path / "replay.db"

    result = replay(database_url, as_of, out)

    assert result.exit_code == 2, result.output
    assert "--as-of" in result.stderr
    assert not out.exists()
