"""What a family of the zoo is: a name, how often it occurs, and the code that plants one instance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .market import Zoo


@dataclass(frozen=True)
class Family:
    """One tactic or innocent look-alike family.

    Attributes
    ----------
    name
        ``ring_kind`` (tactics) or ``group_kind`` (look-alikes) in the truth tables.
    tactic
        True for collusion tactics, False for innocent look-alikes.
    per_20k
        Instances per 20,000 background accounts (look-alikes; tactics use the zoo's
        ``rings_per_family``).
    act
        Plants one instance after the background lives its ordinary life; receives what
        ``prepare`` returned.
    prepare
        Optional step before the background's activity: takes members and changes their
        traits (shared home address, campus Wi-Fi, a town's NAT) so that their everyday
        activity already carries them.
    source
        Where the family comes from, one line (used by the docs).
    """

    name: str
    tactic: bool
    act: Callable[[Zoo, Any], None]
    prepare: Callable[[Zoo], Any] | None = None
    per_20k: float = 1.0
    source: str = ""
