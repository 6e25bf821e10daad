"""An import holds the store's write lock only for what needs the log.

Every line is read, validated and encoded before the lock is taken, so appends from
elsewhere go through while an import reads its file; the import is still one
transaction, all or nothing, and still names its first bad line.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import valid_event
from truceline.application import app as app_module
from truceline.application.app import AppendRequest, ImportFailed, Truceline
from truceline.domain.validation import parse_event
from truceline.settings import Settings

LINES = 30


@pytest.fixture
def other(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Truceline]:
    """A second application on the same store, that gives up on the write lock after a
    second (an append that waited for it would fail this test, not hang it)."""
    monkeypatch.setenv("POSTGRES_LOCK_TIMEOUT", "1")
    app = Truceline(settings.model_copy(update={"sqlite_lock_timeout": 1}))
    monkeypatch.delenv("POSTGRES_LOCK_TIMEOUT")
    yield app
    app.close()


def test_appends_go_through_while_an_import_reads_every_line(
    application: Truceline, other: Truceline
) -> None:
    imported = [valid_event("strike") for _ in range(LINES)]
    appended: list[int] = []

    def lines() -> Iterator[tuple[int, object]]:
        for number, event in enumerate(imported, start=1):
            # Reading each line, another writer appends: the lock must be free.
            request = AppendRequest([parse_event(valid_event("statement"))], "elsewhere")
            appended.append(other.append(request).receipts[0].position)
            yield number, event

    written: list[int] = []
    imported_count = application.import_events(
        lines(), "import", chunk_size=7, on_progress=written.append
    )
    assert imported_count == LINES
    assert written == [7, 7, 7, 7, 2]  # events, chunk by chunk, as they are written
    assert appended == list(range(1, LINES + 1))
    log = application.read_log(0, 2 * LINES + 1)
    assert [(e.position, e.recorded_by) for e in log] == [
        *((n, "elsewhere") for n in range(1, LINES + 1)),
        *((n, "import") for n in range(LINES + 1, 2 * LINES + 1)),
    ]
    assert [e.event["event_id"] for e in log[LINES:]] == [e["event_id"] for e in imported]
    assert application.audit().ok


def test_a_bad_reference_is_named_before_a_later_malformed_line(
    application: Truceline,
) -> None:
    lines = [
        valid_event("strike"),
        valid_event("ceasefire_breached", ceasefire_id="no-such-truce"),
        valid_event("strike"),
        valid_event("strike", killed="many"),
    ]
    with pytest.raises(ImportFailed) as failed:
        application.import_events(enumerate(lines, start=1), "import")
    assert str(failed.value) == (
        "line 2: ceasefire_id: no ceasefire 'no-such-truce' has been agreed in "
        "'nagorno-karabakh-2020'"
    )
    assert application.read_log(0, 10) == []


def test_a_malformed_line_after_valid_ones_is_named_and_nothing_is_stored(
    application: Truceline,
) -> None:
    lines = [valid_event("strike") for _ in range(5)] + [valid_event("strike", killed=-1)]
    with pytest.raises(ImportFailed) as failed:
        application.import_events(enumerate(lines, start=1), "import", chunk_size=2)
    assert str(failed.value) == "line 6: killed: Input should be greater than or equal to 0"
    assert application.read_log(0, 10) == []
    assert application.import_events(enumerate(lines[:5], start=1), "import") == 5


def test_an_imported_correction_is_stored_with_its_changes_normalised(
    application: Truceline,
) -> None:
    strike = valid_event("strike")
    correction = valid_event(
        "correction",
        corrects_event_id=strike["event_id"],
        changes={"occurred_at": "2020-10-17T03:00:00+04:00"},
    )
    assert application.import_events(enumerate([strike, correction], start=1), "import") == 2
    stored = application.read_log(0, 10)[1].event  # decoded from the stored bytes
    assert stored["changes"] == {"occurred_at": "2020-10-16T23:00:00Z"}
    # Run again, the import finds both stored with the same content.
    assert application.import_events(enumerate([strike, correction], start=1), "import") == 0
    assert application.audit().ok


def test_an_import_larger_than_its_memory_spills_to_a_file_and_stores_every_event(
    application: Truceline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "SPILL_IN_MEMORY", 1000)  # some two events
    events = [valid_event("strike") for _ in range(LINES)]
    assert application.import_events(enumerate(events, start=1), "import", chunk_size=4) == LINES
    log = application.read_log(0, LINES + 1)
    assert [e.event["event_id"] for e in log] == [e["event_id"] for e in events]
    assert application.audit().ok
