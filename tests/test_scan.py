"""The scan statistic of the timing families against a window-by-window count."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphfraud.detect.families._scan import SCALES_H, scan
from graphfraud.detect.stats import binom_sf


def _by_hand(groups: pl.DataFrame, reference: pl.DataFrame) -> dict[tuple[int, int], tuple]:
    """Best (p, scale_h, c, n) per (cid, ref): every anchor, every width, counted directly;
    (1, 0, 0, 0) when no window holds two of the group's times with p below 1."""
    out = {}
    for (cid, ref), part in groups.group_by("cid", "ref"):
        own = np.sort(part["t"].to_numpy())
        ref_t = np.sort(reference.filter(pl.col("ref") == ref)["t"].to_numpy())
        k, big_n = len(own), len(ref_t)
        best = (1.0, 0, 0, 0, 0)
        for at, t0 in enumerate(own):
            for hours in SCALES_H:
                end = t0 + hours * 3600
                c = int(((own >= t0) & (own < end)).sum())
                n = int(((ref_t >= t0) & (ref_t < end)).sum())
                p = float(binom_sf(np.array([c]), np.array([k]), np.array([min(1.0, n / max(big_n, 1))]))[0]) \
                    if c >= 2 else 1.0
                cand = (p, hours, at, c, n)
                best = cand if cand[:3] < best[:3] else best
        p, hours, _, c, n = best
        out[(int(cid), int(ref))] = (min(1.0, p * k * len(SCALES_H)), hours, c, n)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scan_finds_the_best_window_a_direct_count_finds(seed):
    rng = np.random.default_rng(seed)
    n_ref = 4
    # Reference timelines of very different lengths, times bunched so that windows matter.
    ref = np.concatenate([np.full(m, r) for r, m in enumerate([3000, 40, 700, 5])])
    t = 1_700_000_000 + rng.integers(0, 60 * 86400, len(ref)) // rng.choice([1, 50], len(ref))
    reference = pl.DataFrame({"ref": ref, "t": t})
    rows = []
    for cid in range(12):
        r = int(rng.integers(0, n_ref))
        pool = reference.filter(pl.col("ref") == r)["t"].to_numpy()
        k = int(rng.integers(1, 9))
        rows += [(cid, r, int(x)) for x in rng.choice(pool, k)]  # repeats: equal times
    groups = pl.DataFrame(rows, schema={"cid": pl.UInt32, "ref": pl.Int64, "t": pl.Int64}, orient="row")
    groups = groups.sample(fraction=1.0, shuffle=True, seed=seed)  # row order must not matter
    got = scan(groups, reference)
    expected = _by_hand(groups, reference)
    assert got.height == len(expected)
    for row in got.iter_rows(named=True):
        p, hours, c, n = expected[(row["cid"], row["ref"])]
        assert row["p"] == pytest.approx(p, rel=1e-12)
        assert (row["scale_h"], row["c"], row["n"]) == (hours, c, n)
