"""The rating outcome test: calibrated under its null, and what it sees of a small mixed 4/5-star ring."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from graphfraud.detect.candidates import Candidates
from graphfraud.detect.families import Inputs, rating

N_SHOPS, N_GROUPS, GROUP, FOCUS, OTHERS = 80, 300, 6, 3, 2_000


def _inputs(a: np.ndarray, m: np.ndarray, stars: np.ndarray, members: np.ndarray, focus: np.ndarray) -> Inputs:
    """The rating family's inputs: reviews (a, m, stars), groups ``members`` (one row of
    accounts per group) and their ``focus`` shops (one row of shops per group)."""
    n_groups, size = members.shape
    reviews = pl.DataFrame({"a": a.astype(np.uint32), "m": m.astype(np.uint32), "rating": stars.astype(float)})
    cand = pl.DataFrame({"cid": np.repeat(np.arange(n_groups), size).astype(np.uint32),
                         "a": members.ravel().astype(np.uint32)})
    sources = pl.DataFrame({"cid": np.arange(n_groups, dtype=np.uint32), "source": ["test"] * n_groups,
                            "size": np.full(n_groups, size, dtype=np.uint32)})
    focus_df = pl.DataFrame({"cid": np.repeat(np.arange(n_groups), focus.shape[1]).astype(np.uint32),
                             "m": focus.ravel().astype(np.uint32)})
    return Inputs(SimpleNamespace(reviews=reviews), None, Candidates(cand, sources), focus_df)  # type: ignore[arg-type]


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
    return _inputs(a, m, stars, members, focus)


def _pooled(column: str, seeds=range(4)) -> np.ndarray:
    return np.concatenate([rating.test(_market(seed, ring=False))[column].to_numpy() for seed in seeds])


def test_likelihood_ratio_is_uniform_when_the_null_is_known(monkeypatch):
    # Groups that rate like everyone else, no spread between groups assumed and no
    # member tendency fitted (these accounts have none): the likelihood-ratio test must
    # then give uniform p-values.
    monkeypatch.setattr(rating, "TAU_MIN", dict.fromkeys(rating.DIRECTIONS, 0.0))
    monkeypatch.setattr(rating, "EMPIRICAL_MIN", 10**9)
    monkeypatch.setattr(rating, "ACCOUNT_PRIOR", 1e12)
    p = _pooled("p_rating")
    assert p.size == 4 * N_GROUPS
    assert 0.03 <= (p < 0.05).mean() <= 0.08, (p < 0.05).mean()
    assert 0.15 <= (p < 0.2).mean() <= 0.25, (p < 0.2).mean()


def test_family_is_calibrated_at_its_defaults():
    # The same null groups with each member's tendency fitted on its other reviews, as
    # the detector runs. Each direction alone is anti-conservative here (the mean-star
    # tilt: 7.1% of p-values below 0.05, 1.5% below 0.01), because the noise of the fitted
    # tendency is not in the standard error; the Bonferroni step over the two directions
    # pays for it on this market (4.7% and 1.1%).
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


def test_mixed_ring_is_seen_in_the_share_of_positive_reviews(monkeypatch):
    # The ring of four- and five-star reviews empties the low end of its shops' mixes
    # more than it raises their mean star: the positive-review direction finds it ten
    # times more strongly, after paying the Bonferroni factor for asking twice.
    both = rating.test(_market(3, ring=True)).sort("cid").row(0, named=True)
    monkeypatch.setattr(rating, "DIRECTIONS", {"stars": rating.DIRECTIONS["stars"]})
    stars = rating.test(_market(3, ring=True)).sort("cid").row(0, named=True)
    assert both["rating_direction"] == "positive" and stars["rating_direction"] == "stars"
    assert both["p_rating"] < stars["p_rating"] / 5


def _classes_market(seed: int, ring: bool) -> Inputs:
    """Reviewers of two kinds, as on real review sites: frequent reviewers rate each shop
    from a moderate mix, one-time reviewers complain or rave (most of their ratings are one
    or five stars). Disjoint groups of six frequent reviewers review three shops together
    and rate them like the other frequent reviewers there (the null); optionally group 0
    is a ring giving four and five stars at its shops."""
    rng = np.random.default_rng(seed)
    n_shops, n_groups, group, focus_n = 60, 300, 6, 3
    moderate = rng.dirichlet([0.5, 1.5, 4.0, 3.0, 1.0], n_shops)
    rave = rng.uniform(0.2, 0.8, n_shops)
    extreme = np.zeros((n_shops, 5))
    extreme[:, 0], extreme[:, 4] = 1 - rave, rave
    crowd = 0.4 * moderate + 0.6 * extreme
    n_freq, n_once = n_groups * group + 1_500, 30_000
    rows_a = [np.repeat(np.arange(n_freq), 10), n_freq + np.arange(n_once)]
    rows_m = [rng.integers(0, n_shops, n_freq * 10), rng.integers(0, n_shops, n_once)]
    focus = np.stack([rng.choice(n_shops, focus_n, replace=False) for _ in range(n_groups)])
    members = np.arange(n_groups * group).reshape(n_groups, group)
    rows_a.append(np.repeat(members, focus_n, axis=1).ravel())
    rows_m.append(np.tile(focus, group).ravel())
    a, m = np.concatenate(rows_a), np.concatenate(rows_m)
    mix = np.where((a < n_freq)[:, None], moderate[m], crowd[m])
    stars = 1 + (rng.random(len(a))[:, None] > np.cumsum(mix, axis=1)).sum(axis=1).clip(0, 4)
    if ring:
        inside = np.isin(a, members[0]) & np.isin(m, focus[0])
        stars[inside] = np.where(rng.random(inside.sum()) < 0.5, 5, 4)
    return _inputs(a, m, stars, members, focus)


def _concentration(inp: Inputs) -> float:
    rv = inp.prep.reviews.select("a", "m", pl.col("rating").cast(pl.Int64).alias("k"))
    rv = rv.join(rating.reviewer_class(rv), on="a")
    base = np.bincount(rv["k"].to_numpy(), minlength=6)[1:] / rv.height
    paired = rating._counts(rv, ["m", "cls"]).join(
        rating._counts(rv, ["m"]).rename({f"c{k}": f"all_c{k}" for k in range(1, 6)}), on="m")
    return rating.class_concentration(paired.select([f"c{k}" for k in range(1, 6)]).to_numpy().astype(float),
                                      paired.select([f"all_c{k}" for k in range(1, 6)]).to_numpy().astype(float),
                                      base)


def test_reviewer_classes_are_told_apart_only_where_they_rate_differently():
    # One-time and frequent reviewers rate differently here: a finite concentration. In
    # the first market every account rates from its shop's one mix: the classes are one.
    assert _concentration(_classes_market(0, ring=False)) < 20
    assert _concentration(_market(0, ring=False)) == float("inf")


def test_groups_of_frequent_reviewers_are_calibrated_against_their_own_kind():
    p = np.concatenate([rating.test(_classes_market(seed, ring=False))["p_rating"].to_numpy() for seed in range(3)])
    assert (p < 0.05).mean() <= 0.06, (p < 0.05).mean()
    assert (p < 0.01).mean() <= 0.015, (p < 0.01).mean()


@pytest.mark.parametrize("seed", [4, 5])
def test_ring_of_frequent_reviewers_is_seen_against_their_own_kind(seed):
    # Eighteen four- and five-star reviews by frequent reviewers at shops where frequent
    # reviewers mostly give three or four. Against the whole crowd — one-time reviewers
    # raving or complaining — they looked ordinary (p 3·10⁻⁴ and 10⁻³ with every customer
    # as the reference); against reviewers of their own kind they pass a Bonferroni
    # correction over the 300 groups at 1%.
    out = rating.test(_classes_market(seed, ring=True)).sort("cid")
    ring, rest = out.row(0, named=True), out.slice(1)
    assert ring["rating_low_obs"] == 0
    assert ring["p_rating"] < 0.01 / 300
    assert ring["p_rating"] < rest["p_rating"].min()


def test_class_concentration_of_a_platform_with_one_star_value_is_infinite():
    # Every rating five stars (found by the property test: a valid dataset of three
    # reviews): no mix to differ in, so the classes are treated as alike, not divided by 0.
    base = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    cells = np.array([[0.0, 0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0, 3.0]])
    assert rating.class_concentration(cells, cells + cells, base) == float("inf")


@pytest.mark.parametrize("chunk", [1, 37])
def test_members_generosity_taken_a_few_members_at_a_time_changes_nothing(monkeypatch, chunk):
    # Overlapping groups (each member also in a group of all), so a member's reviews
    # elsewhere are counted once per group; tiny chunks hold a member or two each.
    inp = _market(3, ring=True)
    members = inp.cands.members
    everyone = members.with_columns(pl.lit(N_GROUPS).cast(pl.UInt32).alias("cid"))
    focus = pl.concat([inp.focus, inp.focus.with_columns(pl.lit(N_GROUPS).cast(pl.UInt32).alias("cid"))]).unique()
    inp = Inputs(inp.prep, None, Candidates(pl.concat([members, everyone]), inp.cands.sources), focus)  # type: ignore[arg-type]
    want = rating.test(inp)
    monkeypatch.setattr(rating, "ROWS_PER_CHUNK", chunk)
    got = rating.test(inp)
    assert got.height == N_GROUPS + 1 and got.equals(want)
    assert got.filter(pl.col("cid") == 0)["p_rating"].item() < 0.01
