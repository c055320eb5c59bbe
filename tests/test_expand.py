"""From a tip to the ring behind it: flagged rings, groups the tests support on their own,
and honest "no ring supported" answers."""

from __future__ import annotations

import polars as pl
import pytest

from graphfraud.detect.detector import RingDetector
from graphfraud.lineage import _overlaps


def _one_member_per_ring(truth: pl.DataFrame) -> dict[str, str]:
    return dict(truth.sort("account_id").group_by("ring_id", maintain_order=True).agg(pl.col("account_id").last())
                .iter_rows())


def _jaccard_to_planted(truth: pl.DataFrame, members: pl.DataFrame, ring_id: str, planted: str) -> float:
    ov = _overlaps(truth.filter(pl.col("ring_id") == planted).select("ring_id", "account_id"),
                   members.filter(pl.col("ring_id") == ring_id).select("ring_id", "account_id"))
    return float(ov["jaccard"].max() or 0.0)


def test_tips_lead_to_flagged_rings(fitted, synth_truth, synth_small):
    det = fitted[0]
    truth, benign = synth_truth
    tips = _one_member_per_ring(truth)
    family = benign.filter(pl.col("group_kind") == "family")["account_id"][0]
    review = pl.read_csv(synth_small / "reviews.csv", infer_schema=False).join(
        truth.select("account_id"), on="account_id")["review_id"][0]
    ex = det.expand([*tips.values(), family, "no-such-id", review])
    answers = {r["tip"]: r for r in ex.answers.iter_rows(named=True)}
    for planted, tip in tips.items():
        a = answers[tip]
        assert a["status"] == "flagged", a
        assert _jaccard_to_planted(truth, det.membership_, a["ring_id"], planted) >= 0.8
    assert answers[family]["status"] == "no ring supported" and answers[family]["looked_at"] >= 1
    assert answers["no-such-id"]["status"] == "unknown id"
    assert answers[review]["tip_kind"] == "review" and answers[review]["status"] == "flagged"


@pytest.fixture(scope="module")
def strict(fitted):
    """A detector so strict that no ring is flagged platform-wide: tips need their own test."""
    return RingDetector(seed=7, fdr=1e-200).fit(fitted[1].dataset)


def test_tips_lead_to_supported_groups_below_the_platform_threshold(strict, synth_truth):
    truth, benign = synth_truth
    tips = _one_member_per_ring(truth)
    family = benign.filter(pl.col("group_kind") == "family")["account_id"][1]
    ex = strict.expand([*tips.values(), family], level=0.01)
    answers = {r["tip"]: r for r in ex.answers.iter_rows(named=True)}
    found = 0
    for planted, tip in tips.items():
        a = answers[tip]
        if a["status"] == "flagged":
            continue  # strong enough even for the strict platform-wide level
        assert a["status"] == "supported", a
        assert _jaccard_to_planted(truth, ex.groups.members, a["ring_id"], planted) >= 0.8
        row = ex.groups.rings.filter(pl.col("ring_id") == a["ring_id"]).row(0, named=True)
        assert row["p_ring"] <= 0.01 and row["reasons"]
        found += 1
    assert found >= 1
    assert answers[family]["status"] == "no ring supported"


def test_expand_needs_tips(fitted):
    from graphfraud.errors import ParameterError

    with pytest.raises(ParameterError, match="at least one tip"):
        fitted[0].expand([])
    for level in (5, 0, -0.01, 1.0):
        with pytest.raises(ParameterError, match=r"must be a p-value in \(0, 1\)"):
            fitted[0].expand(["U00000001"], level=level)


@pytest.mark.slow
def test_cli_expand_writes_a_run_with_answers_and_cases(synth_small, synth_truth, tmp_path):
    from graphfraud.run import RunResult

    from .test_cli import _cli

    truth, _ = synth_truth
    tip = truth["account_id"][0]
    tips_file = tmp_path / "tips.txt"
    # As Windows Notepad saves it: a byte-order mark before the first tip, CRLF line ends.
    tips_file.write_text(f"\ufeff{tip}\r\nunknown-1\r\n", "utf-8")
    proc = _cli("expand", str(synth_small), "--out", str(tmp_path / "x"), "--tips", str(tips_file), "--seed", "7")
    assert proc.returncode == 0, proc.stderr
    run = RunResult.read(tmp_path / "x")
    answers = run.extras["answers"]
    assert set(answers["tip"]) == {tip, "unknown-1"}
    assert run.rings.height == 1 and run.rings["status"][0] == "flagged"
    assert tip in set(run.members["account_id"])
    assert (tmp_path / "x" / "cases" / run.rings["ring_id"][0] / "report.html").exists()
