"""A seeded generator of realistic conflict logs for the benchmarks.

Several conflicts run side by side, each with its parties, a stream of strikes, shelling
and clashes, ceasefires that are agreed, breached, reported on, superseded or collapse,
statements, casualty reports and displacement, and a trickle of corrections and
retractions. Events come roughly in time order, with some recorded late. The same seed
gives the same log.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

PRECISIONS = ["exact"] * 12 + ["minute", "hour", "hour", "day", "day", "approximate", "week"]
ZONES = ["Asia/Baku", "Europe/Kyiv", "Africa/Khartoum", "Asia/Yangon", "Asia/Gaza", None]
PLACES = [
    ("Ganja", 40.68, 46.36),
    ("Stepanakert", 39.82, 46.75),
    ("Tartar", 40.34, 46.93),
    ("Shusha", 39.76, 46.75),
    ("Fuzuli", 39.60, 47.15),
    ("Aghdam", 39.99, 46.93),
]


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(count: int, seed: int = 2020, conflicts: int = 8) -> Iterator[dict[str, Any]]:
    """``count`` valid envelopes, each naming only events generated before it."""
    rng = random.Random(seed)
    start = datetime(2020, 9, 27, tzinfo=UTC)
    states = [
        {
            "slug": f"conflict-{n}",
            "parties": [f"Party {n}-A", f"Party {n}-B"] + ([f"Party {n}-C"] if n % 3 == 0 else []),
            "zone": ZONES[n % len(ZONES)],
            "clock": start + timedelta(hours=n),
            "ceasefire": None,  # (ceasefire_id, ended?)
            "ceasefires": 0,
            "incidents": [],
            "observed": [],
        }
        for n in range(conflicts)
    ]
    for _ in range(count):
        state = rng.choice(states)
        state["clock"] += timedelta(minutes=rng.randint(1, 240))
        when = state["clock"] - timedelta(hours=rng.choice([0] * 9 + [rng.randint(1, 72)]))
        yield _event(rng, state, when)


def _envelope(
    rng: random.Random, state: dict[str, Any], kind: str, when: datetime
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "event_id": _id(rng),
        "conflict": state["slug"],
        "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sources": [
            {
                "name": rng.choice(
                    ["Ministry of Defence", "local monitors", "DW", "a news agency", "OSCE"]
                )
            }
        ],
    }
    if kind not in ("correction", "retraction"):
        event["time_precision"] = rng.choice(PRECISIONS)
        if state["zone"]:
            event["timezone"] = state["zone"]
        place, lat, lon = rng.choice(PLACES)
        event["location"] = {
            "name": place,
            "lat": lat + rng.uniform(-0.05, 0.05),
            "lon": lon + rng.uniform(-0.05, 0.05),
        }
    return event


def _event(rng: random.Random, state: dict[str, Any], when: datetime) -> dict[str, Any]:
    roll = rng.random()
    parties = state["parties"]
    ceasefire = state["ceasefire"]
    if ceasefire is None and roll < 0.01:
        state["ceasefires"] += 1
        ceasefire_id = f"truce-{state['ceasefires']}"
        event = _envelope(rng, state, "ceasefire_agreed", when)
        members = parties if rng.random() < 0.7 else rng.sample(parties, 2)
        event.update(
            ceasefire_id=ceasefire_id,
            parties=members,
            mediators=["Mediator"],
            effective_at=(when + timedelta(hours=rng.randint(0, 24))).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            time_precision="exact",
        )
        state["ceasefire"] = ceasefire_id
        return event
    if ceasefire is not None and roll < 0.004:
        event = _envelope(rng, state, "ceasefire_ended", when)
        event.update(
            ceasefire_id=ceasefire,
            reason=rng.choice(["collapsed", "terminated"]),
            time_precision="exact",
        )
        state["ceasefire"] = None
        return event
    if ceasefire is not None and roll < 0.06:
        event = _envelope(rng, state, "ceasefire_breached", when)
        event.update(
            ceasefire_id=ceasefire, accused=rng.choice(parties), reported_by=rng.choice(parties)
        )
        if state["incidents"] and rng.random() < 0.6:
            event["incident_event_id"] = rng.choice(state["incidents"][-50:])
        return event
    if state["observed"] and roll < 0.07:
        event = _envelope(rng, state, "correction", when)
        event.update(
            corrects_event_id=rng.choice(state["observed"][-200:]),
            changes={"summary": "figures revised"},
        )
        return event
    if len(state["observed"]) > 10 and roll < 0.075:
        target = state["observed"].pop(rng.randrange(len(state["observed"]) - 10))
        if target in state["incidents"]:
            state["incidents"].remove(target)
        event = _envelope(rng, state, "retraction", when)
        event.update(retracts_event_id=target, reason="could not be verified")
        return event
    if roll < 0.10:
        event = _envelope(rng, state, "statement", when)
        event.update(speaker=rng.choice(parties), text="We accuse the other side.")
    elif roll < 0.12:
        event = _envelope(rng, state, "displacement", when)
        event.update(displaced=rng.randint(100, 50_000))
    elif roll < 0.15:
        event = _envelope(rng, state, "casualty_report", when)
        event.update(killed=rng.randint(0, 40), party=rng.choice(parties))
    else:
        kind = rng.choice(["strike", "shelling", "shelling", "clash"])
        event = _envelope(rng, state, kind, when)
        actor = rng.choice([*parties, "Unknown armed group"])
        if kind == "clash":
            event["parties"] = rng.sample(parties, 2)
            if rng.random() < 0.5:
                event["initiator"] = event["parties"][0]
        else:
            event["perpetrator"] = actor
        event["killed"] = rng.randint(0, 12)
        state["incidents"].append(event["event_id"])
        state["incidents"] = state["incidents"][-500:]
    state["observed"].append(event["event_id"])
    state["observed"] = state["observed"][-1000:]
    return event
