"""The rating outcome test: calibrated under its null, and what it sees of a small mixed 4/5-star ring."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from graphfraud.detect.candidates import Candidates
from graphfraud.detect.families import Inputs, rating

N_SHOPS, N_GROUPS, GROUP, FOCUS, OTHERS = 80, 300, 6, 3, 2_000


def _market(seed: int, ring: bool) -> Inputs:
    """Shops with their own rating mix; disjoint groups of six that each review three
    shops together, rating them like everyone else (the null); optionally group 0 a ring
    giving only four and five stars at its shops."""
    rng = np.random.default_rng(seed)
    # Mixes from mostly-happy to mixed shops: a fifth to a half of the ratings low.
    mixes = rng.dirichlet([1.0, 1.0, 1.5, 3.0, 4.0], N_SHOPS)
    popularity = 1 / np.arange(1, N_SHOPS + 1) ** 0.8
    popularity /= popularity.sum()
    n_acc = N_GROUPS * GROUP + OTHERS
    rows_a, rows_m = [np.repeat(np.arange(n_acc), 6)], [rng.choice(N_SHOPS, n_acc * 6, p=popularity)]
    focus = np.stack([rng.choice(N_SHOPS, FOCUS, replace=False) for _ in range(N_GROUPS)])
    members = np.arange(N_GROUPS * GROUP).reshape(N_GROUPS, GROUP)
    rows_a.append(np.repeat(members, FOCUS, axis=1).ravel())
    rows_m.append(np.tile(focus, GROUP).ravel())
    a, m = np.concatenate(rows_a), np.concatenate(rows_m)
    u = rng.random(len(a))
    stars = 1 + (u[:, None] > np.cumsum(mixes[m], axis=1)).sum(axis=1).clip(0, 4)
    if ring:
        # The ring reviews its shops on top of its ordinary reviews elsewhere.
        inside = np.isin(a, members[0]) & np.isin(m, focus[0])
        stars[inside] = np.where(rng.random(inside.sum()) < 0.55, 5, 4)
    reviews = pl.DataFrame({"a": a.astype(np.uint32), "m": m.astype(np.uint32), "rating": stars.astype(float)})
    cand = pl.DataFrame({"cid": np.repeat(np.arange(N_GROUPS), GROUP).astype(np.uint32),
                         "a": members.ravel().astype(np.uint32)})
    sources = pl.DataFrame({"cid": np.arange(N_GROUPS, dtype=np.uint32), "source": ["test"] * N_GROUPS,
                            "size": np.full(N_GROUPS, GROUP, dtype=np.uint32)})
    focus_df = pl.DataFrame({"cid": np.repeat(np.arange(N_GROUPS), FOCUS).astype(np.uint32),
                             "m": focus.ravel().astype(np.uint32)})
    return Inputs(SimpleNamespace(reviews=reviews), None, Candidates(cand, sources), focus_df)  # type: ignore[arg-type]


def _pooled(column: str, seeds=range(4)) -> np.ndarray:
    return np.concatenate([rating.test(_market(seed, ring=False))[column].to_numpy() for seed in seeds])


def test_likelihood_ratio_is_uniform_when_the_null_is_known(monkeypatch):
    # Groups that rate like everyone else, no spread between groups assumed and no
    # member tendency fitted (these accounts have none): the likelihood-ratio test must
    # then give uniform p-values.
    monkeypatch.setattr(rating, "TAU_MIN", 0.0)
    monkeypatch.setattr(rating, "EMPIRICAL_MIN", 10**9)
    monkeypatch.setattr(rating, "ACCOUNT_PRIOR", 1e12)
    p = _pooled("p_rating")
    assert p.size == 4 * N_GROUPS
    assert 0.03 <= (p < 0.05).mean() <= 0.08, (p < 0.05).mean()
    assert 0.15 <= (p < 0.2).mean() <= 0.25, (p < 0.2).mean()


@pytest.mark.xfail(strict=True, reason="known defect: the noise of each member's fitted tendency is not in the "
                   "standard error; on these null groups 6.7% of p-values fall below 0.05 and 1.2% below 0.01 at "
                   "the defaults (12.9% and 5.3% without the TAU_MIN floor); see docs/concepts.md")
def test_family_is_calibrated_at_its_defaults():
    # The same null groups with each member's tendency fitted on its other reviews, as
    # the detector runs.
    p = _pooled("p_rating")
    assert (p < 0.05).mean() <= 0.06, (p < 0.05).mean()
    assert (p < 0.01).mean() <= 0.015, (p < 0.01).mean()


def test_small_mixed_four_five_star_ring_is_seen():
    out = rating.test(_market(3, ring=True)).sort("cid")
    ring, rest = out.row(0, named=True), out.slice(1)
    # Six accounts, eighteen reviews of four and five stars at shops whose other
    # customers give low ratings too.
    assert ring["rating_low_obs"] == 0 and ring["rating_low_exp"] > 3
    assert ring["p_rating"] < 1e-3
    assert ring["p_rating"] < rest["p_rating"].min()
