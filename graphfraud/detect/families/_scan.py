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

from ...arrays import stable_argsort
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
    # The windows' ends in the reference, searched in (ref, t) order: random needles in
    # the millions of reference events make every search a chain of cache misses, and
    # adding a window's width keeps that order, so one sort serves every width.
    ref_time = r * _BIG + t
    at_ref = stable_argsort(ref_time)
    needle = ref_time[at_ref]
    start = np.searchsorted(ref_key, needle, side="left")
    last_c = np.full(len(own_key), -1)
    for hours in SCALES_H:
        w = np.int64(hours * 3600)
        c = np.searchsorted(own_key, own_key + w, side="left") - idx
        n = np.empty(len(own_key), np.int64)
        n[at_ref] = np.searchsorted(ref_key, needle + w, side="left") - start
        # A wider window with no more of the group's times (the same c) holds at least as
        # many reference events, so its tail is no smaller and cannot be better: the tail
        # is computed only where c grew.
        todo = np.flatnonzero((c >= 2) & (c > last_c))
        p = binom_sf(c[todo], k[todo], np.minimum(1.0, n[todo] / np.maximum(N[todo], 1)))
        wins = p < best["p"][todo]
        better = todo[wins]
        best["p"][better] = p[wins]
        best["scale_h"][better] = hours
        best["c"][better], best["n"][better] = c[better], n[better]
        last_c = c
    out = own.select("cid", "ref", "k", "N").with_columns(*[pl.Series(k_, v) for k_, v in best.items()])
    out = out.sort("cid", "ref", "p", "scale_h").group_by("cid", "ref", maintain_order=True).first()
    return out.with_columns((pl.col("p") * pl.col("k") * len(SCALES_H)).clip(0, 1)).cast(schema)
