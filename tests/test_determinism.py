"""Same input and seed, byte-identical files: three runs in separate processes.

Each run gets a different hash seed and a different number of polars threads, so an
output that depends on set iteration order, on thread scheduling or on the order a
parallel group-by emits its groups shows up as a differing byte. Only what a run is
meant to vary — its creation time, its timings and peak memory, the versions block — is
left out of the manifest comparison; every table file must be identical, and so must
the case files exported from each run.
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
#: (PYTHONHASHSEED, POLARS_MAX_THREADS) of the three runs.
RUNS = (("0", "1"), ("1", "2"), ("12345", "2"))


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def _stable_manifest(path: Path) -> dict:
    manifest = json.loads(path.read_text("utf-8"))
    return {k: v for k, v in manifest.items() if k not in VARYING}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """A zoo market (many tactics and look-alikes exercise most code paths), detected three times."""
    root = tmp_path_factory.mktemp("determinism")
    data = root / "data"
    proc = subprocess.run([str(ENTRY), "synth", str(data), "--zoo", "--accounts", "3000", "--seed", "4"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    procs, outs = [], []
    for i, (hash_seed, threads) in enumerate(RUNS):
        out = root / f"run{i}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "POLARS_MAX_THREADS": threads}
        procs.append(subprocess.Popen([str(ENTRY), "detect", str(data), "--out", str(out), "--seed", "7"],
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


def _case_digests(folder: Path, created_at: str) -> dict[str, str]:
    """Digests of a case folder's files with the run's creation time masked.

    A case file cites the run it came from, creation time included (the report's
    provenance block and the case manifest), so that value is masked, and so is the
    case manifest's own export time; the checksum lists, which change with them, are
    checked against their folder instead.
    """
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
        masked = data.replace(created_at.encode("utf-8"), b"<created_at>")
        digests[str(p.relative_to(folder))] = hashlib.sha256(masked).hexdigest()
    return digests


def test_case_files_from_the_three_runs_are_identical(runs, tmp_path):
    digests = []
    for i, run in enumerate(runs):
        to = tmp_path / f"cases{i}"
        proc = subprocess.run([str(ENTRY), "export", str(run), "--to", str(to), "--top", "3"],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        created_at = json.loads((run / "manifest.json").read_text("utf-8"))["created_at"]
        digests.append(_case_digests(to, created_at))
    assert len(digests[0]) >= 3 * 6
    assert digests[0] == digests[1] == digests[2]
