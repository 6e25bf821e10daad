"""``truceline import --format acled|acled-deleted`` on both stores (docs/acled.md): the
summary lines it prints, the files it refuses (exit 2, a message, nothing stored), and
``--actor-map``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.interop.acled_cases import (
    ACTOR_MAP,
    CONFLICT,
    CURRENT_ENVELOPES,
    FIXTURES,
    renamed,
    stored_current,
)
from truceline.application.app import Truceline
from truceline.cli import app
from truceline.settings import Settings

pytestmark = pytest.mark.usefixtures("no_outside_settings")

RECORDED_BY = f"local:{getpass.getuser()}"
ACTORS_LINE = (
    "most frequent actors (for --actor-map): Military Forces of Azerbaijan (1993-) 3; "
    "Military Forces of Armenia (2018-) 3; Rapid Support Forces 3; Civilians (Ukraine) 2; "
    "Military Forces of Sudan (2019-) 2; Civilians (Azerbaijan) 1; "
    "Military Forces of Russia (2000-) 1; Unidentified Armed Group (Ukraine) 1; "
    "Protesters (Ukraine) 1; Civilians (Sudan) 1"
)
SKIPPED_LINE = "skipped: Attack 1; Peaceful protest 1; Remote explosive/landmine/IED 1"
EXPECTED_COLUMNS = (
    "not an ACLED layout: expected the columns event_id_cnty, event_date, actor1, country "
    "and sub_event_type (or event_type); missing event_id_cnty, event_date, actor1, country, "
    "sub_event_type (or, version 5, event_type); found "
)


def _invoke(database_url: str, *args: str) -> Result:
    # No COLUMNS: output is as wide as when piped, not as the terminal running the tests.
    env = {"TRUCELINE_DATABASE_URL": database_url, "COLUMNS": None, "LINES": None}
    return CliRunner().invoke(app, list(args), env=env)


def _acled(database_url: str, name: str, *options: str) -> Result:
    return _invoke(database_url, "import", "--format", "acled", str(FIXTURES / name), *options)


def _new_store(database_url: str) -> str:
    """What the first command on a new SQLite store warns of on stderr (nothing for
    PostgreSQL, whose database exists before)."""
    if not database_url.startswith("sqlite:///"):
        return ""
    path = database_url.removeprefix("sqlite:///")
    return f"warning: created a new, empty event store {path}\n"


@contextmanager
def _application(database_url: str, tmp_path: Path) -> Iterator[Truceline]:
    settings = Settings(database_url=database_url, read_model_path=str(tmp_path / "rm.db"))
    application = Truceline(settings)
    try:
        yield application
    finally:
        application.close()


def _log_position(database_url: str, tmp_path: Path) -> int:
    with _application(database_url, tmp_path) as application:
        return application.log_position()


def test_import_prints_the_summary_lines_of_each_run(database_url: str, tmp_path: Path) -> None:
    first = _acled(database_url, "current.csv", "--conflict", CONFLICT)

    assert first.exit_code == 0, first.stderr
    assert first.stderr == _new_store(database_url)
    assert first.stdout.splitlines() == [
        "new 7, corrected 0, unchanged 0, skipped 3, missing 0, retracted 0",
        SKIPPED_LINE,
        ACTORS_LINE,
    ]
    with _application(database_url, tmp_path) as application:
        assert list(application.iter_events()) == [stored_current(i) for i in CURRENT_ENVELOPES]
        entries = application.read_log(0, 100)
    assert {entry.recorded_by for entry in entries} == {RECORDED_BY}

    again = _acled(database_url, "current.csv", "--conflict", CONFLICT)

    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0] == (
        "new 0, corrected 0, unchanged 7, skipped 3, missing 0, retracted 0"
    )
    assert _log_position(database_url, tmp_path) == 7

    revised = _acled(
        database_url, "current-revised.csv", "--conflict", CONFLICT, "--retract-missing"
    )

    assert revised.exit_code == 0, revised.stderr
    assert revised.stdout.splitlines()[:3] == [
        "new 1, corrected 2, unchanged 4, skipped 3, missing 1, retracted 1",
        SKIPPED_LINE,
        "missing: AZE1187",
    ]
    assert revised.stdout.splitlines()[3].startswith("most frequent actors (for --actor-map): ")
    assert _log_position(database_url, tmp_path) == 7 + 4

    deleted = _invoke(
        database_url, "import", "--format", "acled-deleted", str(FIXTURES / "deleted.csv")
    )

    assert deleted.exit_code == 0, deleted.stderr
    assert deleted.stdout == (
        "new 0, corrected 0, unchanged 0, skipped 1, missing 0, retracted 1\n"
        "skipped: not in the log 1\n"
    )
    assert _log_position(database_url, tmp_path) == 7 + 4 + 1


def test_the_deletions_list_as_json_retracts_two(database_url: str, tmp_path: Path) -> None:
    assert _acled(database_url, "current.csv").exit_code == 0

    result = _invoke(
        database_url, "import", "--format", "acled-deleted", str(FIXTURES / "deleted.json")
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "new 0, corrected 0, unchanged 0, skipped 1, missing 0, retracted 2\n"
        "skipped: not in the log 1\n"
    )


def test_malformed_exits_2_naming_the_columns_and_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    path = FIXTURES / "malformed.csv"

    result = _acled(database_url, "malformed.csv")

    assert result.exit_code == 2
    assert result.stdout == ""
    error = result.stderr.removeprefix(_new_store(database_url))
    assert error == f"error: {path}: {EXPECTED_COLUMNS}id, date, what\n"
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert _log_position(database_url, tmp_path) == 0


def test_no_header_exits_2_naming_the_columns_and_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    path = FIXTURES / "no-header.csv"

    result = _acled(database_url, "no-header.csv")

    assert result.exit_code == 2
    assert result.stdout == ""
    error = result.stderr.removeprefix(_new_store(database_url))
    assert error.startswith(f"error: {path}: {EXPECTED_COLUMNS}")
    assert error.endswith("\n")
    assert error.count("\n") == 1
    found = error.removeprefix(f"error: {path}: {EXPECTED_COLUMNS}").split(", ")
    assert [cell.lower() for cell in found[:3]] == ["aze1150", "2020-09-27", "2020"]
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert _log_position(database_url, tmp_path) == 0


def test_a_deletions_list_without_event_id_cnty_exits_2(database_url: str, tmp_path: Path) -> None:
    assert _acled(database_url, "current.csv").exit_code == 0

    result = _invoke(
        database_url, "import", "--format", "acled-deleted", str(FIXTURES / "malformed.csv")
    )

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {FIXTURES / 'malformed.csv'}: not an ACLED deletions list: expected the "
        "columns event_id_cnty and deleted_timestamp\n"
    )
    assert _log_position(database_url, tmp_path) == 7


def test_an_unknown_format_exits_2_and_stores_nothing(database_url: str, tmp_path: Path) -> None:
    result = _invoke(database_url, "import", "--format", "csv", str(FIXTURES / "current.csv"))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: unknown format 'csv': one of ndjson, acled, acled-deleted\n"
    assert _log_position(database_url, tmp_path) == 0


def test_a_missing_acled_file_exits_2(database_url: str, tmp_path: Path) -> None:
    result = _invoke(database_url, "import", "--format", "acled", str(tmp_path / "none.csv"))

    assert result.exit_code == 2
    assert result.stderr == f"error: no file {tmp_path / 'none.csv'}\n"


def test_an_actor_map_that_is_not_one_exits_2(database_url: str, tmp_path: Path) -> None:
    result = _acled(database_url, "current.csv", "--actor-map", str(FIXTURES / "malformed.csv"))

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert result.stderr.endswith(": an actor map is a CSV whose header is acled,truceline\n")
    assert _log_position(database_url, tmp_path) == 0


def test_the_actor_map_renames_actors_in_the_stored_events(
    database_url: str, tmp_path: Path
) -> None:
    result = _acled(
        database_url,
        "current.csv",
        "--conflict",
        CONFLICT,
        "--actor-map",
        str(FIXTURES / "actor-map.csv"),
    )

    assert result.exit_code == 0, result.stderr
    # With a map, no list of actors to map.
    assert result.stdout.splitlines() == [
        "new 7, corrected 0, unchanged 0, skipped 3, missing 0, retracted 0",
        SKIPPED_LINE,
    ]
    with _application(database_url, tmp_path) as application:
        events = {e["external"]["id"]: e for e in application.iter_events()}
    assert list(events.values()) == [
        renamed(stored_current(i), ACTOR_MAP) for i in CURRENT_ENVELOPES
    ]
    assert events["AZE1150"]["parties"] == ["Azerbaijan", "Armenia"]
    assert events["SDN23610"]["parties"] == ["Sudanese Armed Forces", "RSF"]
    assert (events["AZE1201"]["perpetrator"], events["AZE1201"]["target"]) == (
        "Armenia",
        "Civilians (Azerbaijan)",
    )
    assert (events["ARM1412"]["perpetrator"], events["ARM1412"]["target"]) == (
        "Azerbaijan",
        "Armenia",
    )


LAYOUTS = (
    "current.csv",
    "older.csv",
    "older-no-fatalities.csv",
    "hdx.csv",
    "v5.csv",
    "pandas.csv",
    "monadic.csv",
    "api.json",
)


def test_the_acled_export_of_every_layout_imports_back_as_the_same_events(
    database_url: str, tmp_path: Path
) -> None:
    for name in LAYOUTS:
        assert _acled(database_url, name).exit_code == 0, name
    with _application(database_url, tmp_path) as application:
        stored = application.log_position()
    out = tmp_path / "export.csv"

    exported = _invoke(database_url, "export", "--format", "acled", "--out", str(out))
    again = _invoke(database_url, "import", "--format", "acled", str(out))

    assert exported.exit_code == 0, exported.stderr
    assert out.read_text().startswith("# Data from the Armed Conflict Location & Event Data")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0] == (
        f"new 0, corrected 0, unchanged {stored}, skipped 0, missing 0, retracted 0"
    )
    with _application(database_url, tmp_path) as application:
        assert application.log_position() == stored
