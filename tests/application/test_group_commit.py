"""Group commit: several requests in one store transaction, each answered on its own.

The writer buffers a group's rows and inserts them together at the end, so these tests
pin down that a later request of a group sees what an earlier one appended (a retry, a
correction, a ceasefire) exactly as if each had been committed on its own.
"""

from __future__ import annotations

from typing import Any

from tests.helpers import CEASEFIRE, valid_event
from truceline.application.app import (
    Appended,
    AppendRequest,
    IdConflict,
    InvalidEvents,
    Rejection,
    Truceline,
)
from truceline.application.group_commit import GroupCommitter
from truceline.application.log import ChainWriter
from truceline.domain.validation import parse_event


def single(event: dict[str, Any]) -> AppendRequest:
    return AppendRequest([parse_event(event)], recorded_by="group test")


def appended(result: Appended | Exception) -> Appended:
    assert isinstance(result, Appended), result
    return result


def positions(result: Appended | Exception) -> list[int]:
    return [receipt.position for receipt in appended(result).receipts]


def test_each_request_of_a_group_succeeds_or_fails_alone(application: Truceline) -> None:
    stored = valid_event("strike")
    application.append(single(stored))
    results = application.append_group(
        [
            single(valid_event("shelling")),
            single({**stored, "summary": "other content, same id"}),
            single(valid_event("ceasefire_breached")),  # no such ceasefire
            single(valid_event("statement")),
        ]
    )
    assert positions(results[0]) == [2]
    assert isinstance(results[1], IdConflict)
    assert isinstance(results[2], InvalidEvents)
    assert results[2].rejections == [
        Rejection(
            0,
            [
                {
                    "loc": ["ceasefire_id"],
                    "msg": f"no ceasefire {CEASEFIRE!r} has been agreed in 'nagorno-karabakh-2020'",
                }
            ],
        )
    ]
    assert positions(results[3]) == [3]
    assert [e.position for e in application.read_log(0, 10)] == [1, 2, 3]
    assert application.verify_chain().ok


def test_a_later_request_sees_what_an_earlier_one_of_the_group_appended(
    application: Truceline,
) -> None:
    strike = valid_event("strike")
    agreed = valid_event("ceasefire_agreed")
    results = application.append_group(
        [
            single(strike),
            single(strike),  # a retry racing the first: the same receipt, nothing new
            single(valid_event("correction", corrects_event_id=strike["event_id"])),
            single(agreed),
            single(valid_event("ceasefire_breached")),
            single(valid_event("ceasefire_agreed")),  # the same ceasefire id again
            single(valid_event("retraction", retracts_event_id=agreed["event_id"])),
            single(valid_event("ceasefire_breached")),  # its ceasefire is now retracted
        ]
    )
    assert positions(results[0]) == [1]
    assert appended(results[1]) == Appended(appended(results[0]).receipts, new=0)
    assert positions(results[2]) == [2]
    assert positions(results[3]) == [3]
    assert positions(results[4]) == [4]
    assert isinstance(results[5], InvalidEvents)
    assert results[5].rejections[0].errors[0]["loc"] == ["ceasefire_id"]
    assert positions(results[6]) == [5]
    assert isinstance(results[7], InvalidEvents)
    assert [e.event["event_id"] for e in application.read_log(0, 10)] == [
        strike["event_id"],
        appended(results[2]).receipts[0].event_id,
        agreed["event_id"],
        appended(results[4]).receipts[0].event_id,
        appended(results[6]).receipts[0].event_id,
    ]
    assert application.verify_chain().ok


def test_a_group_larger_than_the_buffer_is_inserted_in_parts(
    application: Truceline, monkeypatch: Any
) -> None:
    monkeypatch.setattr(ChainWriter, "flush_at", 3)
    events = [valid_event("statement") for _ in range(8)]
    # The last request retries the first, whose row has left the buffer by then.
    results = application.append_group([single(event) for event in [*events, events[0]]])
    assert [positions(result) for result in results] == [[n] for n in range(1, 9)] + [[1]]
    assert appended(results[-1]).new == 0
    assert [e.event["event_id"] for e in application.read_log(0, 10)] == [
        event["event_id"] for event in events
    ]
    assert application.verify_chain().ok


def test_an_import_flushes_as_it_goes_and_is_still_all_or_nothing(
    application: Truceline, monkeypatch: Any
) -> None:
    monkeypatch.setattr(ChainWriter, "flush_at", 2)
    good = [(n, parse_event(valid_event("statement"))) for n in range(1, 6)]
    bad = (6, parse_event(valid_event("ceasefire_breached")))
    try:
        application.import_events([*good, bad], "group test", chunk_size=2)
    except Exception as error:
        assert str(error).startswith("line 6: ceasefire_id: no ceasefire")
    else:
        raise AssertionError("the import should have failed")
    assert application.read_log(0, 10) == []
    assert application.import_events(good, "group test", chunk_size=2) == 5
    assert [e.position for e in application.read_log(0, 10)] == [1, 2, 3, 4, 5]


def test_the_committer_answers_every_queued_request(application: Truceline) -> None:
    committer = GroupCommitter(application)
    try:
        futures = [committer.submit(single(valid_event("statement"))) for _ in range(50)]
        answered = [future.result(timeout=30) for future in futures]
    finally:
        committer.close()
    assert sorted(p for result in answered for p in positions(result)) == list(range(1, 51))
    assert application.verify_chain().ok
