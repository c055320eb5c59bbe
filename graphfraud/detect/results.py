"""Typed results handed across the API boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from .report import RingTables


@dataclass(frozen=True)
class Ring:
    """One flagged ring with the evidence that flagged it.

    ``evidence`` is ``-log10`` of the ring's p-value (the intersection–union test of its
    outcome and tie families); ``q_value`` its Benjamini–Hochberg adjusted p-value over
    every candidate tested; ``families`` the p-value of each family measured on it.
    """

    ring_id: str
    ring_type: str
    evidence: float
    p_value: float
    q_value: float
    n_accounts: int
    families: dict[str, float]
    reasons: list[str]
    members: list[str]
    shops: list[str]
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Expansion:
    """The answers to a set of tips.

    ``answers`` has one row per tip: ``status`` is ``flagged`` (the tip belongs to a ring
    flagged platform-wide, ``ring_id``), ``supported`` (a group around it passes the
    tests on its own: ``ring_id`` names it in ``groups``), ``no ring supported`` (the
    strongest group around it does not, or none was found: ``looked_at`` accounts were
    examined) or ``unknown id``. ``groups`` holds the ring tables of the groups measured.
    """

    answers: pl.DataFrame
    groups: RingTables | None
