"""The deployment files agree with each other and with the code.

No Docker engine runs in CI, so the Dockerfile, docker-compose.yml and .dockerignore are
checked as text: the port the image serves on is the one compose maps, the database URL
names the compose ``db`` service with its own credentials, the command is
``truceline serve``, and everything has a health check.
"""

from __future__ import annotations

import json
import re
import shlex
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from truceline.cli import app as cli_app
from truceline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL_VAR = "TRUCELINE_DATABASE_URL"
HEALTH_PATH = "/v1/health"

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


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A compose service's environment, in either the mapping or the list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _healthcheck_text(healthcheck: dict[str, Any]) -> str:
    test = healthcheck["test"]
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


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


def _serve_port(instructions: list[Instruction]) -> int:
    argv = _argv(_one(instructions, "CMD"))
    return int(_option(argv, "--port"))


# -- the Dockerfile on its own ----------------------------------------------------------


def test_dockerfile_base_image_and_install(dockerfile: list[Instruction]) -> None:
    assert _one(dockerfile, "FROM").split()[0] == "python:3.11-slim"
    runs = " ".join(arguments for keyword, arguments in dockerfile if keyword == "RUN")
    assert re.search(r"pip install [^&;]*\.(\s|$)", runs), "the image must install the package"
    # psycopg without its binary wheel loads the system libpq: the slim image must have it.
    assert "libpq5" in runs or "psycopg[binary]" in runs


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


def test_dockerfile_serves_truceline_on_all_interfaces(dockerfile: list[Instruction]) -> None:
    argv = _argv(_one(dockerfile, "CMD"))
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


def test_dockerfile_default_store_is_sqlite_on_the_data_volume(
    dockerfile: list[Instruction],
) -> None:
    url = _image_env(dockerfile)[DATABASE_URL_VAR]
    parts = urlsplit(url)
    assert parts.scheme == "sqlite"
    # sqlite:////data/x.db: an absolute path (what Settings makes of the URL's path)
    path = Path(unquote(parts.path[1:]))
    assert path.is_absolute() and path.suffix == ".db"
    volumes = {v.rstrip("/") for v in _argv(_one(dockerfile, "VOLUME"))}
    assert any(path.is_relative_to(volume) for volume in volumes), (path, volumes)


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


def test_compose_database_url_names_the_db_service_and_its_credentials(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    url = urlsplit(_environment(services["api"])[DATABASE_URL_VAR])
    db_env = _environment(services["db"])
    assert url.scheme == "postgresql"
    assert url.hostname == "db" and url.hostname in services
    assert (url.port or 5432) == 5432
    assert unquote(url.username or "") == db_env["POSTGRES_USER"]
    assert unquote(url.password or "") == db_env["POSTGRES_PASSWORD"]
    assert unquote(url.path.lstrip("/")) == db_env["POSTGRES_DB"]


def test_compose_api_waits_for_a_healthy_db(compose: dict[str, Any]) -> None:
    depends_on = compose["services"]["api"]["depends_on"]
    assert depends_on["db"]["condition"] == "service_healthy"


def test_compose_healthchecks(compose: dict[str, Any], dockerfile: list[Instruction]) -> None:
    services = compose["services"]
    db_check = _healthcheck_text(services["db"]["healthcheck"])
    assert "pg_isready" in db_check
    db_env = _environment(services["db"])
    assert db_env["POSTGRES_USER"] in db_check
    api_check = _healthcheck_text(services["api"]["healthcheck"])
    assert f":{_serve_port(dockerfile)}{HEALTH_PATH}" in api_check


def test_compose_db_keeps_its_data_in_a_named_volume(compose: dict[str, Any]) -> None:
    mounts = [str(m) for m in compose["services"]["db"]["volumes"]]
    named = {m.split(":", 1)[0] for m in mounts if m.endswith(":/var/lib/postgresql/data")}
    assert named, mounts
    assert named <= set(compose.get("volumes") or {})


def test_compose_api_runs_the_image_command(compose: dict[str, Any]) -> None:
    # No override: the api service runs the Dockerfile's `truceline serve` CMD.
    assert "command" not in compose["services"]["api"]
    assert "entrypoint" not in compose["services"]["api"]


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
    for unwanted in (".venv/bin/python", ".git/HEAD", "data/truceline.db", "tests/conftest.py"):
        assert _ignored(unwanted, patterns), unwanted
    assert _ignored("src/truceline/__pycache__/cli.cpython-311.pyc", patterns)
