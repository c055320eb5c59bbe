"""Ring tables: the rows, members and evidence handed out for a set of measured groups.

Used for the rings a fit flags and for the groups an expansion measures, so both read
the same: a stable id from the members, the type, evidence (``-log10 p``), every
family's result, the counts behind them and the reasons.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from ..graph.prepare import Prepared, account_frame
from .candidates import Candidates
from .evidence import Evidence
from .evidence import build as build_evidence
from .families import Inputs, registry
from .families.infra import shared_values
from .platform import Platform
from .reasons import reasons
from .typology import ring_type

FAMILY_NAMES: tuple[str, ...] = tuple(f.name for f in registry())
#: Counts kept in rings.csv beside the p-values (what the reasons quote).
STAT_COLUMNS: tuple[str, ...] = (
    "rating_reviews", "rating_shops", "rating_top_obs", "rating_top_exp", "rating_low_obs", "rating_low_exp",
    "rating_shift", "rating_direction", "refund_receipts", "refund_matched", "refund_at_focus", "refund_placebo",
    "refund_members",
    "refund_payers", "sales_orders", "sales_shop_paid", "sales_expected", "payback_orders", "payback_paid",
    "payback_expected", "likes_given", "likes_inside", "likes_expected", "sync_shops", "sync_tested",
    "sync_scale_h", "infra_members", "infra_strong", "infra_kind", "infra_k", "infra_users", "text_compared",
    "text_closer", "money_k", "money_receivers", "money_recipients", "money_hops", "money_shop_depth",
    "money_from_focus_shops", "median_account_age_days", "batch_members", "dated_members", "batch_window_h",
    "staff_members", "staff_shops", "staff_of_focus")
RING_COLUMNS: tuple[str, ...] = ("ring_id", "ring_type", "evidence", "p_ring", "q_ring", "n_accounts", "n_shops",
                                 "orders", *(f"p_{f}" for f in FAMILY_NAMES), "p_outcome", "p_tie", *STAT_COLUMNS,
                                 "generator", "type_reason", "reasons")
MEMBER_COLUMNS: tuple[str, ...] = ("ring_id", "account_id", "member_evidence", "focus_visits", "ties")


def ring_id(account_ids: list[str]) -> str:
    """A ring's id from its members: the same members give the same id on every run.

    >>> ring_id(["b", "a"]) == ring_id(["a", "b"])
    True
    """
    return "R-" + hashlib.sha1(",".join(sorted(account_ids)).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class RingTables:
    """Rows (one per group, sorted strongest first), members and evidence of measured groups."""

    rings: pl.DataFrame  # RING_COLUMNS plus cid
    members: pl.DataFrame  # MEMBER_COLUMNS
    evidence: Evidence


def ring_tables(prep: Prepared, plat: Platform, groups: Candidates, focus: pl.DataFrame, results: pl.DataFrame,
                member_evidence: pl.DataFrame) -> RingTables:
    """Build the ring tables of ``groups`` from their family ``results`` (one row per cid)."""
    ids = account_frame(prep).select("a", "account_id")
    members = groups.members.join(ids, on="a")
    keys = members.group_by("cid").agg(pl.col("account_id").sort().alias("ids"))
    keys = keys.with_columns(pl.col("ids").map_elements(lambda s: ring_id(list(s)), return_dtype=pl.String)
                             .alias("ring_id")).drop("ids")
    orders = groups.members.join(prep.orders.select("a", "m"), on="a").join(
        focus.select("cid", "m"), on=["cid", "m"]).group_by("cid").agg(pl.len().alias("orders"))
    n_shops = focus.group_by("cid").agg(pl.len().alias("n_shops"))
    # Descriptive: how old the accounts were when they first acted at the focus shops.
    first = (groups.members.join(prep.events(), on="a").join(focus.select("cid", "m"), on=["cid", "m"])
             .group_by("cid", "a").agg(pl.col("t").min()).join(account_frame(prep).select("a", "created"), on="a")
             .filter(pl.col("created").is_not_null())
             .group_by("cid").agg(((pl.col("t") - pl.col("created")) / 86_400).median().round(1)
                                  .alias("median_account_age_days")))
    base = results.drop([c for c in ("size", "source") if c in results.columns])
    rings = (base.join(groups.sources, on="cid").join(keys, on="cid").join(orders, on="cid", how="left")
             .join(n_shops, on="cid", how="left").join(first, on="cid", how="left")
             .with_columns(pl.col("orders").fill_null(0), pl.col("n_shops").fill_null(0),
                           pl.col("size").alias("n_accounts"), pl.col("source").alias("generator"),
                           (-pl.col("p_ring").clip(1e-300, 1).log10()).round(2).alias("evidence")))
    rows = rings.to_dicts()
    labels = [ring_type(r) for r in rows]
    texts = ["; ".join(s for _, _, s in reasons(r)) for r in rows]
    rings = rings.with_columns(pl.Series("ring_type", [lab for lab, _ in labels], dtype=pl.String),
                               pl.Series("type_reason", [why for _, why in labels], dtype=pl.String),
                               pl.Series("reasons", texts, dtype=pl.String))
    for col in RING_COLUMNS:
        if col not in rings.columns:
            rings = rings.with_columns(pl.lit(None).alias(col))
    rings = rings.sort(["p_ring", "n_accounts", "ring_id"], descending=[False, True, False])
    order = rings.select("cid", "ring_id").with_row_index("rank")
    mev = member_evidence.join(ids, on="a")
    member_table = (members.join(order, on="cid").join(mev, on=["cid", "a", "account_id"], how="left")
                    .with_columns((-pl.col("presence_p").clip(1e-300, 1).log10()).round(2).alias("member_evidence"))
                    .sort("rank", "account_id").select(MEMBER_COLUMNS))
    ring_members = members.join(order.select("cid", "ring_id"), on="cid").select("ring_id", "cid", "a")
    shared = shared_values(Inputs(prep, plat, groups, focus))
    evidence = build_evidence(prep, plat, ring_members, focus, member_evidence, shared)
    return RingTables(rings.select("cid", *RING_COLUMNS), member_table, evidence)
