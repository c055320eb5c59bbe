"""Outcome: ratings at the focus shops moved away from what those shops' other customers give.

Null: a member's review at shop ``s`` has a star rating drawn from the shop's *other*
customers' distribution over 1-5 stars (the candidate's own reviews left out, two
pseudo-reviews at the platform's distribution as a prior), tilted by the member's own
generosity measured on its reviews *elsewhere*. Alternative: the group's ratings there
are that distribution tilted upwards, ``p(k) ∝ π_s(k) · exp((θ + b_a) k)`` with one common
``θ > 0`` (an exponential tilt: a one-parameter shift of the whole distribution, so five
stars gained and low ratings avoided both count). The likelihood-ratio test of ``θ = 0``
gives the p-value (half a χ²₁ tail: ``θ`` is tested one-sided, on the boundary).

The same test runs in a second direction, with the score ``k`` replaced by "four or five
stars" (``exp(θ · [k >= 4])``: the log-odds of a positive review, the positive-review
rate shops display and are ranked by). A ring that mixes fours and fives into shops
whose other customers give threes and lows too barely moves the mean star count but
empties the low end; a ring of five-star reviews at shops where fours are the norm moves
the first direction more. Both directions are fixed in advance, each has its own member
generosity and random-effects spread, and the smaller p-value is paid for by Bonferroni
(times two); ``rating_direction`` says which one it was.

"The shop's other customers" are those *comparable* to the member: reviewers in the same
dyadic class of review count (one review, 2-3, 4-7, 8-15, ...). Reviewers who write one
review rate at the extremes and frequent ones rate closer to the middle (on YelpChi,
reviewers with 10 or more reviews rate shops whose average is 3 stars or less 0.6 stars
above it and the best-rated shops slightly below), so a group of frequent reviewers is
not compared with a crowd of one-time reviewers. Each (shop, class) distribution is shrunk
towards the shop's distribution of all its other customers by ``α`` pseudo-reviews, ``α``
the Dirichlet-multinomial concentration of the classes around their shops, estimated
from the data by the method of moments (:func:`class_concentration`; infinite — the shop's
distribution itself — where the classes do not differ more than chance). For the focus
reviews all three (classes, ``α``, the shop's distribution) are counted over the
reviewers in no candidate group, so that a ring split into several candidates is not its
own parts' reference.

The member's generosity ``b_a`` is the same tilt fitted to its reviews at non-focus shops
(one Newton step from 0 with a unit-variance prior), so someone who gives everyone five
stars is no evidence, while a ring's accounts that rate normally elsewhere and give five
stars here are. A ring mixing four and five stars is still seen: it never gives the low
ratings a shop's other customers do.

Real groups of reviewers — friends, regulars, a reviewing community — rate a little
above or below the shops' other customers too, so in real data the group tilts vary
beyond their sampling error. The null is therefore random-effects ("empirical", in
Efron's sense): ``θ_g ~ N(0, τ² + se_g²)``, tilts measured as the signed root of the
likelihood ratio times the standard error at no tilt. ``τ²`` is read off the candidates
that rate *below* their shops' others — rings, always on the upper side, do not
contaminate it — as their mean squared tilt beyond sampling variance, when there are
``EMPIRICAL_MIN`` of them, and never below ``TAU_MIN²``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl

from ...arrays import chunk_ranges
from ..platform import LOW_RATING, TOP_RATING
from ..stats import norm_sf
from . import Family, Inputs

#: Pseudo-reviews at the platform distribution added to every shop's distribution.
SHOP_PRIOR = 2.0
#: Prior precision of an account's own tilt (unit variance).
ACCOUNT_PRIOR = 1.0
#: Candidates needed to estimate the between-group spread of tilts (the empirical null).
EMPIRICAL_MIN = 50
#: The directions a group can push ratings in, as scores of 1-5 stars: the mean star
#: (five stars gained and low ratings avoided both count) and the share of positive
#: reviews, four or five stars (the positive-review rate, 好评率, that shops display and are
#: ranked by). A ring mixing fours and fives into shops whose other customers also give
#: threes and lows moves the second far more than the first.
DIRECTIONS = {"stars": np.arange(1, 6, dtype=float), "positive": np.array([0, 0, 0, 1, 1], dtype=float)}
#: Smallest between-group spread of tilts assumed, per direction. A group rating its shops
#: 0.15 "stars of tilt" above their other customers (about four points of five-star share)
#: is within what real communities of reviewers do (measured on YelpNYC: 0.13); rings
#: tilt by 0.5 to 5. On the positive direction (log-odds of four or five stars), 0.2 is
#: the same four points where about 70% of reviews are positive (on Yelp the measured
#: spread is wider, 0.43-0.55, and is used).
TAU_MIN = {"stars": 0.15, "positive": 0.2}
_CATS = [f"c{k}" for k in range(1, 6)]


def _moments(pi: np.ndarray, theta: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the tilted distribution's normaliser (log), mean and variance of the score."""
    logw = np.log(np.clip(pi, 1e-12, None)) + theta[:, None] * score[None, :]
    top = logw.max(axis=1, keepdims=True)
    w = np.exp(logw - top)
    z = w.sum(axis=1, keepdims=True)
    p = w / z
    # Row sums, not a matrix product: BLAS may sum a row in another order depending on
    # how many rows it is given, and a member's moments must not depend on its chunk.
    mean = (p * score[None, :]).sum(axis=1)
    var = (p * (score ** 2)[None, :]).sum(axis=1) - mean ** 2
    return (np.log(z) + top).ravel(), mean, var


def _shift(pi: np.ndarray, x: np.ndarray, group: np.ndarray, n_groups: int, offset: np.ndarray,
           prior: float, steps: int, score: np.ndarray) -> np.ndarray:
    """Per group, the tilt maximising the (penalised) likelihood of the scores ``x``, by
    Newton steps from 0."""
    theta = np.zeros(n_groups)
    for _ in range(steps):
        _, mean, var = _moments(pi, theta[group] + offset, score)
        gradient = np.bincount(group, x - mean, n_groups) - prior * theta
        info = np.bincount(group, var, n_groups) + prior
        theta = theta + gradient / np.maximum(info, 1e-9)
    return theta


def _counts(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Reviews per star (columns c1..c5) for every value of ``by``."""
    return frame.group_by(by).agg([(pl.col("k") == j).sum().alias(c) for j, c in zip(range(1, 6), _CATS)])


def reviewer_class(reviews: pl.DataFrame) -> pl.DataFrame:
    """(a, cls): each account's dyadic class of review count, ``floor(log2 n)``.

    >>> reviewer_class(pl.DataFrame({"a": [1, 2, 2, 3, 3, 3, 3]})).sort("a")["cls"].to_list()
    [0, 1, 2]
    """
    return reviews.group_by("a").agg(pl.len().cast(pl.Float64).log(2).floor().cast(pl.Int64).alias("cls"))


def class_concentration(cells: np.ndarray, shops: np.ndarray, base: np.ndarray) -> float:
    """Method-of-moments Dirichlet-multinomial concentration of (shop, class) rating counts
    ``cells`` around their shops' counts ``shops`` (one row per cell, same shop order).

    Each cell with ``n >= 2`` reviews is compared with its shop's *other* classes (plus the
    shop prior), share by share: under a Dirichlet-multinomial with concentration ``α`` a
    share's squared difference has mean ``π(1-π)·(1 + (n-1)/(α+1) + n/R)/n`` (the last term
    the reference's own sampling noise, ``R`` its reviews). The squares are weighted by the
    platform's shares ``base`` (fixed numbers: a weight estimated from the same counts
    would bias the sum) and pooled over cells, which gives ``1/(α+1)``; ``inf`` when the
    classes are no more different than chance.

    >>> rng = np.random.default_rng(0)
    >>> mix = np.array([0.1, 0.1, 0.2, 0.3, 0.3])
    >>> same = rng.multinomial(40, mix, size=(200, 2)).astype(float)
    >>> class_concentration(same[:, 0], same.sum(axis=1), mix) > 200
    True
    >>> apart = np.stack([rng.multinomial(40, rng.dirichlet(5 * mix)) for _ in range(200)]).astype(float)
    >>> 3 < class_concentration(apart, apart + same[:, 1], mix) < 8
    True
    """
    n = cells.sum(axis=1)
    ref = shops - cells
    ok = (n >= 2) & (ref.sum(axis=1) >= 1)
    if not ok.any():
        return math.inf
    n, cells, ref = n[ok], cells[ok], ref[ok] + SHOP_PRIOR * base
    r = ref.sum(axis=1)
    pi = ref / r[:, None]
    weight = 1 / np.clip(base, 1e-12, None)
    stat = n * (((cells / n[:, None] - pi) ** 2) * weight).sum(axis=1)
    spread = (pi * (1 - pi) * weight).sum(axis=1)
    excess = math.fsum(stat.tolist()) - math.fsum((spread * (1 + n / r)).tolist())
    # No spread at all: every rating on the platform is one star value, so there is no
    # mix for classes to differ in.
    scale = math.fsum((spread * (n - 1)).tolist())
    rho = excess / scale if scale > 0 else 0.0
    return 1 / rho - 1 if rho > 0 else math.inf


def test(inp: Inputs) -> pl.DataFrame:
    rv = inp.prep.reviews.select("a", "m", pl.col("rating").round(0).clip(1, 5).cast(pl.Int64).alias("k"))
    base = np.bincount(rv["k"].to_numpy(), minlength=6)[1:].astype(float)
    base = base / max(base.sum(), 1.0)
    rv = rv.join(reviewer_class(rv), on="a")
    shops = _counts(rv, ["m"])
    # The focus reviews' reference holds no account of any candidate: a large ring split
    # into several candidates would otherwise be its own siblings' comparable customers
    # (they share its review count and its shops), and it would estimate ``alpha`` as if
    # classes rated apart because the ring does.
    bystanders = rv.join(inp.cands.members.select("a").unique(), on="a", how="anti")
    classes = _counts(bystanders, ["m", "cls"])
    bystander_shops = _counts(bystanders, ["m"])
    paired = classes.join(bystander_shops.rename({c: f"all_{c}" for c in _CATS}), on="m")
    alpha = class_concentration(paired.select(_CATS).to_numpy().astype(float),
                                paired.select([f"all_{c}" for c in _CATS]).to_numpy().astype(float), base)
    mine = inp.cands.members.join(rv, on="a")
    focus = inp.focus.select("cid", "m").with_columns(pl.lit(True).alias("in_focus"))
    mine = mine.join(focus, on=["cid", "m"], how="left").with_columns(pl.col("in_focus").fill_null(False))
    schema = {"cid": pl.UInt32, "p_rating": pl.Float64}
    inside = mine.filter("in_focus")
    if inside.height == 0:
        return pl.DataFrame(schema=schema)

    # Shop distributions: all customers for outside reviews, the bystanders for focus
    # reviews (a split ring's other parts are not its reference); those of the member's
    # class, shrunk towards the shop's by ``alpha`` pseudo-reviews.
    def dist(frame: pl.DataFrame, reference: pl.DataFrame) -> np.ndarray:
        counts: np.ndarray = (frame.join(reference, on="m", how="left", maintain_order="left").select(_CATS)
                              .fill_null(0).to_numpy().astype(float))
        counts = counts + SHOP_PRIOR * base
        shares: np.ndarray = counts / counts.sum(axis=1, keepdims=True)
        if math.isinf(alpha):
            return shares
        same: np.ndarray = (frame.join(classes, on=["m", "cls"], how="left", maintain_order="left").select(_CATS)
                            .fill_null(0).to_numpy().astype(float))
        same = same + alpha * shares
        out: np.ndarray = same / same.sum(axis=1, keepdims=True)
        return out

    outside = mine.filter(~pl.col("in_focus"))
    acc_key = outside.select("cid", "a").unique(maintain_order=True).with_row_index("g")
    # Each member's reviews elsewhere in one run (a stable sort keeps their order, so each
    # member's sums are the same), a few members at a time: five shares per review, in
    # several arrays, were gigabytes over two years.
    out = outside.join(acc_key, on=["cid", "a"]).sort("g", maintain_order=True)
    generosity = _generosity(out, acc_key.height, lambda part: dist(part, shops))
    inside = inside.sort("cid")
    acc_of = inside.join(acc_key, on=["cid", "a"], how="left", maintain_order="left")["g"]
    has_b = acc_of.is_not_null().to_numpy()
    acc_in = acc_of.fill_null(0).to_numpy().astype(np.int64)
    pi = dist(inside, bystander_shops)
    cids = inside.select("cid").unique(maintain_order=True).with_row_index("g")
    g = inside.join(cids, on="cid", maintain_order="left")["g"].to_numpy().astype(np.int64)
    k_in = inside["k"].to_numpy() - 1
    tilts, offsets = {}, {}
    for name, score in DIRECTIONS.items():
        b = generosity[name]
        offsets[name] = np.where(has_b, b[acc_in], 0.0) if b.size else np.zeros(inside.height)
        tilts[name] = _tilt(pi, score, score[k_in], g, cids.height, offsets[name], TAU_MIN[name])
    # Bonferroni over the directions, both fixed before looking at the data.
    p_dir = np.stack([t[2] for t in tilts.values()])
    best = p_dir.argmin(axis=0)
    p = np.minimum(1.0, len(DIRECTIONS) * p_dir.min(axis=0))
    theta = np.choose(best, [t[0] for t in tilts.values()])
    se = np.choose(best, [t[1] for t in tilts.values()])
    # Counts for the reasons: five-star and low ratings observed and expected without a
    # tilt, with each member's generosity in mean stars.
    offset, stars = offsets["stars"], DIRECTIONS["stars"]
    logz0, _, _ = _moments(pi, offset, stars)
    p5_0 = np.exp(np.log(np.clip(pi[:, 4], 1e-12, None)) + 5 * offset - logz0)
    low = np.clip(pi[:, :3], 1e-12, None) * np.exp(stars[:3][None, :] * offset[:, None])
    plow_0 = low.sum(axis=1) / np.exp(logz0)
    stats = (inside.select("cid", "m", (pl.col("k") >= TOP_RATING).alias("top"),
                           (pl.col("k") <= LOW_RATING).alias("low"))
             .with_columns(pl.Series("e_top", p5_0), pl.Series("e_low", plow_0), pl.Series("g", g)))
    agg = stats.group_by("cid").agg(
        pl.len().alias("rating_reviews"), pl.col("m").n_unique().alias("rating_shops"),
        pl.col("top").sum().alias("rating_top_obs"), pl.col("e_top").sum().alias("rating_top_exp"),
        pl.col("low").sum().alias("rating_low_obs"), pl.col("e_low").sum().alias("rating_low_exp"),
        pl.col("g").first())
    names = np.array(list(DIRECTIONS))
    agg = agg.sort("g").with_columns(pl.Series("rating_direction", names[best]),
                                     pl.Series("rating_shift", np.round(theta, 4)), pl.Series("rating_se", se),
                                     pl.Series("p_rating", np.clip(p, 1e-300, 1.0))).drop("g")
    return agg


#: Reviews elsewhere whose shop distributions are held at once (five shares each, in a
#: few arrays): bounds the memory of the members' generosity, not its values.
ROWS_PER_CHUNK = 2_000_000


def _generosity(out: pl.DataFrame, n_accounts: int,
                dist: Callable[[pl.DataFrame], np.ndarray]) -> dict[str, np.ndarray]:
    """Per direction, each member's generosity (a tilt per row ``g`` of the members) from its
    reviews elsewhere: ``out`` (g, k, ...) sorted by ``g``, ``dist`` the shop
    distributions of a slice of it. Members are taken whole, a few at a time."""
    g = out["g"].to_numpy().astype(np.int64)
    per = np.bincount(g, minlength=n_accounts)
    ends = np.cumsum(per)
    result = {name: np.zeros(n_accounts) for name in DIRECTIONS}
    for lo, hi in chunk_ranges(per, ROWS_PER_CHUNK):
        r_lo, r_hi = int(ends[lo - 1]) if lo else 0, int(ends[hi - 1])
        part = out.slice(r_lo, r_hi - r_lo)
        pi, k = dist(part), part["k"].to_numpy() - 1
        for name, score in DIRECTIONS.items():
            result[name][lo:hi] = _shift(pi, score[k], g[r_lo:r_hi] - lo, hi - lo, np.zeros(r_hi - r_lo),
                                         ACCOUNT_PRIOR, 1, score)
    return result


def _tilt(pi: np.ndarray, score: np.ndarray, x: np.ndarray, g: np.ndarray, n_groups: int, offset: np.ndarray,
          tau_min: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One direction's test. Per group: the fitted tilt, its standard error at no tilt and
    the one-sided p-value under the random-effects null."""
    theta = np.clip(_shift(pi, x, g, n_groups, offset, 0.0, 8, score), -10.0, 10.0)
    # The standard error at no tilt: finite even when every rating is five stars.
    logz0, _, var0 = _moments(pi, offset, score)
    se = 1 / np.sqrt(np.maximum(np.bincount(g, var0, n_groups), 1e-9))
    logz1, _, _ = _moments(pi, theta[g] + offset, score)
    ll1 = np.bincount(g, (theta[g] + offset) * x - logz1, n_groups)
    ll0 = np.bincount(g, offset * x - logz0, n_groups)
    lr = np.clip(2 * (ll1 - ll0), 0.0, None)
    # The likelihood ratio as a tilt on the standard-error scale (close to the fitted tilt
    # where that is well defined, and finite where it is not).
    shift = np.sign(theta) * np.sqrt(lr) * se
    below = shift < 0
    # Groups rating *below* their shops' others show the natural spread of group tilts
    # uncontaminated (rings only ever add to the upper side); it is never taken below
    # the minimum effect of interest.
    tau2 = tau_min ** 2
    if below.sum() >= EMPIRICAL_MIN:
        tau2 = max(tau2, float(np.mean(shift[below] ** 2) - np.mean(se[below] ** 2)))
    # Between-group variation dominates a big group's uncertainty, so many reviews with a
    # small tilt no longer look extreme.
    p = np.where(shift > 0, norm_sf(shift / np.sqrt(se ** 2 + tau2)), 1.0)
    return theta, se, p


FAMILY = Family("rating", "outcome", test,
                "members' star ratings at their focus shops against those shops' other customers who write as "
                "many reviews (exponential tilt, likelihood ratio), adjusted for each member's own generosity "
                "elsewhere")
