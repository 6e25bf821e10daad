"""Signed checkpoints: the log's tree size and root, signed with a key outside the database.

A checkpoint says "the log had ``tree_size`` entries, and their Merkle tree's root was
``root_hash``", signed with Ed25519 at ``timestamp`` by the key ``key_id``. Whoever keeps
one (an auditor, a newsroom, the archive file) can later tell whether the log still
extends it: a forger who rewrites, truncates or empties the log cannot make its tree
hash to a root that was signed before, and cannot sign a new one without the key.

The signature covers these UTF-8 bytes (each line ends with ``\\n``)::

    truceline checkpoint v1
    log <events|keys>
    tree_size <decimal>
    root_hash <64 lowercase hex digits>
    timestamp <RFC 3339 UTC, microseconds, Z>
    key_id <16 lowercase hex digits: the first 8 bytes of SHA-256 of the raw public key>

The signing key is a PKCS#8 PEM file created by :meth:`SigningKey.create` with mode
0600, and refused when others may read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from truceline.application.log import fixed_width_utc

ALGORITHM = "ed25519"
LOGS = ("events", "keys")  # the event log, and the keys' access log


class CheckpointError(ValueError):
    """A checkpoint or key file that cannot be used, and why."""


def signed_form(log: str, tree_size: int, root_hash: str, timestamp: str, key_id: str) -> bytes:
    """The bytes a checkpoint's signature covers (see the module's docstring)."""
    return (
        "truceline checkpoint v1\n"
        f"log {log}\ntree_size {tree_size}\nroot_hash {root_hash}\n"
        f"timestamp {timestamp}\nkey_id {key_id}\n"
    ).encode()


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of one state of a log."""

    log: str
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "log": self.log,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "algorithm": ALGORITHM,
            "signature": self.signature,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        """Read a checkpoint's JSON object; :class:`CheckpointError` names the bad field.
        A checkpoint without ``log`` is the event log's."""
        if not isinstance(data, dict):
            raise CheckpointError("a checkpoint is a JSON object")
        fields: dict[str, Any] = {"log": data.get("log", "events")}
        for name, kind in (
            ("tree_size", int),
            ("root_hash", str),
            ("timestamp", str),
            ("key_id", str),
            ("signature", str),
        ):
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise CheckpointError(
                    f"the checkpoint's {name} is missing or not a {kind.__name__}"
                )
            fields[name] = value
        if data.get("algorithm", ALGORITHM) != ALGORITHM:
            raise CheckpointError(f"the checkpoint's algorithm is not {ALGORITHM}")
        if fields["log"] not in LOGS or fields["tree_size"] < 0:
            raise CheckpointError("the checkpoint's log or tree_size is not one Truceline signs")
        return cls(**fields)

    def signed_bytes(self) -> bytes:
        return signed_form(self.log, self.tree_size, self.root_hash, self.timestamp, self.key_id)

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        """Whether ``public_key`` made this checkpoint's signature."""
        if self.key_id != key_id_of(public_key):
            return False
        try:
            public_key.verify(bytes.fromhex(self.signature), self.signed_bytes())
        except (InvalidSignature, ValueError):
            return False
        return True


class SigningKey:
    """The Ed25519 key that signs checkpoints, kept in a file outside the database."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def create(cls, path: Path) -> SigningKey:
        """Write a new key to ``path`` (mode 0600); CheckpointError if it exists."""
        private_key = Ed25519PrivateKey.generate()
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: never replace a key whose signatures others already hold.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CheckpointError(
                f"{path} exists already: a signing key is never replaced"
            ) from None
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        return cls(private_key)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """Read the key at ``path``; CheckpointError if it is missing, not an Ed25519
        private key, or readable by others than its owner."""
        try:
            mode = path.stat().st_mode
            pem = path.read_bytes()
        except FileNotFoundError:
            raise CheckpointError(
                f"no signing key at {path}: create one with truceline signing-key create"
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CheckpointError(f"{path} may be read by others: chmod 600 it")
        try:
            private_key = serialization.load_pem_private_key(pem, password=None)
        except ValueError as error:
            raise CheckpointError(f"{path} is not a PEM private key: {error}") from None
        if not isinstance(private_key, Ed25519PrivateKey):
            raise CheckpointError(f"{path} is not an Ed25519 key")
        return cls(private_key)

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def public_hex(self) -> str:
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return raw.hex()

    def sign(self, log: str, tree_size: int, root: bytes) -> Checkpoint:
        """A checkpoint of ``log`` at ``tree_size`` with that root, signed now."""
        timestamp = fixed_width_utc(datetime.now(UTC))
        form = signed_form(log, tree_size, root.hex(), timestamp, self.key_id)
        signature = self._private_key.sign(form).hex()
        return Checkpoint(log, tree_size, root.hex(), timestamp, self.key_id, signature)


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key given as PEM (SubjectPublicKeyInfo) or as 64 hex digits (raw);
    CheckpointError otherwise."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise CheckpointError("the public key is not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError as error:
        raise CheckpointError(f"not an Ed25519 public key (PEM or hex): {error}") from None


def read_checkpoints(text: str) -> list[Checkpoint]:
    """Every checkpoint in a file: one JSON object, or one a line (the archive)."""
    try:
        return [Checkpoint.from_dict(json.loads(text))]
    except ValueError:
        pass
    checkpoints = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                checkpoints.append(Checkpoint.from_dict(json.loads(line)))
            except ValueError as error:
                raise CheckpointError(f"line {number}: {error}") from None
    return checkpoints
