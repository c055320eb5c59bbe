"""Leiden communities of a weighted account graph (igraph's C implementation).

Leiden proposes groups; it never decides alone what is flagged. Accounts are
re-indexed in sorted order and the run is seeded, so the same edges and seed give the
same partition whatever the edge order.
"""

from __future__ import annotations

import random
from typing import Protocol

import igraph as ig
import numpy as np
import polars as pl

from ..arrays import distinct, stable_argsort

EMPTY = {"a": pl.UInt32, "community": pl.UInt32}


class Partitioner(Protocol):
    """The community step of the candidate generators, replaceable by an engine outside the core.

    Called with a weighted account graph (a, b, weight) and returns (a, community) for
    every account with an edge, communities numbered by their smallest account (see
    :func:`number_by_smallest`). ``name`` is what run manifests record.
    """

    name: str

    def __call__(self, edges: pl.DataFrame, *, resolution: float, seed: int) -> pl.DataFrame: ...


class Embedded:
    """:func:`leiden` in process (igraph): the default community step."""

    name = "igraph"

    def __call__(self, edges: pl.DataFrame, *, resolution: float, seed: int) -> pl.DataFrame:
        return leiden(edges, resolution=resolution, seed=seed)


def number_by_smallest(nodes: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Community ids 0, 1, ... in the order of each community's smallest node.

    ``nodes`` must be sorted; ``membership`` holds any labels, one per node. Whatever
    labels an engine chose, the same partition gets the same ids.

    >>> number_by_smallest(np.array([1, 4, 7, 9]), np.array([42, 5, 42, 5])).tolist()
    [0, 1, 0, 1]
    """
    # Nodes are sorted, so a community's first occurrence is its smallest node.
    labels, first = np.unique(membership, return_index=True)
    rank = np.empty(len(labels), dtype=np.uint32)
    rank[np.argsort(first, kind="stable")] = np.arange(len(labels), dtype=np.uint32)
    return rank[np.searchsorted(labels, membership)]


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
    a, c = _leiden_arrays(edges["a"].to_numpy(), edges["b"].to_numpy(), edges["weight"].to_numpy(),
                          resolution=resolution, seed=seed, n_iterations=n_iterations)
    return pl.DataFrame({"a": a, "community": c}, schema=EMPTY)


def _leiden_arrays(a: np.ndarray, b: np.ndarray, w: np.ndarray, *, resolution: float, seed: int,
                   n_iterations: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, community) as arrays: :func:`leiden` without a data frame per call.

    :func:`split` runs Leiden once per community (thousands of small graphs); frame
    operations cost more than Leiden itself there, so this works on numpy arrays only.
    Edges are ordered by (a, b) before igraph sees them, so the partition does not
    depend on the input order.
    """
    # One integer per edge, a * (max b + 1) + b, rises with (a, b): its stable order is
    # the two-key lexicographic one at a fraction of the time.
    order = stable_argsort(a.astype(np.int64) * (int(b.max()) + 1) + b) if len(a) else np.zeros(0, np.intp)
    a, b, w = a[order], b[order], w[order]
    nodes = distinct(np.concatenate([a, b]))
    pairs = np.column_stack([np.searchsorted(nodes, a), np.searchsorted(nodes, b)])
    # add_edges takes the array as one buffer; the constructor walks it row by row (3x the
    # time on 1M edges). The graph, edge order included, is the same.
    g = ig.Graph(n=len(nodes), directed=False)
    g.add_edges(pairs)
    # python-igraph draws from Python's `random`; its state is restored afterwards so a
    # caller's own random stream is not disturbed.
    state = random.getstate()
    random.seed(seed)
    try:
        part = g.community_leiden(objective_function="modularity", weights=w, resolution=resolution,
                                  n_iterations=n_iterations)
    finally:
        random.setstate(state)
    return nodes.astype(np.uint32), number_by_smallest(nodes, np.asarray(part.membership, dtype=np.int64))


def split(edges: pl.DataFrame, members: pl.DataFrame, *, resolution: float, seed: int) -> pl.DataFrame:
    """Leiden inside each group of ``members`` (a, group) on its induced subgraph.

    Modularity has a resolution limit: in a large graph a small dense ring merges into a
    bigger, looser community; inside that community's own subgraph it stands out again.
    Returns (a, group, part) for groups that split into two or more parts.
    """
    inner = (edges.select("a", "b", "weight").join(members.rename({"group": "ga"}), on="a")
             .join(members.rename({"a": "b", "group": "gb"}), on="b").filter(pl.col("ga") == pl.col("gb"))
             .sort("ga", "a", "b"))
    if inner.height == 0:
        return pl.DataFrame(schema={"a": pl.UInt32, "group": pl.UInt32, "part": pl.UInt32})
    ga = inner["ga"].to_numpy()
    a_all, b_all, w_all = inner["a"].to_numpy(), inner["b"].to_numpy(), inner["weight"].to_numpy()
    # Rows are sorted by group: each group's subgraph is one contiguous slice.
    bounds = np.flatnonzero(np.diff(ga)) + 1
    out_a, out_g, out_p = [], [], []
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ga)]):
        nodes, comm = _leiden_arrays(a_all[lo:hi], b_all[lo:hi], w_all[lo:hi], resolution=resolution, seed=seed)
        if comm.max() >= 1:
            out_a.append(nodes)
            out_g.append(np.full(len(nodes), ga[lo], dtype=np.uint32))
            out_p.append(comm)
    if not out_a:
        return pl.DataFrame(schema={"a": pl.UInt32, "group": pl.UInt32, "part": pl.UInt32})
    return pl.DataFrame({"a": np.concatenate(out_a), "group": np.concatenate(out_g), "part": np.concatenate(out_p)},
                        schema={"a": pl.UInt32, "group": pl.UInt32, "part": pl.UInt32})
