"""No --out can destroy what the installation keeps: ``replay`` and ``export`` refuse
the event store, its SQLite companions, the read model, the signing key and the archive,
and write a temporary file that replaces the target only once finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.helpers import valid_event
from truceline.cli import app as cli


@pytest.fixture
def installed(tmp_path: Path, no_outside_settings: None) -> dict[str, str]:
    """A SQLite installation in tmp_path holding one event, as its environment."""
    env = {
        "TRUCELINE_DATABASE_URL": f"sqlite:///{tmp_path}/store.db",
        "TRUCELINE_READ_MODEL_PATH": str(tmp_path / "read-model.db"),
        "TRUCELINE_SIGNING_KEY_PATH": str(tmp_path / "signing-key.pem"),
        "TRUCELINE_CHECKPOINT_ARCHIVE_PATH": str(tmp_path / "checkpoints.ndjson"),
    }
    events = tmp_path / "one.ndjson"
    events.write_text(json.dumps(valid_event("strike")) + "\n")
    assert run(env, "import", str(events)).exit_code == 0
    assert run(env, "signing-key", "create").exit_code == 0
    assert run(env, "checkpoint").exit_code == 0
    return env


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


OWN_FILES = [
    ("store.db", "event store"),
    ("store.db-wal", "event store"),
    ("read-model.db", "read model"),
    ("signing-key.pem", "signing key"),
    ("checkpoints.ndjson", "checkpoint archive"),
]


@pytest.mark.parametrize(("name", "what"), OWN_FILES)
@pytest.mark.parametrize(
    "command", [("replay", "--as-of", "1"), ("export",)], ids=["replay", "export"]
)
def test_an_out_naming_an_own_file_is_refused_even_with_force(
    installed, tmp_path, name, what, command
):
    target = tmp_path / name
    before = target.read_bytes() if target.exists() else None

    result = run(installed, *command, "--out", str(target), "--force")

    assert result.exit_code == 2, result.output
    assert f"is this installation's {what}: choose another file" in result.stderr
    assert (target.read_bytes() if target.exists() else None) == before
    assert run(installed, "verify").exit_code == 0


def test_the_store_survives_an_out_written_another_way(installed, tmp_path, monkeypatch):
    """The same file named relative to another folder is still refused."""
    monkeypatch.chdir(tmp_path / "..")
    relative = Path(tmp_path.name) / "store.db"

    result = run(installed, "export", "--out", str(relative), "--force")

    assert result.exit_code == 2, result.output
    assert (tmp_path / "store.db").stat().st_size > 0


def test_an_export_replaces_an_existing_file_only_with_force(installed, tmp_path):
    out = tmp_path / "export.ndjson"
    out.write_text("kept\n")

    refused = run(installed, "export", "--out", str(out))
    forced = run(installed, "export", "--out", str(out), "--force")

    assert refused.exit_code == 2, refused.output
    assert f"--out {out} exists: pass --force to replace it" in refused.stderr
    assert forced.exit_code == 0, forced.output
    assert [json.loads(line)["position"] for line in out.read_text().splitlines()] == [1]
    assert not (tmp_path / "export.ndjson.partial").exists()
