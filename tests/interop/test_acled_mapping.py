"""One ACLED row to one Truceline envelope, pure (docs/acled.md, "The mapping"): the whole
envelope of every mapped row of current.csv, the rows skipped and why, the conflict
without ``--conflict``, the actor map, long notes, rows without coordinates, and the
other layouts' particulars.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.interop.acled_cases import (
    ACTOR_MAP,
    ARM,
    AZE,
    CONFLICT,
    CURRENT_COUNTRIES,
    CURRENT_ENVELOPES,
    CURRENT_SKIPPED_ROWS,
    FIXTURES,
    RSF,
    RUS,
    SAF,
    UKR,
    acled_event_id,
    renamed,
)
from truceline.domain.validation import parse_event
from truceline.interop.acled.mapping import (
    Skipped,
    alpha2,
    country_zone,
    derived_conflict,
    envelope,
    event_id,
)
from truceline.interop.acled.reading import Row, read_actor_map, read_rows

LAYOUTS = [
    "current.csv",
    "current-revised.csv",
    "older.csv",
    "older-no-fatalities.csv",
    "hdx.csv",
    "v5.csv",
    "pandas.csv",
    "monadic.csv",
    "dates.csv",
    "api.json",
]


def _rows(name: str) -> dict[str, Row]:
    return {row["event_id_cnty"]: row for row in read_rows(FIXTURES / name)}


CURRENT = _rows("current.csv")


def _mapped(row: Row, conflict: str | None = CONFLICT, actors: Any = None) -> dict[str, Any]:
    event = envelope(row, conflict, actors)
    assert not isinstance(event, Skipped), event
    return event


# -- current.csv, row by row ----------------------------------------------------------


@pytest.mark.parametrize("acled_id", list(CURRENT_ENVELOPES))
def test_each_mapped_row_of_current_gives_its_whole_envelope(acled_id: str) -> None:
    assert envelope(CURRENT[acled_id], CONFLICT) == CURRENT_ENVELOPES[acled_id]


def test_the_shelling_strike_and_clash_rows_map_as_the_doc_says() -> None:
    # Spelled out once more for the three types, from the README's table.
    clash, strike, shelling = (_mapped(CURRENT[i]) for i in ("AZE1150", "SDN23456", "AZE1187"))

    assert (clash["type"], clash["parties"]) == ("clash", [AZE, ARM])
    assert "perpetrator" not in clash
    assert (strike["type"], strike["perpetrator"], strike["target"]) == ("strike", SAF, RSF)
    assert "parties" not in strike
    assert (shelling["type"], shelling["perpetrator"], shelling["killed"]) == ("shelling", AZE, 0)
    assert "target" not in shelling  # actor2 is empty


@pytest.mark.parametrize(("acled_id", "reason"), list(CURRENT_SKIPPED_ROWS.items()))
def test_the_other_rows_of_current_are_skipped_by_sub_event_type(
    acled_id: str, reason: str
) -> None:
    assert envelope(CURRENT[acled_id], CONFLICT) == Skipped(reason)


def test_every_mapped_row_is_a_valid_envelope_in_every_layout() -> None:
    for name in LAYOUTS:
        for row in read_rows(FIXTURES / name):
            event = envelope(row)
            if not isinstance(event, Skipped):
                parse_event(event)  # raises Invalid if not


# -- ids, conflicts, zones, countries -------------------------------------------------


def test_event_id_is_uuid5_of_acled_and_the_id_in_the_namespace_of_the_doc() -> None:
    namespace = uuid.UUID("5d3d9c1e-5a0c-5b3c-9a8e-0aced0aced00")

    assert event_id("AZE1201") == str(uuid.uuid5(namespace, "acled:AZE1201"))
    assert event_id("AZE1201") == _mapped(CURRENT["AZE1201"])["event_id"]
    assert uuid.UUID(event_id("AZE1201")).version == 5
    assert len({event_id(i) for i in CURRENT}) == len(CURRENT)


@pytest.mark.parametrize("acled_id", list(CURRENT_ENVELOPES))
def test_without_conflict_each_row_is_in_acled_and_its_country(acled_id: str) -> None:
    expected = {**CURRENT_ENVELOPES[acled_id], "conflict": f"acled-{CURRENT_COUNTRIES[acled_id]}"}

    assert envelope(CURRENT[acled_id]) == expected
    assert envelope(CURRENT[acled_id], None) == expected
    assert derived_conflict(CURRENT[acled_id]) == expected["conflict"]


@pytest.mark.parametrize(
    ("country", "conflict"),
    [
        ("Azerbaijan", "acled-azerbaijan"),
        ("Democratic Republic of Congo", "acled-democratic-republic-of-congo"),
        ("Bosnia and Herzegovina", "acled-bosnia-and-herzegovina"),
        ("  Sudan ", "acled-sudan"),
    ],
)
def test_derived_conflict_is_the_country_as_a_slug(country: str, conflict: str) -> None:
    assert derived_conflict({"country": country}) == conflict


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"iso": "31", "country": "Azerbaijan"}, "AZ"),  # no leading zeros; pycountry's is 031
        ({"iso": "51"}, "AM"),
        ({"iso": "804"}, "UA"),
        ({"iso3": "ARM"}, "AM"),
        ({"iso3": "aze"}, "AZ"),
        ({"country": "Libya"}, "LY"),
        ({"country": "Somalia"}, "SO"),
        ({"iso": "", "iso3": "", "country": "Atlantis"}, None),
        ({}, None),
    ],
)
def test_alpha2_reads_iso_iso3_or_the_country_name(row: Row, code: str | None) -> None:
    assert alpha2(row) == code


def test_country_zone_is_the_first_zone_of_zone_tab() -> None:
    assert country_zone("UA") == "Europe/Simferopol"  # not Europe/Kyiv: see the README
    assert country_zone("AZ") == "Asia/Baku"
    assert country_zone("SD") == "Africa/Khartoum"
    assert country_zone(None) is None
    assert country_zone("XX") is None


def test_a_ukrainian_row_gets_its_zone_from_its_coordinates() -> None:
    assert _mapped(CURRENT["UKR12345"])["timezone"] == "Europe/Kyiv"
    for row in read_rows(FIXTURES / "pandas.csv"):
        event = envelope(row)
        if not isinstance(event, Skipped):
            assert event["timezone"] == "Europe/Kyiv"


def test_a_row_without_coordinates_gets_its_countrys_zone() -> None:
    row = {**CURRENT["UKR12345"], "latitude": "", "longitude": ""}
    expected = dict(CURRENT_ENVELOPES["UKR12345"])
    expected["timezone"] = "Europe/Simferopol"
    expected["location"] = {"name": "Kharkiv", "admin1": "Kharkiv", "country": "UA"}

    assert envelope(row, CONFLICT) == expected


def test_a_row_without_coordinates_or_country_is_read_in_utc() -> None:
    row = {**CURRENT["AZE1201"], "latitude": "", "longitude": "", "iso": "", "country": ""}

    event = _mapped(row)

    assert event["timezone"] == "UTC"
    assert event["location"] == {"name": "Ganja", "admin1": "Ganja-Gazakh"}
    assert event["conflict"] == CONFLICT


# -- actors ---------------------------------------------------------------------------


def test_the_actor_map_renames_actors_and_leaves_unmapped_ones() -> None:
    actors = read_actor_map(FIXTURES / "actor-map.csv")

    mapped = {i: _mapped(CURRENT[i], CONFLICT, actors) for i in CURRENT_ENVELOPES}

    assert mapped == {i: renamed(e, ACTOR_MAP) for i, e in CURRENT_ENVELOPES.items()}
    assert mapped["AZE1150"]["parties"] == ["Azerbaijan", "Armenia"]
    assert mapped["SDN23610"]["parties"] == ["Sudanese Armed Forces", "RSF"]
    assert (mapped["AZE1201"]["perpetrator"], mapped["AZE1201"]["target"]) == (
        "Armenia",
        "Civilians (Azerbaijan)",
    )
    assert (mapped["UKR12345"]["perpetrator"], mapped["UKR12345"]["target"]) == (
        "Russia",
        "Civilians (Ukraine)",
    )
    # assoc_actor_2 is ACLED's text, in external.fields, not renamed.
    assert mapped["AZE1150"]["external"]["fields"]["assoc_actor_2"] == (
        "Military Forces of Nagorno-Karabakh (1992-)"
    )


def test_the_actor_map_does_not_change_what_is_skipped() -> None:
    actors = read_actor_map(FIXTURES / "actor-map.csv")

    for acled_id, reason in CURRENT_SKIPPED_ROWS.items():
        assert envelope(CURRENT[acled_id], CONFLICT, actors) == Skipped(reason)


# -- text fields ----------------------------------------------------------------------


def test_notes_over_2000_characters_are_cut_and_kept_whole_in_external() -> None:
    notes = "Armenian forces fired missiles at Ganja. " * 60  # 2,459 once stripped
    notes = notes.strip()
    assert len(notes) > 2000

    event = _mapped({**CURRENT["AZE1201"], "notes": notes})

    assert event["summary"] == notes[:1994] + " [...]"
    assert len(event["summary"]) == 2000
    assert event["external"] == {
        **CURRENT_ENVELOPES["AZE1201"]["external"],
        "fields": {**CURRENT_ENVELOPES["AZE1201"]["external"]["fields"], "notes": notes},
    }
    parse_event(event)


def test_notes_of_exactly_2000_characters_are_the_summary_whole() -> None:
    notes = ("x" * 99 + " ") * 20
    assert len(notes.strip()) == 1999
    notes = notes.strip() + "."

    event = _mapped({**CURRENT["AZE1201"], "notes": notes})

    assert event["summary"] == notes
    assert event["external"] == CURRENT_ENVELOPES["AZE1201"]["external"]


def test_sources_are_one_name_per_semicolon() -> None:
    row = {**CURRENT["AZE1201"], "source": "Azertac;Trend News Agency; ;APA;  Report.az "}

    assert _mapped(row)["sources"] == [
        {"name": "Azertac"},
        {"name": "Trend News Agency"},
        {"name": "APA"},
        {"name": "Report.az"},
    ]


def test_a_row_without_notes_or_source_has_no_summary_or_sources() -> None:
    event = _mapped({**CURRENT["AZE1201"], "notes": "", "source": ""})

    assert "summary" not in event
    assert "sources" not in event


# -- other layouts --------------------------------------------------------------------


def test_older_fields_keep_data_id_event_id_no_cnty_and_iso3() -> None:
    event = _mapped(_rows("older.csv")["AZE1290"], None)

    assert event["external"]["fields"] == {
        "admin2": "Shusha",
        "assoc_actor_2": "Armenian Ethnic Group (Azerbaijan)",
        "country": "Azerbaijan",
        "data_id": "7731905",
        "event_id_no_cnty": "1290",
        "event_type": "Explosions/Remote violence",
        "geo_precision": "1",
        "inter1": "1",
        "inter2": "7",
        "interaction": "17",
        "iso": "31",
        "iso3": "AZE",
        "region": "Caucasus and Central Asia",
        "source_scale": "National",
        "sub_event_type": "Shelling/artillery/missile attack",
        "timestamp": "1605568230",
        "year": "2020",
    }
    assert event["location"]["country"] == "AZ"
    assert envelope(_rows("older.csv")["AZE1341"]) == Skipped("Government regains territory")
    assert envelope(_rows("older.csv")["AZE1352"]) == Skipped("Agreement")


def test_a_layout_without_fatalities_gives_no_killed() -> None:
    events = [envelope(row) for row in read_rows(FIXTURES / "older-no-fatalities.csv")]

    mapped = [e for e in events if not isinstance(e, Skipped)]
    assert len(mapped) == 4
    assert not any("killed" in e for e in mapped)
    assert events[4] == Skipped("Peaceful protest")


def test_v5_battles_are_clashes_and_the_rest_is_skipped_by_event_type() -> None:
    rows = _rows("v5.csv")

    assert {i: envelope(r) for i, r in rows.items() if isinstance(envelope(r), Skipped)} == {
        "LBY3215": Skipped("Remote violence"),
        "SOM18110": Skipped("Riots/Protests"),
        "NGA9012": Skipped("Violence against civilians"),
    }
    janaale = _mapped(rows["SOM18022"], None)
    assert janaale == {
        "type": "clash",
        "event_id": acled_event_id("SOM18022"),
        "conflict": "acled-somalia",
        "occurred_at": "2015-09-01T00:00:00",
        "timezone": "Africa/Mogadishu",
        "time_precision": "day",
        "parties": ["Al Shabaab", "AMISOM: African Union Mission in Somalia (2007-)"],
        "location": {
            "name": "Janaale",
            "admin1": "Lower Shabelle",
            "country": "SO",
            "lat": 1.8167,
            "lon": 44.7,
        },
        "killed": 37,
        "sources": [{"name": "Garowe Online"}, {"name": "Reuters"}],
        "summary": (
            "Al Shabaab fighters overran the AMISOM base in Janaale after a suicide car bomb; "
            "AMISOM withdrew. 37 killed."
        ),
        "external": {
            "source": "acled",
            "id": "SOM18022",
            "fields": {
                "admin2": "Marka",
                "assoc_actor_2": "Military Forces of Uganda (1986-)",
                "country": "Somalia",
                "event_id_no_cnty": "18022",
                "event_type": "Battle-Non-state actor overtakes territory",
                "geo_precision": "1",
                "gwno": "520",
                "inter1": "2",
                "inter2": "8",
                "interaction": "28",
                "year": "2015",
            },
        },
    }
    assert [
        (i, _mapped(rows[i], None)["occurred_at"], _mapped(rows[i], None)["conflict"])
        for i in ("LBY3201", "LBY3240", "SOM18140")
    ] == [
        ("LBY3201", "2015-10-17T00:00:00", "acled-libya"),
        ("LBY3240", "2015-12-05T00:00:00", "acled-libya"),
        ("SOM18140", "2015-10-30T00:00:00", "acled-somalia"),
    ]


def test_pandas_index_never_reaches_the_event() -> None:
    for row in read_rows(FIXTURES / "pandas.csv"):
        event = envelope(row)
        if isinstance(event, Skipped):
            assert event == Skipped("Disrupted weapons use")
            continue
        fields = event["external"]["fields"]
        assert not {"", "_index", "unnamed: 0"} & set(fields)
        assert set(fields) <= set(row) - {"event_id_cnty", "notes", "source", "fatalities"}


def test_api_json_strings_become_numbers() -> None:
    rows = _rows("api.json")

    kramatorsk = _mapped(rows["UKR14210"], None)

    assert kramatorsk["killed"] == 52
    assert isinstance(kramatorsk["killed"], int)
    assert kramatorsk["location"] == {
        "name": "Kramatorsk",
        "admin1": "Donetsk",
        "country": "UA",
        "lat": 48.7233,
        "lon": 37.5564,
    }
    assert kramatorsk["summary"] == (
        "On 8 April 2022, a Russian Tochka-U missile carrying cluster munitions hit the railway "
        "station of Kramatorsk (Kramatorskyi, Donetsk) where civilians waited for evacuation.\n"
        "At least 52 civilians were killed, including 5 children."
    )
    assert kramatorsk["timezone"] == "Europe/Kyiv"
    rubizhne = _mapped(rows["UKR14233"], None)
    assert (rubizhne["parties"], rubizhne["killed"]) == ([RUS, UKR], 0)
    assert rubizhne["external"]["fields"]["assoc_actor_1"] == "Luhansk People's Republic"
    assert _mapped(rows["SDN23815"], None)["time_precision"] == "week"
    assert envelope(rows["UKR14250"]) == Skipped("Abduction/forced disappearance")


def test_monadic_second_actor_is_the_target_when_the_first_row_has_none() -> None:
    rows = _rows("monadic.csv")

    strike = _mapped(rows["SDN24523"], None)

    assert (strike["type"], strike["perpetrator"], strike["target"], strike["killed"]) == (
        "strike",
        SAF,
        RSF,
        10,
    )
