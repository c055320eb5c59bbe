"""Typed results handed across the API boundary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ring:
    """One flagged (or candidate) ring, as handed across the API boundary."""

    ring_id: str
    score: float
    n_accounts: int
    families: dict[str, float]
    reasons: list[str]
    members: list[str]
    features: dict
