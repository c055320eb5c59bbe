from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
YELP = SHARED / "data" / "yelp"


#: Per process: how deeply this worker holds the live Neo4j (the lock is re-entrant).
_HELD = {"depth": 0}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for ``-n auto``: one per core, and one more when a live Neo4j is configured.

    The live tests hold one database in turn (:func:`live_neo4j_exclusive`) and wait on the
    server and on Chromium; a worker waiting for the lock or for the server does no work, so
    with a live Neo4j one worker more than cores keeps the cores busy. Without one the suite
    is CPU-bound and an extra worker only repeats the session fixtures.
    """
    cores = os.cpu_count() or 1
    return cores + 1 if os.environ.get("NEO4J_URI") else cores


@contextlib.contextmanager
def live_neo4j_exclusive() -> Iterator[None]:
    """Hold the one live Neo4j for this worker: tests on other workers that use it wait.

    The tests clear and fill a single database, so two of them at once would corrupt each
    other's counts. Re-entrant within a process (flock on a second descriptor of the same
    file would wait for itself). A no-op without NEO4J_URI (those tests skip anyway).
    """
    uri = os.environ.get("NEO4J_URI")
    if not uri or _HELD["depth"]:
        _HELD["depth"] += 1
        try:
            yield
        finally:
            _HELD["depth"] -= 1
        return
    key = hashlib.sha256(uri.encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"graphfraud-tests-neo4j-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _HELD["depth"] = 1
        try:
            yield
        finally:
            _HELD["depth"] = 0
            fcntl.flock(lock, fcntl.LOCK_UN)


def write(dir_: Path, name: str, text: str | bytes) -> Path:
    path = dir_ / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.fixture
def entry_point(capfd, monkeypatch, tmp_path):
    """``graphfraud ARGS`` through the console-script entry point, in this process.

    The same code as the installed command (:func:`graphfraud.cli.run`: exit statuses and
    one-line errors) without paying a new interpreter and its imports per call. Returns a
    ``CompletedProcess`` like ``subprocess.run(..., capture_output=True, text=True)``.
    """
    from graphfraud import terminal
    from graphfraud.cli import run

    def invoke(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, "argv", ["graphfraud", *args])
        monkeypatch.setitem(terminal._state, "debug", False)
        if stdin is not None:
            # A real file: the stdin reader waits on the descriptor with select().
            path = tmp_path / "stdin.txt"
            path.write_text(stdin, "utf-8")
            monkeypatch.setattr(sys, "stdin", path.open("r", encoding="utf-8"))
        capfd.readouterr()
        with pytest.raises(SystemExit) as done:
            run()
        if stdin is not None:
            sys.stdin.close()
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(["graphfraud", *args], done.value.code, out, err)

    return invoke


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    """A tiny valid data directory with only the required tables."""
    write(tmp_path, "accounts.csv", "account_id,created_at,phone\n007,2024-01-01 10:00:00,13800000000\n"
                                    "A2,2024-01-02T10:00:00+08:00,\n")
    write(tmp_path, "merchants.csv", "merchant_id,name\nm1,店铺一\nm2,店铺二\n")
    write(tmp_path, "reviews.csv", "review_id,account_id,merchant_id,rating,created_at,text\n"
                                   "r1,007,m1,5,2024-03-01 10:00:00,不错\nr2,A2,m2,4,1709251200,还行\n")
    return tmp_path


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory) -> Path:
    """A small synthetic marketplace written as CSV (shared by detection tests)."""
    from graphfraud.export.tables import write_tables
    from graphfraud.synth import synthesize

    out = tmp_path_factory.mktemp("synth")
    res = synthesize(6_000, seed=7)
    write_tables(res.tables, out)
    write_tables({"ring_members": res.ring_members, "benign_groups": res.benign_groups}, out / "truth")
    return out


@pytest.fixture(scope="session")
def market_2k(tmp_path_factory) -> Path:
    """A 2,000-account market with planted rings as files, truth in ``truth/``: for tests whose
    cost grows with the data and that do not measure detection (live Neo4j, docs examples)."""
    from graphfraud.export.tables import write_tables
    from graphfraud.synth import synthesize

    out = tmp_path_factory.mktemp("market")
    res = synthesize(2_000, seed=11)
    write_tables(res.tables, out)
    write_tables({"ring_members": res.ring_members}, out / "truth")
    return out


@pytest.fixture(scope="session")
def synth_truth(synth_small):
    """(ring_members, benign_groups) of the small synthetic market."""
    import polars as pl

    return (pl.read_csv(synth_small / "truth" / "ring_members.csv", infer_schema=False),
            pl.read_csv(synth_small / "truth" / "benign_groups.csv", infer_schema=False))


@pytest.fixture(scope="session")
def fitted(synth_small):
    """One detector fitted on the small market, shared by every module that reads a run."""
    from graphfraud.detect.detector import RingDetector
    from graphfraud.ingest import load_dataset

    loaded = load_dataset(synth_small)
    return RingDetector(seed=7).fit(loaded.dataset), loaded


@pytest.fixture(scope="session")
def run_dir(fitted, tmp_path_factory) -> Path:
    """The fitted run written as a run directory."""
    from graphfraud.run import RunResult

    det, loaded = fitted
    run = RunResult.from_detector(det, dataset=loaded.dataset, load_report=loaded.report)
    return run.write(tmp_path_factory.mktemp("run") / "run").path
