"""A Neo4j server that stops in the middle of an ingest: a clear error, and a re-run completes.

The test runs its own server (sharing the jars of the one ``.ci/run`` started), so it needs
neither the shared database nor its lock and runs beside the other live tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from graphfraud.dataset import Dataset
from graphfraud.errors import Neo4jConnectionError
from graphfraud.neo4j.gateway import DriverGateway
from graphfraud.neo4j.ingest import ingest
from graphfraud.neo4j.settings import Settings
from graphfraud.synth import synthesize

from .test_neo4j_live import _counts

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.neo4j
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NEO4J_LOCAL_HOME"),
                    reason="needs the jars of the local server that .ci/run starts (NEO4J_LOCAL_HOME)")
def test_a_server_that_stops_mid_ingest_is_a_clear_error_and_a_rerun_completes(tmp_path):
    from graphfraud.neo4j.local import LocalServer, start, stop

    ds = Dataset.from_frames(**synthesize(600, seed=5).tables)
    source = Path(os.environ["NEO4J_LOCAL_HOME"])
    home = tmp_path / "server"
    for sub in ("lib", "plugins"):
        shutil.copytree(source / sub, home / sub, copy_function=os.link)
    (home / "run").mkdir()
    shutil.copy(source / "run" / "resolved", home / "run" / "resolved")
    server = LocalServer(home=home, pom=ROOT / "neo4j" / "local" / "pom.xml", bolt_port=0, http_port=0)
    password = "mid-ingest-test-password"

    def gateway(uri: str) -> DriverGateway:
        return DriverGateway(Settings(uri=uri, username="neo4j", password=password, database="neo4j"))

    st = start(server, password)
    try:
        gw = gateway(st.bolt_uri)
        ingest(ds, gw)
        clean = _counts(gw)  # what one uninterrupted ingest leaves
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
        assert _counts(gw) == clean
        gw.close()
    finally:
        stop(server)
