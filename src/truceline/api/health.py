"""``/v1/health``: liveness, needing no key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from truceline.api.deps import ApplicationDep, FollowerDep, KnownQuery
from truceline.api.schemas import Health

router = APIRouter(tags=["health"], dependencies=[KnownQuery])


@router.get("/v1/health", response_model=Health)
async def health(application: ApplicationDep, follower: FollowerDep) -> dict[str, Any]:
    """Liveness and how far the log has come; needs no key, counts against no rate
    limit and waits for no worker thread: the log's end comes from an async lookup."""
    return {
        "status": "ok",
        "log_position": await application.store.max_position_async(),
        "projection_position": follower.position,
    }
