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
from typing import Any, cast

import psycopg
from eventsourcing.persistence import Mapper, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import AsyncConnection, Cursor
from psycopg.rows import DictRow, dict_row
from psycopg.sql import SQL, Composed, Identifier

from truceline.application.log import (
    ENTRIES,
    KEYS,
    ChainWriter,
    EntriesRow,
    Entry,
    Linked,
    PagedReads,
    column_types,
    entries_columns,
    entry_from_row,
)

_POSTGRES_TYPES = {int: "bigint", str: "text"}
# The entries rows as one array per column, unnested back into rows on the server.
_INSERT_ENTRIES = (
    f"INSERT INTO {{}} ({', '.join(EntriesRow._fields)}) SELECT * FROM unnest("
    + ", ".join(
        f"%s::{_POSTGRES_TYPES[kind]}[]" for kind, _ in column_types(EntriesRow).values()
    )
    + ")"
)


class PostgresLogRecorder(PagedReads, PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder, extended with the log's own tables."""

    mapper: Mapper[uuid.UUID]  # set by the application before use

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        self.entries = Composed([schema, SQL("."), Identifier(ENTRIES)])
        self.keys = Composed([schema, SQL("."), Identifier(KEYS)])
        self.events = Composed([schema, SQL("."), Identifier(self.events_table_name)])
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
        ):
            self.sql_create_statements.append(
                SQL(statement).format(entries=self.entries, keys=self.keys)
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

    # -- appending ----------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[_PostgresWriter]:
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            self._notify_channel(curs)  # delivered at commit, to eventsourcing's LISTENers
            writer = _PostgresWriter(self, curs)
            yield writer
            writer.flush()

    # -- keys ------------------------------------------------------------------------------

    def insert_key(
        self, key_id: str, name: str, role: str, secret_hash: str, created_at: str
    ) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("INSERT INTO {} VALUES (%s,%s,%s,%s,%s,NULL)").format(self.keys),
                (key_id, name, role, secret_hash, created_at),
            )

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
        loop = asyncio.get_running_loop()
        if self._async_loop is not loop:
            # Async connections belong to one event loop: a server has one, but an app
            # driven from another loop (as some tests do) gets its own connection there.
            self._async_loop, self._async_lock, self._async_conn = loop, asyncio.Lock(), None
        async with self._async_lock:
            try:
                row = await self._lookup_key(key_id)
            except psycopg.OperationalError:
                # A server restart breaks the connection: once more, on a new one.
                try:
                    row = await self._lookup_key(key_id)
                except psycopg.OperationalError as error:
                    raise OperationalError(error) from error  # answered 503
        return None if row is None else _key_row(row)

    async def _lookup_key(self, key_id: str) -> DictRow | None:
        if self._async_conn is None or self._async_conn.broken:
            # The same server, database and user as eventsourcing's own pool.
            kwargs = cast(dict[str, Any], self.datastore.pool.kwargs)
            self._async_conn = await AsyncConnection.connect(
                **{**kwargs, "autocommit": True, "row_factory": dict_row}
            )
        cursor = await self._async_conn.execute(self._select_key, (key_id,))
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

    def revoke_key(self, key_id: str, revoked_at: str) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("UPDATE {} SET revoked_at=%s WHERE key_id=%s AND revoked_at IS NULL").format(
                    self.keys
                ),
                (revoked_at, key_id),
            )
            return bool(curs.rowcount)

    def close(self) -> None:
        self.datastore.close()


def _key_row(row: DictRow) -> tuple[str, str, str, str | None]:
    return row["name"], row["role"], row["secret_hash"], row["revoked_at"]


class _PostgresWriter(ChainWriter):
    """The open append transaction of :meth:`PostgresLogRecorder.writing`."""

    def __init__(self, recorder: PostgresLogRecorder, curs: Cursor[DictRow]):
        self.recorder = recorder
        self.curs = curs
        curs.execute(
            SQL("SELECT position, recorded_at, hash FROM {} ORDER BY position DESC LIMIT 1").format(
                recorder.entries
            )
        )
        row = curs.fetchone()
        super().__init__((row["position"], row["recorded_at"], row["hash"]) if row else None)

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
