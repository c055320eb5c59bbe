"""The typed layers of the account graph, and their combination.

Each layer is built as (account, context) incidences and projected with
:func:`graphfraud.graph.projection.project`; the combined graph keeps, per edge, a
bitmask of the layers that support it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .prepare import IDENTIFIER_SOURCES, Prepared
from .projection import project

LAYERS: tuple[str, ...] = (*IDENTIFIER_SOURCES, "lockstep", "money")
#: Lockstep pairs materialised at once (bounds memory; about 100 MB of pairs per chunk).
PAIRS_PER_CHUNK = 4_000_000
LAYER_BIT: dict[str, int] = {name: 1 << i for i, name in enumerate(LAYERS)}


def layer_names(mask: int) -> list[str]:
    """Names of the layers in a bitmask.

    >>> layer_names(LAYER_BIT["device"] | LAYER_BIT["lockstep"])
    ['device', 'lockstep']
    """
    return [name for name, bit in LAYER_BIT.items() if mask & bit]


@dataclass(frozen=True)
class GraphParams:
    """How the account graph is built (see docs/concepts.md for the reasoning)."""

    window_hours: float = 24.0
    min_shared_shops: int = 2
    burst_alpha: float = 0.01
    clique_max: int = 100
    hub_max: int = 2000
    crowd_max: int = 1000
    sparsify_k: int = 10
    layer_weights: dict[str, float] = field(default_factory=lambda: {
        "device": 1.0, "payment": 1.0, "address": 1.0, "phone": 1.0, "ip": 0.5, "lockstep": 1.0, "money": 1.0})


@dataclass
class LayerStats:
    name: str
    incidences: int
    contexts: int
    hubs_dropped: int
    edges: int


@dataclass
class AccountGraph:
    """Weighted account-account edges ``a < b`` with supporting-layer bitmasks."""

    edges: pl.DataFrame  # a, b, weight, layers, + one weight column per layer
    n_accounts: int
    stats: list[LayerStats]


def _aggregate(pairs: pl.DataFrame, name: str) -> pl.DataFrame:
    return pairs.group_by("a", "b").agg(pl.col("w").sum().alias(name))


def _context_layer(name: str, incidence: pl.DataFrame, key: str, p: GraphParams,
                   seed: int) -> tuple[pl.DataFrame, LayerStats]:
    """A layer whose contexts are the distinct values of ``key`` (an identifier, a payer)."""
    inc = incidence.select("a", pl.col(key).rank("dense").cast(pl.Int64).alias("c"))
    proj = project(inc, clique_max=p.clique_max, hub_max=p.hub_max, k=p.sparsify_k, seed=seed)
    edges = _aggregate(proj.pairs, name)
    return edges, LayerStats(name, inc.height, proj.n_contexts, proj.n_hubs, edges.height)


def identifier_layer(prep: Prepared, kind: str, p: GraphParams, seed: int) -> tuple[pl.DataFrame, LayerStats]:
    return _context_layer(kind, prep.identifiers.filter(pl.col("kind") == kind), "value", p, seed)


def lockstep_layer(prep: Prepared, p: GraphParams, seed: int,
                   bursts: pl.DataFrame | None = None) -> tuple[pl.DataFrame, LayerStats]:
    """Accounts active together in bursts at the same shops, at several shops.

    Windows are tiled twice, the second tiling shifted by half a window, so a burst
    across a window edge is still seen together; only burst windows count (see
    :func:`burst_windows`). Per pair and shop the best window counts once; pairs need
    ``min_shared_shops`` distinct shops (a flash sale or a fan club is one shop).
    """
    inc = bursts if bursts is not None else burst_windows(prep, p.window_hours, p.burst_alpha)
    # Shops are processed in chunks so the raw pairs never all exist at once; a shop's
    # windows all fall in one chunk, so the per-shop maximum is exact.
    sizes = inc.group_by("c").agg(pl.len().alias("n"))["n"].to_numpy().astype(np.int64)
    n_clique = np.minimum(sizes, p.clique_max)
    pairs_estimate = int((n_clique * (n_clique - 1) // 2).sum() + (sizes[sizes > p.clique_max] * p.sparsify_k).sum())
    chunks = max(1, min(64, pairs_estimate // PAIRS_PER_CHUNK + 1))
    parts, contexts, hubs = [], 0, 0
    for k in range(chunks):
        part = inc.filter(pl.col("m") % chunks == k) if chunks > 1 else inc
        shop_of = part.group_by("c").agg(pl.first("m")).sort("c")
        proj = project(part.select("a", "c"), clique_max=p.clique_max, hub_max=p.crowd_max, k=p.sparsify_k,
                       seed=seed + k)
        contexts, hubs = contexts + proj.n_contexts, hubs + proj.n_hubs
        pairs = proj.pairs
        shop = shop_of["m"].to_numpy()[np.searchsorted(shop_of["c"].to_numpy(), pairs["c"].to_numpy())]
        # One u64 key per pair and f32 weights: this table is the memory peak at scale.
        key = (pairs["a"].cast(pl.UInt64) * (1 << 32) + pairs["b"].cast(pl.UInt64)).alias("key")
        parts.append(pl.DataFrame({"key": key, "m": shop, "w": pairs["w"].cast(pl.Float32)})
                     .group_by("key", "m").agg(pl.col("w").max()).drop("m"))
    per_shop = pl.concat(parts) if parts else pl.DataFrame(schema={"key": pl.UInt64, "w": pl.Float32})
    edges = (per_shop.group_by("key").agg(pl.col("w").sum().cast(pl.Float64).alias("lockstep"), pl.len().alias("shops"))
             .filter(pl.col("shops") >= p.min_shared_shops)
             .select((pl.col("key") // (1 << 32)).cast(pl.UInt32).alias("a"),
                     (pl.col("key") % (1 << 32)).cast(pl.UInt32).alias("b"), "lockstep"))
    return edges, LayerStats("lockstep", inc.height, contexts, hubs, edges.height)


#: Windows on each side that form a shop's local baseline (about two weeks for daily windows).
BASELINE_WINDOWS = 7


def burst_windows(prep: Prepared, window_hours: float, alpha: float,
                  tiles: tuple[pl.DataFrame, int] | None = None) -> pl.DataFrame:
    """(account, shop, window id) for shop-windows that are bursts.

    A window is a burst when its number of distinct active accounts ``n`` is improbable
    under the shop's own Poisson baseline: ``P(X >= n | lam) < alpha``. ``lam`` is the
    mean of the same shop's surrounding windows (``BASELINE_WINDOWS`` on each side,
    excluding the window itself), and never below the shop's mean over the whole data,
    so trends, seasons and a shop's popularity are all absorbed. Two accounts meeting at
    a quiet shop is coincidence; thirty where five is usual is not.
    """
    tiles, span = tiles if tiles is not None else window_tiles(prep.activity().select("a", "m", "t"), window_hours)
    if tiles.height == 0:
        return pl.DataFrame(schema={"a": pl.UInt32, "m": pl.UInt32, "c": pl.Int64})
    tiles = tiles.select("a", "c").unique()
    # Only windows with activity exist here: memory follows the data, not the time span
    # (one review dated 9999 would otherwise make every shop a row per window to 9999).
    counts = (tiles.group_by("c").agg(pl.len().alias("n"))
              .with_columns((pl.col("c") // span).alias("lane"), (pl.col("c") % span).alias("bucket"))
              .sort("lane", "bucket"))
    lane_mean = counts.group_by("lane").agg((pl.col("n").sum() / span).alias("lane_mean"))
    # Sum of n over buckets [b - BASELINE_WINDOWS, b + BASELINE_WINDOWS] of the same lane;
    # absent buckets count as zero, as in a dense rolling sum.
    roll = counts.rolling(index_column="bucket", period=f"{2 * BASELINE_WINDOWS + 1}i",
                          offset=f"-{BASELINE_WINDOWS + 1}i", group_by="lane").agg(pl.col("n").sum().alias("roll"))
    b = pl.col("bucket")
    # Neighbours actually inside the data at the edges of the period.
    neighbours = (pl.min_horizontal(b + BASELINE_WINDOWS, pl.lit(span - 1))
                  - pl.max_horizontal(b - BASELINE_WINDOWS, pl.lit(0)))
    grid = (counts.with_columns(roll["roll"]).join(lane_mean, on="lane").filter(pl.col("n") >= 2)
            .with_columns(pl.max_horizontal((pl.col("roll") - pl.col("n")) / neighbours, pl.col("lane_mean")).alias("lam")))
    tail = poisson_tail(grid["n"].to_numpy(), grid["lam"].to_numpy())
    bursts = grid.filter(pl.Series(tail < alpha)).select("c")
    return tiles.join(bursts, on="c").select("a", (pl.col("c") // span // 2).cast(pl.UInt32).alias("m"), "c")


def window_tiles(act: pl.DataFrame, window_hours: float) -> tuple[pl.DataFrame, int]:
    """Assign activity (a, m, t) to shop-windows, tiled twice (the second shifted by half).

    Returns (a, m, tile, c) with one int64 id ``c`` per (shop, tile, window), and the
    number of windows per tile. Ids are arithmetic, not a struct ranking, at this size.
    """
    width = int(window_hours * 3600)
    if act.height == 0:
        return pl.DataFrame(schema={"a": pl.UInt32, "m": pl.UInt32, "tile": pl.Int64, "c": pl.Int64}), 1
    t0 = int(act["t"].min()) // width * width  # windows stay aligned to whole window widths
    span = (int(act["t"].max()) - t0) // width + 2
    tiles = pl.concat([act.select("a", "m", pl.lit(i, pl.Int64).alias("tile"),
                                  ((pl.col("t") - t0 + off) // width).alias("bucket"))
                       for i, off in enumerate((0, width // 2))]).select(
        "a", "m", "tile", ((pl.col("m").cast(pl.Int64) * 2 + pl.col("tile")) * span + pl.col("bucket")).alias("c"))
    return tiles, span


def poisson_tail(n: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``P(X >= n)`` for ``X ~ Poisson(lam)``: the regularised lower incomplete gamma.

    >>> round(float(poisson_tail(np.array([3.0]), np.array([0.5]))[0]), 4)
    0.0144
    """
    from scipy.special import gammainc

    return gammainc(np.asarray(n, dtype=float), np.maximum(np.asarray(lam, dtype=float), 1e-12))


def money_incidence(prep: Prepared) -> pl.DataFrame:
    """(recipient account, payer) for every transfer into a buyer's payment account."""
    return (prep.transfers.join(prep.payment_owner, left_on="dst", right_on="payment_account_id")
            .select("a", pl.col("src").alias("payer"), "t", "amount"))


def money_layer(prep: Prepared, p: GraphParams, seed: int,
                money: pl.DataFrame | None = None) -> tuple[pl.DataFrame, LayerStats]:
    """Co-recipients of one payer: organisers' refunds, a shop's cashback, red packets."""
    return _context_layer("money", money if money is not None else money_incidence(prep), "payer", p, seed)


def build_graph(prep: Prepared, p: GraphParams, seed: int = 0, progress=None,
                bursts: pl.DataFrame | None = None, money: pl.DataFrame | None = None) -> AccountGraph:
    """Build every layer and sum them into one weighted graph.

    ``bursts`` and ``money`` take the burst incidences and money incidences when the
    caller already computed them (the detector's baselines do).
    """
    built: list[tuple[pl.DataFrame, LayerStats]] = []
    for kind in IDENTIFIER_SOURCES:
        if progress:
            progress(f"layer {kind}")
        built.append(identifier_layer(prep, kind, p, seed))
    if progress:
        progress("layer lockstep")
    built.append(lockstep_layer(prep, p, seed, bursts))
    if progress:
        progress("layer money")
    built.append(money_layer(prep, p, seed, money))
    frames = [e for e, _ in built if e.height]
    if not frames:
        empty = pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32, "weight": pl.Float64, "layers": pl.Int64})
        return AccountGraph(empty, prep.n_accounts, [s for _, s in built])
    long = pl.concat([f.unpivot(index=["a", "b"], variable_name="layer", value_name="w") for f in frames])
    wide = long.pivot(on="layer", index=["a", "b"], values="w", aggregate_function="sum")
    for name in LAYERS:
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(name))
    weight = pl.sum_horizontal([pl.col(n).fill_null(0) * p.layer_weights.get(n, 1.0) for n in LAYERS])
    mask = pl.sum_horizontal([pl.when(pl.col(n) > 0).then(LAYER_BIT[n]).otherwise(0) for n in LAYERS])
    edges = wide.with_columns(weight.alias("weight"), mask.cast(pl.Int64).alias("layers")).select(
        "a", "b", "weight", "layers", *LAYERS).sort("a", "b")
    return AccountGraph(edges, prep.n_accounts, [s for _, s in built])
