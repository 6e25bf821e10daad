"""Reading ACLED's files, pure (docs/acled.md, "Layouts read"): every fixture layout gives
its rows with lower-case column names, one row per event; a file that is not ACLED's is
a LayoutError naming the columns expected; ``parse_date`` and ``read_actor_map``.

The expected rows are read from the fixtures again with Python's own ``csv`` module, so
each row is compared whole, cell for cell.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from tests.interop.acled_cases import (
    ACTOR_MAP,
    CURRENT_COLUMNS,
    CURRENT_IDS,
    FIXTURES,
    GANJA_NOTES,
    RSF,
    SAF,
)
from truceline.interop.acled.reading import LayoutError, parse_date, read_actor_map, read_rows

OLDER_COLUMNS = [
    "data_id",
    "iso",
    "event_id_cnty",
    "event_id_no_cnty",
    "event_date",
    "year",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
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
    "timestamp",
    "iso3",
]
V5_COLUMNS = [
    "gwno",
    "event_id_cnty",
    "event_id_no_cnty",
    "event_date",
    "year",
    "time_precision",
    "event_type",
    "actor1",
    "assoc_actor_1",  # ALLY_ACTOR_1
    "inter1",
    "actor2",
    "assoc_actor_2",  # ALLY_ACTOR_2
    "inter2",
    "interaction",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",  # GEO_PRECIS
    "source",
    "notes",
    "fatalities",
]
EXPECTED_MESSAGE = (
    "not an ACLED layout: expected the columns event_id_cnty, event_date, actor1, country "
    "and sub_event_type (or event_type); missing event_id_cnty, event_date, actor1, country, "
    "sub_event_type (or, version 5, event_type); found "
)


def _csv_rows(name: str, *, skip: int = 0) -> list[dict[str, str]]:
    """The file's rows by the csv module (BOM removed), ``skip`` lines after the header
    left out."""
    with (FIXTURES / name).open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    return rows[skip:]


def _ids(rows: list[dict[str, str]]) -> list[str]:
    return [row["event_id_cnty"] for row in rows]


# -- each layout ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "skip"),
    [("current.csv", 0), ("current-revised.csv", 0), ("dates.csv", 0), ("hdx.csv", 1)],
)
def test_a_current_layout_reads_as_its_rows_cell_for_cell(name: str, skip: int) -> None:
    rows = list(read_rows(FIXTURES / name))

    assert rows == _csv_rows(name, skip=skip)
    assert all(list(row) == CURRENT_COLUMNS for row in rows)


def test_current_reads_ten_rows_and_keeps_the_quoted_newline_of_notes() -> None:
    rows = list(read_rows(FIXTURES / "current.csv"))

    assert _ids(rows) == CURRENT_IDS
    ganja = rows[3]
    assert ganja == {
        "event_id_cnty": "AZE1201",
        "event_date": "2020-10-17",
        "year": "2020",
        "time_precision": "1",
        "disorder_type": "Political violence",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Shelling/artillery/missile attack",
        "actor1": "Military Forces of Armenia (2018-)",
        "assoc_actor_1": "",
        "inter1": "1",
        "actor2": "Civilians (Azerbaijan)",
        "assoc_actor_2": "",
        "inter2": "7",
        "interaction": "17",
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
        "source": "Azertac; Trend News Agency",
        "source_scale": "National",
        "notes": GANJA_NOTES,
        "fatalities": "13",
        "tags": "",
        "timestamp": "1604437213",
    }


def test_hdx_skips_the_hashtag_row() -> None:
    rows = list(read_rows(FIXTURES / "hdx.csv"))

    assert _ids(rows) == ["SDN24010", "SDN24022", "SDN24035", "SDN24041", "SDN24050"]
    assert not any(value.startswith("#") for row in rows for value in row.values())


def test_older_with_a_bom_and_crlf_reads_its_columns_without_the_bom() -> None:
    raw = (FIXTURES / "older.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfdata_id,")
    assert b"\r\n" in raw

    rows = list(read_rows(FIXTURES / "older.csv"))

    assert _ids(rows) == ["AZE1290", "AZE1310", "ARM1450", "AZE1333", "AZE1341", "AZE1352"]
    assert all(list(row) == OLDER_COLUMNS for row in rows)
    assert rows == _csv_rows("older.csv")
    assert not any("\r" in value or "\ufeff" in value for row in rows for value in row.values())
    assert rows[0]["data_id"] == "7731905"
    assert rows[0]["iso3"] == "AZE"
    assert rows[0]["event_date"] == "30 October 2020"


def test_older_without_fatalities_has_no_fatalities_column() -> None:
    rows = list(read_rows(FIXTURES / "older-no-fatalities.csv"))

    assert _ids(rows) == ["ARM2010", "ARM2011", "AZE2105", "ARM2016", "ARM2024"]
    assert all(list(row) == [c for c in OLDER_COLUMNS if c != "fatalities"] for row in rows)
    assert rows == _csv_rows("older-no-fatalities.csv")


def test_v5_reads_upper_case_names_and_renames_geo_precis_and_ally_actors() -> None:
    rows = list(read_rows(FIXTURES / "v5.csv"))

    assert _ids(rows) == [
        "LBY3201",
        "LBY3215",
        "LBY3240",
        "SOM18022",
        "SOM18110",
        "NGA9012",
        "SOM18140",
    ]
    assert all(list(row) == V5_COLUMNS for row in rows)
    assert [list(row.values()) for row in rows] == [
        list(row.values()) for row in _csv_rows("v5.csv")
    ]
    assert rows[3]["assoc_actor_2"] == "Military Forces of Uganda (1986-)"
    assert rows[3]["geo_precision"] == "1"
    assert rows[3]["event_date"] == "01/09/2015"


def test_pandas_reads_the_current_columns_after_its_index() -> None:
    # The header starts with an unnamed column (",event_id_cnty,..."), the index 0-4.
    rows = list(read_rows(FIXTURES / "pandas.csv"))

    assert _ids(rows) == ["UKR13020", "UKR13044", "UKR13061", "UKR13075", "UKR13090"]
    expected = [{k: v for k, v in row.items() if k} for row in _csv_rows("pandas.csv")]
    assert rows == expected  # the index column is dropped
    assert all(list(row) == CURRENT_COLUMNS for row in rows)


def test_monadic_pairs_read_as_one_row_each_the_first_of_the_pair() -> None:
    physical = _csv_rows("monadic.csv")
    assert len(physical) == 9

    rows = list(read_rows(FIXTURES / "monadic.csv"))

    assert _ids(rows) == ["SDN24510", "SDN24523", "SDN24537", "SDN24550", "SDN24566"]
    # The first row of each pair; SDN24523's empty actor2 is the second row's actor1.
    assert rows == [
        physical[0],
        {**physical[2], "actor2": RSF},
        physical[4],
        physical[6],
        physical[8],
    ]
    assert physical[2]["actor2"] == ""
    assert [(row["actor1"], row["fatalities"]) for row in rows] == [
        (SAF, "6"),
        (SAF, "10"),
        (RSF, "4"),
        (SAF, "8"),
        ("Protesters (Sudan)", "0"),
    ]
    assert rows[3]["assoc_actor_1"] == "Police Forces of Sudan (2019-)"
    assert rows[3]["assoc_actor_2"] == ""


def test_dates_keep_each_form_of_event_date_as_written() -> None:
    rows = list(read_rows(FIXTURES / "dates.csv"))

    assert [(row["event_id_cnty"], row["event_date"]) for row in rows] == [
        ("AZE1211", "2020-10-17"),
        ("AZE1212", "17 October 2020"),
        ("AZE1213", "17-October-2020"),
        ("AZE1214", "17 Oct 2020"),
        ("ARM1430", "17/10/2020"),
        ("AZE1175", "05/10/2020"),
    ]
    assert [parse_date(row["event_date"]) for row in rows] == [date(2020, 10, 17)] * 5 + [
        date(2020, 10, 5)
    ]


def test_api_json_reads_the_data_objects_as_rows_of_text() -> None:
    document = json.loads((FIXTURES / "api.json").read_text(encoding="utf-8"))

    rows = list(read_rows(FIXTURES / "api.json"))

    assert rows == document["data"]
    assert _ids(rows) == ["UKR14210", "UKR14233", "UKR14250", "SDN23801", "SDN23815"]
    assert all(list(row) == CURRENT_COLUMNS for row in rows)
    assert rows[0]["fatalities"] == "52"
    assert rows[0]["latitude"] == "48.7233"
    assert "\n" in rows[0]["notes"]


def test_api_json_values_that_are_not_text_read_as_text(tmp_path: Path) -> None:
    row: dict[str, object] = {name: "" for name in CURRENT_COLUMNS}
    row.update(
        event_id_cnty="UKR1",
        event_date="2022-04-08",
        actor1="A",
        country="Ukraine",
        sub_event_type="Armed clash",
        fatalities=52,
        latitude=48.7233,
        tags=None,
    )
    path = tmp_path / "answer.json"
    path.write_text(json.dumps({"status": 200, "success": True, "data": [row]}))

    (read,) = read_rows(path)

    assert read["fatalities"] == "52"
    assert read["latitude"] == "48.7233"
    assert read["tags"] == ""


def test_a_header_in_mixed_case_reads_as_lower_case(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "Event_Id_Cnty,EVENT_DATE,Actor1,Country,Sub_Event_Type\n"
        "AZE1,2020-10-17,Military Forces of Armenia (2018-),Azerbaijan,Armed clash\n"
    )

    assert list(read_rows(path)) == [
        {
            "event_id_cnty": "AZE1",
            "event_date": "2020-10-17",
            "actor1": "Military Forces of Armenia (2018-)",
            "country": "Azerbaijan",
            "sub_event_type": "Armed clash",
        }
    ]


def test_leading_comment_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "exported.csv"
    text = (FIXTURES / "current.csv").read_text(encoding="utf-8")
    path.write_text("# Data from ACLED\n" + text, encoding="utf-8")

    assert list(read_rows(path)) == list(read_rows(FIXTURES / "current.csv"))


# -- files that are not ACLED's -------------------------------------------------------


def test_malformed_is_a_layout_error_naming_the_expected_and_found_columns() -> None:
    with pytest.raises(LayoutError) as raised:
        list(read_rows(FIXTURES / "malformed.csv"))

    assert str(raised.value) == EXPECTED_MESSAGE + "id, date, what"


def test_no_header_is_a_layout_error_naming_the_expected_columns() -> None:
    with pytest.raises(LayoutError) as raised:
        list(read_rows(FIXTURES / "no-header.csv"))

    message = str(raised.value)
    assert message.startswith(EXPECTED_MESSAGE)
    # The first data row was taken for a header: its cells are the columns found.
    found = message.removeprefix(EXPECTED_MESSAGE).split(", ")
    assert found[:3] == ["aze1150", "2020-09-27", "2020"]
    assert "military forces of azerbaijan (1993-)" in found


def test_an_empty_file_is_a_layout_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")

    with pytest.raises(LayoutError) as raised:
        list(read_rows(path))

    assert str(raised.value) == (
        "the file is empty: expected a header naming event_id_cnty, event_date, actor1, country"
    )


def test_a_deletions_list_is_no_event_layout() -> None:
    with pytest.raises(LayoutError) as raised:
        list(read_rows(FIXTURES / "deleted.csv"))

    assert str(raised.value) == (
        "not an ACLED layout: expected the columns event_id_cnty, event_date, actor1, country "
        "and sub_event_type (or event_type); missing event_date, actor1, country, "
        "sub_event_type (or, version 5, event_type); found event_id_cnty, deleted_timestamp"
    )


def test_a_version_5_header_needs_event_type_without_sub_event_type(tmp_path: Path) -> None:
    path = tmp_path / "v5-short.csv"
    path.write_text("EVENT_ID_CNTY,EVENT_DATE,ACTOR1,COUNTRY\nLBY1,17/10/2015,A,Libya\n")

    with pytest.raises(LayoutError) as raised:
        list(read_rows(path))

    assert str(raised.value) == (
        "not an ACLED layout: expected the columns event_id_cnty, event_date, actor1, country "
        "and sub_event_type (or event_type); missing sub_event_type (or, version 5, "
        "event_type); found event_id_cnty, event_date, actor1, country"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"status": 200, "success": True},
            'not an ACLED API answer: expected {"data": [...]} or a list of rows',
        ),
        (
            {"status": 200, "data": ["AZE1150"]},
            "not an ACLED API answer: each row of data must be an object",
        ),
        (
            {"status": 200, "data": [{"event_id_cnty": "AZE1", "deleted_timestamp": "1"}]},
            "not an ACLED layout: expected the columns event_id_cnty, event_date, actor1, "
            "country and sub_event_type (or event_type); missing event_date, actor1, country, "
            "sub_event_type (or, version 5, event_type); found event_id_cnty, "
            "deleted_timestamp",
        ),
    ],
)
def test_json_that_is_no_api_answer_is_a_layout_error(
    tmp_path: Path, document: object, message: str
) -> None:
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(document))

    with pytest.raises(LayoutError) as raised:
        list(read_rows(path))

    assert str(raised.value) == message


# -- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2020-10-17", date(2020, 10, 17)),
        ("17 October 2020", date(2020, 10, 17)),
        ("17-October-2020", date(2020, 10, 17)),
        ("17 Oct 2020", date(2020, 10, 17)),
        ("17/10/2020", date(2020, 10, 17)),
        ("05/10/2020", date(2020, 10, 5)),  # day first: 5 October, not 10 May
        ("01/09/2015", date(2015, 9, 1)),
        (" 2020-10-17 ", date(2020, 10, 17)),
    ],
)
def test_parse_date_reads_every_form_acled_has_written(text: str, day: date) -> None:
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["2020/10/17", "10/17/2020", "32/10/2020", "October 2020", ""])
def test_parse_date_refuses_other_text_naming_the_forms(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_date(text)

    assert str(raised.value) == (
        f"event_date {text!r} is not a date such as 2020-10-17, 17 October 2020, "
        "17-October-2020, 17 Oct 2020 or 17/10/2020"
    )


# -- actor maps -----------------------------------------------------------------------


def test_read_actor_map_reads_the_fixture() -> None:
    assert read_actor_map(FIXTURES / "actor-map.csv") == ACTOR_MAP


def test_read_actor_map_strips_cells_and_drops_incomplete_lines(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_bytes(
        "\ufeffacled,truceline\r\n"
        " Military Forces of Armenia (2018-) , Armenia \r\n"
        "Rapid Support Forces,\r\n"
        ",Nobody\r\n"
        '"Civilians (Azerbaijan)","Civilians, Azerbaijan"\r\n'.encode()
    )

    assert read_actor_map(path) == {
        "Military Forces of Armenia (2018-)": "Armenia",
        "Civilians (Azerbaijan)": "Civilians, Azerbaijan",
    }


@pytest.mark.parametrize("header", ["from,to", "acled", ""])
def test_an_actor_map_without_its_header_is_a_layout_error(tmp_path: Path, header: str) -> None:
    path = tmp_path / "map.csv"
    path.write_text(header + ("\n" if header else ""))

    with pytest.raises(LayoutError) as raised:
        read_actor_map(path)

    assert str(raised.value) == "an actor map is a CSV whose header is acled,truceline"
