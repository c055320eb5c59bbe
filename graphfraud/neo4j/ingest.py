"""Load a validated dataset into Neo4j: constraints, then UNWIND batches of MERGEs.

``load_rows`` (pure) turns the tables into the row dicts of each load statement;
``ingest`` sends them through a gateway in batches, with retries and progress.
Running it twice changes nothing: every statement is an idempotent MERGE.
``bulk_ingest`` writes the same graph into the empty database of a local server with
``neo4j-admin database import full`` (a first load, many times faster).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from ..dataset import Dataset
from . import local
from .bulk import bulk_graph, write_import_files
from .gateway import DriverGateway, Gateway, batched, with_retries
from .local import BulkImportError, LocalServer
from .settings import Settings
from .statements import AWAIT_INDEXES, COUNT_NODES, COUNT_RELATIONSHIPS, LOADS, TIME_ZONE, Load, constraint_statements


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


def bolt_rows(rows: pl.DataFrame, load: Load) -> pl.DataFrame:
    """``rows`` as the statement reads them: timestamps as integer epoch milliseconds. Pure.

    (:attr:`Load.timestamps`: the statement rebuilds the datetimes, which is several times
    cheaper than the driver converting Python datetimes; timestamps are millisecond-precise.)
    """
    return rows.with_columns(pl.col(c).cast(pl.Datetime("ms", TIME_ZONE)).dt.epoch("ms") for c in load.timestamps)


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


def write_batches(gw: Gateway, query: str, rows: list[dict[str, Any]] | pl.DataFrame, batch_size: int,
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
        records = bolt_rows(rows, load)
        done = 0

        def tick(n: int, name: str = load.name, total: int = records.height) -> None:
            nonlocal done
            done += n
            if progress:
                progress(name, done, total)

        total_rows += write_batches(gw, load.query, records, batch_size, on_batch=tick)
        statements += 1
    return IngestReport(statements, total_rows, time.perf_counter() - t0)


class DatabaseNotEmptyError(BulkImportError):
    """A bulk import was asked for a database that already holds data."""


@dataclass
class BulkReport:
    """What a bulk first load did: rows in, graph out, seconds per phase."""

    rows: int
    nodes: int
    relationships: int
    properties: int
    seconds: dict[str, float]

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.total_seconds if self.total_seconds else float("inf")


def _count(gw: Gateway) -> tuple[int, int]:
    nodes = gw.read(COUNT_NODES)[0]["c"]
    rels = gw.read(COUNT_RELATIONSHIPS)[0]["c"]
    return int(nodes), int(rels)


def bulk_ingest(ds: Dataset, server: LocalServer, password: str, *, username: str = "neo4j",
                database: str = "neo4j", progress: Callable[[str], None] | None = None) -> BulkReport:
    """First load of ``ds`` into the empty ``database`` of a local server with ``neo4j-admin database import``.

    The graph is the one :func:`ingest` leaves (same load declarations, same rows). The server
    is stopped if it runs, the files are imported, the server is started again and the
    constraints and indexes are applied. A database that holds any node or relationship is
    refused, never overwritten.

    Parameters
    ----------
    password : str
        Of user ``username``; used over Bolt to check the database is empty and to apply the schema.
    progress : callable
        Called with one message per phase (and the import tool's own phases).

    Raises
    ------
    DatabaseNotEmptyError
        The database holds data: load into it with :func:`ingest` instead.
    BulkImportError
        The import tool failed or reported other counts than were written.
    """
    say = progress or (lambda message: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal t0
        seconds[phase] = seconds.get(phase, 0.0) + time.perf_counter() - t0
        t0 = time.perf_counter()

    def gateway(uri: str | None) -> DriverGateway:
        return DriverGateway(Settings(uri=uri or "", username=username, password=password, database=database))

    rows = list(load_rows(ds))
    graph = bulk_graph(rows)
    local.resolve(server)  # the import tool runs from the server's jars
    lap("prepare")
    store = local.database_store(server, database)
    overwrite = store.exists()
    if overwrite:
        # The store exists once the server has run: only the server can say whether it holds data.
        st = local.status(server)
        if not st.running:
            say("starting Neo4j to check that the database is empty")
            st = local.start(server, password)
        gw = gateway(st.bolt_uri)
        try:
            nodes, rels = _count(gw)
        finally:
            gw.close()
        if nodes or rels:
            raise DatabaseNotEmptyError(
                f"database {database!r} of the Neo4j in {server.home} holds {nodes:,} nodes and {rels:,} "
                "relationships; --bulk only does a first load into an empty database and never replaces data. "
                "Load into it without --bulk (idempotent MERGE), or empty it first "
                "(MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS) and run the same command again.")
        say("stopping Neo4j for the import")
        local.stop(server)
    lap("check")
    with tempfile.TemporaryDirectory(prefix="bulk-", dir=server.home / "run") as tmp:
        say(f"writing {graph.n_nodes:,} nodes and {graph.n_relationships:,} relationships as CSV")
        files = write_import_files(graph, Path(tmp))
        lap("write")
        say("importing with neo4j-admin database import full")
        counts = local.import_full(server, [f.argument() for f in files], database=database, overwrite=overwrite,
                                   multiline=[f.data for f in files if f.multiline], progress=say)
        lap("import")
    expected = (graph.n_nodes, graph.n_relationships, graph.n_properties)
    if (counts.nodes, counts.relationships, counts.properties) != expected:
        raise BulkImportError(
            f"neo4j-admin imported {counts.nodes:,} nodes, {counts.relationships:,} relationships and "
            f"{counts.properties:,} properties, but {expected[0]:,}, {expected[1]:,} and {expected[2]:,} were "
            f"written; see {server.home / 'logs' / 'import.log'}. Please report this with the log.")
    say("starting Neo4j")
    st = local.start(server, password)
    lap("start")
    say("applying constraints and indexes")
    gw = gateway(st.bolt_uri)
    try:
        apply_schema(gw)
        # Constraints are backed by indexes that populate in the background: wait, so the
        # database answers key look-ups like one filled by MERGE as soon as this returns.
        gw.write(AWAIT_INDEXES, {"timeout_s": 300})
    finally:
        gw.close()
    lap("schema")
    return BulkReport(sum(r.height for _, r in rows), *expected, seconds)
