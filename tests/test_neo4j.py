"""Neo4j workspace: recording gateway, offline Cypher parser, generated files, live tests."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from neo4j.exceptions import ClientError, TransientError

from graphfraud.dataset import Dataset
from graphfraud.errors import Neo4jConnectionError
from graphfraud.export.casefile import export_cases
from graphfraud.neo4j.gateway import RecordingGateway
from graphfraud.neo4j.generate import generated, guide_blocks
from graphfraud.neo4j.ingest import ingest, load_rows
from graphfraud.neo4j.rings import push_rings
from graphfraud.neo4j.settings import settings_from_env
from graphfraud.neo4j.source import read_dataset
from graphfraud.neo4j.statements import (
    LOADS,
    RING_DELETE_OTHER_RUNS,
    RING_MEMBER_CLEANUP,
    RING_UPSERT,
    SOURCE_QUERIES,
    all_statements,
    constraint_statements,
)
from graphfraud.run import RunResult
from graphfraud.schema import GRAPH_SCHEMA, RING_MEMBER_LABEL
from graphfraud.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
LINT = ROOT / "tests" / "cypherlint"


@pytest.fixture(scope="module")
def small():
    return Dataset.from_frames(**synthesize(600, seed=5).tables)


# ------------------------------------------------------------------ recording gateway
def test_ingest_sends_constraints_first_then_batched_merges(small):
    gw = RecordingGateway()
    report = ingest(small, gw, batch_size=500)
    n_constraints = len(constraint_statements())
    assert gw.queries[:n_constraints] == constraint_statements()
    expected_calls = sum(math.ceil(rows.height / 500) for _, rows in load_rows(small))
    assert len(gw.calls) == n_constraints + expected_calls
    assert report.rows == sum(rows.height for _, rows in load_rows(small))
    for _, query, params in gw.calls[n_constraints:]:
        assert query.startswith("UNWIND $rows AS row") and "MERGE" in query
        assert 1 <= len(params["rows"]) <= 500
    # Exact parameters of one statement: the accounts rows carry exactly the load's columns.
    accounts = next(ld for ld in LOADS if ld.name == "accounts")
    first = next(p for _, q, p in gw.calls if q == accounts.query)
    assert set(first["rows"][0]) == set(accounts.columns)
    assert first["rows"][0]["account_id"] == small["accounts"]["account_id"][0]


def test_timestamps_travel_as_epoch_milliseconds_and_nulls_stay_null(small):
    """Every contract timestamp a statement sets is sent as an integer and rebuilt in Cypher."""
    gw = RecordingGateway()
    frames = dict(small.tables)
    accounts = frames["accounts"]
    # One account without a registration time: its property must be removed, not set to 1970.
    frames["accounts"] = accounts.with_columns(
        pl.when(pl.col("account_id") == accounts["account_id"][1]).then(None).otherwise(pl.col("created_at"))
        .alias("created_at"))
    ingest(Dataset.from_frames(**frames), gw, batch_size=100_000)
    stamped = {ld.name: ld for ld in LOADS if ld.timestamps}
    assert {"accounts", "orders", "reviews", "transfers", "account_devices"} <= set(stamped)
    assert stamped["account_devices"].timestamps == ("first_seen", "last_seen")
    for load in stamped.values():
        for col in load.timestamps:
            assert f"datetime({{epochMillis: row.{col}, timezone: 'UTC'}})" in load.query
            assert f"= row.{col}," not in load.query + ","
    sent = next(p for _, q, p in gw.calls if q == stamped["accounts"].query)["rows"]
    by_id = {r["account_id"]: r["created_at"] for r in sent}
    want = frames["accounts"].select("account_id", pl.col("created_at").dt.epoch("ms"))
    assert by_id == dict(want.iter_rows())
    assert by_id[accounts["account_id"][1]] is None
    assert all(isinstance(v, int) for v in by_id.values() if v is not None)


def test_no_value_is_ever_formatted_into_a_query(small, run_dir):
    gw = RecordingGateway()
    ingest(small, gw, batch_size=1000)
    push_rings(RunResult.read(run_dir), gw)
    known = set(all_statements())
    assert set(gw.queries) <= known, set(gw.queries) - known
    values = set()
    for name in ("accounts", "merchants", "reviews", "orders", "transfers"):
        for col in small[name].columns:
            if small[name].schema[col] == pl.String:
                values |= {v for v in small[name][col].drop_nulls().head(200).to_list() if len(v) >= 4}
    for query in set(gw.queries):
        leaked = [v for v in values if v in query]
        assert not leaked, (query, leaked[:3])


def test_transient_errors_are_retried_and_others_raised(small, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    gw = RecordingGateway(fail={3: TransientError("deadlock"), 4: TransientError("deadlock")})
    ingest(small, gw, batch_size=100_000)
    assert gw.attempts == len(gw.calls) + 2
    bad = RecordingGateway(fail={1: ClientError("syntax")})
    with pytest.raises(ClientError):
        ingest(small, bad)


def test_transfers_get_stable_keys(small):
    rows = dict((ld.name, r) for ld, r in load_rows(small))["transfers"]
    assert rows["transfer_key"].null_count() == 0 and rows["transfer_key"].is_unique().all()
    again = dict((ld.name, r) for ld, r in load_rows(small))["transfers"]
    assert again.equals(rows)


def test_push_replaces_previous_runs_cleanly(run_dir):
    run = RunResult.read(run_dir)
    gw = RecordingGateway()
    result = push_rings(run, gw)
    assert gw.queries[0] == RING_DELETE_OTHER_RUNS and gw.calls[0][2] == {"run_id": result["run_id"]}
    assert gw.queries[1] == RING_UPSERT
    assert gw.queries[-1] == RING_MEMBER_CLEANUP  # only after the new members are labelled
    sent = gw.calls[1][2]["rings"]
    assert [r["ring_id"] for r in sent] == run.rings["ring_id"].to_list()
    members = [row for _, q, p in gw.calls if "MEMBER_OF" in q and "UNWIND" in q for row in p["rows"]]
    assert len(members) == run.members.height == result["members"]


def test_read_dataset_from_recorded_answers():
    gw = RecordingGateway(responses={
        SOURCE_QUERIES["accounts"]: [{"account_id": "a1", "created_at": None, "nickname": "x", "phone": None}],
        SOURCE_QUERIES["merchants"]: [{"merchant_id": "m1", "name": "店", "category": None, "created_at": None}],
        SOURCE_QUERIES["reviews"]: [{"review_id": "r1", "account_id": "a1", "merchant_id": "m1", "rating": 5,
                                     "created_at": "2024-03-01T00:00:00Z", "text": "好", "order_id": None}],
    })
    ds = read_dataset(gw)
    assert ds["reviews"]["rating"].to_list() == [5.0]
    assert ds["reviews"]["created_at"][0].isoformat() == "2024-03-01T00:00:00+00:00"
    assert not ds.has("orders")


# ------------------------------------------------------------------ settings
def test_settings_never_show_the_password():
    s = settings_from_env({"NEO4J_URI": "bolt://localhost:7687", "NEO4J_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)
    with pytest.raises(Neo4jConnectionError, match="NEO4J_URI is not set"):
        settings_from_env({})
    with pytest.raises(Neo4jConnectionError, match="NEO4J_PASSWORD is not set"):
        settings_from_env({"NEO4J_URI": "bolt://localhost:7687"}, prompt=False)


def test_unreachable_server_is_a_clear_error():
    from graphfraud.neo4j.gateway import DriverGateway

    settings = settings_from_env({"NEO4J_URI": "bolt://127.0.0.1:9", "NEO4J_PASSWORD": "x"})
    with pytest.raises(Neo4jConnectionError, match=re.escape("cannot reach Neo4j at bolt://127.0.0.1:9")):
        DriverGateway(settings)


@pytest.mark.slow
def test_a_uri_with_credentials_is_never_printed(tmp_path):
    """NEO4J_URI=bolt://user:password@host is refused without echoing the password, also by the CLI."""
    import sys

    from graphfraud.neo4j.settings import display_uri

    for uri in ("bolt://neo4j:s3cret@127.0.0.1:9", "neo4j+s://admin:s3cret@db.example:7687?routing=x",
                "http://neo4j:s3cret@127.0.0.1:9"):
        with pytest.raises(Neo4jConnectionError) as info:
            settings_from_env({"NEO4J_URI": uri, "NEO4J_PASSWORD": "x"})
        assert "s3cret" not in str(info.value) and "***@" in str(info.value)
        assert "s3cret" not in display_uri(f"driver said: {uri!r}")
    entry = Path(sys.executable).with_name("graphfraud")
    proc = subprocess.run([str(entry), "neo4j", "schema"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NEO4J_URI": "bolt://neo4j:s3cret@127.0.0.1:9", "NEO4J_PASSWORD": "x"})
    assert proc.returncode == 2 and "s3cret" not in proc.stderr + proc.stdout and "NEO4J_PASSWORD" in proc.stderr


# ------------------------------------------------------------------ shipped and generated Cypher
def _shipped_statements(run_dir: Path, tmp_path: Path) -> list[str]:
    statements = list(all_statements())
    statements += [p.read_text("utf-8") for p in sorted((ROOT / "cypher" / "queries").glob("*.cypher"))]
    statements += guide_blocks((ROOT / "cypher" / "guide" / "investigate.md").read_text("utf-8"))
    statements += [s for s in (ROOT / "cypher" / "schema.cypher").read_text("utf-8").split(";\n") if s.strip()]
    [case] = export_cases(run_dir, tmp_path / "cases", top=1)
    script = (case / "subgraph.cypher").read_text("utf-8")
    statements += [line for line in script.splitlines() if line.strip() and not line.startswith("//")]
    return statements


@pytest.mark.slow  # about 30 s of parsing, most of it the case script's literal data rows
@pytest.mark.skipif(shutil.which("node") is None or not (LINT / "node_modules").exists(),
                    reason="Neo4j's Cypher parser is not installed: run 'npm ci --prefix tests/cypherlint' "
                           "(.ci/run does this)")
def test_every_statement_passes_neo4js_parser(run_dir, tmp_path):
    statements = _shipped_statements(run_dir, tmp_path)
    assert len(statements) > 40
    proc = subprocess.run(["node", str(LINT / "lint.mjs")], input=json.dumps(statements), capture_output=True,
                          text=True, timeout=300, cwd=LINT)
    assert proc.returncode == 0, proc.stderr
    problems = json.loads(proc.stdout)
    assert problems == [], json.dumps(problems, ensure_ascii=False, indent=1)


def test_the_parser_check_can_fail():
    """The harness itself reports a broken statement (so the test above means something)."""
    if shutil.which("node") is None or not (LINT / "node_modules").exists():
        pytest.skip("Neo4j's Cypher parser is not installed: run 'npm ci --prefix tests/cypherlint'")
    proc = subprocess.run(["node", str(LINT / "lint.mjs")],
                          input=json.dumps(["MATCH (a RETURN a", "MATCH (a) RETURN b"]),
                          capture_output=True, text=True, timeout=120, cwd=LINT)
    assert [p["index"] for p in json.loads(proc.stdout)] == [0, 1]


def test_generated_files_are_current():
    for path, text in generated(ROOT).items():
        assert path.read_text("utf-8") == text, f"{path} is stale: run 'graphfraud neo4j generate'"


def test_guide_blocks_are_the_saved_queries():
    blocks = guide_blocks((ROOT / "cypher" / "guide" / "investigate.md").read_text("utf-8"))
    saved = {p.read_text("utf-8").strip() for p in (ROOT / "cypher" / "queries").glob("*.cypher")}
    assert set(blocks) == saved and len(blocks) == len(saved)


def test_saved_queries_have_headers_and_parameters_only():
    for path in (ROOT / "cypher" / "queries").glob("*.cypher"):
        lines = path.read_text("utf-8").splitlines()
        assert lines[0].startswith("// ") and lines[1].startswith("// Parameters:"), path.name
        body = "\n".join(line for line in lines if not line.startswith("//"))
        assert "'" not in body.replace("'not in a ring'", ""), f"{path.name}: values must be $parameters"


def test_style_covers_every_label_and_ring_members():
    grass = (ROOT / "cypher" / "style" / "graphfraud.grass").read_text("utf-8")
    for t in GRAPH_SCHEMA.nodes:
        assert f"node.{t.label} {{" in grass and f'caption: "{{{t.caption}}}"' in grass
    assert grass.index(f"node.{RING_MEMBER_LABEL}") > grass.index("node.Account")


def test_serve_finds_its_maven_module_from_any_directory(tmp_path):
    """`serve start` must not depend on being run from a checkout root."""
    from graphfraud.neo4j.local import default_pom

    code = "from graphfraud.neo4j.local import default_pom; print(default_pom())"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    found = Path(done.stdout.strip())
    assert found.resolve() == (ROOT / "neo4j" / "local" / "pom.xml").resolve() == default_pom().resolve()
    assert "<artifactId>neo4j-browser</artifactId>" in found.read_text()


def test_an_installation_without_the_maven_module_says_how_to_fix_it(tmp_path, monkeypatch):
    from graphfraud.neo4j import local

    with pytest.raises(local.LocalServerError, match=r"--pom PATH"):
        local.default_pom((tmp_path / "maven" / "pom.xml", tmp_path / "neo4j" / "local" / "pom.xml"))
    monkeypatch.setattr(local, "default_pom", lambda: tmp_path / "missing.xml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(local.LocalServerError, match=r"missing\.xml does not exist; pass --pom PATH"):
        local.resolve(local.LocalServer(home=tmp_path / "home"))


def test_the_wheel_ships_the_maven_module():
    """The build copies neo4j/local/pom.xml to where :data:`PACKAGED_POM` looks for it."""
    import tomllib

    from graphfraud.neo4j.local import PACKAGED_POM

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
        "force-include"]
    shipped_at = Path("graphfraud") / PACKAGED_POM.relative_to(ROOT / "graphfraud")
    assert include["neo4j/local/pom.xml"] == shipped_at.as_posix()


def test_neo4j_settings_fail_before_the_data_is_read(minimal, tmp_path):
    """A missing NEO4J_URI is reported first, not after reading (ingest) or detecting (detect --neo4j)."""
    entry = Path(sys.executable).with_name("graphfraud")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    for args in (["neo4j", "ingest", str(minimal)], ["detect", str(minimal), "--out", str(tmp_path / "r"), "--neo4j"]):
        proc = subprocess.run([str(entry), *args], capture_output=True, text=True, timeout=300, env=env,
                              stdin=subprocess.DEVNULL, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "NEO4J_URI is not set" in proc.stderr and "reading" not in proc.stderr, proc.stderr
        assert not (tmp_path / "r").exists()
