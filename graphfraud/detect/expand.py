"""From a tip to the ring behind it.

A tip is any id an investigator holds — a reported account, review, order, device, IP,
payment account, address, phone or shop. :func:`expand` resolves it to accounts, then
asks, for each tip:

1. is one of those accounts in a ring flagged platform-wide? — that ring, ``flagged``;
2. otherwise, of the candidate groups the generators proposed around those accounts,
   which has the strongest evidence? Its families are measured in full and it is
   ``supported`` when its ring p-value (outcome *and* tie), times the number of groups
   tried around that tip, reaches the detector's level — a targeted question, not one of
   thousands — and ``no ring supported`` otherwise, with what was looked at;
3. when no candidate contains the tip's accounts, a local group is built: the accounts
   within two steps of them in the summed account graph (hubs are already discounted by
   the projection), partitioned by Leiden, and the tip's part measured the same way.

A shop tip asks for the groups whose focus shops include that shop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from .candidates import Candidates
from .communities import leiden
from .membership import focus_shops
from .steps import Settings, State, measure_membership, test

EXPANSION_COLUMNS = ("tip", "tip_kind", "status", "ring_id", "cid", "accounts_matched", "looked_at")


@dataclass(frozen=True)
class RawExpansion:
    """The answer for every tip: one row each (``table``), the groups' members and results."""

    table: pl.DataFrame  # tip, tip_kind, status, ring_id (flagged ring) or cid (local group), counts
    groups: Candidates  # local groups measured for the tips (cid as in ``results``)
    results: pl.DataFrame  # one row per local group: every family's result, p_ring, ...
    focus: pl.DataFrame
    member_evidence: pl.DataFrame


def resolve_tips(state: State, tips: list[str]) -> pl.DataFrame:
    """(tip, tip_kind, a) for every account a tip points at; unknown tips get no rows."""
    prep = state.built.prep
    tipf = pl.DataFrame({"tip": tips}, schema={"tip": pl.String}).unique(maintain_order=True)
    accounts = pl.DataFrame({"a": pl.arange(0, prep.n_accounts, eager=True).cast(pl.UInt32),
                             "key": prep.account_ids})
    parts = [tipf.join(accounts, left_on="tip", right_on="key").select("tip", pl.lit("account").alias("tip_kind"), "a"),
             tipf.join(prep.reviews.select("review_id", "a"), left_on="tip", right_on="review_id")
             .select("tip", pl.lit("review").alias("tip_kind"), "a"),
             tipf.join(prep.orders.select("order_id", "a"), left_on="tip", right_on="order_id")
             .select("tip", pl.lit("order").alias("tip_kind"), "a"),
             tipf.join(prep.identifier_values, left_on="tip", right_on="value")
             .join(prep.identifiers.select("v", "a"), on="v").select("tip", pl.col("kind").alias("tip_kind"), "a")]
    return pl.concat(parts).unique().sort("tip", "a")


def _shop_tips(state: State, tips: list[str]) -> pl.DataFrame:
    prep = state.built.prep
    shops = pl.DataFrame({"m": pl.arange(0, prep.n_shops, eager=True).cast(pl.UInt32), "key": prep.shop_ids})
    return pl.DataFrame({"tip": tips}, schema={"tip": pl.String}).join(shops, left_on="tip", right_on="key")


def expand(state: State, settings: Settings, flagged_members: pl.DataFrame, tips: list[str],
           hops: int = 2, level: float | None = None) -> RawExpansion:
    """Answer every tip (see the module doc). ``flagged_members`` is (ring_id, a); ``level``
    is the p-value a group around a tip must reach (default: the detector's FDR level)."""
    level = settings.fdr if level is None else level
    b = state.built
    seeds = resolve_tips(state, tips)
    shop_tips = _shop_tips(state, tips)
    rows: list[dict[str, Any]] = []
    local: list[tuple[str, list[int]]] = []  # (tip, accounts of the group to measure)
    pointed: list[pl.DataFrame] = [seeds.select("tip", "a")]  # accounts each tip points at
    cand_members = state.cores.members
    for tip in dict.fromkeys(tips):
        accs = seeds.filter(pl.col("tip") == tip)
        kind = accs["tip_kind"][0] if accs.height else None
        if accs.height == 0 and tip in shop_tips["tip"].to_list():
            m = shop_tips.filter(pl.col("tip") == tip)["m"][0]
            around = (state.tested.focus.filter(pl.col("m") == m).select("cid")
                      .join(state.tested.cands.members, on="cid"))
            if around.height:
                cid = int(around["cid"][0])
                ring = flagged_members.join(state.tested.cands.members.filter(pl.col("cid") == cid), on="a")
                rows.append({"tip": tip, "tip_kind": "shop", "status": "flagged", "ring_id": ring["ring_id"][0],
                             "cid": None, "accounts_matched": 0, "looked_at": around.height})
                continue
            accs = (b.prep.visits.filter(pl.col("m") == m).select("a").with_columns(pl.lit(tip).alias("tip"),
                                                                                     pl.lit("shop").alias("tip_kind")))
            pointed.append(accs.select("tip", "a"))
            kind = "shop"
        if accs.height == 0:
            rows.append({"tip": tip, "tip_kind": None, "status": "unknown id", "ring_id": None, "cid": None,
                         "accounts_matched": 0, "looked_at": 0})
            continue
        hit = flagged_members.join(accs.select("a"), on="a")
        if hit.height:
            rows.append({"tip": tip, "tip_kind": kind, "status": "flagged", "ring_id": hit["ring_id"][0],
                         "cid": None, "accounts_matched": accs.height, "looked_at": 0})
            continue
        # The candidates around the tip; else a local group in the account graph.
        containing = cand_members.join(accs.select("a").unique(), on="a").select("cid").unique()
        if containing.height:
            around = cand_members.join(containing, on="cid")
            local += [(tip, g["a"].to_list()) for _, g in around.group_by("cid", maintain_order=True)]
        else:
            group = _neighbourhood(state.graph, accs["a"].unique().to_list(), hops, settings.seed)
            if len(group) >= settings.min_size:
                local.append((tip, group))
        rows.append({"tip": tip, "tip_kind": kind, "status": "pending", "ring_id": None, "cid": None,
                     "accounts_matched": accs.height, "looked_at": 0})

    groups, results, focus, evidence = _measure(state, settings, local)
    # A group answers a tip only if, after membership was decided, it still holds one of the
    # tip's accounts: a ring next door is not the tip's ring.
    holding = (groups.members.join(groups.sources.select("cid", pl.col("source").alias("tip")), on="cid")
               .join(pl.concat(pointed).unique(), on=["tip", "a"]).select("cid", "tip").unique())
    best = (results.join(holding, on="cid").sort("tip", "p_ring", "cid").group_by("tip", maintain_order=True).first()
            if results.height else pl.DataFrame(schema={"tip": pl.String, "cid": pl.UInt32, "p_ring": pl.Float64}))
    looked: dict[str, int] = {}
    tried: dict[str, int] = {}
    for tip, group_accounts in local:
        looked[tip] = looked.get(tip, 0) + len(group_accounts)
        tried[tip] = tried.get(tip, 0) + 1
    for row in rows:
        if row["status"] != "pending":
            continue
        mine = best.filter(pl.col("tip") == row["tip"])
        row["looked_at"] = looked.get(row["tip"], 0)
        if mine.height == 0:
            row["status"] = "no ring supported"
            continue
        r = mine.row(0, named=True)
        row["cid"] = int(r["cid"])
        # The best of the groups tried around one tip: Bonferroni over them.
        supported = r["p_ring"] is not None and r["p_ring"] * tried.get(row["tip"], 1) <= level
        row["status"] = "supported" if supported else "no ring supported"
    table = pl.DataFrame(rows, schema={"tip": pl.String, "tip_kind": pl.String, "status": pl.String,
                                       "ring_id": pl.String, "cid": pl.UInt32, "accounts_matched": pl.Int64,
                                       "looked_at": pl.Int64})
    return RawExpansion(table, groups, results, focus, evidence)


def _neighbourhood(graph: pl.DataFrame, seeds: list[int], hops: int, seed: int) -> list[int]:
    """The Leiden part, within ``hops`` steps of ``seeds`` in ``graph``, that holds the seeds."""
    frontier = set(seeds)
    reached = set(seeds)
    for _ in range(hops):
        ids = pl.Series(sorted(frontier), dtype=pl.UInt32).implode()
        nxt = pl.concat([graph.filter(pl.col("a").is_in(ids))["b"], graph.filter(pl.col("b").is_in(ids))["a"]])
        frontier = set(nxt.to_list()) - reached
        reached |= frontier
        if not frontier:
            break
    ids = pl.Series(sorted(reached), dtype=pl.UInt32).implode()
    sub = graph.filter(pl.col("a").is_in(ids) & pl.col("b").is_in(ids))
    if sub.height == 0:
        return sorted(reached)
    parts = leiden(sub, seed=seed)
    home = parts.filter(pl.col("a").is_in(pl.Series(seeds, dtype=pl.UInt32).implode()))["community"].unique()
    return sorted(parts.filter(pl.col("community").is_in(home.implode()))["a"].to_list())


def _measure(state: State, settings: Settings,
             local: list[tuple[str, list[int]]]) -> tuple[Candidates, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Membership and every family, in full, for the groups around the tips."""
    b = state.built
    schema = {"cid": pl.UInt32, "a": pl.UInt32}
    if not local:
        empty = Candidates.empty()
        return empty, pl.DataFrame(schema={"cid": pl.UInt32, "p_ring": pl.Float64}), \
            pl.DataFrame(schema={"cid": pl.UInt32, "m": pl.UInt32}), pl.DataFrame(schema=schema)
    members = pl.DataFrame([(i, a) for i, (_, accs) in enumerate(local) for a in accs], schema=schema, orient="row")
    sources = pl.DataFrame({"cid": list(range(len(local))), "source": [tip for tip, _ in local],
                            "size": [len(accs) for _, accs in local]},
                           schema={"cid": pl.UInt32, "source": pl.String, "size": pl.UInt32})
    groups = Candidates(members.unique().sort("cid", "a"), sources)
    groups, evidence = measure_membership(b, groups, settings.min_size)
    focus = focus_shops(groups, b.prep.visits, b.segs, b.plat)
    results = test(b, groups, focus, replace(settings, fdr=1.0), lambda _m: None) if groups.n else \
        pl.DataFrame(schema={"cid": pl.UInt32, "p_ring": pl.Float64})
    return groups, results, focus, evidence
