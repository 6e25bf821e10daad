"""The baseline for the HTTP append benchmark: a bare FastAPI endpoint that reads and
validates the same body as ``POST /v1/events`` and stores nothing.

    uvicorn --app-dir bench bare:app
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic_core import from_json

from truceline.domain.errors import Invalid
from truceline.domain.validation import parse_event

app = FastAPI()


@app.post("/v1/events")
async def append(request: Request) -> JSONResponse:
    try:
        event = parse_event(from_json(await request.body(), allow_inf_nan=True))
    except Invalid as error:
        return JSONResponse({"errors": error.errors}, status_code=422)
    event_id = event.get("event_id") or str(uuid.uuid4())
    return JSONResponse({"event_id": event_id, "position": 0, "recorded_at": ""}, 201)


@app.get("/v1/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
