"""``/v1/audit``: checks an auditor can run against the live service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from truceline.api.auth import require
from truceline.api.schemas import VerifyReport
from truceline.application.keys import Key
from truceline.projections.audit import consistent

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[Key, Depends(require("auditor"))]


@router.get("/verify", response_model=VerifyReport)
def verify(request: Request, _: Auditor) -> dict[str, Any]:
    """Recompute the log's hash chain, and rebuild the read models from the log up to the
    position the live ones have reached to compare them. Slow on a long log."""
    app = request.app.state.app
    chain = app.verify_chain()
    projections_ok, _position = consistent(app, request.app.state.read_model)
    return {
        "ok": chain.ok and projections_ok,
        "events_checked": chain.events_checked,
        "first_bad_position": chain.first_bad_position,
        "projections_consistent": projections_ok,
    }
