"""What the ACLED fixtures (tests/interop/fixtures/acled/README.md) must give: the path of
the fixtures, ACLED's actors spelled out, the envelopes of current.csv's seven mapped rows
(``CURRENT_ENVELOPES``), how the log stores them (``stored``), and a Summary as one dict
(``counts``). Shared by the ACLED reading, mapping, import and command-line tests.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from truceline.interop.acled.importing import Summary

FIXTURES = Path(__file__).parent / "fixtures" / "acled"
CONFLICT = "nagorno-karabakh-2020"
# docs/acled.md: every event id derived from ACLED is uuid5 of "acled:<event_id_cnty>" here.
NAMESPACE = uuid.UUID("5d3d9c1e-5a0c-5b3c-9a8e-0aced0aced00")

ARM = "Military Forces of Armenia (2018-)"
AZE = "Military Forces of Azerbaijan (1993-)"
RUS = "Military Forces of Russia (2000-)"
UKR = "Military Forces of Ukraine (2019-)"
SAF = "Military Forces of Sudan (2019-)"
RSF = "Rapid Support Forces"
NKR = "Military Forces of Nagorno-Karabakh (1992-)"
ACTOR_MAP = {
    ARM: "Armenia",
    AZE: "Azerbaijan",
    RUS: "Russia",
    UKR: "Ukraine",
    SAF: "Sudanese Armed Forces",
    RSF: "RSF",
}

# The 31 columns of the current export, in their order (docs/acled.md).
CURRENT_COLUMNS = [
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
]
CURRENT_IDS = [
    "AZE1150",
    "ARM1412",
    "AZE1187",
    "AZE1201",
    "UKR12345",
    "UKR12388",
    "UKR12400",
    "SDN23456",
    "SDN23498",
    "SDN23610",
]
CURRENT_SKIPPED = {"Remote explosive/landmine/IED": 1, "Peaceful protest": 1, "Attack": 1}
CURRENT_SKIPPED_ROWS = {
    "UKR12388": "Remote explosive/landmine/IED",
    "UKR12400": "Peaceful protest",
    "SDN23498": "Attack",
}

GANJA_NOTES = (
    "On 17 October 2020, around 03:00, Armenian forces fired missiles at Ganja (Ganja, "
    "Ganja-Gazakh), hitting a residential area near the city centre.\n"
    "According to the Prosecutor General's office, 13 civilians were killed and over 50 "
    "injured, including children. Armenia denied firing at the city."
)


def acled_event_id(acled_id: str) -> str:
    """The event id docs/acled.md gives the row ``acled_id``."""
    return str(uuid.uuid5(NAMESPACE, f"acled:{acled_id}"))


def _caucasus(**fields: str) -> dict[str, str]:
    return {
        "country": "Azerbaijan",
        "disorder_type": "Political violence",
        "iso": "31",
        "region": "Caucasus and Central Asia",
        "source_scale": "National",
        "year": "2020",
        **fields,
    }


# envelope(row, CONFLICT) of each mapped row of current.csv, in file order.
CURRENT_ENVELOPES: dict[str, dict[str, Any]] = {
    "AZE1150": {
        "type": "clash",
        "event_id": acled_event_id("AZE1150"),
        "conflict": CONFLICT,
        "occurred_at": "2020-09-27T00:00:00",
        "timezone": "Asia/Baku",
        "time_precision": "day",
        "parties": [AZE, ARM],
        "location": {
            "name": "Hadrut",
            "admin1": "Yukhari-Karabakh",
            "country": "AZ",
            "lat": 39.52,
            "lon": 47.03,
        },
        "killed": 24,
        "sources": [{"name": "Ministry of Defence of Azerbaijan"}, {"name": "Armenpress"}],
        "summary": (
            "On 27 September 2020, Azerbaijani forces clashed with Armenian and "
            "Nagorno-Karabakh forces near Hadrut (Khojavend, Yukhari-Karabakh) along the "
            "southern section of the line of contact. Both sides reported losses; 24 "
            "fatalities coded from the sides' lists."
        ),
        "external": {
            "source": "acled",
            "id": "AZE1150",
            "fields": _caucasus(
                admin2="Khojavend",
                assoc_actor_2=NKR,
                event_type="Battles",
                geo_precision="2",
                inter1="1",
                inter2="1",
                interaction="11",
                sub_event_type="Armed clash",
                timestamp="1604437213",
            ),
        },
    },
    "ARM1412": {
        "type": "strike",
        "event_id": acled_event_id("ARM1412"),
        "conflict": CONFLICT,
        "occurred_at": "2020-09-29T00:00:00",
        "timezone": "Asia/Yerevan",
        "time_precision": "week",
        "perpetrator": AZE,
        "target": ARM,
        "location": {
            "name": "Vardenis",
            "admin1": "Gegharkunik",
            "country": "AM",
            "lat": 40.1833,
            "lon": 45.73,
        },
        "killed": 1,
        "sources": [{"name": "Ministry of Defence of Armenia"}],
        "summary": (
            "During the week of 29 September 2020, an Azerbaijani drone struck a vehicle of "
            "the Armenian security forces on the road near Vardenis (Vardenis, Gegharkunik), "
            "killing 1. Azerbaijan denied attacking the territory of Armenia."
        ),
        "external": {
            "source": "acled",
            "id": "ARM1412",
            "fields": _caucasus(
                admin2="Vardenis",
                country="Armenia",
                event_type="Explosions/Remote violence",
                geo_precision="2",
                inter1="1",
                inter2="1",
                interaction="11",
                iso="51",
                sub_event_type="Air/drone strike",
                timestamp="1604521877",
            ),
        },
    },
    "AZE1187": {
        "type": "shelling",
        "event_id": acled_event_id("AZE1187"),
        "conflict": CONFLICT,
        "occurred_at": "2020-10-04T00:00:00",
        "timezone": "Asia/Baku",
        "time_precision": "day",
        "perpetrator": AZE,
        "location": {
            "name": "Stepanakert",
            "admin1": "Yukhari-Karabakh",
            "country": "AZ",
            "lat": 39.8153,
            "lon": 46.7519,
        },
        "killed": 0,
        "sources": [{"name": "Armenpress"}],
        "summary": (
            "On 4 October 2020, Azerbaijani forces shelled Stepanakert (Khankendi, "
            "Yukhari-Karabakh). Damage to residential buildings and the power grid was "
            "reported. No fatalities reported."
        ),
        "external": {
            "source": "acled",
            "id": "AZE1187",
            "fields": _caucasus(
                admin2="Khankendi",
                event_type="Explosions/Remote violence",
                geo_precision="1",
                inter1="1",
                inter2="0",
                interaction="10",
                sub_event_type="Shelling/artillery/missile attack",
                timestamp="1604437213",
            ),
        },
    },
    "AZE1201": {
        "type": "shelling",
        "event_id": acled_event_id("AZE1201"),
        "conflict": CONFLICT,
        "occurred_at": "2020-10-17T00:00:00",
        "timezone": "Asia/Baku",
        "time_precision": "day",
        "perpetrator": ARM,
        "target": "Civilians (Azerbaijan)",
        "location": {
            "name": "Ganja",
            "admin1": "Ganja-Gazakh",
            "country": "AZ",
            "lat": 40.6828,
            "lon": 46.3606,
        },
        "killed": 13,
        "sources": [{"name": "Azertac"}, {"name": "Trend News Agency"}],
        "summary": GANJA_NOTES,
        "external": {
            "source": "acled",
            "id": "AZE1201",
            "fields": _caucasus(
                admin2="Ganja",
                civilian_targeting="Civilian targeting",
                event_type="Explosions/Remote violence",
                geo_precision="1",
                inter1="1",
                inter2="7",
                interaction="17",
                sub_event_type="Shelling/artillery/missile attack",
                timestamp="1604437213",
            ),
        },
    },
    "UKR12345": {
        "type": "shelling",
        "event_id": acled_event_id("UKR12345"),
        "conflict": CONFLICT,
        "occurred_at": "2022-03-02T00:00:00",
        "timezone": "Europe/Kyiv",
        "time_precision": "day",
        "perpetrator": RUS,
        "target": "Civilians (Ukraine)",
        "location": {
            "name": "Kharkiv",
            "admin1": "Kharkiv",
            "country": "UA",
            "lat": 49.9935,
            "lon": 36.2304,
        },
        "killed": 3,
        "sources": [
            {"name": "Ukrainska Pravda"},
            {"name": "Kharkiv Regional State Administration"},
        ],
        "summary": (
            "On 2 March 2022, Russian forces shelled residential areas of Kharkiv city "
            "(Kharkivskyi, Kharkiv) with multiple rocket launchers. Civilian casualties were "
            "reported in the Saltivka and Pivnichna Saltivka districts."
        ),
        "external": {
            "source": "acled",
            "id": "UKR12345",
            "fields": {
                "admin2": "Kharkivskyi",
                "admin3": "Kharkivska",
                "civilian_targeting": "Civilian targeting",
                "country": "Ukraine",
                "disorder_type": "Political violence",
                "event_type": "Explosions/Remote violence",
                "geo_precision": "1",
                "inter1": "8",
                "inter2": "7",
                "interaction": "78",
                "iso": "804",
                "region": "Europe",
                "source_scale": "Subnational-National",
                "sub_event_type": "Shelling/artillery/missile attack",
                "timestamp": "1646687145",
                "year": "2022",
            },
        },
    },
    "SDN23456": {
        "type": "strike",
        "event_id": acled_event_id("SDN23456"),
        "conflict": CONFLICT,
        "occurred_at": "2023-04-16T00:00:00",
        "timezone": "Africa/Khartoum",
        "time_precision": "day",
        "perpetrator": SAF,
        "target": RSF,
        "location": {
            "name": "Kafouri",
            "admin1": "Khartoum",
            "country": "SD",
            "lat": 15.64,
            "lon": 32.53,
        },
        "killed": 12,
        "sources": [{"name": "Sudan Tribune"}, {"name": "Radio Dabanga"}],
        "summary": (
            "On 16 April 2023, SAF warplanes struck RSF positions and a base in the Kafouri "
            "area of Khartoum Bahri (Khartoum Bahri, Khartoum). 12 fatalities reported, "
            "mostly RSF fighters."
        ),
        "external": {
            "source": "acled",
            "id": "SDN23456",
            "fields": {
                "admin2": "Khartoum Bahri",
                "country": "Sudan",
                "disorder_type": "Political violence",
                "event_type": "Explosions/Remote violence",
                "geo_precision": "2",
                "inter1": "1",
                "inter2": "2",
                "interaction": "12",
                "iso": "729",
                "region": "Northern Africa",
                "source_scale": "National-International",
                "sub_event_type": "Air/drone strike",
                "timestamp": "1683569030",
                "year": "2023",
            },
        },
    },
    "SDN23610": {
        "type": "clash",
        "event_id": acled_event_id("SDN23610"),
        "conflict": CONFLICT,
        "occurred_at": "2023-05-15T00:00:00",
        "timezone": "Africa/Khartoum",
        "time_precision": "month",
        "parties": [SAF, RSF],
        "location": {
            "name": "Nyala",
            "admin1": "South Darfur",
            "country": "SD",
            "lat": 12.0489,
            "lon": 24.8807,
        },
        "killed": 20,
        "sources": [{"name": "Radio Dabanga"}],
        "summary": (
            "In May 2023 (month of), SAF and RSF clashed repeatedly in Nyala (Nyala, South "
            "Darfur) around the headquarters of the army's 16th Infantry Division. At least 20 "
            "fatalities reported over the month."
        ),
        "external": {
            "source": "acled",
            "id": "SDN23610",
            "fields": {
                "admin2": "Nyala",
                "country": "Sudan",
                "disorder_type": "Political violence",
                "event_type": "Battles",
                "geo_precision": "1",
                "inter1": "1",
                "inter2": "2",
                "interaction": "12",
                "iso": "729",
                "region": "Northern Africa",
                "source_scale": "International",
                "sub_event_type": "Armed clash",
                "timestamp": "1686561030",
                "year": "2023",
            },
        },
    },
}

# Each mapped row's local midnight in UTC and the zone's offset then (fixtures README).
CURRENT_UTC: dict[str, tuple[str, str]] = {
    "AZE1150": ("2020-09-26T20:00:00Z", "+04:00"),
    "ARM1412": ("2020-09-28T20:00:00Z", "+04:00"),
    "AZE1187": ("2020-10-03T20:00:00Z", "+04:00"),
    "AZE1201": ("2020-10-16T20:00:00Z", "+04:00"),
    "UKR12345": ("2022-03-01T22:00:00Z", "+02:00"),
    "SDN23456": ("2023-04-15T22:00:00Z", "+02:00"),
    "SDN23610": ("2023-05-14T22:00:00Z", "+02:00"),
}
CURRENT_COUNTRIES = {
    "AZE1150": "azerbaijan",
    "ARM1412": "armenia",
    "AZE1187": "azerbaijan",
    "AZE1201": "azerbaijan",
    "UKR12345": "ukraine",
    "SDN23456": "sudan",
    "SDN23610": "sudan",
}


def stored(envelope: dict[str, Any], utc: str, offset: str) -> dict[str, Any]:
    """How the log keeps an envelope posted with a local ``occurred_at`` and its zone:
    ``occurred_at`` in UTC, the local time with its offset in ``local_times``."""
    return {
        **envelope,
        "occurred_at": utc,
        "local_times": {"occurred_at": envelope["occurred_at"] + offset},
    }


def stored_current(acled_id: str, **changes: Any) -> dict[str, Any]:
    """current.csv's row ``acled_id`` as the log keeps it (with ``--conflict CONFLICT``);
    ``changes`` replace fields of the envelope."""
    return stored({**CURRENT_ENVELOPES[acled_id], **changes}, *CURRENT_UTC[acled_id])


def renamed(envelope: dict[str, Any], actors: dict[str, str]) -> dict[str, Any]:
    """The envelope with its actors renamed as an actor map would."""
    out = dict(envelope)
    if "parties" in out:
        out["parties"] = [actors.get(name, name) for name in out["parties"]]
    for key in ("perpetrator", "target"):
        if key in out:
            out[key] = actors.get(out[key], out[key])
    return out


def counts(summary: Summary) -> dict[str, Any]:
    """A Summary's counts as one dict (the actors aside)."""
    return {
        "new": summary.new,
        "corrected": summary.corrected,
        "unchanged": summary.unchanged,
        "skipped": dict(summary.skipped),
        "missing": summary.missing,
        "retracted": summary.retracted,
    }


def summary_of(
    new: int = 0,
    corrected: int = 0,
    unchanged: int = 0,
    skipped: dict[str, int] | None = None,
    missing: list[str] | None = None,
    retracted: int = 0,
) -> dict[str, Any]:
    """The dict :func:`counts` gives for these counts."""
    return {
        "new": new,
        "corrected": corrected,
        "unchanged": unchanged,
        "skipped": dict(skipped or {}),
        "missing": list(missing or []),
        "retracted": retracted,
    }
