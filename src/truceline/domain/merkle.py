"""The log as an RFC 9162 Merkle tree, stored as its complete aligned subtrees.

Leaf ``i`` (0-based) is the log's entry at position ``i + 1``; its data is that entry's
hash. Hashing follows RFC 9162 §2.1.1 with SHA-256::

    leaf      MTH({d})      = SHA-256(0x00 || d)
    node      MTH(D[n])     = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])),  n > 1,
                              k the largest power of two smaller than n
    empty     MTH({})       = SHA-256("")

Storage. The tree is kept as its *complete, aligned subtrees*: the node at ``(level L,
index i)`` is ``MTH(D[i·2^L : (i+1)·2^L])`` and exists once the tree has at least
``(i+1)·2^L`` leaves; level 0 holds the leaf hashes. A stored node never changes, so the
table is append-only like the log itself. Any range ``D[a:b]`` whose start ``a`` is a
multiple of the largest power of two not above ``b - a`` is the right fold of at most
``log2(b - a) + 1`` stored nodes (its binary decomposition, largest first), which is what
makes every tree size's root, and every RFC 9162 proof, O(log n) node reads:

* ``root(n)`` reads the ``popcount(n)`` "peaks" of ``n``;
* an inclusion or consistency path needs one stored node per element, except for at most
  one element (the first on the right border of the tree) that is such a fold.

The module is pure: it hashes with :mod:`hashlib` and does no I/O. Reads go through a
``GetNode`` callable the caller passes in (e.g. one ``SELECT`` inside the store's append
transaction); writes are returned as data for the caller to insert.

Why not pymerkle: its storage interface (``BaseMerkleTree``: ``_encode_entry``,
``_store_leaf``, ``_get_leaf``, ``_get_leaves``, ``_get_size``) persists leaves only and
recomputes every subtree root from a ``_get_leaves`` range, i.e. O(n) hashing per root or
proof unless its in-process LRU subroot cache happens to be warm. The tree object owns
its storage and writes one leaf per ``append_entry`` (its SQLite backend commits each
``_store_leaf`` on its own connection), so it cannot live inside our store's append
transaction; and its proofs are its own ``MerkleProof`` format, not RFC 9162 paths.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Hash = bytes
"""A SHA-256 digest: 32 bytes."""

GetNode = Callable[[int, int], bytes]
"""``(level, index) -> hash`` of the stored complete node ``MTH(D[index·2^level :
(index+1)·2^level])``. Only ever called for nodes that are complete in the tree being read
(or, for :func:`appended_nodes`, complete before the append)."""

HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT: Hash = hashlib.sha256(b"").digest()
"""The root of the empty tree, ``SHA-256("")`` (RFC 9162 §2.1.1)."""


def leaf_hash(data: bytes) -> Hash:
    """The hash of a leaf whose data is ``data``: ``SHA-256(0x00 || data)``.

    For the log, ``data`` is the entry's own hash (the chain hash at that position).
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: Hash, right: Hash) -> Hash:
    """The hash of an interior node over two children: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# -- tree geometry ---------------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The complete nodes ``(level, index)`` whose right fold is ``MTH(D[start:end])``.

    They are the binary decomposition of ``end - start`` laid out from ``start``, largest
    (leftmost) first, at most ``log2(end - start) + 1`` of them. Requires
    ``0 <= start < end`` and ``start`` a multiple of the largest power of two not above
    ``end - start`` (true of every range RFC 9162's recursions produce, and of every
    prefix ``D[0:n]``); raises ValueError otherwise.
    """
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    nodes: list[tuple[int, int]] = []
    while start < end:
        level = (end - start).bit_length() - 1
        width = 1 << level
        if start % width:
            raise ValueError(f"range [{start}, {end}) is not aligned for level {level}")
        nodes.append((level, start >> level))
        start += width
    return nodes


def root_nodes(size: int) -> list[tuple[int, int]]:
    """The complete nodes ``(level, index)`` that :func:`root` reads for ``size`` leaves,
    left to right: one per set bit of ``size`` (none for the empty tree). A caller may
    fetch them in one query and hand :func:`root` a dictionary lookup."""
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    return range_nodes(0, size) if size else []


def _range_hash(start: int, end: int, get: GetNode) -> Hash:
    """``MTH(D[start:end])`` from the stored nodes of :func:`range_nodes`."""
    nodes = range_nodes(start, end)
    acc = get(*nodes[-1])
    for level, index in reversed(nodes[:-1]):
        acc = node_hash(get(level, index), acc)
    return acc


# -- writing ---------------------------------------------------------------------------


def appended_nodes(size: int, leaves: Sequence[Hash], get: GetNode) -> list[tuple[int, int, Hash]]:
    """The complete nodes ``(level, index, hash)`` that appending ``leaves`` to a tree of
    ``size`` leaves creates, the leaves themselves included (level 0).

    ``leaves`` are leaf hashes, already :func:`leaf_hash`-ed, in position order; the first
    becomes leaf ``size``. The list is in an order that can be inserted as is: every node
    comes after any of its children created by the same call (leaf by leaf, each leaf
    followed by the nodes it completes, bottom up). Exactly the nodes complete in the
    tree of ``size + len(leaves)`` leaves but not in the tree of ``size`` leaves are
    returned, each once.

    Reads through ``get`` only nodes that already existed (were complete at ``size``):
    the left siblings the first new leaves complete, at most ``popcount(size)`` reads,
    each node at most once. Nodes created in this call are taken from the call itself,
    so the caller need not insert them before the call returns.

    Raises ValueError if ``size`` is negative or a leaf hash is not 32 bytes long.
    """
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    for leaf in leaves:
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {len(leaf)} bytes long, not {HASH_SIZE}")
    created: dict[tuple[int, int], Hash] = {}
    out: list[tuple[int, int, Hash]] = []
    for offset, leaf in enumerate(leaves):
        level, index, acc = 0, size + offset, leaf
        out.append((0, index, acc))
        created[(0, index)] = acc
        # A right child (odd index) completes its parent, whose left sibling is either
        # older than this call (stored) or was created earlier in it.
        while index & 1:
            sibling = created.get((level, index - 1))
            if sibling is None:
                sibling = get(level, index - 1)
            acc = node_hash(sibling, acc)
            level, index = level + 1, index >> 1
            out.append((level, index, acc))
            created[(level, index)] = acc
    return out


# -- reading ---------------------------------------------------------------------------


def root(size: int, get: GetNode) -> Hash:
    """``MTH(D[0:size])``, the root of the tree of the first ``size`` leaves.

    Reads exactly ``popcount(size)`` nodes (:func:`root_nodes`), so any past tree size is
    as cheap as the current one; the empty tree's root is :data:`EMPTY_ROOT` with no read.
    Raises ValueError if ``size`` is negative.
    """
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    if size == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, get)


def inclusion_path(index: int, size: int, get: GetNode) -> list[Hash]:
    """The RFC 9162 §2.1.3.1 inclusion proof ``PATH(index, D[0:size])`` for leaf ``index``
    (0-based) in the tree of ``size`` leaves: the sibling hashes from the leaf up to the
    root, exactly the hashes and order of the RFC (empty for a one-leaf tree).

    Reads O(log size) nodes: one per path element plus at most ``log2(size)`` for the one
    element that lies on the tree's right border. Raises ValueError unless
    ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of {size} leaves")
    path: list[Hash] = []
    lo, hi = 0, size
    # PATH(m, D[lo:hi]) = PATH(m, D[lo:lo+k]) : MTH(D[lo+k:hi])   if m < lo + k
    #                   = PATH(m, D[lo+k:hi]) : MTH(D[lo:lo+k])   otherwise
    # walked top-down, so the siblings come out root-first and are reversed at the end.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(_range_hash(lo + k, hi, get))
            hi = lo + k
        else:
            path.append(_range_hash(lo, lo + k, get))
            lo += k
    path.reverse()
    return path


def consistency_path(first: int, second: int, get: GetNode) -> list[Hash]:
    """The RFC 9162 §2.1.4.1 consistency proof ``PROOF(first, D[0:second])`` between the
    trees of ``first`` and ``second`` leaves: exactly the hashes and order of the RFC.
    ``first == second`` gives the empty proof.

    Reads O(log second) nodes: one per path element plus at most ``log2(second)`` for the
    one element that lies on the larger tree's right border. Raises ValueError unless
    ``0 < first <= second``.
    """
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from tree size {first} to {second}")
    path: list[Hash] = []
    lo, hi, whole = 0, second, True
    # SUBPROOF(m, D[lo:hi], b), m = first - lo:
    #   m == hi - lo: [] if b else [MTH(D[lo:hi])]
    #   m <= k:       SUBPROOF(m, D[lo:lo+k], b) : MTH(D[lo+k:hi])
    #   m > k:        SUBPROOF(m - k, D[lo+k:hi], false) : MTH(D[lo:lo+k])
    while first != hi:
        k = _split(hi - lo)
        if first - lo <= k:
            path.append(_range_hash(lo + k, hi, get))
            hi = lo + k
        else:
            path.append(_range_hash(lo, lo + k, get))
            lo += k
            whole = False
    if not whole:
        path.append(_range_hash(lo, hi, get))
    path.reverse()
    return path


# -- verifying -------------------------------------------------------------------------


def _is_hash(value: bytes) -> bool:
    return len(value) == HASH_SIZE


def verify_inclusion(index: int, size: int, leaf: Hash, path: Sequence[Hash], root: Hash) -> bool:
    """Whether ``path`` proves that the leaf hash ``leaf`` (a :func:`leaf_hash`, not the
    entry hash itself) is leaf ``index`` (0-based) of the tree of ``size`` leaves whose
    root is ``root``: the algorithm of RFC 9162 §2.1.3.2.

    Never raises: an index outside ``[0, size)`` or a hash that is not 32 bytes long is a
    failed verification.
    """
    if not 0 <= index < size:
        return False
    if not (_is_hash(leaf) and _is_hash(root) and all(_is_hash(p) for p in path)):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: Hash, second_root: Hash, path: Sequence[Hash]
) -> bool:
    """Whether ``path`` proves that the tree of ``second`` leaves with root ``second_root``
    extends the tree of ``first`` leaves with root ``first_root``: the algorithm of
    RFC 9162 §2.1.4.2 for ``0 < first < second``.

    The cases the RFC's algorithm leaves out need no proof and are decided here as
    RFC 9162 trees imply: ``first == second`` holds iff the roots are equal and ``path``
    is empty; ``first == 0`` holds iff ``first_root`` is :data:`EMPTY_ROOT` and ``path``
    is empty (the empty tree is a prefix of every tree). Never raises: ``first > second``,
    a negative size or a hash that is not 32 bytes long is a failed verification.
    """
    if not 0 <= first <= second:
        return False
    if not (_is_hash(first_root) and _is_hash(second_root) and all(_is_hash(p) for p in path)):
        return False
    if first == 0:
        return not path and first_root == EMPTY_ROOT
    if first == second:
        return not path and first_root == second_root
    # 1. An empty path proves nothing between two different sizes.
    if not path:
        return False
    # 2. When first is a power of two, its root is a node of the second tree and the
    #    path omits it.
    nodes = [first_root, *path] if first & (first - 1) == 0 else list(path)
    # 3.-4.
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = nodes[0]
    # 6.
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return sn == 0 and fr == first_root and sr == second_root


# -- a whole tree in memory ---------------------------------------------------------------


class MemoryTree:
    """Every complete node of a tree, in memory: one byte array per level, 32 bytes a
    node, so about 64 bytes a leaf in all (a million leaves: 64 MB), where a dict of
    ``bytes`` objects would take several times that. Used by audits to rebuild the tree
    from the entries themselves, which a forger cannot make agree with an older root."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]

    @property
    def size(self) -> int:
        """How many leaves the tree holds."""
        return len(self._levels[0]) // HASH_SIZE

    def append(self, leaf: Hash) -> None:
        """Add a leaf hash (already :func:`leaf_hash`-ed) and the nodes it completes."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {len(leaf)} bytes long, not {HASH_SIZE}")
        level, index, acc = 0, self.size, leaf
        while True:
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += acc
            if not index & 1:
                return
            acc = node_hash(self.get(level, index - 1), acc)
            level, index = level + 1, index >> 1

    def get(self, level: int, index: int) -> Hash:
        """A complete node, as a :data:`GetNode`; KeyError if the tree lacks it."""
        start = index * HASH_SIZE
        if level >= len(self._levels) or index < 0 or start >= len(self._levels[level]):
            raise KeyError(f"no node ({level}, {index}) in a tree of {self.size} leaves")
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def node_count(self, level: int) -> int:
        """How many complete nodes ``level`` holds."""
        return len(self._levels[level]) // HASH_SIZE if level < len(self._levels) else 0


def first_difference(size: int, get_a: GetNode, get_b: GetNode) -> int | None:
    """The first leaf (0-based) at which two trees of at least ``size`` leaves differ
    within their first ``size`` leaves, or None if ``MTH(D[0:size])`` is the same.

    Bisection down RFC 9162's split: the left subtree's hash is compared, and the
    search goes left if it differs, right otherwise; O(log² size) node reads from each.
    """
    if size == 0 or _range_hash(0, size, get_a) == _range_hash(0, size, get_b):
        return None
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if _range_hash(lo, lo + k, get_a) != _range_hash(lo, lo + k, get_b):
            hi = lo + k
        else:
            lo += k
    return lo
