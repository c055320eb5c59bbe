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
from ._by_candidate import joined_by_candidate

#: Member-match rows joined at once (a few dozen bytes each): memory is bounded by one
#: chunk of candidates, not by every member times its receipts over the data's span.
MATCHES_PER_CHUNK = 4_000_000

#: What :func:`_at_focus` counts per candidate (0 for a candidate with no match there).
_AGG = pl.Schema({c: pl.UInt32() for c in ("cid", "refund_at_focus", "refund_placebo", "k1", "n1", "refund_payers",
                                            "refund_members")})


def _matches(refunds: pl.DataFrame, placebos: pl.DataFrame) -> pl.DataFrame:
    """(a, i, src, m, before): every match of a receipt ``i`` with ``u <= MATCH_TAU``, in the
    window before it (``before``) or a placebo window.

    Receipts that match nothing only count as receipts, so they never enter the join with
    the candidates' members (over two years, most receipts are such).
    """
    before = (refunds.select("a", "src", "u", "m").with_row_index("i").filter(pl.col("u") <= MATCH_TAU)
              .select("a", "i", "src", "m", pl.lit(True).alias("before")))
    placebo = placebos.select("a", "i", "src", "m", pl.lit(False).alias("before"))
    return pl.concat([before, placebo.cast(before.schema)])


def _at_focus(members: pl.DataFrame, matches: pl.DataFrame, focus: pl.DataFrame) -> pl.DataFrame:
    """Per candidate, the receipts matching a focus-shop order before them and in placebo
    windows, counted a few candidates at a time."""
    if matches.height == 0 or members.height == 0:
        return pl.DataFrame(schema=_AGG)
    parts = []
    for joined in joined_by_candidate(members, matches, MATCHES_PER_CHUNK):
        rows = joined.join(focus, on=["cid", "m"], how="semi")
        per_receipt = rows.group_by("cid", "i").agg(
            pl.col("a").first(), pl.col("src").first(), pl.col("before").any(),
            (~pl.col("before")).sum().alias("placebo"))
        once = pl.col("before").cast(pl.Int64) + pl.col("placebo") == 1
        parts.append(per_receipt.group_by("cid").agg(
            pl.col("before").sum().alias("refund_at_focus"), (pl.col("placebo") > 0).sum().alias("refund_placebo"),
            (once & pl.col("before")).sum().alias("k1"), once.sum().alias("n1"),
            pl.col("src").filter(pl.col("before")).n_unique().alias("refund_payers"),
            pl.col("a").filter(pl.col("before")).n_unique().alias("refund_members")).cast(_AGG))
    return pl.concat(parts) if parts else pl.DataFrame(schema=_AGG)


def test(inp: Inputs) -> pl.DataFrame:
    schema = {"cid": pl.UInt32, "p_refund": pl.Float64}
    refunds = inp.plat.refunds
    per_a = refunds.group_by("a").agg(pl.len().alias("receipts"), (pl.col("u") <= MATCH_TAU).sum().alias("matched"))
    counts = (inp.cands.members.select("cid", "a").join(per_a, on="a").group_by("cid")
              .agg(pl.col("receipts").sum().alias("refund_receipts"), pl.col("matched").sum().alias("refund_matched")))
    if counts.height == 0:
        return pl.DataFrame(schema=schema)
    focus = _at_focus(inp.cands.members, _matches(refunds, inp.plat.refund_placebos), inp.focus.select("cid", "m"))
    agg = counts.join(focus, on="cid", how="left").with_columns(pl.col(c).fill_null(0) for c in _AGG if c != "cid")
    k1, n1 = agg["k1"].to_numpy(), agg["n1"].to_numpy()
    return agg.drop("k1", "n1").with_columns(pl.Series("p_refund", binom_sf(k1, n1, 1.0 / inp.plat.refund_windows)))


FAMILY = Family("refund", "outcome", test,
                "members' receipts matching their own earlier orders at the focus shops (price plus a commission), "
                "against the platform's receipt amounts")
