"""Evidence families: each a statistical test of every candidate against an explicit null.

A family returns one row per candidate it could measure: ``cid``, ``p_<family>`` (a
one-sided p-value) and the observed and expected counts its reasons quote. *Outcome*
families measure what a ring exists to produce — ratings moved at the shops it acts on,
refund-for-order money, sales the shops paid for themselves, money paid back by the shop.
*Corroborating* families measure what ties its accounts together — synchrony, shared
infrastructure, similar texts, likes for each other's reviews, common money,
registration batches, shop staff. A ring needs both (see
:mod:`graphfraud.detect.combine`); neither kind flags alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from ...graph.prepare import Prepared
from ..candidates import Candidates
from ..platform import Platform


@dataclass(frozen=True)
class Inputs:
    """What every family reads: the prepared tables, the platform, the candidates and
    their focus shops (cid, m, k, mu, p)."""

    prep: Prepared
    plat: Platform
    cands: Candidates
    focus: pl.DataFrame
    #: (done, total) of the family's own work, for a family that loops long enough to report it.
    tick: Callable[[int, int], None] = lambda _done, _total: None


@dataclass(frozen=True)
class Family:
    """One evidence family. ``everywhere``: a corroborating family measured on every
    candidate, so that its evidence can weight the false-discovery step
    (:func:`graphfraud.detect.combine.tie_weights`); one whose cost grows with every
    candidate's content (texts) is measured only where a candidate can still be flagged."""

    name: str
    role: str  # "outcome" or "corroboration"
    test: Callable[[Inputs], pl.DataFrame]
    description: str
    everywhere: bool = True
    unit: str = "candidates"  # what the family's ``tick`` counts


def registry() -> tuple[Family, ...]:
    """Every family, in the order reasons are written."""
    from . import affiliation, infra, likes, money, payback, provenance, rating, refund, sales, sync, text

    return (rating.FAMILY, refund.FAMILY, sales.FAMILY, payback.FAMILY, likes.FAMILY, sync.FAMILY, infra.FAMILY,
            text.FAMILY, money.FAMILY, provenance.FAMILY, affiliation.FAMILY)
