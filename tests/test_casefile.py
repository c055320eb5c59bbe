"""Case files: round trips, the offline HTML in a real browser, redaction, determinism."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import networkx as nx
import polars as pl
import pytest

from graphfraud.errors import ParameterError
from graphfraud.export.casefile import REDACT_KEY_ENV, SENSITIVE_TYPES, export_cases
from graphfraud.run import RunResult
from graphfraud.textsafe import restore_cells

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def case(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cases")
    [folder] = export_cases(run_dir, out, top=1)
    return folder


def test_bundle_has_every_file_and_valid_checksums(case):
    import hashlib

    names = {p.name for p in case.iterdir()}
    assert names == {"manifest.json", "summary.md", "report.html", "nodes.csv", "edges.csv", "graph.graphml",
                     "subgraph.cypher", "checksums.sha256"}
    for line in (case / "checksums.sha256").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((case / name).read_bytes()).hexdigest() == digest
    manifest = json.loads((case / "manifest.json").read_text("utf-8"))
    assert manifest["ring_id"] == case.name and manifest["detector"]["seed"] == 7
    from graphfraud.detect.detector import FAMILY_NAMES

    assert set(manifest["families"]) <= set(FAMILY_NAMES) | {"outcome", "tie"}
    assert manifest["q_value"] <= 0.01 and manifest["families"]["outcome"] <= 0.01 and manifest["ring_type"]
    assert all(v["sha256"] for v in manifest["inputs"].values())


def test_graphml_reads_back_with_every_node_edge_and_type(case):
    g = nx.read_graphml(case / "graph.graphml")
    nodes = pl.read_csv(case / "nodes.csv", infer_schema=False)
    edges = pl.read_csv(case / "edges.csv", infer_schema=False)
    assert set(g.nodes) == set(nodes["node_id"])
    assert g.number_of_edges() == edges.height
    assert {g.nodes[n]["node_type"] for n in g.nodes} == set(nodes["node_type"])
    assert sorted(d["rel_type"] for _, _, d in g.edges(data=True)) == sorted(edges["rel_type"])


def test_csvs_round_trip(case, run_dir):
    run = RunResult.read(run_dir)
    expected = run.nodes.filter(pl.col("ring_id") == case.name).drop("ring_id")
    nodes = restore_cells(pl.read_csv(case / "nodes.csv", schema_overrides=expected.schema))
    assert nodes.equals(expected)
    edges = pl.read_csv(case / "edges.csv")
    assert edges.height == run.edges.filter(pl.col("ring_id") == case.name).height


def test_summary_is_a_narrative_with_numbers_and_chinese(case):
    text = (case / "summary.md").read_text("utf-8")
    for heading in ("Why it was flagged", "Key shared identifiers", "Campaign timeline", "Sample reviews"):
        assert f"## {heading}" in text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), "review texts must keep their Chinese"


def test_cypher_is_parameterised_and_idempotent(case):
    script = (case / "subgraph.cypher").read_text("utf-8")
    statements = [line for line in script.splitlines() if line.startswith(("MERGE", "UNWIND", "MATCH"))]
    assert len(statements) >= 4 and all("MERGE" in s for s in statements)
    assert "CREATE " not in script  # MERGE only: safe to run twice
    # Values travel in :param lines, never inside the statements themselves.
    for line in script.splitlines():
        if line.startswith(("MERGE", "UNWIND", "MATCH")):
            assert "\"" not in line and "'" not in line, line


def test_export_twice_is_identical_apart_from_manifest_time(run_dir, tmp_path):
    a = export_cases(run_dir, tmp_path / "a", top=2, zip_bundle=True)
    b = export_cases(run_dir, tmp_path / "b", top=2, zip_bundle=True)
    for fa, fb in zip(a, b):
        folder_a, folder_b = fa.with_suffix(""), fb.with_suffix("")
        for f in folder_a.iterdir():
            if f.name == "manifest.json":
                ma, mb = (json.loads(p.read_text("utf-8")) for p in (f, folder_b / f.name))
                ma.pop("created_at"), mb.pop("created_at")
                assert ma == mb
            else:
                assert f.read_bytes() == (folder_b / f.name).read_bytes(), f.name


def test_selection_and_errors(run_dir, tmp_path):
    run = RunResult.read(run_dir)
    best = run.rings.sort("evidence", descending=True)["ring_id"][0]
    assert [p.name for p in export_cases(run_dir, tmp_path / "one", ring_ids=[best])] == [best]
    assert len(export_cases(run_dir, tmp_path / "min", min_score=0.0)) == run.rings.height
    with pytest.raises(ParameterError, match="unknown ring id"):
        export_cases(run_dir, tmp_path / "x", ring_ids=["R-nope"])


def test_redaction_leaves_no_raw_identifier_anywhere(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(REDACT_KEY_ENV, "test-key")
    [archive] = export_cases(run_dir, tmp_path / "red", top=1, redact=True, zip_bundle=True)
    folder = archive.with_suffix("")
    run = RunResult.read(run_dir)
    raw = run.nodes.filter(pl.col("ring_id") == folder.name).filter(pl.col("node_type").is_in(SENSITIVE_TYPES))
    values = [v for v in raw["key"].to_list() if v]
    assert len(values) >= 2, "the ring should share identifiers for this test to mean something"
    blobs = [p.read_bytes() for p in folder.iterdir()]
    with zipfile.ZipFile(archive) as zf:
        blobs += [zf.read(n) for n in zf.namelist()]
    for value in values:
        needle = value.encode("utf-8")
        assert not any(needle in blob for blob in blobs), f"raw identifier {value} leaked"
    nodes = pl.read_csv(folder / "nodes.csv", infer_schema=False)
    tokens = nodes.filter(pl.col("node_type").is_in(SENSITIVE_TYPES))["key"]
    assert tokens.str.contains(r"^(Device|IP|PaymentAccount|Address|Phone)-[0-9a-f]{10}$").all()
    # Same key, same tokens: pseudonyms are stable across exports.
    [again] = export_cases(run_dir, tmp_path / "red2", top=1, redact=True)
    assert (again / "nodes.csv").read_bytes() == (folder / "nodes.csv").read_bytes()


def test_redaction_needs_a_key(run_dir, tmp_path, monkeypatch):
    monkeypatch.delenv(REDACT_KEY_ENV, raising=False)
    with pytest.raises(ParameterError, match=REDACT_KEY_ENV):
        export_cases(run_dir, tmp_path / "x", top=1, redact=True)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_html_works_offline_in_a_real_browser(case):
    from playwright.sync_api import sync_playwright

    nodes = pl.read_csv(case / "nodes.csv", infer_schema=False).height
    url = (case / "report.html").resolve().as_uri()
    requests, problems = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        drawn = page.locator("svg#graph circle.node").count()
        marks = page.locator("svg#timeline .mark").count()
        members = page.locator("table#members tr").count() - 1
        page.locator("svg#graph circle.node").first.click(force=True)
        details = page.locator("#details").inner_text()
        items = page.locator("svg#graph circle.node[data-type='Review'], svg#graph circle.node[data-type='Order']").count()
        page.locator("#hideItems").check()
        hidden = page.evaluate("[...document.querySelectorAll('svg#graph circle.node')]"
                               ".filter(c => c.style.display === 'none').length")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert problems == []
    assert requests == [url], f"the report fetched something: {requests}"
    assert drawn == nodes
    assert marks > 0 and members > 0
    assert "relationship(s)" in details
    assert items > 0 and hidden == items
