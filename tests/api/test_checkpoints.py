"""Checkpoints and proofs: the log as an RFC 9162 Merkle tree, checked from outside.

The contract (api-v1.md, "Checkpoints and proofs") says the log is a Merkle tree whose
leaves are the entries in position order, leaf ``SHA-256(0x00 || entry hash)`` and node
``SHA-256(0x01 || left || right)``; that ``/v1/audit/proof/*`` answer RFC 9162 proofs,
``/v1/audit/checkpoint`` a signed statement of a tree size and root, and that every read
under ``/v1`` names the state it came from in ``Truceline-Snapshot: <tree_size>:<root>``.

Nothing here trusts the service's own Merkle code: the roots are recomputed from the
entries' ``hash`` fields as ``GET /v1/events`` shows them, with the RFC's recursive
definition (:func:`mth`), and the proofs are checked with the RFC's verification
algorithms written out again below (:func:`verify_inclusion`, :func:`verify_consistency`),
and compared with the RFC's recursive definitions of the paths themselves
(:func:`rfc_path`, :func:`rfc_proof`). Signatures are checked with ``cryptography``
against a message built here from the documented byte form. Every test runs on both
stores (SQLite and PostgreSQL) unless it says otherwise.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from httpx import Response

from tests.api.ceasefire_helpers import SQLITE_ONLY
from tests.application.tampering_helpers import LOG_SIZE, events, n
from tests.helpers import Headers, append_all, assert_problem, key_id, post, valid_event
from truceline.api import create_app
from truceline.application.checkpoints import CheckpointError, SigningKey
from truceline.application.keys import create_key, revoke_key
from truceline.settings import Settings

SNAPSHOT = "Truceline-Snapshot"
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
CHECKPOINT_FIELDS = {
    "log",
    "tree_size",
    "root_hash",
    "timestamp",
    "key_id",
    "algorithm",
    "signature",
}
KEY_RECORD_FIELDS = {
    "seq",
    "at",
    "action",
    "key_id",
    "name",
    "role",
    "secret_hash",
    "actor",
    "hash",
}


# -- an independent RFC 9162 implementation -------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(entry_hash_hex: str) -> bytes:
    """The leaf of an entry (or key record) whose hash is ``entry_hash_hex``."""
    return sha256(b"\x00" + bytes.fromhex(entry_hash_hex))


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def split(size: int) -> int:
    """RFC 9162's ``k``: the largest power of two strictly smaller than ``size`` (>= 2)."""
    k = 1
    while k * 2 < size:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1, over leaf hashes already hashed with 0x00."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def rfc_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1 (``m`` 0-based)."""
    if len(leaves) == 1:
        return []
    k = split(len(leaves))
    if m < k:
        return [*rfc_path(m, leaves[:k]), mth(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), mth(leaves[:k])]


def rfc_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1."""

    def subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
        n = len(leaves)
        if m == n:
            return [] if whole else [mth(leaves)]
        k = split(n)
        if m <= k:
            return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
        return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]

    return subproof(m, leaves, True)


def verify_inclusion(
    index: int, tree_size: int, leaf_hash: bytes, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: whether ``path`` proves ``leaf_hash`` is leaf ``index``
    (0-based) of the tree of ``tree_size`` leaves with root ``root``."""
    if index >= tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: whether ``path`` proves the tree of ``second`` leaves (root
    ``second_root``) extends the tree of ``first`` leaves (root ``first_root``). Equal
    sizes need the empty path and equal roots."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not path and first_root == second_root
    if not path:  # 1.
        return False
    if first & (first - 1) == 0:  # 2. first is a power of two
        path = [first_root, *path]
    fn, sn = first - 1, second - 1  # 3.
    while fn & 1:  # 4.
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # 5.
    for c in path[1:]:  # 6.
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0  # 7.


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_message(checkpoint: dict[str, Any]) -> bytes:
    """The documented byte form a checkpoint's signature covers."""
    return (
        "truceline checkpoint v1\n"
        f"log {checkpoint['log']}\n"
        f"tree_size {checkpoint['tree_size']}\n"
        f"root_hash {checkpoint['root_hash']}\n"
        f"timestamp {checkpoint['timestamp']}\n"
        f"key_id {checkpoint['key_id']}\n"
    ).encode()  # UTF-8


def signature_holds(public_key_hex: str, checkpoint: dict[str, Any]) -> bool:
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    try:
        public_key.verify(bytes.fromhex(checkpoint["signature"]), signed_message(checkpoint))
    except InvalidSignature:
        return False
    return True


# -- helpers and fixtures ---------------------------------------------------------------------


def file_of(path: str | None) -> Path:
    """A path the test settings always set (``signing_key_path``,
    ``checkpoint_archive_path``)."""
    assert path is not None
    return Path(path)


def headers_for(client: TestClient, role: str) -> Headers:
    """Headers with a new key of ``role`` in that client's store."""
    store = client.app.state.app.store  # type: ignore[attr-defined]
    _, token = create_key(store, f"checkpoint test {role}", role)
    return {"Authorization": f"Bearer {token}"}


def entry_leaves(client: TestClient, headers: Headers) -> list[bytes]:
    """The leaves of the whole log, from the entries' ``hash`` as the API shows them."""
    response = client.get("/v1/events", params={"limit": 1000}, headers=headers)
    assert response.status_code == 200, response.text
    entries = response.json()["events"]
    assert [entry["position"] for entry in entries] == list(range(1, len(entries) + 1))
    return [leaf(entry["hash"]) for entry in entries]


def log_size(client: TestClient) -> int:
    response = client.get("/v1/health")
    assert response.status_code == 200, response.text
    size: int = response.json()["log_position"]
    return size


def snapshot_of(response: Response) -> tuple[int, str]:
    size, _, root = response.headers[SNAPSHOT].partition(":")
    return int(size), root


def inclusion(client: TestClient, headers: Headers, position: Any, tree_size: Any) -> Response:
    params = {"position": position, "tree_size": tree_size}
    response: Response = client.get("/v1/audit/proof/inclusion", params=params, headers=headers)
    return response


def consistency(client: TestClient, headers: Headers, first: Any, second: Any) -> Response:
    params = {"first": first, "second": second}
    response: Response = client.get("/v1/audit/proof/consistency", params=params, headers=headers)
    return response


def assert_names(response: Response, loc: list[str]) -> None:
    """A 422 problem whose errors name ``loc`` first."""
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == loc, body


@pytest.fixture
def open_client(settings: Settings) -> Iterator[TestClient]:
    """A client of a server running with open reads (``TRUCELINE_OPEN_READS=1``)."""
    opened = settings.model_copy(update={"open_reads": True})
    with TestClient(create_app(opened), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def signing_settings(settings: Settings) -> Settings:
    """Settings that sign a checkpoint every 5 entries or 0.2 s after an unsigned one,
    with a signing key created in the key file before any app is built."""
    SigningKey.create(file_of(settings.signing_key_path))
    return settings.model_copy(update={"checkpoint_every": 5, "checkpoint_seconds": 0.2})


@pytest.fixture
def signing_client(signing_settings: Settings) -> Iterator[TestClient]:
    """A client of a server that has a signing key, hence a notary."""
    app = create_app(signing_settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# -- 1. proofs, checked by the verifier above ---------------------------------------------------


def test_every_inclusion_proof_verifies_against_the_independently_computed_root(served, reader):
    """For every tree size 1..10 and every position in it, the inclusion proof's
    ``leaf_hash`` is ``SHA-256(0x00 || entry hash)``, its ``root_hash`` the RFC 9162
    root of the first ``tree_size`` entries computed here, its path the RFC's PATH, and
    the RFC's verification algorithm accepts it."""
    leaves = entry_leaves(served, reader)
    assert len(leaves) == LOG_SIZE
    for tree_size in range(1, LOG_SIZE + 1):
        root = mth(leaves[:tree_size])
        for position in range(1, tree_size + 1):
            response = inclusion(served, reader, position, tree_size)
            assert response.status_code == 200, response.text
            proof = response.json()
            assert proof["position"] == position
            assert proof["tree_size"] == tree_size
            assert proof["leaf_hash"] == leaves[position - 1].hex()
            assert proof["root_hash"] == root.hex()
            path = [bytes.fromhex(p) for p in proof["path"]]
            assert path == rfc_path(position - 1, leaves[:tree_size])
            assert verify_inclusion(position - 1, tree_size, leaves[position - 1], path, root), (
                position,
                tree_size,
            )


def test_every_consistency_proof_verifies_between_the_independently_computed_roots(served, reader):
    """For every 1 <= first <= second <= 10 the consistency proof is the RFC's PROOF and
    verifies between the two roots computed here; equal sizes have the empty path."""
    leaves = entry_leaves(served, reader)
    for second in range(1, LOG_SIZE + 1):
        for first in range(1, second + 1):
            response = consistency(served, reader, first, second)
            assert response.status_code == 200, response.text
            proof = response.json()
            assert (proof["first"], proof["second"]) == (first, second)
            first_root, second_root = mth(leaves[:first]), mth(leaves[:second])
            assert proof["first_root_hash"] == first_root.hex()
            assert proof["second_root_hash"] == second_root.hex()
            path = [bytes.fromhex(p) for p in proof["path"]]
            if first == second:
                assert path == []
            assert path == rfc_proof(first, leaves[:second])
            assert verify_consistency(first, second, first_root, second_root, path), (
                first,
                second,
            )


def test_the_verifier_rejects_tampered_proofs(served, reader):
    """The verifier above can fail: a flipped bit in any path element, a wrong leaf, a
    wrong root, a wrong position or a truncated path is rejected."""
    leaves = entry_leaves(served, reader)
    root10, root6 = mth(leaves), mth(leaves[:6])

    proof = inclusion(served, reader, 3, 10).json()
    path = [bytes.fromhex(p) for p in proof["path"]]
    assert verify_inclusion(2, 10, leaves[2], path, root10)
    for i in range(len(path)):
        tampered = list(path)
        tampered[i] = bytes([tampered[i][0] ^ 1]) + tampered[i][1:]
        assert not verify_inclusion(2, 10, leaves[2], tampered, root10)
    assert not verify_inclusion(2, 10, leaves[3], path, root10)
    assert not verify_inclusion(2, 10, leaves[2], path, root6)
    assert not verify_inclusion(3, 10, leaves[2], path, root10)
    assert not verify_inclusion(2, 10, leaves[2], path[:-1], root10)

    path = [bytes.fromhex(p) for p in consistency(served, reader, 6, 10).json()["path"]]
    assert verify_consistency(6, 10, root6, root10, path)
    for i in range(len(path)):
        tampered = list(path)
        tampered[i] = bytes([tampered[i][0] ^ 1]) + tampered[i][1:]
        assert not verify_consistency(6, 10, root6, root10, tampered)
    assert not verify_consistency(6, 10, mth(leaves[:5]), root10, path)
    assert not verify_consistency(6, 10, root6, mth(leaves[:9]), path)
    assert not verify_consistency(6, 10, root6, root10, path[:-1])


# -- 2. refusals --------------------------------------------------------------------------------


def test_proofs_outside_the_log_are_refused_naming_the_field(served, reader):
    """A position past the tree, a tree or a second size past the log, and a first size
    past the second are 422 problems whose errors name that query parameter; nothing
    is stored."""
    assert_names(inclusion(served, reader, 6, 5), ["query", "position"])
    assert_names(inclusion(served, reader, 1, LOG_SIZE + 1), ["query", "tree_size"])
    assert_names(consistency(served, reader, 6, 5), ["query", "first"])
    assert_names(consistency(served, reader, 1, LOG_SIZE + 1), ["query", "second"])
    assert log_size(served) == LOG_SIZE


def test_zero_and_non_integer_sizes_are_refused(served, reader):
    """Position 0, tree size 0, sizes 0 and anything that is not a decimal integer (or
    is too large for one) are 422 problems naming the parameter; nothing is stored."""
    assert_names(inclusion(served, reader, 0, 5), ["query", "position"])
    assert_names(inclusion(served, reader, 1, 0), ["query", "tree_size"])
    assert_names(consistency(served, reader, 0, 5), ["query", "first"])
    assert_names(consistency(served, reader, 1, 0), ["query", "second"])
    for bad in ["abc", "1.5", "0x3", "3abc", "-1", "99999999999999999999"]:
        assert_names(inclusion(served, reader, bad, 5), ["query", "position"])
        assert_names(inclusion(served, reader, 1, bad), ["query", "tree_size"])
        assert_names(consistency(served, reader, bad, 5), ["query", "first"])
        assert_names(consistency(served, reader, 1, bad), ["query", "second"])
    assert_problem(served.get("/v1/audit/proof/inclusion", headers=reader), 422)
    assert_problem(served.get("/v1/audit/proof/consistency", headers=reader), 422)
    assert log_size(served) == LOG_SIZE


def test_proofs_of_an_empty_log_are_refused(client, reader):
    """On an empty log there is no tree to prove anything in: 422, and still nothing
    stored."""
    assert_names(inclusion(client, reader, 1, 1), ["query", "tree_size"])
    assert_names(consistency(client, reader, 1, 1), ["query", "second"])
    assert log_size(client) == 0


# -- 3. authentication --------------------------------------------------------------------------

AUDIT_READS = [
    "/v1/audit/checkpoint",
    "/v1/audit/public-key",
    "/v1/audit/proof/inclusion?position=1&tree_size=1",
    "/v1/audit/proof/consistency?first=1&second=1",
]


def test_checkpoint_and_proofs_need_a_reader_key_even_with_open_reads(open_client):
    """With open reads, the timeline and the log need no key, but the checkpoint, the
    public key and the proofs still do: 401 without one, answered with a reader key."""
    writer, reader = headers_for(open_client, "writer"), headers_for(open_client, "reader")
    assert post(open_client, writer, valid_event("strike")).status_code == 201
    assert open_client.get("/v1/timeline").status_code == 200
    assert open_client.get("/v1/events").status_code == 200
    for url in AUDIT_READS:
        response = open_client.get(url)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    # No signing key file: the checkpoint and the public key are a 404, not a refusal.
    assert_problem(open_client.get("/v1/audit/checkpoint", headers=reader), 404)
    assert_problem(open_client.get("/v1/audit/public-key", headers=reader), 404)
    assert open_client.get(AUDIT_READS[2], headers=reader).status_code == 200
    assert open_client.get(AUDIT_READS[3], headers=reader).status_code == 200


def test_checkpoint_and_proofs_need_a_reader_key_without_open_reads(client, reader):
    """Without open reads, the same: 401 without a key."""
    for url in AUDIT_READS:
        assert_problem(client.get(url), 401)
    assert_problem(client.get("/v1/timeline"), 401)


@pytest.mark.parametrize("opened", [False, True], ids=["closed", "open-reads"])
def test_the_keys_access_log_needs_an_auditor_key(settings, opened):
    """``/v1/audit/keys`` needs an auditor: 401 without a key, 403 with a reader's or a
    writer's, whether or not reads are open."""
    update = {"open_reads": opened}
    with TestClient(create_app(settings.model_copy(update=update))) as test_client:
        assert_problem(test_client.get("/v1/audit/keys"), 401)
        for role in ["reader", "writer", "editor"]:
            assert_problem(
                test_client.get("/v1/audit/keys", headers=headers_for(test_client, role)), 403
            )
        auditor = headers_for(test_client, "auditor")
        assert test_client.get("/v1/audit/keys", headers=auditor).status_code == 200


# -- 4. the checkpoint endpoint -----------------------------------------------------------------


def test_without_a_signing_key_there_is_no_checkpoint_and_no_public_key(client, reader, writer):
    """A server whose key file does not exist signs nothing: both endpoints are 404
    problems, even once events are appended."""
    assert not file_of(client.app.state.settings.signing_key_path).exists()
    append_all(client, writer, events()[:3])
    assert_problem(client.get("/v1/audit/checkpoint", headers=reader), 404)
    assert_problem(client.get("/v1/audit/public-key", headers=reader), 404)


def archived(path: Path) -> list[dict[str, Any]]:
    """The archive file's checkpoints, one JSON object a line."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_server_signs_a_checkpoint_of_the_head_that_verifies(signing_client, signing_settings):
    """With a signing key, the server signs checkpoints as the log grows. Once it has
    signed the head of ten events, the checkpoint has exactly the documented fields,
    names the key the public-key endpoint serves, has the root computed here, and its
    Ed25519 signature verifies over the documented byte form built here. The archive
    file holds the checkpoints one JSON a line, each verifying, the last of the event
    log equal to the endpoint's answer."""
    client = signing_client
    writer, reader = headers_for(client, "writer"), headers_for(client, "reader")
    append_all(client, writer, events())
    archive = file_of(signing_settings.checkpoint_archive_path)

    deadline = time.monotonic() + 10
    checkpoint: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get("/v1/audit/checkpoint", headers=reader)
        if response.status_code == 200:
            checkpoint = response.json()
            in_archive = [c for c in archived(archive) if c["log"] == "events"]
            if checkpoint["tree_size"] == LOG_SIZE and in_archive and in_archive[-1] == checkpoint:
                break
        time.sleep(0.05)
    assert checkpoint.get("tree_size") == LOG_SIZE, checkpoint

    assert set(checkpoint) == CHECKPOINT_FIELDS
    assert checkpoint["log"] == "events"
    assert checkpoint["algorithm"] == "ed25519"
    leaves = entry_leaves(client, reader)
    assert checkpoint["root_hash"] == mth(leaves).hex()
    assert checkpoint["timestamp"].endswith("Z")

    public = client.get("/v1/audit/public-key", headers=reader)
    assert public.status_code == 200, public.text
    public_key = public.json()
    assert public_key["algorithm"] == "ed25519"
    assert checkpoint["key_id"] == public_key["key_id"]
    raw = bytes.fromhex(public_key["public_key"])
    assert public_key["key_id"] == hashlib.sha256(raw).hexdigest()[:16]
    Ed25519PublicKey.from_public_bytes(raw).verify(
        bytes.fromhex(checkpoint["signature"]), signed_message(checkpoint)
    )
    forged = {**checkpoint, "tree_size": LOG_SIZE - 1}
    assert not signature_holds(public_key["public_key"], forged)

    lines = archived(archive)
    assert lines
    for line in lines:
        assert set(line) == CHECKPOINT_FIELDS
        assert line["key_id"] == public_key["key_id"]
        assert signature_holds(public_key["public_key"], line), line
    of_events = [line for line in lines if line["log"] == "events"]
    assert of_events[-1] == checkpoint
    sizes = [line["tree_size"] for line in of_events]
    assert sizes == sorted(set(sizes))
    for line in of_events:
        assert line["root_hash"] == mth(leaves[: line["tree_size"]]).hex()


@SQLITE_ONLY
def test_a_signing_key_others_may_read_stops_the_server(settings):
    """A key file with mode 0644 is refused: create_app raises CheckpointError (and
    a 0600 one is accepted)."""
    path = file_of(settings.signing_key_path)
    SigningKey.create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(CheckpointError):
        create_app(settings)
    os.chmod(path, 0o600)
    with TestClient(create_app(settings)) as test_client:
        reader = headers_for(test_client, "reader")
        assert test_client.get("/v1/audit/public-key", headers=reader).status_code == 200


# -- 5. Truceline-Snapshot ----------------------------------------------------------------------


def test_every_read_names_the_head_it_came_from(served, reader):
    """After ten events, with the read models caught up, every GET under /v1 (the
    read models, the log, one entry, health, a proof, and a 404) carries
    ``10:<root of the ten entries>``."""
    leaves = entry_leaves(served, reader)
    expected = f"{LOG_SIZE}:{mth(leaves).hex()}"
    for url in [
        "/v1/timeline",
        "/v1/ceasefires",
        "/v1/conflicts",
        "/v1/events",
        f"/v1/events/{n(3)}",
        "/v1/health",
        "/v1/audit/proof/inclusion?position=3&tree_size=10",
    ]:
        response = served.get(url, headers=reader)
        assert response.status_code == 200, (url, response.text)
        assert response.headers[SNAPSHOT] == expected, url
    missing = served.get("/v1/conflicts/nope/status", headers=reader)
    assert_problem(missing, 404)
    assert missing.headers[SNAPSHOT] == expected


def test_an_as_of_read_names_the_as_of_state(served, reader):
    """With ``as_of=4`` the header names the tree of the first four entries, on the
    read models, the log, one entry, and a 404 alike."""
    leaves = entry_leaves(served, reader)
    expected = f"4:{mth(leaves[:4]).hex()}"
    for url in ["/v1/timeline", "/v1/ceasefires", "/v1/events", "/v1/conflicts"]:
        response = served.get(url, params={"as_of": 4}, headers=reader)
        assert response.status_code == 200, (url, response.text)
        assert response.headers[SNAPSHOT] == expected, url
    one = served.get(f"/v1/events/{n(3)}", params={"as_of": 4}, headers=reader)
    assert one.status_code == 200, one.text
    assert one.headers[SNAPSHOT] == expected
    missing = served.get("/v1/conflicts/nope/status", params={"as_of": 4}, headers=reader)
    assert_problem(missing, 404)
    assert missing.headers[SNAPSHOT] == expected


def test_an_empty_log_names_the_empty_tree(client, reader):
    """On an empty log the header is ``0:`` and the RFC 9162 root of the empty tree,
    SHA-256 of nothing."""
    for url in ["/v1/timeline", "/v1/events", "/v1/conflicts", "/v1/ceasefires", "/v1/health"]:
        response = client.get(url, headers=reader)
        assert response.status_code == 200, (url, response.text)
        assert response.headers[SNAPSHOT] == f"0:{EMPTY_ROOT}", url


def test_the_snapshot_root_can_be_proven(served, reader):
    """A figure cited with its header can be proven later: position 3's inclusion proof
    at the header's tree size verifies against the header's root, for the head and an
    as_of state, and the as_of state is proven a prefix of the head."""
    head_size, head_root = snapshot_of(served.get("/v1/timeline", headers=reader))
    past_size, past_root = snapshot_of(
        served.get("/v1/timeline", params={"as_of": 4}, headers=reader)
    )
    assert (head_size, past_size) == (LOG_SIZE, 4)
    for size, root in [(head_size, head_root), (past_size, past_root)]:
        proof = inclusion(served, reader, 3, size).json()
        path = [bytes.fromhex(p) for p in proof["path"]]
        leaf_hash = bytes.fromhex(proof["leaf_hash"])
        assert verify_inclusion(2, size, leaf_hash, path, bytes.fromhex(root))
    path = [
        bytes.fromhex(p) for p in consistency(served, reader, past_size, head_size).json()["path"]
    ]
    assert verify_consistency(
        past_size, head_size, bytes.fromhex(past_root), bytes.fromhex(head_root), path
    )


# -- 6. the keys' access log --------------------------------------------------------------------


def secret_of(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ").split(".")[2]


def assert_chained_and_rooted(body: dict[str, Any]) -> None:
    """Each record chains to the one before as log.py's key_record_hash does, and the
    tree size and root are those of the records' leaves, computed here."""
    records = body["items"]
    assert [record["seq"] for record in records] == list(range(1, len(records) + 1))
    previous = "0" * 64
    for record in records:
        assert set(record) == KEY_RECORD_FIELDS
        content = canonical_json({k: v for k, v in record.items() if k != "hash"})
        assert record["hash"] == hashlib.sha256(previous.encode() + b"\n" + content).hexdigest()
        previous = record["hash"]
    assert body["tree_size"] == len(records)
    assert body["root_hash"] == mth([leaf(record["hash"]) for record in records]).hex()


def test_the_keys_access_log_records_creations_and_revocations(client, reader, writer, auditor):
    """The access log lists the keys the fixtures created (action ``create``, the key's
    name, role and secret hash, by the local user), hash-chained and with the root of
    its own tree; a revocation is appended as ``revoke`` by its actor. Event positions
    are unaffected: the log's size does not move, and the next event lands at the next
    position."""
    append_all(client, writer, events()[:3])
    before = entry_leaves(client, reader)

    body = client.get("/v1/audit/keys", headers=auditor).json()
    assert_chained_and_rooted(body)
    created = {
        key_id(h): (role, h)
        for role, h in [("reader", reader), ("writer", writer), ("auditor", auditor)]
    }
    records = body["items"]
    assert len(records) == 3
    assert {record["key_id"] for record in records} == set(created)
    for record in records:
        role, headers = created[record["key_id"]]
        assert record["action"] == "create"
        assert record["role"] == role
        assert record["name"] == f"test {role}"
        assert record["secret_hash"] == hashlib.sha256(secret_of(headers).encode()).hexdigest()
        assert record["actor"] == f"local:{getpass.getuser()}"
        assert record["at"].endswith("Z")

    store = client.app.state.app.store
    assert revoke_key(store, key_id(writer), actor="local:test")
    assert_problem(post(client, writer, valid_event("strike")), 401)

    after = client.get("/v1/audit/keys", headers=auditor).json()
    assert_chained_and_rooted(after)
    assert after["items"][:3] == records
    revoked = after["items"][3]
    assert revoked["action"] == "revoke"
    assert revoked["actor"] == "local:test"
    assert revoked["key_id"] == key_id(writer)
    assert revoked["role"] == "writer"
    assert revoked["seq"] == 4
    assert after["tree_size"] == 4

    assert log_size(client) == 3
    assert entry_leaves(client, reader) == before
    another = headers_for(client, "writer")
    landed = post(client, another, valid_event("strike"))
    assert landed.status_code == 201, landed.text
    assert landed.json()["position"] == 4


def test_the_keys_access_log_is_checkpointed_too(signing_client, signing_settings):
    """With a signing key the server also signs the keys' access log: ``/v1/audit/keys``
    shows its latest checkpoint (``log keys``), whose root is the one computed here from
    the records and whose signature verifies over the documented byte form; the archive
    holds it too."""
    client = signing_client
    auditor = headers_for(client, "auditor")
    headers_for(client, "reader")
    headers_for(client, "writer")

    deadline = time.monotonic() + 10
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get("/v1/audit/keys", headers=auditor).json()
        signed = body["checkpoint"]
        archive = archived(file_of(signing_settings.checkpoint_archive_path))
        of_keys = [c for c in archive if c["log"] == "keys"]
        if signed and signed["tree_size"] == 3 and of_keys and of_keys[-1] == signed:
            break
        time.sleep(0.05)
    signed = body["checkpoint"]
    assert signed is not None and signed["tree_size"] == 3, body
    assert_chained_and_rooted(body)
    assert set(signed) == CHECKPOINT_FIELDS
    assert signed["log"] == "keys"
    assert signed["algorithm"] == "ed25519"
    assert signed["root_hash"] == body["root_hash"]
    public_key = client.get("/v1/audit/public-key", headers=auditor).json()
    assert signed["key_id"] == public_key["key_id"]
    assert signature_holds(public_key["public_key"], signed)
    assert not signature_holds(public_key["public_key"], {**signed, "log": "events"})
    assert log_size(client) == 0
