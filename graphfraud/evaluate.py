"""Compare detected rings with ground truth (synthetic or injected rings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl


@dataclass
class Evaluation:
    """Account- and ring-level quality against a truth table."""

    per_kind: pl.DataFrame  # ring_kind, rings, rings_found, ring_recall, accounts, accounts_found
    account_precision: float
    account_recall: float
    account_f1: float
    flagged_accounts: int
    benign_flagged: pl.DataFrame  # group_kind, accounts, flagged, share

    def as_dict(self) -> dict[str, Any]:
        return {"account_precision": self.account_precision, "account_recall": self.account_recall,
                "account_f1": self.account_f1, "flagged_accounts": self.flagged_accounts,
                "per_kind": self.per_kind.to_dicts(), "benign_flagged": self.benign_flagged.to_dicts()}


def evaluate(membership: pl.DataFrame, truth: pl.DataFrame, benign: pl.DataFrame | None = None,
             min_jaccard: float = 0.5) -> Evaluation:
    """Score flagged ``membership`` (ring_id, account_id) against ``truth`` (ring_id, account_id, ring_kind).

    A planted ring counts as found when some flagged ring has Jaccard >= ``min_jaccard`` with it.

    >>> truth = pl.DataFrame({"ring_id": ["t1"] * 4, "account_id": list("abcd"), "ring_kind": ["farm"] * 4})
    >>> found = pl.DataFrame({"ring_id": ["R1"] * 3, "account_id": list("abc")})
    >>> ev = evaluate(found, truth)
    >>> ev.per_kind["ring_recall"][0], ev.account_precision, ev.account_recall
    (1.0, 1.0, 0.75)
    """
    flagged = membership.select("ring_id", "account_id").unique()
    truth = truth.select("ring_id", "account_id", "ring_kind")
    t_sizes = truth.group_by("ring_id").agg(pl.len().alias("t_n"))
    f_sizes = flagged.group_by("ring_id").agg(pl.len().alias("f_n"))
    overlap = (truth.join(flagged.rename({"ring_id": "found"}), on="account_id")
               .group_by("ring_id", "found").agg(pl.len().alias("both"))
               .join(t_sizes, on="ring_id").join(f_sizes.rename({"ring_id": "found"}), on="found")
               .with_columns((pl.col("both") / (pl.col("t_n") + pl.col("f_n") - pl.col("both"))).alias("jaccard")))
    best = overlap.group_by("ring_id").agg(pl.col("jaccard").max())
    kinds = truth.select("ring_id", "ring_kind").unique()
    rings = kinds.join(best, on="ring_id", how="left").with_columns(
        (pl.col("jaccard").fill_null(0) >= min_jaccard).alias("found"))
    acc_found = truth.with_columns(pl.col("account_id").is_in(flagged["account_id"].implode()).alias("hit"))
    per_kind = (rings.group_by("ring_kind").agg(pl.len().alias("rings"), pl.col("found").sum().alias("rings_found"))
                .join(acc_found.group_by("ring_kind").agg(pl.len().alias("accounts"),
                                                          pl.col("hit").sum().alias("accounts_found")), on="ring_kind")
                .with_columns((pl.col("rings_found") / pl.col("rings")).round(3).alias("ring_recall"),
                              (pl.col("accounts_found") / pl.col("accounts")).round(3).alias("account_recall"))
                .sort("ring_kind"))
    flagged_accounts = flagged["account_id"].unique()
    tp = int(flagged_accounts.is_in(truth["account_id"].implode()).sum())
    precision = tp / len(flagged_accounts) if len(flagged_accounts) else 1.0
    recall = tp / truth["account_id"].n_unique() if truth.height else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if benign is not None and benign.height:
        benign_flagged = (
            benign.with_columns(pl.col("account_id").is_in(flagged_accounts.implode()).alias("hit"))
            .group_by("group_kind")
            .agg(pl.col("account_id").n_unique().alias("accounts"),
                 pl.col("account_id").filter(pl.col("hit")).n_unique().alias("flagged"))
            .with_columns((pl.col("flagged") / pl.col("accounts")).round(4).alias("share"))
            .sort("group_kind"))
    else:
        benign_flagged = pl.DataFrame(schema={"group_kind": pl.String, "accounts": pl.UInt32, "flagged": pl.UInt32,
                                              "share": pl.Float64})
    return Evaluation(per_kind, round(precision, 4), round(recall, 4), round(f1, 4), len(flagged_accounts),
                      benign_flagged)
