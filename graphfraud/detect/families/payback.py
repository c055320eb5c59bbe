"""Outcome: the shop pays members back — money from a shop to the buyers of its orders.

Shops refund returns and compensate complaints at some rate of their own. Null: each of
the members' orders at focus shop ``s`` is paid back by ``s`` within a week at the rate
``s`` pays back its *other* customers' orders (one pseudo-order at the platform rate as
a prior); the count over the focus shops is compared with the sum of those rates
(Poisson upper tail). Insiders' kickbacks and a self-brushing shop refunding its staff
stand out against the shop's own refunds; an ordinary shop's returns do not.
"""

from __future__ import annotations

import polars as pl

from ..stats import poisson_sf
from . import Family, Inputs


def test(inp: Inputs) -> pl.DataFrame:
    orders = inp.plat.orders
    schema = {"cid": pl.UInt32, "p_payback": pl.Float64}
    if orders.height == 0 or not orders["paid_back"].any():
        return pl.DataFrame(schema=schema)
    base = float(orders.select(pl.col("paid_back").mean()).item())
    shops = orders.group_by("m").agg(pl.len().alias("n_s"), pl.col("paid_back").sum().alias("k_s"))
    mine = inp.cands.members.join(orders.select("a", "m", "paid_back"), on="a").join(
        inp.focus.select("cid", "m"), on=["cid", "m"])
    per = (mine.group_by("cid", "m").agg(pl.len().alias("n"), pl.col("paid_back").sum().alias("k"))
           .join(shops, on="m")
           .with_columns(((pl.col("k_s") - pl.col("k") + base) / (pl.col("n_s") - pl.col("n") + 1)).alias("rate")))
    agg = per.group_by("cid").agg(pl.col("n").sum().alias("payback_orders"), pl.col("k").sum().alias("payback_paid"),
                                  (pl.col("n") * pl.col("rate")).sum().alias("payback_expected"))
    # Ten significant digits: a parallel sum's last bits depend on the order it added in.
    agg = agg.with_columns(pl.col("payback_expected").round_sig_figs(10))
    return agg.with_columns(pl.Series("p_payback", poisson_sf(agg["payback_paid"].to_numpy(),
                                                              agg["payback_expected"].to_numpy())))


FAMILY = Family("payback", "outcome", test,
                "members' orders paid back by their own shop within a week, against the rate that shop pays back "
                "its other customers")
