"""Corroboration: members share identifiers (devices, payment accounts, addresses, phones, IPs)
that the rest of the platform does not use.

Null (degree-preserving): the ``u`` users of an identifier value are ``u`` accounts drawn
at random, so the number that are members of an ``n``-account group is
Hypergeometric(N accounts, u, n). A tablet shared by four members and nobody else is
extreme; a carrier NAT used by 10,000 accounts, 30 of them members, only if 30 is far
above ``10,000 n / N`` — hubs are discounted by the null itself, not by a cap. The
group's best value is paid for by Bonferroni over the values its members share.
"""

from __future__ import annotations

import polars as pl

from ..stats import hypergeom_sf
from . import Family, Inputs


def shared_values(inp: Inputs) -> pl.DataFrame:
    """(cid, v, kind, k, users, p_value) for values used by two or more members."""
    mem = inp.cands.members
    ident = mem.join(inp.prep.identifiers.select("a", "v"), on="a")
    shared = (ident.group_by("cid", "v").agg(pl.len().alias("k")).filter(pl.col("k") >= 2)
              .join(inp.plat.identifier_users, on="v").join(inp.cands.sizes(), on="cid"))
    if shared.height == 0:
        return shared.with_columns(pl.lit(None, pl.Float64).alias("p_value"))
    p = hypergeom_sf(shared["k"].to_numpy(), inp.plat.n_accounts, shared["users"].to_numpy(), shared["size"].to_numpy())
    return shared.with_columns(pl.Series("p_value", p)).drop("size")


def test(inp: Inputs) -> pl.DataFrame:
    shared = shared_values(inp)
    if shared.height == 0:
        return pl.DataFrame(schema={"cid": pl.UInt32, "p_infra": pl.Float64})
    strong = shared.filter(pl.col("p_value") <= 0.01)
    members = (inp.cands.members.join(inp.prep.identifiers.select("a", "v"), on="a")
               .join(strong.select("cid", "v"), on=["cid", "v"]).group_by("cid")
               .agg(pl.col("a").n_unique().alias("infra_members")))
    best = shared.sort("cid", "p_value", "v").group_by("cid", maintain_order=True).agg(
        pl.col("p_value").first().alias("best"), pl.len().alias("infra_values"),
        pl.col("kind").first().alias("infra_kind"), pl.col("k").first().alias("infra_k"),
        pl.col("users").first().alias("infra_users"),
        (pl.col("p_value") <= 0.01).sum().alias("infra_strong"))
    return (best.join(members, on="cid", how="left")
            .with_columns((pl.col("best") * pl.col("infra_values")).clip(0, 1).alias("p_infra"),
                          pl.col("infra_members").fill_null(0)).drop("best"))


FAMILY = Family("infra", "corroboration", test,
                "identifier values shared by members against a degree-preserving null (hypergeometric)")
