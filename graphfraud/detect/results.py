"""Typed results handed across the API boundary."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    stats: dict = field(default_factory=dict)
