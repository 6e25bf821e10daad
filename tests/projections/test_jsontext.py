"""The read model's JSON text: fast where orjson is exact, exact everywhere."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from truceline.projections import jsontext

FINITE = st.floats(allow_nan=False, allow_infinity=False)  # events refuse the others
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | FINITE | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


def test_integers_beyond_64_bits_stay_exact() -> None:
    item = {"killed": 10**30, "wounded": -(2**64), "summary": "Ganja"}
    text = jsontext.dumps(item)
    assert text == (
        ' {"killed":1000000000000000000000000000000,'
        '"wounded":-18446744073709551616,"summary":"Ganja"}'
    )
    assert jsontext.loads(text) == item
    assert isinstance(jsontext.loads(text)["killed"], int)


def test_text_is_compact_and_keeps_characters_as_they_are() -> None:
    assert jsontext.dumps({"location": {"name": "Gəncə", "lat": 40.68}}) == (
        '{"location":{"name":"Gəncə","lat":40.68}}'
    )


@given(JSON)
def test_what_is_written_reads_back_as_the_standard_library_reads_it(value: object) -> None:
    text = jsontext.dumps(value)
    assert jsontext.loads(text) == json.loads(text) == json.loads(json.dumps(value))
