"""Ring types against the planted tactic on a zoo market the rules were not written on.

The zoo benchmark (``benchmarks/zoo.py``) measures agreement over every ring found on
20,000-account markets; this test runs one smaller market of another seed end to end, so
a rule change that confuses tactics fails here too. A found ring's planted family is the
majority family of its members (rings made mostly of look-alikes or background are left
out, as in the benchmark).
"""

from __future__ import annotations

import polars as pl
import pytest

from graphfraud.dataset import Dataset
from graphfraud.detect.detector import RingDetector
from graphfraud.synth.zoo import synthesize_zoo

pytestmark = pytest.mark.slow

#: The label each tactic family should receive when its orders, devices and money are in the data.
EXPECTED = {"device_farm": "device farm", "aged_takeover": "bought aged accounts",
            "slow_drip_studio": "slow-drip studio", "experience_officer": "recruited reviewers (refunded)",
            "task_platform": "task platform", "layered_cashback": "layered cashback",
            "merchant_alliance": "merchant alliance", "self_brushing": "merchant self-brushing",
            "insider_subsidy": "insider collusion", "review_ring": "review-only ring"}


def _found(res, det) -> pl.DataFrame:
    kinds = (det.membership_.join(res.ring_members.select("account_id", "ring_kind"), on="account_id")
             .group_by("ring_id").agg(pl.col("ring_kind").mode().sort().first(), pl.len().alias("k")))
    return (kinds.join(det.rings_.select("ring_id", "ring_type", "n_accounts"), on="ring_id")
            .filter(pl.col("k") >= 0.5 * pl.col("n_accounts")))


def test_types_agree_with_the_planted_tactic():
    res = synthesize_zoo(8_000, seed=5)
    det = RingDetector(seed=0).fit(Dataset.from_frames(**res.tables))
    found = _found(res, det)
    assert found.height >= 10, "too few rings found for the check to mean anything"
    found = found.with_columns(pl.col("ring_kind").replace_strict(EXPECTED).alias("expected"))
    agree = (found["ring_type"] == found["expected"]).mean()
    wrong = found.filter(pl.col("ring_type") != pl.col("expected")).select("ring_kind", "ring_type").rows()
    # The benchmark's target is 90% at 20,000 accounts; one small market has fewer, smaller
    # rings (fragments of alliances, say), so this check leaves room for one or two.
    assert agree >= 0.8, f"{agree:.0%} agree; wrong: {wrong}"


def test_reviews_alone_never_name_a_tactic_they_cannot_show():
    """Without orders, devices or money, every ring found is called what the data shows."""
    res = synthesize_zoo(8_000, seed=5, review_only=True)
    det = RingDetector(seed=0).fit(Dataset.from_frames(**res.tables))
    types = set(det.rings_["ring_type"])
    assert types, "the review-only zoo should still yield rings"
    assert types <= {"review-only ring", "other coordinated group"}, types
