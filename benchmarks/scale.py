"""Speed and memory of graphfraud end to end: time and peak memory per stage, the growth
exponent between sizes, and the ratio to a pyarrow read floor measured in the same run.

Usage::

    uv run python benchmarks/scale.py --sizes 100000 300000 1000000 [--shape zoo --days 730]
    uv run python benchmarks/scale.py --sizes 100000 --keep SCALE_DIR   # keep data and runs

For every size, three child processes, so that one measurement's memory cannot inflate
the next one's (a process's resident set rarely shrinks back):

1. synthesis: the marketplace is generated and written in the contract (``--format``),
   unless ``--keep`` already holds it; not timed against the target;
2. the read floor: every table read with pyarrow, all columns (what any tool pays to get
   the data into memory);
3. the pipeline as ``graphfraud detect`` runs it (:func:`graphfraud.pipeline.detect_files`:
   load and validate, every detection stage, writing rings, members, evidence and
   manifest), with resident memory sampled every 50 ms and the peak attributed to the
   stage that was running.

Shapes: ``market`` is the original synthetic marketplace; ``zoo`` the tactic zoo
(:func:`graphfraud.synth.zoo.synthesize_zoo`: Zipf-popular shops, hub identifiers —
parcel stations, carrier NAT, campus IPs — crowds, flash sales, livestreams, offices),
with ``--days`` for its time span (730: two years).

CPU seconds (every thread of the process) are printed beside wall seconds: on a shared
machine wall time depends on the neighbours, CPU time much less.

The growth exponent between two sizes is ``log(y2 / y1) / log(n2 / n1)`` (1.0 = linear).
Targets (issue "fast and lean at platform scale"): 1M accounts end to end in at most
90 s and 6 GB peak on 2 cores; exponent 300k -> 1M at most 1.15 for time and memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _cpu_s() -> float:
    """CPU seconds of this process, every thread (a shared machine slows wall time, not this)."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e9


class Peak:
    """Samples resident memory every 50 ms (ru_maxrss alone cannot be reset per stage)."""

    def __init__(self) -> None:
        self.value = _rss_gb()
        self.stage = self.value
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            rss = _rss_gb()
            self.value = max(self.value, rss)
            self.stage = max(self.stage, rss)
            time.sleep(0.05)

    def take_stage(self) -> float:
        value, self.stage = max(self.stage, _rss_gb()), _rss_gb()
        return value


# ------------------------------------------------------------------ children
def _child_synth(args) -> dict:
    from graphfraud.export.tables import write_tables

    t = time.perf_counter()
    if args.shape == "zoo":
        from graphfraud.synth.zoo import synthesize_zoo
        res = synthesize_zoo(args.n, seed=args.seed, days=args.days)
    else:
        from graphfraud.synth import synthesize
        res = synthesize(args.n, seed=args.seed)
    secs = time.perf_counter() - t
    write_tables(res.tables, args.data, args.format)
    return {"seconds": secs, "counts": {k: v.height for k, v in res.tables.items()}}


def _child_floor(args) -> dict:
    """Every table file read with pyarrow, all columns: the cost of having the data at all."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    peak = Peak()
    t, cpu = time.perf_counter(), _cpu_s()
    tables, rows = [], 0
    for path in sorted(Path(args.data).iterdir()):
        if path.suffix == ".parquet":
            tables.append(pq.read_table(path))
        elif path.suffix == ".csv":
            tables.append(pacsv.read_csv(path))
        else:
            continue
        rows += tables[-1].num_rows
    return {"seconds": time.perf_counter() - t, "cpu_s": _cpu_s() - cpu, "peak_gb": peak.value, "rows": rows}


def _child_run(args) -> dict:
    from graphfraud.detect.detector import RingDetector
    from graphfraud.pipeline import detect_files

    peak = Peak()
    rows: list[tuple[str, float, float, float]] = []
    marks: list[tuple[str, float, float]] = []

    def progress(message: str) -> None:
        # The loader reports one message per table; they are one stage here.
        name = "load + validate" if message.startswith("reading ") else message
        now, cpu = time.perf_counter(), _cpu_s()
        if marks and marks[-1][0] == name:
            return
        if marks:
            rows.append((marks[-1][0], now - marks[-1][1], cpu - marks[-1][2], peak.take_stage()))
        marks.append((name, now, cpu))

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    start, cpu0 = time.perf_counter(), _cpu_s()
    progress("load + validate")
    run = detect_files(args.data, detector=RingDetector(seed=args.seed), progress=progress)
    progress("write outputs")
    run.write(out)
    progress("end")
    total = time.perf_counter() - start
    return {"stages": rows, "seconds": total, "cpu_s": _cpu_s() - cpu0, "peak_gb": peak.value,
            "rings": run.rings.height, "accounts_flagged": run.members.height}


CHILDREN = {"synth": _child_synth, "floor": _child_floor, "run": _child_run}


def _spawn(kind: str, **kw) -> dict:
    cmd = [sys.executable, __file__, "--child", kind]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{kind} child failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _exponent(n1: int, y1: float, n2: int, y2: float) -> float:
    return math.log(y2 / y1) / math.log(n2 / n1) if y1 > 0 and y2 > 0 and n1 != n2 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--accounts", type=int, help="one size (same as --sizes N)")
    ap.add_argument("--shape", choices=("market", "zoo"), default="market")
    ap.add_argument("--days", type=int, default=120, help="time span of the zoo shape (730 = two years)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    ap.add_argument("--keep", type=Path, help="write data and runs here (reused when present)")
    # Child-process arguments (internal).
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        print(json.dumps(CHILDREN[args.child](args)), flush=True)
        return

    sizes = [args.accounts] if args.accounts else args.sizes
    work = args.keep or Path(tempfile.mkdtemp(prefix="graphfraud-scale-"))
    print(f"shape {args.shape}" + (f", {args.days} days" if args.shape == "zoo" else "")
          + f", seed {args.seed}, {args.format}; {os.cpu_count()} cores; data in {work}", flush=True)
    results = []
    for n in sizes:
        tag = f"{args.shape}{'-' + str(args.days) + 'd' if args.shape == 'zoo' else ''}-{n}-s{args.seed}"
        data = work / tag / "data"
        if not data.exists():
            syn = _spawn("synth", n=n, data=data, shape=args.shape, days=args.days, seed=args.seed,
                         format=args.format)
            print(f"\n{n:,} accounts synthesised in {syn['seconds']:.1f}s: "
                  + ", ".join(f"{k} {v:,}" for k, v in syn["counts"].items()), flush=True)
        floor = _spawn("floor", data=data)
        res = _spawn("run", data=data, out=work / tag / "run", seed=args.seed)
        results.append((n, floor, res))
        print(f"\n{n:,} accounts ({floor['rows']:,} rows)")
        print(f"{'stage':<28}{'seconds':>10}{'CPU s':>10}{'peak GB':>10}")
        for name, secs, cpu, gb in res["stages"]:
            print(f"{name:<28}{secs:>10.1f}{cpu:>10.1f}{gb:>10.2f}")
        print(f"{'total':<28}{res['seconds']:>10.1f}{res['cpu_s']:>10.1f}{res['peak_gb']:>10.2f}")
        print(f"{'pyarrow read floor':<28}{floor['seconds']:>10.1f}{floor['cpu_s']:>10.1f}{floor['peak_gb']:>10.2f}")
        print(f"{'ratio to the floor':<28}{res['seconds'] / max(floor['seconds'], 1e-9):>10.1f}"
              f"{res['cpu_s'] / max(floor['cpu_s'], 1e-9):>10.1f}{res['peak_gb'] / max(floor['peak_gb'], 1e-9):>10.1f}")
        print(f"rings flagged: {res['rings']}, accounts flagged: {res['accounts_flagged']:,}", flush=True)

    print(f"\n{'accounts':>10}{'seconds':>10}{'CPU s':>10}{'peak GB':>10}{'floor s':>10}{'floor GB':>10}"
          f"{'exp time':>10}{'exp CPU':>10}{'exp mem':>10}")
    for i, (n, floor, res) in enumerate(results):
        if i:
            n0, _, r0 = results[i - 1]
            exps = "".join(f"{_exponent(n0, r0[k], n, res[k]):>10.2f}" for k in ("seconds", "cpu_s", "peak_gb"))
        else:
            exps = f"{'':>30}"
        print(f"{n:>10,}{res['seconds']:>10.1f}{res['cpu_s']:>10.1f}{res['peak_gb']:>10.2f}{floor['seconds']:>10.1f}"
              f"{floor['peak_gb']:>10.2f}{exps}")


if __name__ == "__main__":
    main()
