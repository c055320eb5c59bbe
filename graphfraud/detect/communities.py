"""Leiden communities on the combined account graph (python-igraph + leidenalg)."""

from __future__ import annotations

import igraph as ig
import leidenalg as la
import numpy as np
import polars as pl

OBJECTIVES = {"modularity": la.RBConfigurationVertexPartition, "cpm": la.CPMVertexPartition}


def leiden(edges: pl.DataFrame, *, objective: str = "modularity", resolution: float = 1.0,
           seed: int = 0, n_iterations: int = 2) -> pl.DataFrame:
    """Community of every account that has at least one edge.

    Uses the generalised modularity (``RBConfigurationVertexPartition``) by default; its
    ``resolution`` is explicit and the run is seeded, so the same input and seed give
    the same partition. Accounts are re-indexed in sorted order first, so the result
    does not depend on edge order.

    >>> e = pl.DataFrame({"a": [0, 0, 1, 5, 5, 6], "b": [1, 2, 2, 6, 7, 7], "weight": [1.0] * 6})
    >>> leiden(e).sort("a")["community"].to_list()
    [0, 0, 0, 1, 1, 1]
    """
    if edges.height == 0:
        return pl.DataFrame(schema={"a": pl.UInt32, "community": pl.UInt32})
    edges = edges.sort("a", "b")
    nodes = np.unique(np.concatenate([edges["a"].to_numpy(), edges["b"].to_numpy()]))
    src = np.searchsorted(nodes, edges["a"].to_numpy())
    dst = np.searchsorted(nodes, edges["b"].to_numpy())
    g = ig.Graph(n=len(nodes), edges=np.column_stack([src, dst]).tolist(), directed=False)
    kwargs = {"resolution_parameter": resolution}
    part = la.find_partition(g, OBJECTIVES[objective], weights=edges["weight"].to_list(), seed=seed,
                             n_iterations=n_iterations, **kwargs)
    membership = np.asarray(part.membership, dtype=np.uint32)
    # Number communities by their smallest account so ids do not depend on Leiden's order.
    frame = pl.DataFrame({"a": nodes.astype(np.uint32), "c": membership})
    first = frame.group_by("c").agg(pl.col("a").min().alias("first")).sort("first").with_row_index("community")
    return frame.join(first.select("c", "community"), on="c").select("a", "community")


def subcommunities(edges: pl.DataFrame, comm: pl.DataFrame, parents: list[int], *, objective: str,
                   resolution: float, seed: int, first_id: int) -> pl.DataFrame:
    """Re-run Leiden inside each parent community, on its induced subgraph.

    Modularity has a resolution limit: in a large graph a small dense ring can be merged
    into a bigger, looser community. Inside the parent's own subgraph the ring is
    significant again. Returns (a, community, parent) with new ids from ``first_id``.
    """
    sel = comm.filter(pl.col("community").is_in(parents))
    inner = (edges.select("a", "b", "weight").join(sel.rename({"community": "ca"}), on="a")
             .join(sel.rename({"a": "b", "community": "cb"}), on="b").filter(pl.col("ca") == pl.col("cb"))
             .sort("ca", "a", "b"))
    out = []
    next_id = first_id
    for (parent,), group in inner.group_by(["ca"], maintain_order=True):
        sub = leiden(group.select("a", "b", "weight"), objective=objective, resolution=resolution, seed=seed)
        if sub["community"].n_unique() < 2:
            continue
        out.append(sub.with_columns((pl.col("community") + next_id).alias("community"),
                                    pl.lit(parent, pl.UInt32).alias("parent")))
        next_id += int(sub["community"].max()) + 1
    if not out:
        return pl.DataFrame(schema={"a": pl.UInt32, "community": pl.UInt32, "parent": pl.UInt32})
    return pl.concat(out).with_columns(pl.col("community").cast(pl.UInt32))
