"""as_of pages stop their scan at the frontier: the latest occurrence written by then.

The bound may be loose (it is kept per page) but never too tight: an event recorded
late, a correction that moves an event later, and a read-model file written before the
frontier was kept must all still answer as they did without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import valid_event
from truceline.application.app import AppendRequest, Truceline
from truceline.domain.times import parse_utc, to_micros
from truceline.domain.validation import parse_event
from truceline.projections import queries
from truceline.projections.follower import Follower
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings

DAY_2 = to_micros(parse_utc("2020-10-02T00:00:00Z"))


def day(n: int) -> str:
    return f"2020-10-{n:02d}T12:00:00Z"


@pytest.fixture
def app(tmp_path: Path) -> Truceline:
    application = Truceline(Settings(database_url=f"sqlite:///{tmp_path}/log.db"))
    first = valid_event("strike", occurred_at=day(1))
    for event in (
        first,  # 1
        valid_event("shelling", occurred_at=day(5)),  # 2
        valid_event("strike", occurred_at=day(3)),  # 3: recorded after a later one
        valid_event(  # 4: moves the first strike after everything else
            "correction", corrects_event_id=first["event_id"], changes={"occurred_at": day(10)}
        ),
    ):
        application.append(AppendRequest([parse_event(event)], "test"))
    return application


def days_after_day_2(read_model: ReadModel, as_of: int) -> list[str]:
    with read_model.reading() as db:
        items, _ = queries.timeline_page(db, queries.TimelineFilter(), 100, (DAY_2, 0), as_of)
    return [item["occurred_at"] for item in items]


EXPECTED = {2: [day(5)], 3: [day(3), day(5)], 4: [day(3), day(5), day(10)]}


@pytest.mark.parametrize("page_size", [1, 2, 10])
def test_as_of_pages_see_late_records_and_moved_events(
    app: Truceline, tmp_path: Path, page_size: int
) -> None:
    read_model = ReadModel(tmp_path / "read-model.db")
    Follower(app, read_model, page_size=page_size).catch_up()
    assert {p: days_after_day_2(read_model, p) for p in EXPECTED} == EXPECTED


def test_a_file_written_before_the_frontier_was_kept_still_answers(
    app: Truceline, tmp_path: Path
) -> None:
    read_model = ReadModel(tmp_path / "read-model.db")
    Follower(app, read_model, page_size=1).catch_up()
    with read_model.datastore.transaction(commit=True) as c:
        c.execute("DELETE FROM frontier")  # as an older version left it
    app.append(AppendRequest([parse_event(valid_event("statement", occurred_at=day(4)))], "t"))
    Follower(app, read_model, page_size=1).catch_up()
    assert {p: days_after_day_2(read_model, p) for p in EXPECTED} == EXPECTED
    assert days_after_day_2(read_model, 5) == [day(3), day(4), day(5), day(10)]
