"""Corroboration: members registered together (a batch of new accounts).

Null: members' registration times are a random sample of all accounts' registration
times (the platform's own sign-up curve, campaigns and holidays included), scanned at
widths from 1 hour to about six weeks (:mod:`._scan`). Aged accounts bought in bulk show
nothing here, which is why this only corroborates.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import Family, Inputs
from ._scan import scan


def test(inp: Inputs) -> pl.DataFrame:
    created = pl.DataFrame({"a": np.arange(inp.prep.n_accounts, dtype=np.uint32), "t": inp.prep.created})
    created = created.filter(pl.col("t").is_not_null())
    if created.height == 0:
        return pl.DataFrame(schema={"cid": pl.UInt32, "p_provenance": pl.Float64})
    mine = inp.cands.members.join(created, on="a").select("cid", pl.lit(0).alias("ref"), "t")
    out = scan(mine, created.select(pl.lit(0).alias("ref"), "t"))
    return out.select("cid", pl.col("c").alias("batch_members"), pl.col("scale_h").alias("batch_window_h"),
                      pl.col("k").alias("dated_members"), pl.col("p").alias("p_provenance"))


FAMILY = Family("provenance", "corroboration", test,
                "members' registration times against the platform's sign-up curve (scan, 1 h to 6 weeks)")
