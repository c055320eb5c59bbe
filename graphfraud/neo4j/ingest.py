"""Load a validated dataset into Neo4j: constraints, then UNWIND batches of MERGEs.

``load_rows`` (pure) turns the tables into the row dicts of each load statement;
``ingest`` sends them through a gateway in batches, with retries and progress.
Running it twice changes nothing: every statement is an idempotent MERGE.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import polars as pl

from ..dataset import Dataset
from .gateway import Gateway, batched, with_retries
from .statements import LOADS, Load, constraint_statements


def _rows(frame: pl.DataFrame, load: Load) -> pl.DataFrame:
    cols = [pl.col(c) if c in frame.columns else pl.lit(None).alias(c) for c in load.columns]
    out = frame.select(cols)
    if load.required:
        out = out.filter(pl.all_horizontal([pl.col(c).is_not_null() for c in load.required]))
    return out.unique() if load.required else out


def load_rows(ds: Dataset) -> Iterator[tuple[Load, pl.DataFrame]]:
    """(statement, rows) for every load statement whose table is present. Pure.

    Transfers get a ``transfer_key``: their ``transfer_id``, else a hash of the row, so
    re-loading the same file merges onto the same relationships.
    """
    for load in LOADS:
        frame = ds.get(load.table)
        if frame is None or frame.height == 0:
            continue
        if load.table == "transfers":
            key = (pl.col("transfer_id") if "transfer_id" in frame.columns else pl.lit(None, pl.String))
            digest = pl.concat_str([pl.col("from_payment_account_id"), pl.col("to_payment_account_id"),
                                    pl.col("amount").cast(pl.String), pl.col("created_at").cast(pl.String)],
                                   separator="|").hash(seed=1).cast(pl.String)
            frame = frame.with_columns(pl.coalesce(key, digest).alias("transfer_key"))
        rows = _rows(frame, load)
        if rows.height:
            yield load, rows


@dataclass
class IngestReport:
    statements: int
    rows: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def apply_schema(gw: Gateway) -> int:
    for stmt in constraint_statements():
        with_retries(partial(gw.write, stmt))
    return len(constraint_statements())


def write_batches(gw: Gateway, query: str, rows: list[dict[str, Any]], batch_size: int,
                  extra: dict[str, Any] | None = None, on_batch: Callable[[int], None] | None = None) -> int:
    """Send ``rows`` as ``$rows`` in batches, each in its own managed transaction with retries."""
    sent = 0
    for batch in batched(rows, batch_size):
        params = {"rows": batch, **(extra or {})}
        with_retries(partial(gw.write, query, params))
        sent += len(batch)
        if on_batch:
            on_batch(len(batch))
    return sent


def ingest(ds: Dataset, gw: Gateway, batch_size: int = 5_000,
           progress: Callable[[str, int, int], None] | None = None) -> IngestReport:
    """Apply constraints, then load every table. ``progress(name, done, total)`` per batch."""
    t0 = time.perf_counter()
    apply_schema(gw)
    total_rows, statements = 0, 0
    for load, rows in load_rows(ds):
        records = rows.to_dicts()
        done = 0

        def tick(n: int, name: str = load.name, total: int = len(records)) -> None:
            nonlocal done
            done += n
            if progress:
                progress(name, done, total)

        total_rows += write_batches(gw, load.query, records, batch_size, on_batch=tick)
        statements += 1
    return IngestReport(statements, total_rows, time.perf_counter() - t0)
