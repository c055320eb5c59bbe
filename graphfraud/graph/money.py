"""Money provenance: where the money a buyer receives comes from, and what it pays back.

Payment accounts are of three kinds: a shop's own (``merchant_payments``), a buyer's
(bound to or paid with by an account), and *unbound* — bound to no person or shop:
organisers, task platforms, mules. Every transfer enters the analysis, unbound to
unbound included.

:func:`trace_origins` follows each receipt upstream, time-respecting and
amount-conserving, through unbound accounts, up to ``max_hops``; every account passed
(and the shop or buyer where tracing stops) is an *origin* of the receipt. Two buyers
refunded through different mules of one organiser share that organiser as an origin.

:func:`refund_matches` pairs each receipt with the recipient's own earlier orders: a
transfer of about the order amount plus a commission, after the order, from anyone but
the shop's exact refund, is refund-for-order money — the outcome a brushing payment
exists to produce. Its null is the platform's own distribution of receipt amounts,
independent of the recipient's orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .prepare import Prepared

DAY = 86_400


@dataclass(frozen=True)
class MoneyParams:
    """Tracing and matching rules (documented conventions, see docs/concepts.md).

    ``fee`` is the share a relay may keep at each hop (amounts upstream must cover the
    downstream amount less the fee); ``max_funders`` stops tracing at an account funded
    by more sources than that (a platform wallet: itself an origin, not a relay);
    commissions reported for brushing orders are a few yuan to a few tens of per cent,
    hence ``commission_rel`` / ``commission_abs``.
    """

    max_hops: int = 4
    horizon_days: float = 30.0
    fee: float = 0.2
    max_funders: int = 20
    refund_window_days: float = 30.0
    commission_rel: float = 0.3
    commission_abs: float = 50.0


def owners(prep: Prepared) -> pl.DataFrame:
    """(p, kind) for bound payment accounts: 'shop' or 'buyer' (a shop's wins)."""
    shop = prep.payment_shops.select("p").unique().with_columns(pl.lit("shop").alias("owner"))
    buyer = prep.payment_users.select("p").unique().join(shop, on="p", how="anti").with_columns(
        pl.lit("buyer").alias("owner"))
    return pl.concat([shop, buyer])


def receipts(prep: Prepared) -> pl.DataFrame:
    """Transfers into buyers' payment accounts, one row per recipient account.

    Columns: rid (transfer row), a, src, dst, t, amount.
    """
    tr = prep.transfers.with_row_index("rid")
    shop_dst = prep.payment_shops.select("p").unique()
    users = prep.payment_users.join(shop_dst, on="p", how="anti")
    return (tr.join(users.rename({"p": "dst"}), on="dst")
            .select("rid", "a", "src", "dst", "t", "amount").sort("rid", "a"))


def trace_origins(prep: Prepared, p: MoneyParams | None = None) -> pl.DataFrame:
    """(a, origin, hops): every origin of every account's receipts, nearest hop kept.

    >>> import polars as pl
    >>> from graphfraud.dataset import Dataset
    >>> ds = Dataset.from_frames(
    ...     accounts=pl.DataFrame({"account_id": ["x"]}), merchants=pl.DataFrame({"merchant_id": ["m"]}),
    ...     reviews=pl.DataFrame(schema={"review_id": pl.String, "account_id": pl.String, "merchant_id": pl.String,
    ...                                  "rating": pl.Float64, "created_at": pl.Int64}),
    ...     merchant_payments=pl.DataFrame({"merchant_id": ["m"], "payment_account_id": ["shop"]}),
    ...     account_payments=pl.DataFrame({"account_id": ["x"], "payment_account_id": ["card"]}),
    ...     transfers=pl.DataFrame({"from_payment_account_id": ["shop", "mule"],
    ...                             "to_payment_account_id": ["mule", "card"],
    ...                             "amount": [500.0, 60.0], "created_at": [100, 200]}))
    >>> from graphfraud.graph.prepare import prepare
    >>> prep = prepare(ds)
    >>> sorted((prep.payment_ids[o], h) for o, h in trace_origins(prep).select("origin", "hops").rows())
    [('mule', 1), ('shop', 2)]
    """
    p = p or MoneyParams()
    rec = receipts(prep)
    empty = pl.DataFrame(schema={"a": pl.UInt32, "origin": pl.UInt32, "hops": pl.UInt8})
    if rec.height == 0:
        return empty
    bound = owners(prep).select("p")
    # Aggregated money edges: one row per (funder, recipient account) pair.
    edges = prep.transfers.group_by("src", "dst").agg(
        pl.col("t").min().alias("t_first"), pl.col("t").max().alias("t_last"), pl.col("amount").sum().alias("total"))
    funders = edges.group_by("dst").agg(pl.len().alias("funders"))
    relays = (edges.join(bound.rename({"p": "dst"}), on="dst", how="anti")
              .join(funders.filter(pl.col("funders") <= p.max_funders).select("dst"), on="dst", how="semi"))
    horizon = int(p.horizon_days * DAY)
    frontier = rec.select("a", pl.col("src").alias("node"), pl.col("t").alias("t_ref"),
                          pl.col("amount").alias("need")).unique()
    found = [frontier.select("a", pl.col("node").alias("origin"), pl.lit(1, pl.UInt8).alias("hops"))]
    for hop in range(2, p.max_hops + 1):
        step = (frontier.join(relays, left_on="node", right_on="dst")
                .filter((pl.col("t_first") <= pl.col("t_ref")) & (pl.col("t_last") >= pl.col("t_ref") - horizon)
                        & (pl.col("total") >= (1 - p.fee) * pl.col("need"))))
        if step.height == 0:
            break
        frontier = (step.group_by("a", "src").agg(pl.min_horizontal("t_ref", "t_last").max().alias("t_ref"),
                                                  pl.col("need").min())
                    .rename({"src": "node"}))
        found.append(frontier.select("a", pl.col("node").alias("origin"), pl.lit(hop, pl.UInt8).alias("hops")))
    return (pl.concat(found).group_by("a", "origin").agg(pl.col("hops").min())
            .select(pl.col("a").cast(pl.UInt32), pl.col("origin").cast(pl.UInt32), "hops").sort("a", "origin"))


def refund_matches(prep: Prepared, p: MoneyParams | None = None) -> pl.DataFrame:
    """Each receipt's best match to one of its recipient's orders before it, and after it.

    A receipt (amount ``x`` at time ``t``) matches order ``o`` of the recipient when ``o``
    lies within the window and ``0 <= x - amount_o <= commission_rel * amount_o +
    commission_abs`` (the price plus a commission), unless it is the order's own shop
    refunding the exact price (a genuine return). ``u`` scores the best match: the share
    of platform receipt amounts within ``[amount_o, x]`` times the order's rank by
    closeness in time (small is close).

    The same score is computed against the recipient's orders placed *after* the receipt
    (``u_after``, a placebo: money cannot pay back an order not yet placed). Whatever the
    payer's amounts, the recipient's prices or their habits, a receipt unrelated to orders
    matches the orders before it as often as those after it; a refund matches before only.
    One row per (receipt, recipient); ``o`` and ``m`` are the best earlier order and its shop,
    ``m_after`` the shop of the best later one; no match gives ``u = 1``.
    """
    p = p or MoneyParams()
    rec = receipts(prep)
    schema = pl.Schema({"rid": pl.UInt32, "a": pl.UInt32, "src": pl.UInt32, "t": pl.Int64, "amount": pl.Float64,
                        "u": pl.Float64, "o": pl.UInt32, "m": pl.UInt32, "u_after": pl.Float64,
                        "m_after": pl.UInt32})
    if rec.height == 0 or "amount" not in prep.orders.columns:
        return pl.DataFrame(schema=schema)
    # Money sent to oneself (between one's own payment accounts) is not a refund.
    own = prep.payment_users.rename({"p": "src", "a": "a_src"})
    rec = rec.join(own, left_on=["src", "a"], right_on=["src", "a_src"], how="anti").filter(
        pl.col("amount").is_not_null() & (pl.col("amount") > 0))
    sorted_amounts = np.sort(rec["amount"].to_numpy())
    n = max(1, len(sorted_amounts))
    window = int(p.refund_window_days * DAY)
    od = prep.orders.select("a", "o", "m", pl.col("t").alias("t_o"), pl.col("amount").alias("amt_o")).filter(
        pl.col("amt_o").is_not_null() & (pl.col("amt_o") > 0))
    shop_pay = prep.payment_shops.rename({"p": "src", "m": "m_src"})

    def best(side: str) -> pl.DataFrame:
        gap = (pl.col("t") - pl.col("t_o")) if side == "before" else (pl.col("t_o") - pl.col("t"))
        cand = (rec.join(od, on="a").filter((gap >= 0) & (gap <= window) & ~((side == "after") & (gap == 0)))
                .with_columns(gap.rank("ordinal").over("rid", "a").alias("rank"),
                              (pl.col("amount") - pl.col("amt_o")).alias("d")))
        cand = cand.join(shop_pay, left_on=["src", "m"], right_on=["src", "m_src"], how="left", coalesce=False)
        genuine = pl.col("m_src").is_not_null() & (pl.col("d") <= 0.01 * pl.col("amt_o"))
        close = (pl.col("d") >= 0) & (pl.col("d") <= pl.col("amt_o") * p.commission_rel + p.commission_abs)
        cand = cand.filter(close & ~genuine)
        # A small lower margin: amounts sit on price points, so an exact match has
        # positive probability under the null too.
        lo = cand["amt_o"].to_numpy() * 0.995 - 0.01
        hi = cand["amount"].to_numpy()
        mass = (np.searchsorted(sorted_amounts, hi, side="right")
                - np.searchsorted(sorted_amounts, lo, side="left")) / n
        cand = cand.with_columns((pl.Series("mass", mass) * pl.col("rank")).clip(0, 1).alias("u"))
        return (cand.sort("rid", "a", "u", "o").group_by("rid", "a", maintain_order=True)
                .agg(pl.col("u").first(), pl.col("o").first(), pl.col("m").first()))

    after = best("after").select("rid", "a", pl.col("u").alias("u_after"), pl.col("m").alias("m_after"))
    out = (rec.select("rid", "a", "src", "t", "amount").join(best("before"), on=["rid", "a"], how="left")
           .join(after, on=["rid", "a"], how="left")
           .with_columns(pl.col("u").fill_null(1.0), pl.col("u_after").fill_null(1.0)))
    return out.select(list(schema)).cast(schema).sort("rid", "a")
