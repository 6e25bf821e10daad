"""The log on SQLite: eventsourcing's application recorder plus the entries and keys tables.

Appends run in one transaction that first takes SQLite's write lock, so the reference
checks, the positions and the hash chain of one append are decided with no other writer
in between, whichever process it comes from. Positions are the ``stored_events`` rowids,
which eventsourcing uses as notification ids; they are set explicitly, so the log stays
1, 2, 3, ... with no gaps.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

from eventsourcing.persistence import DatabaseError, Mapper
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
)

from truceline.application.log import (
    ADDED_COLUMNS,
    CHECKPOINTS,
    ENTRIES,
    KEY_LOG,
    KEYS,
    TREE,
    ChainWriter,
    EntriesRow,
    Entry,
    Frontier,
    KeyRecord,
    Linked,
    PagedReads,
    StoredEntry,
    column_definition,
    entries_columns,
    entry_from_row,
    key_record,
    stored_entry_from_row,
)
from truceline.domain.merkle import GetNode
from truceline.settings import private_folder

_ENTRY_COLUMNS = (
    "s.rowid AS position, s.originator_id, s.originator_version, s.topic, s.state, "
    "e.recorded_at, e.recorded_by, e.hash"
)


_STORED_COLUMNS = "s.topic, s.state, s.originator_id, s.originator_version, " + ", ".join(
    f"e.{name}" for name in EntriesRow._fields
)
_SQLITE_TYPES = {int: "INTEGER", str: "TEXT"}
_INSERT_ENTRIES = (
    f"INSERT INTO {ENTRIES} ({', '.join(EntriesRow._fields)}) "
    f"VALUES ({', '.join('?' * len(EntriesRow._fields))})"
)


def create_private(path: str | Path) -> None:
    """Create the empty file ``path`` if it does not exist, mode 0600 (in folders made
    0700): SQLite gives its ``-wal`` and ``-shm`` companions the mode of the database
    file, so a store or read model created here is its owner's only. A file that exists
    is left as it is."""
    private_folder(Path(path).parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class SQLitePool(SQLiteConnectionPool):
    """eventsourcing's pool, for files that may come from elsewhere (a restored backup, a
    read model handed over): every connection runs with ``trusted_schema = OFF``, so the
    file's views and triggers may call only innocuous functions (SQLite refuses others:
    "unsafe use of ..."), and a file it creates is private (:func:`create_private`)."""

    def _create_connection(self) -> SQLiteConnection:
        if not self.is_sqlite_memory_mode and not self.db_name.startswith("file:"):
            create_private(self.db_name)
        try:
            connection = super()._create_connection()
            connection._sqlite_conn.execute("PRAGMA trusted_schema = OFF")
        except sqlite3.DatabaseError as error:  # "file is not a database": raised as is
            raise DatabaseError(error) from error
        return connection


def private_pool(pool: SQLiteConnectionPool) -> SQLitePool:
    """A :class:`SQLitePool` with the settings of ``pool``, which must not have opened a
    connection yet."""
    return SQLitePool(
        db_name=pool.db_name,
        lock_timeout=pool.lock_timeout,
        pool_size=pool.pool_size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.pool_timeout,
        max_age=pool.max_age,
        pre_ping=pool.pre_ping,
    )


class SQLiteLogRecorder(PagedReads, SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, extended with the log's own tables."""

    mapper: Mapper[uuid.UUID]  # set by the application before use

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        # eventsourcing's factory made the datastore; nothing has read the file yet.
        unused, datastore.pool = datastore.pool, private_pool(datastore.pool)
        unused.close()
        super().__init__(datastore, events_table_name)
        self._frontier: Frontier | None = None
        self.select_entries = (
            f"SELECT {_ENTRY_COLUMNS} FROM {self.events_table_name} s "
            f"JOIN {ENTRIES} e ON e.position = s.rowid "
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {ENTRIES} ({entries_columns(_SQLITE_TYPES)})",
            f"CREATE INDEX IF NOT EXISTS {ENTRIES}_ceasefire "
            f"ON {ENTRIES} (conflict, ceasefire_id, type) WHERE ceasefire_id IS NOT NULL",
            f"CREATE INDEX IF NOT EXISTS {ENTRIES}_refers_to "
            f"ON {ENTRIES} (refers_to) WHERE refers_to IS NOT NULL",
            f"CREATE INDEX IF NOT EXISTS {ENTRIES}_recorded_at ON {ENTRIES} (recorded_at)",
            f"CREATE TABLE IF NOT EXISTS {KEYS} ("
            "key_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
            "secret_hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)",
            # A leaf or interior node of the log's Merkle tree: SQLite keeps it in the
            # primary key's own b-tree (no rowid), so a node lookup is one search.
            f"CREATE TABLE IF NOT EXISTS {TREE} (level INTEGER NOT NULL, "
            "idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {KEY_LOG} (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, "
            "action TEXT NOT NULL, key_id TEXT NOT NULL, name TEXT NOT NULL, "
            "role TEXT NOT NULL, secret_hash TEXT NOT NULL, actor TEXT NOT NULL, "
            "hash TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (log TEXT NOT NULL, "
            "tree_size INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (log, tree_size))",
        ]

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"PRAGMA table_info({ENTRIES})")
            present = {row["name"] for row in c.fetchall()}
            for name in ADDED_COLUMNS.keys() - present:  # a log from before those columns
                definition = column_definition(name, _SQLITE_TYPES)
                c.execute(f"ALTER TABLE {ENTRIES} ADD COLUMN {definition}")

    # -- reading ----------------------------------------------------------------------

    def _entry(self, row: Any, tolerant: bool = False) -> Entry:
        originator_id = self.convert_originator_id(row["originator_id"])
        return entry_from_row(self.mapper, row, originator_id, tolerant)

    def _query(
        self, c: SQLiteCursor, where: str, params: Sequence[Any], tolerant: bool = False
    ) -> list[Entry]:
        c.execute(self.select_entries + where, params)
        return [self._entry(row, tolerant) for row in c.fetchall()]

    def read(self, after: int, limit: int, *, tolerant: bool = False) -> list[Entry]:
        with self.datastore.transaction(commit=False) as c:
            return self._query(
                c, "WHERE s.rowid > ? ORDER BY s.rowid LIMIT ?", (after, limit), tolerant
            )

    def read_stored(self, after: int, limit: int) -> list[StoredEntry]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT {_STORED_COLUMNS} FROM {self.events_table_name} s "
                f"JOIN {ENTRIES} e ON e.position = s.rowid "
                "WHERE s.rowid > ? ORDER BY s.rowid LIMIT ?",
                (after, limit),
            )
            rows = c.fetchall()
        return [
            stored_entry_from_row(
                self.mapper, row, self.convert_originator_id(row["originator_id"])
            )
            for row in rows
        ]

    def _find_events(self, c: SQLiteCursor, event_ids: Sequence[str]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        ids = list(dict.fromkeys(event_ids))
        for start in range(0, len(ids), 500):  # SQLite caps bound parameters per statement
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for entry in self._query(c, f"WHERE e.event_id IN ({marks})", chunk):
                found[entry.event["event_id"]] = entry
        return found

    def find_events(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        with self.datastore.transaction(commit=False) as c:
            return self._find_events(c, event_ids)

    def history(self, event_id: str) -> list[Entry]:
        with self.datastore.transaction(commit=False) as c:
            return self._query(c, "WHERE e.refers_to = ? ORDER BY s.rowid", (event_id,))

    def amendments(self, event_id: str) -> list[Entry]:
        with self.datastore.transaction(commit=False) as c:
            return self._amendments(c, event_id)

    def _amendments(self, c: SQLiteCursor, event_id: str) -> list[Entry]:
        return self._query(
            c,
            f"WHERE e.refers_to = ? OR (e.type = 'retraction' AND e.refers_to IN "
            f"(SELECT event_id FROM {ENTRIES} WHERE refers_to = ? AND type = 'correction')) "
            "ORDER BY s.rowid",
            (event_id, event_id),
        )

    def max_position(self) -> int:
        return self.max_notification_id() or 0

    def position_at(self, recorded_at: str) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT MAX(position) FROM {ENTRIES} WHERE recorded_at <= ?", (recorded_at,))
            return int(c.fetchone()[0] or 0)

    # -- the tree and its checkpoints -------------------------------------------------------

    def tree_size(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return _tree_size(c)

    @contextmanager
    def reading_tree(self) -> Iterator[GetNode]:
        with self.datastore.transaction(commit=False) as c:
            yield partial(_get_node, c)

    def iter_tree_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        after = (-1, -1)
        while True:
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT level, idx, hash FROM {TREE} WHERE (level, idx) > (?, ?) "
                    "ORDER BY level, idx LIMIT 10000",
                    after,
                )
                rows = [(row[0], row[1], bytes(row[2])) for row in c.fetchall()]
            if not rows:
                return
            yield from rows
            after = rows[-1][:2]

    def insert_checkpoint(self, log: str, tree_size: int, body: str) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"INSERT OR IGNORE INTO {CHECKPOINTS} VALUES (?,?,?)", (log, tree_size, body))
            return bool(c.sqlite_cursor.rowcount)

    def latest_checkpoint(self, log: str) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT body FROM {CHECKPOINTS} WHERE log = ? ORDER BY tree_size DESC LIMIT 1",
                (log,),
            )
            row = c.fetchone()
        return None if row is None else str(row[0])

    # -- appending ----------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[_SQLiteWriter]:
        with self.datastore.transaction(commit=True) as c:
            # A write that changes nothing still takes SQLite's write lock, now rather than
            # at the first insert, so what we read next cannot change until we commit.
            c.execute(f"DELETE FROM {ENTRIES} WHERE 0")
            writer = _SQLiteWriter(self, c)
            yield writer
            writer.flush()
        self._frontier = writer.frontier  # committed: the next append needs no read of it

    # -- keys ------------------------------------------------------------------------------

    def insert_key(
        self, key_id: str, name: str, role: str, secret_hash: str, created_at: str, actor: str
    ) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {KEYS} VALUES (?,?,?,?,?,NULL)",
                (key_id, name, role, secret_hash, created_at),
            )
            _log_key(c, created_at, "create", key_id, name, role, secret_hash, actor)

    def find_key(self, key_id: str) -> tuple[str, str, str, str | None] | None:
        # Every request asks this: one statement needs no BEGIN and ROLLBACK around it.
        with self.datastore.get_connection(commit=False) as conn, conn.cursor() as c:
            c.execute(
                f"SELECT name, role, secret_hash, revoked_at FROM {KEYS} WHERE key_id=?", (key_id,)
            )
            row = c.fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    async def find_key_async(self, key_id: str) -> tuple[str, str, str, str | None] | None:
        # A local file: the read takes microseconds, less than handing it to a thread.
        return self.find_key(key_id)

    async def max_position_async(self) -> int:
        return self.max_position()  # a local file: microseconds, as for find_key_async

    async def aclose(self) -> None:
        pass

    def list_keys(self) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT key_id, name, role, created_at, revoked_at FROM {KEYS} ORDER BY created_at"
            )
            return [dict(row) for row in c.fetchall()]

    def revoke_key(self, key_id: str, revoked_at: str, actor: str) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {KEYS} SET revoked_at=? WHERE key_id=? AND revoked_at IS NULL "
                "RETURNING name, role, secret_hash",
                (revoked_at, key_id),
            )
            row = c.fetchone()
            if row is None:
                return False
            _log_key(c, revoked_at, "revoke", key_id, *row, actor)
            return True

    def log_unlogged_keys(self, actor: str) -> int:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"SELECT * FROM {KEYS} k WHERE NOT EXISTS "
                f"(SELECT 1 FROM {KEY_LOG} l WHERE l.key_id = k.key_id) ORDER BY created_at"
            )
            keys = c.fetchall()
            for key in keys:
                fields = (key["key_id"], key["name"], key["role"], key["secret_hash"])
                _log_key(c, key["created_at"], "create", *fields, actor)
                if key["revoked_at"] is not None:
                    _log_key(c, key["revoked_at"], "revoke", *fields, actor)
            return len(keys)

    def key_log(self) -> list[KeyRecord]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {KEY_LOG} ORDER BY seq")
            return [KeyRecord(*row) for row in c.fetchall()]

    def close(self) -> None:
        self.datastore.close()


def _tree_size(c: SQLiteCursor) -> int:
    c.execute(f"SELECT MAX(idx) FROM {TREE} WHERE level = 0")
    largest = c.fetchone()[0]
    return 0 if largest is None else int(largest) + 1


def _get_node(c: SQLiteCursor, level: int, index: int) -> bytes:
    c.execute(f"SELECT hash FROM {TREE} WHERE level = ? AND idx = ?", (level, index))
    row = c.fetchone()
    if row is None:
        raise KeyError(f"no node ({level}, {index}) in the stored tree")
    return bytes(row[0])


def _log_key(c: SQLiteCursor, *fields: str) -> None:
    """Append a record to the keys' access log, inside the key change's transaction."""
    c.execute(f"SELECT * FROM {KEY_LOG} ORDER BY seq DESC LIMIT 1")
    last = c.fetchone()
    record = key_record(None if last is None else KeyRecord(*last), *fields)
    c.execute(f"INSERT INTO {KEY_LOG} VALUES (?,?,?,?,?,?,?,?,?)", record)


class _SQLiteWriter(ChainWriter):
    """The open append transaction of :meth:`SQLiteLogRecorder.writing`."""

    def __init__(self, recorder: SQLiteLogRecorder, cursor: SQLiteCursor):
        self.recorder = recorder
        self.c = cursor
        cursor.execute(
            f"SELECT position, recorded_at, hash FROM {ENTRIES} ORDER BY position DESC LIMIT 1"
        )
        row = cursor.fetchone()
        last = (row[0], row[1], row[2]) if row else None
        super().__init__(last, _tree_size(cursor), recorder._frontier)

    def _find_stored(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        return self.recorder._find_events(self.c, event_ids)

    def _amendments_stored(self, event_id: str) -> list[Entry]:
        return self.recorder._amendments(self.c, event_id)

    def _live_stored(self, conflict: str, ceasefire_id: str, kind: str) -> list[str]:
        self.c.execute(
            f"SELECT a.event_id FROM {ENTRIES} a WHERE a.conflict=? AND a.ceasefire_id=? "
            f"AND a.type=? AND NOT EXISTS (SELECT 1 FROM {ENTRIES} r "
            "WHERE r.refers_to = a.event_id AND r.type = 'retraction')",
            (conflict, ceasefire_id, kind),
        )
        return [row[0] for row in self.c.fetchall()]

    def _insert(self, linked: list[Linked]) -> None:
        events_rows = [
            (
                item.position,
                item.new.stored_event.originator_id.hex,  # type: ignore[union-attr]
                1,
                item.new.stored_event.topic,
                item.new.stored_event.state,
            )
            for item in linked
        ]
        entry_rows = [item.entries_row() for item in linked]
        self.c.executemany(
            f"INSERT INTO {self.recorder.events_table_name} "
            "(rowid, originator_id, originator_version, topic, state) VALUES (?,?,?,?,?)",
            events_rows,
        )
        self.c.executemany(_INSERT_ENTRIES, entry_rows)

    def _hashes_after(self, after: int, limit: int) -> list[str]:
        self.c.execute(
            f"SELECT hash FROM {ENTRIES} WHERE position > ? ORDER BY position LIMIT ?",
            (after, limit),
        )
        return [row[0] for row in self.c.fetchall()]

    def _get_node(self, level: int, index: int) -> bytes:
        return _get_node(self.c, level, index)

    def _insert_nodes(self, nodes: list[tuple[int, int, bytes]]) -> None:
        self.c.executemany(f"INSERT INTO {TREE} VALUES (?,?,?)", nodes)
