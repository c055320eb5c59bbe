"""Write and read a detection run directory.

Layout::

    rings.csv            one row per flagged ring (score, features, reasons)
    ring_members.csv     ring_id, account_id, member_score
    candidates.csv       weaker communities (candidate_threshold <= score < threshold)
    evidence/nodes.csv   typed evidence nodes of every flagged ring
    evidence/edges.csv   typed evidence edges of every flagged ring
    rejects.csv          input rows rejected by validation (always written, maybe empty)
    manifest.json        parameters, seed, versions, input checksums, row counts, timings
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import polars as pl

from .._version import __version__
from ..errors import RunDirectoryError

RUN_FILES = ("rings.csv", "ring_members.csv", "candidates.csv", "evidence/nodes.csv", "evidence/edges.csv",
             "manifest.json")


def versions() -> dict[str, str]:
    out = {"graphfraud": __version__, "python": platform.python_version()}
    for pkg in ("polars", "numpy", "python-igraph", "leidenalg", "networkx", "neo4j"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "absent"
    return out


def write_run(det, out_dir: Path, *, load_report=None, dataset=None, extra: dict | None = None,
              max_items: int = 200) -> Path:
    """Write every output of a fitted detector to ``out_dir``."""
    from ..detect.evidence import Evidence

    out = Path(out_dir)
    (out / "evidence").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    det.rings_.write_csv(out / "rings.csv")
    det.membership_.write_csv(out / "ring_members.csv")
    det.candidates_.write_csv(out / "candidates.csv")
    ev = Evidence.concat([det.evidence(r, max_items=max_items) for r in det.rings_["ring_id"].to_list()])
    ev.nodes.write_csv(out / "evidence" / "nodes.csv")
    ev.edges.write_csv(out / "evidence" / "edges.csv")
    rejects = load_report.rejects if load_report is not None else None
    if rejects is not None:
        load_report.write_rejects(out / "rejects.csv")
    summary = det.summary()
    summary["timings_s"]["write"] = round(time.perf_counter() - t0, 3)
    manifest = {
        "graphfraud_version": __version__,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "parameters": det.get_params(),
        "seed": det.seed,
        "versions": versions(),
        "inputs": dataset.sources if dataset is not None else {},
        "time_zone": dataset.tz if dataset is not None else None,
        "row_counts": dataset.n_rows() if dataset is not None else {},
        "validation": load_report.as_dict() if load_report is not None else None,
        "rejected_rows": rejects.height if rejects is not None else 0,
        "baselines": summary["baselines"],
        "graph": {"edges": summary["graph_edges"], "layers": summary["layers"],
                  "communities": summary["communities"]},
        "results": {"rings": summary["rings"], "candidates": summary["candidates"],
                    "flagged_accounts": summary["flagged_accounts"]},
        "evidence_counts": ev.counts,
        "timings_s": summary["timings_s"],
        **(extra or {}),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), "utf-8")
    return out


@dataclass
class Run:
    """A run directory read back: the tables and the manifest."""

    path: Path
    rings: pl.DataFrame
    members: pl.DataFrame
    candidates: pl.DataFrame
    nodes: pl.DataFrame
    edges: pl.DataFrame
    manifest: dict


def read_run(run_dir: Path) -> Run:
    """Read a run directory written by :func:`write_run` (or ``graphfraud detect``)."""
    run_dir = Path(run_dir)
    missing = [f for f in RUN_FILES if not (run_dir / f).exists()]
    if missing:
        raise RunDirectoryError(f"{run_dir}: not a complete run directory (missing {', '.join(missing)}). "
                                "Run 'graphfraud detect DATA_DIR --out RUN_DIR' first.")
    strings = {"ring_id": pl.String, "account_id": pl.String, "node_id": pl.String, "key": pl.String,
               "source": pl.String, "target": pl.String, "label": pl.String}

    def read(name: str) -> pl.DataFrame:
        return pl.read_csv(run_dir / name, schema_overrides=strings, infer_schema_length=10_000)

    return Run(run_dir, read("rings.csv"), read("ring_members.csv"), read("candidates.csv"),
               read("evidence/nodes.csv"), read("evidence/edges.csv"),
               json.loads((run_dir / "manifest.json").read_text("utf-8")))
