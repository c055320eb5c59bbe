"""The text family's comparison: every block's pairs gathered at once equal a loop over blocks."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.sparse import csr_matrix

from graphfraud.detect.families import text


def _loop(X: np.ndarray, mine: pl.DataFrame, ctrl: pl.DataFrame) -> tuple[list[int], list[float]]:
    """The comparison block by block, as the family defines it."""
    cids, diffs = [], []
    for (cid, m), block in mine.group_by("cid", "m", maintain_order=True):
        controls = ctrl.filter((pl.col("cid") == cid) & (pl.col("m") == m))["row"].to_numpy()
        rows, authors = block["row"].to_numpy(), block["a"].to_numpy()
        for i in range(len(rows)):
            others = [j for j in range(len(rows)) if authors[j] != authors[i]]
            n = min(len(others), len(controls))
            if n == 0:
                continue
            s_in = max(X[rows[i]] @ X[rows[j]] for j in others)
            s_out = max(X[rows[i]] @ X[c] for c in controls[:n])
            cids.append(cid)
            diffs.append(s_in - s_out)
    return cids, diffs


def _case(seed: int) -> tuple[np.ndarray, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    n_texts, n_features = 400, 60
    dense = rng.random((n_texts, n_features)) * (rng.random((n_texts, n_features)) < 0.15)
    dense[rng.random(n_texts) < 0.05] = 0.0  # texts with no feature at all
    dense[1] = dense[0]  # two equal texts
    norms = np.linalg.norm(dense, axis=1)
    dense = dense / np.where(norms == 0, 1.0, norms)[:, None]
    shop_of = rng.integers(0, 6, n_texts)  # a text belongs to one shop
    mine, ctrl = [], []
    for cid in range(40):
        for m in rng.choice(6, rng.integers(1, 4), replace=False):
            at = np.flatnonzero(shop_of == m)
            rows = rng.choice(at, min(len(at), rng.integers(1, 9)), replace=False)
            # Few authors, so that some members have no text by another member.
            authors = rng.integers(0, rng.integers(1, 4), len(rows)) + 10 * cid
            mine += [(cid, m, a, r) for a, r in zip(authors, rows)]
            rest = np.setdiff1d(at, rows)
            ctrl += [(cid, m, r) for r in rng.choice(rest, min(len(rest), rng.integers(0, 9)), replace=False)]
    mine_f = pl.DataFrame(mine, schema={"cid": pl.UInt32, "m": pl.UInt32, "a": pl.UInt32, "row": pl.Int64},
                          orient="row")
    ctrl_f = pl.DataFrame(ctrl, schema={"cid": pl.UInt32, "m": pl.UInt32, "row": pl.Int64}, orient="row")
    # Sorted by block, each block's rows in a fixed order: as the family sorts them (by hash).
    return dense, mine_f.sort("cid", "m", maintain_order=True), ctrl_f.sort("cid", "m", maintain_order=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("limits", [(text.TEXTS_PER_MATRIX, text.ENTRIES_PER_CHUNK), (7, text.ENTRIES_PER_CHUNK),
                                    (text.TEXTS_PER_MATRIX, 50), (5, 30)])
def test_gathered_comparison_equals_the_loop_over_blocks(monkeypatch, seed, limits):
    # Small limits cut shops into several matrices and the blocks into many chunks.
    monkeypatch.setattr(text, "TEXTS_PER_MATRIX", limits[0])
    monkeypatch.setattr(text, "ENTRIES_PER_CHUNK", limits[1])
    dense, mine, ctrl = _case(seed)
    X = csr_matrix(dense)
    X.resize(dense.shape[0], 1 << 20)  # the hashed feature space: mostly empty columns
    ticks: list[tuple[int, int]] = []
    cid, d = text._compare(X, mine, ctrl, lambda done, total: ticks.append((done, total)))
    blocks = mine.select("cid", "m").n_unique()
    assert ticks == sorted(ticks) and ticks[-1] == (blocks, blocks)  # progress: every block, once
    want_cid, want_d = _loop(dense, mine, ctrl)
    assert len(want_cid) > 50
    assert cid.tolist() == want_cid
    np.testing.assert_allclose(d, want_d, rtol=0, atol=1e-12)
    # Blocks where a member has no other author, or no control, were met and left out.
    assert len(want_cid) < mine.height
