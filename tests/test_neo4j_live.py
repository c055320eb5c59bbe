"""The Neo4j workspace against a live server (``.ci/run`` starts one; see docs/neo4j.md).

Every check compares sets of tuples read back from Neo4j with what graphfraud computed
from the same data on its own.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from graphfraud.dataset import Dataset
from graphfraud.detect.detector import RingDetector
from graphfraud.errors import Neo4jConnectionError
from graphfraud.ingest import load_dataset
from graphfraud.neo4j.gateway import DriverGateway
from graphfraud.neo4j.ingest import apply_schema, ingest
from graphfraud.neo4j.rings import push_rings
from graphfraud.neo4j.settings import Settings, settings_from_env
from graphfraud.neo4j.statements import constraint_statements
from graphfraud.pipeline import detect_neo4j
from graphfraud.run import RunResult
from graphfraud.synth import synthesize

from .conftest import live_neo4j_exclusive

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "cypher" / "queries"

pytestmark = [pytest.mark.neo4j,
              pytest.mark.skipif(not (os.environ.get("NEO4J_URI") and os.environ.get("NEO4J_PASSWORD")),
                                 reason="no live Neo4j: bash .ci/run starts one (needs Java 17 and Maven), or set "
                                        "NEO4J_URI and NEO4J_PASSWORD")]


#: What the live database holds between tests of this module (the module holds it alone).
_DB: dict[str, str | None] = {"holds": None}


@pytest.fixture(scope="module", autouse=True)
def _exclusive():
    # The module's fixtures load data that its tests read: the database is held for the module.
    with live_neo4j_exclusive():
        _DB["holds"] = None  # tests elsewhere may have changed the database while it was not held
        yield


@pytest.fixture
def neo():
    """An empty live database."""
    gw = DriverGateway(settings_from_env(prompt=False))
    gw.write("MATCH (n) DETACH DELETE n")  # the test markets are small enough for one transaction
    _DB["holds"] = None
    yield gw
    gw.close()


@pytest.fixture
def market_db(market):
    """The live database holding the 2,000-account market, ingested once for the tests that only
    read it or replace its rings (each pushes the run it checks)."""
    gw = DriverGateway(settings_from_env(prompt=False))
    if _DB["holds"] != "market":
        gw.write("MATCH (n) DETACH DELETE n")
        ingest(load_dataset(market).dataset, gw)
        _DB["holds"] = "market"
    yield gw
    gw.close()


@pytest.fixture(scope="module")
def market(market_2k) -> Path:
    return market_2k


@pytest.fixture(scope="module")
def market_run(market, tmp_path_factory) -> RunResult:
    """The file-based detection on the market: what every engine and query is compared with."""
    from graphfraud.pipeline import detect_files

    return detect_files(market, tmp_path_factory.mktemp("files") / "run", detector=RingDetector(seed=7))


@pytest.fixture(scope="module")
def small_tables() -> dict[str, pl.DataFrame]:
    return synthesize(600, seed=5).tables


def _counts(gw) -> set[tuple]:
    nodes = gw.read("MATCH (n) RETURN labels(n) AS l, count(*) AS c")
    rels = gw.read("MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS c")
    return {(tuple(sorted(r["l"])), r["c"]) for r in nodes} | {(r["t"], r["c"]) for r in rels}


def _query(name: str) -> str:
    return (QUERIES / f"{name}.cypher").read_text()


# ------------------------------------------------------------------ schema
def test_constraints_and_indexes_exist_and_a_second_setup_is_a_no_op(neo):
    expected = {re.match(r"CREATE (CONSTRAINT|INDEX) (\w+)", s).groups()[::-1] for s in constraint_statements()}
    apply_schema(neo)

    def present() -> set[tuple]:
        cons = {(r["name"], "CONSTRAINT") for r in neo.read("SHOW CONSTRAINTS YIELD name RETURN name")}
        idx = {(r["name"], "INDEX") for r in neo.read(
            "SHOW INDEXES YIELD name, owningConstraint WHERE owningConstraint IS NULL RETURN name")}
        return cons | idx

    first = present()
    assert expected <= first
    counters = [neo.write(s) for s in constraint_statements()]
    assert counters == [{}] * len(counters)  # nothing added the second time
    assert present() == first


# ------------------------------------------------------------------ ingest
def test_changed_input_updates_in_place(neo, small_tables):
    ingest(Dataset.from_frames(**small_tables), neo)
    before = _counts(neo)
    merchants = small_tables["merchants"].with_columns(pl.concat_str([pl.col("name"), pl.lit(" (renamed)")])
                                                       .alias("name"))
    reviews = small_tables["reviews"].with_columns((6 - pl.col("rating")).alias("rating"))
    ingest(Dataset.from_frames(**{**small_tables, "merchants": merchants, "reviews": reviews}), neo)
    assert _counts(neo) == before
    got = {(r["id"], r["name"]) for r in neo.read("MATCH (m:Merchant) RETURN m.merchant_id AS id, m.name AS name")}
    assert got == set(merchants.select("merchant_id", "name").iter_rows())
    ratings = {(r["id"], r["rating"])
               for r in neo.read("MATCH (r:Review) RETURN r.review_id AS id, r.rating AS rating")}
    assert ratings == {(i, float(v)) for i, v in reviews.select("review_id", "rating").iter_rows()}


def test_an_interrupted_ingest_rerun_completes_without_duplicates(neo, small_tables):
    ds = Dataset.from_frames(**small_tables)
    ingest(ds, neo)
    clean = _counts(neo)
    neo.write("MATCH (n) DETACH DELETE n")

    batches = 0

    def interrupt(name: str, done: int, total: int) -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise KeyboardInterrupt  # what Ctrl-C does between two batches

    with pytest.raises(KeyboardInterrupt):
        ingest(ds, neo, batch_size=100, progress=interrupt)
    assert _counts(neo) != clean  # it really stopped part-way
    ingest(ds, neo, batch_size=100)
    assert _counts(neo) == clean


def test_a_second_ingest_changes_nothing(neo, small_tables):
    ds = Dataset.from_frames(**small_tables)
    ingest(ds, neo)
    first = _counts(neo)
    ingest(ds, neo)
    assert _counts(neo) == first
    accounts = {r["id"] for r in neo.read("MATCH (a:Account) RETURN a.account_id AS id")}
    assert accounts == set(small_tables["accounts"]["account_id"])


# ------------------------------------------------------------------ detection and rings
def _ring_sets(run: RunResult) -> set[frozenset]:
    return {frozenset(g["account_id"].to_list()) for _, g in run.members.group_by("ring_id")}


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("graphfraud")), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


@pytest.mark.slow
def test_detect_from_neo4j_reproduces_file_rings_and_replaces_them(market_db, market_run, tmp_path):
    from graphfraud.neo4j.rings import run_id

    neo, files_run = market_db, market_run
    assert files_run.rings.height  # the planted rings are found
    first = _cli("detect", "--source", "neo4j", "--seed", "7", "--out", str(tmp_path / "a"), "--neo4j")
    assert first.returncode == 0, first.stderr
    from_neo4j = RunResult.read(tmp_path / "a")
    assert _ring_sets(from_neo4j) == _ring_sets(files_run)
    members = {(r["ring"], r["member"]) for r in neo.read(
        "MATCH (a:RingMember)-[:MEMBER_OF]->(r:Ring) RETURN r.ring_id AS ring, a.account_id AS member")}
    assert members == set(from_neo4j.members.select("ring_id", "account_id").iter_rows())
    # A second detection (another seed, so another run id) replaces the rings: nothing stale is left.
    run_b = detect_neo4j(neo, tmp_path / "b", detector=RingDetector(seed=8))
    push_rings(run_b, neo)
    assert run_id(run_b) != run_id(from_neo4j)
    rings = {(r["ring"], r["run"]) for r in neo.read("MATCH (r:Ring) RETURN r.ring_id AS ring, r.run_id AS run")}
    assert rings == {(rid, run_id(run_b)) for rid in run_b.rings["ring_id"].to_list()}
    members_b = {(r["ring"], r["member"]) for r in neo.read(
        "MATCH (a:RingMember)-[:MEMBER_OF]->(r:Ring) RETURN r.ring_id AS ring, a.account_id AS member")}
    assert members_b == set(run_b.members.select("ring_id", "account_id").iter_rows())
    assert neo.read("MATCH (a:RingMember) WHERE NOT (a)-[:MEMBER_OF]->(:Ring) RETURN count(a) AS n") == [{"n": 0}]


def test_a_run_with_a_ring_fewer_leaves_no_stale_ring_or_label(market_db, market_run):
    neo, run = market_db, market_run
    push_rings(run, neo)
    got = {(r["ring"], r["member"]) for r in neo.read(
        "MATCH (a:RingMember)-[:MEMBER_OF]->(r:Ring) RETURN r.ring_id AS ring, a.account_id AS member")}
    assert got == set(run.members.select("ring_id", "account_id").iter_rows())
    # A run with one ring fewer: the dropped ring and its RingMember labels disappear.
    smaller = run.rings.head(run.rings.height - 1)
    run2 = dataclasses.replace(run, rings=smaller, members=run.members.join(smaller.select("ring_id"), on="ring_id"),
                               manifest={**run.manifest, "created_at": "later"})
    push_rings(run2, neo)
    got2 = {(r["ring"], r["member"]) for r in neo.read(
        "MATCH (a:RingMember)-[:MEMBER_OF]->(r:Ring) RETURN r.ring_id AS ring, a.account_id AS member")}
    assert got2 == set(run2.members.select("ring_id", "account_id").iter_rows()) and got2 < got
    stale = neo.read("MATCH (a:RingMember) WHERE NOT (a)-[:MEMBER_OF]->(:Ring) RETURN count(a) AS n")
    assert stale == [{"n": 0}]
    top = neo.read(_query("top_rings"), {"limit": 100})
    assert {(r["ring"], r["members"]) for r in top} == set(run2.members.group_by("ring_id").len().iter_rows())


# ------------------------------------------------------------------ saved queries
@pytest.fixture
def pushed(market_db, market, market_run):
    push_rings(market_run, market_db)
    return market_db, market_run, load_dataset(market).dataset


def test_every_saved_query_returns_the_expected_rows(pushed):
    neo, run, ds = pushed
    members = run.members.select("ring_id", "account_id")
    ring_of = dict(members.select("account_id", "ring_id").iter_rows())  # one ring per account in a run
    checked = set()

    top = neo.read(_query("top_rings"), {"limit": 1000})
    assert {(r["ring"], r["members"]) for r in top} == set(members.group_by("ring_id").len().iter_rows())
    checked.add("top_rings")

    ring = top[0]["ring"]
    rows = neo.read(_query("ring_evidence"), {"ring_id": ring})
    assert {r["membership"][0]["account_id"] for r in rows} == set(
        members.filter(pl.col("ring_id") == ring)["account_id"])
    shops = {r["shops"][-1]["merchant_id"] for r in rows if r["shops"]}
    assert shops == set(run.nodes.filter((pl.col("ring_id") == ring) & (pl.col("node_type") == "Merchant"))["key"])
    checked.add("ring_evidence")

    reviews = ds.get("reviews")
    # The shop most reviewed by ring members: the planted rings' target.
    in_ring = reviews.filter(pl.col("account_id").is_in(list(ring_of)))
    shop = (in_ring.group_by("merchant_id").len()
            .sort(["len", "merchant_id"], descending=[True, False])["merchant_id"][0])
    at_shop = reviews.filter(pl.col("merchant_id") == shop).with_columns(
        pl.col("account_id").replace_strict(ring_of, default="not in a ring").alias("ring"))
    got = {(r["ring"], r["accounts"], r["reviews"]) for r in neo.read(_query("shop_reviewers_by_ring"),
                                                                       {"merchant_id": shop})}
    want = at_shop.group_by("ring").agg(pl.col("account_id").n_unique(), pl.len()).iter_rows()
    assert got == set(want)
    checked.add("shop_reviewers_by_ring")

    active = set(at_shop["account_id"])
    orders = ds.get("orders")
    if orders is not None:
        active |= set(orders.filter(pl.col("merchant_id") == shop)["account_id"])
    want = members.filter(pl.col("account_id").is_in(list(active))).group_by("ring_id").len()
    got = {(r["ring"], r["members_active"]) for r in neo.read(_query("rings_touching_shop"), {"merchant_id": shop})}
    assert got == set(want.iter_rows())
    checked.add("rings_touching_shop")

    # The busiest hour of ring reviews at that shop.
    first = in_ring.filter(pl.col("merchant_id") == shop)["created_at"].min()
    window = at_shop.filter((pl.col("created_at") >= first) & (pl.col("created_at") < first + pl.duration(hours=24)))
    got = {(r["account"], r["ring_member"]) for r in neo.read(
        _query("burst_window_reviews"), {"merchant_id": shop, "from": first.isoformat(), "hours": 24})}
    assert got == {(a, a in ring_of) for a in window["account_id"]}
    assert any(m for _, m in got)
    checked.add("burst_window_reviews")

    # Every table that links an account to a device or a payment account (as the load statements do).
    sources = [("account_devices", "device_id"), ("reviews", "device_id"), ("orders", "device_id"),
               ("logins", "device_id"), ("account_payments", "payment_account_id"),
               ("orders", "payment_account_id")]
    links = pl.concat([ds.get(t).select("account_id", pl.col(c).alias("identifier")) for t, c in sources
                       if ds.get(t) is not None and c in ds.get(t).columns]).drop_nulls().unique()
    # The first ring member (by id) that shares an identifier with another account.
    shared = links.group_by("identifier").agg(pl.col("account_id").n_unique().alias("n")).filter(pl.col("n") > 1)
    account = (links.join(shared, on="identifier").filter(pl.col("account_id").is_in(members["account_id"].implode()))
               ["account_id"].sort()[0])
    mine = links.filter(pl.col("account_id") == account)["identifier"]
    want = set(links.filter(pl.col("identifier").is_in(mine.implode()) & (pl.col("account_id") != account))
               .group_by("identifier").agg(pl.col("account_id").n_unique()).iter_rows())
    got = {(r["identifier"], r["accounts"]) for r in neo.read(_query("shared_identifiers"), {"account_id": account})}
    assert got == want and got
    checked.add("shared_identifiers")

    pays = links.filter(pl.col("identifier").is_in(
        pl.concat([ds.get("account_payments")["payment_account_id"],
                   ds.get("orders")["payment_account_id"]]).implode()))
    funded = ds.get("transfers").join(ds.get("merchant_payments").rename(
        {"payment_account_id": "from_payment_account_id"}), on="from_payment_account_id")
    shop2 = (funded.group_by("merchant_id").len()
             .sort(["len", "merchant_id"], descending=[True, False])["merchant_id"][0])
    orgs = funded.filter(pl.col("merchant_id") == shop2)["to_payment_account_id"].unique()
    payouts = ds.get("transfers").filter(pl.col("from_payment_account_id").is_in(orgs.implode())).join(
        pays.rename({"identifier": "to_payment_account_id"}), on="to_payment_account_id")
    want = set(payouts.group_by("from_payment_account_id").agg(pl.col("account_id").n_unique()).iter_rows())
    got = {(r["organiser"], r["buyers"])
           for r in neo.read(_query("money_paths"), {"merchant_id": shop2, "limit": 1000})}
    assert got == want and got
    checked.add("money_paths")
    assert checked == {p.stem for p in QUERIES.glob("*.cypher")}


# ------------------------------------------------------------------ errors a user meets
def _settings(**over) -> Settings:
    base = settings_from_env(prompt=False)
    return Settings(**{"uri": base.uri, "username": base.username, "database": base.database,
                       "password": base.password, **over})


def test_bad_credentials_and_wrong_uris_are_one_line_errors_with_the_fix():
    from graphfraud.neo4j.local import free_port

    with pytest.raises(Neo4jConnectionError, match=r"refused the credentials.*NEO4J_PASSWORD"):
        DriverGateway(_settings(password="not-the-password"))
    with pytest.raises(Neo4jConnectionError, match=r"cannot reach Neo4j.*fix NEO4J_URI"):
        DriverGateway(_settings(uri=f"bolt://127.0.0.1:{free_port()}"))
    with pytest.raises(Neo4jConnectionError, match="is not usable"):
        DriverGateway(_settings(uri="http://127.0.0.1:7474"))
    # The CLI prints one line, exits non-zero and never shows the password.
    done = _cli("neo4j", "schema", env={"NEO4J_PASSWORD": "not-the-password-either"})
    assert done.returncode != 0
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "NEO4J_PASSWORD" in lines[0] and "Traceback" not in done.stderr
    assert "not-the-password-either" not in done.stderr + done.stdout


@pytest.mark.skipif(not os.environ.get("NEO4J_LOCAL_HOME"),
                    reason="needs the local server that .ci/run starts (NEO4J_LOCAL_HOME)")
def test_serve_start_with_another_password_than_the_homes_first_says_so():
    # The server runs; a start with another password must not report it as ready for that password.
    # (A good login first: the server locks a user out for a while after three wrong ones in a row.)
    DriverGateway(_settings()).close()
    done = _cli("neo4j", "serve", "start", "--home", os.environ["NEO4J_LOCAL_HOME"],
                env={"NEO4J_PASSWORD": "another-password-than-the-first"})
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert done.returncode != 0 and "running" not in done.stdout, done.stdout
    assert len(lines) == 1 and "keeps the password of its first start" in lines[0], done.stderr
    assert "another-password-than-the-first" not in done.stderr + done.stdout
    # Still running and still answering the right password.
    DriverGateway(_settings()).close()


# ------------------------------------------------------------------ Neo4j Browser in a real browser
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def guide_server():
    """Serves cypher/ (guide and style) at GRAPHFRAUD_GUIDE_URL, the origin the server allow-lists."""
    import functools
    import http.server
    import threading
    from urllib.parse import urlparse

    url = os.environ["GRAPHFRAUD_GUIDE_URL"]

    class Handler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")  # Browser fetches guides cross-origin
            super().end_headers()

        def log_message(self, *args) -> None:
            pass

        def do_OPTIONS(self) -> None:  # Browser's guide fetch is preflighted
            self.send_response(204)
            self.send_header("Access-Control-Allow-Headers", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, OPTIONS")
            self.end_headers()

    parsed = urlparse(url)
    server = http.server.ThreadingHTTPServer((parsed.hostname, parsed.port),
                                             functools.partial(Handler, directory=str(ROOT / "cypher")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.skipif(not (os.environ.get("NEO4J_HTTP_URL") and os.environ.get("GRAPHFRAUD_GUIDE_URL")),
                    reason="needs the local server of .ci/run (NEO4J_HTTP_URL, GRAPHFRAUD_GUIDE_URL)")
def test_neo4j_browser_draws_the_ring_in_graphfraud_style(market_db, market_run, guide_server):
    from playwright.sync_api import sync_playwright

    run = market_run
    push_rings(run, market_db)
    ring = run.rings.sort(["evidence", "ring_id"], descending=[True, False])["ring_id"][0]
    n_members = run.members.filter(pl.col("ring_id") == ring).height
    settings = settings_from_env(prompt=False)
    red = "#E53935"  # node.RingMember in cypher/style/graphfraud.grass
    assert f"node.RingMember {{\n  color: {red};" in (ROOT / "cypher/style/graphfraud.grass").read_text()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{os.environ['NEO4J_HTTP_URL']}/browser/?dbms={settings.uri}&preselectAuthMethod=basic")
        page.wait_for_selector("[data-testid=authenticationMethod]", timeout=60_000)
        page.select_option("[data-testid=authenticationMethod]", "NATIVE")
        page.fill("[data-testid=username]", settings.username)
        page.fill("[data-testid=password]", settings.password)
        page.click("[data-testid=connect]")
        # browser.post_connect_cmd applies the style and plays the guide (:guide URL) from the
        # allow-listed origin: Browser 5 shows its slides in the sidebar.
        page.wait_for_selector("text=graphfraud: investigating a ring", timeout=90_000)
        page.wait_for_timeout(3_000)
        guide_shown = page.locator("text=graphfraud: investigating a ring").count() > 0
        guide_failed = page.locator("text=Remote guide error").count() + page.locator("text=No guide").count()
        styled = page.locator("text=node.RingMember").count() > 0
        refused = page.locator("text=Hostname is not allowed").count()

        def run_in_editor(text: str) -> None:
            # Each command opens a frame on top of the stream: wait for it rather than for a fixed
            # time, so that the query never runs before its parameter is set on a loaded machine.
            frames = page.locator("[data-testid=frame]").count()
            page.click("[data-testid=activeEditor]")
            page.keyboard.insert_text(text)
            page.click("[data-testid=editor-Run]")
            page.locator("[data-testid=frame]").nth(frames).wait_for(state="attached", timeout=60_000)

        run_in_editor(f":param ring_id => '{ring}'")
        page.wait_for_selector(f"[data-testid=rawParamData] >> text={ring}", timeout=60_000)
        run_in_editor(_query("ring_evidence"))
        try:
            page.wait_for_selector("svg g.node", timeout=90_000)
        except Exception as exc:
            top = page.locator("[data-testid=frame]").first.inner_text()[:600]
            raise AssertionError(f"the saved query drew no graph; its frame shows:\n{top}") from exc
        page.wait_for_timeout(3_000)  # the force layout settles
        members_drawn = page.evaluate(
            "[...document.querySelectorAll('svg g.node circle.b-outline')]"
            f".filter(c => (c.getAttribute('fill') || '').toUpperCase() === '{red}').length")
        (ROOT / "docs" / "img").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "docs" / "img" / "neo4j-browser-ring.png"))
        browser.close()
    assert refused == 0 and styled, "Browser did not load the graphfraud style from the allow-listed origin"
    assert guide_shown and guide_failed == 0, "Browser did not play the graphfraud guide"
    assert members_drawn == n_members


# ------------------------------------------------------------------ GDS as the community engine
def test_gds_engine_finds_the_planted_rings_and_drops_its_projections(market_db, market, market_run, tmp_path):
    from graphfraud.lineage import best_jaccard
    from graphfraud.neo4j.gds import GdsLeiden

    neo, embedded = market_db, market_run
    done = _cli("detect", "--source", "neo4j", "--engine", "gds", "--seed", "7", "--out", str(tmp_path / "gds"))
    assert done.returncode == 0, done.stderr
    gds = RunResult.read(tmp_path / "gds")
    assert gds.manifest["parameters"]["communities"] == "gds"
    truth = pl.read_csv(market / "truth" / "ring_members.csv", infer_schema=False).select("ring_id", "account_id")
    # Every planted ring is found by the GDS engine: three quarters of it or more in one flagged ring
    # (the embedded engine recovers this market's rings at Jaccard 1.0, 0.96, 1.0, 1.0).
    recovered = best_jaccard(truth, gds.members.select("ring_id", "account_id"))
    assert recovered["jaccard"].min() >= 0.75, recovered
    agreement = best_jaccard(gds.members.select("ring_id", "account_id"), embedded.members.select("ring_id",
                                                                                                 "account_id"))
    print(f"GDS rings vs embedded rings: mean best Jaccard {agreement['jaccard'].mean():.3f} "
          f"({gds.rings.height} vs {embedded.rings.height} rings)")
    assert agreement["jaccard"].mean() >= 0.75
    assert neo.read("CALL gds.graph.list() YIELD graphName RETURN count(*) AS n") == [{"n": 0}]
    # Same input and seed: the GDS engine gives the same rings again.
    again = detect_neo4j(neo, None, detector=RingDetector(seed=7, communities=GdsLeiden(neo)))
    assert _ring_sets(again) == _ring_sets(gds)


def test_a_failing_gds_step_still_drops_the_projection(neo):
    from graphfraud.neo4j.gds import projection

    edges = pl.DataFrame({"a": [0, 1], "b": [1, 2], "weight": [1.0, 1.0]})
    with pytest.raises(RuntimeError, match="step failed"), projection(neo, edges) as graph:
        assert neo.read("CALL gds.graph.list($g) YIELD nodeCount RETURN nodeCount AS n", {"g": graph}) == [{"n": 3}]
        raise RuntimeError("step failed")
    assert neo.read("CALL gds.graph.list() YIELD graphName RETURN count(*) AS n") == [{"n": 0}]
