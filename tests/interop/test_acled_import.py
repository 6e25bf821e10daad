"""Importing ACLED files through the application, on both stores (docs/acled.md,
"Re-import, revisions, deletions"; tests/interop/fixtures/acled/README.md): new rows as
events, the same file again as nothing, revised rows as corrections, rows a later file
lacks as missing (retracted on request), ACLED's deletions list as retractions, and each
layout's events.
"""

from __future__ import annotations

import csv
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.interop.acled_cases import (
    ACTOR_MAP,
    ARM,
    AZE,
    CONFLICT,
    CURRENT_ENVELOPES,
    CURRENT_SKIPPED,
    FIXTURES,
    RSF,
    RUS,
    SAF,
    UKR,
    acled_event_id,
    counts,
    renamed,
    stored_current,
    summary_of,
)
from truceline.application.app import Truceline
from truceline.domain.validation import NormalizedEvent
from truceline.interop.acled.importing import (
    CHUNK,
    Options,
    Summary,
    import_acled,
    import_deleted,
    summary_lines,
)
from truceline.interop.acled.reading import LayoutError

RECORDED_BY = "local:acled-test"
RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
POLICE = "Police Forces of Armenia (2018-)"
# What current-revised.csv changes (fixtures README): two revisions, one row gone, one new.
REVISED_SKIPPED = CURRENT_SKIPPED
AZE1262 = {
    "type": "shelling",
    "event_id": acled_event_id("AZE1262"),
    "conflict": CONFLICT,
    "occurred_at": "2020-10-27T20:00:00Z",
    "timezone": "Asia/Baku",
    "time_precision": "day",
    "local_times": {"occurred_at": "2020-10-28T00:00:00+04:00"},
    "perpetrator": ARM,
    "target": "Civilians (Azerbaijan)",
    "location": {
        "name": "Barda",
        "admin1": "Aran",
        "country": "AZ",
        "lat": 40.3747,
        "lon": 47.1264,
    },
    "killed": 21,
    "sources": [{"name": "Azertac"}, {"name": "Human Rights Watch"}],
    "summary": (
        "On 28 October 2020, Armenian forces fired rockets carrying cluster munitions at Barda "
        "city (Barda, Aran), killing 21 civilians and wounding around 70."
    ),
    "external": {
        "source": "acled",
        "id": "AZE1262",
        "fields": {
            "admin2": "Barda",
            "civilian_targeting": "Civilian targeting",
            "country": "Azerbaijan",
            "disorder_type": "Political violence",
            "event_type": "Explosions/Remote violence",
            "geo_precision": "1",
            "inter1": "1",
            "inter2": "7",
            "interaction": "17",
            "iso": "31",
            "region": "Caucasus and Central Asia",
            "source_scale": "National-International",
            "sub_event_type": "Shelling/artillery/missile attack",
            "timestamp": "1711620000",
            "year": "2020",
        },
    },
}


def _options(**fields: Any) -> Options:
    return Options(RECORDED_BY, **{"conflict": CONFLICT, **fields})


def _import(app: Truceline, name: str | Path, **fields: Any) -> Summary:
    path = name if isinstance(name, Path) else FIXTURES / name
    return import_acled(app, path, _options(**fields))


def _log(app: Truceline) -> list[NormalizedEvent]:
    return list(app.iter_events())


def _external(acled_id: str, **fields: str) -> dict[str, Any]:
    """current.csv's ``external`` of that row, with ``fields`` changed."""
    external = CURRENT_ENVELOPES[acled_id]["external"]
    return {**external, "fields": {**external["fields"], **fields}}


def _without_id(event: NormalizedEvent) -> dict[str, Any]:
    """The event without its event_id, which must be a UUID v5 (derived, so stable)."""
    rest = dict(event)
    assert uuid.UUID(str(rest.pop("event_id"))).version == 5
    return rest


def _stored_current_file() -> list[dict[str, Any]]:
    return [stored_current(acled_id) for acled_id in CURRENT_ENVELOPES]


# The two corrections current-revised.csv gives, in its row order, without their ids.
ARM1412_CORRECTION = {
    "type": "correction",
    "conflict": CONFLICT,
    "occurred_at": "2024-03-27T10:00:00Z",  # the revised row's timestamp 1711533600
    "time_precision": "exact",
    "corrects_event_id": acled_event_id("ARM1412"),
    "changes": {
        "external": _external("ARM1412", timestamp="1711533600"),
        "target": POLICE,
    },
    "sources": [{"name": "ACLED", "published_at": "2024-03-27T10:00:00Z"}],
    "summary": "ACLED revised event ARM1412: external, target",
}
UKR12345_CORRECTION = {
    "type": "correction",
    "conflict": CONFLICT,
    "occurred_at": "2024-03-26T10:00:00Z",  # the revised row's timestamp 1711447200
    "time_precision": "exact",
    "corrects_event_id": acled_event_id("UKR12345"),
    "changes": {
        "external": _external("UKR12345", timestamp="1711447200"),
        "killed": 5,
    },
    "sources": [{"name": "ACLED", "published_at": "2024-03-26T10:00:00Z"}],
    "summary": "ACLED revised event UKR12345: external, killed",
}


# -- a first import and the same file again -------------------------------------------


@pytest.mark.parametrize("chunk_size", [2, CHUNK])
def test_a_first_import_of_current_stores_its_seven_events(
    application: Truceline, chunk_size: int
) -> None:
    progress: list[int] = []

    summary = import_acled(
        application,
        FIXTURES / "current.csv",
        _options(chunk_size=chunk_size),
        progress.append,
    )

    assert counts(summary) == summary_of(new=7, skipped=CURRENT_SKIPPED)
    assert _log(application) == _stored_current_file()
    assert progress == ([2, 2, 2, 2, 2] if chunk_size == 2 else [10])
    assert dict(summary.actors) == {
        AZE: 3,
        ARM: 3,
        RSF: 3,
        "Civilians (Ukraine)": 2,
        SAF: 2,
        "Civilians (Azerbaijan)": 1,
        RUS: 1,
        "Unidentified Armed Group (Ukraine)": 1,
        "Protesters (Ukraine)": 1,
        "Civilians (Sudan)": 1,
    }


def test_the_same_file_again_stores_nothing(application: Truceline) -> None:
    _import(application, "current.csv")
    position = application.log_position()

    again = _import(application, "current.csv")

    assert counts(again) == summary_of(unchanged=7, skipped=CURRENT_SKIPPED)
    assert application.log_position() == position
    assert _log(application) == _stored_current_file()


def test_a_file_whose_only_change_is_acleds_timestamp_is_unchanged(
    application: Truceline, tmp_path: Path
) -> None:
    _import(application, "current.csv")
    position = application.log_position()
    restamped = tmp_path / "restamped.csv"
    text = (FIXTURES / "current.csv").read_text(encoding="utf-8")
    restamped.write_text(re.sub(r",\d{10}\n", ",1711999999\n", text), encoding="utf-8")
    assert restamped.read_text(encoding="utf-8").count("1711999999") == 10

    summary = _import(application, restamped)

    assert counts(summary) == summary_of(unchanged=7, skipped=CURRENT_SKIPPED)
    assert application.log_position() == position


def test_a_layout_without_fatalities_never_clears_killed(
    application: Truceline, tmp_path: Path
) -> None:
    _import(application, "older.csv")
    position = application.log_position()
    with (FIXTURES / "older.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    without = tmp_path / "older-without-fatalities.csv"
    with without.open("w", encoding="utf-8", newline="") as stream:
        columns = [name for name in rows[0] if name != "fatalities"]
        writer = csv.DictWriter(stream, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

    summary = _import(application, without)

    assert counts(summary) == summary_of(
        unchanged=4, skipped={"Government regains territory": 1, "Agreement": 1}
    )
    assert application.log_position() == position
    killed = application.corrected_events(
        acled_event_id(i) for i in ("AZE1290", "AZE1310", "ARM1450", "AZE1333")
    )
    assert sorted(event["killed"] for event in killed.values()) == [0, 1, 4, 30]


def test_a_row_whose_conflict_changed_is_skipped_not_corrected(application: Truceline) -> None:
    _import(application, "current.csv")
    position = application.log_position()

    summary = _import(application, "current.csv", conflict=None)

    assert counts(summary) == summary_of(
        skipped={**CURRENT_SKIPPED, "type or conflict changed: not correctable": 7}
    )
    assert application.log_position() == position


# -- revisions and rows a later file lacks --------------------------------------------


@pytest.mark.parametrize("chunk_size", [2, CHUNK])
def test_the_revised_file_gives_one_correction_per_revised_row(
    application: Truceline, chunk_size: int
) -> None:
    _import(application, "current.csv", chunk_size=chunk_size)
    before = application.log_position()

    summary = _import(application, "current-revised.csv", chunk_size=chunk_size)

    assert counts(summary) == summary_of(
        new=1, corrected=2, unchanged=4, skipped=REVISED_SKIPPED, missing=["AZE1187"]
    )
    added = _log(application)[before:]
    assert len(added) == 3
    assert _without_id(added[0]) == ARM1412_CORRECTION
    assert added[1] == AZE1262
    assert _without_id(added[2]) == UKR12345_CORRECTION
    # Not retracted without --retract-missing.
    assert not any(event["type"] == "retraction" for event in _log(application))
    corrected = application.corrected_events(
        acled_event_id(i) for i in ("ARM1412", "UKR12345", "AZE1187")
    )
    assert corrected == {
        acled_event_id("ARM1412"): stored_current(
            "ARM1412", target=POLICE, external=_external("ARM1412", timestamp="1711533600")
        ),
        acled_event_id("UKR12345"): stored_current(
            "UKR12345", killed=5, external=_external("UKR12345", timestamp="1711447200")
        ),
        acled_event_id("AZE1187"): stored_current("AZE1187"),
    }


def test_the_revised_file_again_stores_nothing(application: Truceline) -> None:
    _import(application, "current.csv")
    first = _import(application, "current-revised.csv")
    position = application.log_position()
    corrections = [e["event_id"] for e in _log(application) if e["type"] == "correction"]

    again = _import(application, "current-revised.csv")

    assert counts(first)["corrected"] == 2
    assert counts(again) == summary_of(unchanged=7, skipped=REVISED_SKIPPED, missing=["AZE1187"])
    assert application.log_position() == position
    assert [e["event_id"] for e in _log(application) if e["type"] == "correction"] == corrections


def test_retract_missing_retracts_the_row_a_later_file_lacks_once(
    application: Truceline,
) -> None:
    _import(application, "current.csv")
    before = application.log_position()
    started = datetime.now(UTC).replace(microsecond=0)

    summary = _import(application, "current-revised.csv", retract_missing=True)

    ended = datetime.now(UTC)
    assert counts(summary) == summary_of(
        new=1,
        corrected=2,
        unchanged=4,
        skipped=REVISED_SKIPPED,
        missing=["AZE1187"],
        retracted=1,
    )
    added = _log(application)[before:]
    assert [e["type"] for e in added] == ["correction", "shelling", "correction", "retraction"]
    retraction = _without_id(added[3])
    occurred_at = str(retraction.pop("occurred_at"))
    assert retraction == {
        "type": "retraction",
        "conflict": CONFLICT,
        "time_precision": "exact",
        "retracts_event_id": acled_event_id("AZE1187"),
        "reason": "absent from a later ACLED file (AZE1187)",
    }
    assert RFC3339_Z.fullmatch(occurred_at)
    assert started <= datetime.fromisoformat(occurred_at) <= ended
    assert application.retracted([acled_event_id("AZE1187")]) == {acled_event_id("AZE1187")}
    position = application.log_position()

    again = _import(application, "current-revised.csv", retract_missing=True)

    assert again.retracted == 0
    assert (again.new, again.corrected, again.unchanged) == (0, 0, 7)
    assert dict(again.skipped) == REVISED_SKIPPED
    assert application.log_position() == position


def test_a_file_with_nothing_missing_retracts_nothing(application: Truceline) -> None:
    _import(application, "current.csv")
    position = application.log_position()

    summary = _import(application, "current.csv", retract_missing=True)

    assert counts(summary) == summary_of(unchanged=7, skipped=CURRENT_SKIPPED)
    assert application.log_position() == position


# -- ACLED's deletions list -----------------------------------------------------------


def _deletions(at_1187: str | None) -> list[dict[str, Any]]:
    """The retractions the deletions list gives (without ids), in log order; AZE1187's
    only when ``at_1187`` is its time."""
    sudan = {
        "type": "retraction",
        "conflict": CONFLICT,
        "occurred_at": "2024-04-14T10:30:00Z",  # deleted_timestamp 1713090600
        "time_precision": "exact",
        "retracts_event_id": acled_event_id("SDN23610"),
        "reason": "deleted by ACLED (SDN23610)",
    }
    if at_1187 is None:
        return [sudan]
    stepanakert = {
        **sudan,
        "occurred_at": at_1187,
        "retracts_event_id": acled_event_id("AZE1187"),
        "reason": "deleted by ACLED (AZE1187)",
    }
    return [stepanakert, sudan]


@pytest.mark.parametrize("name", ["deleted.csv", "deleted.json"])
def test_the_deletions_list_retracts_the_two_known_events_once(
    application: Truceline, name: str
) -> None:
    _import(application, "current.csv")
    before = application.log_position()

    summary = import_deleted(application, FIXTURES / name, RECORDED_BY)

    assert counts(summary) == summary_of(retracted=2, skipped={"not in the log": 1})
    added = _log(application)[before:]
    assert [_without_id(e) for e in added] == _deletions("2024-04-13T10:30:00Z")
    unknown = acled_event_id("UKR99990")
    assert not any(
        unknown in (e["event_id"], e.get("retracts_event_id")) for e in _log(application)
    )
    assert application.retracted(acled_event_id(i) for i in CURRENT_ENVELOPES) == {
        acled_event_id("AZE1187"),
        acled_event_id("SDN23610"),
    }
    position = application.log_position()

    again = import_deleted(application, FIXTURES / name, RECORDED_BY)

    assert counts(again) == summary_of(skipped={"not in the log": 1})
    assert application.log_position() == position


def test_after_the_csv_list_the_json_list_retracts_nothing(application: Truceline) -> None:
    _import(application, "current.csv")
    import_deleted(application, FIXTURES / "deleted.csv", RECORDED_BY)
    position = application.log_position()

    summary = import_deleted(application, FIXTURES / "deleted.json", RECORDED_BY)

    # the same retractions, already in the log
    assert counts(summary) == summary_of(skipped={"not in the log": 1})
    assert application.log_position() == position


def test_the_deletions_list_leaves_an_event_retracted_as_missing_alone(
    application: Truceline,
) -> None:
    _import(application, "current.csv")
    _import(application, "current-revised.csv", retract_missing=True)
    before = application.log_position()

    summary = import_deleted(application, FIXTURES / "deleted.csv", RECORDED_BY)

    assert counts(summary) == summary_of(retracted=1, skipped={"not in the log": 1})
    assert [_without_id(e) for e in _log(application)[before:]] == _deletions(None)


def test_the_deletions_list_on_an_empty_log_retracts_nothing(application: Truceline) -> None:
    summary = import_deleted(application, FIXTURES / "deleted.json", RECORDED_BY)

    assert counts(summary) == summary_of(skipped={"not in the log": 3})
    assert application.log_position() == 0


# -- the actor map --------------------------------------------------------------------


def test_the_actor_map_renames_the_stored_actors(application: Truceline) -> None:
    summary = _import(application, "current.csv", actors=ACTOR_MAP)

    assert counts(summary) == summary_of(new=7, skipped=CURRENT_SKIPPED)
    assert not summary.actors  # no list of actors to map when a map was given
    assert _log(application) == [renamed(stored_current(i), ACTOR_MAP) for i in CURRENT_ENVELOPES]


# -- each layout ----------------------------------------------------------------------


def _loc(name: str, admin1: str, country: str, lat: float, lon: float) -> dict[str, Any]:
    return {"name": name, "admin1": admin1, "country": country, "lat": lat, "lon": lon}


def _event(
    acled_id: str,
    kind: str,
    conflict: str,
    local: str,
    utc: str,
    timezone: str,
    precision: str,
    killed: int | None,
    actors: list[str] | tuple[str, str | None],
    location: dict[str, Any],
) -> dict[str, Any]:
    """The facts of one imported event that the README's tables give."""
    event: dict[str, Any] = {
        "id": acled_id,
        "type": kind,
        "conflict": conflict,
        "occurred_at": utc,
        "local_times": {"occurred_at": local},
        "timezone": timezone,
        "time_precision": precision,
        "location": location,
    }
    if killed is not None:
        event["killed"] = killed
    if isinstance(actors, list):
        event["parties"] = actors
    else:
        event["perpetrator"] = actors[0]
        if actors[1] is not None:
            event["target"] = actors[1]
    return event


_FACTS = (
    "type",
    "conflict",
    "occurred_at",
    "local_times",
    "timezone",
    "time_precision",
    "location",
    "killed",
    "parties",
    "perpetrator",
    "target",
)


def _facts(event: NormalizedEvent) -> dict[str, Any]:
    assert event["event_id"] == acled_event_id(event["external"]["id"])
    return {"id": event["external"]["id"], **{k: event[k] for k in _FACTS if k in event}}


BAKU, YEREVAN, KYIV, KHARTOUM = "Asia/Baku", "Asia/Yerevan", "Europe/Kyiv", "Africa/Khartoum"
TRIPOLI, MOGADISHU = "Africa/Tripoli", "Africa/Mogadishu"
CIV_AZ, CIV_UA, CIV_SD = "Civilians (Azerbaijan)", "Civilians (Ukraine)", "Civilians (Sudan)"
AZ_, AM_, SD_, UA_ = "acled-azerbaijan", "acled-armenia", "acled-sudan", "acled-ukraine"

# One event a few lines, as the README's tables read.
# fmt: off
LAYOUTS: dict[str, tuple[dict[str, int], list[dict[str, Any]]]] = {
    "older.csv": (
        {"Government regains territory": 1, "Agreement": 1},
        [
            _event(
                "AZE1290", "shelling", AZ_, "2020-10-30T00:00:00+04:00", "2020-10-29T20:00:00Z",
                BAKU, "day", 1, (AZE, CIV_AZ),
                _loc("Shusha", "Yukhari-Karabakh", "AZ", 39.76, 46.7497),
            ),
            _event(
                "AZE1310", "strike", AZ_, "2020-11-02T00:00:00+04:00", "2020-11-01T20:00:00Z",
                BAKU, "day", 4, (AZE, ARM),
                _loc("Martuni", "Yukhari-Karabakh", "AZ", 39.795, 47.114),
            ),
            _event(
                "ARM1450", "shelling", AM_, "2020-11-03T00:00:00+04:00", "2020-11-02T20:00:00Z",
                YEREVAN, "day", 0, (AZE, None),
                _loc("Goris", "Syunik", "AM", 39.5111, 46.3386),
            ),
            _event(
                "AZE1333", "clash", AZ_, "2020-11-06T00:00:00+04:00", "2020-11-05T20:00:00Z",
                BAKU, "week", 30, [AZE, ARM],
                _loc("Shusha", "Yukhari-Karabakh", "AZ", 39.76, 46.7497),
            ),
        ],
    ),
    "older-no-fatalities.csv": (
        {"Peaceful protest": 1},
        [
            _event(
                "ARM2010", "shelling", AM_, "2022-09-13T00:00:00+04:00", "2022-09-12T20:00:00Z",
                YEREVAN, "day", None, (AZE, ARM),
                _loc("Jermuk", "Vayots Dzor", "AM", 39.8406, 45.6722),
            ),
            _event(
                "ARM2011", "strike", AM_, "2022-09-13T00:00:00+04:00", "2022-09-12T20:00:00Z",
                YEREVAN, "day", None, (AZE, ARM),
                _loc("Sotk", "Gegharkunik", "AM", 40.2058, 45.9286),
            ),
            _event(
                "AZE2105", "clash", AZ_, "2022-09-13T00:00:00+04:00", "2022-09-12T20:00:00Z",
                BAKU, "day", None, [ARM, AZE],
                _loc("Kalbajar", "Kalbajar-Lachin", "AZ", 40.1, 46.04),
            ),
            _event(
                "ARM2016", "clash", AM_, "2022-09-14T00:00:00+04:00", "2022-09-13T20:00:00Z",
                YEREVAN, "day", None, [AZE, ARM],
                _loc("Goris", "Syunik", "AM", 39.5111, 46.3386),
            ),
        ],
    ),
    "hdx.csv": (
        {"Looting/property destruction": 1, "Abduction/forced disappearance": 1},
        [
            _event(
                "SDN24010", "shelling", SD_, "2023-06-01T00:00:00+02:00", "2023-05-31T22:00:00Z",
                KHARTOUM, "day", 4, (RSF, CIV_SD),
                _loc("Omdurman", "Khartoum", "SD", 15.6445, 32.4777),
            ),
            _event(
                "SDN24022", "clash", SD_, "2023-06-03T00:00:00+02:00", "2023-06-02T22:00:00Z",
                KHARTOUM, "day", 9, [SAF, RSF],
                _loc("El Obeid", "North Kordofan", "SD", 13.1843, 30.2167),
            ),
            _event(
                "SDN24041", "strike", SD_, "2023-06-10T00:00:00+02:00", "2023-06-09T22:00:00Z",
                KHARTOUM, "day", 17, (SAF, RSF),
                _loc("Khartoum", "Khartoum", "SD", 15.5007, 32.5599),
            ),
        ],
    ),
    "v5.csv": (
        {"Remote violence": 1, "Riots/Protests": 1, "Violence against civilians": 1},
        [
            _event(
                "LBY3201", "clash", "acled-libya", "2015-10-17T00:00:00+02:00",
                "2015-10-16T22:00:00Z", TRIPOLI, "day", 7,
                [
                    "Military Forces of Libya (2014-) Libyan National Army",
                    "Shura Council of Benghazi Revolutionaries",
                ],
                _loc("Benghazi", "Benghazi", "LY", 32.1167, 20.0667),
            ),
            _event(
                "LBY3240", "clash", "acled-libya", "2015-12-05T00:00:00+02:00",
                "2015-12-04T22:00:00Z", TRIPOLI, "day", 6,
                ["Islamic State (Libya)", "Misrata Communal Militia (Libya)"],
                _loc("Sirte", "Sirte", "LY", 31.2089, 16.5887),
            ),
            _event(
                "SOM18022", "clash", "acled-somalia", "2015-09-01T00:00:00+03:00",
                "2015-08-31T21:00:00Z", MOGADISHU, "day", 37,
                ["Al Shabaab", "AMISOM: African Union Mission in Somalia (2007-)"],
                _loc("Janaale", "Lower Shabelle", "SO", 1.8167, 44.7),
            ),
            _event(
                "SOM18140", "clash", "acled-somalia", "2015-10-30T00:00:00+03:00",
                "2015-10-29T21:00:00Z", MOGADISHU, "week", 5,
                ["Military Forces of Somalia (2012-)", "Al Shabaab"],
                _loc("Kismayo", "Lower Juba", "SO", -0.3582, 42.5454),
            ),
        ],
    ),
    "pandas.csv": (
        {"Disrupted weapons use": 1},
        [
            _event(
                "UKR13020", "strike", UA_, "2022-03-09T00:00:00+02:00", "2022-03-08T22:00:00Z",
                KYIV, "day", 3, (RUS, CIV_UA),
                _loc("Mariupol", "Donetsk", "UA", 47.0971, 37.5434),
            ),
            _event(
                "UKR13044", "clash", UA_, "2022-03-11T00:00:00+02:00", "2022-03-10T22:00:00Z",
                KYIV, "day", 0, [RUS, UKR],
                _loc("Izium", "Kharkiv", "UA", 49.2128, 37.2569),
            ),
            _event(
                "UKR13061", "shelling", UA_, "2022-03-13T00:00:00+02:00", "2022-03-12T22:00:00Z",
                KYIV, "day", 1, (RUS, CIV_UA),
                _loc("Chernihiv", "Chernihiv", "UA", 51.4982, 31.2893),
            ),
            _event(
                "UKR13090", "shelling", UA_, "2022-03-16T00:00:00+02:00", "2022-03-15T22:00:00Z",
                KYIV, "day", 0, (RUS, UKR),
                _loc("Bakhmut", "Donetsk", "UA", 48.5956, 38.0004),
            ),
        ],
    ),
    "monadic.csv": (
        {"Peaceful protest": 1},
        [
            _event(
                "SDN24510", "clash", SD_, "2023-07-01T00:00:00+02:00", "2023-06-30T22:00:00Z",
                KHARTOUM, "day", 6, [SAF, RSF],
                _loc("Omdurman", "Khartoum", "SD", 15.6445, 32.4777),
            ),
            _event(
                "SDN24523", "strike", SD_, "2023-07-04T00:00:00+02:00", "2023-07-03T22:00:00Z",
                KHARTOUM, "day", 10, (SAF, RSF),
                _loc("Khartoum", "Khartoum", "SD", 15.5007, 32.5599),
            ),
            _event(
                "SDN24537", "shelling", SD_, "2023-07-08T00:00:00+02:00", "2023-07-07T22:00:00Z",
                KHARTOUM, "day", 4, (RSF, CIV_SD),
                _loc("El Fasher", "North Darfur", "SD", 13.6279, 25.3494),
            ),
            _event(
                "SDN24550", "clash", SD_, "2023-07-12T00:00:00+02:00", "2023-07-11T22:00:00Z",
                KHARTOUM, "day", 8,
                [SAF, "SPLM-N: Sudan People's Liberation Movement-North (Al Hilu Faction)"],
                _loc("Kadugli", "South Kordofan", "SD", 11.0111, 29.7183),
            ),
        ],
    ),
    "dates.csv": (
        {},
        [
            _event(
                "AZE1211", "shelling", AZ_, "2020-10-17T00:00:00+04:00", "2020-10-16T20:00:00Z",
                BAKU, "day", 1, (ARM, CIV_AZ),
                _loc("Tartar", "Aran", "AZ", 40.342, 46.93),
            ),
            _event(
                "AZE1212", "clash", AZ_, "2020-10-17T00:00:00+04:00", "2020-10-16T20:00:00Z",
                BAKU, "day", 10, [AZE, ARM],
                _loc("Fuzuli", "Yukhari-Karabakh", "AZ", 39.6003, 47.1431),
            ),
            _event(
                "AZE1213", "strike", AZ_, "2020-10-17T00:00:00+04:00", "2020-10-16T20:00:00Z",
                BAKU, "day", 5, (AZE, ARM),
                _loc("Jabrayil", "Yukhari-Karabakh", "AZ", 39.3999, 47.0262),
            ),
            _event(
                "AZE1214", "shelling", AZ_, "2020-10-17T00:00:00+04:00", "2020-10-16T20:00:00Z",
                BAKU, "day", 0, (AZE, CIV_AZ),
                _loc("Martuni", "Yukhari-Karabakh", "AZ", 39.795, 47.114),
            ),
            _event(
                "ARM1430", "shelling", AM_, "2020-10-17T00:00:00+04:00", "2020-10-16T20:00:00Z",
                YEREVAN, "day", 0, (AZE, None),
                _loc("Sisian", "Syunik", "AM", 39.5208, 46.0322),
            ),
            _event(
                "AZE1175", "clash", AZ_, "2020-10-05T00:00:00+04:00", "2020-10-04T20:00:00Z",
                BAKU, "day", 8, [AZE, ARM],
                _loc("Talish", "Yukhari-Karabakh", "AZ", 40.133, 46.511),
            ),
        ],
    ),
    "api.json": (
        {"Abduction/forced disappearance": 1},
        [
            _event(
                "UKR14210", "shelling", UA_, "2022-04-08T00:00:00+03:00", "2022-04-07T21:00:00Z",
                KYIV, "day", 52, (RUS, CIV_UA),
                _loc("Kramatorsk", "Donetsk", "UA", 48.7233, 37.5564),
            ),
            _event(
                "UKR14233", "clash", UA_, "2022-04-10T00:00:00+03:00", "2022-04-09T21:00:00Z",
                KYIV, "day", 0, [RUS, UKR],
                _loc("Rubizhne", "Luhansk", "UA", 49.0146, 38.3841),
            ),
            _event(
                "SDN23801", "clash", SD_, "2023-04-20T00:00:00+02:00", "2023-04-19T22:00:00Z",
                KHARTOUM, "day", 15, [SAF, RSF],
                _loc("Khartoum", "Khartoum", "SD", 15.5007, 32.5599),
            ),
            _event(
                "SDN23815", "strike", SD_, "2023-04-22T00:00:00+02:00", "2023-04-21T22:00:00Z",
                KHARTOUM, "week", 0, (SAF, RSF),
                _loc("Omdurman", "Khartoum", "SD", 15.6445, 32.4777),
            ),
        ],
    ),
}
# fmt: on


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_each_layout_imports_its_expected_events(application: Truceline, name: str) -> None:
    skipped, expected = LAYOUTS[name]

    summary = _import(application, name, conflict=None)

    assert counts(summary) == summary_of(new=len(expected), skipped=skipped)
    assert [_facts(event) for event in _log(application)] == expected


def test_layout_particulars_reach_external_fields(application: Truceline) -> None:
    for name in ("older.csv", "v5.csv", "pandas.csv", "monadic.csv", "hdx.csv", "api.json"):
        _import(application, name, conflict=None)
    events = {e["external"]["id"]: e for e in _log(application)}
    fields = {acled_id: e["external"].get("fields", {}) for acled_id, e in events.items()}

    assert (fields["AZE1290"]["data_id"], fields["AZE1290"]["event_id_no_cnty"]) == (
        "7731905",
        "1290",
    )
    assert fields["AZE1290"]["iso3"] == "AZE"
    assert fields["SOM18022"]["assoc_actor_2"] == "Military Forces of Uganda (1986-)"
    assert "sub_event_type" not in fields["SOM18022"]
    assert fields["SDN24550"]["assoc_actor_1"] == "Police Forces of Sudan (2019-)"
    assert fields["UKR14233"]["assoc_actor_1"] == "Luhansk People's Republic"
    assert events["UKR14210"]["summary"].count("\n") == 1
    for acled_id in ("UKR13020", "UKR13044", "UKR13061", "UKR13090"):
        assert not {"", "_index", "unnamed: 0"} & set(fields[acled_id])
    assert not any(v.startswith("#") for f in fields.values() for v in f.values())


def test_monadic_imports_one_event_per_pair_and_reimports_as_unchanged(
    application: Truceline,
) -> None:
    first = _import(application, "monadic.csv", chunk_size=2)
    position = application.log_position()

    again = _import(application, "monadic.csv")

    assert counts(first) == summary_of(new=4, skipped={"Peaceful protest": 1})
    assert counts(again) == summary_of(unchanged=4, skipped={"Peaceful protest": 1})
    assert application.log_position() == position == 4
    assert [e["external"]["id"] for e in _log(application)] == [
        "SDN24510",
        "SDN24523",
        "SDN24537",
        "SDN24550",
    ]


# -- the lines that end a run ---------------------------------------------------------


def test_summary_lines_of_the_revised_file_with_retract_missing(application: Truceline) -> None:
    _import(application, "current.csv", actors=ACTOR_MAP)

    summary = _import(application, "current-revised.csv", actors=ACTOR_MAP, retract_missing=True)

    assert summary_lines(summary) == [
        "new 1, corrected 2, unchanged 4, skipped 3, missing 1, retracted 1",
        "skipped: Attack 1; Peaceful protest 1; Remote explosive/landmine/IED 1",
        "missing: AZE1187",
    ]


def test_a_file_that_is_no_deletions_list_retracts_nothing(application: Truceline) -> None:
    """An export given as a deletions list (no deleted_timestamp) is refused whole."""
    import_acled(application, FIXTURES / "current.csv", Options(RECORDED_BY))
    position = application.log_position()

    with pytest.raises(LayoutError, match="event_id_cnty and deleted_timestamp"):
        import_deleted(application, FIXTURES / "current.csv", RECORDED_BY)

    assert application.log_position() == position
