"""numpy helpers shared by the graph and detection stages (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d integer array, sorted: ``np.unique(values)`` by one sort.

    numpy 2.3 and later answer a plain ``np.unique`` with a hash table, which on millions
    of distinct integers is many times slower than a sort (on this project's 2-core test
    machine: 4.3 s for 3M distinct int64 values, against 0.2 s to sort twice as many).

    >>> distinct(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    out = np.sort(values)
    return out[np.r_[True, out[1:] != out[:-1]]] if len(out) else out


def distinct_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of a 1-d integer array: the distinct
    values, sorted, and each row's position among them, by :func:`stable_argsort`.

    >>> [x.tolist() for x in distinct_inverse(np.array([7, 3, 7, 5]))]
    [[3, 5, 7], [2, 0, 2, 1]]
    """
    order = stable_argsort(values)
    ordered = values[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]] if len(ordered) else np.zeros(0, bool)
    inverse = np.empty(len(values), np.intp)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def run_starts(values: np.ndarray) -> np.ndarray:
    """The positions where a run of equal values begins in a 1-d array (sorted, usually).

    With a sort, a group-by without a hash table: groups are the runs, their sizes the
    differences of the starts, and ``np.ufunc.reduceat(x, starts)`` reduces each.

    >>> run_starts(np.array([4, 4, 7, 9, 9, 9])).tolist()
    [0, 2, 3]
    """
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else np.zeros(0, np.intp)


def expand(start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, pos): each row ``i`` repeated ``length[i]`` times, with the positions
    ``start[i], ..., start[i] + length[i] - 1`` of its range, in row order.

    A join of rows with their ranges in a table sorted by the join key, done with
    offsets: no hashing, and the ranges keep the table's order.

    >>> expand(np.array([5, 0]), np.array([2, 3]))
    (array([0, 0, 1, 1, 1]), array([5, 6, 0, 1, 2]))
    """
    row = np.repeat(np.arange(len(length)), length)
    pos = np.arange(len(row)) + (start - np.cumsum(length) + length)[row]
    return row, pos


def chunk_ranges(length: np.ndarray, limit: int, groups: np.ndarray | None = None) -> Iterator[tuple[int, int]]:
    """(lo, hi): consecutive row ranges whose ``length`` sums to about ``limit`` each.

    With ``groups`` (sorted), a range never splits a group, so counts per group are
    complete within one range (a group larger than ``limit`` is one range).

    >>> list(chunk_ranges(np.array([2, 2, 2, 2]), 4))
    [(0, 2), (2, 4)]
    >>> list(chunk_ranges(np.array([2, 2, 2, 2]), 4, groups=np.array([0, 1, 1, 2])))
    [(0, 3), (3, 4)]
    """
    ends = np.cumsum(length)
    lo = 0
    while lo < len(length):
        hi = int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + limit, side="right"))
        hi = min(max(hi, lo + 1), len(length))
        if groups is not None:
            hi = int(np.searchsorted(groups, groups[hi - 1], side="right"))
        yield lo, hi
        lo = hi


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of a 1-d integer array, by one unstable sort of
    integers.

    When the key's range and the row positions fit together in 63 bits, each row becomes
    ``(key - min) << bits | position``: the values are distinct, so any sort puts them in
    (key, position) order, the stable order, and numpy sorts plain integers several times
    faster than it argsorts them stably (on this project's 2-core test machine: 2.9 s
    against 7.8 s for 20M int64 keys). Wider integer keys take polars' stable sort of
    (key, position), which uses both cores (1.4 s against numpy's 4.0 s for 13M keys of
    43 bits); other keys numpy's stable argsort.

    >>> stable_argsort(np.array([3, 1, 3, 2, 1])).tolist()
    [1, 4, 3, 0, 2]
    """
    n = len(key)
    if n == 0 or key.dtype.kind not in "iu":
        return np.argsort(key, kind="stable")
    lo, hi = int(key.min()), int(key.max())
    bits = max(1, (n - 1).bit_length())
    if hi >= 1 << 63 or hi - lo >= 1 << (63 - bits):
        return (pl.DataFrame({"key": key}).with_row_index("at").sort("key", maintain_order=True)["at"]
                .to_numpy().astype(np.intp))
    packed = key.astype(np.int64)
    packed -= lo
    packed <<= bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    packed &= (1 << bits) - 1
    return packed


def unique_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs (x, y) of two int64 arrays, ``y`` non-negative, sorted by x then y.

    One packed integer ``x * (max y + 1) + y`` when it fits in int64 (one sort of one
    column), else a two-key lexicographic sort.

    >>> unique_pairs(np.array([2, 1, 2, 2]), np.array([0, 5, 0, 1]))
    (array([1, 2, 2]), array([5, 0, 1]))
    """
    if len(x) == 0:
        return x, y
    span = int(y.max()) + 1
    fits = (np.iinfo(np.int64).max - span) // span
    if -fits < int(x.min()) and int(x.max()) < fits:
        key = distinct(x * span + y)
        return key // span, key % span
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    keep = np.r_[True, (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
    return x[keep], y[keep]


def search_sorted(haystack: np.ndarray, needles: np.ndarray, side: str = "left") -> np.ndarray:
    """``np.searchsorted(haystack, needles, side)``, the needles searched in sorted order.

    Random needles in a large haystack make each binary search a chain of cache misses
    (5M needles in 14M keys: 7.4 s on this project's 2-core test machine); in sorted
    order consecutive searches touch the same memory, and one sort of the needles
    (:func:`stable_argsort`) costs a fraction of that (0.6 s in all). A haystack that
    fits in the 1 MB second-level cache (64k keys), or a handful of needles, is searched
    directly: sorting would cost more than the misses it saves.

    >>> search_sorted(np.array([1, 3, 5]), np.array([4, 0, 5]), side="right").tolist()
    [2, 0, 3]
    """
    if len(haystack) < 1 << 16 or len(needles) < 1 << 12:
        return np.searchsorted(haystack, needles, side=side)  # type: ignore[call-overload,no-any-return]
    order = stable_argsort(needles)
    out = np.empty(len(needles), dtype=np.intp)
    out[order] = np.searchsorted(haystack, needles[order], side=side)  # type: ignore[call-overload]
    return out

