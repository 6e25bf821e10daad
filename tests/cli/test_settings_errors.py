"""A database URL that cannot be used is said in one line, exit 2, its password never
shown (nor in a traceback's locals)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from truceline.cli import app as cli
from truceline.settings import redacted


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://user:s3cret@db:5432/truceline", "postgresql://user:***@db:5432/truceline"),
        ("mysql://u:s3cret@h/db", "mysql://u:***@h/db"),
        ("postgresql://user@db/truceline", "postgresql://user@db/truceline"),
        ("sqlite:///data/x.db", "sqlite:///data/x.db"),
    ],
)
def test_a_url_is_shown_without_its_password(url, shown):
    assert redacted(url) == shown


@pytest.mark.parametrize("command", [["export"], ["verify"], ["keys", "list"]])
def test_an_unsupported_url_is_one_line_without_the_password(command, no_outside_settings):
    result = CliRunner().invoke(
        cli, command, env={"TRUCELINE_DATABASE_URL": "mysql://u:s3cret@h/db"}
    )

    assert result.exit_code == 2, result.output
    assert "s3cret" not in result.output
    assert result.stderr == (
        "error: unsupported database URL 'mysql://u:***@h/db': use sqlite:///file.db or "
        "postgresql://...\n"
    )
