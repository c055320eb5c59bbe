"""A server of the test's own: a bulk first load equals a MERGE ingest, and a server that stops
in the middle of an ingest is a clear error that a re-run completes.

The test runs its own server (sharing the jars of the one ``.ci/run`` started), so it needs
neither the shared database nor its lock and runs beside the other live tests. A start costs
about 40 s, so one test uses it for both checks: the bulk import needs a fresh server home,
the restart check any server.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from graphfraud.dataset import Dataset
from graphfraud.errors import Neo4jConnectionError
from graphfraud.neo4j.gateway import DriverGateway
from graphfraud.neo4j.ingest import DatabaseNotEmptyError, bulk_ingest, ingest
from graphfraud.neo4j.settings import Settings
from graphfraud.schema import GRAPH_SCHEMA
from graphfraud.synth import synthesize

from .test_bulk import HOSTILE
from .test_hostile import PAYLOADS
from .test_neo4j_live import _counts

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.neo4j
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NEO4J_LOCAL_HOME"),
                    reason="needs the jars of the local server that .ci/run starts (NEO4J_LOCAL_HOME)")
def test_a_bulk_first_load_equals_a_merge_ingest_and_a_stop_mid_ingest_is_a_clear_error(
        tmp_path, entry_point, minimal, monkeypatch):
    from graphfraud.neo4j.local import start, status, stop

    server = _own_home(tmp_path)
    password = "mid-ingest-test-password"

    def gateway(uri: str | None) -> DriverGateway:
        return DriverGateway(Settings(uri=uri or "", username="neo4j", password=password, database="neo4j"))

    ds = _hostile_market()
    try:
        # A fresh home: the import creates the database, then the server starts once.
        report = bulk_ingest(ds, server, password)
        gw = gateway(status(server).bolt_uri)
        bulk = _graph(gw)
        assert (report.nodes, report.relationships) == (bulk[0].total(), bulk[1].total())
        assert {label for labels, _ in bulk[0] for label in labels} == {
            t.label for t in GRAPH_SCHEMA.nodes if t.origin == "data"}
        ingest(ds, gw)  # a MERGE ingest on top finds everything in place
        assert _graph(gw) == bulk
        with pytest.raises(DatabaseNotEmptyError, match=r"holds [\d,]+ nodes.*without --bulk"):
            bulk_ingest(ds, server, password)
        # The command says the same in one line, and leaves the server running.
        monkeypatch.setenv("NEO4J_PASSWORD", password)
        done = entry_point("neo4j", "ingest", str(minimal), "--bulk", "--home", str(server.home))
        assert done.returncode == 2 and re.search(r"error: .*holds [\d,]+ nodes", done.stderr), done.stderr
        assert status(server).running and _graph(gw) == bulk  # refused before anything was stopped or touched

        gw.write("MATCH (n) DETACH DELETE n")
        ingest(ds, gw)
        assert _graph(gw) == bulk  # the very graph a MERGE ingest into an empty database leaves
        clean = _counts(gw)
        gw.write("MATCH (n) DETACH DELETE n")
        batches = 0

        def stop_server(name: str, done: int, total: int) -> None:
            nonlocal batches
            batches += 1
            if batches == 2:
                stop(server)

        with pytest.raises(Neo4jConnectionError, match=r"lost the connection.*re-run the same command"):
            ingest(ds, gw, batch_size=100, progress=stop_server)
        gw.close()
        st = start(server, password)
        gw = gateway(st.bolt_uri)
        assert 0 < sum(c for _, c in _counts(gw)) < sum(c for _, c in clean)  # it really stopped part-way
        ingest(ds, gw, batch_size=100)
        assert _graph(gw) == bulk
        gw.close()
    finally:
        stop(server)


@pytest.mark.neo4j
@pytest.mark.skipif(not os.environ.get("NEO4J_LOCAL_HOME"),
                    reason="needs the jars of the local server that .ci/run starts (NEO4J_LOCAL_HOME)")
def test_a_failing_import_names_the_cause_and_leaves_no_store(tmp_path):
    from graphfraud.neo4j.local import BulkImportError, database_store, import_full

    server = _own_home(tmp_path)  # the import tool only: no server starts
    (tmp_path / "h.csv").write_text("n:ID(N),size:long\n")
    (tmp_path / "d.csv").write_text('"a","12"\n"b","twelve"\n')
    progress: list[str] = []
    with pytest.raises(BulkImportError, match=r"import failed.*twelve.*run the same command again"):
        import_full(server, [f"--nodes=N={tmp_path / 'h.csv'},{tmp_path / 'd.csv'}"], progress=progress.append)
    assert not database_store(server).exists()
    assert any(p.startswith("IMPORT FAILED") for p in progress)
    assert "twelve" in (server.home / "logs" / "import.log").read_text()


def _own_home(tmp_path: Path):
    """A server home of the test's own, sharing the jars of the one .ci/run started."""
    from graphfraud.neo4j.local import LocalServer

    source = Path(os.environ["NEO4J_LOCAL_HOME"])
    home = tmp_path / "server"
    for sub in ("lib", "plugins"):
        shutil.copytree(source / sub, home / sub, copy_function=os.link)
    (home / "run").mkdir()
    shutil.copy(source / "run" / "resolved", home / "run" / "resolved")
    return LocalServer(home=home, pom=ROOT / "neo4j" / "local" / "pom.xml", bolt_port=0, http_port=0)


def _hostile_market() -> Dataset:
    """A small market whose texts, names and one account id are hostile to CSV (NUL bytes and a
    1 MB value included)."""
    tables = dict(synthesize(500, seed=5).tables)
    values = [*HOSTILE, *PAYLOADS]
    victim = tables["accounts"]["account_id"][0]
    evil = 'U,"0"\n=1+2\r\n'
    for name, frame in tables.items():
        if "account_id" in frame.columns:
            tables[name] = frame.with_columns(pl.col("account_id").replace(victim, evil))

    def plant(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        planted = values + frame[column].to_list()[len(values):]
        return frame.with_columns(pl.Series(column, planted[: frame.height], dtype=pl.String))

    tables["accounts"] = plant(tables["accounts"], "nickname")
    tables["reviews"] = plant(tables["reviews"], "text")
    tables["merchants"] = plant(tables["merchants"], "name")
    return Dataset.from_frames(**tables)


def _graph(gw) -> tuple[Counter, Counter]:
    """Every node (labels, properties) and relationship (type, end keys, properties), with multiplicity."""
    keys = {t.label: t.key for t in GRAPH_SCHEMA.nodes}

    def key(labels: list[str], props: dict) -> tuple[str, str]:
        label = next(x for x in labels if x in keys)
        return label, props[keys[label]]

    nodes = Counter((tuple(sorted(r["l"])), tuple(sorted(r["p"].items())))
                    for r in gw.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p"))
    rels = Counter((r["t"], key(r["sl"], r["sp"]), key(r["el"], r["ep"]), tuple(sorted(r["p"].items())))
                   for r in gw.read("MATCH (s)-[r]->(e) RETURN type(r) AS t, labels(s) AS sl, properties(s) AS sp, "
                                    "labels(e) AS el, properties(e) AS ep, properties(r) AS p"))
    return nodes, rels
