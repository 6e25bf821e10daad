"""Timeline items out in ACLED's layout: the current export's 31 columns (docs/acled.md).

The mapping is the import mapping read backwards, so that an imported file exported and
imported again gives the same events. Columns the event maps (date, precision, actors,
place, sources, notes, fatalities) come from the item, that is the event as corrected;
every other column comes from ``external.fields`` of an ACLED-derived item
(``external.source == "acled"``). The fields of another dataset's ``external`` are never
written: their names mean nothing in ACLED's layout.

How values are written:

- ``event_date`` is ``YYYY-MM-DD``, the date of ``occurred_at`` in the item's
  ``timezone`` (UTC without one); ``year`` is that date's year.
- ``latitude`` and ``longitude`` are Python's ``repr`` of the float (``40.6828``; a whole
  number keeps its ``.0``, ``45.0``), which reads back as exactly the same float.
- ``iso`` is the ISO 3166-1 numeric code as an integer (``31``, as ACLED writes it);
  ``country`` the pycountry common name when it has one (``Iran``), else its name.
- ``fatalities`` is ``killed``; without one, empty for an ACLED row (its layout had no
  such column) and ``0`` for a row of ours.
- An ACLED row's ``disorder_type``, ``event_type``, ``sub_event_type``, ``country`` and
  ``iso`` are ACLED's own (empty where its layout had none); a row of ours gets those
  ACLED would give its type and country. Columns of older layouts (``data_id``,
  ``event_id_no_cnty``, ``iso3``, ``gwno``) follow the current 31.
- Text is written as it is: no spreadsheet-formula guard (``'``) as in the timeline's own
  CSV, since that would change the text an import reads back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import UTC, date
from typing import Any, TextIO

import pycountry

from truceline.domain.times import parse_utc, zone
from truceline.interop.acled.mapping import alpha2

ACLED_COLUMNS = (
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
)

# Columns of older layouts an imported event may carry in its fields: written after the
# current 31, so that such a file exported re-imports as the same events.
LEGACY_COLUMNS = ("data_id", "event_id_no_cnty", "iso3", "gwno")
EXPORT_COLUMNS = ACLED_COLUMNS + LEGACY_COLUMNS

ATTRIBUTION = (
    "Data from the Armed Conflict Location & Event Data Project (ACLED), acleddata.com, "
    "for rows whose event_id_cnty came from ACLED"
)

# Each exported type's event type and sub-event type when ACLED's own are not known.
ACLED_TYPES: dict[str, tuple[str, str]] = {
    "clash": ("Battles", "Armed clash"),
    "shelling": ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    "strike": ("Explosions/Remote violence", "Air/drone strike"),
}
_PRECISIONS = {"day": "1", "week": "2", "month": "3"}
_CUT = " [...]"  # how the import marks a summary cut from longer notes


def is_acled(item: dict[str, Any]) -> bool:
    """Whether the item came from ACLED (its ``external.source`` is ``acled``)."""
    external = item.get("external") or {}
    return bool(external.get("source") == "acled")


def needs_attribution(items: Iterable[dict[str, Any]]) -> bool:
    """Whether any of ``items`` becomes an ACLED-derived row, which ACLED's terms ask
    to attribute."""
    return any(item.get("type") in ACLED_TYPES and is_acled(item) for item in items)


def exported_types(requested: Sequence[str]) -> tuple[str, ...]:
    """The item types an ACLED page reads: those requested that ACLED's layout holds (all
    three when none is requested). None of them: the request as it is (no rows)."""
    wanted = tuple(kind for kind in (requested or sorted(ACLED_TYPES)) if kind in ACLED_TYPES)
    return wanted or tuple(requested)


def acled_row(item: dict[str, Any]) -> dict[str, str] | None:
    """The ACLED row of a timeline item, every column of :data:`ACLED_COLUMNS` as text;
    None for an item that is not a strike, shelling or clash."""
    kind = item.get("type")
    if kind not in ACLED_TYPES:
        return None
    acled = is_acled(item)
    fields: dict[str, str] = dict(item["external"].get("fields") or {}) if acled else {}
    day = _local_date(item)
    # An ACLED row keeps ACLED's own values, empty where its layout had none; a row of
    # ours gets the values ACLED would give its type.
    event_type, sub_event_type = ("", "") if acled else ACLED_TYPES[kind]
    row = {name: fields.get(name, "") for name in EXPORT_COLUMNS}
    row.update(
        event_id_cnty=_event_id_cnty(item),
        event_date=day.isoformat(),
        year=str(day.year),
        time_precision=_PRECISIONS.get(item.get("time_precision", ""), "1"),
        disorder_type=fields.get("disorder_type", "" if acled else "Political violence"),
        event_type=fields.get("event_type", event_type),
        sub_event_type=fields.get("sub_event_type", sub_event_type),
        source="; ".join(source["name"] for source in item.get("sources") or []),
        notes=_notes(item.get("summary"), fields.get("notes")),
        fatalities=str(item["killed"]) if "killed" in item else ("" if acled else "0"),
    )
    row.update(_actors(item))
    row.update(_place(item.get("location") or {}, fields))
    return row


def write_csv(items: Iterable[dict[str, Any]], out: TextIO, *, comment: bool) -> int:
    """Write the ACLED header and one row per exportable item to ``out``; with
    ``comment``, first the line ``# <ATTRIBUTION>``. Returns the number of rows."""
    if comment:
        out.write(f"# {ATTRIBUTION}\r\n")
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    count = 0
    for item in items:
        row = acled_row(item)
        if row is not None:
            writer.writerow(row)
            count += 1
    return count


def _event_id_cnty(item: dict[str, Any]) -> str:
    """ACLED's id of an ACLED-derived item; else ``TL`` and the first 12 hex digits of the
    event id, upper-case."""
    if is_acled(item):
        return str(item["external"]["id"])
    return "TL" + str(item["event_id"]).replace("-", "")[:12].upper()


def _local_date(item: dict[str, Any]) -> date:
    """The date of ``occurred_at`` where the event happened (UTC without a zone)."""
    moment = parse_utc(item["occurred_at"])
    timezone = item.get("timezone")
    return moment.astimezone(zone(timezone) if timezone else UTC).date()


def _notes(summary: str | None, notes: str | None) -> str:
    """The whole notes when the summary is the import's cut of them; else the summary
    (which a correction may have changed since)."""
    if summary is None:
        return ""
    if notes and summary.endswith(_CUT) and notes.startswith(summary.removesuffix(_CUT)):
        return notes
    return summary


def _actors(item: dict[str, Any]) -> dict[str, str]:
    """``actor1`` and ``actor2``: perpetrator and target, or a clash's first two parties."""
    if item["type"] == "clash":
        parties = [*item.get("parties", []), "", ""]
        return {"actor1": parties[0], "actor2": parties[1]}
    return {"actor1": item.get("perpetrator", ""), "actor2": item.get("target", "")}


def _place(location: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
    """The place columns from the item's location, ``country`` and ``iso`` included."""
    return {
        "location": location.get("name", ""),
        "admin1": location.get("admin1", ""),
        "latitude": repr(float(location["lat"])) if "lat" in location else "",
        "longitude": repr(float(location["lon"])) if "lon" in location else "",
        **_country(location.get("country"), fields),
    }


def _country(alpha_2: str | None, fields: dict[str, str]) -> dict[str, str]:
    """``country`` and ``iso``: ACLED's own while they name the item's country (or one
    pycountry does not know); the item's country's otherwise, as when a correction
    changed ``location.country``, and for a column ACLED's fields lack."""
    given: dict[str, str] = {key: fields[key] for key in ("country", "iso") if key in fields}
    if alpha_2 is None:
        return {"country": "", "iso": "", **given}
    named = alpha2(fields)  # the country ACLED's own columns name
    if named == alpha_2:  # ACLED's own, as its layout wrote them
        return {"country": fields.get("country", ""), "iso": fields.get("iso", "")}
    if named is not None:
        given = {}
    country = pycountry.countries.get(alpha_2=alpha_2)
    if country is None:  # not from this service: every stored code is pycountry's
        return {"country": "", "iso": "", **given}
    name = str(getattr(country, "common_name", country.name))
    return {"country": name, "iso": str(int(country.numeric)), **given}
