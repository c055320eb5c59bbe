"""Outcome: sales the shops paid for themselves — members' orders paid with a payment
account that belongs to a shop.

A shop that pays for an order placed at it (or at an allied shop) buys its own sales
volume: that is what self-brushing and merchant alliances exist to produce. Null: each
of the members' orders at the focus shops is shop-paid with the platform's own rate of
shop-paid orders (rings included, so the rate is if anything too high): the count is at
most Binomial(orders, rate).
"""

from __future__ import annotations

import polars as pl

from ..stats import binom_sf
from . import Family, Inputs


def test(inp: Inputs) -> pl.DataFrame:
    orders = inp.plat.orders
    schema = {"cid": pl.UInt32, "p_sales": pl.Float64}
    rate = float(orders.select(pl.col("shop_paid").mean()).item() or 0.0) if orders.height else 0.0
    if rate == 0.0:
        return pl.DataFrame(schema=schema)
    mine = inp.cands.members.join(orders.select("a", "m", "shop_paid"), on="a").join(
        inp.focus.select("cid", "m"), on=["cid", "m"])
    agg = mine.group_by("cid").agg(pl.len().alias("sales_orders"), pl.col("shop_paid").sum().alias("sales_shop_paid"))
    return agg.with_columns((pl.col("sales_orders") * rate).alias("sales_expected"),
                            pl.Series("p_sales", binom_sf(agg["sales_shop_paid"].to_numpy(),
                                                          agg["sales_orders"].to_numpy(), rate)))


FAMILY = Family("sales", "outcome", test,
                "members' orders at the focus shops paid with shops' own payment accounts, against the "
                "platform's rate of such orders")
