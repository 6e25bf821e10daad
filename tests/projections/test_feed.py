"""The feed every stream of a process reads: a window of the last entries applied."""

from __future__ import annotations

import asyncio

from truceline.application.log import Entry
from truceline.projections.feed import Feed, Message


def entries(first: int, last: int) -> list[Entry]:
    return [
        Entry(
            position,
            "2026-01-01T00:00:00.000000Z",
            "local:test",
            f"hash{position}",
            {"type": "statement", "conflict": "c", "text": "\n" if position % 2 else "2"},
        )
        for position in range(first, last + 1)
    ]


def positions(messages: list[Message] | None) -> list[int] | None:
    return None if messages is None else [m.position for m in messages]


def test_a_message_is_the_entry_on_one_line():
    [message] = [Message.of(entry) for entry in entries(1, 1)]

    assert message.data == (
        '{"position":1,"recorded_at":"2026-01-01T00:00:00.000000Z","recorded_by":"local:test",'
        '"hash":"hash1","event":{"type":"statement","conflict":"c","text":"\\n"}}'
    )
    assert (message.type, message.conflict) == ("statement", "c")


def test_the_window_holds_the_last_entries_and_says_when_a_position_is_before_it():
    feed = Feed(position=0, backlog=8)
    with feed.watching():
        feed.publish(entries(1, 5))
        assert positions(feed.since(0)) == [1, 2, 3, 4, 5]
        assert positions(feed.since(3)) == [4, 5]
        assert positions(feed.since(5)) == []
        feed.publish(entries(6, 20))  # 20 held > 8 + 8 // 4: trimmed to the last 8

    assert feed.position == 20
    assert positions(feed.since(12)) == list(range(13, 21))
    assert feed.since(11) is None


def test_with_no_stream_watching_nothing_is_serialised_and_the_window_moves_on():
    feed = Feed(position=0, backlog=8)
    feed.publish(entries(1, 5))

    assert feed.position == 5
    assert positions(feed.since(5)) == []
    assert feed.since(4) is None  # a stream there reads the log itself


def test_a_gap_starts_a_new_window():
    feed = Feed(position=0, backlog=8)
    with feed.watching():
        feed.publish(entries(1, 2))
        feed.publish(entries(5, 6))

    assert positions(feed.since(4)) == [5, 6]
    assert feed.since(2) is None


def test_wait_returns_on_publish_from_another_thread_and_on_close():
    feed = Feed(position=0, backlog=8)

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        began = loop.time()
        with feed.watching():
            loop.call_later(0.05, lambda: loop.run_in_executor(None, feed.publish, entries(1, 1)))
            await feed.wait(0, timeout=5)
            published = loop.time() - began
            loop.call_later(0.05, feed.close)
            await feed.wait(1, timeout=5)
        return published, loop.time() - began

    published, closed = asyncio.run(main())
    assert published < 1 and closed < 2
    assert feed.closed
