"""Corroboration: members are a shop's staff — they pay with a shop's own payment account.

Null: members are staff with the platform's share of staff accounts (buyers who ever
paid with a payment account listed in ``merchant_payments``): Binomial(n, share). Staff
of one of the group's own focus shops (a shop brushing itself) and staff of other shops
acting at the focus shops (an alliance) are counted for the reasons.
"""

from __future__ import annotations

import polars as pl

from ..stats import binom_sf
from . import Family, Inputs


def test(inp: Inputs) -> pl.DataFrame:
    staff = inp.plat.staff
    schema = {"cid": pl.UInt32, "p_affiliation": pl.Float64}
    if staff.height == 0:
        return pl.DataFrame(schema=schema)
    share = staff["a"].n_unique() / max(1, inp.plat.n_accounts)
    mine = inp.cands.members.join(staff, on="a")
    if mine.height == 0:
        return pl.DataFrame(schema=schema)
    own_shop = mine.join(inp.focus.select("cid", "m"), on=["cid", "m"], how="semi")
    agg = (mine.group_by("cid").agg(pl.col("a").n_unique().alias("staff_members"),
                                    pl.col("m").n_unique().alias("staff_shops"))
           .join(own_shop.group_by("cid").agg(pl.col("a").n_unique().alias("staff_of_focus")), on="cid", how="left")
           .join(inp.cands.sizes(), on="cid").with_columns(pl.col("staff_of_focus").fill_null(0)))
    p = binom_sf(agg["staff_members"].to_numpy(), agg["size"].to_numpy(), share)
    return agg.drop("size").with_columns(pl.Series("p_affiliation", p))


FAMILY = Family("affiliation", "corroboration", test,
                "members paying with shops' own payment accounts against the platform's share of such staff")
