"""Rings across runs: ids carried over on growing data, and the diff of two runs."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import polars as pl
import pytest

from graphfraud.dataset import Dataset
from graphfraud.detect.detector import RingDetector
from graphfraud.lineage import carry_ids, diff
from graphfraud.pipeline import detect_dataset
from graphfraud.synth import synthesize


def _m(rows: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"ring_id": [r for r, accs in rows.items() for _ in accs],
                         "account_id": [a for accs in rows.values() for a in accs]})


def test_diff_classifies_constructed_changes():
    before = _m({"R-keep": "abcd", "R-grow": "efgh", "R-shrink": "ijklm", "R-split": "nopqrstu",
                 "R-m1": "vwx", "R-m2": "yzAB", "R-gone": "CDE"})
    after = _m({"R-keep": "abcd", "R-grow": "efghF", "R-shrink": "ijk", "R-s1": "nopq", "R-s2": "rstu",
                "R-merge": "vwxyzAB", "R-new": "GHIJ"})
    changes = {r.ring_id: r for r in diff(before, after).rows}
    assert changes["R-keep"].change == "unchanged"
    assert changes["R-grow"].change == "grown" and changes["R-grow"].joined == ["F"]
    assert changes["R-shrink"].change == "shrunk" and changes["R-shrink"].left == ["l", "m"]
    assert changes["R-split"].change == "split" and changes["R-split"].sources == ["R-s1", "R-s2"]
    assert changes["R-merge"].change == "merged" and changes["R-merge"].sources == ["R-m1", "R-m2"]
    assert changes["R-new"].change == "new" and changes["R-new"].joined == list("GHIJ")
    assert changes["R-gone"].change == "vanished"
    assert diff(before, after).counts() == {"unchanged": 1, "grown": 1, "shrunk": 1, "split": 1, "merged": 1,
                                            "new": 1, "vanished": 1}


def test_ids_are_carried_one_to_one_above_half_overlap():
    previous = _m({"R-old": "abcdef", "R-other": "xyz"})
    new = _m({"R-big": "abcdeg", "R-small": "f", "R-x": "xq"})
    # R-big overlaps R-old by 5/7; R-x overlaps R-other by 1/4 (too little).
    assert carry_ids(new, previous) == {"R-big": "R-old"}


def _until(tables: dict[str, pl.DataFrame], day: int) -> dict[str, pl.DataFrame]:
    """The market as it stood after ``day`` days: events up to then, accounts that existed."""
    start = datetime(2024, 3, 1, tzinfo=timezone.utc).timestamp()
    cut = datetime.fromtimestamp(start + day * 86_400, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    out = {}
    for name, frame in tables.items():
        if name in ("reviews", "orders", "transfers", "logins", "review_likes") and "created_at" in frame.columns:
            frame = frame.filter(pl.col("created_at") <= cut)
        out[name] = frame
    out["review_likes"] = out["review_likes"].join(out["reviews"].select("review_id"), on="review_id", how="semi")
    return out


@pytest.mark.slow
def test_day_by_day_replay_keeps_ring_ids():
    res = synthesize(3_000, seed=11)
    truth = res.ring_members
    previous = None
    seen: dict[str, str] = {}  # planted ring -> detected ring id, once found
    for day in (50, 70, 90):
        ds = Dataset.from_frames(**_until(res.tables, day))
        run = detect_dataset(ds, detector=RingDetector(seed=11), previous=previous)
        matches = carry_ids(truth.select("ring_id", "account_id"), run.members)  # planted -> detected
        for planted, detected in matches.items():
            if planted in seen:
                assert seen[planted] == detected, f"day {day}: {planted} changed id {seen[planted]} -> {detected}"
            seen[planted] = detected
        previous = run
    assert len(seen) >= 3, f"too few planted rings found to test id stability: {seen}"
    assert run.manifest["previous_run"]["ids_kept"] >= 3


@pytest.mark.slow
def test_cli_diff_and_previous(run_dir, tmp_path, synth_small):
    from .test_cli import _cli

    again = tmp_path / "again"
    proc = _cli("detect", str(synth_small), "--out", str(again), "--seed", "7", "--previous", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((again / "manifest.json").read_text("utf-8"))
    assert manifest["previous_run"]["ids_kept"] == manifest["results"]["rings"]
    out = tmp_path / "diff.json"
    proc = _cli("diff", str(run_dir), str(again), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    changes = json.loads(out.read_text("utf-8"))
    assert changes and all(c["change"] == "unchanged" for c in changes)
    assert "unchanged" in proc.stdout
