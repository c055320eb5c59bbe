"""Project (account, context) incidences onto weighted account pairs.

One mechanism serves every layer: a *context* is anything accounts can share — a
device, a payment account, a payer that sent them money, a shop within a time window.
Each account spreads one unit of weight over its partners in a context (the
resource-allocation index), so a context shared by ``n`` accounts gives each pair
``1 / (n - 1)``: a family tablet links strongly, a campus IP weakly.

Cost stays linear in the incidences, never quadratic in a hub:

* ``n <= clique_max``: every pair, generated per context size as a dense block;
* ``clique_max < n <= hub_max``: each account links to ``k`` random co-members
  (a random regular-ish sparsifier, which keeps the context connected), edge weight
  ``1 / (2k)`` so each account still spreads about one unit;
* ``n > hub_max``: a hub (carrier NAT, a platform refund account, a flash-sale crowd);
  dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..arrays import expand, run_starts, stable_argsort, unique_pairs


@dataclass(frozen=True)
class Projection:
    """Pairs ``a < b`` with weight ``w`` and the context ``c`` they share."""

    pairs: pl.DataFrame  # columns a (u32), b (u32), c (i64), w (f64)
    n_contexts: int
    n_hubs: int


def project(incidence: pl.DataFrame, *, clique_max: int = 100, hub_max: int = 2000, k: int = 10,
            seed: int = 0) -> Projection:
    """Weighted pairs from ``incidence`` (columns ``a`` account index, ``c`` context id).

    Examples
    --------
    >>> inc = pl.DataFrame({"a": [0, 1, 2, 3, 3], "c": [7, 7, 7, 8, 9]})
    >>> p = project(inc)
    >>> p.pairs.sort("a", "b").select("a", "b", "w").rows()
    [(0, 1, 0.5), (0, 2, 0.5), (1, 2, 0.5)]
    >>> project(inc, hub_max=2).n_hubs
    1
    """
    # numpy on the distinct (c, a) pairs in (c, a) order: the contexts are runs, their
    # sizes run lengths, and the (n, c, a) order a stable sort by size. A polars unique,
    # size group-by, join and three-column sort held several copies of the incidences
    # (the identifier layer of 1M accounts peaked 1.7 GB above its input).
    c, a = unique_pairs(incidence["c"].cast(pl.Int64).to_numpy(), incidence["a"].cast(pl.UInt32).to_numpy()
                        .astype(np.int64))
    start = run_starts(c)
    sizes = np.diff(np.r_[start, len(c)])
    n = np.repeat(sizes, sizes)
    kept = (n >= 2) & (n <= hub_max)
    a, c, n = a[kept], c[kept], n[kept]
    order = np.argsort(n.astype(np.uint16) if hub_max < 1 << 16 else n, kind="stable")
    n = n[order]
    cut = int(np.searchsorted(n, clique_max, side="right"))
    inc = pl.DataFrame({"a": a[order], "c": c[order], "n": n}, schema={"a": pl.UInt32, "c": pl.Int64, "n": pl.UInt32})
    del a, c, n, order, kept
    parts = [_cliques(inc[:cut]), _sparse(inc[cut:], k, seed)]
    pairs = pl.concat([p for p in parts if p.height], how="vertical") if any(p.height for p in parts) \
        else pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "c": pl.Int64, "w": pl.Float64})
    return Projection(pairs, len(start), int((sizes > hub_max).sum()))


def _cliques(inc: pl.DataFrame) -> pl.DataFrame:
    """All pairs of every context, one dense numpy block per context size."""
    out = []
    if inc.height == 0:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "c": pl.Int64, "w": pl.Float64})
    a_all = inc["a"].to_numpy()
    c_all = inc["c"].to_numpy()
    n_all = inc["n"].to_numpy()
    # Rows are sorted by (n, c, a): contexts of one size form a contiguous (B, n) block.
    bounds = np.flatnonzero(np.diff(n_all)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(n_all)]):
        n = int(n_all[lo])
        block = a_all[lo:hi].reshape(-1, n)
        ctx = c_all[lo:hi:n]
        i, j = np.triu_indices(n, 1)
        out.append(pl.DataFrame({
            "a": block[:, i].ravel(), "b": block[:, j].ravel(),
            "c": np.repeat(ctx, len(i)), "w": np.full(block.shape[0] * len(i), 1.0 / (n - 1)),
        }, schema={"a": pl.UInt32, "b": pl.UInt32, "c": pl.Int64, "w": pl.Float64}))
    return pl.concat(out)


def _sparse(inc: pl.DataFrame, k: int, seed: int) -> pl.DataFrame:
    """``k`` random partners per account inside each large context."""
    if inc.height == 0:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "c": pl.Int64, "w": pl.Float64})
    rng = np.random.default_rng(seed)
    a = inc["a"].to_numpy()
    c = inc["c"].to_numpy()
    n = inc["n"].to_numpy().astype(np.int64)
    start = np.r_[0, np.flatnonzero(np.diff(c)) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(c)]))
    pos = np.arange(len(a)) - first
    src = np.repeat(np.arange(len(a)), k)
    step = rng.integers(1, n[src], dtype=np.int64)  # never 0: no self loops
    dst = first[src] + (pos[src] + step) % n[src]
    lo = np.minimum(a[src], a[dst])
    hi = np.maximum(a[src], a[dst])
    return pl.DataFrame({"a": lo, "b": hi, "c": c[src], "w": np.full(len(src), 1.0 / (2 * k))},
                        schema={"a": pl.UInt32, "b": pl.UInt32, "c": pl.Int64, "w": pl.Float64}).unique(["a", "b", "c"])


#: Weights are summed in fixed point (units of 2**-24): integer sums do not depend on the
#: order a parallel group-by adds them in, so the same input gives the same graph — and
#: the same Leiden partition — on every run.
FIXED = float(1 << 24)


#: Work of one block of :func:`strongest_ties` (partner rows expanded at once).
ROWS_PER_BLOCK = 1 << 22


def strongest_ties(incidence: pl.DataFrame, *, clique_max: int, hub_max: int, k: int, top: int,
                   seed: int) -> tuple[pl.DataFrame, int, int]:
    """Each account's ``top`` strongest ties of the projection of ``incidence`` (a, c):
    (pairs a < b with weight w, contexts, hubs dropped).

    The weights are those of :func:`project` seen from each account: every co-member of a
    context of at most ``clique_max`` accounts gets ``1 / (n - 1)``; in a larger one (up to
    ``hub_max``) the account draws ``k`` co-members, ``1 / k`` each (the same expectation).
    A pair is kept when it is among the ``top`` strongest of either account (ties broken
    by the partner's index), with the larger of its two sides' weights.

    Accounts are expanded a block at a time and pruned before the next, so memory is
    bounded by the kept ties and one block, not by all pairs: an account paid by a
    hundred payers of a hundred recipients each has ten thousand co-recipients, of which
    it keeps ``top``.

    >>> inc = pl.DataFrame({"a": [0, 1, 2, 0, 3], "c": [7, 7, 7, 8, 8]})
    >>> pairs, contexts, hubs = strongest_ties(inc, clique_max=10, hub_max=10, k=2, top=1, seed=0)
    >>> pairs.rows(), contexts, hubs
    ([(0, 1, 0.5), (0, 2, 0.5), (0, 3, 1.0)], 2, 0)
    """
    schema = {"a": pl.UInt32, "b": pl.UInt32, "w": pl.Float64}
    c, a = unique_pairs(incidence["c"].cast(pl.Int64).to_numpy(),
                        incidence["a"].cast(pl.UInt32).to_numpy().astype(np.int64))
    start = run_starts(c)
    sizes = np.diff(np.r_[start, len(c)])
    n_contexts, n_hubs = len(start), int((sizes > hub_max).sum())
    n = np.repeat(sizes, sizes)
    kept = (n >= 2) & (n <= hub_max)
    first = np.repeat(start, sizes)[kept]
    a, c, n = a[kept], c[kept], n[kept]
    if not kept.any():  # every context a hub, or of one account
        return pl.DataFrame(schema=schema), n_contexts, n_hubs
    # ``first`` and ``n`` locate each incidence's context in the (c, a)-sorted members.
    shift = np.cumsum(~kept)[kept]
    first = first - shift
    members = a
    order = stable_argsort(a)
    cost = np.where(n[order] <= clique_max, n[order] - 1, k)
    # Blocks end at an account's last incidence, so each account is pruned once, whole.
    ends = np.flatnonzero(np.r_[a[order][1:] != a[order][:-1], True]) + 1
    bound = np.cumsum(cost)[ends - 1]
    out = []
    lo = 0
    while lo < len(order):
        done = int(bound[np.searchsorted(ends, lo, side="right") - 1]) if lo else 0
        cut = int(ends[min(len(ends) - 1, int(np.searchsorted(bound, done + ROWS_PER_BLOCK, side="right")))])
        out.append(_block_ties(order[lo:cut], members, first, n, c, clique_max, k, top, seed))
        lo = cut
    pairs = np.concatenate(out, axis=1) if out else np.zeros((3, 0))
    frame = pl.DataFrame({"a": pairs[0].astype(np.uint32), "b": pairs[1].astype(np.uint32), "w": pairs[2]},
                         schema=schema)
    return frame.group_by("a", "b").agg(pl.col("w").max()).sort("a", "b"), n_contexts, n_hubs


def _block_ties(rows: np.ndarray, members: np.ndarray, first: np.ndarray, n: np.ndarray, c: np.ndarray,
                clique_max: int, k: int, top: int, seed: int) -> np.ndarray:
    """(3, m) array of (min, max, w) for the ``top`` strongest ties of the accounts of
    incidence ``rows`` (all incidences of each of them)."""
    small = rows[n[rows] <= clique_max]
    own, pos = expand(first[small], n[small])
    src = members[small][own]
    dst = members[pos]
    w = (1.0 / (n[small] - 1))[own]
    keep = src != dst
    large = rows[n[rows] > clique_max]
    # A draw's partner comes from a hash of (seed, context, account, draw): the same on
    # every run and however the accounts are cut into blocks.
    draw = np.repeat(np.arange(k, dtype=np.uint64)[None, :], len(large), axis=0).ravel()
    at = np.repeat(large, k)
    size = n[at].astype(np.uint64)
    salt = _mix(np.array([seed], np.uint64))
    with np.errstate(over="ignore"):
        h = _mix(salt ^ _mix(c[at].astype(np.uint64)) ^ _mix(members[at].astype(np.uint64) * np.uint64(k) + draw))
    step = (h % (size - np.uint64(1))).astype(np.int64) + 1
    dst_l = members[first[at] + ((at - first[at]) + step) % n[at]]
    src = np.concatenate([src[keep], members[at]])
    dst = np.concatenate([dst[keep], dst_l])
    w = np.concatenate([w[keep], np.full(len(at), 1.0 / k)])
    key = (src.astype(np.uint64) << np.uint64(32)) | dst.astype(np.uint64)
    order = np.argsort(key, kind="stable")
    key, w = key[order], w[order]
    runs = run_starts(key)
    key = key[runs]
    # Fixed point: the sum of a pair's weights does not depend on the order they come in.
    w = np.add.reduceat(np.round(w * FIXED).astype(np.int64), runs) / FIXED if len(runs) else w[:0]
    s, d = (key >> np.uint64(32)).astype(np.int64), (key & np.uint64(0xFFFFFFFF)).astype(np.int64)
    # Each account's ties by weight, strongest first, then by partner.
    rank_order = np.lexsort((d, -w, s))
    s, d, w = s[rank_order], d[rank_order], w[rank_order]
    starts = run_starts(s)
    rank = np.arange(len(s)) - np.repeat(starts, np.diff(np.r_[starts, len(s)]))
    top_mask = rank < top
    s, d, w = s[top_mask], d[top_mask], w[top_mask]
    return np.vstack([np.minimum(s, d), np.maximum(s, d), w])


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out: np.ndarray = x ^ (x >> np.uint64(31))
        return out
