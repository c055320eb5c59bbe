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
candidate is flagged when ``q_ring <= fdr``, the one strictness parameter.

>>> import polars as pl
>>> t = pl.DataFrame({"cid": [0, 1, 2], "p_rating": [1e-9, 1e-9, 0.5], "p_infra": [1e-6, 0.6, 1e-12]})
>>> combine(t, outcome=["p_rating"], ties=["p_infra"], fdr=0.01)["flagged"].to_list()
[True, False, False]
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .stats import bh, combine_any, min_bonferroni


def _cols(table: pl.DataFrame, names: list[str]) -> list[np.ndarray]:
    # Ten significant digits: the last bits of a float sum depend on the order a parallel
    # aggregation added it in, and decisions (sorting, ties) must not.
    return [table[c].cast(pl.Float64).round_sig_figs(10).fill_null(np.nan).to_numpy() if c in table.columns
            else np.full(table.height, np.nan) for c in names]


def combine(table: pl.DataFrame, *, outcome: list[str], ties: list[str], fdr: float,
            extra_tests: int = 0) -> pl.DataFrame:
    """Add ``p_outcome``, ``p_tie``, ``p_ring``, ``q_ring`` and ``flagged`` to a candidate table.

    ``extra_tests`` counts candidates tested but left out of ``table`` because their
    outcome alone already exceeded ``fdr`` (they enlarge the BH denominator only).
    """
    if table.height == 0:
        return table.with_columns(*[pl.lit(None, pl.Float64).alias(c) for c in ("p_outcome", "p_tie", "p_ring",
                                                                                 "q_ring")],
                                  pl.lit(False).alias("flagged"))
    p_out = min_bonferroni(*_cols(table, outcome))
    tie_cols = _cols(table, ties)
    if tie_cols:
        has_tie = np.any([~np.isnan(c) for c in tie_cols], axis=0)
        p_tie = np.where(has_tie, combine_any(*tie_cols), 1.0)
    else:
        p_tie = np.ones(table.height)
    p_ring = np.maximum(p_out, p_tie)
    padded = np.concatenate([p_ring, np.ones(extra_tests)])
    q = bh(padded)[: table.height]
    return table.with_columns(pl.Series("p_outcome", p_out), pl.Series("p_tie", p_tie), pl.Series("p_ring", p_ring),
                              pl.Series("q_ring", q), pl.Series("flagged", q <= fdr))
