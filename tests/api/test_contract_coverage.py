"""Every path and command the contract names exists (docs/api-v1.md, a copy of the
contract): a meta-test in the spirit of sqlite-utils' test_docs.py."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
from fastapi.testclient import TestClient

from truceline.cli import app as cli

CONTRACT = (Path(__file__).parents[2] / "docs" / "api-v1.md").read_text()


def contract_operations() -> set[tuple[str, str]]:
    return {(method, path) for method, path in re.findall(r"`(GET|POST) (/v1/[^`?\s]*)", CONTRACT)}


def contract_commands() -> set[tuple[str, ...]]:
    """``truceline X`` and ``truceline X Y`` where Y is a subcommand, not an option."""
    found = set()
    for words in re.findall(r"`truceline ([a-z-]+(?: [a-z-]+)?)", CONTRACT):
        found.add(tuple(words.split()))
    return found


def test_the_contract_names_its_new_audit_paths() -> None:
    assert ("GET", "/v1/audit/proof/inclusion") in contract_operations()
    assert ("checkpoint",) in contract_commands()


def test_every_path_of_the_contract_is_served(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    served = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }

    assert contract_operations() - served == set()


def test_every_command_of_the_contract_exists() -> None:
    group = typer.main.get_command(cli)
    missing = []
    for words in contract_commands():
        command = group.commands.get(words[0])  # type: ignore[attr-defined]
        # "keys create" names a subcommand; "import events" names a file.
        subcommands = getattr(command, "commands", None)
        if command is None or (len(words) == 2 and subcommands and words[1] not in subcommands):
            missing.append(words)

    assert missing == []
