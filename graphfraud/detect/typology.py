"""A type label for each ring, from which tests fired and on what.

The label is a summary for investigators, never a reason to flag: the tests decide, and
the label only says which pattern of evidence a ring shows. Rules are checked in order;
the first that matches names the ring, with the evidence behind it.

>>> ring_type({"p_affiliation": 1e-9, "staff_of_focus": 5, "rating_shops": 1})[0]
'merchant self-brushing'
>>> ring_type({"p_rating": 1e-6, "p_text": 1e-5, "orders": 0})[0]
'review-only ring'
"""

from __future__ import annotations

import math

FIRED = 0.01


def _fired(row: dict, family: str) -> bool:
    p = row.get(f"p_{family}")
    return p is not None and not (isinstance(p, float) and math.isnan(p)) and p <= FIRED


def ring_type(row: dict) -> tuple[str, str]:
    """(label, why) for one ring's row of test results and counts."""
    n = lambda k: row.get(k) or 0  # noqa: E731
    if _fired(row, "affiliation") and n("staff_of_focus") >= 1 and n("rating_shops") <= 1:
        return "merchant self-brushing", "members pay with the payment account of the shop they review"
    if _fired(row, "affiliation") and n("staff_shops") >= 2:
        return "merchant alliance", "staff of several shops review each other's shops"
    if _fired(row, "affiliation"):
        return "shop staff ring", "members pay with shops' own payment accounts"
    if _fired(row, "infra") and row.get("infra_kind") in ("device", "phone") and n("infra_members") >= 0.5 * n("size"):
        return "device farm", "most members share a few devices used by almost no one else"
    if _fired(row, "money") and n("money_hops") >= 2:
        return "layered cashback", "members are paid through relay accounts from a common source"
    if _fired(row, "refund") and n("refund_payers") >= 3 and not _fired(row, "infra"):
        return "task platform", "members with their own devices are refunded by several rotating payers"
    if _fired(row, "refund") and not _fired(row, "infra"):
        return "recruited reviewers (refunded)", "members with their own devices are refunded their orders"
    if _fired(row, "infra"):
        return "shared-infrastructure ring", "members share devices, networks or payment accounts"
    if n("orders") == 0 and (_fired(row, "text") or _fired(row, "sync")):
        return "review-only ring", "reviews without orders, coordinated in time or wording"
    return "other coordinated group", "outcome and ties fired without a more specific pattern"
