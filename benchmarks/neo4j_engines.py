"""The candidate generators' community step in process (igraph) and in Neo4j GDS, side by side.

Usage (a running Neo4j with GDS 2.x, e.g. ``graphfraud neo4j serve start``; NEO4J_URI,
NEO4J_USERNAME and NEO4J_PASSWORD set)::

    uv run python benchmarks/neo4j_engines.py --accounts 200000

One synthetic market (``synthesize(N, seed=0)``) is detected twice in one process with the
same seed: with the embedded Leiden and with :class:`graphfraud.neo4j.gds.GdsLeiden`.
Both runs read the same in-memory dataset, so what differs is the community step only
(the data is not ingested into Neo4j for this: ingest has its own figures). Reported per
engine: wall seconds of the whole fit and of its ``candidates`` stage, CPU seconds of this
process and of the Neo4j server (from /proc, when ``NEO4J_LOCAL_HOME`` names the local
server), rings found, recovery of the planted rings (mean and minimum best Jaccard) and the
agreement of the two engines' rings (mean best Jaccard of GDS rings to embedded rings and
back).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import polars as pl

from graphfraud.dataset import Dataset
from graphfraud.detect.detector import RingDetector
from graphfraud.lineage import best_jaccard
from graphfraud.neo4j.gateway import DriverGateway
from graphfraud.neo4j.gds import GdsLeiden
from graphfraud.neo4j.settings import settings_from_env
from graphfraud.pipeline import detect_dataset
from graphfraud.synth import synthesize


def server_cpu_s(home: str | Path | None = None) -> float | None:
    """User + system CPU seconds of the local Neo4j server in ``home`` (default ``NEO4J_LOCAL_HOME``)
    so far (None when it is not ours)."""
    home = home or os.environ.get("NEO4J_LOCAL_HOME")
    if not home:
        return None
    try:
        pid = int((Path(home) / "run" / "neo4j.pid").read_text())
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(ds: Dataset, det: RingDetector) -> dict:
    wall, cpu, srv = time.perf_counter(), time.process_time(), server_cpu_s()
    run = detect_dataset(ds, detector=det)
    srv_after = server_cpu_s()
    return {"run": run, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
            "server_cpu_s": None if srv is None or srv_after is None else srv_after - srv,
            "candidates_s": run.manifest["timings_s"].get("candidates")}


def members(run) -> pl.DataFrame:
    return run.members.select("ring_id", "account_id")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0, help="detector seed (the market always uses seed 0)")
    args = ap.parse_args()

    market = synthesize(args.accounts, seed=0)
    ds = Dataset.from_frames(**market.tables)
    truth = market.ring_members.select("ring_id", "account_id")
    gw = DriverGateway(settings_from_env(prompt=False))
    try:
        gds = GdsLeiden(gw)
        results = {"igraph (embedded)": measure(ds, RingDetector(seed=args.seed)),
                   f"GDS {gds.version} Leiden": measure(ds, RingDetector(seed=args.seed, communities=gds))}
    finally:
        gw.close()
    (a, ra), (b, rb) = results.items()
    print(f"market: synthesize({args.accounts}, seed=0), {ds.n_rows()['accounts']:,} accounts, "
          f"{truth['ring_id'].n_unique()} planted rings; detector seed {args.seed}\n")
    print("| engine | fit wall s | candidates stage wall s | CPU s (this process) | CPU s (Neo4j server) "
          "| rings | planted rings: mean / min best Jaccard |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        rec = best_jaccard(truth, members(r["run"]))["jaccard"]
        srv = "—" if r["server_cpu_s"] is None else f"{r['server_cpu_s']:.1f}"
        print(f"| {name} | {r['wall_s']:.1f} | {r['candidates_s']:.1f} | {r['cpu_s']:.1f} | {srv} "
              f"| {r['run'].rings.height} | {rec.mean():.3f} / {rec.min():.3f} |")
    there = best_jaccard(members(rb["run"]), members(ra["run"]))["jaccard"]
    back = best_jaccard(members(ra["run"]), members(rb["run"]))["jaccard"]
    same = len({frozenset(g["account_id"].to_list()) for _, g in ra["run"].members.group_by("ring_id")}
               & {frozenset(g["account_id"].to_list()) for _, g in rb["run"].members.group_by("ring_id")})
    print(f"\nrings agreement: mean best Jaccard {b} -> {a} {there.mean():.3f}, {a} -> {b} {back.mean():.3f}; "
          f"{same} rings identical")


if __name__ == "__main__":
    main()
