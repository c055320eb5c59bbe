"""Outcome: ratings at the focus shops moved away from what those shops' other customers give.

Null: a member's review at shop ``s`` is top (5 stars) with the probability the shop's
*other* customers give (the candidate's own reviews left out, two pseudo-reviews at the
platform rate), shifted on the log-odds scale by the member's own generosity measured on
its reviews *elsewhere* (a one-step penalised logistic estimate with a unit-variance
prior: accounts with no other reviews keep the shop's rate). Someone who gives everyone
five stars is no evidence; a ring's accounts that rate normally elsewhere and give five
stars here are. Low ratings (3 or fewer) are tested the same way, in the other
direction: a ring rarely gives any. The two tails are combined by Bonferroni.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..platform import LOW_RATING, TOP_RATING
from ..stats import poisson_binomial_tails
from . import Family, Inputs

#: Pseudo-reviews at the platform rate added to every shop's rate (a weak prior).
SHOP_PRIOR = 2.0
#: Prior precision of an account's log-odds generosity (unit variance).
ACCOUNT_PRIOR = 1.0


def _logit(p: pl.Expr) -> pl.Expr:
    p = p.clip(1e-6, 1 - 1e-6)
    return (p / (1 - p)).log()


def _expit(x: pl.Expr) -> pl.Expr:
    return 1 / (1 + (-x).exp())


def test(inp: Inputs) -> pl.DataFrame:
    plat = inp.plat
    rv = inp.prep.reviews.select("a", "m", (pl.col("rating") >= TOP_RATING).cast(pl.Int32).alias("y_top"),
                                 (pl.col("rating") <= LOW_RATING).cast(pl.Int32).alias("y_low"))
    mine = inp.cands.members.join(rv, on="a")
    focus = inp.focus.select("cid", "m").with_columns(pl.lit(True).alias("in_focus"))
    mine = mine.join(focus, on=["cid", "m"], how="left").with_columns(pl.col("in_focus").fill_null(False))
    shops = plat.shop_ratings
    P = {"top": plat.top_share, "low": plat.low_share}
    own = (mine.filter("in_focus").group_by("cid", "m")
           .agg(pl.len().alias("n_c"), pl.col("y_top").sum().alias("top_c"), pl.col("y_low").sum().alias("low_c")))
    cols = []
    for side in ("top", "low"):
        # Outside the focus shops: the member's generosity relative to each shop's rate.
        base = ((pl.col(side) + SHOP_PRIOR * P[side]) / (pl.col("n") + SHOP_PRIOR))
        cols.append(base.alias(f"r_{side}"))
    outside = (mine.filter(~pl.col("in_focus")).join(shops.with_columns(cols).select("m", "r_top", "r_low"), on="m")
               .group_by("cid", "a").agg(
                   *[(pl.col(f"y_{s}").sum() - pl.col(f"r_{s}").sum()).alias(f"res_{s}") for s in ("top", "low")],
                   *[(pl.col(f"r_{s}") * (1 - pl.col(f"r_{s}"))).sum().alias(f"var_{s}") for s in ("top", "low")]))
    shift = outside.select("cid", "a", *[(pl.col(f"res_{s}") / (pl.col(f"var_{s}") + ACCOUNT_PRIOR)).alias(f"b_{s}")
                                         for s in ("top", "low")])
    inside_rate = [((pl.col(s) - pl.col(f"{s}_c") + SHOP_PRIOR * P[s]) / (pl.col("n") - pl.col("n_c") + SHOP_PRIOR))
                   .alias(f"q_{s}") for s in ("top", "low")]
    rates = own.join(shops, on="m").with_columns(inside_rate).select("cid", "m", "q_top", "q_low")
    focus_rv = (mine.filter("in_focus").join(rates, on=["cid", "m"]).join(shift, on=["cid", "a"], how="left")
                .with_columns(*[_expit(_logit(pl.col(f"q_{s}")) + pl.col(f"b_{s}").fill_null(0.0)).alias(f"p_{s}")
                                for s in ("top", "low")]))
    agg = focus_rv.group_by("cid").agg(
        pl.len().alias("rating_reviews"), pl.col("m").n_unique().alias("rating_shops"),
        pl.col("y_top").sum().alias("rating_top_obs"), pl.col("p_top").sum().alias("rating_top_exp"),
        (pl.col("p_top") * (1 - pl.col("p_top"))).sum().alias("v_top"),
        pl.col("y_low").sum().alias("rating_low_obs"), pl.col("p_low").sum().alias("rating_low_exp"),
        (pl.col("p_low") * (1 - pl.col("p_low"))).sum().alias("v_low"),
        (1 - pl.col("p_low")).log().sum().alias("log_none"),
        pl.col("q_top").mean().alias("rating_others_top"))
    if agg.height == 0:
        return pl.DataFrame(schema={"cid": pl.UInt32, "p_rating": pl.Float64})
    up_top, _ = poisson_binomial_tails(agg["rating_top_obs"].to_numpy(), agg["rating_top_exp"].to_numpy(),
                                       agg["v_top"].to_numpy())
    _, low_low = poisson_binomial_tails(agg["rating_low_obs"].to_numpy(), agg["rating_low_exp"].to_numpy(),
                                        agg["v_low"].to_numpy(), log_p_none=agg["log_none"].to_numpy())
    p = np.minimum(1.0, 2 * np.minimum(up_top, low_low))
    return agg.drop("v_top", "v_low", "log_none").with_columns(pl.Series("p_rating", p))


FAMILY = Family("rating", "outcome", test,
                "members' ratings at their focus shops against those shops' other customers, adjusted for each "
                "member's own generosity elsewhere")
