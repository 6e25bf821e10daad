"""The contract every :class:`~truceline.application.log.LogStore` keeps, written once.

:class:`LogStoreContract` holds the tests; it is not collected itself. Each store gets a
subclass in ``test_log_store.py`` that says only how to get an empty database of that
store. To check a third store:

1. teach ``database_url`` in ``tests/conftest.py`` to give an empty database of it
   (a new name in ``STORES``);
2. subclass :class:`LogStoreContract` as ``Test<Store>LogStore``, decorated with
   ``@pytest.mark.parametrize("database_url", ["<that name>"], indirect=True)``;
3. define the ``empty_database_url`` fixture in it (return ``database_url``).

A ``Test*`` subclass that leaves ``empty_database_url`` abstract is refused at import,
rather than silently collected as nothing. The store is opened the way the service opens
it, through ``Truceline(settings)``, and is never mocked; only the clock of
``recorded_at`` is set by hand in the tests that ask for the ``clock`` fixture.

The helpers here (event builders, :class:`Log`, :func:`assert_chained`) are for any test
of the store layer to share.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

import truceline.application.log
from truceline.application.app import Truceline
from truceline.application.log import (
    GENESIS_HASH,
    Entry,
    LogStore,
    NewEntry,
    Receipt,
    StoredEntry,
    content_hash,
    entry_hash_v2,
    fixed_width_utc,
    indexed_columns,
)
from truceline.application.recorded import to_stored_event
from truceline.domain import merkle
from truceline.domain.times import parse_utc
from truceline.domain.validation import NormalizedEvent, parse_event
from truceline.settings import Settings

CONFLICT = "contract-front-2024"
OTHER_CONFLICT = "contract-rear-2024"
CEASEFIRE = "contract-truce"
OCCURRED_AT = "2024-03-01T06:00:00Z"
RECORDED_BY = "key_contract00"
FIXED_WIDTH_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


# -- events ---------------------------------------------------------------------------------


def event(kind: str, **fields: Any) -> NormalizedEvent:
    """A normalised event of type ``kind`` with a fresh ``event_id``; ``fields`` are the
    type's own (and may override ``conflict``)."""
    return parse_event(
        {
            "type": kind,
            "event_id": str(uuid.uuid4()),
            "conflict": CONFLICT,
            "occurred_at": OCCURRED_AT,
            **fields,
        }
    )


def statement(text: str = "The line is quiet.", **fields: Any) -> NormalizedEvent:
    return event("statement", speaker="a spokesperson", text=text, **fields)


def agreed(ceasefire_id: str = CEASEFIRE, **fields: Any) -> NormalizedEvent:
    return event(
        "ceasefire_agreed",
        ceasefire_id=ceasefire_id,
        parties=["North", "South"],
        effective_at="2024-03-02T00:00:00Z",
        **fields,
    )


def ended(ceasefire_id: str = CEASEFIRE) -> NormalizedEvent:
    return event("ceasefire_ended", ceasefire_id=ceasefire_id, reason="collapsed")


def correction(of: NormalizedEvent) -> NormalizedEvent:
    return event(
        "correction", corrects_event_id=of["event_id"], changes={"summary": "a later report"}
    )


def retraction(of: NormalizedEvent) -> NormalizedEvent:
    return event("retraction", retracts_event_id=of["event_id"], reason="the source withdrew it")


def report_about(of: NormalizedEvent) -> NormalizedEvent:
    """A casualty report naming ``of``: a reference, but neither correction nor retraction."""
    return event("casualty_report", killed=3, party="North", about_event_id=of["event_id"])


def ids(items: Iterable[Entry | NormalizedEvent | Receipt]) -> list[str]:
    """The event ids of entries, events or receipts, in their order."""
    return [_event_id(item) for item in items]


def _event_id(item: Entry | NormalizedEvent | Receipt) -> str:
    if isinstance(item, Entry):
        return str(item.event["event_id"])
    if isinstance(item, Receipt):
        return item.event_id
    return str(item["event_id"])


def stored_hash(previous: str, entry: StoredEntry) -> str:
    """An entry's hash under scheme 2: over the hash before it, its stored bytes' digest
    and topic, and the columns its event implies."""
    row = entry.row
    digest = content_hash(entry.state)
    columns = indexed_columns(entry.event)
    return entry_hash_v2(
        previous, row.position, row.recorded_at, row.recorded_by, entry.topic, digest, columns
    )


def assert_chained(log: Log) -> None:
    """Each entry's hash covers its stored content and the hash before it, from genesis."""
    previous = GENESIS_HASH
    for e in log.store.iter_stored():
        assert (e.row.hash_version, e.row.content_hash) == (2, content_hash(e.state))
        assert e.row.hash == stored_hash(previous, e)
        previous = e.row.hash


# -- the store under test ----------------------------------------------------------------------


class Log:
    """A store opened as the service opens it, with a way to build and append entries."""

    def __init__(self, app: Truceline):
        self.app = app
        self.store: LogStore = app.store

    def new(self, event: NormalizedEvent, recorded_by: str = RECORDED_BY) -> NewEntry:
        return NewEntry(to_stored_event(self.app.mapper, event), event, recorded_by)

    def append(self, *events: NormalizedEvent, recorded_by: str = RECORDED_BY) -> list[Receipt]:
        """Append the events in one transaction of their own."""
        with self.store.writing() as writer:
            return writer.append([self.new(e, recorded_by) for e in events])

    def entries(self) -> list[Entry]:
        return list(self.store.iter_entries())


class Clock:
    """The time ``recorded_at`` is taken from, while a test asks for the ``clock``."""

    def __init__(self, now: datetime):
        self.now = now

    def set(self, text: str) -> None:
        self.now = parse_utc(text)


def run_async(store: LogStore, *key_ids: str) -> list[tuple[str, str, str, str | None] | None]:
    """``find_key_async`` of each key id in one event loop, closed in that loop after."""

    async def lookups() -> list[tuple[str, str, str, str | None] | None]:
        try:
            return [await store.find_key_async(key_id) for key_id in key_ids]
        finally:
            await store.aclose()

    return asyncio.run(lookups())


class LogStoreContract(ABC):
    """What any LogStore must do. Subclasses define ``empty_database_url``."""

    @pytest.fixture
    @abstractmethod
    def empty_database_url(self) -> str:
        """The URL of an empty database of the store under test, for this test alone."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fixture = cls.empty_database_url
        if cls.__name__.startswith("Test") and getattr(fixture, "__isabstractmethod__", False):
            raise TypeError(f"{cls.__name__} must define the empty_database_url fixture")

    @pytest.fixture
    def open_log(self, empty_database_url: str, tmp_path: Path) -> Iterator[Callable[[], Log]]:
        """Open the test's database (again); every store opened is closed after the test."""
        apps: list[Truceline] = []

        def open_log() -> Log:
            settings = Settings(
                database_url=empty_database_url, read_model_path=str(tmp_path / "read-model.db")
            )
            apps.append(Truceline(settings))
            return Log(apps[-1])

        yield open_log
        for app in apps:
            app.close()

    @pytest.fixture
    def log(self, open_log: Callable[[], Log]) -> Log:
        return open_log()

    @pytest.fixture
    def store(self, log: Log) -> LogStore:
        return log.store

    @pytest.fixture
    def clock(self, monkeypatch: pytest.MonkeyPatch) -> Clock:
        """Appends take ``recorded_at`` from this clock (a whole second at first)."""
        clock = Clock(datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC))
        monkeypatch.setattr(
            truceline.application.log, "datetime", SimpleNamespace(now=lambda tz: clock.now)
        )
        return clock

    # -- an empty log ---------------------------------------------------------------------

    def test_an_empty_log_has_no_entries_and_position_zero(self, store: LogStore) -> None:
        assert store.read(0, 10) == []
        assert list(store.iter_entries()) == []
        assert store.max_position() == 0
        assert store.position_at("9999-12-31T23:59:59.999999Z") == 0

    def test_the_first_entry_chains_onto_the_genesis_hash(self, log: Log) -> None:
        first = statement()
        (receipt,) = log.append(first)

        (entry,) = log.store.iter_stored()
        assert (entry.row.recorded_at, entry.row.recorded_by) == (receipt.recorded_at, RECORDED_BY)
        assert entry.row.hash == stored_hash(GENESIS_HASH, entry)

    # -- appending ------------------------------------------------------------------------

    def test_appends_take_positions_one_two_three_with_no_gaps(self, log: Log) -> None:
        receipts = [log.append(statement()), log.append(*[statement() for _ in range(3)])]
        receipts.append(log.append(statement()))

        assert [[r.position for r in rs] for rs in receipts] == [[1], [2, 3, 4], [5]]
        assert [e.position for e in log.entries()] == [1, 2, 3, 4, 5]

    def test_a_receipt_names_the_event_its_position_and_its_recorded_at(self, log: Log) -> None:
        events = [statement(), statement()]
        receipts = log.append(*events)

        assert ids(receipts) == ids(events)
        assert receipts == [e.receipt for e in log.entries()]

    def test_appending_nothing_stores_nothing(self, log: Log) -> None:
        assert log.append() == []
        assert log.store.max_position() == 0

    def test_an_entry_reads_back_as_it_was_appended(self, log: Log) -> None:
        appended = report_about(statement("Shelling stopped at dawn."))
        log.append(appended, recorded_by="key_someone")

        (entry,) = log.entries()
        assert (entry.position, entry.recorded_by, entry.event) == (1, "key_someone", appended)

    def test_each_entry_hash_chains_the_one_before_across_transactions(self, log: Log) -> None:
        log.append(statement(), statement())
        log.append(agreed(), recorded_by="key_other")
        log.append(statement())

        entries = log.entries()
        assert len({e.hash for e in entries}) == 4
        assert_chained(log)

    def test_recorded_at_is_utc_with_microseconds_always_written(self, log: Log) -> None:
        before = fixed_width_utc(datetime.now(UTC))
        (receipt,) = log.append(statement())
        after = fixed_width_utc(datetime.now(UTC))

        assert FIXED_WIDTH_UTC.match(receipt.recorded_at), receipt.recorded_at
        assert before <= receipt.recorded_at <= after

    def test_a_whole_second_is_written_with_six_zero_microseconds(
        self, log: Log, clock: Clock
    ) -> None:
        clock.set("2024-05-01T12:00:00Z")

        (receipt,) = log.append(statement())

        assert receipt.recorded_at == "2024-05-01T12:00:00.000000Z"

    def test_entries_of_one_append_share_their_recorded_at(self, log: Log) -> None:
        receipts = log.append(statement(), statement(), statement())

        assert len({r.recorded_at for r in receipts}) == 1

    def test_recorded_at_never_decreases_along_the_log(self, log: Log) -> None:
        for _ in range(5):
            log.append(statement(), statement())

        recorded = [e.recorded_at for e in log.entries()]
        assert recorded == sorted(recorded)

    def test_recorded_at_does_not_go_back_when_the_clock_does(self, log: Log, clock: Clock) -> None:
        clock.set("2024-05-01T12:00:00.500000Z")
        log.append(statement())
        clock.set("2024-05-01T11:59:00Z")  # an NTP step back

        (receipt,) = log.append(statement())

        assert receipt.recorded_at == "2024-05-01T12:00:00.500000Z"

    def test_a_reopened_store_continues_the_log_and_its_chain(
        self, log: Log, open_log: Callable[[], Log]
    ) -> None:
        log.append(statement(), statement())
        log.app.close()

        reopened = open_log()
        (receipt,) = reopened.append(statement())

        assert receipt.position == 3
        assert_chained(reopened)

    def test_the_tree_stays_the_entries_tree_when_two_processes_take_turns(
        self, log: Log, open_log: Callable[[], Log]
    ) -> None:
        """Each store keeps the tree's peaks from its own last commit, never from a
        transaction rolled back: here the other process fills the log to the size the
        rolled-back one reached, so peaks kept from it would look current, and the
        appends after reach 32 entries, which reads the 16-leaf peak."""
        other = open_log()
        for _ in range(5):
            log.append(statement(), statement())
            other.append(statement())
        with pytest.raises(RuntimeError), log.store.writing() as writer:
            writer.append([log.new(statement())])
            writer.flush()  # its leaf and nodes inserted, then rolled back
            raise RuntimeError("refused")
        other.append(statement())
        for _ in range(17):
            log.append(statement())

        audit = log.app.audit()
        assert (audit.chain.ok, audit.tree_problem, audit.tree.size) == (True, None, 33)
        assert log.app.stored_root(33) == merkle.root(33, audit.tree.get)

    # -- all or nothing ---------------------------------------------------------------------

    def test_nothing_is_stored_when_the_writing_block_raises(self, log: Log) -> None:
        events = [statement(), statement()]
        with pytest.raises(RuntimeError, match="refused"), log.store.writing() as writer:
            writer.append([log.new(e) for e in events])
            raise RuntimeError("refused")

        assert log.store.read(0, 10) == []
        assert log.store.find_events(ids(events)) == {}
        assert log.store.max_position() == 0

    def test_rows_already_flushed_are_rolled_back_too(self, log: Log) -> None:
        target = statement()
        with pytest.raises(RuntimeError), log.store.writing() as writer:
            writer.append([log.new(target), log.new(correction(target))])
            assert len(writer.amendments(target["event_id"])) == 1  # flushed to the table
            raise RuntimeError("refused")

        assert log.store.read(0, 10) == []
        assert log.store.history(target["event_id"]) == []

    def test_after_a_failed_transaction_the_log_goes_on_where_it_was(self, log: Log) -> None:
        log.append(statement())
        with pytest.raises(RuntimeError), log.store.writing() as writer:
            writer.append([log.new(statement())])
            raise RuntimeError("refused")

        (receipt,) = log.append(statement())

        assert receipt.position == 2
        assert_chained(log)

    def test_an_open_transaction_is_invisible_to_readers_until_it_commits(self, log: Log) -> None:
        pending = statement()
        with log.store.writing() as writer:
            writer.append([log.new(pending)])
            writer.amendments(pending["event_id"])  # flushed to the table, not committed
            assert log.store.read(0, 10) == []
            assert log.store.find_events([pending["event_id"]]) == {}
            assert log.store.max_position() == 0

        assert ids(log.store.read(0, 10)) == [pending["event_id"]]

    # -- one event id, once ---------------------------------------------------------------------

    def test_an_event_id_already_in_the_log_is_refused_with_the_rest_of_its_append(
        self, log: Log
    ) -> None:
        stored, fresh = statement(), statement()
        log.append(stored)

        with pytest.raises(IntegrityError):
            log.append(fresh, stored)

        assert ids(log.entries()) == [stored["event_id"]]

    def test_the_same_event_id_twice_in_one_append_is_refused(self, log: Log) -> None:
        twice = statement()

        with pytest.raises(IntegrityError):
            log.append(twice, twice)

        assert log.store.max_position() == 0

    def test_the_entries_table_refuses_an_event_id_under_another_originator_id(
        self, log: Log
    ) -> None:
        stored = statement()
        log.append(stored)
        # A stored event of a fresh originator id, carrying an envelope already stored.
        forged = NewEntry(to_stored_event(log.app.mapper, statement()), stored, RECORDED_BY)

        with pytest.raises(IntegrityError), log.store.writing() as writer:
            writer.append([forged])

        assert log.store.max_position() == 1

    def test_eventsourcing_refuses_an_originator_id_under_another_event_id(self, log: Log) -> None:
        stored = statement()
        log.append(stored)
        # A fresh envelope, carried by a stored event of an originator id already stored.
        forged = NewEntry(to_stored_event(log.app.mapper, stored), statement(), RECORDED_BY)

        with pytest.raises(IntegrityError), log.store.writing() as writer:
            writer.append([forged])

        assert log.store.max_position() == 1

    # -- the writer's lookups ---------------------------------------------------------------------

    def test_the_writer_finds_stored_events_and_those_this_transaction_appended(
        self, log: Log
    ) -> None:
        stored, pending, missing = statement(), statement(), statement()
        log.append(stored)

        with log.store.writing() as writer:
            writer.append([log.new(pending)])
            found = writer.find_events(ids([stored, pending, missing]))

        assert found == log.store.find_events(ids([stored, pending, missing]))
        assert sorted(e.position for e in found.values()) == [1, 2]

    def test_the_writer_finds_this_transactions_events_after_they_were_flushed(
        self, log: Log
    ) -> None:
        pending = statement()
        with log.store.writing() as writer:
            writer.append([log.new(pending)])
            writer.live_ceasefire_events(CONFLICT, CEASEFIRE, "ceasefire_agreed")  # flushes
            found = writer.find_events([pending["event_id"]])

        assert found == log.store.find_events([pending["event_id"]])

    def test_the_writer_finds_an_event_it_was_missing_once_it_is_appended(self, log: Log) -> None:
        later = statement()
        with log.store.writing() as writer:
            assert writer.find_events([later["event_id"]]) == {}
            (receipt,) = writer.append([log.new(later)])
            found = writer.find_events([later["event_id"]])

        assert found[later["event_id"]].receipt == receipt

    def test_live_ceasefire_events_are_the_unretracted_ones_of_that_kind_and_ceasefire(
        self, log: Log
    ) -> None:
        truce, retracted_end = agreed(), ended()
        log.append(
            truce,
            agreed("another-truce"),
            agreed(conflict=OTHER_CONFLICT),  # the same ceasefire id in another conflict
            retracted_end,
            retraction(retracted_end),
        )
        live_end = ended()
        log.append(live_end)

        with log.store.writing() as writer:
            agreed_ids = writer.live_ceasefire_events(CONFLICT, CEASEFIRE, "ceasefire_agreed")
            ended_ids = writer.live_ceasefire_events(CONFLICT, CEASEFIRE, "ceasefire_ended")
            none = writer.live_ceasefire_events(CONFLICT, "no-such-truce", "ceasefire_agreed")

        assert (agreed_ids, ended_ids, none) == (ids([truce]), ids([live_end]), [])

    def test_live_ceasefire_events_see_this_transactions_rows(self, log: Log) -> None:
        truce = agreed()
        with log.store.writing() as writer:
            writer.append([log.new(truce)])
            live = writer.live_ceasefire_events(CONFLICT, CEASEFIRE, "ceasefire_agreed")
            writer.append([log.new(retraction(truce))])
            after = writer.live_ceasefire_events(CONFLICT, CEASEFIRE, "ceasefire_agreed")

        assert (live, after) == (ids([truce]), [])

    def test_amendments_are_corrections_retractions_and_retractions_of_those_corrections(
        self, log: Log
    ) -> None:
        target, other = statement(), statement()
        first = correction(target)
        amending = [first, retraction(first), correction(target), retraction(target)]
        log.append(target, other, amending[0], correction(other))
        log.append(
            report_about(target),  # names it, but amends nothing
            *amending[1:],
            retraction(other),
        )

        with log.store.writing() as writer:
            amendments = writer.amendments(target["event_id"])

        entries = log.entries()
        assert ids(amendments) == ids(amending)
        assert amendments == [entries[position - 1] for position in (3, 6, 7, 8)]

    def test_amendments_see_this_transactions_rows(self, log: Log) -> None:
        target = statement()
        log.append(target)
        first = correction(target)
        with log.store.writing() as writer:
            writer.append([log.new(first), log.new(retraction(first))])
            amendments = writer.amendments(target["event_id"])

        assert amendments == log.store.read(1, 10)

    # -- reading ------------------------------------------------------------------------------

    def test_read_gives_the_entries_after_a_position_up_to_a_limit(self, log: Log) -> None:
        log.append(*[statement() for _ in range(5)])

        def positions(after: int, limit: int) -> list[int]:
            return [e.position for e in log.store.read(after, limit)]

        assert positions(0, 2) == [1, 2]
        assert positions(2, 2) == [3, 4]
        assert positions(4, 10) == [5]
        assert positions(5, 10) == []
        assert positions(0, 0) == []

    def test_iter_entries_reads_every_entry_after_a_position_page_by_page(self, log: Log) -> None:
        log.append(*[statement() for _ in range(5)])

        paged = [e.position for e in log.store.iter_entries(after=1, page=2)]

        assert paged == [2, 3, 4, 5]
        assert list(log.store.iter_entries()) == log.store.read(0, 10)

    def test_a_tolerant_read_of_a_healthy_log_is_an_ordinary_read(self, log: Log) -> None:
        log.append(statement(), agreed())

        assert log.store.read(0, 10, tolerant=True) == log.store.read(0, 10)
        assert list(log.store.iter_entries(tolerant=True)) == log.store.read(0, 10)

    def test_find_events_gives_committed_entries_by_id_and_leaves_out_missing_ids(
        self, log: Log
    ) -> None:
        first, second, missing = statement(), statement(), statement()
        log.append(first, second)
        entries = log.entries()

        found = log.store.find_events(ids([second, missing, first, second]))

        assert found == {first["event_id"]: entries[0], second["event_id"]: entries[1]}
        assert log.store.find_events([]) == {}

    def test_find_events_takes_more_ids_than_one_statement_can_bind(self, log: Log) -> None:
        events = [statement() for _ in range(700)]
        log.append(*events)

        found = log.store.find_events([*ids(events), *ids(statement() for _ in range(700))])

        assert sorted(e.position for e in found.values()) == list(range(1, 701))

    def test_history_is_the_corrections_and_retractions_naming_the_event_in_log_order(
        self, log: Log
    ) -> None:
        target = statement()
        first, second = correction(target), correction(target)
        log.append(target, first, report_about(target))
        log.append(retraction(first), second, retraction(target))
        entries = log.entries()

        assert log.store.history(target["event_id"]) == [entries[1], entries[4], entries[5]]
        assert log.store.history(first["event_id"]) == [entries[3]]
        assert log.store.history(second["event_id"]) == []

    def test_history_leaves_out_what_is_not_committed(self, log: Log) -> None:
        target = statement()
        log.append(target)
        with log.store.writing() as writer:
            writer.append([log.new(correction(target))])
            writer.amendments(target["event_id"])  # flushed, not committed
            assert log.store.history(target["event_id"]) == []

    def test_max_position_is_the_last_position_of_the_log(self, log: Log) -> None:
        log.append(statement(), statement())
        log.append(statement())

        assert log.store.max_position() == 3

    def test_position_at_is_the_last_position_recorded_at_or_before_a_time(
        self, log: Log, clock: Clock
    ) -> None:
        clock.set("2024-05-01T12:00:00Z")
        log.append(statement(), statement())
        clock.set("2024-05-01T12:00:00.000002Z")
        log.append(statement())

        def position_at(text: str) -> int:
            return log.store.position_at(fixed_width_utc(parse_utc(text)))

        assert position_at("2024-05-01T11:59:59.999999Z") == 0
        assert position_at("2024-05-01T12:00:00Z") == 2
        assert position_at("2024-05-01T12:00:00.000001Z") == 2
        assert position_at("2024-05-01T12:00:00.000002Z") == 3
        assert position_at("2030-01-01T00:00:00Z") == 3

    # -- keys ---------------------------------------------------------------------------------

    def test_a_key_is_found_by_id_with_its_name_role_hash_and_no_revocation(
        self, store: LogStore
    ) -> None:
        store.insert_key("key_a", "ops", "writer", "ab" * 32, "2024-05-01T12:00:00Z", "local:test")

        assert store.find_key("key_a") == ("ops", "writer", "ab" * 32, None)
        assert store.find_key("key_b") is None

    def test_find_key_async_answers_as_find_key(self, store: LogStore) -> None:
        store.insert_key("key_a", "ops", "writer", "ab" * 32, "2024-05-01T12:00:00Z", "local:test")

        found = run_async(store, "key_a", "key_b")

        assert found == [store.find_key("key_a"), None]

    def test_find_key_async_works_from_one_event_loop_after_another(self, store: LogStore) -> None:
        store.insert_key("key_a", "ops", "reader", "ab" * 32, "2024-05-01T12:00:00Z", "local:test")

        first = run_async(store, "key_a")
        store.revoke_key("key_a", "2024-05-02T00:00:00Z", "local:test")
        second = run_async(store, "key_a")

        assert first == [("ops", "reader", "ab" * 32, None)]
        assert second == [("ops", "reader", "ab" * 32, "2024-05-02T00:00:00Z")]

    def test_list_keys_gives_every_key_oldest_first_without_its_hash(self, store: LogStore) -> None:
        store.insert_key(
            "key_new", "later", "admin", "cd" * 32, "2024-05-02T00:00:00Z", "local:test"
        )
        store.insert_key(
            "key_old", "first", "reader", "ab" * 32, "2024-05-01T00:00:00Z", "local:test"
        )

        assert store.list_keys() == [
            {
                "key_id": "key_old",
                "name": "first",
                "role": "reader",
                "created_at": "2024-05-01T00:00:00Z",
                "revoked_at": None,
            },
            {
                "key_id": "key_new",
                "name": "later",
                "role": "admin",
                "created_at": "2024-05-02T00:00:00Z",
                "revoked_at": None,
            },
        ]

    def test_revoking_a_key_answers_true_once_then_false(self, store: LogStore) -> None:
        store.insert_key("key_a", "ops", "writer", "ab" * 32, "2024-05-01T12:00:00Z", "local:test")

        assert store.revoke_key("key_a", "2024-05-02T00:00:00Z", "local:test") is True
        assert store.revoke_key("key_a", "2024-05-03T00:00:00Z", "local:test") is False
        assert store.find_key("key_a") == ("ops", "writer", "ab" * 32, "2024-05-02T00:00:00Z")
        assert store.list_keys()[0]["revoked_at"] == "2024-05-02T00:00:00Z"

    def test_revoking_an_unknown_key_answers_false(self, store: LogStore) -> None:
        assert store.revoke_key("key_none", "2024-05-02T00:00:00Z", "local:test") is False
        assert store.list_keys() == []

    def test_a_key_id_is_stored_once(self, store: LogStore) -> None:
        store.insert_key("key_a", "ops", "writer", "ab" * 32, "2024-05-01T12:00:00Z", "local:test")

        with pytest.raises(IntegrityError):
            store.insert_key(
                "key_a", "impostor", "admin", "cd" * 32, "2024-05-02T00:00:00Z", "local:test"
            )

        assert store.find_key("key_a") == ("ops", "writer", "ab" * 32, None)

    def test_a_reopened_store_keeps_its_keys(self, log: Log, open_log: Callable[[], Log]) -> None:
        log.store.insert_key(
            "key_a", "ops", "writer", "ab" * 32, "2024-05-01T12:00:00Z", "local:test"
        )
        log.app.close()

        assert open_log().store.find_key("key_a") == ("ops", "writer", "ab" * 32, None)
