"""A corpus of corrupted and hostile inputs, run through the CLI's entry point.

Every case ends the way a user can act on: exit 0 with each bad row in the reject
report, or exit 2 with one ``error:`` line that names the file; never a traceback, never
a hang (each run has a timeout), never more memory than a cap, and nothing lost
silently: for every table, the rows read are the records planted, and accepted +
rejected == read.

The cases run one after another in one child process that calls the console script's
entry point (``graphfraud.cli.run``: the same exit codes and error lines) under the memory
cap; starting a Python process per case cost more than the cases themselves. A case that
hangs is killed with its child, and the next case gets a fresh one. The console script
itself is exercised by tests/test_cli.py.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import resource
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

pytestmark = pytest.mark.slow  # about forty runs of the CLI

MEMORY_CAP = 3 * 2**30
TIMEOUT_S = 180

ACCOUNTS = "account_id,created_at,phone,nickname\n" + "".join(
    f"a{i},2024-01-0{1 + i % 9} 10:00:00,1380000{i:04d},买家{i}\n" for i in range(12))
MERCHANTS = "merchant_id,name\nm1,店铺一\nm2,店铺二\nm3,店铺三\n"
REVIEW_HEADER = "review_id,account_id,merchant_id,rating,created_at,text\n"
REVIEWS = REVIEW_HEADER + "".join(f"r{i},a{i % 12},m{1 + i % 3},5,2024-03-0{1 + i % 9} 1{i % 10}:00:00,好评{i}\n"
                                  for i in range(30))
ORDER_HEADER = "order_id,account_id,merchant_id,created_at,amount\n"


@dataclass
class Case:
    """A corrupted data directory and what graphfraud must say about it."""

    build: Callable[[Path], None]
    error: str | None = None  # fragment of the one error line (exit 2); None: exit 0
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # table -> (read, accepted)
    detect: bool = False  # also run detect on it


def _base(d: Path) -> None:
    (d / "accounts.csv").write_text(ACCOUNTS, "utf-8")
    (d / "merchants.csv").write_text(MERCHANTS, "utf-8")
    (d / "reviews.csv").write_text(REVIEWS, "utf-8")


def _write(name: str, data: str | bytes) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        (d / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return build


def _parquet(name: str, frame: Callable[[], pl.DataFrame]) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        (d / name.replace(".parquet", ".csv")).unlink(missing_ok=True)
        frame().write_parquet(d / name)
    return build


def _replace(name: str, new: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        (d / name.replace(".jsonl", ".csv").replace(".gz", "")).unlink(missing_ok=True)
        _write(name, new)(d)
    return build


def _symlink(name: str, target: str | Callable[[Path], Path]) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        (d / name).unlink(missing_ok=True)
        (d / name).symlink_to(target(d) if callable(target) else target)
    return build


def _fifo(d: Path) -> None:
    (d / "merchants.csv").unlink()
    os.mkfifo(d / "merchants.csv")


def _bomb(d: Path) -> None:
    (d / "reviews.csv").unlink()
    z = gzip.compress(REVIEW_HEADER.encode() + b"\0" * (300 * 2**20), compresslevel=1)
    (d / "reviews.csv.gz").write_bytes(z)


def _garbage(d: Path) -> None:
    rng = random.Random(7)
    (d / "reviews.csv").write_bytes(bytes(rng.randrange(256) for _ in range(200_000)))


def _valid_parquet_truncated(d: Path) -> None:
    pl.read_csv(d / "merchants.csv").write_parquet(d / "merchants.parquet")
    data = (d / "merchants.parquet").read_bytes()
    (d / "merchants.parquet").write_bytes(data[: len(data) // 2])
    (d / "merchants.csv").unlink()


def _deep_json(d: Path) -> None:
    (d / "reviews.csv").unlink()
    ok = '{"review_id": "r%d", "account_id": "a1", "merchant_id": "m1", "rating": 5, "created_at": "2024-03-01"}\n'
    deep = '{"review_id": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    (d / "reviews.jsonl").write_text(ok % 1 + deep + ok % 2, "utf-8")


CASES: dict[str, Case] = {
    "nul bytes inside fields and ids": Case(
        _write("reviews.csv", REVIEW_HEADER + "r1,a1,m1,5,2024-03-01,te\0xt\nr\0 2,a1,m1,5,2024-03-01,x\n"
               "r3,a1\0,m1,5,2024-03-01,x\n"), rows={"reviews": (3, 3)}),
    "mixed line endings (LF, CRLF, lone CR)": Case(
        _write("reviews.csv", REVIEW_HEADER.replace("\n", "\r\n")
               + "r1,a1,m1,5,2024-03-01,x\r\nr2,a2,m1,5,2024-03-01,y\r"
               "r3,a3,m1,5,2024-03-01,z\nr4,a4,m2,4,2024-03-02,\"multi\r\nline\"\n"), rows={"reviews": (4, 4)}),
    "a BOM and a second header in the middle (two files concatenated)": Case(
        _write("reviews.csv", REVIEWS + "\ufeff" + REVIEWS), rows={"reviews": (61, 30)}),
    "enormous numbers": Case(
        _write("reviews.csv", REVIEW_HEADER + "r1,a1,m1,1e309,2024-03-01,x\nr2,a1,m1,5," + "9" * 400 + ",x\n"
               "r3,a1,m1,5,2024-03-01," + "9" * 5000 + "\nr4,a1,m1," + "5" * 300 + ",2024-03-01,x\n"),
        rows={"reviews": (4, 1)}),
    "enormous and negative amounts": Case(
        _write("orders.csv", ORDER_HEADER + "o1,a1,m1,2024-03-01," + "9" * 400 + "\no2,a1,m1,2024-03-01,-1e-9\n"
               "o3,a1,m1,2024-03-01,1e10\no4,a1,m1,2024-03-01,-inf\no5,a1,m1,2024-03-01,12\n"),
        rows={"orders": (5, 2)}, detect=True),
    "timestamps that are not instants": Case(
        _write("reviews.csv", REVIEW_HEADER + "".join(f"r{i},a1,m1,5,{t},x\n" for i, t in enumerate(
            ["2024-02-30", "2024-03-01 24:00:01", "-1", "NaN", "1e9", "0", "99999999999999999999", "2024-13-01",
             "+10000-01-01", "2024-03-01T10:00:00+25:00", "2024-03-01"]))), rows={"reviews": (11, 1)}),
    "nested JSON values in contract columns": Case(
        _replace("reviews.jsonl", '{"review_id": "r1", "account_id": "a1", "merchant_id": "m1", '
                                  '"rating": {"stars": 5}, "created_at": "2024-03-01"}\n'
                                  '{"review_id": "r2", "account_id": ["a1"], "merchant_id": "m1", "rating": 5, '
                                  '"created_at": "2024-03-01"}\n'
                                  '{"review_id": "r3", "account_id": "a1", "merchant_id": "m1", "rating": 5, '
                                  '"created_at": [2024, 3, 1], "meta": {"deep": {"er": [1, {"x": null}]}}}\n'
                                  '{"review_id": "r4", "account_id": "a1", "merchant_id": "m1", "rating": 5, '
                                  '"created_at": "2024-03-01", "meta": {"k": "v"}}\n'), rows={"reviews": (4, 1)}),
    "JSON nested 100,000 deep": Case(_deep_json, rows={"reviews": (3, 2)}),
    "JSON Lines with a BOM, CRLF, blank lines and trailing garbage": Case(
        _replace("reviews.jsonl", '\ufeff{"review_id": "r1", "account_id": "a1", "merchant_id": "m1", "rating": 5, '
                                  '"created_at": "2024-03-01"}\r\n\r\n   \n'
                                  '{"review_id": "r2", "account_id": "a1", "merchant_id": "m1", "rating": 5, '
                                  '"created_at": "2024-03-01"} trailing\n'), rows={"reviews": (2, 1)}),
    "header-only required table": Case(_write("reviews.csv", REVIEW_HEADER), error="reviews: no rows"),
    "header-only optional table": Case(_write("orders.csv", ORDER_HEADER), rows={"orders": (0, 0)}),
    "only blank lines": Case(_write("merchants.csv", "\n\r\n\n"), error="merchants.csv: the file is empty"),
    "binary garbage named .csv": Case(_garbage, error="reviews.csv: is not a text table but binary data"),
    "UTF-16 export": Case(_write("merchants.csv", MERCHANTS.encode("utf-16")), error="is UTF-16"),
    "gzip bomb": Case(_bomb, error="decompression bomb"),
    "truncated gzip": Case(lambda d: (d / "reviews.csv").unlink() or (d / "reviews.csv.gz").write_bytes(
        gzip.compress(REVIEWS.encode())[:40]), error="not a valid gzip file"),
    "zero-byte parquet": Case(lambda d: (d / "merchants.csv").unlink() or (d / "merchants.parquet").write_bytes(b""),
                              error="not a readable Parquet file"),
    "truncated parquet": Case(_valid_parquet_truncated, error="not a readable Parquet file"),
    "parquet with odd types": Case(_parquet("reviews.parquet", lambda: pl.DataFrame({
        "review_id": ["r1", "r2", "r3"], "account_id": ["a1", "a2", "a3"], "merchant_id": ["m1", "m1", "m1"],
        "rating": [True, False, True], "created_at": pl.Series([3600, 7200, 10800]).cast(pl.Duration("ms"))})),
        rows={"reviews": (3, 0)}, error="reviews: all 3 row(s) rejected"),
    "parquet with epoch nanoseconds and far-future datetimes": Case(_parquet("reviews.parquet", lambda: pl.DataFrame({
        "review_id": ["r1", "r2"], "account_id": ["a1", "a2"], "merchant_id": ["m1", "m1"], "rating": [5.0, 5.0],
        "created_at": pl.Series([1_709_251_200 * 10**6, 10**17], dtype=pl.Int64).cast(pl.Datetime("us"))})),
        rows={"reviews": (2, 1)}),
    "the same table in two formats": Case(_write("reviews.jsonl.gz", gzip.compress(b'{"review_id": "r1"}\n')),
                                          error="given twice"),
    "symlink loop": Case(_symlink("reviews.csv", lambda d: d / "reviews.csv"), error="symbolic link loop"),
    "symlink to a directory": Case(_symlink("reviews.csv", lambda d: d), error="is a directory, not a regular file"),
    "symlink to /dev/zero": Case(_symlink("accounts.csv", "/dev/zero"), error="is a character device"),
    "symlink to /dev/urandom": Case(_symlink("accounts.csv", "/dev/urandom"), error="is a character device"),
    "FIFO": Case(_fifo, error="is a named pipe (FIFO)"),
    "header that never ends (10 MB, one line)": Case(_write("accounts.csv", "account_id," + "x" * 10_000_000),
                                                     error="header line is 10,000,011 bytes long (limit 65,536)"),
    "a quoted newline in the header": Case(_write("merchants.csv", '"merchant\nid",name\nm1,x\n'),
                                           error="missing required column(s) merchant_id"),
    "duplicate column hidden by a BOM": Case(_write("merchants.csv", "\ufeffmerchant_id,\ufeffmerchant_id\nm1,m2\n"),
                                             error="column 'merchant_id' appears twice"),
    "five thousand columns": Case(_write("merchants.csv", "merchant_id," + ",".join(f"c{i}" for i in range(5000))
                                         + "\n" + ("m1," + ",".join("v" for _ in range(5000)) + "\n")),
                                  rows={"merchants": (1, 1), "reviews": (30, 10)}),
    "semicolon-separated export": Case(_write("merchants.csv", "merchant_id;name\nm1;x\n"),
                                       error="looks ';'-separated"),
    "a JSON array instead of JSON Lines": Case(_replace("reviews.jsonl", json.dumps([{"review_id": "r1"}]) + "\n"),
                                               error="no line could be read"),
    "a spreadsheet (zip) named .csv": Case(_write("merchants.csv", b"PK\x03\x04" + bytes(range(256)) * 50),
                                           error="merchants.csv: is not a text table but a ZIP archive"),
    "an id over the field limit": Case(_write("reviews.csv", REVIEW_HEADER + "r" * (2**20 + 1)
                                              + ",a1,m1,5,2024-03-01,x\nr2,a1,m1,5,2024-03-01,x\n"),
                                       rows={"reviews": (2, 1)}),
    "every line has an unclosed quote": Case(_write("reviews.csv", REVIEW_HEADER + "".join(
        f'r{i},a1,m1,5,2024-03-01,"oops\n' for i in range(5))), error="reviews: all 5 row(s) rejected"),
    "ANSI escapes and markup in ids and texts": Case(_write("reviews.csv", REVIEW_HEADER + "r1,a1,m1,5,2024-03-01,"
                                                          "\x1b[2J\x1b]0;pwn\x07[bold]x[/bold]\n"
                                                          "[/oops]\x1b[31m,a1,m1,9,2024-03-01,x\n"),
                                                    rows={"reviews": (2, 1)}, detect=True),
    "zero-width and fullwidth look-alikes": Case(_write("reviews.csv", REVIEW_HEADER
                                                        + "r1,\u200ba1\u200b,m1,5,2024-03-01,x\n"
                                                        "r2,a1,m1,５,2024-03-01,x\nr3,ａ1,m1,5,2024-03-01,x\n"),
                                                 rows={"reviews": (3, 1)}),
}


#: The child: reads one JSON list of arguments per line, runs the CLI on it, answers one JSON line.
CHILD = r"""
import contextlib, io, json, sys
from graphfraud.cli import run
answer = sys.stdout
for line in sys.stdin:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = ["graphfraud", *json.loads(line)]
        try:
            run()
            rc = 0
        except SystemExit as stop:
            rc = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    answer.write(json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    answer.flush()
"""


class Cli:
    """One long-lived child process under the memory cap that runs CLI invocations in turn."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

        return subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=limit)

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        """Run ``graphfraud ARGS``; raise TimeoutExpired (and drop the child) after TIMEOUT_S."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(list(args)) + "\n")
        proc.stdin.flush()
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = reader.submit(proc.stdout.readline)
            try:
                line = pending.result(timeout=TIMEOUT_S)
            except TimeoutError:
                self.close()
                raise subprocess.TimeoutExpired(["graphfraud", *args], TIMEOUT_S) from None
        if not line:  # the child died (the memory cap, a crash): what it said is on its stderr
            err = proc.stderr.read() if proc.stderr else ""
            self.proc = None
            return subprocess.CompletedProcess(["graphfraud", *args], proc.wait(), "", err)
        answer = json.loads(line)
        return subprocess.CompletedProcess(["graphfraud", *args], answer["rc"], answer["stdout"], answer["stderr"])

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _check(name: str, case: Case, root: Path, _run: Cli) -> list[str]:
    """Run one case; return the problems found (empty when it behaved)."""
    d = root / "data"
    d.mkdir(parents=True)
    _base(d)
    case.build(d)
    problems = []
    report = root / "rejects.csv"
    try:
        proc = _run("validate", str(d), "--report", str(report))
    except subprocess.TimeoutExpired:
        return [f"validate hung: no end within {TIMEOUT_S} s"]
    out = proc.stdout + proc.stderr
    if "Traceback" in out or proc.returncode not in (0, 2):
        return [f"validate exited {proc.returncode}:\n{out[-1500:]}"]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    if case.error and case.error not in " ".join(errors):
        problems.append(f"expected error {case.error!r}, got rc {proc.returncode}: {errors or out[-800:]}")
    if case.error and (proc.returncode != 2 or len(errors) != 1):
        problems.append(f"expected exit 2 and one error line, got {proc.returncode}: {errors}")
    if not case.error and proc.returncode != 0:
        problems.append(f"expected exit 0, got {proc.returncode}: {out[-800:]}")
    if case.rows:
        rejects = pl.read_csv(report, infer_schema=False) if report.exists() else None
        for table, (read, accepted) in case.rows.items():
            row = [line for line in proc.stdout.splitlines() if line.strip().strip("│┃ ").startswith(table + " ")]
            cells = [c.strip() for c in row[0].replace("┃", "│").split("│") if c.strip()] if row else []
            if len(cells) < 6:
                problems.append(f"{table}: no row in the validation table:\n{proc.stdout[-1500:]}")
                continue
            got = tuple(int(c.replace(",", "")) for c in cells[3:6])
            if got != (read, accepted, read - accepted):
                problems.append(f"{table}: read/accepted/rejected {got}, expected {(read, accepted, read - accepted)}")
            n = rejects.filter(pl.col("table") == table).height if rejects is not None else 0
            if n != read - accepted:
                problems.append(f"{table}: {n} reject record(s) for {read - accepted} rejected row(s)")
    if case.detect and not problems:
        run = root / "run"
        try:
            proc = _run("detect", str(d), "--out", str(run))
        except subprocess.TimeoutExpired:
            return [f"detect hung: no end within {TIMEOUT_S} s"]
        if proc.returncode != 0 or "Traceback" in proc.stderr:
            problems.append(f"detect exited {proc.returncode}:\n{proc.stderr[-1500:]}")
        else:
            manifest = json.loads((run / "manifest.json").read_text("utf-8"))
            for table, rep in manifest["validation"].items():
                if rep["accepted"] + rep["rejected"] != rep["read"]:
                    problems.append(f"detect: {table} lost rows: {rep}")
    return problems


def test_every_corrupted_input_ends_cleanly(tmp_path):
    cli = Cli()
    try:
        results = {name: _check(name, case, tmp_path / f"case{i:02d}", cli)
                   for i, (name, case) in enumerate(CASES.items())}
    finally:
        cli.close()
    failed = {name: problems for name, problems in results.items() if problems}
    assert not failed, "\n\n".join(f"[{name}]\n" + "\n".join(p) for name, p in failed.items())
