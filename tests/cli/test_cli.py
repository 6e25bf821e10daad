"""The command line as the contract describes it: keys, import and export, on both stores."""

from __future__ import annotations

import getpass
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner, Result

from tests.helpers import EXPORT_FIELDS
from truceline.application.app import Truceline
from truceline.application.keys import Key, authenticate
from truceline.application.log import GENESIS_HASH, content_hash, entry_hash_v2, indexed_columns
from truceline.cli import app
from truceline.settings import Settings

CONFLICT = "nagorno-karabakh-2020"
CEASEFIRE = "humanitarian-2020-10-17"
AGREED_ID = "0b6f4a52-1c3e-4d7f-9a2b-5e8c7d6f1a01"
BREACH_ID = "0b6f4a52-1c3e-4d7f-9a2b-5e8c7d6f1a02"
STRIKE_ID = "0b6f4a52-1c3e-4d7f-9a2b-5e8c7d6f1a03"
RECORDED_BY = f"local:{getpass.getuser()}"
TOKEN = re.compile(r"tl\.(key_[0-9a-f]{12})\.([A-Za-z0-9_-]{43})")
RECORDED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")

# Three envelopes: the breach (line 2) names the ceasefire agreed on line 1.
AGREED: dict[str, Any] = {
    "type": "ceasefire_agreed",
    "event_id": AGREED_ID,
    "conflict": CONFLICT,
    "occurred_at": "2020-10-17T00:00:00",
    "timezone": "Asia/Baku",
    "ceasefire_id": CEASEFIRE,
    "parties": ["Armenia", "Azerbaijan"],
    "mediators": ["Russia"],
    "effective_at": "2020-10-18T00:00:00",
}
BREACH: dict[str, Any] = {
    "type": "ceasefire_breached",
    "event_id": BREACH_ID,
    "conflict": CONFLICT,
    "occurred_at": "2020-10-18T08:15:00+04:00",
    "ceasefire_id": CEASEFIRE,
    "accused": "Armenia",
    "reported_by": "Azerbaijan",
}
STRIKE: dict[str, Any] = {
    "type": "strike",
    "event_id": STRIKE_ID,
    "conflict": CONFLICT,
    "occurred_at": "2020-10-16T23:00:00Z",
    "time_precision": "hour",
    "location": {"name": "Ganja", "country": "AZ", "lat": 40.68, "lon": 46.36},
    "sources": [{"name": "Reuters", "published_at": "2020-10-17T09:30:00+04:00"}],
    "perpetrator": "Armenia",
    "killed": 13,
}

# What the log stores for them.
STORED = [
    {
        **AGREED,
        "occurred_at": "2020-10-16T20:00:00Z",
        "effective_at": "2020-10-17T20:00:00Z",
        "time_precision": "exact",
        "local_times": {
            "occurred_at": "2020-10-17T00:00:00+04:00",
            "effective_at": "2020-10-18T00:00:00+04:00",
        },
    },
    {
        **BREACH,
        "occurred_at": "2020-10-18T04:15:00Z",
        "time_precision": "exact",
        "local_times": {"occurred_at": "2020-10-18T08:15:00+04:00"},
    },
    {**STRIKE, "sources": [{"name": "Reuters", "published_at": "2020-10-17T05:30:00Z"}]},
]


def _invoke(database_url: str, *args: str, stdin: bytes | None = None) -> Result:
    # No COLUMNS: output is as wide as when piped, not as the terminal running the tests.
    env = {"TRUCELINE_DATABASE_URL": database_url, "COLUMNS": None, "LINES": None}
    return CliRunner().invoke(app, list(args), input=stdin, env=env)


def _new_store(database_url: str) -> str:
    """What the first command on a new SQLite store warns of on stderr (nothing for
    PostgreSQL, whose database exists before)."""
    if not database_url.startswith("sqlite:///"):
        return ""
    path = database_url.removeprefix("sqlite:///")
    return f"warning: created a new, empty event store {path}\n"


def _ndjson(path: Path, *lines: dict[str, Any] | str) -> Path:
    """Write ``lines`` (objects as JSON, strings as they are) one a line."""
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def _export(database_url: str) -> list[dict[str, Any]]:
    result = _invoke(database_url, "export")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("\n") or result.stdout == ""
    return [json.loads(line) for line in result.stdout.splitlines()]


def _export_text(entries: list[dict[str, Any]]) -> str:
    """What ``truceline export`` writes for these entries: one JSON object a line, UTF-8."""
    return "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)


def _imported_and_exported(
    database_url: str, tmp_path: Path, *events: dict[str, Any]
) -> tuple[list[dict[str, Any]], Path]:
    """Import ``events`` into the store, then export it: the entries, and a file holding
    the export."""
    source = _ndjson(tmp_path / "events.ndjson", *events)
    assert _invoke(database_url, "import", str(source)).exit_code == 0
    exported = _export(database_url)
    dump = tmp_path / "export.ndjson"
    dump.write_text(_export_text(exported), encoding="utf-8")
    return exported, dump


@contextmanager
def _application(database_url: str) -> Iterator[Truceline]:
    application = Truceline(Settings(database_url=database_url))
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def second_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty store of the same kind as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/second.db"
        return
    name = f"truceline_second_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# -- keys -------------------------------------------------------------------------------


def test_keys_create_prints_the_token_last_and_list_never_shows_the_secret(
    database_url: str,
) -> None:
    created = _invoke(database_url, "keys", "create", "alice", "--role", "writer")

    assert created.exit_code == 0, created.stderr
    assert created.stderr == _new_store(database_url)
    *before, last = created.stdout.splitlines()
    match = TOKEN.fullmatch(last)
    assert match is not None, last
    key_id, secret = match.groups()
    assert before == [
        f"created writer key {key_id} (alice); keep the secret below, it is not shown again"
    ]
    with _application(database_url) as application:
        assert authenticate(application.store, last) == Key(key_id, "alice", "writer")
        (row,) = application.store.list_keys()
    assert secret not in json.dumps(row)

    listed = _invoke(database_url, "keys", "list")

    assert listed.exit_code == 0, listed.stderr
    assert key_id in listed.stdout
    assert "alice" in listed.stdout
    assert "writer" in listed.stdout
    assert secret not in listed.stdout
    assert secret[:8] not in listed.stdout


def test_keys_create_defaults_to_reader(database_url: str) -> None:
    created = _invoke(database_url, "keys", "create", "bob")

    assert created.exit_code == 0, created.stderr
    assert created.stdout.startswith("created reader key key_")


def test_keys_create_with_an_unknown_role_exits_2_and_stores_nothing(database_url: str) -> None:
    result = _invoke(database_url, "keys", "create", "mallory", "--role", "boss")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: unknown role 'boss': one of reader, writer, editor, auditor, admin\n"
    )
    with _application(database_url) as application:
        assert application.store.list_keys() == []


def test_keys_revoke_stops_the_key(database_url: str) -> None:
    token = _invoke(database_url, "keys", "create", "alice", "--role", "writer").stdout
    token = token.splitlines()[-1]
    key_id = token.split(".")[1]
    other = _invoke(database_url, "keys", "create", "bob").stdout.splitlines()[-1]

    revoked = _invoke(database_url, "keys", "revoke", key_id)

    assert revoked.exit_code == 0, revoked.stderr
    assert revoked.stdout == f"revoked {key_id}\n"
    with _application(database_url) as application:
        assert authenticate(application.store, token) is None
        assert authenticate(application.store, other) == Key(other.split(".")[1], "bob", "reader")
        rows = {row["key_id"]: row for row in application.store.list_keys()}
    assert RECORDED_AT.fullmatch(rows[key_id]["revoked_at"])
    assert rows[other.split(".")[1]]["revoked_at"] is None

    again = _invoke(database_url, "keys", "revoke", key_id)
    assert again.exit_code == 1
    assert again.stdout == ""
    assert again.stderr == f"error: no active key {key_id!r}\n"

    unknown = _invoke(database_url, "keys", "revoke", "key_000000000000")
    assert unknown.exit_code == 1
    assert unknown.stderr == "error: no active key 'key_000000000000'\n"


def test_keys_list_shows_whole_ids_and_times_when_piped(database_url: str) -> None:
    # `truceline keys list | grep ...` must give the id that `keys revoke` needs.
    created = _invoke(database_url, "keys", "create", "deploy bot for staging", "--role", "admin")
    key_id = created.stdout.splitlines()[-1].split(".")[1]
    assert _invoke(database_url, "keys", "revoke", key_id).exit_code == 0
    with _application(database_url) as application:
        (row,) = application.store.list_keys()

    listed = _invoke(database_url, "keys", "list")

    assert listed.exit_code == 0, listed.stderr
    assert key_id in listed.stdout
    assert row["created_at"] in listed.stdout
    assert row["revoked_at"] in listed.stdout


# -- import -----------------------------------------------------------------------------


def test_import_file_then_reimport_stores_nothing_new(database_url: str, tmp_path: Path) -> None:
    path = _ndjson(tmp_path / "events.ndjson", AGREED, "", BREACH, "   ", STRIKE, "")

    first = _invoke(database_url, "import", str(path))

    assert first.exit_code == 0, first.stderr
    assert first.stdout == "imported 3 new events\n"
    entries = _export(database_url)
    assert [entry["event"] for entry in entries] == STORED

    again = _invoke(database_url, "import", str(path))

    assert again.exit_code == 0, again.stderr
    assert again.stdout == "imported 0 new events\n"
    assert _export(database_url) == entries


def test_import_counts_one_event_in_the_singular(database_url: str, tmp_path: Path) -> None:
    result = _invoke(database_url, "import", str(_ndjson(tmp_path / "one.ndjson", STRIKE)))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "imported 1 new event\n"


def test_import_reads_stdin(database_url: str) -> None:
    body = (json.dumps(AGREED) + "\n\n" + json.dumps(BREACH) + "\n").encode()

    result = _invoke(database_url, "import", "-", stdin=body)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "imported 2 new events\n"
    assert [entry["event"] for entry in _export(database_url)] == STORED[:2]


def test_import_with_a_bad_third_line_stores_nothing(database_url: str, tmp_path: Path) -> None:
    path = _ndjson(tmp_path / "bad.ndjson", AGREED, BREACH, {**STRIKE, "killed": "12"})

    result = _invoke(database_url, "import", str(path))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == _new_store(database_url) + (
        "error: line 3: killed: Input should be a valid integer; nothing was imported\n"
    )
    assert _export(database_url) == []


def test_import_line_numbers_count_blank_lines(database_url: str, tmp_path: Path) -> None:
    path = _ndjson(tmp_path / "bad.ndjson", AGREED, "", {**STRIKE, "colour": "red"})

    result = _invoke(database_url, "import", str(path))

    assert result.exit_code == 1
    assert result.stderr == _new_store(database_url) + (
        "error: line 3: colour: Extra inputs are not permitted; nothing was imported\n"
    )
    assert _export(database_url) == []


def test_import_of_a_line_that_is_not_json_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    path = _ndjson(tmp_path / "bad.ndjson", AGREED, "{not json")

    result = _invoke(database_url, "import", str(path))

    assert result.exit_code == 1
    error = result.stderr.removeprefix(_new_store(database_url))
    assert error.startswith("error: line 2: not a JSON line: ")
    assert result.stderr.endswith("; nothing was imported\n")
    assert _export(database_url) == []


def test_import_of_a_breach_of_an_unknown_ceasefire_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    path = _ndjson(tmp_path / "bad.ndjson", STRIKE, {**BREACH, "ceasefire_id": "no-such-truce"})

    result = _invoke(database_url, "import", str(path))

    assert result.exit_code == 1
    assert result.stderr == _new_store(database_url) + (
        "error: line 2: ceasefire_id: no ceasefire 'no-such-truce' has been agreed in "
        f"{CONFLICT!r}; nothing was imported\n"
    )
    assert _export(database_url) == []


def test_import_line_may_refer_to_the_ceasefire_agreed_on_line_1(
    database_url: str, tmp_path: Path
) -> None:
    # No event ids: the breach finds the ceasefire by its id, within the same import.
    agreed = {k: v for k, v in AGREED.items() if k != "event_id"}
    breach = {k: v for k, v in BREACH.items() if k != "event_id"}

    result = _invoke(database_url, "import", str(_ndjson(tmp_path / "e.ndjson", agreed, breach)))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "imported 2 new events\n"
    events = [entry["event"] for entry in _export(database_url)]
    assert [(e["type"], e["ceasefire_id"]) for e in events] == [
        ("ceasefire_agreed", CEASEFIRE),
        ("ceasefire_breached", CEASEFIRE),
    ]
    assert all(uuid.UUID(e["event_id"]).version == 4 for e in events)


def test_import_of_a_missing_file_exits_2(database_url: str, tmp_path: Path) -> None:
    result = _invoke(database_url, "import", str(tmp_path / "missing.ndjson"))

    assert result.exit_code == 2
    assert result.stderr == f"error: no file {tmp_path / 'missing.ndjson'}\n"


def test_import_error_quoting_brackets_is_printed_as_is(database_url: str, tmp_path: Path) -> None:
    # Messages quote what the client sent; it must not be read as console markup.
    path = _ndjson(tmp_path / "bad.ndjson", {**STRIKE, "occurred_at": "[/x] [bold]"})

    result = _invoke(database_url, "import", str(path))

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    error = result.stderr.removeprefix(_new_store(database_url))
    assert error.startswith("error: line 1: occurred_at: '[/x] [bold]' is not an RFC 3339")
    assert _export(database_url) == []


# -- export -----------------------------------------------------------------------------


def test_export_writes_the_log_in_order_with_exactly_its_keys(
    database_url: str, tmp_path: Path
) -> None:
    path = _ndjson(tmp_path / "events.ndjson", AGREED, BREACH, STRIKE)
    assert _invoke(database_url, "import", str(path)).exit_code == 0

    entries = _export(database_url)

    assert [list(entry) for entry in entries] == [EXPORT_FIELDS] * 3
    assert [entry["position"] for entry in entries] == [1, 2, 3]
    assert [entry["recorded_by"] for entry in entries] == [RECORDED_BY] * 3
    assert [entry["event"] for entry in entries] == STORED
    times = [entry["recorded_at"] for entry in entries]
    assert all(RECORDED_AT.fullmatch(t) for t in times)
    assert times == sorted(times)
    previous = GENESIS_HASH
    for entry in entries:
        stored = entry["stored"]
        digest = content_hash(stored["state"].encode())
        assert entry["content_hash"] == digest
        assert entry["hash"] == entry_hash_v2(
            previous,
            entry["position"],
            entry["recorded_at"],
            RECORDED_BY,
            stored["topic"],
            digest,
            indexed_columns(entry["event"]),
        )
        previous = entry["hash"]


def test_export_to_a_file(database_url: str, tmp_path: Path) -> None:
    assert (
        _invoke(database_url, "import", str(_ndjson(tmp_path / "e.ndjson", STRIKE))).exit_code == 0
    )
    out = tmp_path / "export.ndjson"

    result = _invoke(database_url, "export", "--out", str(out))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == _export_text(_export(database_url))


def test_export_of_an_empty_log_is_empty(database_url: str) -> None:
    result = _invoke(database_url, "export")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""


def test_export_imported_into_an_empty_store_reproduces_the_events(
    database_url: str, second_database_url: str, tmp_path: Path
) -> None:
    london = {
        "type": "statement",
        "event_id": "0b6f4a52-1c3e-4d7f-9a2b-5e8c7d6f1a04",
        "conflict": CONFLICT,
        "occurred_at": "2020-01-15T12:00:00",  # London is at +00:00 in January
        "timezone": "Europe/London",
        "speaker": "Foreign Office",
        "text": "We urge restraint. «Ганджа»",
    }
    retraction = {
        "type": "retraction",
        "event_id": "0b6f4a52-1c3e-4d7f-9a2b-5e8c7d6f1a05",
        "conflict": CONFLICT,
        "occurred_at": "2020-10-19T10:00:00+04:00",
        "retracts_event_id": BREACH_ID,
        "reason": "the report was withdrawn",
    }
    correction = {
        "type": "correction",
        "event_id": "0b6f4a52-1c3e-4d7f-9a2b-5e8c7d6f1a06",
        "conflict": CONFLICT,
        "occurred_at": "2020-10-19T11:00:00Z",
        "corrects_event_id": STRIKE_ID,
        "changes": {"killed": 14, "occurred_at": "2020-10-17T03:05:00+04:00"},
    }
    exported, dump = _imported_and_exported(
        database_url, tmp_path, AGREED, BREACH, STRIKE, london, retraction, correction
    )

    result = _invoke(second_database_url, "import", str(dump))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "imported 6 new events\n"
    copied = _export(second_database_url)
    assert [entry["event"] for entry in copied] == [entry["event"] for entry in exported]
    assert copied[3]["event"]["local_times"] == {"occurred_at": "2020-01-15T12:00:00Z"}
    assert copied[5]["event"]["changes"] == {"killed": 14, "occurred_at": "2020-10-16T23:05:00Z"}
    assert [entry["position"] for entry in copied] == [1, 2, 3, 4, 5, 6]
    assert [entry["recorded_by"] for entry in copied] == [RECORDED_BY] * 6


def test_export_imported_into_the_same_store_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    exported, dump = _imported_and_exported(database_url, tmp_path, AGREED, BREACH, STRIKE)

    result = _invoke(database_url, "import", str(dump))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "imported 0 new events\n"
    assert _export(database_url) == exported


def test_export_of_a_historic_zoned_event_re_imports(
    database_url: str, second_database_url: str, tmp_path: Path
) -> None:
    # Baku kept local mean time (+03:19:24) until 1924: a wall time with a seconds offset.
    old = {**STRIKE, "occurred_at": "1918-09-15T12:00:00", "timezone": "Asia/Baku"}
    exported, dump = _imported_and_exported(database_url, tmp_path, old)

    result = _invoke(second_database_url, "import", str(dump))

    assert result.exit_code == 0, result.stderr
    assert [entry["event"] for entry in _export(second_database_url)] == [
        entry["event"] for entry in exported
    ]
