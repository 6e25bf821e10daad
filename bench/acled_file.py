"""A seeded generator of ACLED files in the current 31-column layout, for the benchmark.

Rows cover a few countries, with ACLED's mix of sub-event types (about a third of them
types Truceline skips), all three time precisions, several sources and notes that need
quoting. The same seed gives the same file.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from truceline.interop.acled.exporting import ACLED_COLUMNS

COLUMNS = ACLED_COLUMNS  # the layout the export writes, the current 31 columns
COUNTRIES = [
    ("AZE", 31, "Azerbaijan", "Ganja-Dashkasan", "Ganja", 40.68, 46.36),
    ("ARM", 51, "Armenia", "Syunik", "Goris", 39.51, 46.34),
    ("UKR", 804, "Ukraine", "Kharkiv", "Kharkiv", 49.99, 36.23),
    ("SDN", 729, "Sudan", "Khartoum", "Omdurman", 15.64, 32.48),
]
SUB_EVENTS = [
    ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    ("Explosions/Remote violence", "Air/drone strike"),
    ("Battles", "Armed clash"),
    ("Battles", "Armed clash"),
    ("Protests", "Peaceful protest"),
    ("Violence against civilians", "Attack"),
]
ACTORS = ["Military Forces of State A", "Military Forces of State B", "Militia C", "Rebels D"]


def write_acled_csv(path: Path, rows: int, seed: int = 2020) -> None:
    """Write ``rows`` ACLED rows to ``path``."""
    rng = random.Random(seed)
    start = date(2020, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for n in range(rows):
            writer.writerow(_row(rng, n, start + timedelta(days=n % 1500)))


def _row(rng: random.Random, n: int, day: date) -> list[str]:
    code, iso, country, admin1, place, lat, lon = rng.choice(COUNTRIES)
    event_type, sub_event = rng.choice(SUB_EVENTS)
    actor1, actor2 = rng.sample(ACTORS, 2)
    values = {
        "event_id_cnty": f"{code}{n + 1}",
        "event_date": day.isoformat(),
        "year": str(day.year),
        "time_precision": rng.choice("1112"),
        "disorder_type": "Political violence",
        "event_type": event_type,
        "sub_event_type": sub_event,
        "actor1": actor1,
        "inter1": "1",
        "actor2": actor2,
        "inter2": "2",
        "interaction": "12",
        "iso": str(iso),
        "region": "Somewhere",
        "country": country,
        "admin1": admin1,
        "location": place,
        "latitude": f"{lat + rng.uniform(-0.2, 0.2):.4f}",
        "longitude": f"{lon + rng.uniform(-0.2, 0.2):.4f}",
        "geo_precision": "1",
        "source": rng.choice(["Reuters", "AFP; Local media", "Ministry of Defence"]),
        "source_scale": "National",
        "notes": f'On {day:%d %B %Y}, "event" {n}, reported, with commas.',
        "fatalities": str(rng.choice([0, 0, 1, 2, 5])),
        "timestamp": str(1_600_000_000 + n),
    }
    return [values.get(column, "") for column in COLUMNS]
