"""The orjson transcoder reads and writes eventsourcing's own JSON format.

Entries written before it (by eventsourcing's ``JSONTranscoder``) must decode to the same
event, and what it writes must decode with the old transcoder too: the log is never
rewritten, and the standalone verifier may be older than the server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given
from hypothesis import strategies as st

from truceline.application.transcoder import OrjsonTranscoder

WHEN = datetime(2020, 10, 17, 3, 0, 12, 345678, tzinfo=UTC)
ENVELOPE = {
    "type": "strike",
    "event_id": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b",
    "conflict": "nagorno-karabakh-2020",
    "occurred_at": "2020-10-17T01:05:00Z",
    "location": {"name": "Gəncə", "lat": 40.6828, "lon": 46.3606},
    "sources": [{"name": "Azerbaijani Ministry of Defence", "url": "https://mod.gov.az/"}],
    "killed": 13,
}


def standard() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


def test_an_event_is_written_byte_for_byte_as_the_standard_transcoder_writes_it() -> None:
    state = {"timestamp": WHEN, "envelope": ENVELOPE}
    written = OrjsonTranscoder().encode(state)
    assert written == standard().encode(state)
    assert written.startswith(b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-10-17T03')
    assert OrjsonTranscoder().decode(written) == state


def test_a_count_beyond_64_bits_is_written_and_read_exactly() -> None:
    state = {"timestamp": WHEN, "envelope": {**ENVELOPE, "killed": 10**30}}
    ours, theirs = OrjsonTranscoder(), standard()
    assert ours.decode(ours.encode(state))["envelope"]["killed"] == 10**30
    # An entry the standard transcoder wrote: orjson alone would read 1e+30, a float.
    read = ours.decode(theirs.encode(state))["envelope"]["killed"]
    assert (read, type(read)) == (10**30, int)
    assert theirs.decode(ours.encode(state)) == state


def test_a_transcoded_value_inside_the_envelope_reads_as_the_standard_transcoder_reads_it() -> None:
    marked = {"_type_": "uuid_hex", "_data_": "6f1e2d3c4b5a49788a6b5c4d3e2f1a0b"}
    written = standard().encode({"timestamp": WHEN, "envelope": {**ENVELOPE, "external": marked}})
    read = OrjsonTranscoder().decode(written)
    assert read["envelope"]["external"] == uuid.UUID("6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b")
    assert read == standard().decode(written)


def test_decimals_and_uuids_at_the_top_keep_their_type() -> None:
    state = {"timestamp": WHEN, "amount": Decimal("1.10"), "id": uuid.UUID(int=7)}
    written = standard().encode(state)
    assert OrjsonTranscoder().decode(written) == state
    assert OrjsonTranscoder().decode(OrjsonTranscoder().encode({"amount": Decimal("2.5")})) == {
        "amount": Decimal("2.5")
    }


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(envelope=st.dictionaries(st.text(max_size=8), JSON, max_size=6))
def test_any_json_envelope_reads_the_same_whichever_transcoder_wrote_it(
    envelope: dict[str, Any],
) -> None:
    state = {"timestamp": WHEN, "envelope": envelope}
    ours, theirs = OrjsonTranscoder(), standard()
    expected = theirs.decode(theirs.encode(state))
    assert ours.decode(theirs.encode(state)) == expected
    assert ours.decode(ours.encode(state)) == expected
    assert theirs.decode(ours.encode(state)) == expected
