"""Same input and seed, byte-identical files: three runs in separate processes.

Each run gets a different hash seed and a different number of polars threads, so an
output that depends on set iteration order, on thread scheduling or on the order a
parallel group-by emits its groups shows up as a differing byte; the third run reads the
same records with the rows of every file shuffled (a re-sorted export, or Neo4j's store
order), so an output that depends on row order shows up too. Only what a run is meant to
vary — its creation time, its timings and peak memory, the versions block, and for the
shuffled copy the input files' digests — is left out of the manifest comparison; every
table file must be identical, and so must the case files exported from each run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ENTRY = Path(sys.executable).with_name("graphfraud")
#: Manifest entries that legitimately differ between two runs of the same input.
VARYING = ("created_at", "timings_s", "peak_memory_gb", "files")
#: (PYTHONHASHSEED, POLARS_MAX_THREADS, rows shuffled) of the three runs.
RUNS = (("0", "1", False), ("1", "2", False), ("12345", "2", True))


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def _stable_manifest(path: Path) -> dict:
    manifest = json.loads(path.read_text("utf-8"))
    stable = {k: v for k, v in manifest.items() if k not in VARYING}
    # The shuffled copy holds the same records in other files: its row counts must agree, not its digests.
    stable["inputs"] = {t: {k: v for k, v in spec.items() if k not in ("sha256", "path")}
                        for t, spec in stable.get("inputs", {}).items()}
    return stable


def _shuffled_copy(data: Path, out: Path) -> Path:
    """The same files with the rows of each in another order (header first, records intact)."""
    import polars as pl

    out.mkdir()
    for path in sorted(data.glob("*.csv")):
        frame = pl.read_csv(path, infer_schema=False)
        assert frame.height > 1 or path.name != "reviews.csv"
        frame.sample(fraction=1.0, shuffle=True, seed=13).write_csv(out / path.name)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """A zoo market (many tactics and look-alikes exercise most code paths), detected three times."""
    root = tmp_path_factory.mktemp("determinism")
    data = root / "data"
    proc = subprocess.run([str(ENTRY), "synth", str(data), "--zoo", "--accounts", "3000", "--seed", "4"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    shuffled = _shuffled_copy(data, root / "shuffled")
    procs, outs = [], []
    for i, (hash_seed, threads, shuffle) in enumerate(RUNS):
        out = root / f"run{i}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "POLARS_MAX_THREADS": threads}
        source = shuffled if shuffle else data
        procs.append(subprocess.Popen([str(ENTRY), "detect", str(source), "--out", str(out), "--seed", "7"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
        outs.append(out)
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-2000:]
    return outs


def test_three_runs_write_identical_files(runs):
    first = _digests(runs[0])
    assert "rings.csv" in first and "evidence/nodes.csv" in first
    rings = (runs[0] / "rings.csv").read_text("utf-8").splitlines()
    assert len(rings) > 2, "the market should yield rings, or the comparison proves little"
    for other in runs[1:]:
        got = _digests(other)
        differing = sorted(f for f in first.keys() | got.keys() if first.get(f) != got.get(f))
        assert not differing, f"{other.name} differs from {runs[0].name} in {differing}"
        assert _stable_manifest(other / "manifest.json") == _stable_manifest(runs[0] / "manifest.json")


def _case_digests(folder: Path, run: Path) -> dict[str, str]:
    """Digests of a case folder's files with the run's creation time and input files masked.

    A case file cites the run it came from, creation time and input digests included (the
    report's provenance block and the case manifest), so those values are masked, and so is
    the case manifest's own export time; the checksum lists, which change with them, are
    checked against their folder instead.
    """
    manifest = json.loads((run / "manifest.json").read_text("utf-8"))
    masks = [manifest["created_at"], *(str(spec[k]) for spec in manifest["inputs"].values()
                                       for k in ("sha256", "path") if spec.get(k))]
    digests = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        if p.name == "checksums.sha256":
            for line in data.decode("utf-8").splitlines():
                digest, name = line.split("  ", 1)
                assert hashlib.sha256((p.parent / name).read_bytes()).hexdigest() == digest, (p, name)
            continue
        if p.name == "manifest.json":
            manifest = json.loads(data)
            manifest.pop("created_at")
            data = json.dumps(manifest, sort_keys=True).encode("utf-8")
        masked = data
        for value in masks:
            masked = masked.replace(value.encode("utf-8"), b"<masked>")
        digests[str(p.relative_to(folder))] = hashlib.sha256(masked).hexdigest()
    return digests


def test_case_files_from_the_three_runs_are_identical(runs, tmp_path):
    digests = []
    for i, run in enumerate(runs):
        to = tmp_path / f"cases{i}"
        proc = subprocess.run([str(ENTRY), "export", str(run), "--to", str(to), "--top", "3"],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        digests.append(_case_digests(to, run))
    assert len(digests[0]) >= 3 * 6
    assert digests[0] == digests[1] == digests[2]
