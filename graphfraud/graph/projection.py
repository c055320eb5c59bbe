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

from ..arrays import run_starts, unique_pairs


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
