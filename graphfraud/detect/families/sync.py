"""Corroboration: members act at the same shops at the same times, at several shops.

Null (within-shop time permutation): a group's ``k`` events at shop ``s`` are a random
``k`` of the shop's ``N_s`` events, scanned at widths from 1 hour to about six weeks
(:mod:`._scan`): a two-hour device-farm burst and a campaign spread over weeks are both
seen, no global window is chosen. A flash sale or a livestream that brings everybody at
once is absorbed: the shop's own traffic surges with the group.

One shop is not synchrony — fans meeting at their shop's event are. The group's best
shop is left out and the others are combined by Fisher's rule: the evidence is
coordination across shops.
"""

from __future__ import annotations

import polars as pl
from scipy.special import chdtrc

from . import Family, Inputs
from ._scan import scan


def test(inp: Inputs) -> pl.DataFrame:
    events = inp.prep.events()
    mine = (inp.cands.members.join(events, on="a").join(inp.focus.select("cid", "m"), on=["cid", "m"])
            .select("cid", pl.col("m").alias("ref"), "t"))
    shops = scan(mine, events.select(pl.col("m").alias("ref"), "t"))
    schema = {"cid": pl.UInt32, "p_sync": pl.Float64}
    if shops.height == 0:
        return pl.DataFrame(schema=schema)
    ranked = shops.sort("cid", "p", "ref").with_columns(pl.int_range(pl.len()).over("cid").alias("rank"))
    summary = ranked.group_by("cid").agg(
        (pl.col("p") <= 0.01).sum().alias("sync_shops"), pl.len().alias("sync_tested"),
        pl.col("scale_h").filter(pl.col("p") <= 0.01).median().alias("sync_scale_h"),
        pl.col("c").filter(pl.col("rank") == 1).first().alias("sync_c"),
        pl.col("n").filter(pl.col("rank") == 1).first().alias("sync_n"))
    # Fisher's combination (as stats.fisher) over every shop after the best.
    rest = ranked.filter(pl.col("rank") >= 1).group_by("cid").agg(
        (-2 * pl.col("p").clip(1e-300, 1).log()).sum().alias("x"), pl.len().alias("df"))
    combined = rest.select("cid", pl.Series("p_sync", chdtrc(2 * rest["df"].to_numpy(), rest["x"].to_numpy()))
                           .clip(1e-300, 1.0))
    return summary.join(combined, on="cid", how="left")


FAMILY = Family("sync", "corroboration", test,
                "members' activity clustered in time at each focus shop against that shop's own traffic "
                "(within-shop permutation null, 1 h to 6 weeks), the best shop left out")
