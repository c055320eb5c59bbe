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
>>> ring_type({"p_infra": 1e-7, "p_refund": 1e-19, "infra_members": 17, "n_accounts": 34, "refund_payers": 12})[0]
'task platform'
"""

from __future__ import annotations

import math
from typing import Any

#: A family "fired" on a ring at this p-value (the detector's default FDR level).
FIRED = 0.01
#: Share of members on shared infrastructure above which it characterises the ring
#: whatever else fired (a stated prior: "nearly everyone").
COVERAGE = 0.9


def _p(row: dict[str, Any], family: str) -> float:
    """The family's p-value on the ring; 1 where it was not measured."""
    p = row.get(f"p_{family}")
    return 1.0 if p is None or (isinstance(p, float) and math.isnan(p)) else float(p)


def _fired(row: dict[str, Any], family: str) -> bool:
    return _p(row, family) <= FIRED


def _infra_defines(row: dict[str, Any], n: Any) -> bool:
    """Whether shared infrastructure, rather than refunds, is what characterises the ring.

    Recruited and task-platform members sometimes share a phone or a network with a few
    others; that does not make them a device farm when the refunds are the stronger
    evidence. Infrastructure names the ring when nearly every member shares it
    (``COVERAGE``), when refunds did not fire, or when its evidence is the stronger one.
    """
    if n("infra_members") >= COVERAGE * n("n_accounts") or not _fired(row, "refund"):
        return True
    return _p(row, "infra") <= _p(row, "refund")


def ring_type(row: dict[str, Any]) -> tuple[str, str]:
    """(label, why) for one ring's row of test results and counts."""
    def n(key: str) -> float:
        # A missing or null count is zero.
        return float(row.get(key) or 0)

    if _fired(row, "affiliation") or _fired(row, "sales"):
        # Staff of several shops, or staff acting at shops that are not their own, is an alliance.
        if n("staff_shops") >= 2 or n("staff_of_focus") < n("staff_members"):
            return "merchant alliance", "staff of several shops order and review at each other's shops"
        return "merchant self-brushing", "a shop's staff order and review at their own shop, on the shop's money"
    if _fired(row, "payback") and n("n_shops") <= 2:
        return "insider collusion", "the shop itself pays the members back for their orders"
    if _fired(row, "infra") and n("infra_members") >= 0.5 * n("n_accounts") and _infra_defines(row, n):
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
