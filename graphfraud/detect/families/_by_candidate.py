"""Candidate members joined with a per-account table, a few candidates at a time.

Over two years an account has hundreds of rows in a per-account table (payers, matched
receipts), and an account is a member of many candidates: every member times every row
of its account, held at once, was the peak of whole runs. Each chunk holds whole
candidates, so whatever is counted per candidate is complete within one chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from ...arrays import chunk_ranges, stable_argsort


def joined_by_candidate(members: pl.DataFrame, table: pl.DataFrame, limit: int) -> Iterator[pl.DataFrame]:
    """``members`` (cid, a) joined on ``a`` with ``table``, about ``limit`` rows a chunk.

    >>> members = pl.DataFrame({"cid": [0, 0, 1], "a": [1, 2, 1]})
    >>> table = pl.DataFrame({"a": [1, 1, 2], "x": [10, 11, 20]})
    >>> [part.sort("cid", "x").rows() for part in joined_by_candidate(members, table, 2)]
    [[(0, 1, 10), (0, 1, 11), (0, 2, 20)], [(1, 1, 10), (1, 1, 11)]]
    """
    per_a = table.group_by("a").agg(pl.len().alias("_rows"))
    mem = members.select("cid", "a").join(per_a, on="a")
    mem = mem[stable_argsort(mem["cid"].to_numpy().astype(np.int64))]
    for lo, hi in chunk_ranges(mem["_rows"].to_numpy(), limit, mem["cid"].to_numpy()):
        yield mem.slice(lo, hi - lo).select("cid", "a").join(table, on="a")
