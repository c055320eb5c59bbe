"""Plain-language reasons: every sentence quotes what was observed against what the null
expected, and the p-value.

Sentences never contain "; ", which separates reasons in ``rings.csv``.

>>> format_p(3.2e-9)
'p = 3·10⁻⁹'
>>> format_p(0.004)
'p = 0.004'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..schema import identifier_kind

#: A family's reason is written when its p-value is at most this (it "fired").
REPORT_ALPHA = 0.01
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

#: One ring's row of ``rings`` (``iter_rows(named=True)``): counts, p-values and labels mixed.
Row = dict[str, Any]


def format_p(p: float | None) -> str:
    """``p = 0.004`` or ``p = 3·10⁻⁹`` (one significant digit below 0.001)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p not measured"
    if p >= 0.001:
        return f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"
    if p <= 1e-300:
        return "p < 10⁻³⁰⁰"
    exp = math.floor(math.log10(p))
    mant = round(p / 10 ** exp)
    if mant == 10:
        mant, exp = 1, exp + 1
    return f"p = {mant}·10{str(exp).translate(_SUP)}"


def _n(x: Any) -> int:
    return int(x or 0)


def _f(x: Any, digits: int = 1) -> str:
    return f"{float(x or 0):.{digits}f}"


def _rating(r: Row) -> str:
    return (f"{_n(r['rating_top_obs'])} of {_n(r['rating_reviews'])} reviews at its {_n(r['rating_shops'])} focus "
            f"shop(s) are 5-star where {_f(r['rating_top_exp'])} were expected from those shops' other customers "
            f"who write as many reviews (within a factor of two) and each member's ratings elsewhere, and "
            f"{_n(r['rating_low_obs'])} are 3 stars or less where {_f(r['rating_low_exp'])} were expected "
            f"({format_p(r['p_rating'])}, {_DIRECTION.get(str(r.get('rating_direction')), 'rating shift')})")


#: How the reasons name the direction the rating test found the shift in.
_DIRECTION = {"stars": "shift in mean stars", "positive": "shift in the share of 4-5 star reviews"}


def _refund(r: Row) -> str:
    return (f"{_n(r['refund_at_focus'])} of {_n(r['refund_receipts'])} money receipts of {_n(r['refund_members'])} "
            f"members pay back the price of their own earlier orders at the focus shops plus a commission, while "
            f"{_n(r['refund_placebo'])} match one only in a placebo window as long, further back or after the money "
            f"came (chance matches each window as often as the one before), from "
            f"{_n(r['refund_payers'])} payer(s) ({format_p(r['p_refund'])})")


def _likes(r: Row) -> str:
    return (f"{_n(r['likes_inside'])} of the {_n(r['likes_given'])} likes members gave went to other members' "
            f"reviews, where {_f(r['likes_expected'])} were expected ({format_p(r['p_likes'])})")


def _sales(r: Row) -> str:
    return (f"{_n(r['sales_shop_paid'])} of the members' {_n(r['sales_orders'])} orders at the focus shops were paid "
            f"with a shop's own payment account, where {_f(r['sales_expected'], 2)} would be at the platform's rate "
            f"({format_p(r['p_sales'])})")


def _payback(r: Row) -> str:
    return (f"{_n(r['payback_paid'])} of the members' {_n(r['payback_orders'])} orders at the focus shops were paid "
            f"back by the shop within a week, where {_f(r['payback_expected'], 2)} would be at those shops' rate "
            f"for their other customers ({format_p(r['p_payback'])})")


def _sync(r: Row) -> str:
    scale = r.get("sync_scale_h")
    when = f" (typical window {scale:g} h)" if scale else ""
    return (f"members were active together at {_n(r['sync_shops'])} of {_n(r['sync_tested'])} focus shops beyond "
            f"each shop's own traffic{when}, the best shop left out ({format_p(r['p_sync'])})")


def _infra(r: Row) -> str:
    kind = r.get("infra_kind")
    noun = identifier_kind(kind).noun[0] if kind else "identifier"
    return (f"{_n(r['infra_members'])} members share {_n(r['infra_strong'])} identifier value(s) that others "
            f"rarely use: {_n(r['infra_k'])} of the {_n(r['infra_users'])} users of one {noun} are members "
            f"({format_p(r['p_infra'])})")


def _text(r: Row) -> str:
    return (f"{_n(r['text_closer'])} of {_n(r['text_compared'])} review texts are closer to other members' texts "
            f"than to the same shops' other reviews ({format_p(r['p_text'])})")


def _money(r: Row) -> str:
    hops = _n(r.get("money_hops"))
    where = "a payer" if hops <= 1 else f"a source {hops} hops upstream"
    funded = _n(r.get("money_from_focus_shops"))
    extra = f", and {funded} of its focus shops are money origins themselves" if funded else ""
    return (f"{_n(r['money_k'])} of its {_n(r['money_receivers'])} money-receiving members are paid by {where} "
            f"that pays {_n(r['money_recipients'])} accounts in all{extra} ({format_p(r['p_money'])})")


def _provenance(r: Row) -> str:
    return (f"{_n(r['batch_members'])} of {_n(r['dated_members'])} members registered within "
            f"{_n(r['batch_window_h'])} h ({format_p(r['p_provenance'])})")


def _affiliation(r: Row) -> str:
    own = _n(r.get("staff_of_focus"))
    extra = f", {own} of them at a shop the group acts on" if own else ""
    return (f"{_n(r['staff_members'])} members pay with {_n(r['staff_shops'])} shop(s)' own payment account"
            f"{extra} ({format_p(r['p_affiliation'])})")


SENTENCES: dict[str, Callable[[Row], str]] = {
    "rating": _rating, "refund": _refund, "sales": _sales, "payback": _payback, "likes": _likes, "sync": _sync,
    "infra": _infra, "text": _text, "money": _money, "provenance": _provenance, "affiliation": _affiliation,
}


def reasons(row: Row) -> list[tuple[str, float, str]]:
    """(family, p, sentence) for every family that fired on this ring, strongest first."""
    out: list[tuple[str, float, str]] = []
    for name, sentence in SENTENCES.items():
        p = row.get(f"p_{name}")
        if p is not None and not (isinstance(p, float) and math.isnan(p)) and p <= REPORT_ALPHA:
            out.append((name, float(p), sentence(row)))
    return sorted(out, key=lambda r: (r[1], r[0]))
