"""Export pages (CSV, ACLED's CSV, GeoJSON, NDJSON) end at a byte budget as well as at
``limit``: a page stops after the first item past the budget, and its relative
``Link: rel="next"`` leads on, so that following the links yields every item once, in
order, whatever the budget."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.api.test_timeline import follow_links
from tests.helpers import CONFLICT, Headers, post_batch, valid_event
from truceline.api import create_app
from truceline.application.keys import create_key
from truceline.settings import Settings

STRIKES = 30
LONG_SUMMARY = "x" * 500


def served(folder: Path, **overrides: Any) -> Settings:
    """A server's settings, its files in ``folder``."""
    return Settings(
        database_url=f"sqlite:///{folder}/store.db",
        read_model_path=str(folder / "read-model.db"),
        signing_key_path=str(folder / "signing-key.pem"),
        **overrides,
    )


def keys(client: TestClient) -> tuple[Headers, Headers]:
    """A writer's and a reader's headers, their keys new."""
    store = client.app.state.app.store  # type: ignore[attr-defined]
    writer = {"Authorization": f"Bearer {create_key(store, 'w', 'writer')[1]}"}
    reader = {"Authorization": f"Bearer {create_key(store, 'r', 'reader')[1]}"}
    return writer, reader


@pytest.fixture
def budgeted(tmp_path: Path) -> Iterator[tuple[TestClient, Headers]]:
    with TestClient(create_app(served(tmp_path, max_export_page_bytes=2_000))) as client:
        writer, reader = keys(client)
        events = [
            valid_event(
                "strike",
                occurred_at=f"2020-10-{1 + i // 10:02d}T{i % 10:02d}:00:00Z",
                summary=f"{i:02d} {LONG_SUMMARY}",
                location={"name": "Ganja", "lat": 40.68, "lon": 46.36},
            )
            for i in range(STRIKES)
        ]
        assert post_batch(client, writer, events).status_code == 201
        yield client, reader


def pages(client: TestClient, reader: Headers, format: str) -> list[Response]:
    first = client.get(
        "/v1/timeline",
        params={"conflict": CONFLICT, "format": format, "limit": 1000, "min_position": STRIKES},
        headers=reader,
    )
    assert first.status_code == 200, first.text
    return follow_links(client, first, reader)


def summaries(format: str, response: Response) -> list[str]:
    text = response.text
    if format == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        return [row["summary"][:2] for row in rows]
    if format == "acled":
        return [row["notes"][:2] for row in csv.DictReader(io.StringIO(text))]
    if format == "geojson":
        body: dict[str, Any] = json.loads(text)
        return [f["properties"]["summary"][:2] for f in body["features"]]
    return [json.loads(line)["summary"][:2] for line in text.splitlines()]


@pytest.mark.parametrize("format", ["csv", "acled", "geojson", "ndjson"])
def test_pages_stop_at_the_budget_and_their_links_lead_to_every_item_once(
    budgeted: tuple[TestClient, Headers], format: str
) -> None:
    client, reader = budgeted

    responses = pages(client, reader, format)

    per_page = [summaries(format, r) for r in responses]
    assert [s for page in per_page for s in page] == [f"{i:02d}" for i in range(STRIKES)]
    # Each item takes 700 to 1,000 characters in every format, so the third item of a
    # page passes the 2,000-character budget and the page stops there.
    assert [len(page) for page in per_page] == [3] * 10
    assert all(len(r.text) < 2_000 + 1_000 for r in responses)
    assert "link" not in responses[-1].headers


def test_ndjson_by_accept_is_one_item_a_line(budgeted: tuple[TestClient, Headers]) -> None:
    client, reader = budgeted

    response = client.get(
        "/v1/timeline",
        params={"conflict": CONFLICT, "limit": 2, "min_position": STRIKES},
        headers={**reader, "Accept": "application/x-ndjson"},
    )

    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["summary"][:2] for line in lines] == ["00", "01"]
    assert response.headers["link"].startswith("</v1/timeline?")


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[tuple[TestClient, Headers]]:
    """A casualty report with a count beyond 64 bits and a formula for a summary, and a
    strike without a location."""
    with TestClient(create_app(served(tmp_path))) as client:
        writer, reader = keys(client)
        events = [
            valid_event(
                "casualty_report",
                occurred_at="2020-10-11T01:00:00Z",
                killed=10**30,
                location={"name": "Ganja", "lat": 40.68, "lon": 46.36},
                summary="=HYPERLINK(1)",
            ),
            valid_event("strike", occurred_at="2020-10-11T02:00:00Z", summary="Ganja hit"),
        ]
        assert post_batch(client, writer, events).status_code == 201
        yield client, reader


def export(client: TestClient, reader: Headers, format: str) -> str:
    response = client.get(
        "/v1/timeline",
        params={"conflict": CONFLICT, "format": format, "min_position": 2},
        headers=reader,
    )
    assert response.status_code == 200, response.text
    text: str = response.text
    return text


def test_a_count_beyond_64_bits_is_exported_exactly_in_every_format(
    counted: tuple[TestClient, Headers],
) -> None:
    client, reader = counted

    report, strike = [json.loads(line) for line in export(client, reader, "ndjson").splitlines()]
    (feature,) = json.loads(export(client, reader, "geojson"))["features"]
    rows = list(csv.DictReader(io.StringIO(export(client, reader, "csv"))))

    assert (report["killed"], strike["summary"]) == (10**30, "Ganja hit")
    assert feature["properties"]["killed"] == 10**30
    assert feature["geometry"] == {"type": "Point", "coordinates": [46.36, 40.68]}
    assert [(row["killed"], row["summary"]) for row in rows] == [
        (str(10**30), "'=HYPERLINK(1)"),
        ("2", "Ganja hit"),
    ]


def test_a_read_model_written_before_the_stored_csv_lines_exports_the_same_csv(
    tmp_path: Path,
) -> None:
    with TestClient(create_app(served(tmp_path))) as client:
        writer, reader = keys(client)
        events = [valid_event("strike", summary=f"strike {i}") for i in range(2)]
        assert post_batch(client, writer, events).status_code == 201
        written_now = export(client, reader, "csv")
    with sqlite3.connect(tmp_path / "read-model.db") as db:  # made an old file
        db.execute("ALTER TABLE timeline DROP COLUMN csv")

    with TestClient(create_app(served(tmp_path))) as client:
        assert export(client, reader, "csv") == written_now
    with sqlite3.connect(tmp_path / "read-model.db") as db:
        stored = db.execute("SELECT count(*), count(csv) FROM timeline").fetchone()
    assert stored == (2, 0)  # the old rows' lines are made as they are read
