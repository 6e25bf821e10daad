"""Query parameters that several routers share, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from truceline.application.knowledge import MAX_INTEGER

__all__ = ["MAX_INTEGER", "AsOf", "At", "MinPosition"]

MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_INTEGER,
        description="answer only once the read models have reached this position",
    ),
]
At = Annotated[
    str | None,
    Query(description="world time, RFC 3339; default now, or with as_of the time it was recorded"),
]
AsOf = Annotated[
    str | None,
    Query(
        description="knowledge time: a log position, or an RFC 3339 time (the last "
        "position recorded by then); the answer the service gave when the log ended there"
    ),
]
