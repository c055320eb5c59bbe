"""Memory follows the data, not its time span: one outlier timestamp must not cost gigabytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from graphfraud.graph.layers import BASELINE_WINDOWS, burst_windows, poisson_tail, window_tiles

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
        tables["reviews"] = pl.concat([reviews.cast({"created_at": pl.String}),
                                       outlier.cast({"created_at": pl.String}).with_columns(pl.lit(when).alias("created_at"))])
        out[name] = root / name
        write_tables(tables, out[name])
    return out


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_time_span(markets, tmp_path):
    # Hour windows: 25 years are 219,000 windows per shop, the span a dense grid would fill.
    common = ("--window-hours", "1", "--seed", "1")
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


def _dense_bursts(tiles: pl.DataFrame, span: int, alpha: float) -> pl.DataFrame:
    """The original dense (shop, tile) x window grid, as a reference for the sparse version."""
    tiles = tiles.select("a", "c").unique()
    counts = tiles.group_by("c").agg(pl.len().alias("n"))
    lanes = counts.select((pl.col("c") // span).alias("lane")).unique()
    grid = (lanes.join(pl.DataFrame({"bucket": pl.int_range(0, span, eager=True)}), how="cross")
            .with_columns((pl.col("lane") * span + pl.col("bucket")).alias("c"))
            .join(counts, on="c", how="left").with_columns(pl.col("n").fill_null(0)).sort("lane", "bucket"))
    k = 2 * BASELINE_WINDOWS + 1
    grid = grid.with_columns(pl.col("n").rolling_sum(k, center=True, min_samples=1).over("lane").alias("roll"),
                             pl.int_range(pl.len()).over("lane").alias("pos"),
                             pl.col("n").mean().over("lane").alias("lane_mean"))
    pos = pl.col("pos")
    neighbours = pl.min_horizontal(pos + BASELINE_WINDOWS, pl.lit(span - 1)) - pl.max_horizontal(pos - BASELINE_WINDOWS, pl.lit(0))
    grid = grid.filter(pl.col("n") >= 2).with_columns(
        pl.max_horizontal((pl.col("roll") - pl.col("n")) / neighbours, pl.col("lane_mean")).alias("lam"))
    bursts = grid.filter(pl.Series(poisson_tail(grid["n"].to_numpy(), grid["lam"].to_numpy()) < alpha)).select("c")
    return tiles.join(bursts, on="c").select("a", (pl.col("c") // span // 2).cast(pl.UInt32).alias("m"), "c")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_bursts_equal_the_dense_grid(seed):
    rng = np.random.default_rng(seed)
    n = 4000
    # Background activity over 60 days at 12 shops, plus a crowd at one shop on one day.
    act = pl.DataFrame({"a": rng.integers(0, 300, n).astype(np.uint32), "m": rng.integers(0, 12, n).astype(np.uint32),
                        "t": rng.integers(0, 60 * 86_400, n)})
    crowd = pl.DataFrame({"a": np.arange(300, 340, dtype=np.uint32), "m": np.full(40, 3, np.uint32),
                          "t": 20 * 86_400 + rng.integers(0, 3_600, 40)})
    act = pl.concat([act, crowd])
    tiles, span = window_tiles(act, 24.0)
    sparse = burst_windows(None, 24.0, 0.01, tiles=(tiles, span)).sort("a", "m", "c")
    dense = _dense_bursts(tiles, span, 0.01).sort("a", "m", "c")
    assert sparse.height > 0 and sparse.equals(dense)
    assert set(crowd["a"].to_list()) <= set(sparse.filter(pl.col("m") == 3)["a"].to_list())
