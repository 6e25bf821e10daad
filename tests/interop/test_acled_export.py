"""The ACLED export, pure: timeline items into ACLED rows (docs/acled.md, "Export").

Items are built here as the timeline serves them: the event's stored fields (UTC
``occurred_at``) with corrections applied, plus ``position``, ``corrected`` and
``retracted``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import valid_event
from truceline.interop.acled.exporting import (
    ACLED_COLUMNS,
    ATTRIBUTION,
    EXPORT_COLUMNS,
    LEGACY_COLUMNS,
    acled_row,
    exported_types,
    is_acled,
    needs_attribution,
    write_csv,
)

DOC = Path(__file__).parents[2] / "docs" / "acled.md"

# A shelling as the import makes it from one ACLED row.
ACLED_FIELDS = {
    "disorder_type": "Political violence",
    "event_type": "Explosions/Remote violence",
    "sub_event_type": "Shelling/artillery/missile attack",
    "inter1": "8",
    "inter2": "7",
    "interaction": "78",
    "civilian_targeting": "Civilian targeting",
    "iso": "31",
    "region": "Caucasus and Central Asia",
    "country": "Azerbaijan",
    "admin2": "Ganja",
    "geo_precision": "1",
    "source_scale": "National",
    "tags": "local administrators",
    "timestamp": "1603152000",
}
ACLED_SHELLING: dict[str, Any] = {
    "type": "shelling",
    "event_id": "0b6a3c3e-5f7d-5e7a-9a43-2f1c0d9e8b71",
    "conflict": "acled-azerbaijan",
    "occurred_at": "2020-10-16T20:00:00Z",  # local midnight in Baku
    "timezone": "Asia/Baku",
    "time_precision": "day",
    "local_times": {"occurred_at": "2020-10-17T00:00:00+04:00"},
    "location": {
        "name": "Ganja",
        "admin1": "Ganja-Gazakh",
        "country": "AZ",
        "lat": 40.6828,
        "lon": 46.3606,
    },
    "sources": [{"name": "Trend"}, {"name": "Azeri Press Agency"}],
    "summary": "On 17 October 2020, a missile hit Ganja.",
    "perpetrator": "Military Forces of Armenia (2018-)",
    "target": "Civilians (Azerbaijan)",
    "killed": 13,
    "external": {"source": "acled", "id": "AZE1234", "fields": ACLED_FIELDS},
    "position": 1,
    "corrected": False,
    "retracted": False,
}
ACLED_SHELLING_ROW = {
    "event_id_cnty": "AZE1234",
    "event_date": "2020-10-17",
    "year": "2020",
    "time_precision": "1",
    "disorder_type": "Political violence",
    "event_type": "Explosions/Remote violence",
    "sub_event_type": "Shelling/artillery/missile attack",
    "actor1": "Military Forces of Armenia (2018-)",
    "assoc_actor_1": "",
    "inter1": "8",
    "actor2": "Civilians (Azerbaijan)",
    "assoc_actor_2": "",
    "inter2": "7",
    "interaction": "78",
    "civilian_targeting": "Civilian targeting",
    "iso": "31",
    "region": "Caucasus and Central Asia",
    "country": "Azerbaijan",
    "admin1": "Ganja-Gazakh",
    "admin2": "Ganja",
    "admin3": "",
    "location": "Ganja",
    "latitude": "40.6828",
    "longitude": "46.3606",
    "geo_precision": "1",
    "source": "Trend; Azeri Press Agency",
    "source_scale": "National",
    "notes": "On 17 October 2020, a missile hit Ganja.",
    "fatalities": "13",
    "tags": "local administrators",
    "timestamp": "1603152000",
    # ACLED's fields carry no column of an older layout: those stay empty.
    "data_id": "",
    "event_id_no_cnty": "",
    "iso3": "",
    "gwno": "",
}
# Truceline's own events: no external, so every ACLED-only column is empty.
EMPTY_ROW = dict.fromkeys(EXPORT_COLUMNS, "")


def item(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The timeline item of ``event`` (``changes`` applied: None clears a field)."""
    fields = {"position": 1, "corrected": False, "retracted": False, **event, **changes}
    return {key: value for key, value in fields.items() if value is not None}


def test_the_columns_are_the_current_exports_31_in_the_documents_order():
    listed = DOC.read_text().split("- the current export: ", 1)[1].split(";", 1)[0]

    assert tuple(re.findall(r"`([a-z0-9_]+)`", listed)) == ACLED_COLUMNS
    assert len(ACLED_COLUMNS) == 31


def test_the_export_writes_the_older_layouts_columns_after_the_current_31():
    assert LEGACY_COLUMNS == ("data_id", "event_id_no_cnty", "iso3", "gwno")
    assert EXPORT_COLUMNS == ACLED_COLUMNS + LEGACY_COLUMNS
    assert list(ACLED_SHELLING_ROW) == list(EXPORT_COLUMNS)


def test_an_acled_derived_item_gives_back_its_row():
    assert is_acled(ACLED_SHELLING)
    assert acled_row(ACLED_SHELLING) == ACLED_SHELLING_ROW


def test_a_truceline_strike_gets_a_tl_id_its_utc_date_and_its_types_acled_names():
    strike = item(
        valid_event("strike", event_id="3f2c8a9e-1d4b-4c7a-9f0e-2b6d5a8c1e47"),
        occurred_at="2020-10-16T23:00:00Z",
        location={"name": "Stepanakert", "country": "AZ", "lat": 39.8153, "lon": 46.7519},
        sources=[{"name": "Armenpress"}],
        time_precision="exact",
    )

    assert not is_acled(strike)
    assert acled_row(strike) == {
        **EMPTY_ROW,
        "event_id_cnty": "TL3F2C8A9E1D4B",
        "event_date": "2020-10-16",
        "year": "2020",
        "time_precision": "1",
        "disorder_type": "Political violence",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "actor1": "Azerbaijan",
        "actor2": "Stepanakert",
        "iso": "31",
        "country": "Azerbaijan",
        "location": "Stepanakert",
        "latitude": "39.8153",
        "longitude": "46.7519",
        "source": "Armenpress",
        "fatalities": "2",
    }


def test_a_truceline_shelling_and_clash_get_their_types_acled_names():
    shelling = item(valid_event("shelling", event_id="00000000-0000-4000-8000-0000000000ab"))
    clash = item(
        valid_event("clash", event_id="abcdef01-2345-4678-9abc-def012345678"),
        occurred_at="2020-09-30T20:00:00Z",  # 1 October, midnight in Yerevan
        timezone="Asia/Yerevan",
        time_precision="month",
        summary="Fighting along the line of contact.",
    )

    assert acled_row(shelling) == {
        **EMPTY_ROW,
        "event_id_cnty": "TL000000000000",
        "event_date": "2020-10-16",
        "year": "2020",
        "time_precision": "1",
        "disorder_type": "Political violence",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Shelling/artillery/missile attack",
        "actor1": "Armenia",
        "actor2": "Ganja",
        "fatalities": "0",  # wounded only
    }
    assert acled_row(clash) == {
        **EMPTY_ROW,
        "event_id_cnty": "TLABCDEF012345",
        "event_date": "2020-10-01",
        "year": "2020",
        "time_precision": "3",
        "disorder_type": "Political violence",
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "actor1": "Armenia",
        "actor2": "Azerbaijan",
        "notes": "Fighting along the line of contact.",
        "fatalities": "0",
    }


@pytest.mark.parametrize(
    ("precision", "written"),
    [("day", "1"), ("week", "2"), ("month", "3"), ("exact", "1"), ("approximate", "1")],
)
def test_time_precision(precision, written):
    row = acled_row(item(ACLED_SHELLING, time_precision=precision))
    assert row is not None
    assert row["time_precision"] == written


def test_the_date_is_local_to_the_items_zone_and_utc_without_one():
    late = item(ACLED_SHELLING, occurred_at="2020-12-31T21:30:00Z")
    rows = [
        acled_row(late),
        acled_row(item(late, timezone=None)),
        acled_row(item(late, timezone="America/Los_Angeles")),
    ]
    assert [(r["event_date"], r["year"]) for r in rows if r] == [
        ("2021-01-01", "2021"),
        ("2020-12-31", "2020"),
        ("2020-12-31", "2020"),
    ]


def test_every_other_type_has_no_row():
    for kind in (
        "ceasefire_agreed",
        "ceasefire_breached",
        "ceasefire_ended",
        "casualty_report",
        "displacement",
        "statement",
    ):
        assert acled_row(item(valid_event(kind))) is None, kind
    statement = item(valid_event("statement"), external=ACLED_SHELLING["external"])
    assert acled_row(statement) is None
    assert not needs_attribution([statement])


def test_corrected_values_win_over_acleds_fields():
    corrected = item(
        ACLED_SHELLING,
        corrected=True,
        killed=14,
        summary="A missile hit a residential block in Ganja.",
        perpetrator="Armenia",
        target=None,
        location={"name": "Goranboy", "country": "AM", "lat": 40.61, "lon": 46.79},
        sources=[{"name": "Trend"}],
        time_precision="week",
    )

    assert acled_row(corrected) == {
        **ACLED_SHELLING_ROW,
        "time_precision": "2",
        "actor1": "Armenia",
        "actor2": "",
        "iso": "51",  # ACLED's "31" named Azerbaijan, no longer the item's country
        "country": "Armenia",
        "admin1": "",
        "location": "Goranboy",
        "latitude": "40.61",
        "longitude": "46.79",
        "source": "Trend",
        "notes": "A missile hit a residential block in Ganja.",
        "fatalities": "14",
    }


def test_the_whole_notes_come_back_when_the_summary_was_cut_from_them():
    notes = "Shelling of Ganja. " * 200  # 3,800 characters
    cut = notes[:1994] + " [...]"
    fields = {**ACLED_FIELDS, "notes": notes}
    external = {"source": "acled", "id": "AZE1234", "fields": fields}
    imported = item(ACLED_SHELLING, summary=cut, external=external)

    row = acled_row(imported)
    rewritten = acled_row(item(imported, summary="Shelling of Ganja."))

    assert row is not None
    assert row["notes"] == notes
    assert rewritten is not None
    assert rewritten["notes"] == "Shelling of Ganja."  # corrected since: the summary wins
    assert acled_row(item(imported, summary=None))["notes"] == ""  # type: ignore[index]


def test_country_and_iso_of_an_item_without_them_in_fields():
    fields = {"sub_event_type": "Air/drone strike", "event_type": "Explosions/Remote violence"}
    strike = item(
        valid_event("strike"),
        location={"name": "Tehran", "country": "IR"},
        external={"source": "acled", "id": "IRN77", "fields": fields},
    )
    # ACLED's fields lack disorder_type: empty, not Truceline's default.
    assert acled_row(strike) == {
        **EMPTY_ROW,
        "event_id_cnty": "IRN77",
        "event_date": "2020-10-16",
        "year": "2020",
        "time_precision": "1",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "actor1": "Azerbaijan",
        "actor2": "Stepanakert",
        "iso": "364",
        "country": "Iran",
        "location": "Tehran",
        "fatalities": "2",
    }
    no_country = acled_row(item(strike, location={"name": "Somewhere"}))
    assert no_country is not None
    assert (no_country["country"], no_country["iso"]) == ("", "")


def test_whole_coordinates_keep_their_point_zero():
    row = acled_row(item(ACLED_SHELLING, location={"name": "Null Island", "lat": 0, "lon": 45.0}))
    assert row is not None
    assert (row["latitude"], row["longitude"]) == ("0.0", "45.0")


def test_another_datasets_external_is_not_acleds():
    strike = item(
        valid_event("strike", event_id="3f2c8a9e-1d4b-4c7a-9f0e-2b6d5a8c1e47"),
        external={"source": "ucdp", "id": "ged-1", "fields": {"event_type": "1", "notes": "x"}},
    )
    row = acled_row(strike)

    assert not is_acled(strike)
    assert not needs_attribution([strike])
    assert row is not None
    assert (row["event_id_cnty"], row["event_type"], row["notes"]) == (
        "TL3F2C8A9E1D4B",
        "Explosions/Remote violence",
        "",
    )


def test_write_csv_with_and_without_the_attribution_comment():
    statement = item(valid_event("statement"))
    clash = item(valid_event("clash", event_id="abcdef01-2345-4678-9abc-def012345678"))
    header = ",".join(EXPORT_COLUMNS) + "\r\n"
    assert header.endswith(",timestamp,data_id,event_id_no_cnty,iso3,gwno\r\n")
    shelling_line = (
        "AZE1234,2020-10-17,2020,1,Political violence,Explosions/Remote violence,"
        "Shelling/artillery/missile attack,Military Forces of Armenia (2018-),,8,"
        "Civilians (Azerbaijan),,7,78,Civilian targeting,31,Caucasus and Central Asia,"
        "Azerbaijan,Ganja-Gazakh,Ganja,,Ganja,40.6828,46.3606,1,Trend; Azeri Press Agency,"
        'National,"On 17 October 2020, a missile hit Ganja.",13,local administrators,'
        "1603152000,,,,\r\n"
    )
    clash_line = (
        "TLABCDEF012345,2020-10-16,2020,1,Political violence,Battles,Armed clash,"
        "Armenia,,,Azerbaijan,,,,,,,,,,,,,,,,,,0,,,,,,\r\n"
    )

    commented, plain = io.StringIO(), io.StringIO()
    assert write_csv([ACLED_SHELLING, statement, clash], commented, comment=True) == 2
    assert write_csv([ACLED_SHELLING, statement, clash], plain, comment=False) == 2

    assert commented.getvalue() == f"# {ATTRIBUTION}\r\n" + header + shelling_line + clash_line
    assert plain.getvalue() == header + shelling_line + clash_line
    assert ATTRIBUTION.startswith("Data from the Armed Conflict Location & Event Data Project")
    rows = list(csv.DictReader(io.StringIO(plain.getvalue())))
    assert rows == [ACLED_SHELLING_ROW, acled_row(clash)]


def test_write_csv_of_nothing_is_the_header_alone():
    out = io.StringIO()
    assert write_csv([], out, comment=False) == 0
    assert out.getvalue() == ",".join(EXPORT_COLUMNS) + "\r\n"


def test_an_older_layouts_columns_in_acleds_fields_are_written_after_the_31():
    fields = {**ACLED_FIELDS, "data_id": "7654321", "iso3": "AZE"}
    older = item(ACLED_SHELLING, external={"source": "acled", "id": "AZE1234", "fields": fields})
    out = io.StringIO()

    assert acled_row(older) == {**ACLED_SHELLING_ROW, "data_id": "7654321", "iso3": "AZE"}
    assert write_csv([older], out, comment=False) == 1
    assert out.getvalue() == ",".join(EXPORT_COLUMNS) + "\r\n" + (
        "AZE1234,2020-10-17,2020,1,Political violence,Explosions/Remote violence,"
        "Shelling/artillery/missile attack,Military Forces of Armenia (2018-),,8,"
        "Civilians (Azerbaijan),,7,78,Civilian targeting,31,Caucasus and Central Asia,"
        "Azerbaijan,Ganja-Gazakh,Ganja,,Ganja,40.6828,46.3606,1,Trend; Azeri Press Agency,"
        'National,"On 17 October 2020, a missile hit Ganja.",13,local administrators,'
        "1603152000,7654321,,AZE,\r\n"
    )
    assert list(csv.DictReader(io.StringIO(out.getvalue()))) == [acled_row(older)]


def test_fatalities_without_killed_are_empty_for_acled_and_zero_for_truceline():
    acled_without = item(ACLED_SHELLING, killed=None)
    ours_without = item(
        valid_event("strike", event_id="3f2c8a9e-1d4b-4c7a-9f0e-2b6d5a8c1e47"), killed=None
    )

    assert "killed" not in acled_without
    assert "killed" not in ours_without
    assert acled_row(acled_without) == {**ACLED_SHELLING_ROW, "fatalities": ""}
    assert acled_row(ours_without) == {
        **EMPTY_ROW,
        "event_id_cnty": "TL3F2C8A9E1D4B",
        "event_date": "2020-10-16",
        "year": "2020",
        "time_precision": "1",
        "disorder_type": "Political violence",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "actor1": "Azerbaijan",
        "actor2": "Stepanakert",
        "fatalities": "0",
    }


def test_attribution_is_needed_when_a_row_comes_from_acled():
    strike = item(valid_event("strike"))
    assert not needs_attribution([])
    assert not needs_attribution([strike])
    assert needs_attribution([strike, ACLED_SHELLING])


def test_an_acled_page_reads_only_the_types_it_can_write():
    assert exported_types(()) == ("clash", "shelling", "strike")
    assert exported_types(("statement", "strike")) == ("strike",)
    assert exported_types(("statement",)) == ("statement",)  # read, and no row written
