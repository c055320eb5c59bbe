"""Rings injected into the real YelpChi review graph are found; real reviewers are not flagged.

Reads the shared Yelp metadata when it sits beside the project (``../shared``); a user's
clone has none, and the test skips.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest

from graphfraud.dataset import Dataset
from graphfraud.detect.detector import RingDetector
from graphfraud.evaluate import evaluate

from .conftest import YELP

CHI = YELP / "YelpChi.metadata.gz"
pytestmark = pytest.mark.skipif(
    not CHI.exists(), reason=f"real Yelp data not found at {CHI} (the Yelp review files are not in the repository)")


def _bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "quality.py"
    spec = importlib.util.spec_from_file_location("quality_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_injected_rings_found_in_real_yelp_reviews():
    bench = _bench()
    real = bench.read_yelp(CHI)
    assert real.height == 67_395
    inj, truth = bench.inject(real, 12, seed=3)
    allrev = pl.concat([real.drop("label"), inj]).with_row_index("rid").with_columns(
        pl.format("r{}", "rid").alias("review_id"), pl.col("day").cast(pl.Datetime("ms")).alias("created_at"))
    ds = Dataset.from_frames(
        tz="UTC", accounts=allrev.select("account_id").unique().sort("account_id"),
        merchants=allrev.select("merchant_id").unique().sort("merchant_id"),
        reviews=allrev.select("review_id", "account_id", "merchant_id", "rating", "created_at"))
    det = RingDetector(seed=3).fit(ds)
    ev = evaluate(det.membership_, truth)
    assert ev.per_kind["ring_recall"][0] >= 0.9
    real_flagged = set(det.membership_["account_id"]) - set(truth["account_id"])
    assert len(real_flagged) <= 0.0005 * real["account_id"].n_unique(), sorted(real_flagged)[:10]
