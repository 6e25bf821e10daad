"""``/v1/audit``: checks an auditor can run against the live service, signed checkpoints
and the RFC 9162 proofs that tie any answer's ``Truceline-Snapshot`` to them."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from truceline.api.deps import (
    ApplicationDep,
    Auditor,
    AuditReader,
    KnownQuery,
    LimitsDep,
    ReadModelDep,
    SettingsDep,
    SigningKeyDep,
    VerifyRunsDep,
    off_the_loop,
)
from truceline.api.params import MAX_INTEGER
from truceline.api.problems import Problem, invalid_request
from truceline.api.schemas import (
    ConsistencyProof,
    InclusionProof,
    KeyLog,
    PublicKey,
    SignedCheckpoint,
    VerifyReport,
)
from truceline.application.app import Truceline
from truceline.projections.audit import ScratchSpaceLow, consistent
from truceline.projections.readmodel import ReadModel

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[KnownQuery])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "none yet"}}
TreeSize = Annotated[int, Query(ge=1, le=MAX_INTEGER, description="a tree size (log entries)")]


@router.get(
    "/verify",
    response_model=VerifyReport,
    responses={507: {"description": "no room in the scratch folder to rebuild the read models"}},
)
async def verify(
    request: Request,
    key: Auditor,
    application: ApplicationDep,
    read_model: ReadModelDep,
    settings: SettingsDep,
    limits: LimitsDep,
    runs: VerifyRunsDep,
) -> dict[str, Any]:
    """Recompute the log's hash chain, its Merkle tree and the keys' access log, and
    rebuild the read models from the log up to the position the live ones have reached
    to compare them. Slow on a long log. One verify runs at a time: a call made while
    one runs gets that run's report (three at once once took 42 s each and 461 MB of
    scratch space)."""
    work = partial(_verify_report, application, read_model, settings.scratch_path)
    return await runs.join(lambda: off_the_loop(request, key, limits, work, long=True))


def _verify_report(
    application: Truceline, read_model: ReadModel, scratch_path: str | None
) -> dict[str, Any]:
    audit = application.audit()
    try:
        projections_ok, _position = consistent(application, read_model, scratch_path)
    except ScratchSpaceLow as error:
        raise Problem(507, str(error), title="Insufficient storage", kind="scratch-full") from None
    return {
        "ok": audit.ok and projections_ok,
        "events_checked": audit.chain.events_checked,
        "first_bad_position": audit.chain.first_bad_position,
        "projections_consistent": projections_ok,
        "tree_consistent": audit.tree_problem is None,
        "key_log_consistent": audit.key_log_problem is None,
    }


@router.get("/checkpoint", response_model=SignedCheckpoint, responses=_NOT_FOUND)
def checkpoint(_: AuditReader, application: ApplicationDep) -> dict[str, Any]:
    """The latest signed checkpoint of the log. The signature (Ed25519, hex) covers the
    lines ``truceline checkpoint v1``, ``log events``, ``tree_size N``, ``root_hash H``,
    ``timestamp T`` and ``key_id K``, each ended by a newline, in UTF-8."""
    latest = application.latest_checkpoint("events")
    if latest is None:
        raise Problem(404, "no checkpoint has been signed yet", kind="not-found")
    return latest.as_dict()


@router.get("/public-key", response_model=PublicKey, responses=_NOT_FOUND)
async def public_key(_: AuditReader, key: SigningKeyDep) -> dict[str, Any]:
    """The public half of the key that signs this server's checkpoints."""
    if key is None:
        raise Problem(404, "this server has no signing key", kind="not-found")
    return {
        "algorithm": "ed25519",
        "key_id": key.key_id,
        "public_key": key.public_hex(),
        "pem": key.public_pem(),
    }


def _within_log(application: Truceline, name: str, size: int) -> None:
    log_size = application.log_position()
    if size > log_size:
        raise invalid_request(["query", name], f"the log holds {log_size} entries, not {size}")


@router.get("/proof/inclusion", response_model=InclusionProof)
def inclusion(
    _: AuditReader,
    application: ApplicationDep,
    position: Annotated[int, Query(ge=1, le=MAX_INTEGER, description="the entry's position")],
    tree_size: TreeSize,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of the entry at ``position`` in the tree of
    ``tree_size`` entries: its leaf hash, ``SHA-256(0x00 || entry hash)``, and the path."""
    _within_log(application, "tree_size", tree_size)
    if position > tree_size:
        raise invalid_request(["query", "position"], f"is not in a tree of {tree_size} entries")
    leaf, path = application.inclusion_proof(position, tree_size)
    return {
        "position": position,
        "tree_size": tree_size,
        "leaf_hash": leaf.hex(),
        "path": [node.hex() for node in path],
        "root_hash": application.tree_root(tree_size).hex(),
    }


@router.get("/proof/consistency", response_model=ConsistencyProof)
def consistency(
    _: AuditReader,
    application: ApplicationDep,
    first: TreeSize,
    second: TreeSize,
) -> dict[str, Any]:
    """RFC 9162 consistency proof that the tree of ``second`` entries extends the tree
    of ``first``."""
    _within_log(application, "second", second)
    if first > second:
        raise invalid_request(["query", "first"], f"is larger than second ({second})")
    path = application.consistency_proof(first, second)
    return {
        "first": first,
        "second": second,
        "path": [node.hex() for node in path],
        "first_root_hash": application.tree_root(first).hex(),
        "second_root_hash": application.tree_root(second).hex(),
    }


@router.get("/keys", response_model=KeyLog)
def keys(_: Auditor, application: ApplicationDep) -> dict[str, Any]:
    """The keys' access log: who created or revoked which key, when, each record
    hash-chained to the one before; its tree's size and root, and its latest checkpoint."""
    records, tree = application.key_log_tree()
    latest = application.latest_checkpoint("keys")
    return {
        "items": [record.as_dict() for record in records],
        "tree_size": tree.size,
        "root_hash": application.key_log_root(tree).hex(),
        "checkpoint": None if latest is None else latest.as_dict(),
    }
