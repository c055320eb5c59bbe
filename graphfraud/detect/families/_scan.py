"""The scan statistic both timing families share.

A group's ``k`` times are compared with a reference timeline (a shop's events, or every
account's registration): for each dyadic width ``w`` and each window that starts at one
of the group's times, ``c`` group times fall inside and the reference holds ``n`` of its
``N``. Under the permutation null ``c`` is at most Binomial(k, n / N); the best window is
paid for by Bonferroni over the ``k`` anchors and the widths.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..stats import binom_sf

#: Window widths in hours: 1 h to 1024 h (about six weeks), doubling.
SCALES_H: tuple[int, ...] = tuple(2 ** i for i in range(11))
_BIG = np.int64(1 << 34)  # exceeds any epoch-second time span graphfraud accepts


def scan(groups: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
    """Best window per group.

    ``groups``: (cid, ref, t) — a group's times, ``ref`` naming the reference timeline they
    are compared with; ``reference``: (ref, t) — every reference event. Returns (cid, ref,
    k, N, p, scale_h, c, n) with ``p`` already Bonferroni-corrected.
    """
    ref = reference.select(pl.col("ref").cast(pl.Int64), pl.col("t").cast(pl.Int64))
    ref_key = np.sort(ref["ref"].to_numpy() * _BIG + ref["t"].to_numpy())
    totals = ref.group_by("ref").agg(pl.len().alias("N"))
    own = (groups.select("cid", pl.col("ref").cast(pl.Int64), pl.col("t").cast(pl.Int64)).sort("cid", "ref", "t")
           .with_columns(pl.struct("cid", "ref").rank("dense").cast(pl.Int64).alias("g"),
                         pl.len().over("cid", "ref").alias("k")).join(totals, on="ref"))
    schema = pl.Schema({"cid": pl.UInt32, "ref": pl.Int64, "k": pl.UInt32, "N": pl.UInt32, "p": pl.Float64,
                        "scale_h": pl.Int64, "c": pl.Int64, "n": pl.Int64})
    if own.height == 0:
        return pl.DataFrame(schema=schema)
    own = own.sort("g", "t")
    g, t, r = own["g"].to_numpy(), own["t"].to_numpy(), own["ref"].to_numpy()
    k, N = own["k"].to_numpy(), own["N"].to_numpy()
    own_key = g * _BIG + t
    idx = np.arange(len(own_key))
    best = {"p": np.ones(len(own_key)), "scale_h": np.zeros(len(own_key), np.int64),
            "c": np.zeros(len(own_key), np.int64), "n": np.zeros(len(own_key), np.int64)}
    start = np.searchsorted(ref_key, r * _BIG + t, side="left")
    for hours in SCALES_H:
        w = np.int64(hours * 3600)
        c = np.searchsorted(own_key, own_key + w, side="left") - idx
        n = np.searchsorted(ref_key, r * _BIG + t + w, side="left") - start
        p = np.where(c >= 2, binom_sf(c, k, np.minimum(1.0, n / np.maximum(N, 1))), 1.0)
        better = p < best["p"]
        for key, value in (("p", p), ("scale_h", hours), ("c", c), ("n", n)):
            best[key][better] = value[better] if isinstance(value, np.ndarray) else value
    out = own.select("cid", "ref", "k", "N").with_columns(*[pl.Series(k_, v) for k_, v in best.items()])
    out = out.sort("cid", "ref", "p", "scale_h").group_by("cid", "ref", maintain_order=True).first()
    return out.with_columns((pl.col("p") * pl.col("k") * len(SCALES_H)).clip(0, 1)).cast(schema)
