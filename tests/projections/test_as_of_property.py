"""Property: an as-of answer is the answer of the log cut at that position.

For random small valid logs (ceasefires agreed, ended, breached; strikes, shellings and
clashes; casualty reports and statements; corrections and retractions of any of them, with
every reference to an event or ceasefire that exists and may be named) imported into a
Truceline on a SQLite file and projected page by page, and for random positions P, every
``as_of=P`` answer of the full read model equals the answer, without ``as_of``, of a fresh
read model built from entries 1..P only: the timeline (retracted items included or not),
and the ceasefire list, each ceasefire's status and each conflict's status at a few world
times ``at``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.application.app import Truceline
from truceline.domain.times import to_micros
from truceline.projections import queries
from truceline.projections.follower import Follower
from truceline.projections.queries import TimelineFilter
from truceline.projections.readmodel import ReadModel
from truceline.settings import Settings

Event = dict[str, Any]

CONFLICTS = ("alpha-front", "beta-front")
ACTORS = ("North", "South", "East")
START = datetime(2024, 2, 1, tzinfo=UTC)
PRECISIONS = ("exact", "exact", "hour", "day", "week", "approximate")
KINDS = (
    "ceasefire_agreed",
    "strike",
    "shelling",
    "clash",
    "ceasefire_breached",
    "ceasefire_ended",
    "casualty_report",
    "statement",
    "correction",
    "retraction",
)
# World times the statuses are asked at: before, during and after the log's events.
ATS = [to_micros(START + timedelta(hours=hours)) for hours in (-24, 20, 50, 80, 130, 24 * 30)]


def n(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def moment(hours: int) -> str:
    return (START + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Ceasefire:
    conflict: str
    ceasefire_id: str
    agreed_by: str  # the ceasefire_agreed event
    retracted: bool = False
    ended_by: str | None = None  # its live ceasefire_ended, if any


@dataclass
class LogState:
    """What the log built so far allows the next event to name."""

    events: list[Event] = field(default_factory=list)
    ceasefires: list[Ceasefire] = field(default_factory=list)
    retracted: set[str] = field(default_factory=set)

    def next_id(self) -> str:
        return n(len(self.events) + 1)

    def live_ceasefires(self, conflict: str | None = None) -> list[Ceasefire]:
        return [
            c
            for c in self.ceasefires
            if not c.retracted and (conflict is None or c.conflict == conflict)
        ]

    def of_types(self, conflict: str, *types: str) -> list[Event]:
        return [e for e in self.events if e["conflict"] == conflict and e["type"] in types]

    def by_id(self, event_id: str) -> Event:
        return next(e for e in self.events if e["event_id"] == event_id)


OBSERVED = (
    "strike",
    "shelling",
    "clash",
    "ceasefire_agreed",
    "ceasefire_breached",
    "ceasefire_ended",
    "casualty_report",
    "statement",
)


@st.composite
def when(draw: st.DrawFn) -> dict[str, str]:
    return {
        "occurred_at": moment(draw(st.integers(0, 150))),
        "time_precision": draw(st.sampled_from(PRECISIONS)),
    }


@st.composite
def changes_for(draw: st.DrawFn, target: Event) -> dict[str, Any]:
    """A valid ``changes`` object for a correction of ``target``."""
    kind = target["type"]
    options: list[dict[str, Any]] = [{"occurred_at": moment(draw(st.integers(0, 150)))}]
    actor = draw(st.sampled_from(ACTORS))
    if kind in ("strike", "shelling"):
        killed = draw(st.integers(0, 9))
        options += [{"perpetrator": actor}, {"perpetrator": None}, {"killed": killed}]
    elif kind == "clash":
        options += [{"initiator": draw(st.sampled_from(target["parties"]))}, {"initiator": None}]
    elif kind == "ceasefire_agreed":
        options += [
            {"effective_at": moment(draw(st.integers(0, 150)))},
            {"ends_at": moment(draw(st.integers(0, 160)))},
            {"ends_at": None},
        ]
    elif kind == "ceasefire_breached":
        options += [{"accused": actor}]
    elif kind == "ceasefire_ended":
        options += [{"reason": draw(st.sampled_from(["collapsed", "terminated"]))}]
    elif kind == "casualty_report":
        options += [{"killed": draw(st.integers(0, 9))}]
    elif kind == "statement":
        options += [{"text": draw(st.sampled_from(["Calm.", "Shots fired."]))}]
    changes: dict[str, Any] = draw(st.sampled_from(options))
    if draw(st.booleans()):
        changes = {**changes, "time_precision": draw(st.sampled_from(PRECISIONS))}
    return changes


@st.composite
def next_event(draw: st.DrawFn, state: LogState) -> Event:
    """One more valid event; a kind the log cannot take yet becomes a strike."""
    event_id = state.next_id()
    kind = draw(st.sampled_from(KINDS))
    conflict = draw(st.sampled_from(CONFLICTS))
    if kind in ("ceasefire_breached", "ceasefire_ended") and state.live_ceasefires():
        conflict = draw(st.sampled_from(state.live_ceasefires())).conflict
    base: Event = {"event_id": event_id, "conflict": conflict, **draw(when())}
    actor = draw(st.sampled_from(ACTORS))
    live = state.live_ceasefires(conflict)
    incidents = state.of_types(conflict, "strike", "shelling", "clash")

    if kind == "ceasefire_agreed":
        agreed = draw(st.integers(0, 100))
        ceasefire_id = f"truce-{len(state.events) + 1}"
        event = {
            **base,
            "type": kind,
            "occurred_at": moment(agreed),
            "ceasefire_id": ceasefire_id,
            "parties": draw(st.lists(st.sampled_from(ACTORS), min_size=1, max_size=3, unique=True)),
            "effective_at": moment(agreed + draw(st.integers(-12, 30))),
        }
        if draw(st.booleans()):
            event["ends_at"] = moment(agreed + draw(st.integers(0, 120)))
        state.ceasefires.append(Ceasefire(conflict, ceasefire_id, event_id))
        return event
    if kind == "ceasefire_breached" and live:
        ceasefire = draw(st.sampled_from(live))
        event = {**base, "type": kind, "ceasefire_id": ceasefire.ceasefire_id, "accused": actor}
        if draw(st.booleans()) and incidents:
            event["incident_event_id"] = draw(st.sampled_from(incidents))["event_id"]
        return event
    unended = [c for c in live if c.ended_by is None]
    if kind == "ceasefire_ended" and unended:
        ceasefire = draw(st.sampled_from(unended))
        ceasefire.ended_by = event_id
        return {
            **base,
            "type": kind,
            "ceasefire_id": ceasefire.ceasefire_id,
            "reason": draw(st.sampled_from(["collapsed", "terminated"])),
        }
    if kind == "casualty_report":
        event = {**base, "type": kind, "killed": draw(st.integers(0, 9)), "party": actor}
        if draw(st.booleans()) and incidents:
            event["about_event_id"] = draw(st.sampled_from(incidents))["event_id"]
        return event
    if kind == "statement":
        return {**base, "type": kind, "speaker": actor, "text": "We hold the line."}
    observed = state.of_types(conflict, *OBSERVED)
    if kind == "correction" and observed:
        target = draw(st.sampled_from(observed))
        return {
            **base,
            "type": kind,
            "corrects_event_id": target["event_id"],
            "changes": draw(changes_for(target)),
        }
    retractable = [
        e
        for e in state.of_types(conflict, *OBSERVED, "correction")
        if e["event_id"] not in state.retracted
    ]
    if kind == "retraction" and retractable:
        target = draw(st.sampled_from(retractable))
        state.retracted.add(target["event_id"])
        for ceasefire in state.ceasefires:
            if ceasefire.agreed_by == target["event_id"]:
                ceasefire.retracted = True  # nothing may name it any more
            if ceasefire.ended_by == target["event_id"]:
                ceasefire.ended_by = None  # it may be ended again
        return {**base, "type": kind, "retracts_event_id": target["event_id"], "reason": "wrong"}
    if kind == "clash":
        parties = draw(st.lists(st.sampled_from(ACTORS), min_size=2, max_size=3, unique=True))
        event = {**base, "type": kind, "parties": parties}
        if draw(st.booleans()):
            event["initiator"] = draw(st.sampled_from(parties))
        return event
    event = {**base, "type": "shelling" if kind == "shelling" else "strike"}
    if draw(st.integers(0, 4)):
        event["perpetrator"] = draw(st.sampled_from((*ACTORS, "Outsiders")))
    if draw(st.booleans()):
        event["killed"] = draw(st.integers(0, 9))
    return event


@st.composite
def logs(draw: st.DrawFn) -> list[Event]:
    state = LogState()
    for _ in range(draw(st.integers(1, 16))):
        state.events.append(draw(next_event(state)))
    return state.events


def project(app: Truceline, path: Path, *, until: int | None = None, page: int = 1000) -> ReadModel:
    read_model = ReadModel(path)
    Follower(app, read_model, page_size=page, until=until).catch_up()
    return read_model


def answers(read_model: ReadModel, log: list[Event], as_of: int | None) -> dict[str, Any]:
    """Every question the property compares, asked of one read model."""
    ceasefire_ids = sorted(
        {(e["conflict"], e["ceasefire_id"]) for e in log if e["type"] == "ceasefire_agreed"}
    )
    with read_model.reading() as db:
        return {
            "timeline": [
                queries.timeline_page(db, TimelineFilter(include_retracted=r), 1000, None, as_of)
                for r in (True, False)
            ],
            "ceasefires": [queries.ceasefire_list(db, None, at, as_of) for at in ATS],
            "by_id": [
                queries.ceasefire_status(db, conflict, ceasefire_id, at, as_of)
                for conflict, ceasefire_id in ceasefire_ids
                for at in ATS
            ],
            "conflicts": [
                queries.conflict_status(db, conflict, at, as_of)
                for conflict in CONFLICTS
                for at in ATS
            ],
        }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(log=logs(), data=st.data())
def test_as_of_p_answers_as_the_log_cut_at_p(log: list[Event], data: st.DataObject) -> None:
    positions = data.draw(
        st.lists(st.integers(0, len(log)), min_size=1, max_size=3, unique=True), label="P"
    )
    page = data.draw(st.sampled_from([1, 3, 1000]), label="page size")
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        app = Truceline(Settings(database_url=f"sqlite:///{directory}/log.db"))
        try:
            assert app.import_events(enumerate(log, start=1), "property") == len(log)
            full = project(app, directory / "full.db", page=page)
            try:
                for position in positions:
                    cut = project(app, directory / f"cut-{position}.db", until=position)
                    try:
                        assert cut.position() == position
                        assert answers(full, log, position) == answers(cut, log, None), position
                    finally:
                        cut.close()
            finally:
                full.close()
        finally:
            app.close()
