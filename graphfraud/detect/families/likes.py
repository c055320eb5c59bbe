"""Corroboration: members liking each other's reviews ("helpful" votes for the ring's own texts).

Likes are also a generator layer, so this family only corroborates: a group found through
its likes cannot have its likes count as the outcome.

Null: a like a member gives at shop ``s`` lands on another member's review with the
share of the shop's reviews the other members wrote. The count of likes that do is
compared with the sum of those chances (Poisson upper tail).
"""

from __future__ import annotations

import polars as pl

from ..stats import poisson_sf
from . import Family, Inputs


def test(inp: Inputs) -> pl.DataFrame:
    prep = inp.prep
    schema = {"cid": pl.UInt32, "p_likes": pl.Float64}
    if prep.likes.height == 0:
        return pl.DataFrame(schema=schema)
    mem = inp.cands.members
    liked = prep.likes.join(prep.reviews.select("r", pl.col("a").alias("author"), "m"), on="r")
    given = mem.join(liked, on="a")  # cid, a (liker), r, author, m
    if given.height == 0:
        return pl.DataFrame(schema=schema)
    authors = mem.rename({"a": "author"}).with_columns(pl.lit(True).alias("inside"))
    given = given.join(authors, on=["cid", "author"], how="left").with_columns(
        (pl.col("inside").fill_null(False) & (pl.col("author") != pl.col("a"))).alias("inside"))
    shop_reviews = prep.reviews.group_by("m").agg(pl.len().alias("n_s"))
    member_reviews = mem.join(prep.reviews.select("a", "m"), on="a").group_by("cid", "m").agg(pl.len().alias("n_cs"))
    own = mem.join(prep.reviews.select("a", "m"), on="a").group_by("cid", "a", "m").agg(pl.len().alias("n_own"))
    given = (given.join(shop_reviews, on="m").join(member_reviews, on=["cid", "m"], how="left")
             .join(own, on=["cid", "a", "m"], how="left")
             .with_columns(((pl.col("n_cs").fill_null(0) - pl.col("n_own").fill_null(0)).clip(0, None)
                            / pl.col("n_s")).alias("chance")))
    agg = given.group_by("cid").agg(pl.len().alias("likes_given"), pl.col("inside").sum().alias("likes_inside"),
                                    pl.col("chance").sum().alias("likes_expected"))
    # Ten significant digits: a parallel sum's last bits depend on the order it added in.
    agg = agg.with_columns(pl.col("likes_expected").round_sig_figs(10))
    return agg.with_columns(pl.Series("p_likes", poisson_sf(agg["likes_inside"].to_numpy(),
                                                            agg["likes_expected"].to_numpy())))


FAMILY = Family("likes", "corroboration", test, "likes members give to other members' reviews, against the share of "
                "those shops' reviews the other members wrote")
