"""A forger who can write the database, but not the signing key, is caught by a checkpoint.

Someone who can only edit rows breaks the hash chain, and plain ``truceline verify``
names the first bad position (tests/application/test_tampering.py). A forger who writes
the database can do more, though: recompute every hash after an edit and rebuild the
Merkle tree, cut off the log's tail, empty it, or re-import altered events into a fresh
store. The log is then consistent with itself, and only a state kept *outside* the
database shows what happened: a checkpoint signed with a key the forger does not have
(``truceline checkpoint``), checked with ``truceline verify --against``.

Each test starts from the same installation (the ``signed`` fixture): a signing key
whose public half is saved to a file, ten events appended and projected, then a
checkpoint of them written to ``cp.json``, which ``verify --against cp.json`` accepts.
Then the test forges, over a raw connection to the store's tables (sqlite3, or psycopg
on PostgreSQL), and runs the command line as an auditor would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import Result

from tests.application.tampering_helpers import (
    LOG_SIZE,
    RawStore,
    change_content,
    edit_killed,
    export,
    fill,
    n,
    project,
    run,
    write_lines,
)
from tests.conftest import empty_postgres
from truceline.application.app import Truceline
from truceline.application.checkpoints import Checkpoint, SigningKey, key_id_of, signed_form
from truceline.application.log import (
    CHECKPOINTS,
    ENTRIES,
    GENESIS_HASH,
    KEY_LOG,
    KEYS,
    TREE,
    EntriesRow,
    IndexedColumns,
    content_hash,
    entry_hash_v1,
    entry_hash_v2,
)
from truceline.application.recorded import decode_stored, offline_mapper
from truceline.domain import merkle
from truceline.settings import Settings

# -- the forger's tools ----------------------------------------------------------------------


def no_stored_node(level: int, index: int) -> bytes:
    raise AssertionError(f"a tree built from its first leaf reads no node ({level}, {index})")


class Forger(RawStore):
    """:class:`RawStore`, plus what a forger who knows the hash schemes does with it: he
    recomputes hashes with the project's own functions and rebuilds the Merkle tree."""

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self._connection() as run_sql:
            return run_sql(sql, *params)

    def size(self) -> int:
        ((last,),) = self.query(f"SELECT MAX(position) FROM {ENTRIES}")
        return int(last or 0)

    def set_columns(self, position: int, **values: Any) -> None:
        """Set columns of the entries row at ``position``."""
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.query(
            f"UPDATE {ENTRIES} SET {assignments} WHERE position = ?", *values.values(), position
        )

    def rehash(self, start: int) -> None:
        """Recompute the chain from ``start`` to the end, each entry under its own scheme
        (version 2 over its stored row's columns and ``content_hash`` of its bytes as
        they are now; version 1 over its decoded event), then rebuild the tree."""
        with self._connection() as run_sql:
            previous = GENESIS_HASH
            if start > 1:
                ((previous,),) = run_sql(
                    f"SELECT hash FROM {ENTRIES} WHERE position = ?", start - 1
                )
            columns = ", ".join(f"e.{name}" for name in EntriesRow._fields)
            rows = run_sql(
                f"SELECT {columns}, s.topic, s.state FROM {ENTRIES} e "
                f"JOIN {self.events} s ON s.{self._position} = e.position "
                "WHERE e.position >= ? ORDER BY e.position",
                start,
            )
            for *values, topic, state in rows:
                row = EntriesRow(*values)
                if row.hash_version == 1:
                    event = decode_stored(offline_mapper(), row.event_id, topic, bytes(state))
                    previous = entry_hash_v1(
                        previous, row.position, row.recorded_at, row.recorded_by, event
                    )
                    run_sql(
                        f"UPDATE {ENTRIES} SET hash = ? WHERE position = ?", previous, row.position
                    )
                else:
                    digest = content_hash(bytes(state))
                    indexed = IndexedColumns(
                        row.event_id, row.type, row.conflict, row.ceasefire_id, row.refers_to
                    )
                    previous = entry_hash_v2(
                        previous,
                        row.position,
                        row.recorded_at,
                        row.recorded_by,
                        topic,
                        digest,
                        indexed,
                    )
                    run_sql(
                        f"UPDATE {ENTRIES} SET content_hash = ?, hash = ? WHERE position = ?",
                        digest,
                        previous,
                        row.position,
                    )
        self.rebuild_tree()

    def rebuild_tree(self) -> None:
        """Delete every node and insert the tree of the entries' hashes as they are now,
        computed as an append would (:func:`merkle.appended_nodes`)."""
        hashes = [h for (h,) in self.query(f"SELECT hash FROM {ENTRIES} ORDER BY position")]
        leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in hashes]
        with self._connection() as run_sql:
            run_sql(f"DELETE FROM {TREE}")
            for node in merkle.appended_nodes(0, leaves, no_stored_node):
                run_sql(f"INSERT INTO {TREE} (level, idx, hash) VALUES (?, ?, ?)", *node)

    def truncate(self, keep: int) -> None:
        """Cut the log after position ``keep``: its events, entries rows and every node
        of the tree whose range reaches past leaf ``keep - 1``, which leaves exactly the
        tree of ``keep`` entries."""
        with self._connection() as run_sql:
            run_sql(f"DELETE FROM {self.events} WHERE {self._position} > ?", keep)
            run_sql(f"DELETE FROM {ENTRIES} WHERE position > ?", keep)
            run_sql(f"DELETE FROM {TREE} WHERE (idx + 1) * (1 << level) > ?", keep)


def rewrite(raw: Forger) -> None:
    """Position 4's shelling made North's, and every hash from there recomputed."""
    change_content(raw)
    raw.rehash(4)


def truncate(raw: Forger) -> None:
    """The last three entries cut off, and their tree nodes with them."""
    raw.truncate(LOG_SIZE - 3)


def empty(raw: Forger) -> None:
    """Every row of the events table, the entries and the tree deleted."""
    raw.truncate(0)


# -- the installation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """An installation whose ten events were signed in ``checkpoint`` (``cp.json``)."""

    env: dict[str, str]
    raw: Forger
    tmp: Path
    public_key: Path
    checkpoint: Path
    archive: Path

    @property
    def signed(self) -> Checkpoint:
        return Checkpoint.from_dict(json.loads(self.checkpoint.read_text()))

    def verify(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return run(env or self.env, "verify", *args)

    def verify_against(self, *files: Path, env: dict[str, str] | None = None) -> Result:
        against = [arg for path in files for arg in ("--against", str(path))]
        return self.verify(*against, "--public-key", str(self.public_key), env=env)

    def run(self, *args: str) -> Result:
        result = run(self.env, *args)
        assert result.exit_code == 0, result.output
        return result

    def archived(self) -> list[Checkpoint]:
        return [
            Checkpoint.from_dict(json.loads(line)) for line in self.archive.read_text().splitlines()
        ]


def chain_ok(size: int, records: int = 0) -> list[str]:
    """What ``truceline verify`` first says of a log of ``size`` entries that is
    consistent with itself, with ``records`` records in the keys' access log."""
    return [
        f"hash chain verified: {size} events",
        f"Merkle tree: {size} leaves match the stored tree",
        f"keys' access log verified: {records} record{'' if records == 1 else 's'}",
    ]


def read_models_ok(position: int) -> str:
    return f"read models at position {position}: consistent with the log"


EXTENDS = f"the log extends the checkpoint of {LOG_SIZE} entries ({LOG_SIZE} now)"


def rewritten(checkpoint: Checkpoint) -> str:
    """What the comparison with ``checkpoint`` says of a log rewritten within it."""
    return (
        f"the log was rewritten: its first {checkpoint.tree_size} entries no longer hash to "
        f"the root signed at {checkpoint.timestamp}; the first changed entry lies between "
        f"positions 1 and {checkpoint.tree_size}"
    )


def installation_env(settings: Settings, environment: dict[str, str]) -> dict[str, str]:
    assert settings.signing_key_path and settings.checkpoint_archive_path  # under tmp_path
    return {
        **environment,
        "TRUCELINE_SIGNING_KEY_PATH": settings.signing_key_path,
        "TRUCELINE_CHECKPOINT_ARCHIVE_PATH": settings.checkpoint_archive_path,
    }


@pytest.fixture
def installed(
    application: Truceline,
    settings: Settings,
    database_url: str,
    environment: dict[str, str],
    tmp_path: Path,
) -> Signed:
    """A signing key (its public half in ``pub.pem``), the ten events appended and
    projected as a server would; no checkpoint yet."""
    env = installation_env(settings, environment)
    created = run(env, "signing-key", "create")
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("-----BEGIN PUBLIC KEY-----\n")
    public_key = tmp_path / "pub.pem"
    public_key.write_text(created.stdout)
    fill(application)
    project(application, settings)
    return Signed(
        env,
        Forger(database_url, application),
        tmp_path,
        public_key,
        tmp_path / "cp.json",
        Path(env["TRUCELINE_CHECKPOINT_ARCHIVE_PATH"]),
    )


def sign(installation: Signed) -> None:
    """``truceline checkpoint --out cp.json``, which ``verify --against`` then accepts."""
    installation.run("checkpoint", "--out", str(installation.checkpoint))
    assert installation.signed.tree_size == LOG_SIZE

    before = installation.verify_against(installation.checkpoint)

    assert before.exit_code == 0, before.output
    assert before.stdout.splitlines() == [
        *chain_ok(LOG_SIZE),
        EXTENDS,
        read_models_ok(LOG_SIZE),
    ]


@pytest.fixture
def signed(installed: Signed) -> Signed:
    """:func:`installed`, and its ten events signed in ``cp.json``, which ``verify
    --against cp.json`` accepts: every test's state before its forgery."""
    sign(installed)
    return installed


# -- 1. the chain recomputed after an edit ------------------------------------------------


def test_a_recomputed_chain_verifies_alone_but_not_against_the_checkpoint(signed, application):
    """Position 4's bytes are edited, every hash from 4 on recomputed with the project's
    own functions, the tree rebuilt and the read models too: the log is consistent with
    itself, and plain ``verify`` passes, which is why checkpoints exist. The rebuilt
    tree's root of ten entries is not the one signed, so ``--against`` says so; it
    cannot tell which entry changed, only that it lies within the checkpoint."""
    rewrite(signed.raw)
    signed.run("rebuild")
    assert application.get_entry(n(4)).event["perpetrator"] == "North"

    alone = signed.verify()
    against = signed.verify_against(signed.checkpoint)

    assert alone.exit_code == 0, alone.output
    assert alone.stdout.splitlines() == [*chain_ok(LOG_SIZE), read_models_ok(LOG_SIZE)]
    assert against.exit_code == 1, against.output
    assert against.stdout.splitlines() == [
        *chain_ok(LOG_SIZE),
        rewritten(signed.signed),
        read_models_ok(LOG_SIZE),
    ]


# -- 2. and 3. the tail cut off, or everything ---------------------------------------------


@pytest.mark.parametrize(
    ("forge", "left", "state"), [(truncate, 7, "truncated"), (empty, 0, "emptied")]
)
def test_a_shortened_log_verifies_alone_but_not_against_the_checkpoint(signed, forge, left, state):
    """The last entries (or all of them) are deleted with their tree nodes, and the read
    models rebuilt: what is left is a consistent log of ``left`` entries, but a
    checkpoint signed over ten says that some are missing."""
    forge(signed.raw)
    signed.run("rebuild")

    alone = signed.verify()
    against = signed.verify_against(signed.checkpoint)

    assert alone.exit_code == 0, alone.output
    assert alone.stdout.splitlines() == [*chain_ok(left), read_models_ok(left)]
    assert against.exit_code == 1, against.output
    assert against.stdout.splitlines() == [
        *chain_ok(left),
        f"the log was {state}: it holds {left} entries, and a checkpoint signed at "
        f"{signed.signed.timestamp} covers {LOG_SIZE}",
        read_models_ok(left),
    ]


# -- 4. altered events re-imported into a fresh store --------------------------------------


def test_altered_events_imported_into_a_fresh_store_are_found(
    signed, application, database_url, tmp_path
):
    """The forger exports the log, alters an event (position 7's toll), and imports the
    lines into a brand-new store: ``truceline import`` appends each line's event, so
    the fresh log's chain is computed by the service itself and verifies. Its root is
    not the signed one, and the export taken before names the first entry that
    differs."""
    old_export = tmp_path / "old-export.ndjson"
    lines = export(signed.env, old_export)
    edit_killed(lines)
    altered = tmp_path / "altered.ndjson"
    write_lines(altered, lines)
    fresh = {**signed.env, "TRUCELINE_READ_MODEL_PATH": str(tmp_path / "fresh-read-model.db")}
    if database_url.startswith("sqlite:"):
        fresh["TRUCELINE_DATABASE_URL"] = f"sqlite:///{tmp_path}/fresh.db"
    else:
        application.close()  # nothing of the old store stays open while it is dropped
        empty_postgres(database_url)

    imported = run(fresh, "import", str(altered))
    alone = signed.verify(env=fresh)
    against = signed.verify_against(signed.checkpoint, old_export, env=fresh)

    assert imported.exit_code == 0, imported.output
    assert imported.stdout == f"imported {LOG_SIZE} new events\n"
    assert alone.exit_code == 0, alone.output
    assert alone.stdout.splitlines() == [*chain_ok(LOG_SIZE), read_models_ok(0)]
    assert against.exit_code == 1, against.output
    assert against.stdout.splitlines() == [
        *chain_ok(LOG_SIZE),
        rewritten(signed.signed),
        # Not entry 7, the one altered: an import records each event anew, with its
        # own recorded_at and recorded_by (the local user, not the key that wrote the
        # events), and both are under the hash, so the fresh log departs at entry 1.
        "the log was rewritten: entry 1 differs from the export",
        read_models_ok(0),
    ]


# -- 5. the indexed columns edited ----------------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [{"refers_to": None}, {"type": "statement", "refers_to": None}],
    ids=["refers_to", "type-and-refers_to"],
)
@pytest.mark.parametrize("rehashed", [False, True], ids=["hash-kept", "rehashed"])
def test_edited_index_columns_are_found(signed, application, edit, rehashed):
    """The correction at position 10 names event 2 in ``refers_to``; setting it to null
    (and its ``type`` to another) hides the correction from event 2's history, though
    the event itself is unchanged. The version 2 hash covers the indexed columns, so
    the chain breaks at 10. A forger who recomputes that hash over the edited columns
    and rebuilds the tree still fails plain ``verify``, which compares the columns
    with the columns the event implies, and now also the checkpoint. With the hash
    kept, the tree is unchanged and extends the checkpoint: the chain caught it."""
    assert [entry.position for entry in application.history(n(2))] == [LOG_SIZE]

    signed.raw.set_columns(LOG_SIZE, **edit)
    if rehashed:
        signed.raw.rehash(LOG_SIZE)
    result = signed.verify_against(signed.checkpoint)

    assert application.history(n(2)) == []
    why = (
        "the indexed columns (type, conflict, ceasefire_id, refers_to) do not match the event"
        if rehashed
        else "the hash does not match the entry's content"
    )
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"hash chain BROKEN at position {LOG_SIZE} ({why}); {LOG_SIZE} events checked",
        *chain_ok(LOG_SIZE)[1:],
        rewritten(signed.signed) if rehashed else EXTENDS,
        read_models_ok(LOG_SIZE),
    ]


# -- 6. entries of the first hash scheme ------------------------------------------------------


def downgrade(raw: Forger, last: int) -> None:
    """Make positions 1 to ``last`` entries of hash scheme 1, as a log written before
    scheme 2 holds them (no content_hash, the hash over the decoded event), and rechain
    the scheme 2 entries after them."""
    raw.query(
        f"UPDATE {ENTRIES} SET hash_version = 1, content_hash = NULL WHERE position <= ?", last
    )
    raw.rehash(1)


def test_entries_of_the_first_hash_scheme_still_verify(installed):
    """A log whose first five entries were hashed with scheme 1 and the rest with
    scheme 2 chained onto them verifies, alone and against its checkpoint."""
    downgrade(installed.raw, 5)
    versions = installed.raw.query(f"SELECT hash_version FROM {ENTRIES} ORDER BY position")
    assert [version for (version,) in versions] == [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]

    result = installed.verify()

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [*chain_ok(LOG_SIZE), read_models_ok(LOG_SIZE)]
    sign(installed)  # and it extends its own checkpoint


@pytest.mark.parametrize("rehashed", [False, True], ids=["hash-kept", "rehashed"])
def test_an_edited_entry_of_the_first_hash_scheme_is_found(installed, rehashed):
    """Scheme 1 hashes the decoded event, so editing a scheme 1 entry's stored bytes
    (position 4, South's shelling made North's) breaks the chain at 4. Recomputing the
    chain from there, scheme 1 then scheme 2, mends it, and the checkpoint signed over
    the old hashes finds the rewrite."""
    downgrade(installed.raw, 5)
    sign(installed)

    change_content(installed.raw)
    if rehashed:
        installed.raw.rehash(4)
        installed.run("rebuild")
    result = installed.verify_against(installed.checkpoint)

    assert result.exit_code == 1, result.output
    if rehashed:
        assert result.stdout.splitlines() == [
            *chain_ok(LOG_SIZE),
            rewritten(installed.signed),
            read_models_ok(LOG_SIZE),
        ]
    else:
        assert result.stdout.splitlines() == [
            "hash chain BROKEN at position 4 (the hash does not match the entry's content); "
            f"{LOG_SIZE} events checked",
            *chain_ok(LOG_SIZE)[1:],
            EXTENDS,
            f"read models at position {LOG_SIZE}: DIFFER from a rebuild",
        ]


# -- 7. the keys' access log cut back ------------------------------------------------------


def test_a_revocation_deleted_from_the_keys_log_is_found(signed):
    """A writer key is created, then revoked, and a checkpoint signs the keys' access
    log of those two records. The forger revives the key: he deletes the revocation's
    record and clears the key's ``revoked_at``. The access log and the keys table agree
    again, so plain ``verify`` passes; the archive's checkpoint of the keys' log says
    that its head went back from 2 records to 1."""
    created = signed.run("keys", "create", "mallory", "--role", "writer")
    key_id = created.stdout.split()[3]
    assert key_id.startswith("key_")
    signed.run("keys", "revoke", key_id)
    signed.run("checkpoint")
    assert [(c.log, c.tree_size) for c in signed.archived()] == [
        ("events", LOG_SIZE),
        ("keys", 0),
        ("keys", 2),
    ]
    before = signed.verify_against(signed.archive)
    assert before.exit_code == 0, before.output
    assert before.stdout.splitlines() == [
        *chain_ok(LOG_SIZE, records=2),
        EXTENDS,
        "the keys' log extends the checkpoint of 2 entries (2 now)",
        read_models_ok(LOG_SIZE),
    ]

    signed.raw.query(f"DELETE FROM {KEY_LOG} WHERE seq = 2")
    signed.raw.query(f"UPDATE {KEYS} SET revoked_at = NULL WHERE key_id = ?", key_id)
    alone = signed.verify()
    against = signed.verify_against(signed.archive)

    assert alone.exit_code == 0, alone.output
    assert alone.stdout.splitlines() == [
        *chain_ok(LOG_SIZE, records=1),
        read_models_ok(LOG_SIZE),
    ]
    assert against.exit_code == 1, against.output
    assert against.stdout.splitlines() == [
        *chain_ok(LOG_SIZE, records=1),
        EXTENDS,
        "the keys' log was truncated: it holds 1 entries, and a checkpoint signed at "
        f"{signed.archived()[-1].timestamp} covers 2",
        read_models_ok(LOG_SIZE),
    ]


# -- 8. the offline verifier ----------------------------------------------------------------


def verify_offline(signed: Signed, export_file: Path, public_key: Path) -> Result:
    return signed.verify(
        "--file",
        str(export_file),
        "--checkpoint",
        str(signed.checkpoint),
        "--public-key",
        str(public_key),
    )


def test_the_offline_verifier_passes_an_untouched_export(signed):
    """An export, the checkpoint and the public key are all it takes to check the log
    with no store at all."""
    exported = signed.tmp / "export.ndjson"
    export(signed.env, exported)

    result = verify_offline(signed, exported, signed.public_key)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"hash chain verified: {LOG_SIZE} events",
        f"the export extends the checkpoint of {LOG_SIZE} entries ({LOG_SIZE} now)",
    ]


def drop_tail(lines: list[dict[str, Any]]) -> None:
    del lines[7:]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # The line's event is not what its stored bytes (which its hash covers) decode
        # to; the hashes are untouched, so the export's tree still extends the checkpoint.
        (
            edit_killed,
            [
                "hash chain BROKEN at position 7 (the event does not match its stored "
                f"bytes); {LOG_SIZE} events checked",
                f"the export extends the checkpoint of {LOG_SIZE} entries ({LOG_SIZE} now)",
            ],
        ),
        # Seven lines chain perfectly; the checkpoint says there were ten.
        (
            drop_tail,
            [
                "hash chain verified: 7 events",
                "the export was truncated: it holds 7 entries, and a checkpoint signed at "
                f"{{timestamp}} covers {LOG_SIZE}",
            ],
        ),
    ],
    ids=["edited-event", "dropped-tail"],
)
def test_the_offline_verifier_fails_an_edited_export(signed, edit, expected):
    """An export edited after it was written fails offline, by its chain or by the
    checkpoint."""
    lines = export(signed.env, signed.tmp / "export.ndjson")
    edit(lines)
    edited = signed.tmp / "edited.ndjson"
    write_lines(edited, lines)

    result = verify_offline(signed, edited, signed.public_key)

    assert result.exit_code == 1, result.output
    timestamp = signed.signed.timestamp
    assert result.stdout.splitlines() == [line.format(timestamp=timestamp) for line in expected]


def test_the_offline_verifier_refuses_a_checkpoint_under_another_key(signed):
    """Checked with a public key that did not sign it, the checkpoint is unusable: the
    command checks nothing, says why on stderr and exits 2 (a usage error, not a
    verdict on the export)."""
    exported = signed.tmp / "export.ndjson"
    export(signed.env, exported)
    other = Ed25519PrivateKey.generate().public_key()
    other_pem = signed.tmp / "other.pem"
    other_pem.write_bytes(
        other.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    result = verify_offline(signed, exported, other_pem)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"error: the checkpoint of {LOG_SIZE} entries signed at {signed.signed.timestamp} "
        f"does not verify with key {key_id_of(other)}\n"
    )


# -- 9. a checkpoint forged with another key ------------------------------------------------


def forged_by_own_key(tmp: Path, root: str, real_key_id: str) -> Checkpoint:
    """The forger's own :class:`SigningKey` signs the rewritten root."""
    return SigningKey.create(tmp / "forger.pem").sign("events", LOG_SIZE, bytes.fromhex(root))


def forged_as_real_key(tmp: Path, root: str, real_key_id: str) -> Checkpoint:
    """Every field as the real key would sign it, its id included; only the signature
    is made with another key."""
    timestamp = "2030-01-01T00:00:00.000000Z"
    form = signed_form("events", LOG_SIZE, root, timestamp, real_key_id)
    signature = Ed25519PrivateKey.generate().sign(form).hex()
    return Checkpoint("events", LOG_SIZE, root, timestamp, real_key_id, signature)


@pytest.mark.parametrize("forge", [forged_by_own_key, forged_as_real_key])
def test_a_checkpoint_signed_by_another_key_is_refused(signed, application, forge):
    """After rewriting the log, the forger signs a checkpoint of its new root and hands
    it over instead of the real one. Checked with the real public key, it is refused
    before the log is compared with it."""
    rewrite(signed.raw)
    root = application.stored_root(LOG_SIZE).hex()
    assert root != signed.signed.root_hash
    forged = forge(signed.tmp, root, signed.signed.key_id)
    forged_file = signed.tmp / "forged.json"
    forged_file.write_text(json.dumps(forged.as_dict()))

    result = signed.verify_against(forged_file)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"error: the checkpoint of {LOG_SIZE} entries signed at {forged.timestamp} "
        f"does not verify with key {signed.signed.key_id}\n"
    )


# -- 10. the server signs no rewritten history ----------------------------------------------


@pytest.mark.parametrize(
    ("forge", "refusal"),
    [
        (
            rewrite,
            f"the events log's first {LOG_SIZE} entries no longer hash to its latest "
            "checkpoint's root",
        ),
        (
            truncate,
            f"the events log holds 7 entries, fewer than the {LOG_SIZE} of its latest checkpoint",
        ),
        (
            empty,
            f"the events log holds 0 entries, fewer than the {LOG_SIZE} of its latest checkpoint",
        ),
    ],
    ids=["rewritten", "truncated", "emptied"],
)
def test_the_server_will_not_sign_a_forged_log(signed, forge, refusal):
    """Before signing, ``truceline checkpoint`` checks that the log extends its latest
    checkpoint: after a forgery it signs nothing, archives nothing, and says why."""
    archived = signed.archive.read_text()
    forge(signed.raw)

    result = run(signed.env, "checkpoint")

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == f"error: {refusal}: run truceline verify\n"
    assert signed.archive.read_text() == archived


def test_the_server_will_not_sign_a_forged_log_whose_stored_checkpoints_are_gone(signed):
    """The forger rewrites the log and also deletes the checkpoints kept in the
    database (``truceline_checkpoints``), which the forgery check compares with. The
    archive file, beside the signing key and out of the forger's reach, still holds
    the checkpoint of the old log: the server must not sign the rewritten one."""
    archived = signed.archive.read_text()
    rewrite(signed.raw)
    signed.raw.query(f"DELETE FROM {CHECKPOINTS}")

    result = run(signed.env, "checkpoint")

    assert result.exit_code == 1, result.output
    assert signed.archive.read_text() == archived


def test_checkpoints_kept_outside_expose_a_rewrite_whatever_the_server_signs_after(signed):
    """Whether or not the server can be made to sign the rewritten log once the stored
    checkpoints are deleted (see the test above), the checkpoints signed before the
    forgery still expose it: ``cp.json``, and the archive, where the old log's
    checkpoint of ten entries comes before any later one of the same size."""
    rewrite(signed.raw)
    signed.raw.query(f"DELETE FROM {CHECKPOINTS}")
    run(signed.env, "checkpoint")  # exit 0 or 1: compared with what was kept, not asserted

    against = signed.verify_against(signed.checkpoint, signed.archive)

    assert against.exit_code == 1, against.output
    assert against.stdout.splitlines() == [
        *chain_ok(LOG_SIZE),
        rewritten(signed.signed),  # cp.json
        rewritten(signed.signed),  # the archive's checkpoint of the events log
        "the keys' log extends the checkpoint of 0 entries (0 now)",  # and of the keys' log
        # The read models were projected from the log as it was, and not rebuilt.
        f"read models at position {LOG_SIZE}: DIFFER from a rebuild",
    ]
