"""The typed layers of the account graph.

Each layer is a set of *contexts* accounts share, projected onto weighted account pairs
with :func:`graphfraud.graph.projection.project` (resource allocation: a context shared
by ``n`` accounts gives each pair ``1/(n-1)``):

* ``identifier``: a device, payment account, address, phone or IP value;
* ``coactivity``: a stretch of one shop's timeline holding at most ``segment_size``
  events. Stretches have equal *occupancy*, not equal length, so one rule serves a shop
  with ten customers a year and one with ten a minute — no global time window. Two
  tilings, the second shifted by half a stretch, see activity across a boundary. Only
  pairs active together at two or more shops are kept: a flash sale, a livestream or a
  fan club is one shop;
* ``money``: a money origin (a payer, or a source up to four hops upstream, see
  :mod:`graphfraud.graph.money`);
* ``affiliation``: a shop whose own payment account buyers pay with (staff accounts).

The layers feed the candidate generators only; evidence is always re-measured against
explicit null models in :mod:`graphfraud.detect.families`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..arrays import distinct
from ..schema import IDENTIFIER_KINDS
from .prepare import Prepared
from .projection import project

#: Raw co-activity pairs materialised at once (bounds memory: a chunk's pairs, their shop
#: and packed key take about 40 B each, so about 80 MB per chunk). Chunking changes no
#: result: stretches hold at most ``segment_size`` events, below the clique limit, so no
#: random sparsifier runs on them.
PAIRS_PER_CHUNK = 2_000_000
EDGE_SCHEMA = {"a": pl.UInt32, "b": pl.UInt32, "w": pl.Float64}


@dataclass(frozen=True)
class GraphParams:
    """How the layers are built. Each limit bounds cost; none is fitted to data.

    ``segment_size`` is the occupancy of one co-activity stretch (the scale at which two
    accounts count as "there together"); ``clique_max`` / ``hub_max`` are the projection
    limits (every pair up to ``clique_max`` accounts, ``sparsify_k`` random partners up to
    ``hub_max``, hubs above dropped and counted).
    """

    segment_size: int = 16
    clique_max: int = 64
    hub_max: int = 1000
    sparsify_k: int = 10
    min_shared_shops: int = 2


@dataclass(frozen=True)
class Layer:
    """Weighted pairs ``a < b`` of one layer, with what was built and what was dropped."""

    name: str
    edges: pl.DataFrame  # a, b, w
    incidences: int
    contexts: int
    hubs_dropped: int

    def stats(self) -> dict[str, str | int]:
        return {"name": self.name, "incidences": self.incidences, "contexts": self.contexts,
                "hubs_dropped": self.hubs_dropped, "edges": self.edges.height}


#: Weights are summed in fixed point (units of 2**-24): integer sums do not depend on the
#: order a parallel group-by adds them in, so the same input gives the same graph — and
#: the same Leiden partition — on every run.
_FIXED = float(1 << 24)


def fixed_sum(expr: pl.Expr) -> pl.Expr:
    """Order-independent sum of non-negative weights (fixed point, back to float)."""
    return ((expr.cast(pl.Float64) * _FIXED).round().cast(pl.Int64).sum() / _FIXED)


def _sum_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    return pairs.group_by("a", "b").agg(fixed_sum(pl.col("w")).alias("w")).sort("a", "b")


def context_layer(name: str, incidence: pl.DataFrame, p: GraphParams, seed: int,
                  weight: pl.Expr | None = None) -> Layer:
    """A layer whose contexts are the distinct values of ``incidence['c']``.

    ``weight`` (an expression over the incidence) scales each context's pairs, e.g. the
    prior weight of an identifier kind.
    """
    if incidence.height == 0:
        return Layer(name, pl.DataFrame(schema=EDGE_SCHEMA), 0, 0, 0)
    inc = incidence.select("a", pl.col("c").cast(pl.Int64), (weight if weight is not None else pl.lit(1.0)).alias("k"))
    proj = project(inc.select("a", "c"), clique_max=p.clique_max, hub_max=p.hub_max, k=p.sparsify_k, seed=seed)
    pairs = proj.pairs
    if weight is not None and pairs.height:
        scale = inc.group_by("c").agg(pl.col("k").first())
        pairs = pairs.join(scale, on="c").with_columns(pl.col("w") * pl.col("k")).drop("k")
    return Layer(name, _sum_pairs(pairs.select("a", "b", "w")), inc.height, proj.n_contexts, proj.n_hubs)


def identifier_layer(prep: Prepared, p: GraphParams, seed: int) -> Layer:
    """Accounts sharing identifier values, each kind weighted by its declared prior."""
    weights = pl.DataFrame({"kind": [k.name for k in IDENTIFIER_KINDS], "k": [k.weight for k in IDENTIFIER_KINDS]})
    inc = prep.identifiers.select("a", "kind", pl.col("v").alias("c")).join(weights, on="kind")
    return context_layer("identifier", inc, p, seed, weight=pl.col("k"))


def segments(events: pl.DataFrame, size: int) -> pl.DataFrame:
    """(a, m, c, n_c): equal-occupancy stretches of each shop's timeline and who acted in them.

    Events of one shop are ranked in time and cut every ``size`` events, twice (the
    second tiling offset by ``size // 2``); ``c`` is unique across shops and tilings and
    ``n_c`` counts the stretch's events.

    >>> ev = pl.DataFrame({"a": [0, 1, 2, 3], "m": [0, 0, 0, 0], "t": [1, 2, 3, 4]})
    >>> segments(ev, 2).sort("c", "a").select("c", "n_c").rows()
    [(0, 2), (0, 2), (1, 2), (1, 2), (3, 1), (4, 2), (4, 2), (5, 1)]
    """
    schema = {"a": pl.UInt32, "m": pl.UInt32, "c": pl.Int64, "n_c": pl.UInt32}
    if events.height == 0:
        return pl.DataFrame(schema=schema)
    # numpy on the time-ordered rows: a window count, a two-column unique and a two-column
    # sort of both tilings (2 E rows) in polars were three times the memory of the events.
    ranked = events.select("a", "m", "t").sort("m", "t", "a")
    a = ranked["a"].to_numpy().astype(np.int64)
    m = ranked["m"].to_numpy().astype(np.int64)
    del ranked
    starts = np.flatnonzero(np.r_[True, m[1:] != m[:-1]])
    pos = np.arange(len(m)) - np.repeat(starts, np.diff(np.r_[starts, len(m)]))
    per = int(pos.max() // size + 2)
    half = size // 2
    # Each tiling's stretch codes rise with the rows, so its stretches are runs: their
    # occupancy is a run length, without a hash table.
    tilings = [(m * 2 + i) * per + (pos + off) // size for i, off in enumerate((0, half))]
    del pos
    runs = [np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) for c in tilings]
    ids = np.concatenate([c[r] for c, r in zip(tilings, runs)])
    occupancy = np.concatenate([np.diff(np.r_[r, len(c)]) for c, r in zip(tilings, runs)])
    order = np.argsort(ids, kind="stable")
    ids, occupancy = ids[order], occupancy[order]
    c, a = _unique_pairs(np.concatenate(tilings), np.tile(a, 2))
    return pl.DataFrame({"a": a.astype(np.uint32), "m": ((c // per) // 2).astype(np.uint32), "c": c,
                         "n_c": occupancy[np.searchsorted(ids, c)].astype(np.uint32)}, schema=schema)


def _unique_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs (x, y) of two non-negative int64 arrays, sorted by x then y.

    One packed integer ``x * (max y + 1) + y`` when it fits in int64 (one sort of one
    column), else a two-key lexicographic sort.
    """
    if len(x) == 0:
        return x, y
    span = int(y.max()) + 1
    if int(x.max()) < (np.iinfo(np.int64).max - span) // span:
        key = distinct(x * span + y)
        return key // span, key % span
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    keep = np.r_[True, (x[1:] != x[:-1]) | (y[1:] != y[:-1])]
    return x[keep], y[keep]


def coactivity_layer(segs: pl.DataFrame, p: GraphParams, seed: int) -> Layer:
    """Accounts active in the same stretch of a shop's timeline, at two or more shops."""
    # An account seen at a single shop can never be co-active at two.
    shops = segs.group_by("a").agg(pl.col("m").n_unique().alias("shops"))
    inc = segs.join(shops.filter(pl.col("shops") >= p.min_shared_shops).select("a"), on="a", how="semi")
    if inc.height == 0:
        return Layer("coactivity", pl.DataFrame(schema=EDGE_SCHEMA), 0, 0, 0)
    # Shops are processed in chunks so raw pairs never all exist at once; a shop's stretches
    # all fall in one chunk, so the per-shop maximum over the two tilings is exact.
    estimate = inc.height * p.segment_size
    chunks = max(1, min(256, estimate // PAIRS_PER_CHUNK + 1))
    # A pair at a shop is one integer, (a * N + b) * S + m, where that fits in 63 bits:
    # grouping on one integer column is several times cheaper than on two.
    n_acc, n_shop = (int(n) + 1 for n in inc.select(pl.col("a").max(), pl.col("m").max()).row(0))
    packed = n_acc * n_acc * n_shop < (1 << 62)
    # The per-pair sum over shops runs per range of ``a``: a pair's rows all fall in one
    # range, so each range is summed on its own and only one range's hash table exists at
    # once (one table over every (pair, shop) row was the peak of the whole layer stage).
    # Ranges are in ``a`` order, so their sorted results concatenate sorted.
    n_ranges = chunks
    ranges: list[list[pl.DataFrame]] = [[] for _ in range(n_ranges)]
    contexts, hubs = 0, 0
    # One pass splits the incidences by chunk (a filter per chunk would rescan them all).
    by_chunk = (inc.with_columns((pl.col("m") % chunks).alias("_k")).partition_by("_k", as_dict=True,
                                                                                include_key=False)
                if chunks > 1 else {(0,): inc})
    for k in range(chunks):
        part = by_chunk.pop((k,), None)
        if part is None:
            continue
        proj = project(part.select("a", "c"), clique_max=max(p.clique_max, p.segment_size), hub_max=p.hub_max,
                       k=p.sparsify_k, seed=seed + k)
        contexts, hubs = contexts + proj.n_contexts, hubs + proj.n_hubs
        if proj.pairs.height == 0:
            continue
        shop_of = part.select("c", "m").unique("c")
        pairs = proj.pairs.join(shop_of, on="c")
        if packed:
            key = ((pairs["a"].cast(pl.Int64) * n_acc + pairs["b"].cast(pl.Int64)) * n_shop
                   + pairs["m"].cast(pl.Int64)).alias("key")
            best = (pl.DataFrame({"key": key, "w": pairs["w"].cast(pl.Float32)}).group_by("key")
                    .agg(pl.col("w").max()).select(pl.col("key") // n_shop, "w"))
        else:
            key = (pairs["a"].cast(pl.UInt64) * (1 << 32) + pairs["b"].cast(pl.UInt64)).alias("key")
            best = (pl.DataFrame({"key": key, "m": pairs["m"], "w": pairs["w"].cast(pl.Float32)})
                    .group_by("key", "m").agg(pl.col("w").max()).drop("m"))
        del pairs, proj
        _split_ranges(best, n_acc if packed else 1 << 32, n_acc, ranges)
    base = n_acc if packed else 1 << 32
    edges = []
    for rows in ranges:
        if not rows:
            continue
        edges.append(pl.concat(rows).group_by("key").agg(fixed_sum(pl.col("w")).alias("w"), pl.len().alias("shops"))
                     .filter(pl.col("shops") >= p.min_shared_shops)
                     .select((pl.col("key") // base).cast(pl.UInt32).alias("a"),
                             (pl.col("key") % base).cast(pl.UInt32).alias("b"), "w").sort("a", "b"))
        rows.clear()
    if not edges:
        return Layer("coactivity", pl.DataFrame(schema=EDGE_SCHEMA), inc.height, contexts, hubs)
    return Layer("coactivity", pl.concat(edges), inc.height, contexts, hubs)


def _split_ranges(best: pl.DataFrame, base: int, n_acc: int, ranges: list[list[pl.DataFrame]]) -> None:
    """Append the rows of ``best`` (pair key ``a * base + b``, w) to the list of their ``a`` range."""
    if len(ranges) == 1:
        ranges[0].append(best)
        return
    which = ((best["key"] // base) * len(ranges) // n_acc).alias("_r")
    for (r,), rows in best.with_columns(which).partition_by("_r", as_dict=True, include_key=False).items():
        ranges[int(r)].append(rows)


def money_layer(origins: pl.DataFrame, p: GraphParams, seed: int) -> Layer:
    """Co-recipients of one money origin (``origins``: a, origin, hops)."""
    inc = origins.select("a", pl.col("origin").alias("c")).unique()
    return context_layer("money", inc, p, seed)


def affiliation_layer(prep: Prepared, p: GraphParams, seed: int) -> Layer:
    """Buyers paying with a payment account that belongs to a shop: that shop's staff."""
    inc = prep.payment_users.join(prep.payment_shops, on="p").select("a", pl.col("m").alias("c")).unique()
    return context_layer("affiliation", inc, p, seed)


def likes_layer(prep: Prepared) -> Layer:
    """Accounts that like each other's reviews, weighted by resource allocation: a like
    among the few an account gives says more than one of its hundreds."""
    if prep.likes.height == 0:
        return Layer("likes", pl.DataFrame(schema=EDGE_SCHEMA), 0, 0, 0)
    likes = (prep.likes.join(prep.reviews.select("r", pl.col("a").alias("author")), on="r")
             .filter(pl.col("a") != pl.col("author")))
    given = likes.group_by("a").agg(pl.len().alias("given"))
    pairs = likes.join(given, on="a").select(pl.min_horizontal("a", "author").alias("a"),
                                             pl.max_horizontal("a", "author").alias("b"),
                                             (1.0 / pl.col("given")).alias("w"))
    return Layer("likes", _sum_pairs(pairs), likes.height, given.height, 0)


def staff_groups(prep: Prepared, min_size: int) -> pl.DataFrame:
    """(a, group): the staff of shops that act at each other's shops (merchant alliances).

    A shop's staff are the buyers paying with its own payment account. Shops A and B are
    allied when staff of A act at B *and* staff of B act at A; the staff of every
    connected set of allied shops is one group (self-brushing staff, acting at their own
    shop only, are grouped by the affiliation layer already).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    schema = {"a": pl.UInt32, "group": pl.UInt32}
    staff = prep.payment_users.join(prep.payment_shops, on="p").select("a", pl.col("m").alias("home")).unique()
    if staff.height == 0:
        return pl.DataFrame(schema=schema)
    acts = staff.join(prep.visits.select("a", "m"), on="a").filter(pl.col("m") != pl.col("home"))
    edges = acts.select("home", "m").unique()
    mutual = edges.join(edges.rename({"home": "m", "m": "home"}), on=["home", "m"]).filter(pl.col("home") < pl.col("m"))
    if mutual.height == 0:
        return pl.DataFrame(schema=schema)
    n = prep.n_shops
    g = coo_matrix((np.ones(mutual.height), (mutual["home"].to_numpy(), mutual["m"].to_numpy())), shape=(n, n))
    _, label = connected_components(g, directed=False)
    allied = pl.DataFrame({"home": np.arange(n, dtype=np.uint32), "group": label.astype(np.uint32)})
    in_alliance = pl.concat([mutual.select("home"), mutual.select(pl.col("m").alias("home"))]).unique()
    groups = staff.join(in_alliance, on="home").join(allied, on="home").select("a", "group").unique()
    sizes = groups.group_by("group").agg(pl.len().alias("n")).filter(pl.col("n") >= min_size)
    return groups.join(sizes.select("group"), on="group").sort("group", "a")


def combine(layers: list[Layer], weights: dict[str, float] | None = None) -> pl.DataFrame:
    """Sum layers into one graph (a, b, weight) with one weight column per layer."""
    frames = [layer.edges.rename({"w": layer.name}) for layer in layers if layer.edges.height]
    if not frames:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "weight": pl.Float64})
    long = pl.concat([f.unpivot(index=["a", "b"], variable_name="layer", value_name="w") for f in frames])
    wide = long.group_by("a", "b", "layer").agg(fixed_sum(pl.col("w")).alias("w")).pivot(
        on="layer", index=["a", "b"], values="w", aggregate_function="first")
    names = [f.columns[-1] for f in frames]
    # A row-wise sum over a fixed column order is deterministic.
    weight = pl.sum_horizontal([pl.col(n).fill_null(0) * (weights or {}).get(n, 1.0) for n in names])
    return wide.with_columns(weight.alias("weight")).select("a", "b", "weight", *names).sort("a", "b")
