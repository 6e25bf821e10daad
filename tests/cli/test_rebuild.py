"""``truceline rebuild``: the read-model file rebuilt from the log, on both stores.

The rebuilt file must hold exactly the rows a follower builds from the same log (over
two of rebuild's 5,000-entry pages too), replace whatever file was there before (stale,
or from another log), and be taken as current by the server that opens it next.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.projections.read_model_helpers import build, history, table_rows
from truceline.api import create_app
from truceline.application.app import Truceline
from truceline.cli import app as cli
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings, read_model_path

LOG_SIZE = 1_500
LONG_LOG = 5_300  # two of rebuild's pages
# Only this test's TRUCELINE_* variables; relative paths land in tmp_path.
pytestmark = pytest.mark.usefixtures("no_outside_settings")


@pytest.fixture
def filled(database_url: str) -> Iterator[Truceline]:
    """The store holding a log of LOG_SIZE events."""
    app = Truceline(Settings(database_url=database_url))
    assert app.import_events(enumerate(history(LOG_SIZE, conflicts=20), 1), "test") == LOG_SIZE
    yield app
    app.close()


def rebuild(database_url: str, target: Path | None = None) -> str:
    """``truceline rebuild`` on that store, into ``target`` (else the default path); its
    output, once it succeeded."""
    env = {"TRUCELINE_DATABASE_URL": database_url}
    if target is not None:
        env["TRUCELINE_READ_MODEL_PATH"] = str(target)
    result = CliRunner().invoke(cli, ["rebuild"], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_rebuild_writes_the_tables_the_follower_builds(
    filled: Truceline, database_url: str, tmp_path: Path
) -> None:
    more = list(history(LONG_LOG, conflicts=20))[LOG_SIZE:]
    assert filled.import_events(enumerate(more, 1), "test") == LONG_LOG - LOG_SIZE
    target = tmp_path / "read-model.db"

    out = rebuild(database_url, target)

    assert out == f"rebuilt the read models from {LONG_LOG} events into {target}\n"
    assert not Path(f"{target}.rebuild").exists()
    rebuilt = table_rows(target)
    assert rebuilt == build(filled, tmp_path / "fresh.db")
    assert rebuilt["tracking"] == [("Truceline", LONG_LOG)]
    current = [row for row in rebuilt["ceasefires"] if row[-1] is None]  # valid_to: none
    assert len(current) == 60
    assert len(rebuilt["breaches"]) > 100
    assert len(rebuilt["amendments"]) > 100


def test_rebuild_replaces_a_stale_file_at_the_default_path(
    filled: Truceline, database_url: str, tmp_path: Path
) -> None:
    target = read_model_path(Settings(database_url=database_url))
    # What a server left: the read model of the first 500 entries, and a leftover
    # scratch file of a rebuild that was interrupted.
    stale = ReadModel(target)
    stale.apply(filled.read_log(0, 500))
    stale.close()
    Path(f"{target}.rebuild").write_bytes(b"not a database")

    out = rebuild(database_url)

    assert out == f"rebuilt the read models from {LOG_SIZE} events into {target}\n"
    assert table_rows(target) == build(filled, tmp_path / "fresh.db")
    assert not Path(f"{target}.rebuild").exists()


def test_rebuild_replaces_a_file_built_from_another_log(
    filled: Truceline, database_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "read-model.db"
    other = Truceline(Settings(database_url=f"sqlite:///{tmp_path}/other.db"))
    try:
        other.import_events(enumerate(history(500, conflicts=5, seed=99), 1), "test")
        build(other, target)
    finally:
        other.close()

    rebuild(database_url, target)

    assert table_rows(target) == build(filled, tmp_path / "fresh.db")


def test_a_server_takes_the_rebuilt_file_as_it_is(
    filled: Truceline, database_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "read-model.db"
    rebuild(database_url, target)
    settings = Settings(database_url=database_url, read_model_path=str(target), open_reads=True)

    with TestClient(create_app(settings)) as client:
        # Caught up from the first request on: the file was not thrown away and rebuilt.
        assert client.get("/v1/health").json() == {
            "status": "ok",
            "log_position": LOG_SIZE,
            "projection_position": LOG_SIZE,
        }
        page = client.get("/v1/timeline", params={"limit": 1000, "conflict": "war-003"})
        assert page.status_code == 200, page.text


def test_rebuild_of_an_empty_log(database_url: str, tmp_path: Path) -> None:
    target = tmp_path / "read-model.db"

    out = rebuild(database_url, target)

    assert out == f"rebuilt the read models from 0 events into {target}\n"
    rows = table_rows(target)
    assert rows.pop("tracking") == []
    assert rows.pop("ceasefire_history") == [(1, 0)]  # every version, from the start
    assert rows == {name: [] for name in rows}


def test_rebuild_then_follow_equals_one_follower(
    filled: Truceline, database_url: str, tmp_path: Path
) -> None:
    """A rebuilt file is an ordinary read model: a follower carries it on."""
    target = tmp_path / "read-model.db"
    rebuild(database_url, target)
    more = list(history(LOG_SIZE + 300, conflicts=20))[LOG_SIZE:]  # a prefix grows
    assert filled.import_events(enumerate(more, 1), "test") == 300

    read_model = ReadModel(target)
    try:
        assert Follower(filled, read_model).catch_up() == 300
    finally:
        read_model.close()

    assert table_rows(target) == build(filled, tmp_path / "fresh.db")
