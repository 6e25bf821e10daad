"""Fixtures shared by every layer: the two stores, an application, an API client, keys.

Every store-backed test runs twice, on a SQLite file and on the PostgreSQL server at
127.0.0.1:5432 (override with TRUCELINE_TEST_POSTGRES_URL). The PostgreSQL database is
created for this test run and dropped after it; each test starts from an empty schema.
A server that cannot be reached fails those tests: it never skips them. Tests whose
answers depend only on the read model, which is always SQLite (the ceasefire rules), run
on the SQLite store alone: they parametrize ``database_url`` indirectly with ``["sqlite"]``
(``SQLITE_ONLY`` in tests/api/ceasefire_helpers.py).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.application.tampering_helpers import serve_the_case
from truceline.api import create_app
from truceline.application.app import Truceline
from truceline.application.keys import create_key
from truceline.settings import Settings

# Tests make requests as fast as the machine allows, so one key passes 100 a second (the
# default limit) on a fast machine, and a test's answer would depend on the machine. The
# limits are tested in tests/api/test_limits.py and tests/e2e, with limits of their own.
os.environ["TRUCELINE_RATE_LIMIT"] = ""
os.environ["TRUCELINE_OPEN_RATE_LIMIT"] = ""

ADMIN_URL = os.environ.get(
    "TRUCELINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
STORES = ["sqlite", "postgres"]


def _with_dbname(url: str, dbname: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + dbname


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own for this test run."""
    dbname = f"truceline_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    yield _with_dbname(ADMIN_URL, dbname)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def environ_without_settings() -> dict[str, str]:
    """The environment without any TRUCELINE_* variable of the caller's shell: for a child
    process that must see only the settings a test gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRUCELINE_")}


@pytest.fixture
def no_outside_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only this test's TRUCELINE_* variables; relative paths land in tmp_path."""
    for name in list(os.environ):
        if name.startswith("TRUCELINE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def empty_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store: a new SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/truceline.db"
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        read_model_path=str(tmp_path / "read-model.db"),
        # No key file unless a test creates one: the server then signs no checkpoints.
        signing_key_path=str(tmp_path / "signing-key.pem"),
        checkpoint_archive_path=str(tmp_path / "checkpoints.ndjson"),
    )


@pytest.fixture
def application(settings: Settings) -> Iterator[Truceline]:
    app = Truceline(settings)
    yield app
    app.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _token(client: TestClient, role: str) -> str:
    _, token = create_key(client.app.state.app.store, f"test {role}", role)  # type: ignore[attr-defined]
    return token


@pytest.fixture
def writer(client: TestClient) -> dict[str, str]:
    """Headers carrying a writer key."""
    return {"Authorization": f"Bearer {_token(client, 'writer')}"}


@pytest.fixture
def reader(client: TestClient) -> dict[str, str]:
    """Headers carrying a reader key."""
    return {"Authorization": f"Bearer {_token(client, 'reader')}"}


@pytest.fixture
def auditor(client: TestClient) -> dict[str, str]:
    """Headers carrying an auditor key."""
    return {"Authorization": f"Bearer {_token(client, 'auditor')}"}


@pytest.fixture
def served(client: TestClient, writer: dict[str, str]) -> TestClient:
    """The tampering case's ten events appended through the API, the read models caught
    up (tests/application/tampering_helpers.py)."""
    return serve_the_case(client, writer)


# -- a test run leaves the work tree as it found it ------------------------------------

# What the tools write while tests run, test-output/, where the browser tests keep their
# screenshots on purpose (tests/README.md), and what people write meanwhile: everything
# else a run leaves is a fault.
NOT_LEFT_BY_TESTS = (
    "/.venv/",
    "__pycache__/",
    "/.pytest_cache/",
    "/.hypothesis/",
    "/.mypy_cache/",
    "/.ruff_cache/",
    "*.egg-info/",
    "/test-output/",
    # Sources and docs: what people add to the tree while a run goes on; tests leave data.
    "*.py",
    "*.md",
)
_UNTRACKED_BEFORE = pytest.StashKey[frozenset[str] | None]()
_LEFT_BEHIND = pytest.StashKey[list[str]]()


def untracked_files(root: Path) -> frozenset[str] | None:
    """Every file under ``root`` that git does not track, those .gitignore ignores included
    (a stray ``data/projections-*.db`` is ignored, and left behind all the same), less
    ``NOT_LEFT_BY_TESTS``; None where ``root`` is not in a git work tree (an unpacked sdist)."""
    excludes = [f"--exclude={pattern}" for pattern in NOT_LEFT_BY_TESTS]
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--others", "-z", *excludes],
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return frozenset(name for name in listed.stdout.decode().split("\0") if name)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_UNTRACKED_BEFORE] = untracked_files(session.config.rootpath)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run if it made files in the work tree. Compared with the files there when
    it started, not with a clean tree: files others are writing meanwhile are theirs."""
    before = session.config.stash.get(_UNTRACKED_BEFORE, None)
    after = untracked_files(session.config.rootpath) if before is not None else None
    if before is None or after is None or not (left := sorted(after - before)):
        return
    session.config.stash[_LEFT_BEHIND] = left
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    left = terminalreporter.config.stash.get(_LEFT_BEHIND, [])
    if left:
        terminalreporter.section("files this run left in the work tree", sep="=", red=True)
        for name in left:
            terminalreporter.line(name)
        terminalreporter.line("put them under tmp_path (a file added meanwhile by hand shows too)")
