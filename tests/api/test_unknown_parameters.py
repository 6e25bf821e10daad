"""A misspelt query parameter is refused, never ignored: ``confict=`` would otherwise
answer for every conflict, a quiet wrong answer."""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem


@pytest.mark.parametrize(
    "path",
    [
        "/v1/timeline",
        "/v1/ceasefires",
        "/v1/conflicts",
        "/v1/events",
        "/v1/health",
        "/v1/audit/checkpoint",
    ],
)
def test_a_misspelt_parameter_is_a_422_naming_it(client, auditor, path):
    response = client.get(path, params={"confict": "nagorno-karabakh-2020"}, headers=auditor)

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["query", "confict"]]
    assert body["errors"][0]["msg"].startswith("unknown parameter; this path takes ")


def test_every_unknown_parameter_is_named_once_with_what_the_path_takes(client, reader):
    response = client.get(
        "/v1/timeline?confict=a&limt=5&confict=b&conflict=nagorno-karabakh-2020", headers=reader
    )

    body = assert_problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["query", "confict"], ["query", "limt"]]
    takes = body["errors"][0]["msg"].removeprefix("unknown parameter; this path takes ")
    assert {"conflict", "limit", "as_of", "cursor"} <= set(takes.split(", "))


def test_a_path_parameter_given_as_a_query_is_unknown_too(client, reader):
    response = client.get(
        "/v1/conflicts/nagorno-karabakh-2020/status",
        params={"conflict": "nagorno-karabakh-2020"},
        headers=reader,
    )

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["query", "conflict"]


def test_known_parameters_are_still_answered(client, reader):
    response = client.get("/v1/timeline", params={"limit": 5, "order": "desc"}, headers=reader)

    assert response.status_code == 200, response.text
