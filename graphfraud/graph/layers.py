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
from itertools import pairwise

import numpy as np
import polars as pl

from ..arrays import distinct, expand, stable_argsort, unique_pairs
from ..schema import IDENTIFIER_KINDS
from .prepare import Prepared
from .projection import FIXED as _FIXED
from .projection import project, strongest_ties

#: Raw co-activity pairs materialised at once (bounds memory: a range's pairs, their
#: partner's position and packed key take about 16 B each, so about 32 MB per range).
#: The ranges change no result: every (pair, shop) of a pair falls in its range.
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




def fixed_point(expr: pl.Expr) -> pl.Expr:
    """Weights as integers in units of ``1 / FIXED``: their sums do not depend on order."""
    return (expr.cast(pl.Float64) * _FIXED).round().cast(pl.Int64)


def fixed_sum(expr: pl.Expr) -> pl.Expr:
    """Order-independent sum of non-negative weights (fixed point, back to float)."""
    return fixed_point(expr).sum() / _FIXED


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
    weights = pl.Series([k.weight for k in IDENTIFIER_KINDS])
    # A lookup of the few kinds, not a join: the incidences keep their rows and no copy is
    # gathered (the uses are millions of rows at 1M accounts).
    k = pl.col("kind").replace_strict([k.name for k in IDENTIFIER_KINDS], weights, default=None,
                                      return_dtype=weights.dtype)
    inc = prep.identifiers.select("a", pl.col("v").alias("c"), k.alias("k")).filter(pl.col("k").is_not_null())
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
    order = stable_argsort(ids)
    ids, occupancy = ids[order], occupancy[order]
    c, a = unique_pairs(np.concatenate(tilings), np.tile(a, 2))
    return pl.DataFrame({"a": a.astype(np.uint32), "m": ((c // per) // 2).astype(np.uint32), "c": c,
                         "n_c": occupancy[np.searchsorted(ids, c)].astype(np.uint32)}, schema=schema)


def coactivity_layer(segs: pl.DataFrame, p: GraphParams, seed: int) -> Layer:
    """Accounts active in the same stretch of a shop's timeline, at two or more shops.

    ``segs`` are :func:`segments` of the events with ``p.segment_size``: a stretch holds at
    most that many accounts, so every stretch is a clique of the projection (weight
    ``1 / (n - 1)`` per pair, as :func:`graphfraud.graph.projection.project` gives it) and
    no random partner is drawn (``seed`` is unused). A pair's weight is its largest at
    each shop, over the stretches of both tilings, summed over its shops.
    """
    a, m, c = segs["a"].to_numpy(), segs["m"].to_numpy(), segs["c"].to_numpy()
    # An account seen at a single shop can never be co-active at two.
    keep = _shops_per_account(a, m)[a] >= p.min_shared_shops
    a, m, c = a[keep], m[keep], c[keep]
    del keep
    if len(a) == 0:
        return Layer("coactivity", pl.DataFrame(schema=EDGE_SCHEMA), 0, 0, 0)
    if len(c) > 1 and not np.all((c[1:] > c[:-1]) | ((c[1:] == c[:-1]) & (a[1:] > a[:-1]))):
        # (stretch, account) order, each pair once: what segments() returns.
        c, a = (x.astype(m.dtype) if x is a else x for x in unique_pairs(c.astype(np.int64), a.astype(np.int64)))
        m = _shop_of_stretch(segs, c)
    # Each stretch is a run of rows; an account at position i of its stretch pairs with the
    # accounts after it, which are larger (a stretch's accounts are sorted).
    start = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    del c
    size = np.diff(np.r_[start, len(a)])
    hubs = int((size > p.hub_max).sum())
    if (size[size <= p.hub_max] > max(p.clique_max, p.segment_size)).any():
        raise ValueError(f"a stretch holds more than segment_size={p.segment_size} accounts: "
                         "the segments were built with another size")
    n = np.repeat(np.where((size >= 2) & (size <= p.hub_max), size, 0).astype(np.int32), size)
    partners = np.maximum(n - 1 - (np.arange(len(a)) - np.repeat(start, size)).astype(np.int32), 0)
    edges = _coactive_pairs(a, m, n, partners, p.min_shared_shops)
    return Layer("coactivity", edges, len(a), len(start), hubs)


def _shops_per_account(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The number of distinct shops of each account (indexed by account code)."""
    if len(a) == 0:
        return np.zeros(0, np.int64)
    n_shop = int(m.max()) + 1
    return np.bincount(distinct(a.astype(np.int64) * n_shop + m) // n_shop, minlength=int(a.max()) + 1)


def _shop_of_stretch(segs: pl.DataFrame, c: np.ndarray) -> np.ndarray:
    """The shop of each stretch code in ``c`` (a stretch lies in one shop)."""
    stretch = segs.select("c", "m").unique("c").sort("c")
    return stretch["m"].to_numpy()[np.searchsorted(stretch["c"].to_numpy(), c)]


def _coactive_pairs(a: np.ndarray, m: np.ndarray, n: np.ndarray, partners: np.ndarray,
                    min_shops: int) -> pl.DataFrame:
    """(a, b, w) of the pairs co-active at ``min_shops`` shops or more.

    Incidence ``i`` (account ``a[i]`` at shop ``m[i]`` in a stretch of ``n[i]`` accounts)
    pairs with the ``partners[i]`` incidences after it. Pairs are generated a range of
    their smaller account at a time: a pair's shops all fall in its range, so each range
    is complete on its own and only one range's pairs exist at once (every (pair, shop)
    held until the last shop was seen was the peak of the layer stage). Ranges are in
    account order, so their sorted results concatenate sorted.
    """
    n_acc = int(a.max()) + 1
    # Weights in fixed point per stretch size: 1 / (n - 1) as float32, in fixed_sum's units.
    w32 = pl.Series(np.r_[0.0, 0.0, 1.0 / np.arange(1, max(int(n.max()), 1))], dtype=pl.Float32)
    fixed = pl.select(fixed_point(pl.lit(w32))).to_series().to_numpy()
    # Ranges of about PAIRS_PER_CHUNK pairs each, cut between accounts.
    per_account = np.cumsum(np.bincount(a, weights=partners, minlength=n_acc))
    bounds = np.arange(1, int(per_account[-1]) // PAIRS_PER_CHUNK + 1) * PAIRS_PER_CHUNK
    range_of = np.searchsorted(bounds, per_account, side="left")
    first_account = np.searchsorted(range_of, np.arange(len(bounds) + 2))
    which = range_of.astype(np.uint16 if len(bounds) < 1 << 16 else np.uint32)[a]  # uint16 sorts by radix
    order = np.argsort(which, kind="stable")
    cuts = np.searchsorted(which[order], np.arange(len(bounds) + 2))
    del which, per_account, range_of
    n_shop, n_size = int(m.max()) + 1, len(fixed)
    out_a, out_b, totals = [], [], []
    for r, (lo, hi) in enumerate(pairwise(cuts)):
        rows = order[lo:hi]
        rows = rows[partners[rows] > 0]
        length = partners[rows]
        pos = expand(rows + 1, length)[1]
        code = _PairCode(int(first_account[r]), int(first_account[r + 1]), n_acc, n_shop, n_size)
        pair, size = code.best(a[rows], m[rows], n[rows], length, a[pos])
        del pos
        run = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if len(pair) else np.zeros(0, np.int64)
        shops = np.diff(np.r_[run, len(pair)])
        kept = shops >= min_shops
        pa, pb = code.accounts(pair[run][kept])
        out_a.append(pa)
        out_b.append(pb)
        totals.append(np.add.reduceat(fixed[size], run)[kept] if len(run) else np.zeros(0, np.int64))
    return pl.DataFrame({"a": np.concatenate(out_a), "b": np.concatenate(out_b),
                         "w": np.concatenate(totals) / _FIXED}, schema=EDGE_SCHEMA)


@dataclass(frozen=True)
class _PairCode:
    """One integer per (pair, shop, stretch size) of a range ``lo <= a < hi`` of smaller
    accounts: ``((a - lo) * n_acc + b) << (s + z) | m << z | n``, shops and sizes in bit
    fields. Where that does not fit in 63 bits, a lexicographic sort of the columns."""

    lo: int
    hi: int
    n_acc: int
    n_shop: int
    n_size: int

    @property
    def s(self) -> int:
        return max(1, (self.n_shop - 1).bit_length())

    @property
    def z(self) -> int:
        return max(1, (self.n_size - 1).bit_length())

    @property
    def packed(self) -> bool:
        return (max(1, self.hi - self.lo) * self.n_acc) << (self.s + self.z) < 1 << 63

    def best(self, a: np.ndarray, m: np.ndarray, n: np.ndarray, length: np.ndarray,
             b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per distinct (pair, shop), sorted by pair: the pair's code and the size of its
        smallest stretch there (the largest weight). Row ``i`` of ``a``, ``m``, ``n`` pairs
        with the next ``length[i]`` accounts of ``b``."""
        if not self.packed:
            pa, pm, pn = (np.repeat(x, length) for x in (a, m, n))
            order = np.lexsort((pn, pm, b, pa))
            pair = pa.astype(np.uint64)[order] * np.uint64(self.n_acc) + b.astype(np.uint64)[order]
            pm, pn = pm[order], pn[order]
            first = np.r_[True, (pair[1:] != pair[:-1]) | (pm[1:] != pm[:-1])] if len(pair) else np.zeros(0, bool)
            return pair[first], pn[first]
        row = ((((a.astype(np.int64) - self.lo) * self.n_acc) << self.s | m) << self.z) | n
        key = np.repeat(row, length) + (b.astype(np.int64) << (self.s + self.z))
        key.sort()
        at = key >> self.z
        first = np.r_[True, at[1:] != at[:-1]] if len(key) else np.zeros(0, bool)
        return at[first] >> self.s, key[first] & ((1 << self.z) - 1)

    def accounts(self, pair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) of pair codes."""
        if not self.packed:
            return pair // np.uint64(self.n_acc), pair % np.uint64(self.n_acc)
        return pair // self.n_acc + self.lo, pair % self.n_acc


def money_layer(origins: pl.DataFrame, p: GraphParams, seed: int) -> Layer:
    """Co-recipients of one money origin (``origins``: a, origin, hops), each account
    keeping its ``p.clique_max`` strongest ties.

    Money contexts pile up with the span: over two years an account of the zoo is paid by
    about a hundred payers (group red packets, friends, payers of many), and all its
    co-recipients were tens of millions of pairs at 100k accounts. No account keeps more
    money ties than one full clique context gives a member.
    """
    inc = origins.select("a", pl.col("origin").alias("c"))
    if inc.height == 0:
        return Layer("money", pl.DataFrame(schema=EDGE_SCHEMA), 0, 0, 0)
    pairs, contexts, hubs = strongest_ties(inc, clique_max=p.clique_max, hub_max=p.hub_max, k=p.sparsify_k,
                                           top=p.clique_max, seed=seed)
    return Layer("money", pairs, inc.height, contexts, hubs)


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


def combine(layers: list[Layer]) -> pl.DataFrame:
    """Sum layers into one graph (a, b, weight), sorted by (a, b).

    Each layer's weight is first put in fixed point (:func:`fixed_point`), then the
    layers are added in their order into one array over the union of their pairs: the
    same sums, in the same order, as a pivot to one column per layer and a row-wise sum,
    without a long table of every (pair, layer) (the pivot of 31 M edges over two years
    held several times the edges).

    >>> x = Layer("x", pl.DataFrame({"a": [0, 0], "b": [1, 2], "w": [1.0, 0.5]}, schema=EDGE_SCHEMA), 0, 0, 0)
    >>> y = Layer("y", pl.DataFrame({"a": [0], "b": [2], "w": [0.25]}, schema=EDGE_SCHEMA), 0, 0, 0)
    >>> combine([x, y]).rows()
    [(0, 1, 1.0), (0, 2, 0.75)]
    """
    frames = [layer.edges for layer in layers if layer.edges.height]
    if not frames:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "weight": pl.Float64})
    # A layer holds each pair once; its key a << 32 | b orders pairs as (a, b) does.
    keys = [(f["a"].cast(pl.UInt64).to_numpy() << np.uint64(32)) | f["b"].cast(pl.UInt64).to_numpy()
            for f in frames]
    union = distinct(np.concatenate(keys))
    weight = np.zeros(len(union))
    for key, f in zip(keys, frames):
        fixed = f.select(fixed_point(pl.col("w")) / _FIXED).to_series()
        weight[np.searchsorted(union, key)] += fixed.to_numpy()
    return pl.DataFrame({"a": (union >> np.uint64(32)).astype(np.uint32),
                         "b": (union & np.uint64(0xFFFFFFFF)).astype(np.uint32), "weight": weight})
