"""Corroboration: members' texts at a shop resemble each other more than the shop's other texts.

For every focus shop with member texts, each member text is compared with the texts of
the *other* members there (a different author) and with as many texts by the shop's
other reviewers (a fixed pseudo-random control sample): ``d = s_in - s_out``, the
difference of the best cosine similarities over hashed character 2-3-gram TF-IDF. Under
the null — members write like anybody reviewing that shop — the two comparisons are
exchangeable, so ``d`` is symmetric around 0; the Wilcoxon signed-rank test over all of
a group's texts gives its p-value. Near-copies of a template and paraphrases of the same
selling points both raise ``d``; the shop's shared vocabulary does not, because the
controls share it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from .._memo import LastFrame
from ..stats import norm_sf
from ..textsim import MIN_CHARS, idf_table, normalise_text, tfidf
from . import Family, Inputs

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: Texts per (group, shop) compared, and as many controls (bounds the cost).
MAX_TEXTS = 24


def test(inp: Inputs) -> pl.DataFrame:
    schema = {"cid": pl.UInt32, "p_text": pl.Float64}
    rv = inp.prep.reviews
    if "text" not in rv.columns or inp.focus.height == 0:
        return pl.DataFrame(schema=schema)
    texts = _long_texts(rv)
    mine = (inp.cands.members.join(texts, on="a").join(inp.focus.select("cid", "m"), on=["cid", "m"])
            .sort("cid", "m", "h").filter(pl.int_range(pl.len()).over("cid", "m") < MAX_TEXTS))
    blocks = mine.group_by("cid", "m").agg(pl.len().alias("k"), pl.col("a").n_unique().alias("authors")).filter(
        (pl.col("k") >= 3) & (pl.col("authors") >= 2))
    mine = mine.join(blocks.select("cid", "m", "k"), on=["cid", "m"])
    if mine.height == 0:
        return pl.DataFrame(schema=schema)
    # Controls: the shop's texts in fixed hash order, members' own texts removed, first k kept.
    need = blocks.group_by("m").agg((pl.col("k").max() * 3 + 8).alias("need"))
    pool = (texts.join(need, on="m").sort("m", "h").filter(pl.int_range(pl.len()).over("m") < pl.col("need"))
            .drop("need"))
    ctrl = (blocks.select("cid", "m", "k").join(pool, on="m")
            .join(inp.cands.members, on=["cid", "a"], how="anti").sort("cid", "m", "h")
            .filter(pl.int_range(pl.len()).over("cid", "m") < pl.col("k")))
    used = pl.concat([mine.select("r", "text"), ctrl.select("r", "text")]).unique("r").sort("r")
    X = tfidf(used["text"], _idf(rv))
    code = pl.DataFrame({"r": used["r"], "row": np.arange(used.height)})
    mine = mine.join(code, on="r").sort("cid", "m", "h")
    ctrl = ctrl.join(code, on="r").sort("cid", "m", "h")
    # Numpy slices per (cid, m) block instead of a polars group iteration.
    key_m = mine["cid"].cast(pl.Int64).to_numpy() * (1 << 32) + mine["m"].to_numpy()
    key_c = ctrl["cid"].cast(pl.Int64).to_numpy() * (1 << 32) + ctrl["m"].to_numpy()
    rows_m, rows_c, authors_all = mine["row"].to_numpy(), ctrl["row"].to_numpy(), mine["a"].to_numpy()
    starts = np.flatnonzero(np.r_[True, key_m[1:] != key_m[:-1]])
    ends = np.r_[starts[1:], len(key_m)]
    c_lo = np.searchsorted(key_c, key_m[starts], side="left")
    c_hi = np.searchsorted(key_c, key_m[starts], side="right")
    # Progress in candidates: blocks are in cid order, so a candidate is done with its last block.
    block_cid = key_m[starts] >> 32
    done_after = np.cumsum(np.r_[block_cid[1:] != block_cid[:-1], True])
    n_cands = int(done_after[-1])
    every = max(1, len(starts) // 100)

    def progress(i: int) -> None:
        if i % every == every - 1:
            inp.tick(int(done_after[i]), n_cands)

    inp.tick(0, n_cands)
    # One BLAS thread: a product of a few dozen rows is over before a second thread helps,
    # and on a busy machine OpenBLAS's threads spin waiting for a core (2,000 products of
    # such blocks: 3.8 CPU s with two threads, 0.4 with one). It also makes the similarities
    # the same on any number of cores: how OpenBLAS splits a product changes its last bits.
    with threadpool_limits(limits=1, user_api="blas"):
        cids, diffs = _compare(X, starts, ends, c_lo, c_hi, rows_m, rows_c, authors_all, key_m, progress)
    inp.tick(n_cands, n_cands)
    if not cids:
        return pl.DataFrame(schema=schema)
    d = pl.DataFrame({"cid": pl.Series(cids, dtype=pl.UInt32), "d": diffs}).filter(pl.col("d").abs() > 1e-9)
    d = d.with_columns(pl.col("d").abs().rank("average").over("cid").alias("rk"))
    agg = d.group_by("cid").agg(pl.len().alias("text_compared"), (pl.col("d") > 0).sum().alias("text_closer"),
                                pl.col("rk").filter(pl.col("d") > 0).sum().alias("w"),
                                pl.col("d").mean().alias("text_margin"))
    n = agg["text_compared"].to_numpy().astype(float)
    mean = n * (n + 1) / 4
    sd = np.sqrt(np.maximum(n * (n + 1) * (2 * n + 1) / 24, 1e-12))
    z = (agg["w"].fill_null(0).to_numpy() - mean - 0.5) / sd
    return agg.drop("w").with_columns(pl.Series("p_text", np.where(n >= 3, norm_sf(z), 1.0)))


def _compare(X: csr_matrix, starts: np.ndarray, ends: np.ndarray, c_lo: np.ndarray, c_hi: np.ndarray,
             rows_m: np.ndarray, rows_c: np.ndarray, authors_all: np.ndarray, key_m: np.ndarray,
             tick: Callable[[int], None]) -> tuple[list[int], list[float]]:
    """(cid, d) of every member text compared: block ``i`` is members ``starts[i]:ends[i]``
    against controls ``c_lo[i]:c_hi[i]``."""
    cids: list[int] = []
    diffs: list[float] = []
    for i, (lo, hi, clo, chi) in enumerate(zip(starts, ends, c_lo, c_hi)):
        tick(i)
        if chi == clo:
            continue
        rows = np.r_[rows_m[lo:hi], rows_c[clo:chi]]
        block = _dense(X, rows)
        k = hi - lo
        authors = authors_all[lo:hi]
        s_in = block[:k] @ block[:k].T
        s_in[authors[:, None] == authors[None, :]] = -1.0
        s_out = block[:k] @ block[k:].T
        others = (authors[:, None] != authors[None, :]).sum(axis=1)
        n_i = np.minimum(others, s_out.shape[1])
        # best control among the first n_i controls: a running maximum over the columns
        best_out = np.maximum.accumulate(s_out, axis=1)[np.arange(k), np.maximum(n_i, 1) - 1]
        ok = n_i > 0
        cids.extend([int(key_m[lo] >> 32)] * int(ok.sum()))
        diffs.extend((s_in.max(axis=1) - best_out)[ok].tolist())
    return cids, diffs


#: The IDF of the last reviews table: the family runs twice per fit (candidates, final
#: rings) on the same table, and the IDF is the costliest part of it.
_idf = LastFrame(lambda reviews: idf_table(reviews["text"]))
#: The reviews long enough to compare (r, a, m, text, h), with their fixed sampling hash.
_long_texts = LastFrame(lambda reviews: reviews.select("r", "a", "m", "text").filter(
    normalise_text(pl.col("text")).str.len_chars().fill_null(0) >= MIN_CHARS).with_columns(
    pl.col("r").hash(seed=23).alias("h")))


def _dense(X: csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Rows of a CSR matrix as a dense block over only the columns they use.

    The rows' stored entries are gathered straight from ``indptr``/``indices``/``data``:
    scipy's fancy row indexing validates and builds a new matrix on every call, and
    this runs once per (group, shop) block, tens of thousands of times a fit.
    """
    first = X.indptr[rows]
    lengths = X.indptr[rows + 1] - first
    # Position of every stored entry of the selected rows, row after row.
    at = np.repeat(first - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    cols, inverse = np.unique(X.indices[at], return_inverse=True)
    out = np.zeros((len(rows), len(cols)))
    out[np.repeat(np.arange(len(rows)), lengths), inverse] = X.data[at]
    return out


FAMILY = Family("text", "corroboration", test,
                "members' texts against same-shop control texts (character n-gram TF-IDF, Wilcoxon signed-rank)",
                everywhere=False)
