"""Outcome: refund-for-order money — members paid back about the price of their orders at
the shops the group acts on, plus a commission.

Each receipt is matched against the recipient's orders in the month before it and,
as a placebo, in the month after it (:func:`graphfraud.graph.money.refund_matches`):
money cannot pay back an order not yet placed, so for receipts unrelated to orders —
payroll, red packets, a rebate app's cut, an employer's reimbursements — a close match
to a focus-shop order is as likely after as before, whatever the amounts involved.
Counting the receipts that match a focus-shop order before but not after (``k1``) and
after but not before (``k2``), ``k1`` is at most Binomial(k1 + k2, 1/2) under that null
(McNemar's exact test). A paid campaign matches before only.
"""

from __future__ import annotations

import polars as pl

from ..stats import binom_sf
from . import Family, Inputs

#: A receipt counts as matched when its match is this improbable by chance.
TAU = 0.05


def test(inp: Inputs) -> pl.DataFrame:
    rec = inp.cands.members.join(inp.plat.refunds.select("a", "rid", "src", "u", "m", "u_after", "m_after"), on="a")
    if rec.height == 0:
        return pl.DataFrame(schema={"cid": pl.UInt32, "p_refund": pl.Float64})
    focus = inp.focus.select("cid", "m").with_columns(pl.lit(True).alias("at_focus"))
    rec = rec.join(focus, on=["cid", "m"], how="left").join(
        focus.rename({"m": "m_after", "at_focus": "after_focus"}), on=["cid", "m_after"], how="left")
    before = (pl.col("u") <= TAU) & pl.col("at_focus").fill_null(False)
    after = (pl.col("u_after") <= TAU) & pl.col("after_focus").fill_null(False)
    rec = rec.with_columns(before.alias("before"), after.alias("after"))
    agg = rec.group_by("cid").agg(
        pl.len().alias("refund_receipts"), (pl.col("u") <= TAU).sum().alias("refund_matched"),
        pl.col("before").sum().alias("refund_at_focus"),
        pl.col("after").sum().alias("refund_placebo"),
        (pl.col("before") & ~pl.col("after")).sum().alias("k1"),
        (pl.col("after") & ~pl.col("before")).sum().alias("k2"),
        pl.col("src").filter(pl.col("before")).n_unique().alias("refund_payers"),
        pl.col("a").filter(pl.col("before")).n_unique().alias("refund_members"))
    k1, k2 = agg["k1"].to_numpy(), agg["k2"].to_numpy()
    return agg.drop("k1", "k2").with_columns(pl.Series("p_refund", binom_sf(k1, k1 + k2, 0.5)))


FAMILY = Family("refund", "outcome", test,
                "members' receipts matching their own earlier orders at the focus shops (price plus a commission), "
                "against the platform's receipt amounts")
