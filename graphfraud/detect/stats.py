"""Tail probabilities, p-value combination and false-discovery control (vectorised).

Every evidence family in :mod:`graphfraud.detect.families` reduces to one of a few
classical tails — Poisson, binomial, hypergeometric, normal — evaluated on numpy
arrays, one entry per candidate. p-values are floored at :data:`P_FLOOR` so that
logarithms stay finite; a floored value still sorts below every real one.

>>> round(float(poisson_sf(np.array([3]), np.array([0.5]))[0]), 4)
0.0144
>>> bh(np.array([0.001, 0.01, 0.02, 0.5])).round(3).tolist()
[0.004, 0.02, 0.027, 0.5]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import special

#: Smallest p-value represented (about 1e-300): keeps ``-log10 p`` finite.
P_FLOOR = 1e-300


def _floor(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    floored: npt.NDArray[np.float64] = np.clip(np.nan_to_num(np.asarray(p, dtype=float), nan=1.0), P_FLOOR, 1.0)
    return floored


def poisson_sf(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``P(X >= k)`` for ``X ~ Poisson(mu)`` (1 where ``k <= 0``)."""
    k = np.asarray(k, dtype=float)
    mu = np.maximum(np.asarray(mu, dtype=float), 1e-12)
    out = np.ones(np.broadcast(k, mu).shape)
    pos = np.broadcast_to(k > 0, out.shape)
    kk, mm = np.broadcast_to(k, out.shape)[pos], np.broadcast_to(mu, out.shape)[pos]
    out[pos] = special.gammainc(kk, mm)
    return _floor(out)


def binom_sf(k: npt.ArrayLike, n: npt.ArrayLike, p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)`` (1 where ``k <= 0``, 0 where ``k > n``).

    >>> binom_sf(np.array([2]), np.array([2]), np.array([0.5])).tolist()
    [0.25]
    """
    k, n, p = (np.asarray(x, dtype=float) for x in (k, n, p))
    k, n, p = np.broadcast_arrays(k, n, p)
    out = np.ones(k.shape)
    pos = k > 0
    ok = pos & (k <= n)
    out[pos & ~ok] = 0.0
    pp = np.clip(p[ok], 1e-15, 1 - 1e-15)
    out[ok] = special.betainc(k[ok], n[ok] - k[ok] + 1, pp)
    return _floor(out)


def hypergeom_sf(k: npt.ArrayLike, total: npt.ArrayLike, good: npt.ArrayLike,
                 draws: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``P(X >= k)`` when ``draws`` items are taken without replacement from ``total``
    of which ``good`` are marked — bounded by the binomial with the same mean.

    Sampling without replacement is more concentrated than with replacement, so
    Binomial(min(good, draws), max(good, draws) / total) has the heavier upper tail: a
    slightly conservative stand-in that costs one incomplete beta function, not a sum.

    >>> round(float(hypergeom_sf(np.array([2]), np.array([10]), np.array([2]), np.array([2]))[0]), 4)
    0.04
    """
    k, total, good, draws = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (k, total, good, draws)))
    n = np.minimum(good, draws)
    p = np.minimum(1.0, np.maximum(good, draws) / np.maximum(total, 1.0))
    return binom_sf(k, n, p)


def norm_sf(z: np.ndarray) -> np.ndarray:
    """Upper tail of the standard normal."""
    return _floor(special.ndtr(-np.asarray(z, dtype=float)))


def fisher(*pvalues: np.ndarray) -> np.ndarray:
    """Fisher's combination of independent p-values, column-wise; NaN entries are absent.

    >>> fisher(np.array([0.01, np.nan]), np.array([0.01, 0.2])).round(5).tolist()
    [0.00102, 0.2]
    """
    p = np.vstack([np.asarray(x, dtype=float) for x in pvalues])
    present = ~np.isnan(p)
    k = present.sum(axis=0)
    stat = -2 * np.where(present, np.log(np.clip(p, P_FLOOR, 1.0)), 0.0).sum(axis=0)
    out = np.ones(p.shape[1])
    has = k > 0
    out[has] = special.chdtrc(2 * k[has], stat[has])
    return _floor(out)


def min_bonferroni(*pvalues: np.ndarray) -> np.ndarray:
    """Smallest present p-value times the number present (NaN = absent), column-wise."""
    p = np.vstack([np.asarray(x, dtype=float) for x in pvalues])
    present = ~np.isnan(p)
    k = np.maximum(present.sum(axis=0), 1)
    best = np.where(present, p, 1.0).min(axis=0)
    return _floor(np.minimum(1.0, best * k))


def combine_any(*pvalues: np.ndarray) -> np.ndarray:
    """Evidence that at least one family fires, powerful whether one or several do.

    The smaller of Fisher's combination (several moderate signals) and the Bonferroni
    minimum (one strong signal), doubled: a Bonferroni bound over the two rules, valid
    whatever their dependence.
    """
    return _floor(np.minimum(1.0, 2 * np.minimum(fisher(*pvalues), min_bonferroni(*pvalues))))


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values)."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def bh_grouped(p: np.ndarray, group: np.ndarray, group_size: np.ndarray, n_groups: int,
               fdr: float) -> np.ndarray:
    """q-values of a two-level false-discovery step over groups of tests (Benjamini &
    Bogomolov 2014): BH over the groups' Simes p-values selects ``R`` of the ``n_groups``
    groups at ``fdr``; inside a selected group, BH at level ``fdr · R / n_groups``.

    ``p`` are the tests given, ``group`` each one's group and ``group_size`` that group's
    number of tests in all (tests not given count as p = 1, as do groups with none given).
    A test's q-value is the larger of its group's BH q-value and its within-group BH
    q-value times ``n_groups / R``: it is at most ``fdr`` exactly when the procedure at
    ``fdr`` flags it. With one test per group the flags are plain BH's.

    >>> p = np.array([0.001, 0.002, 0.003, 0.04])
    >>> (bh_grouped(p, np.arange(4), np.ones(4), 4, 0.05) <= 0.05).tolist() == (bh(p) <= 0.05).tolist()
    True
    >>> bh_grouped(p, np.array([0, 0, 0, 1]), np.array([3, 3, 3, 1]), 2, 0.05).round(3).tolist()
    [0.006, 0.006, 0.006, 0.04]
    """
    p = np.asarray(p, dtype=float)
    if len(p) == 0:
        return p
    t = pl.DataFrame({"i": np.arange(len(p)), "p": p, "g": np.asarray(group), "s": np.asarray(group_size, float)})
    t = t.sort("g", "p", "i").with_columns(pl.int_range(1, pl.len() + 1).over("g").alias("rank"))
    t = t.with_columns((pl.col("s") * pl.col("p") / pl.col("rank")).alias("step"))
    # Within a group, BH's adjusted values: the minimum of the steps from this one on.
    t = t.with_columns(pl.col("step").reverse().cum_min().reverse().over("g").alias("within"))
    simes = t.group_by("g").agg(pl.col("step").min().alias("simes")).sort("g")
    q_group = bh(np.concatenate([simes["simes"].to_numpy(), np.ones(max(0, n_groups - simes.height))]))
    simes = simes.with_columns(pl.Series("q_group", q_group[: simes.height]))
    selected = max(int((q_group <= fdr).sum()), 1)
    t = t.join(simes.select("g", "q_group"), on="g").with_columns(
        pl.max_horizontal("q_group", pl.col("within") * n_groups / selected).clip(upper_bound=1.0).alias("q"))
    return t.sort("i")["q"].to_numpy()


def log10p(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``-log10 p``, the evidence scale of scores and reasons."""
    evidence: npt.NDArray[np.float64] = -np.log10(_floor(p))
    return evidence


def poisson_binomial_tails(observed: np.ndarray, mean: np.ndarray, var: np.ndarray,
                           log_p_none: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower tails of a sum of independent Bernoulli trials.

    Normal approximation with continuity correction; when nothing was observed the lower
    tail is the exact ``P(X = 0) = exp(log_p_none)`` if given (a ring that never gives a
    low rating where 15% of reviews are low is far more extreme than the normal says).
    """
    sd = np.sqrt(np.maximum(var, 1e-12))
    upper = norm_sf((observed - mean - 0.5) / sd)
    lower = norm_sf((mean - observed - 0.5) / sd)
    upper = np.where(observed <= 0, 1.0, upper)
    if log_p_none is not None:
        lower = np.where(observed <= 0, np.exp(np.maximum(log_p_none, np.log(P_FLOOR))), lower)
    return _floor(upper), _floor(lower)
