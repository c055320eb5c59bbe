"""Candidate groups: proposed by several independent generators, then tested.

Each generator proposes groups on its own, from one view of the data: shared
identifiers (and shop affiliation), money origins, co-activity at shops, and all of
them summed. Leiden partitions each view, and every community is split again inside its
own subgraph (the resolution limit hides small rings in big communities), so each
account sits in a few nested candidates. The union is de-duplicated; nothing here
decides what is flagged: every candidate is tested against explicit nulls afterwards.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..errors import GraphfraudWarning
from ..threads import cores
from .communities import Embedded, Partitioner, split
from .parallel import CHILD_MIN_EDGES, Beside

MEMBERS = {"cid": pl.UInt32, "a": pl.UInt32}


@dataclass(frozen=True)
class Candidates:
    """Candidate groups: ``members`` (cid, a) and where each came from (cid, source, size)."""

    members: pl.DataFrame
    sources: pl.DataFrame

    @property
    def n(self) -> int:
        return self.sources.height

    def sizes(self) -> pl.DataFrame:
        return self.sources.select("cid", "size")

    def subset(self, cids: pl.Series | list[int]) -> Candidates:
        keep = pl.Series("cid", cids, dtype=pl.UInt32).implode()
        return Candidates(self.members.filter(pl.col("cid").is_in(keep)),
                          self.sources.filter(pl.col("cid").is_in(keep)))

    def same_groups(self) -> pl.DataFrame:
        """(cid, group): candidates that are copies of one group, Jaccard index at least one
        half with it (the evaluation's "same ring").

        The views and their nested levels propose a strongly tied ring many times over, a
        few members apart; the false discovery rate is counted in these groups
        (:func:`~.stats.bh_grouped`), the unit the report is read in. Groups are stars, not
        chains: in order of size (largest first, then id; nothing a test measured), a
        candidate joins the earlier *leader* it overlaps most, or leads a group of its own,
        so every member of a group shares at least half of the union with its leader. The
        group is named by its leader's id.

        >>> m = pl.DataFrame({"cid": [0, 0, 0, 1, 1, 1, 1, 2, 2], "a": [1, 2, 3, 1, 2, 3, 4, 1, 9]},
        ...                  schema=MEMBERS)
        >>> Candidates(m, m.group_by("cid").len()).same_groups().sort("cid")["group"].to_list()
        [1, 1, 2]
        """
        size = self.members.group_by("cid").agg(pl.len().alias("n"))
        order = (self.sources.select("cid").join(size, on="cid", how="left").with_columns(pl.col("n").fill_null(0))
                 .sort(["n", "cid"], descending=[True, False]).with_row_index("r"))
        pairs = (self.members.join(self.members, on="a", suffix="_2").filter(pl.col("cid") != pl.col("cid_2"))
                 .group_by("cid", "cid_2").agg(pl.len().alias("shared"))
                 .join(size, on="cid").join(size.rename({"cid": "cid_2", "n": "n_2"}), on="cid_2")
                 .filter(2 * pl.col("shared") >= pl.col("n") + pl.col("n_2") - pl.col("shared"))
                 .with_columns((pl.col("shared") / (pl.col("n") + pl.col("n_2") - pl.col("shared"))).alias("j"))
                 .join(order.select("cid", "r"), on="cid")
                 .join(order.select(pl.col("cid").alias("cid_2"), pl.col("r").alias("r_2")), on="cid_2")
                 # Each candidate's earlier neighbours, best overlap first.
                 .filter(pl.col("r_2") < pl.col("r")).sort(["r", "j", "r_2"], descending=[False, True, False]))
        leader = np.arange(order.height)
        r, r_2 = pairs["r"].to_numpy(), pairs["r_2"].to_numpy()
        starts = np.searchsorted(r, np.arange(order.height + 1))
        # A sequential pass over candidates (not rows): whether a neighbour leads depends
        # on the candidates before it.
        for c in np.flatnonzero(np.diff(starts)):
            for k in r_2[starts[c]:starts[c + 1]]:
                if leader[k] == k:
                    leader[c] = k
                    break
        cids = order["cid"].to_numpy()
        return pl.DataFrame({"cid": cids, "group": cids[leader]}, schema={"cid": pl.UInt32, "group": pl.UInt32})

    @classmethod
    def empty(cls) -> Candidates:
        return cls(pl.DataFrame(schema=MEMBERS), pl.DataFrame(schema={"cid": pl.UInt32, "source": pl.String,
                                                                      "size": pl.UInt32}))

    @classmethod
    def from_groups(cls, groups: list[tuple[str, pl.DataFrame]]) -> Candidates:
        """Union of (source, frame with a, group) lists; exact duplicates keep the first source."""
        parts = [g.select("a", pl.col("group").cast(pl.Int64)).with_columns(pl.lit(src).alias("source"),
                                                                            pl.lit(i, pl.Int64).alias("gen"))
                 for i, (src, g) in enumerate(groups) if g.height]
        if not parts:
            return cls.empty()
        long = pl.concat(parts).with_columns((pl.col("gen") * (1 << 32) + pl.col("group")).alias("key"))
        lists = (long.group_by("key").agg(pl.col("a").sort(), pl.col("source").first(), pl.col("gen").first())
                 .with_columns(pl.col("a").hash(seed=3).alias("h"), pl.col("a").list.len().alias("size"))
                 .sort("gen", "key").unique("h", keep="first", maintain_order=True)
                 # Ids follow the groups' smallest member, so they do not depend on generator order.
                 .sort(pl.col("a").list.first(), "size", "h").with_row_index("cid")
                 .with_columns(pl.col("cid").cast(pl.UInt32)))
        members = lists.select("cid", "a").explode("a").with_columns(pl.col("a").cast(pl.UInt32)).sort("cid", "a")
        return cls(members, lists.select("cid", "source", pl.col("size").cast(pl.UInt32)))


def partition_groups(edges: pl.DataFrame, *, min_size: int, max_size: int, resolution: float, seed: int,
                     depth: int = 2, partition: Partitioner | None = None) -> list[pl.DataFrame]:
    """Communities of ``edges`` and, ``depth`` times, their parts: nested (a, group) frames.

    ``partition`` finds the top-level communities (default: embedded Leiden). The parts
    are always found in process: they come from Leiden on each community's own small
    subgraph, thousands of them, where a round trip per subgraph would cost more than
    Leiden itself.
    """
    comm = (partition or Embedded())(edges, resolution=resolution, seed=seed).rename({"community": "group"})
    levels = []
    current = comm
    for level in range(depth + 1):
        sizes = current.group_by("group").agg(pl.len().alias("n"))
        keep = sizes.filter((pl.col("n") >= min_size) & (pl.col("n") <= max_size)).select("group")
        levels.append(current.join(keep, on="group"))
        if level == depth:
            break
        # Only groups that could hold a ring and still be split are split again.
        big = sizes.filter(pl.col("n") >= 3 * min_size).select("group")
        if big.height == 0:
            break
        parts = split(edges, current.join(big, on="group"), resolution=resolution, seed=seed)
        if parts.height == 0:
            break
        current = parts.select("a", (pl.col("group").cast(pl.Int64) * 100_003 + pl.col("part")).rank("dense")
                               .cast(pl.UInt32).alias("group"))
    return levels


def generate(graphs: dict[str, pl.DataFrame], *, min_size: int, max_size: int, resolution: float,
             seed: int, extra: Sequence[tuple[str, pl.DataFrame]] = (),
             partition: Partitioner | None = None, tick: Callable[[int, int], None] | None = None) -> Candidates:
    """Candidates from every graph (name -> edges a, b, weight) and from generators that
    propose groups directly (``extra``: name, (a, group)), de-duplicated.

    ``partition`` is the community step (:class:`~graphfraud.detect.communities.Partitioner`);
    ``tick`` hears (graphs partitioned, graphs) as each graph is done. With the embedded
    step and a second core, the largest graph is partitioned in a child process while
    this one does the others (:mod:`~graphfraud.detect.parallel`); the candidates are
    the same.
    """
    groups: list[tuple[str, pl.DataFrame]] = list(extra)
    tick = tick or (lambda _done, _total: None)
    params: dict[str, Any] = {"min_size": min_size, "max_size": max_size, "resolution": resolution, "seed": seed}
    # The largest view goes to a second core when there is one (the embedded engine only:
    # another engine is the caller's to run).
    largest = max(graphs, key=lambda n: graphs[n].height, default=None)
    beside = (Beside(graphs[largest], params)
              if partition is None and largest is not None and len(graphs) > 1 and cores() > 1
              and graphs[largest].height >= CHILD_MIN_EDGES else None)
    levels: dict[str, list[pl.DataFrame]] = {}
    tick(0, len(graphs))
    try:
        for name, edges in graphs.items():
            if beside is not None and name == largest:
                continue
            levels[name] = partition_groups(edges, **params, partition=partition) if edges.height else []
            tick(len(levels), len(graphs))
        if beside is not None:
            assert largest is not None
            done = beside.result()
            if done is None:
                warnings.warn(f"the second process partitioning the {largest!r} view failed: {beside.failure}. The "
                              "view was partitioned in this process instead, which gives the same candidates but "
                              "takes longer; check that this Python can run `python -m "
                              "graphfraud.detect._partition_child`.", GraphfraudWarning, stacklevel=2)
            levels[largest] = done if done is not None else partition_groups(graphs[largest], **params)
            tick(len(levels), len(graphs))
    finally:
        if beside is not None:
            beside.close()
    for name in graphs:  # in the views' order, wherever each was partitioned
        groups.extend((f"{name}/{level}", frame) for level, frame in enumerate(levels[name]))
    return Candidates.from_groups(groups)
