"""Leiden communities of a weighted account graph (igraph's C implementation).

Leiden proposes groups; it never decides alone what is flagged. Accounts are
re-indexed in sorted order and the run is seeded, so the same edges and seed give the
same partition whatever the edge order.
"""

from __future__ import annotations

import random

import igraph as ig
import numpy as np
import polars as pl

EMPTY = {"a": pl.UInt32, "community": pl.UInt32}


def leiden(edges: pl.DataFrame, *, resolution: float = 1.0, seed: int = 0, n_iterations: int = 2) -> pl.DataFrame:
    """(a, community) for every account with an edge; modularity objective.

    Communities are numbered by their smallest account, so ids do not depend on the
    order Leiden visits nodes in.

    >>> e = pl.DataFrame({"a": [0, 0, 1, 5, 5, 6], "b": [1, 2, 2, 6, 7, 7], "weight": [1.0] * 6})
    >>> leiden(e).sort("a")["community"].to_list()
    [0, 0, 0, 1, 1, 1]
    """
    if edges.height == 0:
        return pl.DataFrame(schema=EMPTY)
    edges = edges.sort("a", "b")
    a, b = edges["a"].to_numpy(), edges["b"].to_numpy()
    nodes = np.unique(np.concatenate([a, b]))
    pairs = np.column_stack([np.searchsorted(nodes, a), np.searchsorted(nodes, b)])
    g = ig.Graph(n=len(nodes), edges=pairs, directed=False)
    # python-igraph draws from Python's `random`; its state is restored afterwards so a
    # caller's own random stream is not disturbed.
    state = random.getstate()
    random.seed(seed)
    try:
        part = g.community_leiden(objective_function="modularity", weights=edges["weight"].to_numpy(),
                                  resolution=resolution, n_iterations=n_iterations)
    finally:
        random.setstate(state)
    frame = pl.DataFrame({"a": nodes.astype(np.uint32), "c": np.asarray(part.membership, dtype=np.uint32)})
    first = frame.group_by("c").agg(pl.col("a").min().alias("first")).sort("first").with_row_index("community")
    return frame.join(first.select("c", pl.col("community").cast(pl.UInt32)), on="c").select("a", "community").sort("a")


def split(edges: pl.DataFrame, members: pl.DataFrame, *, resolution: float, seed: int) -> pl.DataFrame:
    """Leiden inside each group of ``members`` (a, group) on its induced subgraph.

    Modularity has a resolution limit: in a large graph a small dense ring merges into a
    bigger, looser community; inside that community's own subgraph it stands out again.
    Returns (a, group, part) for groups that split into two or more parts.
    """
    inner = (edges.select("a", "b", "weight").join(members.rename({"group": "ga"}), on="a")
             .join(members.rename({"a": "b", "group": "gb"}), on="b").filter(pl.col("ga") == pl.col("gb"))
             .sort("ga", "a", "b"))
    out = []
    for (group,), sub in inner.group_by(["ga"], maintain_order=True):
        parts = leiden(sub.select("a", "b", "weight"), resolution=resolution, seed=seed)
        if parts["community"].n_unique() >= 2:
            out.append(parts.select("a", pl.lit(group).cast(pl.UInt32).alias("group"), pl.col("community").alias("part")))
    if not out:
        return pl.DataFrame(schema={"a": pl.UInt32, "group": pl.UInt32, "part": pl.UInt32})
    return pl.concat(out)
