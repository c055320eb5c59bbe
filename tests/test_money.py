"""The money family counted a few candidates at a time equals one join of members with origins."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from graphfraud.detect.families import Inputs, money
from graphfraud.detect.stats import hypergeom_sf
from tests.test_refund import RING, _market, overlapping


def _one_join(inp: Inputs) -> pl.DataFrame:
    """The family's counts by one join of every member with every origin it was paid by."""
    plat = inp.plat
    orig = inp.cands.members.join(plat.origins, on="a")
    recv = orig.group_by("cid").agg(pl.col("a").n_unique().alias("n_recv"))
    shared = (orig.group_by("cid", "origin").agg(pl.col("a").n_unique().alias("k"), pl.col("hops").min())
              .filter(pl.col("k") >= 2).join(plat.origin_recipients, on="origin").join(recv, on="cid"))
    p = hypergeom_sf(shared["k"].to_numpy(), plat.n_recipients, shared["recipients"].to_numpy(),
                     shared["n_recv"].to_numpy())
    shop_origin = inp.prep.payment_shops.rename({"p": "origin"})
    shared = shared.with_columns(pl.Series("p_origin", p)).join(shop_origin, on="origin", how="left")
    best = shared.sort("cid", "p_origin", "origin").group_by("cid", maintain_order=True).agg(
        pl.col("p_origin").first().alias("best"), pl.len().alias("money_origins"),
        pl.col("k").first().alias("money_k"), pl.col("recipients").first().alias("money_recipients"),
        pl.col("hops").first().alias("money_hops"), pl.col("n_recv").first().alias("money_receivers"))
    funded = (shared.join(inp.focus.select("cid", "m"), on=["cid", "m"], how="semi")
              .group_by("cid").agg(pl.col("m").n_unique().alias("money_from_focus_shops")))
    paths = (orig.join(shop_origin, on="origin").group_by("cid", "origin")
             .agg(pl.col("a").n_unique().alias("k"), pl.col("hops").max().alias("deepest"))
             .join(recv, on="cid").filter(pl.col("k") >= 0.1 * pl.col("n_recv"))
             .group_by("cid").agg(pl.col("deepest").max().alias("money_shop_depth")))
    funded = funded.join(paths, on="cid", how="full", coalesce=True)
    return (best.join(funded, on="cid", how="left")
            .with_columns((pl.col("best") * pl.col("money_origins")).clip(0, 1).alias("p_money"),
                          pl.col("money_from_focus_shops").fill_null(0)).drop("best"))


def _inputs() -> Inputs:
    """The refund test's market, with overlapping candidates (a member's origins count in
    several) and a few payers declared shops' payment accounts, one of them a focus shop's."""
    inp = overlapping(_market(1, ring=True))
    # The most frequent origins of the ring's members become shops' accounts (the first the
    # ring's own focus shop's).
    top = (inp.cands.members.filter(pl.col("cid") == RING).join(inp.plat.origins, on="a")
           .group_by("origin").len().sort("len", "origin", descending=[True, False]).head(3)["origin"])
    shops = pl.DataFrame({"p": top, "m": [inp.focus.filter(pl.col("cid") == RING)["m"][0], 0, 1]},
                         schema={"p": pl.UInt32, "m": pl.UInt32})
    return replace(inp, prep=replace(inp.prep, payment_shops=shops))


@pytest.mark.parametrize("chunk", [1, 50, money.ORIGINS_PER_CHUNK])
def test_money_counts_equal_the_join_they_replace(monkeypatch, chunk):
    inp = _inputs()
    monkeypatch.setattr(money, "ORIGINS_PER_CHUNK", chunk)
    got = money.test(inp).sort("cid")
    want = _one_join(inp).sort("cid")
    assert got.height == want.height > 60
    assert got.equals(want.select(got.columns))
    # The case exercises what the chunks must keep whole: shared origins, shop paths.
    ring = got.filter(pl.col("cid") == RING)
    assert ring["money_k"].item() >= 3 and ring["money_from_focus_shops"].item() == 1
    assert got["money_shop_depth"].drop_nulls().len() > 0
    assert np.isfinite(got["p_money"].to_numpy()).all()
