"""A first load into an empty Neo4j: the Bolt MERGE ingest against ``ingest --bulk`` (neo4j-admin import).

Usage (``NEO4J_LOCAL_HOME`` names a local server whose jars are resolved, e.g. one that
``graphfraud neo4j serve start --home DIR`` started once)::

    NEO4J_LOCAL_HOME=DIR nice /usr/bin/time -v uv run python benchmarks/neo4j_ingest.py --accounts 50000

One synthetic market (``synthesize(N, seed=0)``) is loaded twice, each time into a fresh
server home of its own (the jars are hard-linked from ``NEO4J_LOCAL_HOME``), one server
at a time: first with :func:`graphfraud.neo4j.ingest.bulk_ingest` (CSV files, import
tool, server start, constraints), then with :func:`graphfraud.neo4j.ingest.ingest`
(constraints, UNWIND batches of MERGE over Bolt) into a started empty server. Both
count the same rows (:func:`~graphfraud.neo4j.ingest.load_rows`). Reported: rows,
wall seconds per phase, CPU seconds of this process, of its finished children (the
import tool) and of the Neo4j server, rows/s, and the ratio of the two rows/s; then
both databases' label and type counts, which must be equal.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import time
from pathlib import Path

from neo4j_engines import server_cpu_s

from graphfraud.dataset import Dataset
from graphfraud.neo4j.gateway import DriverGateway
from graphfraud.neo4j.ingest import bulk_ingest, ingest, load_rows
from graphfraud.neo4j.local import LocalServer, start, status, stop
from graphfraud.neo4j.settings import Settings
from graphfraud.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
COUNTS = ("MATCH (n) RETURN labels(n) AS k, count(*) AS c UNION ALL "
          "MATCH ()-[r]->() RETURN [type(r)] AS k, count(*) AS c")


def fresh_home(jars: Path, home: Path, heap: str, pagecache: str) -> LocalServer:
    shutil.rmtree(home, ignore_errors=True)
    for sub in ("lib", "plugins"):
        shutil.copytree(jars / sub, home / sub, copy_function=os.link)
    (home / "run").mkdir()
    shutil.copy(jars / "run" / "resolved", home / "run" / "resolved")
    return LocalServer(home=home, pom=ROOT / "neo4j" / "local" / "pom.xml", bolt_port=0, http_port=0,
                       heap=heap, pagecache=pagecache)


def children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def counts(server: LocalServer, password: str) -> dict[str, int]:
    gw = DriverGateway(Settings(uri=status(server).bolt_uri or "", username="neo4j", password=password,
                                database="neo4j"))
    try:
        return {":".join(sorted(r["k"])): r["c"] for r in gw.read(COUNTS)}
    finally:
        gw.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/graphfraud-ingest-bench"),
                    help="Directory for the two server homes (removed and re-created).")
    ap.add_argument("--heap", default="1g")
    ap.add_argument("--pagecache", default="512m")
    ap.add_argument("--bulk-only", action="store_true", help="Skip the MERGE ingest.")
    args = ap.parse_args()
    jars = Path(os.environ["NEO4J_LOCAL_HOME"])
    password = secrets.token_urlsafe(16)

    t = time.perf_counter()
    ds = Dataset.from_frames(**synthesize(args.accounts, seed=args.seed).tables)
    rows = sum(r.height for _, r in load_rows(ds))
    print(f"market: {args.accounts:,} accounts, {rows:,} load rows (synthesized in {time.perf_counter() - t:.1f}s)")

    server = fresh_home(jars, args.work / "bulk", args.heap, args.pagecache)
    cpu, kids = time.process_time(), children_cpu_s()
    try:
        report = bulk_ingest(ds, server, password, progress=lambda m: print(f"  {time.strftime('%X')} {m}",
                                                                           flush=True))
        srv = server_cpu_s(server.home)
        bulk_counts = counts(server, password)
    finally:
        stop(server)
    load_s = report.seconds["write"] + report.seconds["import"]
    print(f"bulk: {report.nodes:,} nodes, {report.relationships:,} relationships; phases "
          + ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
          + f"; total {report.total_seconds:.1f}s = {report.rows_per_s:,.0f} rows/s "
          f"(files + import tool alone: {load_s:.1f}s = {rows / load_s:,.0f} rows/s); CPU s: this process "
          f"{time.process_time() - cpu:.1f}, import tool {children_cpu_s() - kids:.1f}, server "
          f"{srv if srv is None else round(srv, 1)}")
    if args.bulk_only:
        return

    server = fresh_home(jars, args.work / "merge", args.heap, args.pagecache)
    start(server, password)
    try:
        gw = DriverGateway(Settings(uri=status(server).bolt_uri or "", username="neo4j", password=password,
                                    database="neo4j"))
        srv0, cpu = server_cpu_s(server.home), time.process_time()
        merged = ingest(ds, gw)
        srv1 = server_cpu_s(server.home)
        gw.close()
        merge_counts = counts(server, password)
    finally:
        stop(server)
    print(f"merge: {merged.rows:,} rows through {merged.statements} statements in {merged.seconds:.1f}s = "
          f"{merged.rows_per_s:,.0f} rows/s; CPU s: this process {time.process_time() - cpu:.1f}, server "
          f"{None if srv0 is None or srv1 is None else round(srv1 - srv0, 1)}")
    print(f"ratio bulk/merge rows/s: {report.rows_per_s / merged.rows_per_s:.1f}x end to end, "
          f"{rows / load_s / merged.rows_per_s:.1f}x files + import tool alone")
    print("same counts:", bulk_counts == merge_counts, "" if bulk_counts == merge_counts else
          {k: (bulk_counts.get(k), merge_counts.get(k)) for k in set(bulk_counts) | set(merge_counts)
           if bulk_counts.get(k) != merge_counts.get(k)})


if __name__ == "__main__":
    main()
