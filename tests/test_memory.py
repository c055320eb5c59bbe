"""Memory follows the data, not its time span: one outlier timestamp must not cost gigabytes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

ENTRY = Path(sys.executable).with_name("graphfraud")
#: Address-space cap for each measured run: a dense time grid fails here instead of
#: swapping the machine (the clean run needs well under a gigabyte).
ADDRESS_SPACE = 3 * 2**30

_MEASURE = r"""
import json, resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
proc = subprocess.run(sys.argv[2:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": proc.returncode, "peak_mb": peak, "stderr": proc.stderr[-800:]}))
"""


def _start(*args: str) -> subprocess.Popen:
    """Run the installed CLI in a fresh wrapper that reports the child's peak RSS."""
    return subprocess.Popen([sys.executable, "-c", _MEASURE, str(ADDRESS_SPACE), str(ENTRY), *args],
                            stdout=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def markets(tmp_path_factory) -> dict[str, Path]:
    """A small market, and copies with one review in 2001 (in range) and one in 9999."""
    from graphfraud.export.tables import write_tables
    from graphfraud.synth import synthesize

    root = tmp_path_factory.mktemp("span")
    res = synthesize(600, seed=5)
    out = {"clean": root / "clean"}
    write_tables(res.tables, out["clean"])
    for name, when in (("long", "2001-03-01 12:00:00"), ("far", "9999-12-31 12:00:00")):
        tables = dict(res.tables)
        reviews = tables["reviews"]
        outlier = reviews.head(1).with_columns(pl.lit(f"outlier-{name}").alias("review_id"))
        outlier = outlier.cast({"created_at": pl.String}).with_columns(pl.lit(when).alias("created_at"))
        tables["reviews"] = pl.concat([reviews.cast({"created_at": pl.String}), outlier])
        out[name] = root / name
        write_tables(tables, out[name])
    return out


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_time_span(markets, tmp_path):
    # 25 years (or 8,000) between the outlier and the rest: any per-shop time grid would fill it.
    common = ("--seed", "1")
    runs = {
        "clean": _start("detect", str(markets["clean"]), "--out", str(tmp_path / "clean"), *common),
        "long": _start("detect", str(markets["long"]), "--out", str(tmp_path / "long"), *common),
        "far": _start("detect", str(markets["far"]), "--out", str(tmp_path / "far"), *common,
                      "--time-range", "2000-01-01..9999-12-31T23:59:59"),
    }
    got = {name: json.loads(p.communicate(timeout=600)[0]) for name, p in runs.items()}
    for name, r in got.items():
        assert r["rc"] == 0, f"{name}: {r['stderr']}"
        # The outlier really was in the data the detector saw.
        manifest = json.loads((tmp_path / name / "manifest.json").read_text("utf-8"))
        reviews = manifest["validation"]["reviews"]
        assert reviews["rejected"] == 0 and reviews["accepted"] == reviews["read"], name
    clean = got["clean"]["peak_mb"]
    print({name: round(r["peak_mb"]) for name, r in got.items()})
    assert got["long"]["peak_mb"] <= 2 * clean, got
    assert got["far"]["peak_mb"] <= 2 * clean, got


def test_stage_peaks_see_a_stage_that_frees_what_it_allocated():
    from graphfraud.rss import INTERVAL_S, StagePeaks, current_gb

    if current_gb() is None:
        pytest.skip("no /proc/self/statm here: only the running maximum is available")
    with StagePeaks() as peaks:
        peaks.lap()
        block = bytearray(400_000_000)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
        time.sleep(10 * INTERVAL_S)  # held for several sampling ticks, as any stage worth reporting is
        del block
        heavy = peaks.lap()
        light = peaks.lap()
    # The heavy stage's peak includes the 0.4 GB it freed before its lap; the next one does not.
    assert heavy - light > 0.3


def test_fitted_run_reports_each_stage_s_own_peak(fitted):
    from graphfraud.rss import running_peak_gb

    det, _ = fitted
    memory = det.memory_
    assert set(memory) == set(det.timings_)
    assert all(0 < gb <= running_peak_gb() + 0.01 for gb in memory.values())
