"""A log edited behind the service's back is found, at the first position that changed.

Each entry's hash covers its content and the hash before it. Ten events are appended
through the application, then the store's tables are edited over a raw connection (sqlite3
on the file, psycopg on the PostgreSQL database), as someone with database access but not
the service's API could: an event's content changed, an entry deleted, two events swapped,
who recorded one rewritten. ``Truceline.verify_chain``, ``truceline verify`` (with and
without ``--file``) and ``GET /v1/audit/verify`` must all name that first position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import Result

from tests.application.tampering_helpers import (
    CONFLICT,
    LOG_SIZE,
    RECORDED_BY,
    TAMPERING_IDS,
    TAMPERINGS,
    RawStore,
    change_content,
    delete_both_rows,
    edit_killed,
    export,
    fill,
    garble_content,
    n,
    project,
    rewrite_recorded_by,
    run,
    swap_events,
    write_lines,
)
from tests.helpers import Headers, assert_problem
from truceline.application.app import AppendRequest, Truceline
from truceline.application.audit import ChainReport
from truceline.domain.validation import parse_event
from truceline.settings import Settings

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


def test_verify_file_passes_an_untouched_export(application, environment, tmp_path):
    fill(application)
    out = tmp_path / "log.ndjson"
    assert len(export(environment, out)) == LOG_SIZE

    result = run(environment, "verify", "--file", str(out))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"hash chain verified: {LOG_SIZE} events\n"


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
