"""The tactic zoo: a marketplace with many collusion tactics and innocent look-alikes.

Ten tactic families modelled on public reports of 刷单炒信 operations and thirteen innocent
look-alike families hide in a heavy-tailed background market. Every instance draws its own
sizes, shop counts, campaign spans and camouflage, so instances of one family differ.
:func:`single_column_auc` checks that no family is given away by one per-account column.

>>> res = synthesize_zoo(4_000, seed=3, rings_per_family=1)
>>> sorted(res.ring_members["ring_kind"].unique()) == sorted(TACTICS)
True
>>> sorted(res.benign_groups["group_kind"].unique()) == sorted(LOOKALIKES)
True
"""

from __future__ import annotations

import polars as pl

from ..marketplace import SynthResult
from . import background, crowds, farms, households, merchants, recruits
from .family import Family
from .market import Zoo, ZooConfig
from .separability import account_columns, single_column_auc

FAMILIES: tuple[Family, ...] = (farms.FAMILIES + recruits.FAMILIES + merchants.FAMILIES
                                + households.FAMILIES + crowds.FAMILIES)
TACTICS: tuple[str, ...] = tuple(f.name for f in FAMILIES if f.tactic)
LOOKALIKES: tuple[str, ...] = tuple(f.name for f in FAMILIES if not f.tactic)
#: Columns a review-only export keeps.
REVIEW_ONLY_COLUMNS = ("review_id", "account_id", "merchant_id", "rating", "created_at", "text")

__all__ = ["FAMILIES", "LOOKALIKES", "TACTICS", "Family", "ZooConfig", "account_columns", "single_column_auc",
           "synthesize_zoo"]


def synthesize_zoo(n_accounts: int = 20_000, seed: int = 0, **kwargs) -> SynthResult:
    """Generate a tactic-zoo marketplace with ground truth.

    Parameters
    ----------
    n_accounts
        Background accounts (ring-registered accounts come on top).
    seed
        Random seed: the same seed and parameters give byte-identical tables.
    **kwargs
        Further :class:`ZooConfig` fields: ``days``, ``families``, ``rings_per_family``,
        ``groups_scale``, ``orders_per_month``, ``review_only``.

    Returns
    -------
    SynthResult
        ``tables`` in the input contract, ``ring_members`` (ring_id, account_id, ring_kind)
        and ``benign_groups`` (group_id, group_kind, account_id).
    """
    cfg = ZooConfig(n_accounts=n_accounts, seed=seed, **kwargs)
    cfg.validate(tuple(f.name for f in FAMILIES))
    chosen = [f for f in FAMILIES if cfg.families is None or f.name in cfg.families]
    scale = cfg.n_accounts / 20_000
    z = Zoo(cfg)
    background.register(z)
    # Look-alikes first change traits (shared homes, campus Wi-Fi), then everybody lives.
    planned = []
    for fam in (f for f in chosen if not f.tactic):
        for _ in range(max(1, int(round(fam.per_20k * scale * cfg.groups_scale)))):
            planned.append((fam, fam.prepare(z) if fam.prepare else None))
    background.live(z)
    for fam, state in planned:
        fam.act(z, state)
    rings = cfg.rings_per_family or max(2, int(round(3 * scale)))
    tactics = [f for f in chosen if f.tactic]
    for _ in range(rings):
        for fam in tactics:
            fam.act(z, None)
    background.aftermath(z)
    tables, ring_members, benign_groups = z.finish()
    if cfg.review_only:
        tables, ring_members, benign_groups = _review_only(tables, ring_members, benign_groups)
    return SynthResult(tables, ring_members, benign_groups, cfg)


def _review_only(tables, ring_members, benign_groups):
    """What a review site exports: reviewers, shops, and reviews without order or device."""
    reviews = tables["reviews"].select(REVIEW_ONLY_COLUMNS)
    reviewers = reviews.select("account_id").unique()
    accounts = tables["accounts"].join(reviewers, on="account_id", how="semi").select("account_id", "created_at",
                                                                                     "nickname")
    rings = ring_members.join(reviewers, on="account_id", how="semi")
    rings = rings.filter(pl.len().over("ring_id") >= 3)
    benign = benign_groups.join(reviewers, on="account_id", how="semi")
    return {"accounts": accounts, "merchants": tables["merchants"], "reviews": reviews}, rings, benign
