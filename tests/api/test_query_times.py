"""A time in a query parameter that cannot be read is answered with advice for a URL:
what the parameter takes, and that a ``+`` in a query string is read as a space (the
advice for events, "give the event a timezone", means nothing here)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import CONFLICT, Headers, assert_problem

EXAMPLE = "a time such as 2020-10-18T00:00:00Z or 2020-10-18T04:00:00%2B04:00"
PLUS = " (a '+' in a URL is read as a space: write it %2B)"


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        (
            "as_of=2020-10-18T04:00:00+04:00",
            "as_of",
            "'2020-10-18T04:00:00 04:00' is neither a log position nor an RFC 3339 time "
            f"with an offset: as_of takes a position (e.g. 42) or {EXAMPLE}{PLUS}",
        ),
        (
            "as_of=last-tuesday",
            "as_of",
            "'last-tuesday' is neither a log position nor an RFC 3339 time with an offset: "
            f"as_of takes a position (e.g. 42) or {EXAMPLE}",
        ),
        (
            "at=2020-10-12T08:00:00",
            "at",
            f"'2020-10-12T08:00:00' is not an RFC 3339 time with an offset: at takes {EXAMPLE}",
        ),
        (
            "at=2020-10-12T08:00:00+03:00",
            "at",
            "'2020-10-12T08:00:00 03:00' is not an RFC 3339 time with an offset: "
            f"at takes {EXAMPLE}{PLUS}",
        ),
    ],
)
def test_a_query_time_error_says_what_the_parameter_takes(
    client: TestClient, reader: Headers, query: str, name: str, message: str
) -> None:
    response = client.get(f"/v1/conflicts/{CONFLICT}/status?{query}", headers=reader)

    body = assert_problem(response, 422)
    assert body["errors"] == [{"loc": ["query", name], "msg": message}]


def test_the_timelines_from_and_to_get_the_same_advice(client: TestClient, reader: Headers) -> None:
    response = client.get("/v1/timeline?from=2020-10-12", headers=reader)

    body = assert_problem(response, 422)
    assert body["errors"] == [
        {
            "loc": ["query", "from"],
            "msg": f"'2020-10-12' is not an RFC 3339 time with an offset: from takes {EXAMPLE}",
        }
    ]
