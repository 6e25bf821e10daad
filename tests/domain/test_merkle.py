"""The RFC 9162 Merkle tree: reference vectors, and properties against a naive model.

The naive model below is written straight from RFC 9162's definitions (MTH §2.1.1, PATH
§2.1.3.1, PROOF/SUBPROOF §2.1.4.1) on the whole list of leaf data, and its verifiers
step by step from §2.1.3.2 and §2.1.4.2. It shares no code with truceline.domain.merkle,
which works on stored complete subtrees instead.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.domain import merkle
from truceline.domain.merkle import (
    EMPTY_ROOT,
    appended_nodes,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    root,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)

Store = dict[tuple[int, int], bytes]

# -- reference vectors -------------------------------------------------------------------
#
# The Certificate Transparency / Trillian reference vectors for RFC 6962 (= RFC 9162
# §2.1 with SHA-256) hashing, copied from github.com/transparency-dev/merkle (the Merkle
# package split out of google/trillian, whose merkle/testonly/constants.go holds the same
# values):
#   testonly/constants.go      LeafInputs, NodeHashes, RootHashes, EmptyRootHash
#   testonly/reference_test.go TestRefInclusionProof, TestRefConsistencyProof (0-based index)
#   proof/verify_test.go       inclusionProofs (1-based leaf number there, 0-based here),
#                              consistencyProofs


def _hx(text: str) -> bytes:
    return bytes.fromhex(text)


LEAF_INPUTS = [
    _hx(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

# NODE_HASHES[level][index]: every complete subtree of the 8-leaf tree.
NODE_HASHES = [
    [
        _hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        _hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        _hx("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        _hx("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        _hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        _hx("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        _hx("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        _hx("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        _hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        _hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        _hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        _hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        _hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        _hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [
        _hx("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ],
]

# ROOT_HASHES[n]: the root of the tree of the first n leaves.
ROOT_HASHES = [
    _hx("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    _hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    _hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    _hx("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    _hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    _hx("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    _hx("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    _hx("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    _hx("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (0-based leaf index, tree size, path)
INCLUSION_VECTORS: list[tuple[int, int, list[bytes]]] = [
    (0, 1, []),
    (0, 2, [_hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")]),
    (1, 2, [_hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")]),
    (2, 3, [_hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            _hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            _hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        0,
        8,
        [
            _hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            _hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            _hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            _hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            _hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

# (first, second, path)
CONSISTENCY_VECTORS: list[tuple[int, int, list[bytes]]] = [
    (1, 1, []),
    (
        1,
        8,
        [
            _hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            _hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        2,
        5,
        [
            _hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            _hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        8,
        [
            _hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            _hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            _hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        6,
        7,
        [
            _hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            _hx("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            _hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]


# -- the naive model: RFC 9162 §2.1, on the full list of leaf data --------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]), §2.1.1."""
    n = len(d)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + d[0])
    k = _k(n)
    return _sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def naive_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), §2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def naive_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), §2.1.4.1."""
    return naive_subproof(m, d, True)


def _lsb(x: int) -> bool:
    return x % 2 == 1


def _hash_children(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def rfc_verify_inclusion(
    leaf_index: int, tree_size: int, hash_: bytes, path: Sequence[bytes], root_hash: bytes
) -> bool:
    """§2.1.3.2, step by step."""
    # 1.
    if leaf_index >= tree_size:
        return False
    # 2.
    fn, sn = leaf_index, tree_size - 1
    # 3.
    r = hash_
    # 4.
    for p in path:
        # a.
        if sn == 0:
            return False
        # b.
        if _lsb(fn) or fn == sn:
            r = _hash_children(p, r)
            if not _lsb(fn):
                while not (_lsb(fn) or fn == 0):
                    fn, sn = fn // 2, sn // 2
        else:
            r = _hash_children(r, p)
        # c.
        fn, sn = fn // 2, sn // 2
    # 5.
    return sn == 0 and r == root_hash


def rfc_verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, consistency: Sequence[bytes]
) -> bool:
    """§2.1.4.2, step by step, for 0 < first < second; equal sizes need equal roots and
    an empty path (the RFC's algorithm does not cover them)."""
    if not 0 < first <= second:
        return False
    if first == second:
        return len(consistency) == 0 and first_hash == second_hash
    # 1.
    if len(consistency) == 0:
        return False
    path = list(consistency)
    # 2.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while _lsb(fn):
        fn, sn = fn // 2, sn // 2
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        # a.
        if sn == 0:
            return False
        # b.
        if _lsb(fn) or fn == sn:
            fr = _hash_children(c, fr)
            sr = _hash_children(c, sr)
            if not _lsb(fn):
                while not (_lsb(fn) or fn == 0):
                    fn, sn = fn // 2, sn // 2
        else:
            sr = _hash_children(sr, c)
        # c.
        fn, sn = fn // 2, sn // 2
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0


# -- helpers -------------------------------------------------------------------------------


class CountingStore:
    """A dict of nodes whose reads are counted; a read of a missing node fails the test."""

    def __init__(self, nodes: Store) -> None:
        self.nodes = nodes
        self.reads: list[tuple[int, int]] = []

    def get(self, level: int, index: int) -> bytes:
        self.reads.append((level, index))
        return self.nodes[(level, index)]


def complete_subtrees(size: int) -> set[tuple[int, int]]:
    """Every (level, index) with (index + 1) * 2**level <= size."""
    out: set[tuple[int, int]] = set()
    level = 0
    while (1 << level) <= size:
        out.update((level, i) for i in range(size >> level))
        level += 1
    return out


def append_all(store: Store, size: int, data: Sequence[bytes]) -> list[tuple[int, int, bytes]]:
    """Append leaf data through appended_nodes, checking what it reads and returns."""
    counting = CountingStore(store)
    before = set(store)
    created = appended_nodes(size, [leaf_hash(x) for x in data], counting.get)
    # It reads only nodes that existed before the call, each once, at most popcount(size).
    assert set(counting.reads) <= before
    assert len(counting.reads) == len(set(counting.reads)) <= size.bit_count()
    keys = [(level, index) for level, index, _ in created]
    # Nothing twice, nothing that existed, exactly what became complete.
    assert len(keys) == len(set(keys))
    assert not set(keys) & before
    assert set(keys) == complete_subtrees(size + len(data)) - complete_subtrees(size)
    # Insertable in order: children are stored or come earlier.
    seen = set(before)
    for level, index, value in created:
        if level:
            assert (level - 1, 2 * index) in seen
            assert (level - 1, 2 * index + 1) in seen
        seen.add((level, index))
        store[(level, index)] = value
    return created


def _entry(i: int) -> bytes:
    """Leaf data for the property tests: a 32-byte stand-in for entry i's hash."""
    return _sha256(b"entry %d" % i)


MAX = 300
DATA = [_entry(i) for i in range(MAX)]
FULL: Store = {}
append_all(FULL, 0, DATA)


def _max_reads(size: int) -> int:
    return 2 * math.floor(math.log2(size)) + 2 if size else 0


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


def included(index: int, size: int, leaf: bytes, path: Sequence[bytes], tree_root: bytes) -> bool:
    """The module's inclusion verifier, which must agree with the naive one."""
    verdict = verify_inclusion(index, size, leaf, path, tree_root)
    assert rfc_verify_inclusion(index, size, leaf, path, tree_root) == verdict
    return verdict


def consistent(first: int, second: int, r1: bytes, r2: bytes, path: Sequence[bytes]) -> bool:
    """The module's consistency verifier, which must agree with the naive one."""
    verdict = verify_consistency(first, second, r1, r2, path)
    assert rfc_verify_consistency(first, second, r1, r2, path) == verdict
    return verdict


# -- vectors -------------------------------------------------------------------------------


def _vector_store() -> Store:
    store: Store = {}
    append_all(store, 0, LEAF_INPUTS)
    return store


def test_hash_primitives_match_the_vectors() -> None:
    assert ROOT_HASHES[0] == EMPTY_ROOT
    assert [leaf_hash(x) for x in LEAF_INPUTS] == NODE_HASHES[0]
    assert node_hash(NODE_HASHES[0][0], NODE_HASHES[0][1]) == NODE_HASHES[1][0]
    assert node_hash(NODE_HASHES[2][0], NODE_HASHES[2][1]) == NODE_HASHES[3][0]


def test_appended_nodes_store_every_complete_subtree_of_the_vectors() -> None:
    expected = {
        (level, index): value
        for level, row in enumerate(NODE_HASHES)
        for index, value in enumerate(row)
    }
    assert _vector_store() == expected
    # The same, one leaf at a time, in the order a log appends.
    one_by_one: Store = {}
    for size, data in enumerate(LEAF_INPUTS):
        append_all(one_by_one, size, [data])
    assert one_by_one == expected
    # And in two uneven batches.
    batches: Store = {}
    append_all(batches, 0, LEAF_INPUTS[:3])
    append_all(batches, 3, LEAF_INPUTS[3:])
    assert batches == expected


@pytest.mark.parametrize("size", range(9))
def test_root_matches_the_vectors(size: int) -> None:
    store = CountingStore(_vector_store())
    assert root(size, store.get) == ROOT_HASHES[size]
    assert len(store.reads) == size.bit_count()
    assert naive_mth(LEAF_INPUTS[:size]) == ROOT_HASHES[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_path_matches_the_vectors(index: int, size: int, path: list[bytes]) -> None:
    store = _vector_store()
    assert inclusion_path(index, size, lambda lv, ix: store[(lv, ix)]) == path
    assert naive_path(index, LEAF_INPUTS[:size]) == path
    leaf = NODE_HASHES[0][index]
    assert verify_inclusion(index, size, leaf, path, ROOT_HASHES[size])
    assert rfc_verify_inclusion(index, size, leaf, path, ROOT_HASHES[size])


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY_VECTORS)
def test_consistency_path_matches_the_vectors(first: int, second: int, path: list[bytes]) -> None:
    store = _vector_store()
    assert consistency_path(first, second, lambda lv, ix: store[(lv, ix)]) == path
    assert naive_proof(first, LEAF_INPUTS[:second]) == path
    roots = (ROOT_HASHES[first], ROOT_HASHES[second])
    assert verify_consistency(first, second, *roots, path)
    assert rfc_verify_consistency(first, second, *roots, path)


# -- properties: building --------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
def test_random_appends_store_exactly_the_complete_subtrees(chunks: list[int]) -> None:
    store: Store = {}
    size = 0
    for chunk in chunks:
        chunk = min(chunk, MAX - size)
        if chunk == 0:
            break
        append_all(store, size, DATA[size : size + chunk])
        size += chunk
        assert set(store) == complete_subtrees(size)
        assert root(size, CountingStore(store).get) == naive_mth(DATA[:size])
    # Every stored node is the MTH of its aligned leaf range.
    for (level, index), value in store.items():
        assert value == naive_mth(DATA[index << level : (index + 1) << level])
    # Same tree, whatever the chunking.
    assert store == {key: FULL[key] for key in complete_subtrees(size)}


def test_root_of_every_size_is_the_naive_mth_in_popcount_reads() -> None:
    for size in range(MAX + 1):
        store = CountingStore(FULL)
        assert root(size, store.get) == naive_mth(DATA[:size])
        assert len(store.reads) == size.bit_count() <= _max_reads(size)
        assert sorted(store.reads) == sorted(root_nodes(size))


# -- properties: proofs ----------------------------------------------------------------------


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(min_value=1, max_value=MAX))
    return draw(st.integers(min_value=0, max_value=size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    second = draw(st.integers(min_value=1, max_value=MAX))
    return draw(st.integers(min_value=1, max_value=second)), second


@settings(max_examples=150, deadline=None)
@given(index_and_size(), st.data())
def test_inclusion_path_is_the_rfc_path_and_verifies(
    case: tuple[int, int], data: st.DataObject
) -> None:
    index, size = case
    store = CountingStore(FULL)
    path = inclusion_path(index, size, store.get)
    assert path == naive_path(index, DATA[:size])
    assert len(store.reads) <= _max_reads(size)

    leaf = leaf_hash(DATA[index])
    tree_root = naive_mth(DATA[:size])
    assert included(index, size, leaf, path, tree_root)

    # A tampered leaf, a tampered path element, a wrong index or size.
    assert not included(index, size, _flip(leaf), path, tree_root)
    if path:
        at = data.draw(st.integers(min_value=0, max_value=len(path) - 1), label="tampered")
        bad = [*path[:at], _flip(path[at]), *path[at + 1 :]]
        assert not included(index, size, leaf, bad, tree_root)
        assert not included(index, size, leaf, path[:-1], tree_root)
        assert not included(index, size, leaf, [*path, path[-1]], tree_root)
    for other in {index - 1, index + 1, index ^ 2, size}:
        if other != index and other >= 0:
            assert not included(other, size, leaf, path, tree_root)
    other_size = data.draw(
        st.integers(min_value=index + 1, max_value=MAX).filter(lambda s: s != size), label="size"
    )
    other_root = naive_mth(DATA[:other_size])
    assert not included(index, other_size, leaf, path, other_root)
    # The same root under a doubled or halved size: the path no longer fits the tree. (Not
    # every other size: a path only fixes the tree's shape along it, so a client checks it
    # against the root of the size it holds.)
    for other in (size * 2, size // 2):
        assert not included(index, other, leaf, path, tree_root)


@settings(max_examples=150, deadline=None)
@given(two_sizes(), st.data())
def test_consistency_path_is_the_rfc_proof_and_verifies(
    case: tuple[int, int], data: st.DataObject
) -> None:
    first, second = case
    store = CountingStore(FULL)
    path = consistency_path(first, second, store.get)
    assert path == naive_proof(first, DATA[:second])
    assert len(store.reads) <= _max_reads(second)
    if first == second:
        assert path == []

    roots = {n: naive_mth(DATA[:n]) for n in (first, second)}
    good = (first, second, roots[first], roots[second])
    assert consistent(*good, path)

    # Tampered roots, a tampered path element, wrong sizes.
    bad_first = (first, second, _flip(roots[first]), roots[second])
    bad_second = (first, second, roots[first], _flip(roots[second]))
    assert not consistent(*bad_first, path)
    assert not consistent(*bad_second, path)
    if path:
        at = data.draw(st.integers(min_value=0, max_value=len(path) - 1), label="tampered")
        bad = [*path[:at], _flip(path[at]), *path[at + 1 :]]
        assert not consistent(*good, bad)
        assert not consistent(*good, path[:-1])
        assert not consistent(*good, [*path, path[-1]])
    if second > 1:
        other_first = data.draw(
            st.integers(min_value=1, max_value=second).filter(lambda n: n != first), label="first"
        )
        claim = (other_first, second, naive_mth(DATA[:other_first]), roots[second])
        assert not consistent(*claim, path)
    other_second = data.draw(
        st.integers(min_value=first, max_value=MAX).filter(lambda n: n != second), label="second"
    )
    claim = (first, other_second, roots[first], naive_mth(DATA[:other_second]))
    assert not consistent(*claim, path)
    # The same roots under doubled or halved sizes.
    for sizes in ((first, second * 2), (first, second // 2), (first // 2, second)):
        assert not consistent(*sizes, roots[first], roots[second], path)


def test_every_proof_of_a_small_tree_is_the_rfc_one() -> None:
    """Exhaustively, for every tree size up to 40: all inclusion and consistency paths."""
    for size in range(1, 41):
        d = DATA[:size]
        tree_root = naive_mth(d)
        for index in range(size):
            path = inclusion_path(index, size, CountingStore(FULL).get)
            assert path == naive_path(index, d)
            assert verify_inclusion(index, size, leaf_hash(d[index]), path, tree_root)
        for first in range(1, size + 1):
            path = consistency_path(first, size, CountingStore(FULL).get)
            assert path == naive_proof(first, d)
            assert verify_consistency(first, size, naive_mth(d[:first]), tree_root, path)


# -- edges -----------------------------------------------------------------------------------


def _no_reads(level: int, index: int) -> bytes:
    raise AssertionError(f"unexpected read of node ({level}, {index})")


def test_empty_and_trivial_cases_read_nothing() -> None:
    assert root(0, _no_reads) == EMPTY_ROOT == _sha256(b"")
    assert root_nodes(0) == []
    assert consistency_path(7, 7, _no_reads) == []
    assert inclusion_path(0, 1, _no_reads) == []
    assert appended_nodes(5, [], _no_reads) == []
    # The first leaf of an even-sized tree completes nothing, so reads nothing.
    assert appended_nodes(4, [leaf_hash(b"x")], _no_reads) == [(0, 4, leaf_hash(b"x"))]


def test_verifiers_decide_the_trivial_sizes() -> None:
    r1, r2 = ROOT_HASHES[1], ROOT_HASHES[2]
    assert verify_consistency(3, 3, ROOT_HASHES[3], ROOT_HASHES[3], [])
    assert not verify_consistency(3, 3, ROOT_HASHES[3], ROOT_HASHES[4], [])
    assert not verify_consistency(3, 3, ROOT_HASHES[3], ROOT_HASHES[3], [r1])
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOT_HASHES[5], [])
    assert not verify_consistency(0, 5, r1, ROOT_HASHES[5], [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOT_HASHES[5], [r1])
    assert not verify_consistency(1, 2, r1, r2, [])
    assert not verify_consistency(2, 1, r2, r1, [NODE_HASHES[0][1]])
    assert not verify_consistency(-1, 2, r1, r2, [])
    assert verify_inclusion(0, 1, r1, [], r1)
    # A path that ends before the tree's root level: the hashes match, the size does not.
    assert not verify_inclusion(0, 4, NODE_HASHES[0][0], [NODE_HASHES[0][1]], r2)
    assert not verify_inclusion(0, 2, r1, [], r1)
    assert not verify_consistency(1, 4, r1, r2, [NODE_HASHES[0][1]])
    # A path that goes on past the root level (RFC steps 4a / 6a): leaf 1 of the 2-leaf
    # tree passed off as the only leaf of a 1-leaf tree whose root would be r2, and a
    # consistency proof one element too long for roots built to match it.
    l0, l1, l2, l3 = NODE_HASHES[0][:4]
    assert node_hash(l0, l1) == r2
    assert not included(0, 1, l1, [l0], r2)
    r3, r4, x = ROOT_HASHES[3], ROOT_HASHES[4], NODE_HASHES[0][7]
    assert consistent(3, 4, r3, r4, [l2, l3, r2])
    assert not consistent(3, 4, node_hash(x, r3), node_hash(x, r4), [l2, l3, r2, x])
    assert not verify_inclusion(1, 1, r1, [], r1)
    assert not verify_inclusion(-1, 1, r1, [], r1)
    assert not verify_inclusion(0, 0, EMPTY_ROOT, [], EMPTY_ROOT)
    # Hashes of the wrong length are rejected, not hashed.
    assert not verify_inclusion(0, 1, b"", [], b"")
    assert not verify_inclusion(0, 2, NODE_HASHES[0][0], [NODE_HASHES[0][1][:31]], r2)
    assert not verify_consistency(1, 2, r1, r2, [NODE_HASHES[0][1] + b"\x00"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: root(-1, _no_reads), "negative"),
        (lambda: root_nodes(-1), "negative"),
        (lambda: inclusion_path(0, 0, _no_reads), "not in a tree"),
        (lambda: inclusion_path(5, 5, _no_reads), "not in a tree"),
        (lambda: inclusion_path(-1, 5, _no_reads), "not in a tree"),
        (lambda: consistency_path(0, 5, _no_reads), "no consistency proof"),
        (lambda: consistency_path(6, 5, _no_reads), "no consistency proof"),
        (lambda: consistency_path(-1, 5, _no_reads), "no consistency proof"),
        (lambda: appended_nodes(-1, [], _no_reads), "negative"),
        (lambda: appended_nodes(0, [b"short"], _no_reads), "not 32"),
        (lambda: merkle.range_nodes(1, 3), "not aligned"),
        (lambda: merkle.range_nodes(3, 3), "empty"),
    ],
)
def test_out_of_range_arguments_raise(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
