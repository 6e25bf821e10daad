"""A status as_of, looked up in the versioned ceasefire and breach rows, answers as the
rules do when run on every incident of the timeline as it stood.

Hypothesis draws histories (those of test_order_independence.py) and the size of the
pages they are projected in (one event a page: no run holds two touches of an incident;
one page: many do, and their earlier versions come from the timeline as it stood). For
each position of the log as ``as_of``, each ceasefire and each instant that matters, the
answer must equal the rules run on every incident of the period.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.projections.test_order_independence import CONFLICT, History, histories, projected
from truceline.domain.ceasefires import status_at
from truceline.projections import queries
from truceline.projections.ceasefires import View, all_incidents, lifecycle


def every_incident_read(
    db: sqlite_utils.Database, ceasefire_id: str, at: int, as_of: int
) -> dict[str, Any] | None:
    """The status as the rules give it from every incident of the period."""
    view = View(db, as_of)
    ceasefires, periods = lifecycle(view, CONFLICT)
    for ceasefire in ceasefires:
        if ceasefire.ceasefire_id == ceasefire_id:
            period = periods[ceasefire_id]
            return status_at(ceasefire, period, all_incidents(view, ceasefire, period), at)
    return None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), page_size=st.sampled_from([1, 3, 1000]))
def test_a_status_as_of_answers_as_the_rules_on_every_incident_do(
    history: History, page_size: int
) -> None:
    with (
        tempfile.TemporaryDirectory() as directory,
        projected(Path(directory), "log", history.events, None, page_size) as read_model,
        read_model.reading() as db,
    ):
        for as_of in range(1, len(history.events)):
            for ceasefire_id in history.ceasefire_ids:
                for at in history.instants():
                    assert queries.ceasefire_status(
                        db, CONFLICT, ceasefire_id, at, as_of=as_of
                    ) == every_incident_read(db, ceasefire_id, at, as_of), (as_of, at)
