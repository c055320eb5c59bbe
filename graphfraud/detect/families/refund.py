"""Outcome: refund-for-order money — members paid back about the price of their orders at
the shops the group acts on, plus a commission.

Each receipt carries ``u``, the chance that a receipt amount independent of the
recipient's orders would match one of them that closely (see
:func:`graphfraud.graph.money.refund_matches`). Under that null ``P(u <= TAU) <= TAU``;
a chance match falls on one of the recipient's recent orders, so it lands on an order at
the group's focus shops with probability ``q_a``, the share of the recipient's orders
placed there. The count of receipts matched to a focus-shop order is compared with
``sum(TAU * q_a)`` (Poisson tail): forty campaign orders refunded where two such matches
are expected is a paid campaign; an employer reimbursing some purchases anywhere, a
rebate app's few per cent, a friend's red packet or a shop's exact refund are not.
"""

from __future__ import annotations

import polars as pl

from ..stats import poisson_sf
from . import Family, Inputs

#: A receipt counts as matched when its match is this improbable by chance.
TAU = 0.05


def test(inp: Inputs) -> pl.DataFrame:
    rec = inp.cands.members.join(inp.plat.refunds.select("a", "rid", "src", "u", "m"), on="a")
    if rec.height == 0:
        return pl.DataFrame(schema={"cid": pl.UInt32, "p_refund": pl.Float64})
    focus = inp.focus.select("cid", "m").with_columns(pl.lit(True).alias("at_focus"))
    rec = rec.join(focus, on=["cid", "m"], how="left")
    orders = inp.prep.orders.select("a", "m")
    share = (inp.cands.members.join(orders, on="a").join(focus, on=["cid", "m"], how="left")
             .group_by("cid", "a").agg(pl.col("at_focus").fill_null(False).mean().alias("q")))
    rec = rec.join(share, on=["cid", "a"], how="left").with_columns(pl.col("q").fill_null(0.0))
    agg = rec.group_by("cid").agg(
        pl.len().alias("refund_receipts"), (pl.col("u") <= TAU).sum().alias("refund_matched"),
        ((pl.col("u") <= TAU) & pl.col("at_focus").fill_null(False)).sum().alias("refund_at_focus"),
        pl.col("src").filter(pl.col("u") <= TAU).n_unique().alias("refund_payers"),
        pl.col("a").filter((pl.col("u") <= TAU) & pl.col("at_focus").fill_null(False)).n_unique()
        .alias("refund_members"),
        (TAU * pl.col("q")).sum().alias("refund_expected"))
    return agg.with_columns(pl.Series("p_refund", poisson_sf(agg["refund_at_focus"].to_numpy(),
                                                             agg["refund_expected"].to_numpy())))


FAMILY = Family("refund", "outcome", test,
                "members' receipts matching their own earlier orders at the focus shops (price plus a commission), "
                "against the platform's receipt amounts")
