"""The projection of shared contexts onto account pairs, and its strongest-ties form."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphfraud.graph import projection
from graphfraud.graph.layers import EDGE_SCHEMA, Layer, _sum_pairs, combine, fixed_sum
from graphfraud.graph.projection import project, strongest_ties


def _incidences(seed: int, accounts: int = 300, contexts: int = 120, rows: int = 2500) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    # Zipf-sized contexts: a few large ones (the sampled tier), many small ones.
    return pl.DataFrame({"a": rng.integers(0, accounts, rows), "c": rng.zipf(1.5, rows) % contexts},
                        schema={"a": pl.UInt32, "c": pl.Int64})


def _ranked(pairs: pl.DataFrame) -> pl.DataFrame:
    """Both sides of every pair, each account's ties ranked strongest first, then by partner."""
    both = pl.concat([pairs.select(pl.col("a").alias("x"), pl.col("b").alias("y"), "w"),
                      pairs.select(pl.col("b").alias("x"), pl.col("a").alias("y"), "w")])
    return both.sort(["x", "w", "y"], descending=[False, True, False]).with_columns(
        pl.int_range(pl.len()).over("x").alias("rank"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_without_a_cap_the_strongest_ties_are_the_whole_projection(seed):
    """With every context a clique and ``top`` above any degree, nothing is pruned: the
    pairs and weights are those of :func:`project` summed."""
    inc = _incidences(seed)
    full = project(inc, clique_max=1000, hub_max=1000, k=10, seed=0)
    want = _sum_pairs(full.pairs.select("a", "b", "w"))
    got, contexts, hubs = strongest_ties(inc, clique_max=1000, hub_max=1000, k=10, top=10_000, seed=0)
    assert want.height > 1000 and (contexts, hubs) == (full.n_contexts, full.n_hubs)
    assert got.select("a", "b").equals(want.select("a", "b"))
    assert np.allclose(got["w"].to_numpy(), want["w"].to_numpy(), atol=1e-6)


def test_each_kept_tie_is_among_the_strongest_of_one_of_its_accounts():
    """Pruned to ``top`` per account: every kept pair is in the top of one endpoint, every
    pair in the top of an endpoint is kept, and no account keeps its weaker ties only."""
    inc = _incidences(3)
    top = 5
    full = _sum_pairs(project(inc, clique_max=1000, hub_max=1000, k=10, seed=0).pairs.select("a", "b", "w"))
    ranked = _ranked(full)
    want = (ranked.filter(pl.col("rank") < top)
            .select(pl.min_horizontal("x", "y").alias("a"), pl.max_horizontal("x", "y").alias("b")).unique()
            .sort("a", "b"))
    got, _, _ = strongest_ties(inc, clique_max=1000, hub_max=1000, k=10, top=top, seed=0)
    assert got.height < full.height / 2
    assert got.select("a", "b").equals(want.cast(got.select("a", "b").schema))


def test_blocks_and_draws_do_not_change_the_ties(monkeypatch):
    """The large contexts' draws come from a hash, not a stream: the ties are the same
    whatever the block size, and every drawn partner shares a context with its account."""
    inc = _incidences(4, rows=6000)
    first, _, _ = strongest_ties(inc, clique_max=8, hub_max=2000, k=3, top=20, seed=5)
    monkeypatch.setattr(projection, "ROWS_PER_BLOCK", 7)
    small, _, _ = strongest_ties(inc, clique_max=8, hub_max=2000, k=3, top=20, seed=5)
    assert small.equals(first)
    other, _, _ = strongest_ties(inc, clique_max=8, hub_max=2000, k=3, top=20, seed=6)
    assert not other.equals(first)  # the seed does choose the draws
    together = inc.join(inc, on="c").filter(pl.col("a") < pl.col("a_right")).select(
        "a", pl.col("a_right").alias("b")).unique()
    assert first.select("a", "b").join(together, on=["a", "b"], how="anti").height == 0
    assert (first["a"] < first["b"]).all()


def test_contexts_that_are_all_hubs_or_singletons_give_no_ties():
    """Every transfer from one settlement account: its one context is a hub, dropped and
    counted, and no account has a tie (this raised an IndexError)."""
    hub = pl.DataFrame({"a": np.arange(1500), "c": np.zeros(1500, np.int64)}, schema={"a": pl.UInt32, "c": pl.Int64})
    pairs, contexts, hubs = strongest_ties(hub, clique_max=64, hub_max=1000, k=10, top=64, seed=0)
    assert (pairs.height, contexts, hubs) == (0, 1, 1) and pairs.columns == ["a", "b", "w"]
    alone = pl.DataFrame({"a": [0, 1], "c": [5, 6]}, schema={"a": pl.UInt32, "c": pl.Int64})
    assert strongest_ties(alone, clique_max=64, hub_max=1000, k=10, top=64, seed=0)[0].height == 0


def _pivot(layers: list[Layer]) -> pl.DataFrame:
    """The layers summed by a pivot to one column per layer and a row-wise sum."""
    long = pl.concat([layer.edges.with_columns(pl.lit(layer.name).alias("layer")) for layer in layers])
    wide = long.group_by("a", "b", "layer").agg(fixed_sum(pl.col("w")).alias("w")).pivot(
        on="layer", index=["a", "b"], values="w", aggregate_function="first")
    weight = pl.sum_horizontal([pl.col(layer.name).fill_null(0) for layer in layers])
    return wide.with_columns(weight.alias("weight")).select("a", "b", "weight").sort("a", "b")


@pytest.mark.parametrize("seed", [0, 1])
def test_layers_sum_to_the_pivot_they_replace(seed):
    rng = np.random.default_rng(seed)
    layers = []
    for name in ("x", "y", "z"):
        pairs = np.unique(rng.integers(0, 40, (300, 2)), axis=0)
        pairs = pairs[pairs[:, 0] < pairs[:, 1]]
        # Weights with many digits: their fixed-point rounding must be the pivot's.
        w = rng.random(len(pairs)) / rng.integers(1, 7, len(pairs))
        layers.append(Layer(name, pl.DataFrame({"a": pairs[:, 0], "b": pairs[:, 1], "w": w}, schema=EDGE_SCHEMA),
                            0, 0, 0))
    got, want = combine(layers), _pivot(layers)
    assert got.height > max(layer.edges.height for layer in layers)  # the layers overlap only in part
    assert got.equals(want.cast(got.schema))
