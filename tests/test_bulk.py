"""The bulk import's CSV files: the graph a MERGE ingest leaves, from the same load declarations.

The live comparison with a real MERGE ingest is in tests/test_neo4j_restart.py (it has a
server of its own); these tests read the files as any CSV reader would.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from graphfraud.dataset import Dataset
from graphfraud.neo4j.bulk import BulkFormatError, as_text, bulk_graph, neo4j_type, write_import_files
from graphfraud.neo4j.ingest import load_rows
from graphfraud.neo4j.statements import LOADS
from graphfraud.schema import GRAPH_SCHEMA
from graphfraud.synth import synthesize

#: Values that break naive CSV: separators, quotes, line breaks of every kind, formulas,
#: padding, backslashes (the importer's legacy escape), the empty string.
HOSTILE = ['a,b', 'say "hi"', '"', '""', 'line\nbreak', 'crlf\r\nend', 'cr\ronly', '\n', '=SUM(A1)', '+1-1', '-2',
           '@cmd', '  padded  ', '', '\\"', 'back\\', 'tab\there', '长,店"铺"', "'; DROP TABLE x; --", ';semi;colon;']


@pytest.fixture(scope="module")
def market() -> Dataset:
    return Dataset.from_frames(**synthesize(500, seed=5).tables)


@pytest.fixture(scope="module")
def hostile() -> Dataset:
    n = len(HOSTILE)
    ids = [f"a{i},\"{v}\"" for i, v in enumerate(HOSTILE)]  # keys are hostile too
    return Dataset.from_frames(
        accounts=pl.DataFrame({"account_id": [*ids, "plain"], "nickname": [*HOSTILE, None],
                               "created_at": list(range(n + 1))}),
        merchants=pl.DataFrame({"merchant_id": ["m,1"], "name": ['=HYPERLINK("x")']}),
        reviews=pl.DataFrame({"review_id": [f"r{i}" for i in range(n)], "account_id": ids, "merchant_id": ["m,1"] * n,
                              "rating": [5.0] * n, "created_at": [1_700_000_000] * n, "text": HOSTILE}))


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_hostile_values_round_trip_through_a_csv_reader(hostile, tmp_path):
    graph = bulk_graph(load_rows(hostile))
    files = {f.name: f for f in write_import_files(graph, tmp_path)}
    for table in (*graph.nodes, *graph.rels):
        name = table.label if hasattr(table, "label") else table.type
        f = files[name]
        assert _read(f.header) == [table.header()]
        expected = [["" if v is None else v for v in row] for row in as_text(table.frame).rows()]
        assert _read(f.data) == expected
    accounts = next(n for n in graph.nodes if n.label == "Account")
    assert accounts.frame["nickname"].to_list() == [*HOSTILE, None]
    assert files["Account"].multiline and files["Review"].multiline and files["WROTE"].multiline  # hostile keys
    assert not files["ABOUT"].multiline
    # A null is an unquoted empty field (the importer leaves the property out); "" stays a quoted empty string.
    raw = files["Account"].data.read_text("utf-8")
    assert raw.endswith('"plain","1970-01-01T00:00:20+00:00[UTC]",\n')
    assert ',""\n' in raw


def test_values_are_written_as_the_importer_types_them(tmp_path):
    ds = Dataset.from_frames(
        accounts=pl.DataFrame({"account_id": ["a"], "created_at": [dt.datetime(2024, 2, 29, 23, 59, 58, 123000,
                                                                               tzinfo=dt.timezone.utc)]}),
        merchants=pl.DataFrame({"merchant_id": ["m"]}),
        reviews=pl.DataFrame({"review_id": ["r"], "account_id": ["a"], "merchant_id": ["m"], "rating": [4.5],
                              "created_at": [0]}),
        transfers=pl.DataFrame({"from_payment_account_id": ["p"], "to_payment_account_id": ["q"],
                                "amount": [0.1 + 0.2], "created_at": [0]}))
    graph = bulk_graph(load_rows(ds))
    files = {f.name: f for f in write_import_files(graph, tmp_path)}
    # No nickname column: the property is written empty, so the importer leaves it out as a null SET does.
    assert _read(files["Account"].data) == [["a", "2024-02-29T23:59:58.123+00:00[UTC]", ""]]
    assert float(_read(files["TRANSFERRED"].data)[0][3]) == 0.1 + 0.2  # shortest repr, exact
    assert _read(files["Review"].data)[0][1] == "4.5"
    assert [neo4j_type(t) for t in (pl.String, pl.Float64, pl.Int64, pl.Boolean, pl.Datetime("ms", "UTC"),
                                    pl.Datetime("ms"), pl.Date)] == [
        "string", "double", "long", "boolean", "datetime", "localdatetime", "date"]
    with pytest.raises(BulkFormatError, match="without --bulk"):
        neo4j_type(pl.List(pl.String))


def test_headers_come_from_the_schema_and_the_load_declarations(market):
    graph = bulk_graph(load_rows(market))
    for n in graph.nodes:
        t = GRAPH_SCHEMA.node(n.label)
        props = {p for ld in LOADS for node in ld.nodes if node.type == t.name for p in node.props}
        assert n.header()[0] == f"{t.key}:ID({t.label})"
        assert {h.split(":")[0] for h in n.header()[1:]} == props
    for r in graph.rels:
        t = GRAPH_SCHEMA.relationship(r.type)
        props = {p for ld in LOADS for rel in ld.rels if rel.type == t.name for p in (*rel.keys, *rel.props)}
        assert r.header()[:2] == [f":START_ID({t.source})", f":END_ID({t.target})"]
        assert {h.split(":")[0] for h in r.header()[2:]} == props
    assert next(n for n in graph.nodes if n.label == "Account").header() == [
        "account_id:ID(Account)", "created_at:datetime", "nickname:string"]
    assert next(r for r in graph.rels if r.type == "TRANSFERRED").header() == [
        ":START_ID(PaymentAccount)", ":END_ID(PaymentAccount)", "transfer_key:string", "amount:double",
        "created_at:datetime"]
    assert next(r for r in graph.rels if r.type == "USES_DEVICE").header()[2:] == [
        "first_seen:datetime", "last_seen:datetime"]


def test_every_label_and_type_the_load_writes_gets_files(market):
    """Fails when a node or relationship type of the input data is declared but nothing writes it."""
    assert all(market.has(t) for t in {ld.table for ld in LOADS})  # the market has every table
    graph = bulk_graph(load_rows(market))
    labels = {t.label for t in GRAPH_SCHEMA.nodes if t.origin == "data"}
    types = {t.type for t in GRAPH_SCHEMA.relationships if t.origin == "data"}
    assert {n.type for ld in LOADS for n in ld.nodes} == labels
    assert {r.type for ld in LOADS for r in ld.rels} == types
    assert {n.label for n in graph.nodes} == labels
    assert {r.type for r in graph.rels} == types
    assert all(n.frame.height for n in graph.nodes) and all(r.frame.height for r in graph.rels)


def test_the_files_hold_what_the_merge_statements_leave():
    ds = Dataset.from_frames(
        accounts=pl.DataFrame({"account_id": ["a1", "a2"], "phone": ["p", "p"]}),
        merchants=pl.DataFrame({"merchant_id": ["m1"]}),
        # r2's account does not exist: the statement's MATCH finds nothing and the row writes nothing.
        reviews=pl.DataFrame({"review_id": ["r1", "r2"], "account_id": ["a1", "ghost"], "merchant_id": ["m1", "m1"],
                              "rating": [5, 4], "created_at": [1, 2], "device_id": ["d1", "d2"]}),
        account_devices=pl.DataFrame({"account_id": ["a1"], "device_id": ["d1"], "first_seen": [3], "last_seen": [4]}),
        logins=pl.DataFrame({"account_id": ["a1", "a1"], "created_at": [5, 6], "device_id": ["d1", "d1"]}),
        # Two equal transfers without ids are two transfers (their hash keys tell them apart only by time).
        transfers=pl.DataFrame({"from_payment_account_id": ["x", "x"], "to_payment_account_id": ["y", "y"],
                                "amount": [1.0, 1.0], "created_at": [7, 8]}),
        review_likes=pl.DataFrame({"account_id": ["a2", "a2"], "review_id": ["r1", "r2"]}))
    graph = bulk_graph(load_rows(ds))
    nodes = {n.label: n.frame for n in graph.nodes}
    rels = {r.type: r.frame for r in graph.rels}
    assert nodes["Review"]["review_id"].to_list() == ["r1"]
    assert nodes["Device"]["device_id"].to_list() == ["d1"]
    assert nodes["Phone"]["phone"].to_list() == ["p"]  # one shared phone, two links
    assert rels["HAS_PHONE"].height == 2
    # One USES_DEVICE per account and device, whichever tables saw it; its times from account_devices.
    uses = rels["USES_DEVICE"]
    assert uses.height == 1 and uses["first_seen"].dt.epoch("s").to_list() == [3]
    assert rels["TRANSFERRED"].height == 2 and rels["TRANSFERRED"]["transfer_key"].n_unique() == 2
    assert rels["LIKED"].select(":START_ID", ":END_ID").rows() == [("a2", "r1")]
    assert set(nodes["PaymentAccount"]["payment_account_id"]) == {"x", "y"}
    assert (graph.n_nodes, graph.n_relationships) == (sum(f.height for f in nodes.values()),
                                                      sum(f.height for f in rels.values()))


def test_the_local_server_options_without_bulk_are_refused(entry_point, minimal):
    done = entry_point("neo4j", "ingest", str(minimal), "--home", str(minimal / "server"))
    assert done.returncode == 2 and "add --bulk" in done.stderr
    assert not (minimal / "server").exists()
