"""A log edited behind the service's back is found, at the first position that changed.

Each entry's hash covers its content and the hash before it. Ten events are appended
through the application, then the store's tables are edited over a raw connection (sqlite3
on the file, psycopg on the PostgreSQL database), as someone with database access but not
the service's API could: an event's content changed, an entry deleted, two events swapped,
who recorded one rewritten. ``Truceline.verify_chain``, ``truceline verify`` (with and
without ``--file``) and ``GET /v1/audit/verify`` must all name that first position.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from tests.helpers import Headers, append_all, assert_problem
from truceline.application.app import AppendRequest, Truceline
from truceline.application.audit import ChainReport
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


# -- Truceline.verify_chain ----------------------------------------------------------------


def test_an_untouched_log_verifies(application: Truceline) -> None:
    fill(application)

    assert application.verify_chain() == ChainReport(True, LOG_SIZE, None, None)


def test_an_empty_log_verifies(application: Truceline) -> None:
    assert application.verify_chain() == ChainReport(True, 0, None, None)


@pytest.mark.parametrize(("tamper", "first_bad", "left"), TAMPERINGS, ids=TAMPERING_IDS)
def test_tampering_is_found_at_its_first_position(
    application: Truceline,
    database_url: str,
    tamper: Callable[[RawStore], None],
    first_bad: int,
    left: int,
) -> None:
    fill(application)

    tamper(RawStore(database_url, application))
    report = application.verify_chain()

    assert (report.ok, report.events_checked, report.first_bad_position) == (
        False,
        left,
        first_bad,
    )
    assert report.reason


def test_appending_after_tampering_does_not_heal_the_chain(
    application: Truceline, database_url: str
) -> None:
    fill(application)
    change_content(RawStore(database_url, application))

    more = {
        "event_id": n(11),
        "type": "statement",
        "conflict": CONFLICT,
        "occurred_at": "2023-05-12T00:00:00Z",
        "speaker": "North",
        "text": "All quiet.",
    }
    application.append(AppendRequest([parse_event(more)], RECORDED_BY))
    report = application.verify_chain()

    assert (report.ok, report.events_checked, report.first_bad_position) == (False, 11, 4)


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def environment(settings: Settings, no_outside_settings: None) -> dict[str, str]:
    """The TRUCELINE_* variables of this test's store and read model, and no others."""
    return {
        "TRUCELINE_DATABASE_URL": settings.database_url,
        "TRUCELINE_READ_MODEL_PATH": read_model_path(settings),
    }


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


def test_verify_file_passes_an_untouched_export(application, environment, tmp_path):
    fill(application)
    out = tmp_path / "log.ndjson"
    assert len(export(environment, out)) == LOG_SIZE

    result = run(environment, "verify", "--file", str(out))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"hash chain verified: {LOG_SIZE} events\n"


def edit_killed(lines: list[dict[str, Any]]) -> None:
    lines[6]["event"]["killed"] = 70


def edit_recorded_at(lines: list[dict[str, Any]]) -> None:
    lines[6]["recorded_at"] = lines[0]["recorded_at"]


def drop_line(lines: list[dict[str, Any]]) -> None:
    del lines[6]


def swap_lines(lines: list[dict[str, Any]]) -> None:
    lines[6], lines[7] = lines[7], lines[6]


def rehash_line(lines: list[dict[str, Any]]) -> None:
    """An edit that also carries a made-up hash: the next line no longer chains."""
    lines[6]["event"]["killed"] = 70
    lines[6]["hash"] = "f" * 64


@pytest.mark.parametrize(
    "edit",
    [edit_killed, edit_recorded_at, drop_line, swap_lines, rehash_line],
    ids=lambda edit: edit.__name__,
)
def test_verify_file_fails_an_edited_export_naming_the_position(
    application, environment, tmp_path, edit
):
    fill(application)
    lines = export(environment, tmp_path / "log.ndjson")
    edit(lines)
    edited = tmp_path / "edited.ndjson"
    write_lines(edited, lines)

    result = run(environment, "verify", "--file", str(edited))

    assert result.exit_code == 1, result.output
    assert "hash chain BROKEN at position 7 " in result.stdout


@pytest.mark.parametrize(
    "damage",
    [lambda line: line[: len(line) // 2], lambda line: "[]", lambda line: '"an entry"'],
    ids=["cut-short", "array", "string"],
)
def test_verify_file_names_a_line_that_is_no_entry_at_all(
    application, environment, tmp_path, damage
):
    """Damage that leaves no entry on line 7 is still a broken chain at 7, not a crash."""
    fill(application)
    export(environment, tmp_path / "log.ndjson")
    texts = (tmp_path / "log.ndjson").read_text().splitlines()
    texts[6] = damage(texts[6])
    edited = tmp_path / "edited.ndjson"
    edited.write_text("\n".join(texts) + "\n")

    result = run(environment, "verify", "--file", str(edited))

    assert not isinstance(result.exception, Exception), repr(result.exception)  # exit only
    assert result.exit_code == 1, result.output
    assert "hash chain BROKEN at position 7 " in result.stdout


@pytest.fixture
def verify_after(
    application: Truceline, settings: Settings, database_url: str, environment: dict[str, str]
) -> Callable[[Callable[[RawStore], None]], Result]:
    """The ten events appended and projected; ``verify_after(tamper)`` edits the store with
    ``tamper``, then runs ``truceline verify``."""
    fill(application)
    project(application, settings)

    def verify_after(tamper: Callable[[RawStore], None]) -> Result:
        tamper(RawStore(database_url, application))
        return run(environment, "verify")

    return verify_after


# The first line ``truceline verify`` prints for South's shelling edited or garbled.
BROKEN_AT_4 = (
    f"hash chain BROKEN at position 4 (the stored bytes do not match their content_hash); "
    f"{LOG_SIZE} events checked"
)
# What ``truceline verify`` says of the parts a stored-bytes edit leaves alone.
TREE_AND_KEYS_OK = [
    f"Merkle tree: {LOG_SIZE} leaves match the stored tree",
    "keys' access log verified: 0 records",
]


def test_verify_checks_the_store_and_fails_once_it_was_tampered(verify_after, environment):
    before = run(environment, "verify")
    after = verify_after(rewrite_recorded_by)

    assert before.exit_code == 0, before.output
    assert before.stdout.splitlines() == [
        f"hash chain verified: {LOG_SIZE} events",
        *TREE_AND_KEYS_OK,
        f"read models at position {LOG_SIZE}: consistent with the log",
    ]
    assert after.exit_code == 1, after.output
    assert after.stdout.splitlines()[0].startswith("hash chain BROKEN at position 5 ")


def test_verify_fails_when_content_was_changed_under_the_read_models(verify_after):
    result = verify_after(change_content)

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        BROKEN_AT_4,
        *TREE_AND_KEYS_OK,
        f"read models at position {LOG_SIZE}: DIFFER from a rebuild",
    ]


# -- GET /v1/audit/verify ---------------------------------------------------------------------


@pytest.fixture
def served(client: TestClient, writer: Headers) -> TestClient:
    """The ten events appended through the API, and the read models caught up."""
    append_all(client, writer, events())
    caught_up = client.get("/v1/timeline", params={"min_position": LOG_SIZE}, headers=writer)
    assert caught_up.status_code == 200, caught_up.text
    return client


def test_audit_verify_needs_an_auditor_key(served, reader, writer, auditor):
    assert_problem(served.get("/v1/audit/verify"), 401)
    assert_problem(served.get("/v1/audit/verify", headers=reader), 403)
    assert_problem(served.get("/v1/audit/verify", headers=writer), 403)
    assert served.get("/v1/audit/verify", headers=auditor).status_code == 200


def assert_audit_verify(client: TestClient, auditor: Headers, **report: Any) -> None:
    """``GET /v1/audit/verify`` with an auditor key answers 200 with exactly ``report``."""
    response = client.get("/v1/audit/verify", headers=auditor)

    assert response.status_code == 200, response.text
    assert response.json() == report


def test_audit_verify_passes_an_untouched_log(served, auditor):
    assert_audit_verify(
        served,
        auditor,
        ok=True,
        events_checked=LOG_SIZE,
        first_bad_position=None,
        projections_consistent=True,
        tree_consistent=True,
        key_log_consistent=True,
    )


@pytest.mark.parametrize(
    ("tamper", "first_bad", "left", "projections_consistent", "tree_consistent"),
    [
        # The read models never saw who recorded an event: they still match a rebuild.
        (rewrite_recorded_by, 5, LOG_SIZE, True, True),
        # A rebuild from the changed log projects North's shelling, the live one South's.
        (change_content, 4, LOG_SIZE, False, True),
        (swap_events, 3, LOG_SIZE, False, True),
        # Bytes that no longer decode are reported, not raised.
        (garble_content, 4, LOG_SIZE, False, True),
        # The stored tree still has the deleted entry's leaf.
        (delete_both_rows, 6, LOG_SIZE - 1, False, False),
    ],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_audit_verify_reports_tampering(
    served, auditor, database_url, tamper, first_bad, left, projections_consistent, tree_consistent
):
    tamper(RawStore(database_url, served.app.state.app))

    assert_audit_verify(
        served,
        auditor,
        ok=False,
        events_checked=left,
        first_bad_position=first_bad,
        projections_consistent=projections_consistent,
        tree_consistent=tree_consistent,
        key_log_consistent=True,
    )


def test_verify_reports_bytes_that_no_longer_decode(verify_after):
    """An undecodable event is a broken chain at its position, not a crash."""
    result = verify_after(garble_content)

    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception), repr(result.exception)  # exit only
    assert result.stdout.splitlines()[0] == BROKEN_AT_4
