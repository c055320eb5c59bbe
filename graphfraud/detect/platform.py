"""What the platform looks like as a whole: the parameters of every null model.

Measured once per run from the prepared tables (never from candidates): how many
visitors each shop has, how its customers rate it, how many accounts use each
identifier value, how many recipients each money origin has, each receipt's chance of
matching an order. Every family's null is stated in terms of these.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..graph.money import MoneyParams, refund_matches, trace_origins
from ..graph.prepare import Prepared

#: Ratings at or above this are "top" (5 stars on a 1-5 scale), at or below LOW_RATING "low".
TOP_RATING = 4.5
LOW_RATING = 3.0


@dataclass(frozen=True)
class Platform:
    """Platform-wide reference tables; see the module docstring."""

    n_accounts: int
    total_visits: int  # sum over shops of distinct visitors (= rows of prep.visits)
    shop_visitors: pl.DataFrame  # m, d_s (distinct visitors), events
    account_shops: pl.DataFrame  # a, d_a (distinct shops), events
    shop_ratings: pl.DataFrame  # m, n, top, low
    top_share: float
    low_share: float
    identifier_users: pl.DataFrame  # v, kind, users
    origins: pl.DataFrame  # a, origin, hops (a shop paying its own buyers directly left out)
    origin_recipients: pl.DataFrame  # origin, recipients
    origin_shops: pl.DataFrame  # origin, m: origins that are shop m's own payment account (its money, relayed)
    n_recipients: int
    refunds: pl.DataFrame  # refund_matches(): rid, a, src, t, amount, u, o, m
    refund_placebos: pl.DataFrame  # refund_matches(): i (a row of refunds), a, src, m
    refund_windows: int  # the window before a receipt and its placebo windows
    staff: pl.DataFrame  # a, m: buyers paying with shop m's own payment account
    orders: pl.DataFrame  # o, a, m, shop_paid, paid_back: per order, paid with a shop's account / paid back by its shop
    n_created: int  # accounts with a known registration time

    def as_dict(self) -> dict[str, int | float]:
        return {"accounts": self.n_accounts, "visits": self.total_visits, "shops": self.shop_visitors.height,
                "top_share": round(self.top_share, 4), "low_share": round(self.low_share, 4),
                "identifier_values": self.identifier_users.height, "money_origins": self.origin_recipients.height,
                "receipts": self.refunds.height, "staff_accounts": self.staff["a"].n_unique(),
                "shop_paid_orders": int(self.orders["shop_paid"].sum()),
                "paid_back_orders": int(self.orders["paid_back"].sum())}


def measure(prep: Prepared, money: MoneyParams | None = None) -> Platform:
    """Measure the platform once (cost linear in the rows)."""
    visits = prep.visits
    rv = prep.reviews
    top, low = (rv.select((pl.col("rating") >= TOP_RATING).mean().alias("top"),
                          (pl.col("rating") <= LOW_RATING).mean().alias("low")).row(0)
                if rv.height else (0.0, 0.0))
    # A shop paying its own buyers directly is a refund or compensation — ordinary commerce,
    # not a tie between its buyers. Shops further upstream (shop -> relay -> buyer) stay.
    shop_pay = prep.payment_shops.select(pl.col("p").alias("origin")).unique()
    traced = trace_origins(prep, money)
    origins = pl.concat([traced.filter(pl.col("hops") > 1),
                         traced.filter(pl.col("hops") == 1).join(shop_pay, on="origin", how="anti")]
                        ).sort("a", "origin")
    money = money or MoneyParams()
    refunds, placebos = refund_matches(prep, money)
    return Platform(
        n_accounts=prep.n_accounts,
        total_visits=visits.height,
        shop_visitors=visits.group_by("m").agg(pl.len().alias("d_s"), pl.col("events").sum().alias("events")),
        account_shops=visits.group_by("a").agg(pl.len().alias("d_a"), pl.col("events").sum().alias("events")),
        shop_ratings=rv.group_by("m").agg(pl.len().alias("n"), (pl.col("rating") >= TOP_RATING).sum().alias("top"),
                                          (pl.col("rating") <= LOW_RATING).sum().alias("low")),
        top_share=float(top or 0.0), low_share=float(low or 0.0),
        identifier_users=prep.identifiers.group_by("v", "kind").agg(pl.col("a").n_unique().alias("users")),
        origins=origins,
        origin_recipients=origins.group_by("origin").agg(pl.col("a").n_unique().alias("recipients")),
        origin_shops=prep.payment_shops.select(pl.col("p").alias("origin"), "m").join(
            origins.select("origin").unique(), on="origin"),
        n_recipients=int(origins["a"].n_unique()) if origins.height else 0,
        refunds=refunds,
        refund_placebos=placebos,
        refund_windows=1 + sum(money.refund_placebos),
        staff=prep.payment_users.join(prep.payment_shops, on="p").select("a", "m").unique(),
        orders=_order_flags(prep),
        n_created=int(prep.created.is_not_null().sum()),
    )


#: A shop's payment to a buyer within this long after the buyer's order there pays it back.
PAYBACK_DAYS = 7


def _order_flags(prep: Prepared) -> pl.DataFrame:
    """(o, a, m, shop_paid, paid_back) for every order.

    ``shop_paid``: paid with a payment account that belongs to a shop (a sale the shop
    paid for). ``paid_back``: the order's own shop sent the buyer money within
    ``PAYBACK_DAYS`` after it (a return, compensation — or a kickback).
    """
    orders = prep.orders.select("o", "a", "m", "t", *(["p"] if "p" in prep.orders.columns else []))
    shop_pay = prep.payment_shops.select("p").unique().with_columns(pl.lit(True).alias("shop_paid"))
    if "p" in orders.columns:
        orders = orders.join(shop_pay, on="p", how="left").with_columns(pl.col("shop_paid").fill_null(False))
    else:
        orders = orders.with_columns(pl.lit(False).alias("shop_paid"))
    sent = (prep.transfers.join(prep.payment_shops.rename({"p": "src", "m": "m"}), on="src")
            .join(prep.payment_users.rename({"p": "dst"}), on="dst").select("a", "m", pl.col("t").alias("t_pay")))
    back = (orders.select("o", "a", "m", "t").join(sent, on=["a", "m"])
            .filter((pl.col("t_pay") >= pl.col("t")) & (pl.col("t_pay") <= pl.col("t") + PAYBACK_DAYS * 86_400))
            .select("o").unique().with_columns(pl.lit(True).alias("paid_back")))
    return (orders.join(back, on="o", how="left").with_columns(pl.col("paid_back").fill_null(False))
            .select("o", "a", "m", "shop_paid", "paid_back").sort("o"))
