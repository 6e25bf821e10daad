"""``/v1/audit``: checks an auditor can run against the live service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from truceline.api.deps import ApplicationDep, Auditor, ReadModelDep
from truceline.api.schemas import VerifyReport
from truceline.projections.audit import consistent

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/verify", response_model=VerifyReport)
def verify(_: Auditor, application: ApplicationDep, read_model: ReadModelDep) -> dict[str, Any]:
    """Recompute the log's hash chain, and rebuild the read models from the log up to the
    position the live ones have reached to compare them. Slow on a long log."""
    chain = application.verify_chain()
    projections_ok, _position = consistent(application, read_model)
    return {
        "ok": chain.ok and projections_ok,
        "events_checked": chain.events_checked,
        "first_bad_position": chain.first_bad_position,
        "projections_consistent": projections_ok,
    }
