"""Outcome: refund-for-order money — members paid back about the price of their orders at
the shops the group acts on, plus a commission.

Each receipt is matched against the recipient's orders in the window before it and, as
placebos, in as long windows further back and after it
(:func:`graphfraud.graph.money.refund_matches`): money cannot pay back an order not yet
placed, nor (within the window) one placed long before, so for receipts unrelated to
orders — payroll, red packets, a rebate app's cut, an employer's reimbursements — a
close match to a focus-shop order is as likely in any window as in the one before,
whatever the amounts involved. Of the receipts that match a focus-shop order in exactly
one window, the number whose window is the one before (``k1``) is then at most
Binomial(n, 1 / windows). A paid campaign matches before only.
"""

from __future__ import annotations

import polars as pl

from ...graph.money import MATCH_TAU
from ..stats import binom_sf
from . import Family, Inputs


def test(inp: Inputs) -> pl.DataFrame:
    schema = {"cid": pl.UInt32, "p_refund": pl.Float64}
    rec = inp.cands.members.join(inp.plat.refunds.select("a", "rid", "src", "u", "m", "u_placebo", "m_placebo"), on="a")
    if rec.height == 0:
        return pl.DataFrame(schema=schema)
    windows = 1 + int(rec.select(pl.col("u_placebo").list.len().max()).item())
    focus = inp.focus.select("cid", "m").with_columns(pl.lit(True).alias("at_focus"))
    rec = rec.with_row_index("i").join(focus, on=["cid", "m"], how="left")
    placebo = (rec.select("i", "cid", "u_placebo", "m_placebo").explode("u_placebo", "m_placebo")
               .join(focus.rename({"m": "m_placebo"}), on=["cid", "m_placebo"], how="left")
               .group_by("i").agg(((pl.col("u_placebo") <= MATCH_TAU) & pl.col("at_focus").fill_null(False)).sum()
                                  .alias("placebo")))
    before = (pl.col("u") <= MATCH_TAU) & pl.col("at_focus").fill_null(False)
    rec = rec.join(placebo, on="i", how="left").with_columns(before.alias("before"),
                                                             pl.col("placebo").fill_null(0))
    once = pl.col("before").cast(pl.Int64) + pl.col("placebo") == 1
    agg = rec.group_by("cid").agg(
        pl.len().alias("refund_receipts"), (pl.col("u") <= MATCH_TAU).sum().alias("refund_matched"),
        pl.col("before").sum().alias("refund_at_focus"),
        (pl.col("placebo") > 0).sum().alias("refund_placebo"),
        (once & pl.col("before")).sum().alias("k1"), once.sum().alias("n1"),
        pl.col("src").filter(pl.col("before")).n_unique().alias("refund_payers"),
        pl.col("a").filter(pl.col("before")).n_unique().alias("refund_members"))
    k1, n1 = agg["k1"].to_numpy(), agg["n1"].to_numpy()
    return agg.drop("k1", "n1").with_columns(pl.Series("p_refund", binom_sf(k1, n1, 1.0 / windows)))


FAMILY = Family("refund", "outcome", test,
                "members' receipts matching their own earlier orders at the focus shops (price plus a commission), "
                "against the platform's receipt amounts")
