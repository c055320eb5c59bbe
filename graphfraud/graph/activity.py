"""Daily activity of a ring at its shops, against each shop's own baseline.

A case report's timeline answers "what did the ring do at this shop, and was that
unusual for the shop?". This module computes the numbers; renderers only draw them.
For each shop, every calendar day (in the dataset's time zone, the platform's own
day) gets four counts: orders and reviews by the ring's members, and orders and
reviews by everyone else at that shop (the shop's baseline).

Pure: polars on an in-memory :class:`~graphfraud.dataset.Dataset`, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from ..dataset import Dataset

__all__ = ["ACTIVITY_SCHEMA", "PAD_DAYS", "RingActivity", "ring_activity"]

#: Days shown before the ring's first and after its last action: two weeks each side
#: show the shop's usual level (weekday/weekend cycle included) around the campaign.
PAD_DAYS = 14
#: Columns of :attr:`RingActivity.daily`.
ACTIVITY_SCHEMA = pl.Schema({"merchant_id": pl.String, "day": pl.Date, "ring_orders": pl.Int64,
                             "ring_reviews": pl.Int64, "other_orders": pl.Int64, "other_reviews": pl.Int64})
_EVENTS = {"orders": "orders", "reviews": "reviews"}


@dataclass(frozen=True)
class RingActivity:
    """Per-shop daily series of one ring.

    Attributes
    ----------
    daily : polars.DataFrame
        One row per (shop, day) over ``[first ring day - PAD_DAYS, last ring day + PAD_DAYS]``
        (clipped to the days the data covers), zero-filled, sorted; columns :data:`ACTIVITY_SCHEMA`.
    tz : str
        Time zone the days are cut in.
    first, last : datetime.date or None
        The ring's first and last active day at these shops (None when it has no dated action).
    """

    daily: pl.DataFrame
    tz: str
    first: date | None = None
    last: date | None = None

    def shop(self, merchant_id: str) -> pl.DataFrame:
        """The series of one shop."""
        return self.daily.filter(pl.col("merchant_id") == merchant_id)


def ring_activity(dataset: Dataset, members: Iterable[str], shops: Iterable[str], *,
                  pad_days: int = PAD_DAYS) -> RingActivity:
    """Daily orders and reviews of ``members`` at ``shops``, with the shops' other traffic.

    Parameters
    ----------
    dataset : Dataset
        The validated tables (``orders`` may be absent; ``reviews`` always exists).
    members : iterable of str
        Account ids of the ring.
    shops : iterable of str
        Merchant ids to report on (usually the ring's focus shops).
    pad_days : int
        Days of baseline shown on each side of the ring's active period.

    Returns
    -------
    RingActivity

    Examples
    --------
    >>> ds = Dataset.from_frames(
    ...     accounts=pl.DataFrame({"account_id": ["a", "b"]}), merchants=pl.DataFrame({"merchant_id": ["m"]}),
    ...     reviews=pl.DataFrame({"review_id": ["r1", "r2", "r3"], "account_id": ["a", "a", "b"],
    ...                           "merchant_id": ["m"] * 3, "rating": [5, 5, 3],
    ...                           "created_at": [1_700_000_000, 1_700_000_100, 1_700_000_200]}))
    >>> act = ring_activity(ds, ["a"], ["m"], pad_days=0)
    >>> act.daily.select("ring_reviews", "other_reviews").row(0)
    (2, 1)
    """
    member_list = pl.Series("account_id", list(dict.fromkeys(members)), dtype=pl.String)
    shop_list = pl.Series("merchant_id", list(dict.fromkeys(shops)), dtype=pl.String)
    parts = []
    for table, kind in _EVENTS.items():
        if not dataset.has(table):
            continue
        parts.append(dataset.tables[table].lazy().filter(pl.col("merchant_id").is_in(shop_list.implode())).select(
            "merchant_id",
            pl.col("created_at").dt.convert_time_zone(dataset.tz).dt.date().alias("day"),
            pl.col("account_id").is_in(member_list.implode()).alias("ring"),
            pl.lit(kind).alias("kind")))
    empty = RingActivity(pl.DataFrame(schema=ACTIVITY_SCHEMA), dataset.tz)
    if not parts or shop_list.is_empty():
        return empty
    events = pl.concat(parts).drop_nulls("day").collect()
    ring_days = events.filter(pl.col("ring"))["day"]
    if ring_days.is_empty():
        return empty
    first, last = ring_days.min(), ring_days.max()
    data_first, data_last = events["day"].min(), events["day"].max()
    # Date columns with rows: their extremes are dates.
    assert isinstance(first, date) and isinstance(last, date)
    assert isinstance(data_first, date) and isinstance(data_last, date)
    # Never beyond the data: days after the export's last event are not quiet days.
    lo = max(first - timedelta(days=pad_days), data_first)
    hi = min(last + timedelta(days=pad_days), data_last)
    counts = (events.filter(pl.col("day").is_between(lo, hi))
              .group_by("merchant_id", "day").agg(
                  *[((pl.col("ring") == ring) & (pl.col("kind") == kind)).sum().cast(pl.Int64).alias(
                      f"{'ring' if ring else 'other'}_{kind}") for ring in (True, False) for kind in _EVENTS.values()]))
    grid = shop_list.to_frame().join(pl.DataFrame({"day": pl.date_range(lo, hi, "1d", eager=True)}), how="cross")
    daily = (grid.join(counts, on=["merchant_id", "day"], how="left").fill_null(0)
             .select(list(ACTIVITY_SCHEMA)).cast(ACTIVITY_SCHEMA).sort("merchant_id", "day"))
    return RingActivity(daily, dataset.tz, first, last)
