"""The read model depends on what the log says, not on the order it was said in.

Hypothesis draws a small valid history (ceasefires among three actors, some ended, with
or without ``ends_at``; strikes, shellings and clashes of every time precision; breach
reports naming an incident or not; a few corrections and retractions) and two append
orders that each keep every event after what it names. Each order goes into a fresh log
and is projected by a :class:`Follower`: one in a single batch and a single catch-up, the
other in small requests with a catch-up after each and small pages. The timelines
(positions aside) and every ceasefire answer at a grid of world times must be equal.

Histories avoid what the contract itself settles by position: two ceasefires of a
conflict starting at the same instant, two reports naming the same incident, and two
corrections of one event.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.application.app import AppendRequest, Truceline
from truceline.domain.times import format_utc, from_micros, parse_utc, to_micros
from truceline.domain.validation import parse_event
from truceline.projections import queries
from truceline.projections.follower import Follower
from truceline.projections.queries import TimelineFilter
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings

Event = dict[str, Any]

CONFLICT = "order-war"
ACTORS = ("Armenia", "Azerbaijan", "Russia")
OTHERS = (*ACTORS, "Militia")
PRECISIONS = ("exact", "exact", "minute", "hour", "day", "week", "month", "approximate")
BASE = datetime(2020, 10, 1, tzinfo=UTC)
STEP_MINUTES = 30
# World times the answers are compared at: every 6 hours over the whole span drawn, and
# (see History.instants) every instant a ceasefire starts or stops.
AT_GRID = [to_micros(BASE + timedelta(hours=h)) for h in range(-72, 500, 6)]
LIFECYCLE_FIELDS = ("occurred_at", "effective_at", "ends_at")


def _time(steps: int) -> str:
    return format_utc(BASE + timedelta(minutes=STEP_MINUTES * steps))


@dataclass
class History:
    """Events in an order that respects references, and what each must follow."""

    events: list[Event] = field(default_factory=list)
    needs: dict[str, set[str]] = field(default_factory=dict)
    ceasefire_ids: list[str] = field(default_factory=list)

    def instants(self) -> list[int]:
        """The grid, and every time a ceasefire's agreement or end names."""
        named = {
            to_micros(parse_utc(e[name]))
            for e in self.events
            if e["type"] in ("ceasefire_agreed", "ceasefire_ended")
            for name in LIFECYCLE_FIELDS
            if name in e
        }
        return sorted({*AT_GRID, *named})

    def add(self, event: Event, *needs: str) -> Event:
        event["event_id"] = f"00000000-0000-4000-8000-{len(self.events) + 1:012d}"
        event["conflict"] = CONFLICT
        self.events.append(event)
        self.needs[event["event_id"]] = set(needs)
        return event


def _precision(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {"time_precision": draw(st.sampled_from(PRECISIONS))}
    if draw(st.integers(0, 3)) == 0:
        fields["timezone"] = "Asia/Baku"
    return fields


@st.composite
def histories(draw: st.DrawFn) -> History:
    history = History()
    agreed: list[Event] = []

    # Ceasefires: distinct starts (in half hours); agreed before it, or backdated.
    starts = draw(st.lists(st.integers(0, 400), min_size=1, max_size=3, unique=True))
    for index, start in enumerate(starts):
        lead = draw(st.integers(0, 96))
        agreed_at, effective_at = (
            (start, start - lead) if draw(st.booleans()) else (start - lead, start)
        )
        event: Event = {
            "type": "ceasefire_agreed",
            "occurred_at": _time(agreed_at),
            "ceasefire_id": f"cf-{index}",
            "parties": draw(st.lists(st.sampled_from(ACTORS), min_size=1, max_size=3, unique=True)),
            "effective_at": _time(effective_at),
        }
        if draw(st.booleans()):
            event["ends_at"] = _time(start + draw(st.integers(0, 400)))
        agreed.append(history.add(event))
        history.ceasefire_ids.append(event["ceasefire_id"])
        if draw(st.integers(0, 2)) == 0:
            history.add(
                {
                    "type": "ceasefire_ended",
                    "occurred_at": _time(agreed_at + draw(st.integers(0, 480))),
                    "ceasefire_id": event["ceasefire_id"],
                    "reason": draw(st.sampled_from(("collapsed", "terminated"))),
                },
                event["event_id"],
            )

    incidents: list[Event] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(("strike", "shelling", "clash")))
        incident: Event = {
            "type": kind,
            "occurred_at": _time(draw(st.integers(-48, 880))),
            **_precision(draw),
        }
        if kind == "clash":
            parties = draw(st.lists(st.sampled_from(OTHERS), min_size=2, max_size=3, unique=True))
            incident["parties"] = parties
            if draw(st.booleans()):
                incident["initiator"] = draw(st.sampled_from(parties))
        elif draw(st.integers(0, 4)):
            incident["perpetrator"] = draw(st.sampled_from(OTHERS))
        incidents.append(history.add(incident))

    reports: list[Event] = []
    unnamed = list(incidents)
    for _ in range(draw(st.integers(0, 4))):
        ceasefire = draw(st.sampled_from(agreed))
        report: Event = {
            "type": "ceasefire_breached",
            "occurred_at": _time(draw(st.integers(-48, 880))),
            **_precision(draw),
            "ceasefire_id": ceasefire["ceasefire_id"],
            "accused": draw(st.sampled_from(OTHERS)),
        }
        needs = [ceasefire["event_id"]]
        names_one: bool = draw(st.booleans())
        if unnamed and names_one:
            named = unnamed.pop(draw(st.integers(0, len(unnamed) - 1)))
            report["incident_event_id"] = named["event_id"]
            needs.append(named["event_id"])
        reports.append(history.add(report, *needs))

    # A few amendments: at most one correction and one retraction per event.
    corrected: set[str] = set()
    retracted: set[str] = set()
    corrections: list[Event] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            targets = [e for e in incidents + reports if e["event_id"] not in corrected]
            if not targets:
                continue
            target = draw(st.sampled_from(targets))
            if target["type"] == "ceasefire_breached":
                changes: dict[str, Any] = {"accused": draw(st.sampled_from(OTHERS))}
            else:
                changes = draw(
                    st.sampled_from(
                        [
                            {"occurred_at": _time(draw(st.integers(-48, 880)))},
                            {"time_precision": draw(st.sampled_from(PRECISIONS))},
                            {"perpetrator": draw(st.sampled_from(OTHERS))}
                            if target["type"] != "clash"
                            else {"initiator": None},
                        ]
                    )
                )
            corrected.add(target["event_id"])
            corrections.append(
                history.add(
                    {
                        "type": "correction",
                        "occurred_at": _time(900),
                        "corrects_event_id": target["event_id"],
                        "changes": changes,
                    },
                    target["event_id"],
                )
            )
        else:
            ended = [e for e in history.events if e["type"] == "ceasefire_ended"]
            targets = [
                e
                for e in incidents + reports + corrections + ended
                if e["event_id"] not in retracted
            ]
            if not targets:
                continue
            target = draw(st.sampled_from(targets))
            retracted.add(target["event_id"])
            history.add(
                {
                    "type": "retraction",
                    "occurred_at": _time(900),
                    "retracts_event_id": target["event_id"],
                    "reason": "withdrawn",
                },
                target["event_id"],
            )
    return history


def _order(history: History, priority: list[int]) -> list[Event]:
    """A topological order of the history: of the events whose needs are met, the one
    with the lowest priority goes next."""
    left = {e["event_id"]: (rank, e) for rank, e in zip(priority, history.events, strict=True)}
    placed: set[str] = set()
    order: list[Event] = []
    while left:
        ready = [v for k, v in left.items() if history.needs[k] <= placed]
        _, event = min(ready, key=lambda pair: pair[0])
        order.append(event)
        placed.add(event["event_id"])
        del left[event["event_id"]]
    return order


@contextmanager
def projected(
    directory: Path, name: str, events: list[Event], chunks: list[int] | None, page_size: int
) -> Iterator[ReadModel]:
    """A fresh log holding ``events`` in that order, and its read model caught up.

    ``chunks`` None: one request, one catch-up at the end. Otherwise requests of those
    sizes (cycled), with a catch-up after each.
    """
    app = Truceline(Settings(database_url=f"sqlite:///{directory}/{name}.db"))
    read_model = ReadModel(directory / f"{name}.projections.db")
    try:
        follower = Follower(app, read_model, page_size=page_size)
        parsed = [parse_event(e) for e in events]
        if chunks is None:
            app.append(AppendRequest(parsed, "test"))
        else:
            start, turn = 0, 0
            while start < len(parsed):
                size = chunks[turn % len(chunks)]
                app.append(AppendRequest(parsed[start : start + size], "test"))
                follower.catch_up()
                start, turn = start + size, turn + 1
        follower.catch_up()
        assert read_model.position() == len(events)
        yield read_model
    finally:
        read_model.close()
        app.close()


def _items(db: Any, include_retracted: bool) -> list[Event]:
    items, more = queries.timeline_page(
        db, TimelineFilter(include_retracted=include_retracted), 10_000
    )
    assert more is None
    positions = [(i["occurred_at"], i["position"]) for i in items]
    assert positions == sorted(positions)  # world order, then log order
    return sorted(
        ({k: v for k, v in i.items() if k != "position"} for i in items),
        key=lambda i: (i["occurred_at"], i["event_id"]),
    )


def _normal(status: dict[str, Any] | None, occurred: dict[str, str]) -> dict[str, Any] | None:
    """A status with ``breach_event_ids`` in (occurred_at, event_id) order: ties between
    incidents of the same instant are ordered by position, which the two logs differ in."""
    if status is None:
        return None
    ids = status["breach_event_ids"]
    times = [occurred[i] for i in ids]
    assert times == sorted(times)
    return {**status, "breach_event_ids": sorted(ids, key=lambda i: (occurred[i], i))}


def answers(read_model: ReadModel, history: History) -> dict[str, Any]:
    """Everything the read model answers about the history."""
    with read_model.reading() as db:
        every = _items(db, include_retracted=True)
        occurred = {i["event_id"]: i["occurred_at"] for i in every}
        statuses = []
        for at in history.instants():
            conflict = queries.conflict_status(db, CONFLICT, at)
            statuses.append(
                {
                    "at": at,
                    "list": [_normal(s, occurred) for s in queries.ceasefire_list(db, None, at)],
                    "state": conflict["state"],
                    "current": _normal(conflict["ceasefire"], occurred),
                    "each": [
                        _normal(queries.ceasefire_status(db, CONFLICT, c, at), occurred)
                        for c in history.ceasefire_ids
                    ],
                }
            )
        return {
            "timeline": every,
            "visible": _items(db, include_retracted=False),
            "statuses": statuses,
        }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories(), data=st.data())
def test_the_read_model_does_not_depend_on_the_append_order(
    history: History, data: st.DataObject
) -> None:
    count = len(history.events)
    first = _order(history, data.draw(st.permutations(range(count)), label="first"))
    second = _order(history, data.draw(st.permutations(range(count)), label="second"))
    chunks = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4), label="chunks")
    page_size = data.draw(st.integers(1, 3), label="page size")

    with tempfile.TemporaryDirectory() as directory:
        with projected(Path(directory), "first", first, None, 1000) as one:
            expected = answers(one, history)
        with projected(Path(directory), "second", second, chunks, page_size) as other:
            actual = answers(other, history)

    assert len(expected["timeline"]) == sum(
        e["type"] not in ("correction", "retraction") for e in history.events
    )
    assert actual["timeline"] == expected["timeline"]
    assert actual["visible"] == expected["visible"]
    for got, want in zip(actual["statuses"], expected["statuses"], strict=True):
        assert got == want, f"at {format_utc(from_micros(want['at']))}"
