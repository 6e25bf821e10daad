"""Reading a JSON body with a size limit, before any of it is validated."""

from __future__ import annotations

from fastapi import Request
from pydantic_core import from_json
from starlette.requests import ClientDisconnect

from truceline.api.problems import Problem


async def read_json(request: Request, max_bytes: int) -> object:
    """The parsed body; 415 for a Content-Type other than JSON, 413 past ``max_bytes``
    (read no further), 400 if not UTF-8 JSON.

    NaN and Infinity are let through the parser so that validation can refuse them with
    a 422 naming the field, as the contract asks.
    """
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # No Content-Type is read as JSON (curl -d without -H, scripts); any other is refused.
    if media and media != "application/json" and not media.endswith("+json"):
        raise Problem(
            415,
            f"the body must be application/json, not {media}",
            kind="unsupported-media-type",
        )
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and (len(declared) > 18 or int(declared) > max_bytes)
    ):
        raise Problem(413, f"the body is larger than {max_bytes} bytes", kind="too-large")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise Problem(413, f"the body is larger than {max_bytes} bytes", kind="too-large")
    except ClientDisconnect:
        # The client hung up mid-body: nothing was stored, and nobody is left to answer.
        raise Problem(
            400, "the client disconnected before sending the whole body", kind="client-disconnected"
        ) from None
    try:
        return from_json(bytes(body), allow_inf_nan=True)
    except ValueError as error:
        raise Problem(400, f"the body is not UTF-8 JSON: {error}", kind="bad-json") from None
