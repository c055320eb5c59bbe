"""Cost of the input and output hardening: JSON Lines reading and CSV cell neutralising.

Two workloads, each timed in fresh processes that alternate between this checkout and a
baseline checkout (``--baseline``, e.g. a worktree of main), so both see the same machine
load; the medians of wall time and of CPU time (all threads) are printed.

* ``jsonl``: ``read_jsonl_records`` on 1M review lines (about 144 MB) as polars writes
  them: a nullable text column (``"text":null``) with escaped quotes and backslashes, the
  case where the duplicate-key check counts key literals on every line.
* ``cells``: ``neutralise_cells`` then ``restore_cells`` on 1M rows with three string
  columns, one holding a backslash in every value (the case that pays for escaping).

    uv run python benchmarks/hardening.py --baseline ../main [--runs 5] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _worker(src: str, workload: str, rows: int) -> tuple[float, float]:
    sys.path.insert(0, src)  # the checkout under test, ahead of the installed package
    import io

    import numpy as np
    import polars as pl

    if workload == "jsonl":
        from graphfraud.ingest.read import read_jsonl_records

        rng = np.random.default_rng(0)
        frame = pl.DataFrame({
            "review_id": [f"r{i}" for i in range(rows)], "account_id": [f"a{i % 50_000}" for i in range(rows)],
            "merchant_id": [f"m{i % 2_000}" for i in range(rows)], "rating": rng.integers(1, 6, rows),
            "created_at": ["2024-03-01 10:00:00"] * rows,
            "text": [None if i % 3 == 0 else f'好评 "quoted" C:\\dir {i}' for i in range(rows)]})
        buf = io.BytesIO()
        frame.write_ndjson(buf)
        data = buf.getvalue()
        t0, c0 = time.perf_counter(), time.process_time()
        read_jsonl_records(data, Path("reviews.jsonl"), "reviews")
        return time.perf_counter() - t0, time.process_time() - c0
    from graphfraud.textsafe import neutralise_cells, restore_cells

    frame = pl.DataFrame({"account_id": [f"acct{i}" for i in range(rows)],
                          "text": [f"好评 text {i} C:\\x" for i in range(rows)],
                          "merchant_id": [f"m{i % 100}" for i in range(rows)], "n": range(rows)})
    t0, c0 = time.perf_counter(), time.process_time()
    restore_cells(neutralise_cells(frame))
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True, type=Path, help="Another checkout to compare with (its top folder).")
    ap.add_argument("--runs", type=int, default=5, help="Runs of each side per workload (alternating).")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--worker", nargs=2, metavar=("SRC", "WORKLOAD"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker[0], args.worker[1], args.rows)))
        return 0
    sides = {"this checkout": str(HERE), "baseline": str(args.baseline.resolve())}
    for workload in ("jsonl", "cells"):
        times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        for _ in range(args.runs):
            for side, src in sides.items():
                out = subprocess.run([sys.executable, __file__, "--baseline", src, "--rows", str(args.rows),
                                      "--worker", src, workload], check=True, capture_output=True, text=True).stdout
                times[side].append(tuple(json.loads(out)))
        for side, runs in times.items():
            wall, cpu = (statistics.median(r[i] for r in runs) for i in (0, 1))
            print(f"{workload:6s} {side:14s} median wall {wall:.2f} s, CPU {cpu:.2f} s "
                  f"(wall of each run: {', '.join(f'{r[0]:.2f}' for r in runs)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
