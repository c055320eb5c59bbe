"""Speed and memory of graphfraud end to end: time per stage and peak memory.

Usage::

    uv run python benchmarks/scale.py --accounts 1000000 [--format parquet] [--keep DIR]

Synthesises a marketplace (timed on its own), writes it in the contract, then runs
what ``graphfraud detect`` runs — load and validate, every detection stage, writing
rings, members, evidence and manifest — and prints the time of each stage and the peak
resident memory of the process. Target: 1M accounts (about 7M orders and 2.5M reviews)
in at most 5 minutes and 8 GB on 2 cores, synthesis not included.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e9


class Peak:
    """Samples resident memory every 50 ms (ru_maxrss alone cannot be reset per stage)."""

    def __init__(self) -> None:
        self.value = 0.0
        self.stage = 0.0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            rss = _rss_gb()
            self.value = max(self.value, rss)
            self.stage = max(self.stage, rss)
            time.sleep(0.05)

    def take_stage(self) -> float:
        value, self.stage = self.stage, _rss_gb()
        return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    ap.add_argument("--keep", type=Path, help="write data and results here instead of a temporary directory")
    ap.add_argument("--data", type=Path, help="use this data directory instead of synthesising one")
    args = ap.parse_args()

    from graphfraud.detect.detector import RingDetector
    from graphfraud.export.tables import write_tables
    from graphfraud.ingest import load_dataset
    from graphfraud.run import RunResult
    from graphfraud.synth import synthesize

    peak = Peak()
    rows: list[tuple[str, float, float]] = []
    work = args.keep or Path(tempfile.mkdtemp(prefix="graphfraud-scale-"))
    data = args.data or work / "data"
    if args.data is None:
        t = time.perf_counter()
        res = synthesize(args.accounts, seed=args.seed)
        synth_s = time.perf_counter() - t
        write_tables(res.tables, data, args.format)
        counts = {k: v.height for k, v in res.tables.items()}
        del res
        print(f"synthesised {args.accounts:,} accounts in {synth_s:.1f}s: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    peak.take_stage()
    peak.value = _rss_gb()

    start = time.perf_counter()
    t = time.perf_counter()
    loaded = load_dataset(data)
    rows.append(("load + validate", time.perf_counter() - t, peak.take_stage()))
    marks: dict[str, float] = {}

    def progress(stage: str) -> None:
        now = time.perf_counter()
        if marks:
            last = next(reversed(marks))
            rows.append((f"  {last}", now - marks[last], peak.take_stage()))
        marks[stage] = now

    det = RingDetector(seed=args.seed).fit(loaded.dataset, progress=progress)
    last = next(reversed(marks))
    rows.append((f"  {last}", time.perf_counter() - marks[last], peak.take_stage()))
    t = time.perf_counter()
    RunResult.from_detector(det, dataset=loaded.dataset, load_report=loaded.report).write(work / "run")
    rows.append(("write outputs", time.perf_counter() - t, peak.take_stage()))
    total = time.perf_counter() - start

    print(f"\n{'stage':<28}{'seconds':>10}{'peak GB':>10}")
    for name, secs, gb in rows:
        print(f"{name:<28}{secs:>10.1f}{gb:>10.2f}")
    print(f"{'total (synthesis excluded)':<28}{total:>10.1f}{peak.value:>10.2f}")
    print(f"\nrings flagged: {det.rings_.height}, accounts flagged: {det.membership_.height:,}; "
          f"candidates tested: {det.n_candidates_:,}; data in {work}")


if __name__ == "__main__":
    main()
