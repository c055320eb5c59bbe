"""Honesty check of a benchmark market: can one per-account column give a family away?

For every column derivable directly from the input tables (account age, counts of
orders, reviews, logins, devices, IPs and payment accounts, ratings, amounts, money
received, nickname length, …) and every planted family, the AUC separating the family's
accounts from all other accounts, folded so that 0.5 is chance and 1.0 perfect
(``max(AUC, 1 - AUC)``). A family whose best column is near 1.0 is found by a threshold on
that column, and a detector scoring well on it proves nothing.
"""

from __future__ import annotations

import polars as pl

from ...dataset import Dataset
from .texts import DEFAULT_REVIEW


def _ds(data: Dataset | dict[str, pl.DataFrame]) -> Dataset:
    return data if isinstance(data, Dataset) else Dataset.from_frames(**data)


def _epoch(col: str) -> pl.Expr:
    return pl.col(col).dt.epoch("s").cast(pl.Float64)


def account_columns(data: Dataset | dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per account, one float column per directly derivable feature (null = undefined).

    Columns need only the tables present: a review-only dataset gets the review columns.
    """
    ds = _ds(data)
    tz = ds.tz
    acc = ds["accounts"]
    out = acc.select("account_id")
    exprs = []
    if "created_at" in acc.columns:
        exprs.append(_epoch("created_at").alias("created_at"))
    if "nickname" in acc.columns:
        exprs.append(pl.col("nickname").str.len_chars().cast(pl.Float64).alias("nickname_len"))
    if "phone" in acc.columns:
        exprs.append(pl.col("phone").str.slice(0, 3).cast(pl.Float64, strict=False).alias("phone_prefix"))
    if exprs:
        out = out.join(acc.select("account_id", *exprs), on="account_id", how="left")

    def add(frame: pl.DataFrame) -> None:
        nonlocal out
        out = out.join(frame, on="account_id", how="left")

    events = []  # (account_id, t, device_id, ip) of every timed event, for spans, devices and IPs
    reviews = ds.get("reviews")
    if reviews is not None:
        text = pl.col("text").fill_null("") if "text" in reviews.columns else pl.lit("").alias("text")
        rv = reviews.with_columns(text)
        aggs = [pl.len().cast(pl.Float64).alias("n_reviews"),
                pl.col("merchant_id").n_unique().cast(pl.Float64).alias("n_review_shops"),
                pl.col("rating").mean().alias("mean_rating"),
                (pl.col("rating") == 5).mean().alias("five_star_share"),
                pl.col("text").str.len_chars().mean().alias("mean_text_len"),
                ((pl.col("text") != "") & (pl.col("text") != DEFAULT_REVIEW)).mean().alias("written_share")]
        if "order_id" in rv.columns:
            aggs.append(pl.col("order_id").is_null().mean().alias("orderless_share"))
        add(rv.group_by("account_id").agg(aggs))
        events.append(rv.select("account_id", pl.col("created_at").alias("t"),
                                *[pl.col(c) if c in rv.columns else pl.lit(None, pl.String).alias(c)
                                  for c in ("device_id", "ip")]))
    orders = ds.get("orders")
    if orders is not None and orders.height:
        aggs = [pl.len().cast(pl.Float64).alias("n_orders"),
                pl.col("merchant_id").n_unique().cast(pl.Float64).alias("n_order_shops")]
        if "amount" in orders.columns:
            aggs.append(pl.col("amount").mean().alias("mean_amount"))
        if "address" in orders.columns:
            aggs.append(pl.col("address").drop_nulls().n_unique().cast(pl.Float64).alias("n_addresses"))
        add(orders.group_by("account_id").agg(aggs))
        events.append(orders.select("account_id", pl.col("created_at").alias("t"),
                                    *[pl.col(c) if c in orders.columns else pl.lit(None, pl.String).alias(c)
                                      for c in ("device_id", "ip")]))
        if reviews is not None and "order_id" in reviews.columns:
            delay = (reviews.select("order_id", pl.col("created_at").alias("rt"))
                     .join(orders.select("order_id", "account_id", "created_at"), on="order_id")
                     .group_by("account_id")
                     .agg(((pl.col("rt") - pl.col("created_at")).dt.total_seconds() / 3600).median()
                          .alias("review_delay_h")))
            add(delay)
    logins = ds.get("logins")
    if logins is not None and logins.height:
        add(logins.group_by("account_id").agg(pl.len().cast(pl.Float64).alias("n_logins")))
        events.append(logins.select("account_id", pl.col("created_at").alias("t"),
                                    *[pl.col(c) if c in logins.columns else pl.lit(None, pl.String).alias(c)
                                      for c in ("device_id", "ip")]))
    if events:
        ev = pl.concat(events)
        local = pl.col("t").dt.convert_time_zone(tz)
        add(ev.group_by("account_id").agg(
            ((pl.col("t").max() - pl.col("t").min()).dt.total_seconds() / 86_400).alias("active_span_days"),
            local.dt.date().n_unique().cast(pl.Float64).alias("active_days"),
            (local.dt.hour() < 7).mean().alias("night_share"),
            (local.dt.weekday() >= 6).mean().alias("weekend_share"),
            pl.col("ip").drop_nulls().n_unique().cast(pl.Float64).alias("n_ips")))
        devices = ev.select("account_id", "device_id").drop_nulls()
        ad = ds.get("account_devices")
        if ad is not None:
            devices = pl.concat([devices, ad.select("account_id", "device_id")])
        if devices.height:
            add(devices.group_by("account_id").agg(pl.col("device_id").n_unique().cast(pl.Float64).alias("n_devices")))
    ap = ds.get("account_payments")
    pays = []
    if ap is not None:
        pays.append(ap.select("account_id", "payment_account_id"))
    if orders is not None and "payment_account_id" in orders.columns:
        pays.append(orders.select("account_id", "payment_account_id").drop_nulls())
    if pays:
        add(pl.concat(pays).unique().group_by("account_id")
            .agg(pl.len().cast(pl.Float64).alias("n_payment_accounts")))
    if ap is not None:
        # Money belongs to the account a payment account is bound to (not to whoever used it once).
        pay = ap.select("account_id", "payment_account_id").unique()
        tr = ds.get("transfers")
        if tr is not None and tr.height:
            inc = tr.join(pay, left_on="to_payment_account_id", right_on="payment_account_id")
            add(inc.group_by("account_id").agg(pl.len().cast(pl.Float64).alias("transfers_in"),
                                                pl.col("amount").sum().alias("amount_in"),
                                                pl.col("from_payment_account_id").n_unique().cast(pl.Float64)
                                                .alias("payers")))
            outg = tr.join(pay, left_on="from_payment_account_id", right_on="payment_account_id")
            add(outg.group_by("account_id").agg(pl.len().cast(pl.Float64).alias("transfers_out")))
    likes = ds.get("review_likes")
    if likes is not None and likes.height:
        add(likes.group_by("account_id").agg(pl.len().cast(pl.Float64).alias("likes_given")))
        if reviews is not None:
            add(likes.join(reviews.select("review_id", pl.col("account_id").alias("author")), on="review_id")
                .group_by(pl.col("author").alias("account_id")).agg(pl.len().cast(pl.Float64).alias("likes_received")))
    # Counts are zero, not undefined, for accounts without such rows.
    counts = [c for c in out.columns if c.startswith("n_") or c in ("transfers_in", "transfers_out", "amount_in",
                                                                      "payers", "likes_given", "likes_received")]
    return out.with_columns(pl.col(c).fill_null(0.0) for c in counts).sort("account_id")


def single_column_auc(data: Dataset | dict[str, pl.DataFrame], ring_members: pl.DataFrame,
                      benign_groups: pl.DataFrame | None = None, detail: bool = False) -> pl.DataFrame:
    """Per family, the best single-column AUC separating its accounts from all other accounts.

    Parameters
    ----------
    data
        The market (a :class:`~graphfraud.dataset.Dataset` or a dict of contract tables).
    ring_members, benign_groups
        Truth: ``ring_kind`` and ``group_kind`` name the families.
    detail
        Return every (family, column) AUC instead of the best per family.

    Returns
    -------
    polars.DataFrame
        ``family, tactic, accounts, best_column, auc, direction`` (``higher``: the family's
        values are larger), sorted by ``auc`` descending; with ``detail`` one row per
        family and column.

    Notes
    -----
    Ties get average ranks (Mann-Whitney); accounts where a column is undefined (e.g. the
    mean rating of an account without reviews) are left out for that column only.

    >>> import polars as pl
    >>> acc = pl.DataFrame({"account_id": list("abcdef"), "nickname": ["x", "yy", "zzz", "w", "vv", "uuu"]})
    >>> mer = pl.DataFrame({"merchant_id": ["m"]})
    >>> rev = pl.DataFrame({"review_id": list("123456"), "account_id": list("abcdef"), "merchant_id": ["m"] * 6,
    ...                     "rating": [5, 5, 5, 1, 2, 3], "created_at": [0] * 6})
    >>> truth = pl.DataFrame({"ring_id": ["r"] * 3, "account_id": list("abc"), "ring_kind": ["k"] * 3})
    >>> single_column_auc({"accounts": acc, "merchants": mer, "reviews": rev}, truth).row(0)
    ('k', True, 3, 'five_star_share', 1.0, 'higher')
    """
    cols = account_columns(data)
    labels = [ring_members.select("account_id", pl.col("ring_kind").alias("family"), pl.lit(True).alias("tactic"))]
    if benign_groups is not None and benign_groups.height:
        labels.append(benign_groups.select("account_id", pl.col("group_kind").alias("family"),
                                           pl.lit(False).alias("tactic")))
    labels = pl.concat(labels).unique()
    features = [c for c in cols.columns if c != "account_id"]
    rows = []
    for c in features:
        x = cols.select("account_id", c).drop_nulls().drop_nans() if cols.schema[c].is_float() else \
            cols.select("account_id", c).drop_nulls()
        n_all = x.height
        ranked = x.with_columns(pl.col(c).rank("average").alias("rank"))
        stats = (labels.join(ranked, on="account_id").group_by("family", "tactic")
                 .agg(pl.len().alias("n1"), pl.col("rank").sum().alias("r1")))
        rows.append(stats.with_columns(
            pl.lit(c).alias("column"),
            ((pl.col("r1") - pl.col("n1") * (pl.col("n1") + 1) / 2)
             / (pl.col("n1") * (n_all - pl.col("n1")))).alias("raw")))
    table = pl.concat(rows).filter(pl.col("n1") > 0, pl.col("raw").is_not_nan())
    table = table.with_columns(
        pl.max_horizontal("raw", 1 - pl.col("raw")).round(4).alias("auc"),
        pl.when(pl.col("raw") >= 0.5).then(pl.lit("higher")).otherwise(pl.lit("lower")).alias("direction"))
    sizes = labels.group_by("family").agg(pl.col("account_id").n_unique().alias("accounts"))
    table = table.join(sizes, on="family")
    if detail:
        return table.select("family", "tactic", "accounts", "column", "auc", "direction").sort("family", "column")
    best = (table.sort("auc", "column", descending=[True, False]).group_by("family", maintain_order=True).first()
            .select("family", "tactic", "accounts", pl.col("column").alias("best_column"), "auc", "direction"))
    return best.sort(["auc", "family"], descending=[True, False])
