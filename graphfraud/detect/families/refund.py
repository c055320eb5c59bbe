"""Outcome: refund-for-order money — members paid back about their orders' price plus a commission.

Each receipt carries ``u``, the chance that a receipt amount independent of the
recipient's orders would match one of them that closely (see
:func:`graphfraud.graph.money.refund_matches`). Under that null ``P(u <= TAU) <= TAU``,
so the number of a group's receipts with ``u <= TAU`` is at most Binomial(receipts,
TAU): forty of forty-four where two are expected is a paid campaign; a rebate app's few
per cent, a friend's red packet or a shop's exact refund are not.
"""

from __future__ import annotations

import polars as pl

from ..stats import binom_sf
from . import Family, Inputs

#: A receipt counts as matched when its match is this improbable by chance.
TAU = 0.05


def test(inp: Inputs) -> pl.DataFrame:
    rec = inp.cands.members.join(inp.plat.refunds.select("a", "rid", "src", "u", "m"), on="a")
    if rec.height == 0:
        return pl.DataFrame(schema={"cid": pl.UInt32, "p_refund": pl.Float64})
    focus = inp.focus.select("cid", "m").with_columns(pl.lit(True).alias("at_focus"))
    rec = rec.join(focus, on=["cid", "m"], how="left")
    agg = rec.group_by("cid").agg(
        pl.len().alias("refund_receipts"), (pl.col("u") <= TAU).sum().alias("refund_matched"),
        ((pl.col("u") <= TAU) & pl.col("at_focus").fill_null(False)).sum().alias("refund_at_focus"),
        pl.col("src").filter(pl.col("u") <= TAU).n_unique().alias("refund_payers"),
        pl.col("a").filter(pl.col("u") <= TAU).n_unique().alias("refund_members"))
    n = agg["refund_receipts"].to_numpy()
    return agg.with_columns((pl.col("refund_receipts") * TAU).alias("refund_expected"),
                            pl.Series("p_refund", binom_sf(agg["refund_matched"].to_numpy(), n, TAU)))


FAMILY = Family("refund", "outcome", test,
                "members' receipts matching their own earlier orders' price plus a commission, against the "
                "platform's receipt amounts")
