"""The deployment files agree with each other and with the code, and what they run works;
a test run leaves nothing in the work tree.

No Docker engine runs here, so the Dockerfile, docker-compose.yml and .dockerignore are
read as text, and then what compose would run is run on this machine: the commands of
its services and its one-offs (the api's image command, the first admin key, the health
checks), with the environment compose gives them (their ``environment`` interpolated from
the ``.env`` that .env.example's one-liner makes, their ``env_file``, the image's ENV),
from an empty, unused stand-in for the image's /app, against the real PostgreSQL. What
differs is only what a container's own network and filesystem give: the ``db`` host is
this machine's server (a role and a database made for the test, as the postgres image
makes POSTGRES_USER and POSTGRES_DB), the api-data volume is a folder, and port 8000 is
a free port.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import psycopg
import pytest
import yaml
from dotenv import dotenv_values
from psycopg import sql

from tests.conftest import ADMIN_URL, environ_without_settings, untracked_files
from tests.e2e.servers import free_port, stop, wait_healthy
from tests.helpers import valid_event
from truceline.cli import app as cli_app
from truceline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL_VAR = "TRUCELINE_DATABASE_URL"
HEALTH_PATH = "/v1/health"
# What compose's header comment and .env.example tell an operator to type.
MAKE_ENV = (
    'sed "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=$(openssl rand -hex 24)/" .env.example > .env'
)
UP = "docker compose up -d"
FIRST_ADMIN_KEY = "docker compose run --rm api truceline keys create admin --role admin"
RUN_API = ["docker", "compose", "run", "--rm", "api"]  # what precedes a one-off's command
# The api's files, each set explicitly in compose (the defaults are relative to /app).
FILE_SETTINGS = (
    "TRUCELINE_READ_MODEL_PATH",
    "TRUCELINE_SIGNING_KEY_PATH",
    "TRUCELINE_CHECKPOINT_ARCHIVE_PATH",
)
TOKEN = re.compile(r"tl\.key_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}")
TIMEOUT = 60.0  # seconds for one command

Instruction = tuple[str, str]  # (INSTRUCTION, its arguments as written)


def _instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions: comments dropped, continuation lines joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def _argv(arguments: str) -> list[str]:
    """An instruction's exec form (a JSON array) or its shell form, as argv."""
    if arguments.startswith("["):
        value = json.loads(arguments)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value
    return shlex.split(arguments)


def _env(arguments: str) -> dict[str, str]:
    if "=" not in arguments.split(" ", 1)[0]:  # the legacy `ENV NAME value` form
        name, _, value = arguments.partition(" ")
        return {name: value.strip()}
    return dict(item.split("=", 1) for item in shlex.split(arguments))


def _option(argv: list[str], name: str) -> str:
    for index, arg in enumerate(argv):
        if arg == name:
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{name} not in {argv}")


def _container_port(mapping: str | int) -> int:
    """The container side of a compose port mapping: "8000", "8000:8000", "ip:8000:8000"."""
    text = str(mapping).split("/", 1)[0]
    return int(text.rsplit(":", 1)[-1])


def _host_port(mapping: str | int) -> int:
    parts = str(mapping).split("/", 1)[0].split(":")
    return int(parts[-2] if len(parts) >= 2 else parts[-1])


# Compose's interpolation: $$ is a dollar; ${NAME}, $NAME; ${NAME:-default} (also when
# empty) and ${NAME-default}; ${NAME:?message} (an error when unset or empty), ${NAME?...}.
_VARIABLE = re.compile(
    r"\$(?:(?P<dollar>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+))"
)


class MissingVariable(ValueError):
    """What ``docker compose`` refuses to start for: a required variable without a value."""


def _interpolate(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        if match["dollar"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        given = variables.get(name)
        missing = given is None or (op is not None and op.startswith(":") and not given)
        if op is not None and op.endswith("?") and missing:
            raise MissingVariable(f"required variable {name} is missing a value: {arg}")
        if op is not None and op.endswith("-") and missing:
            return arg
        return given or ""

    return _VARIABLE.sub(value, text)


def _env_files(service: dict[str, Any]) -> list[str]:
    files = service.get("env_file") or []
    return [files] if isinstance(files, str) else [str(f) for f in files]


def _environment(
    service: dict[str, Any], variables: dict[str, str] | None = None
) -> dict[str, str]:
    """A compose service's ``environment`` (the mapping or the list form), interpolated
    from ``variables`` (what compose reads from .env) when given."""
    env = service.get("environment") or {}
    pairs = (
        [tuple(item.split("=", 1)) for item in env]
        if isinstance(env, list)
        else [(str(k), str(v)) for k, v in env.items()]
    )
    if variables is None:
        return dict(pairs)
    return {name: _interpolate(value, variables) for name, value in pairs}


def _service_env(
    service: dict[str, Any], project: Path, variables: dict[str, str]
) -> dict[str, str]:
    """What compose puts in a service's containers: its env files' variables, then its
    ``environment`` over them."""
    env: dict[str, str] = {}
    for name in _env_files(service):
        loaded = dotenv_values(project / name, interpolate=False)
        env.update({key: value or "" for key, value in loaded.items()})
    return {**env, **_environment(service, variables)}


def _healthcheck_argv(healthcheck: dict[str, Any]) -> list[str]:
    """A compose health check as argv: CMD runs its words, CMD-SHELL runs ``sh -c``."""
    test = healthcheck["test"]
    if isinstance(test, str):
        return ["sh", "-c", test]
    kind, *rest = (str(part) for part in test)
    assert kind in ("CMD", "CMD-SHELL"), test
    return rest if kind == "CMD" else ["sh", "-c", *rest]


def _healthcheck_text(healthcheck: dict[str, Any]) -> str:
    return " ".join(_healthcheck_argv(healthcheck))


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return _instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _one(instructions: list[Instruction], keyword: str) -> str:
    found = [arguments for kw, arguments in instructions if kw == keyword]
    assert found, f"the Dockerfile has no {keyword}"
    return found[-1]  # the last one is the one that applies


def _image_env(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            env.update(_env(arguments))
    return env


def _command_script(instructions: list[Instruction]) -> str:
    """The image's command: a shell script run by ``sh -c``."""
    argv = _argv(_one(instructions, "CMD"))
    assert argv[:2] == ["sh", "-c"] and len(argv) == 3, argv
    return argv[2]


def _serve_argv(instructions: list[Instruction]) -> list[str]:
    """The command the image's script ends with: ``exec truceline serve ...``."""
    last = shlex.split(_command_script(instructions).split("&&")[-1])
    assert last[0] == "exec", "exec, so the server is PID 1 and gets docker stop's SIGTERM"
    return last[1:]


def _serve_port(instructions: list[Instruction]) -> int:
    return int(_option(_serve_argv(instructions), "--port"))


def _data_volume(instructions: list[Instruction]) -> Path:
    volumes = _argv(_one(instructions, "VOLUME"))
    assert len(volumes) == 1, volumes
    return Path(volumes[0])


def _api_mount(compose: dict[str, Any]) -> tuple[str, Path]:
    """The api's one volume: (the named volume, where it is mounted)."""
    mounts = [str(m) for m in compose["services"]["api"]["volumes"]]
    assert len(mounts) == 1, mounts
    name, target = mounts[0].split(":")[:2]
    assert name in (compose.get("volumes") or {}), f"{name} is not a named volume"
    return name, Path(target)


# -- the Dockerfile on its own ----------------------------------------------------------


def test_dockerfile_base_image_and_install(dockerfile: list[Instruction]) -> None:
    assert _one(dockerfile, "FROM").split()[0] == "python:3.11-slim"
    runs = " ".join(arguments for keyword, arguments in dockerfile if keyword == "RUN")
    assert re.search(r"pip install [^&;]*\.(\s|$)", runs), "the image must install the package"
    # psycopg without its binary wheel loads the system libpq: the slim image has none.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "libpq5" in runs or '"psycopg[binary]' in pyproject


def test_dockerfile_copies_what_the_install_needs(dockerfile: list[Instruction]) -> None:
    copied = {
        source.rstrip("/")
        for keyword, arguments in dockerfile
        if keyword == "COPY"
        for source in _argv(arguments)[:-1]
        if not source.startswith("--")
    }
    assert {"pyproject.toml", "README.md", "src"} <= copied
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_dockerfile_makes_the_signing_key_then_serves_on_all_interfaces(
    dockerfile: list[Instruction],
) -> None:
    commands = [shlex.split(c) for c in _command_script(dockerfile).split("&&")]
    assert commands[0] == ["truceline", "signing-key", "create", "--if-missing"]
    argv = _serve_argv(dockerfile)
    assert argv[:2] == ["truceline", "serve"]
    assert _option(argv, "--host") == "0.0.0.0"
    exposed = {int(port.split("/")[0]) for port in _one(dockerfile, "EXPOSE").split()}
    assert exposed == {_serve_port(dockerfile)}


def test_dockerfile_runs_as_a_non_root_user(dockerfile: list[Instruction]) -> None:
    user = _one(dockerfile, "USER").split(":")[0]
    assert user not in ("root", "0")
    # the USER comes after every RUN, so nothing at run time is done as root
    keywords = [keyword for keyword, _ in dockerfile]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "RUN" not in keywords[last_user:]


def test_dockerfile_data_volume_is_the_users_and_holds_the_relative_defaults(
    dockerfile: list[Instruction],
) -> None:
    volume = _data_volume(dockerfile)
    user = _one(dockerfile, "USER").split(":")[0]
    runs = " ".join(arguments for keyword, arguments in dockerfile if keyword == "RUN")
    made = re.search(rf"install -d -o {user} -g {user} -m 0700 {volume}(\s|$)", runs)
    assert made, f"no RUN makes {volume} the user {user}'s own"
    # The settings' relative defaults (data/projections-<db>.db, ...) land in the volume.
    assert Path(_one(dockerfile, "WORKDIR")) / "data" == volume


def test_dockerfile_default_store_is_sqlite_on_the_data_volume(
    dockerfile: list[Instruction],
) -> None:
    url = _image_env(dockerfile)[DATABASE_URL_VAR]
    parts = urlsplit(url)
    assert parts.scheme == "sqlite"
    # sqlite:////data/x.db: an absolute path (what Settings makes of the URL's path)
    path = Path(unquote(parts.path[1:]))
    assert path.is_absolute() and path.suffix == ".db"
    assert path.is_relative_to(_data_volume(dockerfile)), path


def test_dockerfile_healthcheck_asks_the_served_port(dockerfile: list[Instruction]) -> None:
    arguments = _one(dockerfile, "HEALTHCHECK")
    assert arguments != "NONE"
    command = arguments[arguments.index("CMD") :]
    assert "urllib" in command
    assert f":{_serve_port(dockerfile)}{HEALTH_PATH}" in command


def test_the_image_env_var_is_the_one_settings_read(dockerfile: list[Instruction]) -> None:
    prefix = Settings.model_config.get("env_prefix", "")
    assert f"{prefix}database_url".upper() == DATABASE_URL_VAR
    assert "database_url" in Settings.model_fields
    assert DATABASE_URL_VAR in _image_env(dockerfile)
    for name in FILE_SETTINGS:
        assert name.removeprefix(prefix.upper()).lower() in Settings.model_fields


def test_the_serve_command_exists() -> None:
    names = {
        command.name or (command.callback.__name__ if command.callback else None)
        for command in cli_app.registered_commands
    }
    assert "serve" in names


# -- docker-compose.yml and how it agrees with the Dockerfile ---------------------------


def test_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"db", "api"}
    assert services["db"]["image"] == "postgres:15"
    build = services["api"]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    assert (ROOT / context / "Dockerfile").resolve() == (ROOT / "Dockerfile").resolve()


def test_compose_maps_the_port_the_image_serves(
    compose: dict[str, Any], dockerfile: list[Instruction]
) -> None:
    ports = compose["services"]["api"]["ports"]
    assert ports == ["8000:8000"]
    port = _serve_port(dockerfile)
    assert {_container_port(p) for p in ports} == {port}
    assert {_host_port(p) for p in ports} == {port}


def test_compose_takes_the_password_from_the_env_file_only(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert _env_files(services["db"]) == [".env"]
    assert "POSTGRES_PASSWORD" not in _environment(services["db"])
    assert "POSTGRES_PASSWORD_FILE" not in _environment(services["db"])
    # The api's URL takes it from .env too; without one, compose refuses to start.
    raw_url = _environment(services["api"])[DATABASE_URL_VAR]
    with pytest.raises(MissingVariable, match=r"POSTGRES_PASSWORD .*\.env"):
        _interpolate(raw_url, {})
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        _interpolate(raw_url, {"POSTGRES_PASSWORD": ""})
    assert urlsplit(_interpolate(raw_url, {"POSTGRES_PASSWORD": "0a1b"})).password == "0a1b"


def test_the_env_example_has_no_password_and_says_how_to_make_one() -> None:
    example = ROOT / ".env.example"
    assert dotenv_values(example, interpolate=False) == {"POSTGRES_PASSWORD": ""}
    comments = example.read_text(encoding="utf-8")
    assert f"#   {MAKE_ENV}\n" in comments


def test_the_env_example_one_liner_makes_a_random_password(tmp_path: Path) -> None:
    passwords = [_make_env(tmp_path / str(n))["POSTGRES_PASSWORD"] for n in range(2)]
    assert all(re.fullmatch(r"[0-9a-f]{48}", p) for p in passwords), passwords
    assert passwords[0] != passwords[1]


def test_compose_documents_its_one_liners(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    header = text[: text.index("services:")]
    for line in (MAKE_ENV, UP, FIRST_ADMIN_KEY):
        assert f"#   {line}\n" in header, line
    assert shlex.split(FIRST_ADMIN_KEY)[: len(RUN_API)] == RUN_API


def test_compose_database_url_names_the_db_service_and_its_credentials(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    services = compose["services"]
    variables = _make_env(tmp_path)
    url = urlsplit(_service_env(services["api"], tmp_path, variables)[DATABASE_URL_VAR])
    db_env = _service_env(services["db"], tmp_path, variables)
    assert url.scheme == "postgresql"
    assert url.hostname == "db" and url.hostname in services
    assert (url.port or 5432) == 5432
    assert unquote(url.username or "") == db_env["POSTGRES_USER"]
    assert unquote(url.password or "") == db_env["POSTGRES_PASSWORD"]
    assert unquote(url.path.lstrip("/")) == db_env["POSTGRES_DB"]


def test_compose_keeps_the_api_files_on_its_named_volume(
    compose: dict[str, Any], dockerfile: list[Instruction]
) -> None:
    _name, target = _api_mount(compose)
    assert target == _data_volume(dockerfile)  # the folder the image's user owns
    env = _environment(compose["services"]["api"])
    paths = [Path(env[name]) for name in FILE_SETTINGS]
    assert all(path.is_absolute() and path.parent == target for path in paths), paths
    assert len(set(paths)) == len(paths)


def test_compose_api_waits_for_a_healthy_db(compose: dict[str, Any]) -> None:
    depends_on = compose["services"]["api"]["depends_on"]
    assert depends_on["db"]["condition"] == "service_healthy"


def test_compose_healthchecks(compose: dict[str, Any], dockerfile: list[Instruction]) -> None:
    services = compose["services"]
    db_check = _interpolate(_healthcheck_text(services["db"]["healthcheck"]), {})
    assert "pg_isready" in db_check
    # over TCP (the set-up server of a first start listens on the socket only)
    assert "-h 127.0.0.1" in db_check
    assert '-U "${POSTGRES_USER}"' in db_check and '-d "${POSTGRES_DB}"' in db_check
    api_check = _healthcheck_argv(services["api"]["healthcheck"])
    assert f":{_serve_port(dockerfile)}{HEALTH_PATH}" in " ".join(api_check)
    image_check = _one(dockerfile, "HEALTHCHECK")
    assert _argv(image_check[image_check.index("CMD") + 3 :].strip()) == api_check


def test_compose_db_keeps_its_data_in_a_named_volume(compose: dict[str, Any]) -> None:
    mounts = [str(m) for m in compose["services"]["db"]["volumes"]]
    named = {m.split(":", 1)[0] for m in mounts if m.endswith(":/var/lib/postgresql/data")}
    assert named, mounts
    assert named <= set(compose.get("volumes") or {})


def test_compose_api_runs_the_image_command(compose: dict[str, Any]) -> None:
    # No override: the api service runs the Dockerfile's script (what the tests below run).
    assert "command" not in compose["services"]["api"]
    assert "entrypoint" not in compose["services"]["api"]


# -- what compose runs, run here --------------------------------------------------------


def _make_env(project: Path) -> dict[str, str]:
    """Run .env.example's one-liner in ``project`` (a copy of the example there); what
    compose then reads from the .env it made."""
    project.mkdir(parents=True, exist_ok=True)
    (project / ".env.example").write_bytes((ROOT / ".env.example").read_bytes())
    subprocess.run(["sh", "-c", MAKE_ENV], cwd=project, check=True, timeout=TIMEOUT)
    return {k: v or "" for k, v in dotenv_values(project / ".env", interpolate=False).items()}


@dataclass
class Database:
    """The ``db`` service as this machine's server gives it: the postgres image's
    POSTGRES_USER and POSTGRES_DB, made with the .env password (names of the test's own)."""

    project: Path  # the folder docker-compose.yml and .env would be in
    variables: dict[str, str]  # what compose read from .env
    env: dict[str, str]  # the db container's environment, with this test's names
    user: str
    password: str
    dbname: str


@dataclass
class Deployment:
    database: Database
    process: subprocess.Popen[bytes]  # the api's image command
    log: Path  # its output
    api_env: dict[str, str]  # the api container's environment, on this machine
    app_dir: Path  # the image's /app (its WORKDIR and HOME), which only root may write
    volume: Path  # the api-data volume
    port: int  # the api's port 8000

    def one_off(self, command: str) -> subprocess.CompletedProcess[str]:
        """``docker compose run --rm api ...``: the api's environment, another command."""
        argv = shlex.split(command)
        assert argv[: len(RUN_API)] == RUN_API, command
        return subprocess.run(
            argv[len(RUN_API) :],
            env=self.api_env,
            cwd=self.app_dir,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )


@pytest.fixture
def database(compose: dict[str, Any], tmp_path: Path) -> Iterator[Database]:
    project = tmp_path / "project"
    variables = _make_env(project)
    db_env = _service_env(compose["services"]["db"], project, variables)
    password = db_env["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"[0-9a-f]{48}", password)
    suffix = uuid.uuid4().hex[:8]
    user, dbname = f"{db_env['POSTGRES_USER']}_{suffix}", f"{db_env['POSTGRES_DB']}_{suffix}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(user)
            )
        )
    try:
        names = {"POSTGRES_USER": user, "POSTGRES_DB": dbname}
        yield Database(project, variables, {**db_env, **names}, user, password, dbname)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def _container_env(env: dict[str, str], home: Path) -> dict[str, str]:
    """A container's environment as a process here gets it: only what the image and
    compose set, plus PATH (this environment's ``truceline`` and ``python`` first) and
    HOME, the image user's home."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**env, "PATH": path, "HOME": str(home)}


def _api_env_here(
    compose: dict[str, Any],
    dockerfile: list[Instruction],
    database: Database,
    volume: Path,
    app_dir: Path,
) -> dict[str, str]:
    """The api container's environment (the image's ENV, then compose's), with the db
    host, its names and the volume's mount point as they are on this machine."""
    api = _service_env(compose["services"]["api"], database.project, database.variables)
    env = {**_image_env(dockerfile), **api}
    url = urlsplit(env[DATABASE_URL_VAR])
    assert url.hostname == "db" and unquote(url.password or "") == database.password
    here = urlsplit(ADMIN_URL)
    netloc = f"{database.user}:{quote(database.password)}@{here.hostname}:{here.port or 5432}"
    env[DATABASE_URL_VAR] = url._replace(netloc=netloc, path=f"/{database.dbname}").geturl()
    _name, mount = _api_mount(compose)
    env = {name: value.replace(str(mount), str(volume)) for name, value in env.items()}
    return _container_env(env, app_dir)


@pytest.fixture
def deployment(
    compose: dict[str, Any], dockerfile: list[Instruction], database: Database, tmp_path: Path
) -> Iterator[Deployment]:
    """``docker compose up``'s api: the image's command with compose's environment,
    serving until the test ends (its output in serve.log)."""
    app_dir, volume = tmp_path / "app", tmp_path / "volume"
    app_dir.mkdir()
    volume.mkdir(mode=0o700)
    env = _api_env_here(compose, dockerfile, database, volume, app_dir)
    port = free_port()
    script = _command_script(dockerfile)
    image_port = f"--port {_serve_port(dockerfile)}"
    assert script.count(image_port) == 1
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["sh", "-c", script.replace(image_port, f"--port {port}")],
            env=env,
            cwd=app_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so nothing it starts outlives the test
        )
    try:
        assert wait_healthy(process, f"http://127.0.0.1:{port}", log), log.read_text()
        yield Deployment(database, process, log, env, app_dir, volume, port)
    finally:
        stop(process)
        with suppress(ProcessLookupError):  # a server left running by a shell that died
            os.killpg(process.pid, signal.SIGKILL)


def test_the_db_healthcheck_passes_once_the_database_is_up(
    compose: dict[str, Any], database: Database
) -> None:
    argv = _healthcheck_argv(compose["services"]["db"]["healthcheck"])
    argv = [_interpolate(arg, {}) for arg in argv]  # compose's $$ is the shell's $
    here = urlsplit(ADMIN_URL)  # the server is the db container's own 127.0.0.1:5432
    argv = [
        a.replace("127.0.0.1", here.hostname or "").replace("5432", str(here.port or 5432))
        for a in argv
    ]
    env = _container_env(database.env, Path("/"))
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    # ... and the api's URL logs in with the .env password and its names
    with psycopg.connect(
        host=here.hostname,
        port=here.port or 5432,
        user=database.user,
        password=database.password,
        dbname=database.dbname,
    ) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (database.user,)


def test_compose_up_serves_and_the_api_healthcheck_passes(
    compose: dict[str, Any], dockerfile: list[Instruction], deployment: Deployment
) -> None:
    health = httpx.get(f"http://127.0.0.1:{deployment.port}{HEALTH_PATH}", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    image_port = f":{_serve_port(dockerfile)}{HEALTH_PATH}"
    argv = [
        arg.replace(image_port, f":{deployment.port}{HEALTH_PATH}")
        for arg in _healthcheck_argv(compose["services"]["api"]["healthcheck"])
    ]
    result = subprocess.run(
        argv, env=deployment.api_env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # docker stop's SIGTERM reaches the server itself (exec): it shuts down, then raises
    # the signal again as uvicorn does. A shell in between would die and leave it serving.
    deployment.process.send_signal(signal.SIGTERM)
    assert deployment.process.wait(timeout=30) == -signal.SIGTERM
    assert "Application shutdown complete" in deployment.log.read_text()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{deployment.port}{HEALTH_PATH}", timeout=10)


def test_the_first_admin_key_one_liner_prints_a_key_the_server_takes(
    deployment: Deployment,
) -> None:
    created = deployment.one_off(FIRST_ADMIN_KEY)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert TOKEN.fullmatch(token), created.stdout
    base = f"http://127.0.0.1:{deployment.port}"
    assert httpx.get(f"{base}/v1/audit/verify", timeout=30).status_code == 401
    admin = {"Authorization": f"Bearer {token}"}
    verified = httpx.get(f"{base}/v1/audit/verify", headers=admin, timeout=30)
    assert verified.status_code == 200, verified.text  # auditor's, so an admin's too
    appended = httpx.post(f"{base}/v1/events", json=valid_event("strike"), headers=admin)
    assert appended.status_code == 201, appended.text


def test_compose_keeps_every_file_on_the_volume_and_none_in_app(
    deployment: Deployment,
) -> None:
    """The read model, the signing key the image's command made, and the checkpoint
    archive are on the volume; nothing is written to /app (the image user's cwd and
    home, which it may not write)."""
    signed = deployment.one_off("docker compose run --rm api truceline checkpoint")
    assert signed.returncode == 0, signed.stderr
    env = deployment.api_env
    files = [Path(env[name]) for name in FILE_SETTINGS]
    assert all(path.is_file() and path.parent == deployment.volume for path in files)
    key = Path(env["TRUCELINE_SIGNING_KEY_PATH"])
    assert key.stat().st_mode & 0o777 == 0o600
    archive = Path(env["TRUCELINE_CHECKPOINT_ARCHIVE_PATH"]).read_text(encoding="utf-8")
    assert json.loads(signed.stdout) in [json.loads(line) for line in archive.splitlines()]
    assert list(deployment.app_dir.iterdir()) == []


# -- .dockerignore ----------------------------------------------------------------------


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: the last pattern matching the path or a parent wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern[1:] if negate else pattern
        glob = glob.strip("/")
        if glob.startswith("**/"):
            hit = any(fnmatchcase(p.rsplit("/", 1)[-1], glob[3:]) for p in prefixes)
        else:
            hit = any(fnmatchcase(p, glob) for p in prefixes)
        if hit:
            ignored = not negate
    return ignored


def test_dockerignore_sends_the_sources_and_keeps_out_the_rest() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for needed in ("pyproject.toml", "README.md", "src/truceline/cli.py", "events"):
        assert not _ignored(needed, patterns), needed
    unwanted = (".venv/bin/python", ".git/HEAD", "data/truceline.db", "tests/conftest.py", ".env")
    for path in unwanted:
        assert _ignored(path, patterns), path
    assert _ignored("src/truceline/__pycache__/cli.cpython-311.pyc", patterns)


# -- a test run leaves the work tree as it found it (tests/conftest.py) -----------------


def _git_repository(path: Path) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True, timeout=TIMEOUT)
    (path / ".gitignore").write_text("/data/\n", encoding="utf-8")
    return path


def test_untracked_files_counts_ignored_files_not_the_tools_output_nor_sources(
    tmp_path: Path,
) -> None:
    repository = _git_repository(tmp_path / "repository")
    for name in (
        "tracked.txt",
        "notes.txt",
        "data/projections-truceline_test_1.db",
        "src/__pycache__/m.cpython-311.pyc",
        ".venv/bin/python",
        ".hypothesis/examples/x",
        ".pytest_cache/v/cache",
        "src/truceline.egg-info/PKG-INFO",
        "test-output/screenshots/page.png",
        "tests/test_new.py",
        "docs/new.md",
    ):
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text("", encoding="utf-8")
    subprocess.run(["git", "-C", str(repository), "add", "tracked.txt"], check=True)
    assert untracked_files(repository) == frozenset(
        {".gitignore", "notes.txt", "data/projections-truceline_test_1.db"}
    )
    assert untracked_files(tmp_path) is None  # not a git work tree: nothing to compare


LEAKING_TEST = """
from pathlib import Path


def test_writes(tmp_path):
    (tmp_path / "fine.db").write_text("")
    {write}
"""


def _run_pytest_in(repository: Path, write: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``repository``, with tests/conftest.py's hooks, on one test that writes
    a file in tmp_path and then runs ``write``."""
    (repository / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (repository / "conftest.py").write_text(
        "from tests.conftest import (  # noqa: F401\n"
        "    pytest_sessionfinish, pytest_sessionstart, pytest_terminal_summary\n)\n",
        encoding="utf-8",
    )
    (repository / "test_one.py").write_text(LEAKING_TEST.format(write=write), encoding="utf-8")
    subprocess.run(["git", "-C", str(repository), "add", "."], check=True)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_one.py"],
        cwd=repository,
        env={**environ_without_settings(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_a_run_that_leaves_a_file_in_the_work_tree_fails_naming_it(tmp_path: Path) -> None:
    repository = _git_repository(tmp_path / "repository")
    result = _run_pytest_in(
        repository, 'Path("data").mkdir(); Path("data/projections-x.db").write_text("")'
    )
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "1 passed" in result.stdout
    left = result.stdout.split("files this run left in the work tree", 1)[1].splitlines()
    assert left[1:3] == [
        "data/projections-x.db",
        "put them under tmp_path (a file added meanwhile by hand shows too)",
    ]


def test_a_run_is_not_blamed_for_files_that_were_there_before_it(tmp_path: Path) -> None:
    repository = _git_repository(tmp_path / "repository")
    (repository / "data").mkdir()
    (repository / "data" / "truceline.db").write_text("", encoding="utf-8")  # `make run`'s
    result = _run_pytest_in(repository, "pass")
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "left in the work tree" not in result.stdout
