"""Combine evidence families into a ring score, with the reasons behind it.

A ring is a *conjunction* of manipulated behaviour with something that ties the
accounts together. The score is the geometric mean of

* the stronger **behaviour** family (coordination across shops, or content: 5-star
  excess, template texts, fast reviews), and
* the strongest **other** family (infrastructure, money, provenance, or the other
  behaviour family).

So one family alone never flags — a family's shared tablet (infrastructure), a flash
sale (one shop: no coordination across shops), fans' 5-star reviews (content) — and
neither do social ties without manipulated behaviour: a family that shares a card and
receives red packets from a relative is infrastructure + money, and scores 0.

>>> combine({"infrastructure": 1.0, "coordination": 0.0, "content": 0.2, "money": 0.0, "provenance": 0.0})
0.447
>>> combine({"infrastructure": 0.9, "coordination": 0.0, "content": 0.0, "money": 0.8, "provenance": 0.0})
0.0
>>> combine({"infrastructure": 0.9, "coordination": 0.8, "content": 0.7, "money": 0.0, "provenance": 0.0})
0.849
"""

from __future__ import annotations


import polars as pl

from ..graph.prepare import IDENTIFIER_SOURCES

FAMILIES: tuple[str, ...] = ("infrastructure", "coordination", "content", "money", "provenance")
BEHAVIOUR: tuple[str, ...] = ("coordination", "content")

_KIND_NOUN = {"device": ("device", "devices"), "payment": ("payment account", "payment accounts"),
              "address": ("delivery address", "delivery addresses"), "phone": ("phone number", "phone numbers"),
              "ip": ("IP address", "IP addresses")}


def combine(families: dict[str, float]) -> float:
    """The ring score of one set of family scores (the same rule as :func:`score_expr`)."""
    row = pl.DataFrame({f"f_{f}": [float(families[f])] for f in FAMILIES})
    return row.select(score_expr()).item()


def score_expr() -> pl.Expr:
    """:func:`combine` as a polars expression over the ``f_<family>`` columns."""
    coord, content = pl.col("f_coordination"), pl.col("f_content")
    lead = pl.max_horizontal(coord, content)
    second_behaviour = pl.min_horizontal(coord, content)
    ties = pl.max_horizontal([pl.col(f"f_{f}") for f in FAMILIES if f not in BEHAVIOUR])
    return (lead * pl.max_horizontal(second_behaviour, ties)).sqrt().round(3)


def score_frame(feats: pl.DataFrame) -> pl.DataFrame:
    """Add the ring ``score`` to a feature frame."""
    return feats.with_columns(score_expr().alias("score"))


def _n(count: int, singular: str, plural: str | None = None) -> str:
    """``1 shop`` / ``3 shops``."""
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def reasons(row: dict, base_five: float, window_hours: float) -> list[tuple[str, float, str]]:
    """Plain-language reasons for one community: (family, family score, sentence).

    Sentences never contain "; ", which separates reasons in ``rings.csv``.
    """
    n = row.get("community_size", row.get("n_accounts"))
    out: list[tuple[str, float, str]] = []
    kinds = [(row.get(f"shared_{k}_members") or 0, row.get(f"shared_{k}_ids") or 0, k) for k in IDENTIFIER_SOURCES]
    kinds = [k for k in kinds if k[0] >= 2]
    if kinds:
        parts = [f"{m} share {_n(i, *_KIND_NOUN[k])}" for m, i, k in sorted(kinds, reverse=True)]
        out.append(("infrastructure", row["f_infrastructure"], f"of the {n} accounts: " + ", ".join(parts)))
    if row.get("f_coordination", 0) > 0:
        out.append(("coordination", row["f_coordination"],
                    f"{_n(row['burst_shops'], 'shop')} hit in bursts (several members within {window_hours:g} h), "
                    f"{_n(row.get('burst_members') or 0, 'member')} took part at 2+ shops"))
    if (row.get("focus_reviews") or 0) > 0:
        five = row["focus_five_star"] / row["focus_reviews"]
        bits = [f"{_pct(five)} of their {row['focus_reviews']} reviews on those shops are 5-star "
                f"(other reviewers there: {_pct(row.get('expected_five_star') or base_five)})"]
        if (row.get("template_reviews") or 0) > 0:
            bits.append(f"{_pct(row['template_raw_share'])} of texts in {_n(row['templates'], 'near-identical template')}"
                        f" (other reviewers of those shops: {_pct(row.get('template_chance') or 0)})")
        if (row.get("timed_reviews") or 0) > 0 and row.get("fast_review_excess", 0) > 0:
            bits.append(f"{_pct(row['fast_reviews'] / row['timed_reviews'])} reviewed faster than 90% of the platform")
        out.append(("content", row["f_content"], ", ".join(bits)))
    if (row.get("paid_members") or 0) > 0:
        out.append(("money", row["f_money"],
                    f"{row['payer_transfers']} transfers ({row['payer_amount']:,.0f} in total) from "
                    f"{_n(row['payers'], 'payer')} to {_n(row['paid_members'], 'member')}"))
    if (row.get("shop_payment_members") or 0) > 0:
        out.append(("money", row["f_money"],
                    f"{_n(row['shop_payment_members'], 'member')} pay with a payment account that belongs to "
                    f"{_n(row['shop_payment_shops'], 'shop')}"))
    if row.get("f_provenance", 0) > 0:
        out.append(("provenance", row["f_provenance"],
                    f"{_n(row['batch_members'], 'account')} registered within 48 h"))
    age = row.get("median_account_age_days")
    if age is not None and age < 90 and out:
        out.append(("provenance", row.get("f_provenance", 0),
                    f"median account age {age:.0f} days at the first review on those shops"))
    return sorted(out, key=lambda r: -r[1])
