"""Bearer keys and roles: who may do what."""

from __future__ import annotations

from truceline.api.problems import Problem
from truceline.application.keys import Key, authenticate_async
from truceline.application.log import LogStore


async def authorize(store: LogStore, header: str | None, role: str) -> Key:
    """The key an ``Authorization`` header carries, if it allows ``role``: else 401 (no,
    unknown or revoked key) or 403 (too weak a key)."""
    if not header:
        raise Problem(
            401,
            "this needs a key: send 'Authorization: Bearer <key>'",
            kind="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    scheme, _, token = header.partition(" ")
    key = await authenticate_async(store, token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise Problem(
            401,
            "unknown, malformed or revoked key",
            kind="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not key.allows(role):
        raise Problem(403, f"this needs a {role} key; yours is a {key.role} key", kind="forbidden")
    return key
