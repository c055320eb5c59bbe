"""The graph of a MERGE ingest as CSV files for ``neo4j-admin database import full``.

The load declarations (:data:`~graphfraud.neo4j.statements.LOADS`) say which nodes and
relationships each table's rows write; :func:`bulk_graph` plays them in load order the way
Neo4j runs the MERGE statements (a MATCHed node must exist, a MERGE creates once, a SET
overwrites, a null SET removes), so the files describe the same graph the Bolt ingest leaves.
:func:`write_import_files` writes one header file and one data file per label and type.

Every non-null value is quoted (a quote inside is doubled), so commas, quotes, newlines and
leading ``=`` or ``+`` survive; an empty field is a null, which the importer leaves out, and a
quoted empty field is an empty string, as the driver would send it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..errors import GraphfraudError
from ..schema import GRAPH_SCHEMA
from .statements import Load


class BulkFormatError(GraphfraudError):
    """A column has a type the bulk import cannot write as the driver would send it."""


@dataclass(frozen=True)
class NodeTable:
    """Every node of one label: the key column first, then its properties."""

    label: str
    key: str
    frame: pl.DataFrame

    def header(self) -> list[str]:
        return [f"{self.key}:ID({self.label})"] + [f"{c}:{neo4j_type(self.frame.schema[c])}"
                                                    for c in self.frame.columns[1:]]


@dataclass(frozen=True)
class RelTable:
    """Every relationship of one type: start key, end key, then its properties."""

    type: str
    start: str  # label of the start node
    end: str
    frame: pl.DataFrame

    def header(self) -> list[str]:
        return [f":START_ID({self.start})", f":END_ID({self.end})"] + [
            f"{c}:{neo4j_type(self.frame.schema[c])}" for c in self.frame.columns[2:]]


@dataclass(frozen=True)
class BulkGraph:
    nodes: tuple[NodeTable, ...]
    rels: tuple[RelTable, ...]

    @property
    def n_nodes(self) -> int:
        return sum(t.frame.height for t in self.nodes)

    @property
    def n_relationships(self) -> int:
        return sum(t.frame.height for t in self.rels)

    @property
    def n_properties(self) -> int:
        """Non-null property values, node keys included (what the importer reports)."""
        frames = [t.frame for t in self.nodes] + [t.frame.drop(t.frame.columns[:2]) for t in self.rels]
        return sum(f.height * f.width - sum(int(n) for n in f.null_count().row(0)) for f in frames)


# Why these types: they are what the Python driver sends for the values polars hands it
# (str -> STRING, float -> FLOAT, int -> INTEGER, aware datetime -> ZONED DATETIME with the zone's name).
def neo4j_type(dtype: pl.DataType) -> str:
    """The importer's property type for a polars column type (``:string``, ``:double``, ...)."""
    if dtype == pl.String or dtype == pl.Null:
        return "string"
    if dtype.is_float():
        return "double"
    if dtype.is_integer():
        return "long"
    if dtype == pl.Boolean:
        return "boolean"
    if isinstance(dtype, pl.Datetime):
        return "datetime" if dtype.time_zone else "localdatetime"
    if dtype == pl.Date:
        return "date"
    raise BulkFormatError(f"a column of type {dtype} cannot be bulk imported as Neo4j would store it from the "
                          "driver; load this data with 'graphfraud neo4j ingest' without --bulk.")


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    """The column as the importer's text for its type (null stays null)."""
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        # Offset and zone name: the importer then stores the zone's name, as the driver does.
        text = col.dt.strftime("%Y-%m-%dT%H:%M:%S%.f")
        return (text + col.dt.strftime("%:z") + f"[{dtype.time_zone}]") if dtype.time_zone else text
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d")
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
    return col.cast(pl.String)


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as the importer reads it for its header type (nulls stay null)."""
    return frame.select(_text(c, t) for c, t in frame.schema.items())


def _last_write(parts: list[tuple[pl.DataFrame, tuple[str, ...]]], ids: list[str]) -> pl.DataFrame:
    """One row per identity: each property as the last statement that SET it left it.

    ``parts`` are (rows, properties the statement sets), in load order. A statement that does
    not set a property leaves it alone; one that sets it to null removes it.
    """
    out = pl.concat([f.select(ids) for f, _ in parts]).unique(subset=ids, keep="first", maintain_order=True)
    props = list(dict.fromkeys(p for _, ps in parts for p in ps))
    for prop in props:
        written = [f.select(*ids, prop) for f, ps in parts if prop in ps]
        last = pl.concat(written, how="vertical_relaxed").unique(subset=ids, keep="last", maintain_order=True)
        out = out.join(last, on=ids, how="left", nulls_equal=True, maintain_order="left")
    return out


def bulk_graph(loads: Iterable[tuple[Load, pl.DataFrame]]) -> BulkGraph:
    """The nodes and relationships the load statements write from these rows (in load order). Pure.

    ``loads`` is what :func:`graphfraud.neo4j.ingest.load_rows` yields: the same rows the
    Bolt ingest sends.
    """
    created: dict[str, list[pl.Series]] = {}
    node_parts: dict[str, list[tuple[pl.DataFrame, tuple[str, ...]]]] = {}
    rel_parts: dict[str, list[tuple[pl.DataFrame, tuple[str, ...]]]] = {}
    rel_ends: dict[str, tuple[tuple[str, str], tuple[str, ...]]] = {}
    for load, rows in loads:
        # A MATCH finds only nodes earlier statements created: rows naming others write nothing.
        for n in (n for n in load.nodes if n.match):
            known = pl.concat(created.get(n.type, [pl.Series(dtype=pl.String)]))
            rows = rows.filter(pl.col(n.column).is_in(known.implode()))
        for n in (n for n in load.nodes if not n.match):
            key = GRAPH_SCHEMA.node(n.type).key
            part = rows.select(pl.col(n.column).alias(key), *n.props)
            node_parts.setdefault(n.type, []).append((part, n.props))
            created.setdefault(n.type, []).append(part[key])
        for r in load.rels:
            ends = ((load.node(r.start).type, load.node(r.end).type), r.keys)
            if rel_ends.setdefault(r.type, ends) != ends:  # a slip in LOADS, not in the data
                raise ValueError(f"{r.type}: (ends, keys) {rel_ends[r.type]} in one load, {ends} in {load.name}")
            part = rows.select(pl.col(load.node(r.start).column).alias(":START_ID"),
                               pl.col(load.node(r.end).column).alias(":END_ID"), *r.keys, *r.props)
            rel_parts.setdefault(r.type, []).append((part, r.props))
    nodes = tuple(NodeTable(t.label, t.key, _last_write(node_parts[t.name], [t.key]))
                  for t in GRAPH_SCHEMA.nodes if t.name in node_parts)
    rels = []
    for t in GRAPH_SCHEMA.relationships:
        if t.name not in rel_parts:
            continue
        (start, end), keys = rel_ends[t.name]
        # MERGE tells relationships apart by their two ends and the properties in its pattern.
        ids = [":START_ID", ":END_ID", *keys]
        rels.append(RelTable(t.type, GRAPH_SCHEMA.node(start).label, GRAPH_SCHEMA.node(end).label,
                             _last_write(rel_parts[t.name], ids)))
    return BulkGraph(nodes, tuple(rels))


@dataclass(frozen=True)
class ImportFile:
    """One ``--nodes`` or ``--relationships`` source: its label or type, header and data files."""

    kind: str  # "nodes" or "relationships"
    name: str
    header: Path
    data: Path
    multiline: bool  # some value holds a line break

    def argument(self) -> str:
        return f"--{self.kind}={self.name}={self.header},{self.data}"


def _has_line_break(frame: pl.DataFrame) -> bool:
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text or frame.height == 0:
        return False
    return bool(frame.select(pl.any_horizontal(pl.col(c).str.contains(r"[\r\n]") for c in text).any()).item())


def _write(frame: pl.DataFrame, header: list[str], stem: Path) -> tuple[Path, Path, bool]:
    head, data = stem.with_suffix(".header.csv"), stem.with_suffix(".csv")
    head.write_text(",".join(header) + "\n", encoding="utf-8")
    text = as_text(frame)
    # All columns are text now: non_numeric quotes every non-null value and leaves nulls empty.
    text.write_csv(data, include_header=False, quote_style="non_numeric")
    return head, data, _has_line_break(text)


def write_import_files(graph: BulkGraph, directory: Path) -> list[ImportFile]:
    """Write a header file and a data file per label and relationship type into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for n in graph.nodes:
        out.append(ImportFile("nodes", n.label, *_write(n.frame, n.header(), directory / f"nodes-{n.label}")))
    for r in graph.rels:
        out.append(ImportFile("relationships", r.type, *_write(r.frame, r.header(), directory / f"rels-{r.type}")))
    return out
