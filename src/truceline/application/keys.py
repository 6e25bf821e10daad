"""API keys: roles, creation, and checking a presented key.

A key is shown once as ``tl.<key id>.<secret>``; only a SHA-256 of the secret is stored.
The secret is 256 random bits, so a fast hash is enough: slow password hashes (bcrypt,
argon2) protect guessable passwords, and would cost milliseconds on every request.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from truceline.application.log import LogStore
from truceline.domain.times import format_utc

ROLES = ("reader", "writer", "editor", "auditor", "admin")  # each may do what the lower ones may


@dataclass(frozen=True)
class Key:
    key_id: str
    name: str
    role: str

    def allows(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def local_actor() -> str:
    """Who the command line acts for: ``local:<OS user name>``."""
    return f"local:{getpass.getuser()}"


def create_key(store: LogStore, name: str, role: str, actor: str | None = None) -> tuple[Key, str]:
    """Store a new key, its creation recorded in the access log as done by ``actor``
    (default: :func:`local_actor`); return it and the token to show once."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    key_id = "key_" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    created_at = format_utc(datetime.now(UTC))
    store.insert_key(key_id, name, role, _hash(secret), created_at, actor or local_actor())
    return Key(key_id, name, role), f"tl.{key_id}.{secret}"


def revoke_key(store: LogStore, key_id: str, actor: str | None = None) -> bool:
    """Revoke a key, recorded in the access log; False if it was not an active key."""
    return store.revoke_key(key_id, format_utc(datetime.now(UTC)), actor or local_actor())


KeyRow = tuple[str, str, str, str | None]  # name, role, secret_hash, revoked_at


def authenticate(store: LogStore, token: str) -> Key | None:
    """The unrevoked key a token belongs to, or None. Compared in constant time."""
    parts = _parts(token)
    return None if parts is None else _check(*parts, store.find_key(parts[0]))


async def authenticate_async(store: LogStore, token: str) -> Key | None:
    """:func:`authenticate` for the event loop: the lookup never blocks it."""
    parts = _parts(token)
    return None if parts is None else _check(*parts, await store.find_key_async(parts[0]))


def _parts(token: str) -> tuple[str, str] | None:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "tl":
        return None
    return parts[1], parts[2]


def _check(key_id: str, secret: str, found: KeyRow | None) -> Key | None:
    if found is None:
        # Hash anyway so that an unknown key id takes as long as a wrong secret.
        hmac.compare_digest(_hash(secret), _hash(""))
        return None
    name, role, secret_hash, revoked_at = found
    if not hmac.compare_digest(_hash(secret), secret_hash) or revoked_at is not None:
        return None
    return Key(key_id, name, role)
