"""A read model built from entries the log no longer holds is never rebuilt in silence:
``serve`` (and the app) refuse to start and say what to run; ``truceline rebuild``,
run on purpose, replaces it.

Before, ``serve`` rebuilt such a file at start-up, removing the last trace of what the
log had held before it was rewritten or replaced.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.projections.read_model_helpers import build, history, table_rows
from truceline.api import create_app
from truceline.application.app import Truceline
from truceline.cli import app as cli
from truceline.projections.follower import ReadModelMismatch
from truceline.settings import Settings

pytestmark = pytest.mark.usefixtures("no_outside_settings")


def store(path: Path, size: int, seed: int) -> str:
    """A SQLite store at ``path`` holding a generated log; its URL."""
    url = f"sqlite:///{path}"
    app = Truceline(Settings(database_url=url))
    try:
        app.import_events(enumerate(history(size, conflicts=5, seed=seed), 1), "test")
    finally:
        app.close()
    return url


def read_model_of(url: str, target: Path) -> Path:
    app = Truceline(Settings(database_url=url))
    try:
        build(app, target)
    finally:
        app.close()
    return target


def invoke(url: str, target: Path, *args: str) -> tuple[int, str]:
    env = {"TRUCELINE_DATABASE_URL": url, "TRUCELINE_READ_MODEL_PATH": str(target)}
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    ("other_size", "what"),
    [(300, "holds another entry there"), (100, "ends at 100")],
    ids=["history-rewritten", "log-behind-the-read-model"],
)
def test_serve_refuses_a_read_model_the_log_does_not_match(tmp_path, other_size, what):
    target = read_model_of(store(tmp_path / "first.db", 300, seed=1), tmp_path / "rm.db")
    before = table_rows(target)
    other = store(tmp_path / "other.db", other_size, seed=2)  # the store, replaced

    code, output = invoke(other, target, "serve", "--port", "1")

    assert code == 3
    assert output == (
        f"error: the read model {target} was built up to position 300 of a log, and this "
        f"log {what}: its history differs from what the read model saw. Run `truceline "
        "verify`; then `truceline rebuild` to build the read model again from the log as "
        "it is now"
    )
    assert table_rows(target) == before  # the evidence is kept
    with pytest.raises(ReadModelMismatch):
        create_app(Settings(database_url=other, read_model_path=str(target)))


def test_after_a_deliberate_rebuild_the_read_model_is_accepted(tmp_path):
    target = read_model_of(store(tmp_path / "first.db", 300, seed=1), tmp_path / "rm.db")
    other = store(tmp_path / "other.db", 300, seed=2)

    assert invoke(other, target, "rebuild")[0] == 0
    app = create_app(Settings(database_url=other, read_model_path=str(target)))
    with TestClient(app) as client:
        health = client.get("/v1/health").json()

    assert health == {"status": "ok", "log_position": 300, "projection_position": 300}
