"""One ACLED row to one Truceline envelope, as docs/acled.md ("The mapping") says.

Pure functions: no file, no log. A row that maps to no Truceline type is a
:class:`Skipped` with the reason it is counted under.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pycountry
import tzfpy

from truceline.interop.acled.reading import Row, parse_date

# Every event id derived from ACLED lives in this namespace: uuid5(NAMESPACE, "acled:<id>").
NAMESPACE = uuid.UUID("5d3d9c1e-5a0c-5b3c-9a8e-0aced0aced00")
SUB_EVENT_TYPES = {
    "Shelling/artillery/missile attack": "shelling",
    "Air/drone strike": "strike",
    "Armed clash": "clash",
}
PRECISIONS = {"1": "day", "2": "week", "3": "month"}
SUMMARY_LIMIT = 2000
CUT_MARK = " [...]"
# Columns the envelope holds; every other non-empty column travels in external.fields.
MAPPED = frozenset(
    {
        "event_id_cnty",
        "event_date",
        "time_precision",
        "actor1",
        "actor2",
        "fatalities",
        "location",
        "admin1",
        "latitude",
        "longitude",
        "source",
        "notes",
        "_index",
    }
)


@dataclass(frozen=True)
class Skipped:
    """A row that is no Truceline event, and why (what the summary counts it under)."""

    reason: str


def event_id(acled_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"acled:{acled_id}"))


def envelope(
    row: Row, conflict: str | None = None, actors: dict[str, str] | None = None
) -> dict[str, Any] | Skipped:
    """The envelope a client would post for this row (times local, with their zone)."""
    kind = _kind(row)
    if isinstance(kind, Skipped):
        return kind
    rename = actors or {}
    actor1, actor2 = (rename.get(row.get(k, ""), row.get(k, "")) for k in ("actor1", "actor2"))
    own = _own_fields(kind, actor1, actor2)
    if isinstance(own, Skipped):
        return own
    day = parse_date(row["event_date"])
    location, zone = _location(row)
    event: dict[str, Any] = {
        "type": kind,
        "event_id": event_id(row["event_id_cnty"]),
        "conflict": conflict or derived_conflict(row),
        "occurred_at": f"{day.isoformat()}T00:00:00",
        "timezone": zone,
        "time_precision": PRECISIONS.get(row.get("time_precision", ""), "day"),
        **own,
    }
    if location is not None:
        event["location"] = location
    if row.get("fatalities"):
        event["killed"] = int(float(row["fatalities"]))
    event.update(_text_fields(row))
    return event


def _kind(row: Row) -> str | Skipped:
    sub = row.get("sub_event_type", "")
    if sub:
        return SUB_EVENT_TYPES.get(sub) or Skipped(sub)
    event_type = row.get("event_type", "")
    if event_type.startswith("Battle"):  # version 5: battles of every outcome
        return "clash"
    return Skipped(event_type or "(no event type)")


def _own_fields(kind: str, actor1: str, actor2: str) -> dict[str, Any] | Skipped:
    if kind == "clash":
        if not actor1 or not actor2 or actor1 == actor2:
            return Skipped("Armed clash without two actors")
        return {"parties": [actor1, actor2]}
    own = {"perpetrator": actor1} if actor1 else {}
    if actor2:
        own["target"] = actor2
    return own


def derived_conflict(row: Row) -> str:
    """``acled-`` and the country's name as a slug, without ``--conflict``."""
    slug = re.sub(r"[^a-z0-9]+", "-", row.get("country", "").lower()).strip("-")
    return f"acled-{slug or 'unknown'}"[:64].rstrip("-")


def _location(row: Row) -> tuple[dict[str, Any] | None, str]:
    """The location, and the IANA zone at its coordinates (else the country's)."""
    country = alpha2(row)
    location: dict[str, Any] = {}
    if row.get("location"):
        location["name"] = row["location"]
        if row.get("admin1"):
            location["admin1"] = row["admin1"]
        if country:
            location["country"] = country
    lat, lon = _number(row.get("latitude")), _number(row.get("longitude"))
    zone = None
    if lat is not None and lon is not None:
        zone = tzfpy.get_tz(lon, lat) or None
        if location:
            location["lat"], location["lon"] = lat, lon
    return (location or None), (zone or country_zone(country) or "UTC")


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def alpha2(row: Row) -> str | None:
    """The ISO 3166-1 alpha-2 code of the row's country: from ``iso`` (numeric),
    ``iso3`` or the country's name."""
    found = None
    if row.get("iso", "").isdigit():
        found = pycountry.countries.get(numeric=f"{int(row['iso']):03d}")
    if found is None and row.get("iso3"):
        found = pycountry.countries.get(alpha_3=row["iso3"].upper())
    if found is None and row.get("country"):
        try:
            found = pycountry.countries.lookup(row["country"])
        except LookupError:
            found = None
    return None if found is None else str(found.alpha_2)


@cache
def _country_zones() -> dict[str, str]:
    """Each country's first zone in tzdata's zone.tab (what a row without coordinates
    is read in)."""
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    zones: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, name, *_ = line.split("\t")
            zones.setdefault(code, name)
    return zones


def country_zone(country: str | None) -> str | None:
    return _country_zones().get(country) if country else None


def _text_fields(row: Row) -> dict[str, Any]:
    """``sources``, ``summary`` and ``external``."""
    out: dict[str, Any] = {}
    names = [name.strip() for name in row.get("source", "").split(";") if name.strip()]
    if names:
        out["sources"] = [{"name": name[:200]} for name in dict.fromkeys(names)]
    fields = {k: v for k, v in row.items() if k not in MAPPED and v and _field_name(k)}
    notes = row.get("notes", "")
    if notes:
        out["summary"] = notes
        if len(notes) > SUMMARY_LIMIT:  # cut, saying so; the whole text travels in fields
            out["summary"] = notes[: SUMMARY_LIMIT - len(CUT_MARK)] + CUT_MARK
            fields["notes"] = notes
    external: dict[str, Any] = {"source": "acled", "id": row["event_id_cnty"]}
    if fields:
        external["fields"] = dict(sorted(fields.items()))
    out["external"] = external
    return out


def _field_name(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_]{1,64}", name) is not None
