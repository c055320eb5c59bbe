"""A type label for each ring, from which tests fired and on what.

The label is a summary for investigators, never a reason to flag: the tests decide, and
the label only says which pattern of evidence a ring shows. Rules are checked in order;
the first that matches names the ring, with the evidence behind it.

>>> ring_type({"p_affiliation": 1e-9, "staff_shops": 1})[0]
'merchant self-brushing'
>>> ring_type({"p_infra": 1e-30, "p_provenance": 1e-40})[0]
'device farm'
>>> ring_type({"p_rating": 1e-6, "p_text": 1e-5, "orders": 0})[0]
'review-only ring'
"""

from __future__ import annotations

import math
from typing import Any

FIRED = 0.01


def _fired(row: dict[str, Any], family: str) -> bool:
    p = row.get(f"p_{family}")
    return p is not None and not (isinstance(p, float) and math.isnan(p)) and p <= FIRED


def ring_type(row: dict[str, Any]) -> tuple[str, str]:
    """(label, why) for one ring's row of test results and counts."""
    def n(key: str) -> float:
        # A missing or null count is zero.
        return float(row.get(key) or 0)

    if _fired(row, "affiliation") or _fired(row, "sales"):
        if n("staff_shops") >= 2:
            return "merchant alliance", "staff of several shops order and review at each other's shops"
        return "merchant self-brushing", "a shop's staff order and review at their own shop, on the shop's money"
    if _fired(row, "payback") and n("n_shops") <= 2:
        return "insider collusion", "the shop itself pays the members back for their orders"
    if _fired(row, "infra") and n("infra_members") >= 0.5 * n("n_accounts"):
        batch = n("batch_members") >= 0.5 * max(1, n("dated_members"))
        if _fired(row, "provenance") and (batch or n("median_account_age_days") < 365):
            return "device farm", "accounts registered in a batch share a few devices and networks"
        if n("sync_scale_h") >= 336:
            return "slow-drip studio", "shared devices and networks, orders spread over weeks"
        if n("median_account_age_days") >= 365:
            return "bought aged accounts", "old accounts act together on newly shared devices and networks"
        return "device farm", "accounts share a few devices and networks used by almost no one else"
    if _fired(row, "refund") or _fired(row, "money"):
        if n("money_shop_depth") >= 3:
            return "layered cashback", "members are refunded through chains of relay accounts"
        if n("refund_payers") >= 5:
            return "task platform", "members with their own devices are paid by rotating payers that shops fund"
        return "recruited reviewers (refunded)", "members with their own devices are refunded by an organiser"
    if n("orders") == 0 and (_fired(row, "text") or _fired(row, "sync") or _fired(row, "likes")):
        return "review-only ring", "reviews without orders, coordinated in time, wording or likes"
    return "other coordinated group", "outcome and ties fired without a more specific pattern"
