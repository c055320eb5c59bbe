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

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix

from ...arrays import chunk_ranges, distinct, expand, run_starts
from .._memo import LastFrame
from ..stats import norm_sf
from ..textsim import MIN_CHARS, idf_table, normalise_text, tfidf
from . import Family, Inputs

#: Texts per (group, shop) compared, and as many controls (bounds the cost).
MAX_TEXTS = 24
#: Texts in one similarity matrix at most (a shop where many candidates act gets
#: several), and similarities held at once (128 MB): bounds on memory, not on results.
TEXTS_PER_MATRIX = 2048
ENTRIES_PER_CHUNK = 1 << 24


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
    n_cands = blocks["cid"].n_unique()
    inp.tick(0, n_cands)
    # Blocks are compared shop by shop, not candidate by candidate: the candidates done
    # are told as the share of the blocks compared.
    cid, diff = _compare(X, mine, ctrl, lambda done, total: inp.tick(n_cands * done // max(total, 1), n_cands))
    if len(cid) == 0:
        return pl.DataFrame(schema=schema)
    # Rounded, so that which differences tie (equal texts compared with equal texts) does
    # not depend on the order a similarity's products were summed in.
    d = pl.DataFrame({"cid": pl.Series(cid, dtype=pl.UInt32), "d": np.round(diff, 12)}).filter(pl.col("d").abs() > 1e-9)
    d = d.with_columns(pl.col("d").abs().rank("average").over("cid").alias("rk"))
    agg = d.group_by("cid").agg(pl.len().alias("text_compared"), (pl.col("d") > 0).sum().alias("text_closer"),
                                pl.col("rk").filter(pl.col("d") > 0).sum().alias("w")).sort("cid")
    # The mean difference summed in row order (``d`` is in candidate order): a parallel
    # group-by adds a group's floats in an order that varies from run to run.
    d = d.sort("cid", maintain_order=True)
    values, first = d["d"].to_numpy(), run_starts(d["cid"].to_numpy())
    margin = np.add.reduceat(values, first) / np.diff(np.r_[first, len(values)]) if len(values) else np.zeros(0)
    agg = agg.with_columns(pl.Series("text_margin", margin, dtype=pl.Float64))
    n = agg["text_compared"].to_numpy().astype(float)
    mean = n * (n + 1) / 4
    sd = np.sqrt(np.maximum(n * (n + 1) * (2 * n + 1) / 24, 1e-12))
    z = (agg["w"].fill_null(0).to_numpy() - mean - 0.5) / sd
    return agg.drop("w").with_columns(pl.Series("p_text", np.where(n >= 3, norm_sf(z), 1.0)))


def _compare(X: csr_matrix, mine: pl.DataFrame, ctrl: pl.DataFrame,
             tick: Callable[[int, int], None] = lambda _done, _total: None) -> tuple[np.ndarray, np.ndarray]:
    """(cid, d) of every member text compared, in the rows' order.

    ``mine`` (cid, m, a, row) are the member texts and ``ctrl`` (cid, m, row) the control
    texts, both sorted by (cid, m) and then in hash order; ``row`` is a row of ``X``. For
    member text ``i`` of block (cid, m): ``s_in`` is its best similarity to a text of
    another member of the block, ``s_out`` its best to the block's first ``n_i`` controls,
    ``n_i`` the number of texts by other members (capped by the controls there); texts
    with ``n_i = 0`` are not compared.

    Blocks are taken shop by shop: a shop is a focus shop of many candidates, which share
    its controls, so one matrix of the texts compared there serves all of them (a shop
    with more than ``TEXTS_PER_MATRIX`` such texts gets several). Every block's pairs are
    gathered and reduced at once, ``ENTRIES_PER_CHUNK`` similarities at a time; ``tick``
    hears (blocks compared, blocks) after each chunk.
    """
    key_m = mine["cid"].cast(pl.Int64).to_numpy() * (1 << 32) + mine["m"].to_numpy()
    key_c = ctrl["cid"].cast(pl.Int64).to_numpy() * (1 << 32) + ctrl["m"].to_numpy()
    starts = run_starts(key_m)
    k = np.diff(np.r_[starts, len(key_m)])
    c_lo = np.searchsorted(key_c, key_m[starts], side="left")
    n_c = np.searchsorted(key_c, key_m[starts], side="right") - c_lo
    rows_m, rows_c, authors = mine["row"].to_numpy(), ctrl["row"].to_numpy(), mine["a"].to_numpy()
    # Only the features in use as columns: each product's transpose walks every column.
    present = np.zeros(X.shape[1], bool)
    present[X.indices] = True
    X = csr_matrix((X.data, (np.cumsum(present) - 1)[X.indices], X.indptr), shape=(X.shape[0], int(present.sum())))
    # Blocks in shop order, each shop's cut into matrices of about TEXTS_PER_MATRIX texts.
    shop = key_m[starts] & 0xFFFFFFFF
    order = np.argsort(shop, kind="stable")
    shop = shop[order]
    texts = (k + n_c)[order]
    before = np.cumsum(texts) - texts
    shop_first = run_starts(shop)
    in_shop = before - np.repeat(before[shop_first], np.diff(np.r_[shop_first, len(order)]))
    part = in_shop // TEXTS_PER_MATRIX
    matrix = np.cumsum(np.r_[True, (shop[1:] != shop[:-1]) | (part[1:] != part[:-1])]) - 1
    entries = np.bincount(matrix, weights=texts).astype(np.int64) ** 2
    best_in, best_out = np.full(len(key_m), -1.0), np.full(len(key_m), -np.inf)
    n = np.zeros(len(key_m), np.int64)
    for lo, hi in chunk_ranges(entries, ENTRIES_PER_CHUNK):
        b_lo, b_hi = np.searchsorted(matrix, [lo, hi])
        blk, mat = order[b_lo:b_hi], matrix[b_lo:b_hi]
        _, i = expand(starts[blk], k[blk])  # the chunk's member texts
        i_blk, i_mat = np.repeat(blk, k[blk]), np.repeat(mat, k[blk])
        q, j = expand(starts[i_blk], k[i_blk])  # each with every member of its block (itself too)
        other = authors[i[q]] != authors[j]
        n_i = np.minimum(np.bincount(q, weights=other, minlength=len(i)).astype(np.int64), n_c[i_blk])
        cq, cj = expand(c_lo[i_blk], n_i)  # each with its block's first n_i controls
        sims = _dots(X, np.r_[i_mat[q], i_mat[cq]], np.r_[rows_m[i[q]], rows_m[i[cq]]], np.r_[rows_m[j], rows_c[cj]])
        best_in[i] = np.maximum.reduceat(np.where(other, sims[:len(q)], -1.0), run_starts(q))
        if len(cq):
            first = run_starts(cq)
            best_out[i[cq[first]]] = np.maximum.reduceat(sims[len(q):], first)
        n[i] = n_i
        tick(int(b_hi), len(order))
    ok = n > 0
    return (key_m >> 32)[ok], (best_in - best_out)[ok]


def _dots(X: csr_matrix, matrix: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``X[left[p]] . X[right[p]]`` of every pair ``p``: one dense product per ``matrix`` id
    over the rows its pairs use."""
    width = np.int64(X.shape[0])
    key_l, key_r = matrix.astype(np.int64) * width + left, matrix.astype(np.int64) * width + right
    used = distinct(np.r_[key_l, key_r])
    first = run_starts(used // width)
    count = np.diff(np.r_[first, len(used)]).astype(np.int64)
    base = np.r_[0, np.cumsum(count ** 2)[:-1]].astype(np.int64)
    flat = np.empty(int(np.sum(count ** 2)))
    for f, c, b in zip(first, count, base):
        rows = X[used[f:f + c] % width]
        flat[b:b + c * c] = (rows @ rows.T).toarray().ravel()
    at_l, at_r = np.searchsorted(used, key_l), np.searchsorted(used, key_r)
    which = np.searchsorted(first, at_l, side="right") - 1
    out: np.ndarray = flat[base[which] + (at_l - first[which]) * count[which] + (at_r - first[which])]
    return out


#: The IDF of the last reviews table: the family runs twice per fit (candidates, final
#: rings) on the same table, and the IDF is the costliest part of it.
_idf = LastFrame(lambda reviews: idf_table(reviews["text"]))
#: The reviews long enough to compare (r, a, m, text, h), with their fixed sampling hash.
_long_texts = LastFrame(lambda reviews: reviews.select("r", "a", "m", "text").filter(
    normalise_text(pl.col("text")).str.len_chars().fill_null(0) >= MIN_CHARS).with_columns(
    pl.col("r").hash(seed=23).alias("h")))


FAMILY = Family("text", "corroboration", test,
                "members' texts against same-shop control texts (character n-gram TF-IDF, Wilcoxon signed-rank)",
                everywhere=False)
