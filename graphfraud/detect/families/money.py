"""Corroboration: members receive money from a common origin (a payer, or a source up to
four hops upstream through accounts bound to no person or shop).

Null: an origin's ``r`` recipients are drawn at random from all ``R`` accounts that receive
money, so the number that are among the group's ``n_recv`` recipients is
Hypergeometric(R, r, n_recv). The best origin is paid for by Bonferroni over the origins
the group's members share. Origins that are one of the group's focus shops (a client
shop funding the refunds) are counted for the reasons.
"""

from __future__ import annotations

import polars as pl

from ..stats import hypergeom_sf
from . import Family, Inputs
from ._by_candidate import joined_by_candidate

#: Member-origin incidences held at once (a few candidates at a time): over two years an
#: account is paid by about a hundred payers, and every member times every origin it
#: was paid by was the peak of the run (15.4 GB at 300,000 accounts).
ORIGINS_PER_CHUNK = 4_000_000


def _per_candidate(members: pl.DataFrame, origins: pl.DataFrame,
                   shop_origin: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Per candidate: its receiving members (cid, n_recv); the origins two or more of them
    share (cid, origin, k, hops); and the shops' own payment accounts among their origins
    (cid, origin, k, deepest) — counted a few candidates at a time, never splitting one."""
    recv, shared, paths = [], [], []
    for orig in joined_by_candidate(members, origins, ORIGINS_PER_CHUNK):
        recv.append(orig.group_by("cid").agg(pl.col("a").n_unique().alias("n_recv")))
        shared.append(orig.group_by("cid", "origin").agg(pl.col("a").n_unique().alias("k"), pl.col("hops").min())
                      .filter(pl.col("k") >= 2))
        paths.append(orig.join(shop_origin, on="origin").group_by("cid", "origin")
                     .agg(pl.col("a").n_unique().alias("k"), pl.col("hops").max().alias("deepest")))
    if not recv:
        return (pl.DataFrame(schema={"cid": pl.UInt32, "n_recv": pl.UInt32}),
                pl.DataFrame(schema={"cid": pl.UInt32, "origin": pl.UInt32, "k": pl.UInt32, "hops": pl.UInt8}),
                pl.DataFrame(schema={"cid": pl.UInt32, "origin": pl.UInt32, "k": pl.UInt32, "deepest": pl.UInt8}))
    return pl.concat(recv), pl.concat(shared), pl.concat(paths)


def test(inp: Inputs) -> pl.DataFrame:
    plat = inp.plat
    schema = {"cid": pl.UInt32, "p_money": pl.Float64}
    shop_origin = inp.prep.payment_shops.rename({"p": "origin"})
    recv, shared, shop_paths = _per_candidate(inp.cands.members, plat.origins, shop_origin.select("origin").unique())
    if recv.height == 0:
        return pl.DataFrame(schema=schema)
    shared = shared.join(plat.origin_recipients, on="origin").join(recv, on="cid")
    if shared.height == 0:
        return pl.DataFrame(schema=schema)
    p = hypergeom_sf(shared["k"].to_numpy(), plat.n_recipients, shared["recipients"].to_numpy(),
                     shared["n_recv"].to_numpy())
    shared = shared.with_columns(pl.Series("p_origin", p)).join(shop_origin, on="origin", how="left")
    focus_funded = shared.join(inp.focus.select("cid", "m"), on=["cid", "m"], how="semi")
    best = shared.sort("cid", "p_origin", "origin").group_by("cid", maintain_order=True).agg(
        pl.col("p_origin").first().alias("best"), pl.len().alias("money_origins"),
        pl.col("k").first().alias("money_k"), pl.col("recipients").first().alias("money_recipients"),
        pl.col("hops").first().alias("money_hops"), pl.col("n_recv").first().alias("money_receivers"))
    # How deep the money of shops reaches the members: through one payer (2 hops) or
    # through relays (3 or more, for some members). Only shops that fund a tenth of the
    # receiving members count.
    funded = focus_funded.group_by("cid").agg(pl.col("m").n_unique().alias("money_from_focus_shops"))
    shop_paths = shop_paths.join(recv, on="cid").filter(pl.col("k") >= 0.1 * pl.col("n_recv"))
    layers = shop_paths.group_by("cid").agg(pl.col("deepest").max().alias("money_shop_depth"))
    funded = funded.join(layers, on="cid", how="full", coalesce=True)
    return (best.join(funded, on="cid", how="left")
            .with_columns((pl.col("best") * pl.col("money_origins")).clip(0, 1).alias("p_money"),
                          pl.col("money_from_focus_shops").fill_null(0)).drop("best"))


FAMILY = Family("money", "corroboration", test,
                "money origins (up to four hops upstream) shared by members against a hypergeometric null")
