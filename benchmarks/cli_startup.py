"""Start-up time of the command line: ``graphfraud --help`` against a bare ``import typer``.

The CLI imports its heavy libraries (polars, igraph, scipy, neo4j) only inside the
commands that use them, so printing help should cost little more than Typer itself.
Both are run alternately in fresh processes (the same machine load for each), and
the medians and their ratio are printed; the target is a ratio of at most 3.

    uv run python benchmarks/cli_startup.py [--runs 15]

It also lists any heavy library that ``import graphfraud.cli`` pulls in (there should
be none).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("polars", "numpy", "igraph", "leidenalg", "scipy", "networkx", "neo4j", "pyarrow")
TARGET_RATIO = 3.0


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="Runs of each command (alternating).")
    args = ap.parse_args()
    entry = Path(sys.executable).with_name("graphfraud")
    cli = [str(entry), "--help"] if entry.exists() else [sys.executable, "-m", "graphfraud", "--help"]
    bare = [sys.executable, "-c", "import typer"]
    _time(cli), _time(bare)  # warm the file cache
    cli_s, bare_s = [], []
    for _ in range(args.runs):
        cli_s.append(_time(cli))
        bare_s.append(_time(bare))
    c, b = statistics.median(cli_s), statistics.median(bare_s)
    probe = ("import sys, graphfraud.cli; "
             f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    print(f"graphfraud --help      median {c * 1000:7.1f} ms  (min {min(cli_s) * 1000:.1f}, {args.runs} runs)")
    print(f"python -c 'import typer' median {b * 1000:7.1f} ms  (min {min(bare_s) * 1000:.1f})")
    print(f"ratio {c / b:.2f} (target <= {TARGET_RATIO:g})")
    print(f"heavy libraries imported by graphfraud.cli: {heavy or 'none'}")
    return 0 if c / b <= TARGET_RATIO and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
