"""Concurrent appends of the same event, or of the same ceasefire, in one process or two.

"Two processes" are modelled by two :class:`Truceline` instances on one database: each has
its own connections, so only the store's own locking keeps them apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from tests.helpers import Envelope, valid_event
from truceline.application.app import Appended, AppendRequest, InvalidEvents, Truceline
from truceline.domain.validation import parse_event
from truceline.settings import Settings

ROUNDS = 25
T = TypeVar("T")


@pytest.fixture(params=["one-instance", "two-instances"])
def racers(
    request: pytest.FixtureRequest, application: Truceline, settings: Settings
) -> Iterator[tuple[Truceline, Truceline]]:
    """Two applications to race: the same one twice, or two on the same database."""
    if request.param == "one-instance":
        yield application, application
        return
    other = Truceline(settings)
    try:
        yield application, other
    finally:
        other.close()


def race(calls: list[Callable[[], T]]) -> list[T | Exception]:
    """Run the calls in threads released together; each gives its result or its error."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | Exception:
        barrier.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def appending(app: Truceline, event: Envelope) -> Callable[[], Appended]:
    request = AppendRequest([parse_event(event)], recorded_by="race test")
    return lambda: app.append(request)


def test_racing_appends_of_one_event_id_store_it_once(
    racers: tuple[Truceline, Truceline], application: Truceline
) -> None:
    events = [valid_event("strike") for _ in range(ROUNDS)]

    for position, event in enumerate(events, start=1):
        results = race([appending(app, event) for app in racers])

        assert all(isinstance(result, Appended) for result in results), results
        appended = [result for result in results if isinstance(result, Appended)]
        assert sorted(a.new for a in appended) == [0, 1]
        assert [[r.position for r in a.receipts] for a in appended] == [[position]] * 2
        assert appended[0].receipts == appended[1].receipts

    entries = application.read_log(0, 1000)
    assert [(e.position, e.event["event_id"]) for e in entries] == [
        (position, event["event_id"]) for position, event in enumerate(events, start=1)
    ]


def test_racing_agreements_of_one_ceasefire_id_let_exactly_one_win(
    racers: tuple[Truceline, Truceline], application: Truceline
) -> None:
    winners: list[str] = []

    for round_ in range(ROUNDS):
        rivals = [valid_event("ceasefire_agreed", ceasefire_id=f"truce-{round_}") for _ in racers]

        results = race([appending(app, event) for app, event in zip(racers, rivals, strict=True)])

        (winner,) = [e for e, r in zip(rivals, results, strict=True) if isinstance(r, Appended)]
        (loser,) = [r for r in results if not isinstance(r, Appended)]
        assert isinstance(loser, InvalidEvents), loser
        assert [error["loc"] for r in loser.rejections for error in r.errors] == [["ceasefire_id"]]
        winners.append(winner["event_id"])

    entries = application.read_log(0, 1000)
    assert [(e.position, e.event["event_id"]) for e in entries] == list(enumerate(winners, start=1))
