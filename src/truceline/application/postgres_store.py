"""The log on PostgreSQL: eventsourcing's application recorder plus our own tables.

eventsourcing numbers notifications with a ``bigserial``, which leaves a gap whenever a
transaction that took a number rolls back. The contract promises positions 1, 2, 3, ...
with no gaps, so appends set ``notification_id`` themselves, under the same
``LOCK TABLE ... IN EXCLUSIVE MODE`` that eventsourcing takes to keep commit order equal
to id order. The lock also serialises the reference checks and the hash chain across
every process that shares the database. ``NOTIFY`` is sent as eventsourcing does, so
its subscriptions (LISTEN) wake up on our appends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, cast

import psycopg
from eventsourcing.persistence import Mapper, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import AsyncConnection, Cursor
from psycopg.rows import DictRow, dict_row
from psycopg.sql import SQL, Composed, Identifier

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
    column_types,
    entries_columns,
    entry_from_row,
    key_record,
    stored_entry_from_row,
)
from truceline.domain.merkle import GetNode

_POSTGRES_TYPES = {int: "bigint", str: "text"}
# The entries rows as one array per column, unnested back into rows on the server.
_INSERT_ENTRIES = (
    f"INSERT INTO {{}} ({', '.join(EntriesRow._fields)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{_POSTGRES_TYPES[kind]}[]" for kind, _ in column_types(EntriesRow).values())
    + ")"
)


class PostgresLogRecorder(PagedReads, PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder, extended with the log's own tables."""

    mapper: Mapper[uuid.UUID]  # set by the application before use

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self._frontier: Frontier | None = None
        schema = Identifier(self.datastore.schema)
        self.entries = Composed([schema, SQL("."), Identifier(ENTRIES)])
        self.keys = Composed([schema, SQL("."), Identifier(KEYS)])
        self.events = Composed([schema, SQL("."), Identifier(self.events_table_name)])
        self.tree = Composed([schema, SQL("."), Identifier(TREE)])
        self.key_log_table = Composed([schema, SQL("."), Identifier(KEY_LOG)])
        self.checkpoints = Composed([schema, SQL("."), Identifier(CHECKPOINTS)])
        self.select_stored = SQL(
            "SELECT s.topic, s.state, s.originator_id, s.originator_version, "
            + ", ".join(f"e.{name}" for name in EntriesRow._fields)
            + " FROM {events} s JOIN {entries} e ON e.position = s.notification_id "
            "WHERE s.notification_id > %s ORDER BY s.notification_id LIMIT %s"
        ).format(events=self.events, entries=self.entries)
        self.select_node = SQL("SELECT hash FROM {} WHERE level = %s AND idx = %s").format(
            self.tree
        )
        self.select_entries = SQL(
            "SELECT s.notification_id AS position, s.originator_id, s.originator_version, "
            "s.topic, s.state, e.recorded_at, e.recorded_by, e.hash "
            "FROM {events} s JOIN {entries} e ON e.position = s.notification_id "
        ).format(events=self.events, entries=self.entries)
        self._select_key = SQL(
            "SELECT name, role, secret_hash, revoked_at FROM {} WHERE key_id=%s"
        ).format(self.keys)
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._async_lock = asyncio.Lock()
        self._async_conn: AsyncConnection[DictRow] | None = None
        for statement in (
            "CREATE TABLE IF NOT EXISTS {entries} (" + entries_columns(_POSTGRES_TYPES) + ")",
            "CREATE INDEX IF NOT EXISTS truceline_entries_ceasefire "
            "ON {entries} (conflict, ceasefire_id, type) WHERE ceasefire_id IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS truceline_entries_refers_to "
            "ON {entries} (refers_to) WHERE refers_to IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS truceline_entries_recorded_at ON {entries} (recorded_at)",
            "CREATE TABLE IF NOT EXISTS {keys} ("
            "key_id text PRIMARY KEY, name text NOT NULL, role text NOT NULL, "
            "secret_hash text NOT NULL, created_at text NOT NULL, revoked_at text)",
            *(  # a log from before those columns
                "ALTER TABLE {entries} ADD COLUMN IF NOT EXISTS "
                + column_definition(name, _POSTGRES_TYPES)
                for name in ADDED_COLUMNS
            ),
            "CREATE TABLE IF NOT EXISTS {tree} (level integer NOT NULL, idx bigint NOT NULL, "
            "hash bytea NOT NULL, PRIMARY KEY (level, idx))",
            "CREATE TABLE IF NOT EXISTS {key_log} (seq bigint PRIMARY KEY, at text NOT NULL, "
            "action text NOT NULL, key_id text NOT NULL, name text NOT NULL, "
            "role text NOT NULL, secret_hash text NOT NULL, actor text NOT NULL, "
            "hash text NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {checkpoints} (log text NOT NULL, "
            "tree_size bigint NOT NULL, body text NOT NULL, PRIMARY KEY (log, tree_size))",
        ):
            self.sql_create_statements.append(
                SQL(statement).format(
                    entries=self.entries,
                    keys=self.keys,
                    tree=self.tree,
                    key_log=self.key_log_table,
                    checkpoints=self.checkpoints,
                )
            )

    # -- reading ----------------------------------------------------------------------

    def _entry(self, row: DictRow, tolerant: bool = False) -> Entry:
        return entry_from_row(self.mapper, row, row["originator_id"], tolerant)

    def _query(
        self, curs: Cursor[DictRow], where: str, params: Sequence[Any], tolerant: bool = False
    ) -> list[Entry]:
        curs.execute(self.select_entries + SQL(where), params)
        return [self._entry(row, tolerant) for row in curs.fetchall()]

    def read(self, after: int, limit: int, *, tolerant: bool = False) -> list[Entry]:
        with self.datastore.transaction(commit=False) as curs:
            return self._query(
                curs,
                "WHERE s.notification_id > %s ORDER BY s.notification_id LIMIT %s",
                (after, limit),
                tolerant,
            )

    def read_stored(self, after: int, limit: int) -> list[StoredEntry]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.select_stored, (after, limit))
            rows = curs.fetchall()
        return [stored_entry_from_row(self.mapper, row, row["originator_id"]) for row in rows]

    def _find_events(self, curs: Cursor[DictRow], event_ids: Sequence[str]) -> dict[str, Entry]:
        if not event_ids:
            return {}
        entries = self._query(curs, "WHERE e.event_id = ANY(%s)", (list(set(event_ids)),))
        return {entry.event["event_id"]: entry for entry in entries}

    def find_events(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        with self.datastore.transaction(commit=False) as curs:
            return self._find_events(curs, event_ids)

    def history(self, event_id: str) -> list[Entry]:
        with self.datastore.transaction(commit=False) as curs:
            return self._query(
                curs, "WHERE e.refers_to = %s ORDER BY s.notification_id", (event_id,)
            )

    def amendments(self, event_id: str) -> list[Entry]:
        with self.datastore.transaction(commit=False) as curs:
            return self._amendments(curs, event_id)

    def _amendments(self, curs: Cursor[DictRow], event_id: str) -> list[Entry]:
        where = SQL(
            "WHERE e.refers_to = %s OR (e.type = 'retraction' AND e.refers_to IN "
            "(SELECT event_id FROM {} WHERE refers_to = %s AND type = 'correction')) "
            "ORDER BY s.notification_id"
        ).format(self.entries)
        curs.execute(self.select_entries + where, (event_id, event_id))
        return [self._entry(row) for row in curs.fetchall()]

    def max_position(self) -> int:
        return self.max_notification_id() or 0

    def position_at(self, recorded_at: str) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT MAX(position) AS p FROM {} WHERE recorded_at <= %s").format(
                    self.entries
                ),
                (recorded_at,),
            )
            row = curs.fetchone()
            return int(row["p"] or 0) if row else 0

    # -- the tree and its checkpoints -------------------------------------------------------

    def tree_size(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            return self._tree_size(curs)

    def _tree_size(self, curs: Cursor[DictRow]) -> int:
        curs.execute(SQL("SELECT MAX(idx) AS largest FROM {} WHERE level = 0").format(self.tree))
        row = curs.fetchone()
        return 0 if row is None or row["largest"] is None else int(row["largest"]) + 1

    @contextmanager
    def reading_tree(self) -> Iterator[GetNode]:
        with self.datastore.transaction(commit=False) as curs:
            yield partial(self._get_node, curs)

    def _get_node(self, curs: Cursor[DictRow], level: int, index: int) -> bytes:
        curs.execute(self.select_node, (level, index))
        row = curs.fetchone()
        if row is None:
            raise KeyError(f"no node ({level}, {index}) in the stored tree")
        return bytes(row["hash"])

    def iter_tree_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        after = (-1, -1)
        query = SQL(
            "SELECT level, idx, hash FROM {} WHERE (level, idx) > (%s, %s) "
            "ORDER BY level, idx LIMIT 10000"
        ).format(self.tree)
        while True:
            with self.datastore.transaction(commit=False) as curs:
                curs.execute(query, after)
                rows = [(r["level"], r["idx"], bytes(r["hash"])) for r in curs.fetchall()]
            if not rows:
                return
            yield from rows
            after = rows[-1][:2]

    def insert_checkpoint(self, log: str, tree_size: int, body: str) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("INSERT INTO {} VALUES (%s, %s, %s) ON CONFLICT DO NOTHING").format(
                    self.checkpoints
                ),
                (log, tree_size, body),
            )
            return bool(curs.rowcount)

    def latest_checkpoint(self, log: str) -> str | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT body FROM {} WHERE log = %s ORDER BY tree_size DESC LIMIT 1").format(
                    self.checkpoints
                ),
                (log,),
            )
            row = curs.fetchone()
        return None if row is None else str(row["body"])

    # -- appending ----------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[_PostgresWriter]:
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            self._notify_channel(curs)  # delivered at commit, to eventsourcing's LISTENers
            writer = _PostgresWriter(self, curs)
            yield writer
            writer.flush()
        self._frontier = writer.frontier  # committed: the next append needs no read of it

    # -- keys ------------------------------------------------------------------------------

    def insert_key(
        self, key_id: str, name: str, role: str, secret_hash: str, created_at: str, actor: str
    ) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("INSERT INTO {} VALUES (%s,%s,%s,%s,%s,NULL)").format(self.keys),
                (key_id, name, role, secret_hash, created_at),
            )
            self._log_key(curs, created_at, "create", key_id, name, role, secret_hash, actor)

    def find_key(self, key_id: str) -> tuple[str, str, str, str | None] | None:
        # One statement on an autocommit connection is one round trip, where a
        # transaction (BEGIN, SELECT, ROLLBACK) would be three.
        with self.datastore.cursor() as curs:
            curs.execute(self._select_key, (key_id,))
            row = curs.fetchone()
        return None if row is None else _key_row(row)

    async def find_key_async(self, key_id: str) -> tuple[str, str, str, str | None] | None:
        # Every request asks this. On the event loop a blocking round trip stalls every
        # other request (measured: over half the loop's time under load), and handing it
        # to a thread costs more than the query; an async connection does neither. One
        # connection, one lookup at a time: a lookup is a short round trip.
        row = await self._fetch_one_async(self._select_key, (key_id,))
        return None if row is None else _key_row(row)

    async def max_position_async(self) -> int:
        # /v1/health asks this, and must neither block the loop nor wait for a thread.
        row = await self._fetch_one_async(
            SQL("SELECT MAX(position) AS p FROM {}").format(self.entries), ()
        )
        return int(row["p"] or 0) if row else 0

    async def _fetch_one_async(
        self, statement: SQL | Composed, params: tuple[Any, ...]
    ) -> DictRow | None:
        loop = asyncio.get_running_loop()
        if self._async_loop is not loop:
            # Async connections belong to one event loop: a server has one, but an app
            # driven from another loop (as some tests do) gets its own connection there.
            self._async_loop, self._async_lock, self._async_conn = loop, asyncio.Lock(), None
        async with self._async_lock:
            try:
                return await self._execute_async(statement, params)
            except psycopg.OperationalError:
                # A server restart breaks the connection: once more, on a new one.
                try:
                    return await self._execute_async(statement, params)
                except psycopg.OperationalError as error:
                    raise OperationalError(error) from error  # answered 503

    async def _execute_async(
        self, statement: SQL | Composed, params: tuple[Any, ...]
    ) -> DictRow | None:
        if self._async_conn is None or self._async_conn.broken:
            # The same server, database and user as eventsourcing's own pool.
            kwargs = cast(dict[str, Any], self.datastore.pool.kwargs)
            self._async_conn = await AsyncConnection.connect(
                **{**kwargs, "autocommit": True, "row_factory": dict_row}
            )
        cursor = await self._async_conn.execute(statement, params)
        return await cursor.fetchone()

    async def aclose(self) -> None:
        if self._async_conn is not None and self._async_loop is asyncio.get_running_loop():
            await self._async_conn.close()
            self._async_conn = None

    def list_keys(self) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT key_id, name, role, created_at, revoked_at FROM {} ORDER BY created_at"
                ).format(self.keys)
            )
            return [dict(row) for row in curs.fetchall()]

    def revoke_key(self, key_id: str, revoked_at: str, actor: str) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "UPDATE {} SET revoked_at=%s WHERE key_id=%s AND revoked_at IS NULL "
                    "RETURNING name, role, secret_hash"
                ).format(self.keys),
                (revoked_at, key_id),
            )
            row = curs.fetchone()
            if row is None:
                return False
            self._log_key(
                curs,
                revoked_at,
                "revoke",
                key_id,
                row["name"],
                row["role"],
                row["secret_hash"],
                actor,
            )
            return True

    def log_unlogged_keys(self, actor: str) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "SELECT * FROM {keys} k WHERE NOT EXISTS "
                    "(SELECT 1 FROM {key_log} l WHERE l.key_id = k.key_id) ORDER BY created_at"
                ).format(keys=self.keys, key_log=self.key_log_table)
            )
            keys = curs.fetchall()
            for key in keys:
                fields = (key["key_id"], key["name"], key["role"], key["secret_hash"])
                self._log_key(curs, key["created_at"], "create", *fields, actor)
                if key["revoked_at"] is not None:
                    self._log_key(curs, key["revoked_at"], "revoke", *fields, actor)
            return len(keys)

    def key_log(self) -> list[KeyRecord]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT * FROM {} ORDER BY seq").format(self.key_log_table))
            return [KeyRecord(**row) for row in curs.fetchall()]

    def _log_key(self, curs: Cursor[DictRow], *fields: str) -> None:
        """Append a record to the keys' access log, inside the key change's transaction
        (the table lock orders concurrent changes)."""
        curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(self.key_log_table))
        curs.execute(SQL("SELECT * FROM {} ORDER BY seq DESC LIMIT 1").format(self.key_log_table))
        last = curs.fetchone()
        record = key_record(None if last is None else KeyRecord(**last), *fields)
        curs.execute(
            SQL("INSERT INTO {} VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)").format(self.key_log_table),
            record,
        )

    def close(self) -> None:
        self.datastore.close()


def _key_row(row: DictRow) -> tuple[str, str, str, str | None]:
    return row["name"], row["role"], row["secret_hash"], row["revoked_at"]


class _PostgresWriter(ChainWriter):
    """The open append transaction of :meth:`PostgresLogRecorder.writing`."""

    def __init__(self, recorder: PostgresLogRecorder, curs: Cursor[DictRow]):
        self.recorder = recorder
        self.curs = curs
        # The last entry and the tree's size in one round trip.
        curs.execute(
            SQL(
                "SELECT position, recorded_at, hash, "
                "(SELECT MAX(idx) FROM {tree} WHERE level = 0) AS largest "
                "FROM {entries} ORDER BY position DESC LIMIT 1"
            ).format(entries=recorder.entries, tree=recorder.tree)
        )
        row = curs.fetchone()
        if row is None:
            last, tree_size = None, recorder._tree_size(curs)
        else:
            last = (row["position"], row["recorded_at"], row["hash"])
            tree_size = 0 if row["largest"] is None else int(row["largest"]) + 1
        super().__init__(last, tree_size, recorder._frontier)

    def _find_stored(self, event_ids: Sequence[str]) -> dict[str, Entry]:
        return self.recorder._find_events(self.curs, event_ids)

    def _amendments_stored(self, event_id: str) -> list[Entry]:
        return self.recorder._amendments(self.curs, event_id)

    def _live_stored(self, conflict: str, ceasefire_id: str, kind: str) -> list[str]:
        self.curs.execute(
            SQL(
                "SELECT a.event_id FROM {entries} a WHERE a.conflict=%s AND a.ceasefire_id=%s "
                "AND a.type=%s AND NOT EXISTS (SELECT 1 FROM {entries} r "
                "WHERE r.refers_to = a.event_id AND r.type = 'retraction')"
            ).format(entries=self.recorder.entries),
            (conflict, ceasefire_id, kind),
        )
        return [row["event_id"] for row in self.curs.fetchall()]

    def _insert(self, linked: list[Linked]) -> None:
        stored = [item.new.stored_event for item in linked]
        positions = [item.position for item in linked]
        # One statement per table whatever the number of events: unnest() turns the
        # column arrays back into rows on the server.
        self.curs.execute(
            SQL(
                "INSERT INTO {} (notification_id, originator_id, originator_version, topic, state) "
                "SELECT p, o, 1, t, s FROM unnest(%s::bigint[], %s::uuid[], %s::text[], "
                "%s::bytea[]) AS u(p, o, t, s)"
            ).format(self.recorder.events),
            (
                positions,
                [e.originator_id for e in stored],
                [e.topic for e in stored],
                [e.state for e in stored],
            ),
        )
        columns = [list(column) for column in zip(*(i.entries_row() for i in linked), strict=True)]
        self.curs.execute(SQL(_INSERT_ENTRIES).format(self.recorder.entries), columns)

    def _hashes_after(self, after: int, limit: int) -> list[str]:
        self.curs.execute(
            SQL("SELECT hash FROM {} WHERE position > %s ORDER BY position LIMIT %s").format(
                self.recorder.entries
            ),
            (after, limit),
        )
        return [row["hash"] for row in self.curs.fetchall()]

    def _get_node(self, level: int, index: int) -> bytes:
        return self.recorder._get_node(self.curs, level, index)

    def _insert_nodes(self, nodes: list[tuple[int, int, bytes]]) -> None:
        # One statement for a whole flush, as for the entries.
        levels, indexes, hashes = (list(column) for column in zip(*nodes, strict=True))
        self.curs.execute(
            SQL(
                "INSERT INTO {} (level, idx, hash) "
                "SELECT * FROM unnest(%s::integer[], %s::bigint[], %s::bytea[])"
            ).format(self.recorder.tree),
            (levels, indexes, hashes),
        )
