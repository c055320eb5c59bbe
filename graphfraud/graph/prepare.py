"""Code a Dataset into integer-indexed frames that projections and features share.

Done once per run: account and merchant ids become dense indices, timestamps epoch
seconds, and every kind of identifier one long (account, kind, value) frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..dataset import Dataset

#: Identifier kinds and the (table, column) pairs they are read from.
IDENTIFIER_SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "device": (("account_devices", "device_id"), ("orders", "device_id"), ("reviews", "device_id"),
               ("logins", "device_id")),
    "payment": (("account_payments", "payment_account_id"), ("orders", "payment_account_id")),
    "address": (("orders", "address"),),
    "phone": (("accounts", "phone"),),
    "ip": (("orders", "ip"), ("reviews", "ip"), ("logins", "ip")),
}


@dataclass
class Prepared:
    """Integer-coded views of a dataset (``a`` = account index, ``m`` = merchant index)."""

    account_ids: pl.Series
    merchant_ids: pl.Series
    created: pl.Series  # epoch seconds per account index, null when unknown
    reviews: pl.DataFrame  # a, m, t, rating, review_id, [text], [order_id]
    orders: pl.DataFrame  # a, m, t, order_id, [amount]
    identifiers: pl.DataFrame  # a, kind, value
    transfers: pl.DataFrame  # src, dst (payment ids), t, amount
    payment_owner: pl.DataFrame  # payment_account_id -> a (buyer accounts)
    merchant_payment: pl.DataFrame  # payment_account_id -> m
    device_first_seen: pl.DataFrame  # a, value (device), first_seen

    @property
    def n_accounts(self) -> int:
        return self.account_ids.len()

    def activity(self) -> pl.DataFrame:
        """Reviews and orders together as (a, m, t, kind): what lockstep is measured on."""
        parts = [self.reviews.select("a", "m", "t", pl.lit("review").alias("kind"))]
        if self.orders.height:
            parts.append(self.orders.select("a", "m", "t", pl.lit("order").alias("kind")))
        return pl.concat(parts)


def _epoch(col: str) -> pl.Expr:
    return pl.col(col).dt.epoch("s").alias("t" if col == "created_at" else col)


def prepare(ds: Dataset) -> Prepared:
    """Code ``ds`` for the graph and feature stages.

    >>> import polars as pl
    >>> ds = Dataset.from_frames(accounts=pl.DataFrame({"account_id": ["x", "y"]}),
    ...     merchants=pl.DataFrame({"merchant_id": ["m"]}),
    ...     reviews=pl.DataFrame({"review_id": ["r"], "account_id": ["y"], "merchant_id": ["m"],
    ...                           "rating": [5.0], "created_at": [60]}))
    >>> prepare(ds).reviews.select("a", "m", "t").rows()
    [(1, 0, 60)]
    """
    acc = ds["accounts"].select("account_id").with_row_index("a")
    mer = ds["merchants"].select("merchant_id").with_row_index("m")
    accounts = ds["accounts"]
    created = (accounts["created_at"].dt.epoch("s") if "created_at" in accounts.columns
               else pl.Series("created", [None] * accounts.height, dtype=pl.Int64))

    def code(frame: pl.DataFrame) -> pl.DataFrame:
        if "account_id" in frame.columns:
            frame = frame.join(acc, on="account_id", how="inner")
        return frame.join(mer, on="merchant_id", how="inner") if "merchant_id" in frame.columns else frame

    # Each table is joined to the account index once; identifier columns ride along, so
    # the identifier table is built from coded frames (no second string join at scale).
    ident_cols: dict[str, list[tuple[str, str]]] = {}
    for kind, sources in IDENTIFIER_SOURCES.items():
        for table, column in sources:
            ident_cols.setdefault(table, []).append((kind, column))

    def coded(table: str, cols: list[str]) -> pl.DataFrame:
        frame = ds[table]
        extra = [c for _, c in ident_cols.get(table, []) if c in frame.columns and c not in cols]
        return code(frame.select(*[c for c in cols if c in frame.columns], *extra))

    rv_coded = coded("reviews", ["review_id", "account_id", "merchant_id", "rating", "created_at", "text", "order_id"])
    keep = [c for c in ("text", "order_id") if c in rv_coded.columns]
    reviews = rv_coded.select("a", "m", _epoch("created_at"), "rating", "review_id", *keep)
    codedframes = {"reviews": rv_coded}
    if ds.has("orders"):
        o_coded = coded("orders", ["order_id", "account_id", "merchant_id", "created_at", "amount"])
        extra = [c for c in ("amount",) if c in o_coded.columns]
        orders = o_coded.select("a", "m", _epoch("created_at"), "order_id", *extra)
        codedframes["orders"] = o_coded
    else:
        orders = pl.DataFrame(schema={"a": pl.UInt32, "m": pl.UInt32, "t": pl.Int64, "order_id": pl.String})

    idents = []
    for table, pairs in ident_cols.items():
        frame = codedframes.get(table)
        if frame is None:
            raw = ds.get(table)
            if raw is None or raw.height == 0:
                continue
            frame = code(raw.select("account_id", *[c for _, c in pairs if c in raw.columns]))
        for kind, column in pairs:
            if column in frame.columns:
                idents.append(frame.select("a", pl.lit(kind).alias("kind"), pl.col(column).alias("value"))
                              .filter(pl.col("value").is_not_null()).unique())
    identifiers = (pl.concat(idents).unique() if idents
                   else pl.DataFrame(schema={"a": pl.UInt32, "kind": pl.String, "value": pl.String}))

    owner_parts = []
    if ds.has("account_payments"):
        owner_parts.append(ds["account_payments"].select("account_id", "payment_account_id"))
    if ds.has("orders") and "payment_account_id" in ds["orders"].columns:
        owner_parts.append(ds["orders"].select("account_id", "payment_account_id")
                           .filter(pl.col("payment_account_id").is_not_null()))
    payment_owner = (code(pl.concat(owner_parts)).select("payment_account_id", "a").unique() if owner_parts
                     else pl.DataFrame(schema={"payment_account_id": pl.String, "a": pl.UInt32}))
    merchant_payment = (code(ds["merchant_payments"]).select("payment_account_id", "m").unique()
                        if ds.has("merchant_payments")
                        else pl.DataFrame(schema={"payment_account_id": pl.String, "m": pl.UInt32}))
    transfers = (ds["transfers"].select(pl.col("from_payment_account_id").alias("src"),
                                        pl.col("to_payment_account_id").alias("dst"),
                                        _epoch("created_at"), "amount")
                 if ds.has("transfers") else
                 pl.DataFrame(schema={"src": pl.String, "dst": pl.String, "t": pl.Int64, "amount": pl.Float64}))
    if ds.has("account_devices") and "first_seen" in ds["account_devices"].columns:
        dfs = code(ds["account_devices"].select("account_id", pl.col("device_id").alias("value"),
                                                pl.col("first_seen").dt.epoch("s")))
        device_first_seen = dfs.select("a", "value", "first_seen").filter(pl.col("first_seen").is_not_null())
    else:
        device_first_seen = pl.DataFrame(schema={"a": pl.UInt32, "value": pl.String, "first_seen": pl.Int64})
    return Prepared(acc["account_id"], mer["merchant_id"], created, reviews, orders, identifiers, transfers,
                    payment_owner, merchant_payment, device_first_seen)
