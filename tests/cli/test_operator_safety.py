"""Operator safety (issue #18): what keeps an operator from harming the installation by
accident.

- ``truceline rebuild`` refuses while a server holds the read model (serving processes
  share a lock on ``<read model>.lock``; a rebuild needs it alone), and a server does not
  start while a rebuild holds it.
- Every command says which event store it uses on a terminal, and always warns when it
  made a new one (a relative database URL names another store in another folder).
- What Truceline creates is its owner's only: files 0600, folders 0700.
- No SQLite schema runs a function that is not innocuous (``trusted_schema = OFF``), so a
  hostile or restored file cannot run one from a view or a trigger.
"""

from __future__ import annotations

import json
import os
import pty
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from tests.conftest import environ_without_settings
from tests.e2e.servers import TRUCELINE, free_port, stop, wait_healthy
from tests.helpers import valid_event
from truceline.api import create_app
from truceline.application.app import Truceline
from truceline.application.keys import create_key
from truceline.application.sqlite_store import SQLiteLogRecorder
from truceline.cli import app as cli
from truceline.projections.readmodel import ReadModel, ReadModelInUse, ReadModelLock
from truceline.settings import Settings

TOKEN = re.compile(r"tl\.key_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TIMEOUT = 60.0  # seconds for one command in a subprocess


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def env_of(settings: Settings) -> dict[str, str]:
    """The TRUCELINE_* variables that name the files of ``settings``."""
    return {
        "TRUCELINE_DATABASE_URL": settings.database_url,
        "TRUCELINE_READ_MODEL_PATH": str(settings.read_model_path),
        "TRUCELINE_SIGNING_KEY_PATH": str(settings.signing_key_path),
        "TRUCELINE_CHECKPOINT_ARCHIVE_PATH": str(settings.checkpoint_archive_path),
    }


def in_use(path: str) -> str:
    """What ``rebuild`` says when a server holds the read model at ``path``."""
    return (
        f"error: the read model {path} is in use by a running server or another truceline "
        f"command ({path}.lock is locked): stop it first\n"
    )


def being_rebuilt(path: str) -> str:
    """What a command that serves the read model says while a rebuild holds it."""
    return (
        f"error: the read model {path} is being replaced by truceline rebuild "
        f"({path}.lock is locked): wait for it to finish\n"
    )


# -- 1. rebuild while a server runs ------------------------------------------------------


@pytest.mark.usefixtures("no_outside_settings")
def test_rebuild_refuses_while_a_server_holds_the_read_model(settings: Settings) -> None:
    env = env_of(settings)
    path = str(settings.read_model_path)
    with TestClient(create_app(settings)) as client:
        served = os.stat(path).st_ino

        refused = run(env, "rebuild")

        assert refused.exit_code == 1, refused.output
        assert refused.stdout == ""
        assert refused.stderr == in_use(path)
        assert os.stat(path).st_ino == served  # the file the server writes is still there
        assert not Path(f"{path}.rebuild").exists()
        assert client.get("/v1/health").status_code == 200
        assert run(env, "verify").exit_code == 0  # reading beside a server is fine

    rebuilt = run(env, "rebuild")  # the server has stopped: nothing holds the file now

    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.stdout == f"rebuilt the read models from 0 events into {path}\n"


@pytest.mark.usefixtures("no_outside_settings")
def test_servers_share_the_read_model_and_a_rebuild_waits_for_the_last(
    settings: Settings,
) -> None:
    env = env_of(settings)
    path = str(settings.read_model_path)
    with ExitStack() as first:
        a = first.enter_context(TestClient(create_app(settings)))
        with TestClient(create_app(settings)) as b:  # a second server on the same file
            assert a.get("/v1/health").status_code == 200
            assert b.get("/v1/health").status_code == 200
            assert run(env, "rebuild").stderr == in_use(path)
        assert run(env, "rebuild").stderr == in_use(path)  # the first still serves

    assert run(env, "rebuild").exit_code == 0


@pytest.mark.usefixtures("no_outside_settings")
def test_nothing_serves_the_read_model_while_a_rebuild_holds_it(settings: Settings) -> None:
    path = str(settings.read_model_path)
    with ReadModelLock(path, exclusive=True):
        with pytest.raises(ReadModelInUse) as refused:
            create_app(settings)
        assert f"{refused.value}\n" == being_rebuilt(path).removeprefix("error: ")

        exported = run(env_of(settings), "export", "--format", "acled")

        assert exported.exit_code == 1, exported.output
        assert exported.stdout == ""
        assert exported.stderr == being_rebuilt(path)

    with TestClient(create_app(settings)) as client:  # once the rebuild let go
        assert client.get("/v1/health").status_code == 200


@pytest.mark.usefixtures("no_outside_settings")
def test_an_out_naming_the_lock_file_is_refused(tmp_path: Path) -> None:
    """Replacing the lock file would give it a new inode, whose lock nobody holds."""
    lock = tmp_path / "store.projections.db.lock"
    env = {"TRUCELINE_DATABASE_URL": f"sqlite:///{tmp_path}/store.db"}
    assert run(env, "rebuild").exit_code == 0

    result = run(env, "export", "--out", str(lock), "--force")

    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: --out {lock} is this installation's read model: choose another file\n"
    )
    assert lock.read_bytes() == b""


def test_serve_does_not_start_while_a_rebuild_holds_the_read_model(tmp_path: Path) -> None:
    path = str(tmp_path / "read-model.db")
    env = {
        **environ_without_settings(),
        "TRUCELINE_DATABASE_URL": f"sqlite:///{tmp_path}/store.db",
        "TRUCELINE_READ_MODEL_PATH": path,
    }
    with ReadModelLock(path, exclusive=True):
        result = _subprocess(env, tmp_path, "serve", "--port", str(free_port()))

    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.endswith(being_rebuilt(path))


def test_rebuild_refuses_while_serve_with_two_workers_runs(tmp_path: Path) -> None:
    """The workers of ``serve --workers 2`` each hold the lock, shared, and serve."""
    path = str(tmp_path / "read-model.db")
    env = {
        **environ_without_settings(),
        "TRUCELINE_DATABASE_URL": f"sqlite:///{tmp_path}/store.db",
        "TRUCELINE_READ_MODEL_PATH": path,
        "TRUCELINE_OPEN_READS": "1",
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(TRUCELINE), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_healthy(server, f"http://127.0.0.1:{port}", log), log.read_text()

        refused = _subprocess(env, tmp_path, "rebuild")

        assert refused.returncode == 1, refused.stderr
        assert refused.stdout == ""
        assert refused.stderr == in_use(path)
    finally:
        stop(server)

    assert _subprocess(env, tmp_path, "rebuild").returncode == 0


def _subprocess(
    env: dict[str, str], cwd: Path, *args: str, umask: int = -1
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRUCELINE), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        umask=umask,
    )


# -- 2. which store ----------------------------------------------------------------------


def made_new(store: Path, relative_url: str | None = None) -> str:
    """The warning of a command that made the new SQLite store ``store``."""
    if relative_url is None:
        return f"warning: created a new, empty event store {store}\n"
    return (
        f"warning: created a new, empty event store {store}: {relative_url} is relative to "
        "the current folder (an absolute URL, sqlite:////path/to/file.db, names the same "
        "store from any folder)\n"
    )


def test_a_command_from_another_folder_warns_that_it_made_a_new_store(
    tmp_path: Path, no_outside_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = "sqlite:///./data/truceline.db"
    installed = tmp_path / "installed"
    installed.mkdir()
    monkeypatch.chdir(installed)

    created = run({}, "keys", "create", "alice", "--role", "writer")

    assert created.exit_code == 0, created.output
    assert created.stderr == made_new(installed / "data" / "truceline.db", default)
    assert TOKEN.fullmatch(created.stdout.splitlines()[-1])  # the secret, still last
    listed = run({}, "keys", "list")
    assert listed.stderr == ""  # the same store: nothing to warn of
    assert "\talice\twriter\t" in listed.stdout

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    astray = run({}, "keys", "list")

    assert astray.exit_code == 0, astray.output
    assert astray.stderr == made_new(elsewhere / "data" / "truceline.db", default)
    assert astray.stdout == "key_id\tname\trole\tcreated_at\trevoked_at\n"


@pytest.mark.usefixtures("no_outside_settings")
def test_the_warning_leaves_stdout_to_the_data(tmp_path: Path) -> None:
    store = tmp_path / "new" / "store.db"

    exported = run({"TRUCELINE_DATABASE_URL": f"sqlite:///{store}"}, "export")

    assert exported.exit_code == 0, exported.output
    assert exported.stdout == ""  # an empty log: no line at all
    assert exported.stderr == made_new(store)


def on_a_terminal(env: dict[str, str], cwd: Path, *args: str) -> tuple[str, str]:
    """Run ``truceline ARGS`` with its stderr on a pseudo-terminal (as an operator sees
    it) and its stdout on a pipe (as a script reads it): both texts."""
    leader, follower = pty.openpty()
    with closing(os.fdopen(leader, "rb", buffering=0)) as terminal:
        process = subprocess.Popen(
            [str(TRUCELINE), *args],
            env={**env, "NO_COLOR": "1", "TERM": "dumb"},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = terminal.read(4096)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            seen += chunk
        assert process.stdout is not None
        stdout = process.stdout.read().decode()
        assert process.wait(timeout=TIMEOUT) == 0, seen
    stderr = ANSI.sub("", seen.decode().replace("\r\n", "\n"))
    return stdout, stderr


def test_a_terminal_is_told_which_sqlite_store(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    env = {**environ_without_settings(), "TRUCELINE_DATABASE_URL": f"sqlite:///{store}"}
    _subprocess(env, tmp_path, "keys", "create", "alice")

    stdout, stderr = on_a_terminal(env, tmp_path, "keys", "list")

    assert stderr == f"using the event store {store}\n"
    assert stdout.splitlines()[0] == "key_id\tname\trole\tcreated_at\trevoked_at"


def test_a_terminal_is_told_which_postgresql_store_without_its_password(
    postgres_url: str, tmp_path: Path
) -> None:
    url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@", 1)
    assert url != postgres_url
    env = {**environ_without_settings(), "TRUCELINE_DATABASE_URL": url}

    stdout, stderr = on_a_terminal(env, tmp_path, "export")

    shown = postgres_url.replace("postgres@", "postgres:***@", 1)
    assert stderr == f"using the event store {shown}\n"
    assert "s3cret" not in stderr + stdout


# -- 3. modes ----------------------------------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, whatever the test runner's: files 0644 unless made otherwise."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path | str) -> int:
    return os.stat(path).st_mode & 0o777


@pytest.mark.usefixtures("no_outside_settings", "umask_022")
def test_a_server_makes_its_folder_store_and_read_model_private(tmp_path: Path) -> None:
    with TestClient(create_app(Settings())) as client:  # the defaults: ./data/...
        _, token = create_key(client.app.state.app.store, "w", "writer")  # type: ignore[attr-defined]
        headers = {"Authorization": f"Bearer {token}"}
        appended = client.post("/v1/events", json=valid_event("strike"), headers=headers)
        assert appended.status_code == 201, appended.text
        read = client.get("/v1/timeline", params={"min_position": 1}, headers=headers)
        assert read.status_code == 200, read.text

        data = tmp_path / "data"
        files = {
            name: mode(data / name)
            for name in sorted(os.listdir(data))  # while open: the WAL companions too
        }

    assert mode(data) == 0o700
    assert files == {
        "truceline.db": 0o600,
        "truceline.db-shm": 0o600,
        "truceline.db-wal": 0o600,
        "truceline.projections.db": 0o600,
        "truceline.projections.db-shm": 0o600,
        "truceline.projections.db-wal": 0o600,
        "truceline.projections.db.lock": 0o600,
    }


@pytest.mark.usefixtures("no_outside_settings", "umask_022")
def test_what_the_commands_write_is_private(tmp_path: Path) -> None:
    env = {"TRUCELINE_DATABASE_URL": f"sqlite:///{tmp_path}/deep/er/store.db"}
    events = tmp_path / "one.ndjson"
    events.write_text(json.dumps(valid_event("strike")) + "\n")
    assert run(env, "import", str(events)).exit_code == 0
    assert run(env, "rebuild").exit_code == 0
    assert run(env, "export", "--out", str(tmp_path / "log.ndjson")).exit_code == 0
    replayed = run(env, "replay", "--as-of", "1", "--out", str(tmp_path / "then.db"))
    assert replayed.exit_code == 0, replayed.output

    assert (mode(tmp_path / "deep"), mode(tmp_path / "deep" / "er")) == (0o700, 0o700)
    assert mode(tmp_path / "deep" / "er" / "store.db") == 0o600
    assert mode(tmp_path / "deep" / "er" / "store.projections.db") == 0o600
    assert mode(tmp_path / "log.ndjson") == 0o600
    assert mode(tmp_path / "then.db") == 0o600


def test_the_checkpoint_archive_is_private(tmp_path: Path) -> None:
    env = {**environ_without_settings(), "TRUCELINE_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"}
    for command in (("signing-key", "create"), ("checkpoint",)):
        done = _subprocess(env, tmp_path, *command, umask=0o022)
        assert done.returncode == 0, done.stderr

    assert mode(tmp_path / "s.checkpoints.ndjson") == 0o600
    assert mode(tmp_path / "s.signing-key.pem") == 0o600


# -- 4. untrusted schemas ----------------------------------------------------------------

# fts5_source_id() is built into SQLite and not marked innocuous: a schema may call it
# only while trusted_schema is on, as it may any function a connection defines.
UNSAFE = r"unsafe use of fts5_source_id\(\)"


def test_every_sqlite_connection_trusts_no_schema(application: Truceline, tmp_path: Path) -> None:
    read_model = ReadModel(tmp_path / "rm.db")
    try:
        with read_model.reading() as db:
            assert tuple(db.execute("PRAGMA trusted_schema").fetchone()) == (0,)
    finally:
        read_model.close()
    if isinstance(application.recorder, SQLiteLogRecorder):  # the store, on SQLite
        with application.recorder.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA trusted_schema")
            assert c.fetchone()[0] == 0


def test_a_trigger_of_a_foreign_read_model_does_not_run(
    application: Truceline, tmp_path: Path
) -> None:
    assert application.import_events([(1, valid_event("strike"))], "test") == 1
    path = tmp_path / "foreign.db"
    ReadModel(path).close()
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(
            "CREATE TABLE stolen (value TEXT);"
            "CREATE TRIGGER steal AFTER INSERT ON log_meta "
            "BEGIN INSERT INTO stolen VALUES (fts5_source_id()); END;"
        )
    read_model = ReadModel(path)
    try:
        with pytest.raises(OperationalError, match=UNSAFE):
            read_model.apply(application.read_log(0, 10))
        assert read_model.position() == 0  # the page rolled back with the trigger
    finally:
        read_model.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM stolen").fetchone() == (0,)


@pytest.mark.usefixtures("no_outside_settings")
def test_verify_refuses_a_store_whose_view_calls_an_unsafe_function(tmp_path: Path) -> None:
    store = tmp_path / "restored.db"
    env = {"TRUCELINE_DATABASE_URL": f"sqlite:///{store}"}
    assert run(env, "keys", "create", "alice").exit_code == 0
    with closing(sqlite3.connect(store)) as db, db:
        db.executescript(
            "ALTER TABLE truceline_keys RENAME TO real_keys;"
            "CREATE VIEW truceline_keys AS SELECT key_id, fts5_source_id() AS name, role, "
            "secret_hash, created_at, revoked_at FROM real_keys;"
        )

    result = run(env, "verify")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert re.fullmatch(
        f"error: the event store {re.escape(str(store))} cannot be used: {UNSAFE}\n",
        result.stderr,
    )


@pytest.mark.usefixtures("no_outside_settings")
def test_a_store_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    store.write_text("not a database\n")

    result = run({"TRUCELINE_DATABASE_URL": f"sqlite:///{store}"}, "keys", "list")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert (
        result.stderr == f"error: the event store {store} cannot be used: file is not a database\n"
    )
