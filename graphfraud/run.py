"""One detection run as a typed object, and its run directory on disk.

Layout::

    rings.csv            one row per flagged ring: type, evidence, p/q values, counts, reasons
    ring_members.csv     ring_id, account_id and each member's own evidence
    candidates.csv       groups tested and not flagged whose outcome alone reached the FDR level
    evidence/nodes.csv   typed evidence nodes of every flagged ring
    evidence/edges.csv   typed evidence edges of every flagged ring
    rejects.csv          input rows rejected by validation (always written, maybe empty)
    manifest.json        written last: parameters, seed, versions, input checksums, row counts,
                         time and peak memory per stage, column types, and the checksum of
                         every file above

Writing is atomic: everything goes into a hidden sibling folder that replaces the target
only when complete, so an interrupted run never leaves a folder that mixes two runs.
Reading checks the manifest's completion marker and every file's checksum.

Outputs are deterministic: rows are sorted and floats rounded to ten significant digits
at write, so the same input and seed give byte-identical files (the manifest's creation
time and timings aside). Text cells are neutralised for spreadsheets with
:mod:`graphfraud.textsafe` and restored on reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
import uuid
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ._version import __version__
from .errors import RunDirectoryError
from .textsafe import neutralise_cells, restore_cells

if TYPE_CHECKING:
    from .dataset import Dataset
    from .detect.detector import RingDetector
    from .ingest.load import LoadReport

#: Format version of run directories (bumped when the layout changes).
RUN_FORMAT = 2
TABLE_FILES = {"rings": "rings.csv", "members": "ring_members.csv", "candidates": "candidates.csv",
               "nodes": "evidence/nodes.csv", "edges": "evidence/edges.csv", "rejects": "rejects.csv"}
_DTYPES = {"String": pl.String, "Float64": pl.Float64, "Float32": pl.Float32, "Int64": pl.Int64, "Int32": pl.Int32,
           "UInt32": pl.UInt32, "UInt64": pl.UInt64, "UInt8": pl.UInt8, "Int8": pl.Int8, "UInt16": pl.UInt16,
           "Int16": pl.Int16, "Boolean": pl.Boolean, "Null": pl.String}
REJECT_SCHEMA = {"table": pl.String, "file": pl.String, "line": pl.Int64, "column": pl.String, "value": pl.String,
                 "reason": pl.String}


def versions() -> dict[str, str]:
    """Versions of graphfraud, Python and the libraries a result depends on."""
    out = {"graphfraud": __version__, "python": platform.python_version()}
    for pkg in ("polars", "numpy", "scipy", "python-igraph", "networkx", "neo4j"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "absent"
    return out


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Floats rounded to ten significant digits, so float sums are stable across runs."""
    floats = [c for c, t in frame.schema.items() if t in (pl.Float64, pl.Float32)]
    return frame.with_columns([pl.col(c).round_sig_figs(10) for c in floats]) if floats else frame


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dtype_name(dtype: pl.DataType) -> str:
    name = str(dtype)
    return name if name in _DTYPES else "String"


@dataclass(frozen=True)
class RunResult:
    """Rings, members, candidates, evidence and rejects of one run, with its manifest.

    Build one with :meth:`from_detector`, persist it with :meth:`write`, load one with
    :meth:`read`. Export (:mod:`graphfraud.export`) and the Neo4j write-back take a
    ``RunResult``.
    """

    rings: pl.DataFrame
    members: pl.DataFrame
    candidates: pl.DataFrame
    nodes: pl.DataFrame
    edges: pl.DataFrame
    rejects: pl.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: Further tables a job adds (e.g. ``answers`` of an expansion), written as ``<name>.csv``.
    extras: dict[str, pl.DataFrame] = field(default_factory=dict)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_detector(cls, det: RingDetector, *, dataset: Dataset | None = None,
                      load_report: LoadReport | None = None, extra: dict[str, Any] | None = None) -> RunResult:
        """Collect a fitted :class:`~graphfraud.detect.detector.RingDetector`'s results."""
        summary = det.summary()
        rejects = load_report.rejects if load_report is not None else pl.DataFrame(schema=REJECT_SCHEMA)
        manifest = {
            "graphfraud_run": RUN_FORMAT,
            "graphfraud_version": __version__,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "parameters": summary["params"],
            "seed": summary["params"]["seed"],
            "versions": versions(),
            "inputs": dict(dataset.sources) if dataset is not None else {},
            "time_zone": dataset.tz if dataset is not None else None,
            "row_counts": dataset.n_rows() if dataset is not None else {},
            "validation": load_report.as_dict() if load_report is not None else None,
            "rejected_rows": rejects.height,
            "platform": summary["platform"],
            "layers": summary["layers"],
            "results": {"candidates_tested": summary["candidates_tested"], "rings": summary["rings"],
                        "flagged_accounts": summary["flagged_accounts"]},
            "evidence_counts": det.evidence_.counts,
            "timings_s": summary["timings_s"],
            "peak_memory_gb": summary["peak_memory_gb"],
            **(extra or {}),
        }
        cand_cols = [c for c in det.candidates_.columns if c not in ("flagged",)]
        return cls(det.rings_, det.membership_, det.candidates_.select(cand_cols), det.evidence_.nodes,
                   det.evidence_.edges, rejects, manifest)

    def with_ring_ids(self, mapping: dict[str, str]) -> RunResult:
        """The same run with rings renamed (``old id -> new id``) in every table."""
        if not mapping:
            return self
        rename = pl.col("ring_id").replace(mapping)
        counts = {mapping.get(k, k): v for k, v in self.manifest.get("evidence_counts", {}).items()}
        return replace(self, rings=self.rings.with_columns(rename), members=self.members.with_columns(rename),
                       nodes=self.nodes.with_columns(rename), edges=self.edges.with_columns(rename),
                       manifest={**self.manifest, "evidence_counts": counts})

    def with_manifest(self, **entries: Any) -> RunResult:
        return replace(self, manifest={**self.manifest, **entries})

    def tables(self) -> dict[str, pl.DataFrame]:
        return {**{name: getattr(self, name) for name in TABLE_FILES}, **self.extras}

    def _files(self) -> dict[str, str]:
        return {**TABLE_FILES, **{name: f"{name}.csv" for name in self.extras}}

    # ------------------------------------------------------------------ writing
    def write(self, out_dir: str | Path) -> RunResult:
        """Write the run directory atomically; returns the result with its ``path`` set."""
        out = Path(out_dir)
        check_output(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
        try:
            (tmp / "evidence").mkdir(parents=True)
            files, columns = {}, {}
            tables = self.tables()
            for name, rel in self._files().items():
                frame = _canonical(tables[name])
                neutralise_cells(frame).write_csv(tmp / rel)
                files[rel] = _sha256(tmp / rel)
                columns[rel] = {c: _dtype_name(t) for c, t in frame.schema.items()}
            manifest = {**self.manifest, "files": files, "columns": columns, "extras": sorted(self.extras),
                        "complete": True}
            # The manifest is the completion marker: written last, then fsynced.
            with open(tmp / "manifest.json", "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=2, ensure_ascii=False, default=str)
                f.flush()
                os.fsync(f.fileno())
            _swap_into_place(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return replace(self, manifest=manifest, path=out)

    # ------------------------------------------------------------------ reading
    @classmethod
    def read(cls, run_dir: str | Path) -> RunResult:
        """Read a run directory, refusing one that is incomplete or mixes two runs."""
        run_dir = Path(run_dir)
        manifest = _manifest(run_dir)
        tables = {}
        names = {**TABLE_FILES, **{name: f"{name}.csv" for name in manifest.get("extras", [])}}
        for name, rel in names.items():
            path = run_dir / rel
            expected = manifest["files"].get(rel)
            if not path.is_file() or expected is None:
                raise RunDirectoryError(f"{run_dir}: {rel} is missing; the run is incomplete. Re-run "
                                        "'graphfraud detect DATA_DIR --out RUN_DIR'.")
            if _sha256(path) != expected:
                raise RunDirectoryError(f"{run_dir}: {rel} does not match the checksum in manifest.json (the folder "
                                        "mixes two runs or was edited). Re-run 'graphfraud detect DATA_DIR --out "
                                        "RUN_DIR' into a fresh folder.")
            schema = {c: _DTYPES.get(t, pl.String) for c, t in manifest["columns"][rel].items()}
            frame = pl.read_csv(path, schema_overrides=schema, infer_schema=False) if schema else pl.read_csv(path)
            tables[name] = restore_cells(frame.select(list(schema)) if schema else frame)
        extras = {name: tables.pop(name) for name in manifest.get("extras", [])}
        return cls(**tables, manifest=manifest, path=run_dir, extras=extras)


def _manifest(run_dir: Path) -> dict[str, Any]:
    if not run_dir.is_dir():
        raise RunDirectoryError(f"{run_dir}: not a directory. Give a folder written by 'graphfraud detect'.")
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise RunDirectoryError(f"{run_dir}: no manifest.json, so this is not a complete graphfraud run. Run "
                                "'graphfraud detect DATA_DIR --out RUN_DIR' first.")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunDirectoryError(f"{path}: not valid JSON; the run is damaged. Re-run 'graphfraud detect'.") from None
    if not isinstance(manifest, dict) or manifest.get("complete") is not True or "files" not in manifest:
        raise RunDirectoryError(f"{run_dir}: manifest.json has no completion marker (an older or interrupted run). "
                                "Re-run 'graphfraud detect DATA_DIR --out RUN_DIR'.")
    if manifest.get("graphfraud_run") != RUN_FORMAT:
        raise RunDirectoryError(f"{run_dir}: written in run format {manifest.get('graphfraud_run')!r}, this version "
                                f"reads format {RUN_FORMAT}. Re-run 'graphfraud detect' with this version.")
    return manifest


def is_run_dir(path: Path) -> bool:
    """True when ``path`` holds a manifest written by graphfraud (complete or not)."""
    try:
        return "graphfraud_run" in json.loads((path / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def check_output(out: Path) -> None:
    """Fail fast, before any detection, when ``out`` cannot receive a run directory.

    ``out`` may be missing, an empty folder or an earlier run (which is replaced); a file,
    or a folder with other content, is refused; the parent must be writable.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"--out {out}: is a file, not a folder. Choose a new folder for the run.")
    if out.is_dir() and any(out.iterdir()) and not is_run_dir(out):
        raise RunDirectoryError(f"--out {out}: the folder holds other files and is not a graphfraud run; "
                                "refusing to replace it. Choose an empty or new folder.")
    parent = out.parent if str(out.parent) else Path(".")
    probe = parent / f".{out.name}.probe-{uuid.uuid4().hex[:8]}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe.mkdir()
        (probe / "x").write_bytes(b"x")
    except OSError as exc:
        raise RunDirectoryError(f"--out {out}: cannot write in {parent} ({exc.strerror or exc}). Choose a "
                                "writable folder with free space.") from None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def _swap_into_place(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
