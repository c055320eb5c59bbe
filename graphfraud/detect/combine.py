"""From family p-values to flagged rings: an intersection–union test under FDR control.

A ring is a conjunction: it must move an *outcome* (ratings, refund money, likes) AND be
tied together by something else (synchrony, infrastructure, text, money, registration
batch, shop staff). For one candidate

* ``p_outcome`` = Bonferroni minimum over the outcome families it could be measured on;
* ``p_tie`` = the stronger of Fisher's combination and the Bonferroni minimum over the
  corroborating families, doubled (:func:`graphfraud.detect.stats.combine_any`);
* ``p_ring`` = ``max(p_outcome, p_tie)`` — the intersection–union test of "no outcome
  effect or no tie", valid at the level of its larger part without further correction.

Benjamini–Hochberg over every candidate tested turns ``p_ring`` into ``q_ring``; a
candidate is flagged when ``q_ring <= fdr``, the one strictness parameter. Tests and
discoveries are counted in groups of near-duplicate candidates when the caller gives
them (:meth:`~.candidates.Candidates.same_groups`, :func:`~.stats.bh_grouped`): one
ring proposed five times is one discovery, not five. The step is
*weighted* (Genovese, Roeder & Wasserman 2006): ``p_ring / w`` is ranked, with each
candidate's weight ``w`` its tie evidence (``-log10`` of the ties' combined p-value, over
the families measured on every candidate) divided by the mean over every candidate
tested — over the groups of near-duplicates when the step is two-level — so the weights
average 1. The ties are other data than the outcomes (timing,
identifiers, money — not ratings, refunds or paybacks), so given them the weights are
fixed numbers and a candidate without an outcome effect still has a (super-)uniform
``p_ring``: weighted BH with fixed weights of mean 1 keeps the false discovery rate for
the outcome null at ``fdr``, and spends it where the groups are tied most strongly.

>>> import polars as pl
>>> t = pl.DataFrame({"cid": [0, 1, 2], "p_rating": [1e-9, 1e-9, 0.5], "p_infra": [1e-6, 0.6, 1e-12]})
>>> combine(t, outcome=["p_rating"], ties=["p_infra"], fdr=0.01)["flagged"].to_list()
[True, False, False]
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from .stats import bh, bh_grouped, combine_any, log10p, min_bonferroni


def _cols(table: pl.DataFrame, names: list[str]) -> list[np.ndarray]:
    # Ten significant digits: the last bits of a float sum depend on the order a parallel
    # aggregation added it in, and decisions (sorting, ties) must not.
    return [table[c].cast(pl.Float64).round_sig_figs(10).fill_null(np.nan).to_numpy() if c in table.columns
            else np.full(table.height, np.nan) for c in names]


def _p_tie(table: pl.DataFrame, ties: list[str]) -> np.ndarray:
    tie_cols = _cols(table, ties)
    if not tie_cols:
        return np.ones(table.height)
    has_tie = np.any([~np.isnan(c) for c in tie_cols], axis=0)
    p: np.ndarray = np.where(has_tie, combine_any(*tie_cols), 1.0)
    return p


def tie_weights(table: pl.DataFrame, ties: list[str], group: np.ndarray | None = None) -> np.ndarray:
    """Weights of mean 1 for the weighted BH step: each candidate's tie evidence
    (``-log10`` of its ties' combined p-value) over the mean of every candidate's.

    With ``group`` (each row's group of near-duplicate candidates) the mean is over the
    groups, each counted once with its candidates' mean evidence: the step then runs over
    groups (:func:`~.stats.bh_grouped`, where a group's weight is its candidates' mean),
    and weighted BH holds its level when the weights of the units it ranks average 1.

    >>> t = pl.DataFrame({"cid": [0, 1, 2, 3], "p_sync": [1e-9, 1e-3, 1.0, None]})
    >>> tie_weights(t, ["p_sync"]).round(2).tolist()
    [3.05, 0.95, 0.0, 0.0]
    >>> tie_weights(t, ["p_sync"], group=np.array([0, 0, 1, 2])).round(2).tolist()
    [4.58, 1.42, 0.0, 0.0]
    """
    evidence = log10p(_p_tie(table, ties)) + 0.0  # -log10 1 is -0.0
    # Exact sums: the mean, and so every weight, must not depend on the row order.
    if group is None:
        mean = math.fsum(evidence.tolist()) / table.height if table.height else 0.0
    else:
        order = np.argsort(np.asarray(group), kind="stable")
        cuts = np.flatnonzero(np.diff(np.asarray(group)[order])) + 1
        per = [math.fsum(part.tolist()) / len(part) for part in np.split(evidence[order], cuts) if len(part)]
        mean = math.fsum(per) / len(per) if per else 0.0
    weights: np.ndarray = evidence / mean if mean > 0 else np.ones(table.height)
    return weights


def combine(table: pl.DataFrame, *, outcome: list[str], ties: list[str], fdr: float,
            extra_tests: int = 0, weights: np.ndarray | None = None,
            groups: tuple[np.ndarray, np.ndarray, int] | None = None) -> pl.DataFrame:
    """Add ``p_outcome``, ``p_tie``, ``p_ring``, ``weight``, ``q_ring`` and ``flagged`` to a
    candidate table.

    ``extra_tests`` counts candidates tested but left out of ``table`` because they could
    not reach ``fdr`` (their outcome divided by their weight exceeds it; they enlarge the
    BH denominator only). ``weights`` (one per row of ``table``, from :func:`tie_weights`
    over every candidate tested) make the step weighted; none means all 1. ``groups``
    (each row's group of near-duplicate candidates, that group's number of candidates
    tested, and the number of groups among every candidate tested) makes the step
    two-level, over groups and then inside them (:func:`~.stats.bh_grouped`);
    ``extra_tests`` is then not used.
    """
    if table.height == 0:
        return table.with_columns(*[pl.lit(None, pl.Float64).alias(c) for c in ("p_outcome", "p_tie", "p_ring",
                                                                                 "weight", "q_ring")],
                                  pl.lit(False).alias("flagged"))
    p_out = min_bonferroni(*_cols(table, outcome))
    p_tie = _p_tie(table, ties)
    p_ring = np.maximum(p_out, p_tie)
    w = np.ones(table.height) if weights is None else np.asarray(weights, dtype=float)
    # A weight of 0 (no tie evidence at all) can never flag; p / w is then infinite.
    with np.errstate(divide="ignore"):
        scaled = np.where(w > 0, np.minimum(1.0, p_ring / np.where(w > 0, w, 1.0)), 1.0)
    if groups is not None:
        q = bh_grouped(scaled, groups[0], groups[1], groups[2], fdr)
    else:
        q = bh(np.concatenate([scaled, np.ones(extra_tests)]))[: table.height]
    return table.with_columns(pl.Series("p_outcome", p_out), pl.Series("p_tie", p_tie), pl.Series("p_ring", p_ring),
                              pl.Series("weight", np.round(w, 6)), pl.Series("q_ring", q),
                              pl.Series("flagged", q <= fdr))
