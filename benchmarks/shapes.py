"""Odd-shaped markets: the tactic zoo bent one way at a time, each run through ``graphfraud detect``.

Usage::

    uv run python benchmarks/shapes.py [--accounts 20000] [--seed 5] [--days 730] [--shapes heavy_buyer ...]

Platform exports are not tidy: one IP or one device behind everything, every timestamp
the same, one shop, no texts, a buyer with a third of all orders, every transfer from one
settlement account. Each shape is the zoo (``synthesize_zoo``) with one such change,
written as Parquet and detected in a fresh process under ``/usr/bin/time -v``. Printed per
shape: exit status, wall seconds, peak RSS, the slowest stage (``manifest.json``), rings,
accounts flagged and how many of them are in no planted ring. What to look for: no crash,
time and memory near the unchanged zoo's, and benign accounts flagged near its count.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from graphfraud.export.tables import write_tables
from graphfraud.synth.zoo import synthesize_zoo

Tables = dict[str, pl.DataFrame]


def _set(col: str, value: object, tables: tuple[str, ...] | None = None) -> Callable[[Tables], Tables]:
    """Every value of column ``col`` (in ``tables``, or wherever it occurs) set to ``value``."""
    def change(t: Tables) -> Tables:
        return {k: v.with_columns(pl.lit(value).alias(col)) if col in v.columns and (tables is None or k in tables)
                else v for k, v in t.items()}
    return change


def _one_time(t: Tables) -> Tables:
    cols = ("created_at", "first_seen", "last_seen")
    return {k: v.with_columns(pl.lit("2024-03-01 12:00:00").alias(c) for c in cols if c in v.columns)
            for k, v in t.items()}


def _heavy_buyer(t: Tables) -> Tables:
    """One account places every third order, paying with the buyers' own payment accounts
    (so it shares their receipts too, like a purchasing agent paid by its clients)."""
    o = t["orders"]
    every_third = pl.int_range(pl.len()) % 3 == 0
    heavy = o["account_id"][0]
    return {**t, "orders": o.with_columns(pl.when(every_third).then(pl.lit(heavy)).otherwise(pl.col("account_id"))
                                          .alias("account_id"))}


def _one_settlement_account(t: Tables) -> Tables:
    """Every transfer paid from one account bound to no person or shop (a platform's escrow)."""
    return {**t, "transfers": t["transfers"].with_columns(pl.lit("ESCROW0001").alias("from_payment_account_id"))}


def _one_far_future(t: Tables) -> Tables:
    r = t["reviews"]
    return {**t, "reviews": r.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("2099-01-01 00:00:00"))
                                           .otherwise(pl.col("created_at")).alias("created_at"))}


def _without(*names: str) -> Callable[[Tables], Tables]:
    return lambda t: {k: v for k, v in t.items() if k not in names}


SHAPES: dict[str, Callable[[Tables], Tables]] = {
    "zoo": lambda t: t,
    "one_ip": _set("ip", "10.0.0.1"),
    "one_device": _set("device_id", "D1"),
    "one_address": _set("address", "ADDR1"),
    "one_time": _one_time,
    "one_far_future": _one_far_future,
    "one_shop": _set("merchant_id", "M000001", ("orders", "reviews")),
    "all_five_stars": _set("rating", 5.0),
    "no_text": _set("text", None),
    "heavy_buyer": _heavy_buyer,
    "one_settlement_account": _one_settlement_account,
    "no_money": _without("transfers", "merchant_payments", "account_payments"),
}


def run(name: str, tables: Tables, planted: pl.DataFrame, work: Path) -> dict[str, object]:
    data, out = work / name / "data", work / name / "run"
    write_tables(SHAPES[name](dict(tables)), data, fmt="parquet")
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", str(Path(sys.executable).parent / "graphfraud"), "detect", str(data),
                           "--out", str(out)], capture_output=True, text=True)
    row: dict[str, object] = {"shape": name, "exit": proc.returncode,
                              "wall_s": round(time.perf_counter() - started, 1)}
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    row["peak_gb"] = round(int(peak.group(1)) / 1e6, 2) if peak else None
    if proc.returncode == 0:
        timings = json.loads((out / "manifest.json").read_text())["timings_s"]
        slowest = max(timings, key=timings.get)
        members = pl.read_csv(out / "ring_members.csv", columns=["account_id"]).unique()
        row.update(slowest=f"{slowest} {timings[slowest]:.1f} s",
                   rings=pl.read_csv(out / "rings.csv", columns=["ring_id"]).height,
                   flagged=members.height, benign=members.join(planted, on="account_id", how="anti").height)
    else:
        row["slowest"] = proc.stderr.strip().splitlines()[0][:80] if proc.stderr.strip() else ""
    shutil.rmtree(work / name, ignore_errors=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=20_000, help="background accounts of the zoo")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--days", type=int, help="time span of the zoo in days (730 = two years; default: the zoo's, 120)")
    ap.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    args = ap.parse_args()
    zoo = synthesize_zoo(args.accounts, seed=args.seed, **({"days": args.days} if args.days else {}))
    planted = zoo.ring_members.select("account_id").unique()
    rows = []
    with tempfile.TemporaryDirectory(prefix="graphfraud-shapes-") as tmp:
        for name in args.shapes:
            rows.append(run(name, zoo.tables, planted, Path(tmp)))
            print(rows[-1], flush=True)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=80,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(pl.DataFrame(rows))


if __name__ == "__main__":
    main()
