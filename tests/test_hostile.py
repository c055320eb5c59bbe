"""Hostile text in outputs: the people in the data write the review texts, names and ids.

One synthetic market gets a corpus of payloads (script breakouts, event handlers,
``javascript:`` URLs, RTL overrides, formulas, Markdown, control characters, a 1 MB
string) and of personal data in every format redaction claims to cover, planted in the
reviews, nicknames, shop names and ids of a ring that is flagged. ``detect`` and
``export`` then run through the installed console script, and the case files are
checked where they are consumed: report.html in headless Chromium, summary.md through a
CommonMark renderer, CSVs as a spreadsheet reads them, and every byte of the redacted
bundle (zip included) for raw personal data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest

from graphfraud.export.redact import Redactor
from graphfraud.textsafe import restore_cells, terminal_text

pytestmark = pytest.mark.slow  # one detect and three exports through the CLI, and a browser

ENTRY = Path(sys.executable).with_name("graphfraud")
KEY = "hostile-test-key"
MEGABYTE = "长" * 100 + "A" * 1_000_000

PAYLOADS = [
    "<!--<script>",
    "</script><img src=x onerror=window.__xss=1>",
    "<svg onload=window.__xss=2><script>window.__xss=3</script>",
    "javascript:window.__xss=4",
    "<a href=\"javascript:window.__xss=5\">click</a>",
    "\u202egpj.exe \u2066isolate\u2069 \u200f",
    "line\u2028separator\u2029paragraph",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1-1",
    "-2+3",
    "**bold** _it_ [link](javascript:window.__xss=6) | pipe | `tick` # not a heading",
    "]]></data><!-- --> &amp; &lt;b&gt; \\u003c",
    "__DATA__ __TITLE__ ${7*7} {{7*7}}",
    "\x1b[31mred\x1b[0m\x07bell nul\x00byte",
    "typed \\x1b, C1 \x85\x9b31m, a lone C:\\path\\",
    "'; DROP TABLE reviews; -- MATCH (n) DETACH DELETE n //",
    MEGABYTE,
]
#: Hostile ids, planted on a ring member, a focus shop, a sampled review and a shared device.
HOSTILE_ACCOUNT = "<svg onload=window.__xss=7>"
HOSTILE_SHOP = "</script><img src=x onerror=window.__xss=8>"
HOSTILE_REVIEW = "<!--<script>--r1"
HOSTILE_DEVICE = "=HYPERLINK(\"http://evil.example\")"
#: A login that is an e-mail address: an account id that is personal data.
EMAIL_ACCOUNT = "li.si@example.org"
#: Personal data as it turns up in free text (raw form, and what it must not leave behind).
SHARED_ADDRESS = "北京市朝阳区建国路88号3号楼2单元1501室"
PII_TEXTS = [
    "加我微信或打 +86 138-0013-8001，备用 138 0013 8001",
    "座机 010-62345678，国外 +44 20 7946 0958",
    "返现到 zhang.san+refund@example.com",
    "我的 IP 192.168.31.77，IPv6 2001:db8:85a3::8a2e:370:7334",
    "卡号 6222 0212 3456 7890 123，身份证 11010519491231002X",
    f"地址：{SHARED_ADDRESS}，送到门口",
    "ship to 221B Baker Street, London",
]
PII_NEEDLES = ["13800138001", "138-0013-8001", "138 0013 8001", "62345678", "7946 0958", "zhang.san",
               "example.com", "192.168.31.77", "2001:db8", "8a2e:370:7334", "6222 0212", "62220212",
               "11010519491231002X", "建国路88号", "Baker Street"]


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(ENTRY), *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def _rename(tables: dict[str, pl.DataFrame], column: str, old: str, new: str) -> None:
    for name, frame in tables.items():
        if column in frame.columns:
            tables[name] = frame.with_columns(pl.col(column).replace(old, new))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A flagged ring carrying every payload, a plain export and a redacted one."""
    from graphfraud.detect.detector import RingDetector
    from graphfraud.export.tables import write_tables
    from graphfraud.ingest import load_dataset
    from graphfraud.synth import synthesize

    root = tmp_path_factory.mktemp("hostile")
    tables = dict(synthesize(2000, seed=11).tables)
    write_tables(tables, root / "clean")
    det = RingDetector(seed=3).fit(load_dataset(root / "clean").dataset)
    # A ring whose reviews are all in its evidence (no sampling), so every planted text is there.
    for ring in det.rings_.sort("evidence", "ring_id", descending=[True, False])["ring_id"]:
        ev = det.evidence(ring)
        if not ev.counts[ring]["sampled"] or ev.counts[ring]["reviews"] <= 200:
            break
    keys = {t: ev.nodes.filter(pl.col("node_type") == t)["key"].to_list() for t in ("Account", "Merchant", "Review",
                                                                                     "Device", "Address", "IP")}
    assert keys["Device"] and keys["IP"] and len(keys["Review"]) > len(PAYLOADS) + len(PII_TEXTS)

    # Texts: one payload or piece of personal data per sampled review of the ring.
    texts = {rid: p for rid, p in zip(keys["Review"], PAYLOADS + PII_TEXTS)}
    ip = keys["IP"][0]
    texts[keys["Review"][len(texts)]] = f"from {ip} again"  # a shared IP, quoted in text
    reviews = tables["reviews"]
    tables["reviews"] = reviews.with_columns(
        pl.when(pl.col("review_id").is_in(list(texts))).then(
            pl.col("text") + " " + pl.col("review_id").replace_strict(texts, default=""))
        .otherwise(pl.col("text")).alias("text"))
    # Names nobody should ever render as markup.
    member, shop = keys["Account"][0], keys["Merchant"][0]
    tables["accounts"] = tables["accounts"].with_columns(
        pl.when(pl.col("account_id").is_in(keys["Account"][:len(PAYLOADS)])).then(pl.lit(PAYLOADS[1] + PII_TEXTS[0]))
        .otherwise(pl.col("nickname")).alias("nickname"))
    tables["merchants"] = tables["merchants"].with_columns(
        pl.when(pl.col("merchant_id") == shop).then(pl.lit(PAYLOADS[2] + MEGABYTE))
        .otherwise(pl.col("name")).alias("name"))
    # Ids: a member, a focus shop, a sampled review and a shared device.
    phone = tables["accounts"].filter(pl.col("account_id") == member)["phone"][0]
    _rename(tables, "account_id", member, HOSTILE_ACCOUNT)
    _rename(tables, "account_id", keys["Account"][1], EMAIL_ACCOUNT)
    _rename(tables, "merchant_id", shop, HOSTILE_SHOP)
    _rename(tables, "review_id", keys["Review"][0], HOSTILE_REVIEW)
    _rename(tables, "device_id", keys["Device"][0], HOSTILE_DEVICE)
    if keys["Address"]:
        _rename(tables, "address", keys["Address"][0], SHARED_ADDRESS)
    data = root / "data"
    write_tables(tables, data)

    run = root / "run"
    proc = _cli("detect", str(data), "--out", str(run), "--seed", "3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    members = pl.read_csv(run / "ring_members.csv", infer_schema=False)
    [hostile_ring] = members.filter(pl.col("account_id") == HOSTILE_ACCOUNT)["ring_id"].to_list()
    plain = root / "plain"
    proc = _cli("export", str(run), "--to", str(plain), "--ring", hostile_ring, "--zip")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"root": root, "run": run, "ring": hostile_ring, "plain": plain / hostile_ring, "ip": ip, "phone": phone,
            "texts": texts, "address_shared": bool(keys["Address"])}


def test_payloads_really_reach_the_case_file(hostile):
    nodes = restore_cells(pl.read_csv(hostile["plain"] / "nodes.csv", infer_schema=False))
    keys = set(nodes["key"].to_list())
    assert {HOSTILE_ACCOUNT, HOSTILE_SHOP, HOSTILE_REVIEW, HOSTILE_DEVICE} <= keys
    texts = " ".join(nodes.filter(pl.col("node_type") == "Review")["text"].fill_null(""))
    for payload in PAYLOADS + PII_TEXTS:
        assert payload in texts, f"payload {payload[:40]!r} did not reach the evidence"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_renders_every_section_and_runs_no_injected_script(hostile):
    from playwright.sync_api import sync_playwright

    folder = hostile["plain"]
    n_nodes = pl.read_csv(folder / "nodes.csv", infer_schema=False).height
    problems, dialogs = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto((folder / "report.html").resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        counts = page.evaluate("""() => ({
            title: document.getElementById('title').textContent,
            reasons: document.querySelectorAll('#reasons li').length,
            families: document.querySelectorAll('#families tr').length,
            nodes: document.querySelectorAll('svg#graph circle.node').length,
            marks: document.querySelectorAll('svg#timeline .mark').length,
            members: document.querySelectorAll('#members tr').length - 1,
            identifiers: document.querySelectorAll('#identifiers tr').length - 1,
            texts: document.querySelectorAll('#texts tr').length - 1,
            footer: document.getElementById('footer').textContent,
            xss: window.__xss === undefined ? null : window.__xss,
            injected: document.querySelectorAll('img, iframe, object, embed, a, svg script, '
                                                 + 'body > script:not(#data) ~ script').length,
            handlers: [...document.querySelectorAll('*')]
                .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
            body: document.body.innerText.length,
            labels: [...document.querySelectorAll('svg#graph text.label')].map(t => t.textContent),
            shops: document.getElementById('shops').innerText,
            ticks: document.querySelectorAll('svg#timeline text.tick').length,
        })""")
        # Click the hostile member: its id shows as text in the details panel.
        node = page.locator("svg#graph circle.node[data-type='Account']").filter(
            has=page.locator("title", has_text=HOSTILE_ACCOUNT))
        node.first.click(force=True)
        details = page.locator("#details").inner_text()
        members_text = page.locator("#members").inner_text()
        browser.close()
    assert problems == [] and dialogs == []
    assert counts["xss"] is None and counts["injected"] == 0 and counts["handlers"] == 0
    assert counts["title"].startswith("Ring ") and counts["reasons"] > 0
    assert counts["families"] == len(json.loads((folder / "manifest.json").read_text("utf-8"))["families"]) > 0
    assert counts["nodes"] == n_nodes and counts["marks"] > 0 and counts["identifiers"] > 0
    assert counts["members"] > 0 and counts["texts"] >= 0 and "graphfraud" in counts["footer"]
    assert HOSTILE_ACCOUNT in details and HOSTILE_ACCOUNT in members_text
    # The hostile shop is labelled with its (cut) name as plain text, and listed with its id.
    assert any(label.startswith(PAYLOADS[2][:12]) and len(label) <= 22 for label in counts["labels"])
    assert HOSTILE_SHOP in counts["shops"] and counts["ticks"] >= 2


def test_report_data_cannot_leave_its_script_element(hostile):
    page = (hostile["plain"] / "report.html").read_text("utf-8")
    data = page.split('<script type="application/json" id="data">', 1)[1].split("</script>", 1)[0]
    for ch in "<>&\u2028\u2029":
        assert ch not in data
    assert "'unsafe-inline'; img" not in page and "script-src 'sha256-" in page


def test_summary_markdown_renders_no_markup_from_the_data(hostile):
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    text = (hostile["plain"] / "summary.md").read_text("utf-8")
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.stack, self.emphasis = [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, attrs))
            self.stack.append(tag)

        def handle_endtag(self, tag):
            self.stack.pop() if self.stack and self.stack[-1] == tag else None

        def handle_data(self, data):
            if self.stack and self.stack[-1] in ("strong", "em", "code", "a"):
                self.emphasis.append((self.stack[-1], data))

    parser = Tags()
    parser.feed(rendered)
    # Only the summary's own structure; no element or attribute from the data.
    allowed = {"h1", "h2", "p", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "blockquote"}
    assert {tag for tag, _ in parser.tags} <= allowed
    assert all(not attrs for _, attrs in parser.tags)
    assert all(data.startswith(("Evidence", "Template", "graphfraud")) for _, data in parser.emphasis), parser.emphasis
    assert "javascript:window.__xss=4" in rendered and "&lt;svg onload" in rendered  # shown as the text it is
    # Table rows keep their column count: a | in the data does not split a cell.
    for table in rendered.split("<table>")[1:]:
        body = table.split("</table>")[0]
        widths = {row.count("<td") for row in body.split("<tr>")[1:] if "<td" in row}
        assert len(widths) <= 1, body[:500]


def test_csv_cells_are_neutralised_and_restore_exactly(hostile):
    from graphfraud.run import RunResult

    run = RunResult.read(hostile["run"])
    for name, expected in (("nodes.csv", run.nodes), ("edges.csv", run.edges)):
        cells = pl.read_csv(hostile["plain"] / name, infer_schema=False)
        for col in cells.columns:
            starts = cells[col].drop_nulls().str.slice(0, 1)
            assert not starts.is_in(["=", "+", "-", "@", "\t", "\r"]).any(), (name, col)
        want = expected.filter(pl.col("ring_id") == hostile["ring"]).drop("ring_id")
        got = restore_cells(cells)
        assert got["node_id" if name == "nodes.csv" else "source"].to_list() == \
            want["node_id" if name == "nodes.csv" else "source"].cast(pl.String).to_list()
    keys = pl.read_csv(hostile["plain"] / "nodes.csv", infer_schema=False)["key"]
    assert any(k.startswith("'=HYPERLINK") for k in keys)
    # Control and bidi characters are shown as escapes in every CSV, the run directory's included.
    for path in [*hostile["plain"].glob("*.csv"), *hostile["run"].rglob("*.csv")]:
        raw = path.read_text("utf-8")
        assert not [ch for ch in raw if ch not in "\t\n" and terminal_text(ch) != ch], path.name
    texts = " ".join(pl.read_csv(hostile["plain"] / "nodes.csv", infer_schema=False)["text"].drop_nulls())
    assert "\\x1b[31mred\\x1b[0m\\x07bell nul\\x00byte" in texts and "\\u202egpj.exe" in texts


def test_graphml_and_cypher_stay_well_formed(hostile):
    import networkx as nx

    g = nx.read_graphml(hostile["plain"] / "graph.graphml")
    assert f"Account:{HOSTILE_ACCOUNT}" in g.nodes
    script = (hostile["plain"] / "subgraph.cypher").read_text("utf-8")
    for line in script.splitlines():
        if line.startswith(("MERGE", "UNWIND", "MATCH")):
            assert "window.__xss" not in line and "DROP TABLE" not in line


def _bundle_blobs(folder: Path, archive: Path) -> list[tuple[str, bytes]]:
    blobs = [(p.name, p.read_bytes()) for p in folder.iterdir()]
    with zipfile.ZipFile(archive) as zf:
        blobs += [(f"zip:{n}", zf.read(n)) for n in zf.namelist()]
    return blobs


def test_redaction_covers_free_text_and_replaces_earlier_output(hostile):
    to = hostile["plain"].parent  # holds the earlier *unredacted* folder and zip of this ring
    assert (to / f"{hostile['ring']}.zip").exists()
    proc = _cli("export", str(hostile["run"]), "--to", str(to), "--ring", hostile["ring"], "--redact", "--zip",
                env={"GRAPHFRAUD_REDACT_KEY": KEY})
    assert proc.returncode == 0, proc.stderr
    folder, archive = to / hostile["ring"], to / f"{hostile['ring']}.zip"
    assert sorted(p.name for p in to.iterdir()) == sorted([folder.name, archive.name])
    r = Redactor(KEY.encode())
    raw_phone = hostile["phone"]
    needles = [*PII_NEEDLES, hostile["ip"], raw_phone, EMAIL_ACCOUNT, "example.org"]
    for name, blob in _bundle_blobs(folder, archive):
        for needle in needles:
            assert needle.encode() not in blob, f"{needle!r} leaked into {name}"
    nodes = pl.read_csv(folder / "nodes.csv", infer_schema=False)
    texts = " ".join(nodes.filter(pl.col("node_type") == "Review")["text"].fill_null(""))
    # The same pseudonym as the structured field: a shared IP quoted in a review...
    ip_token = r.token("IP", hostile["ip"])
    assert ip_token in set(nodes.filter(pl.col("node_type") == "IP")["key"]) and ip_token in texts
    # ...the phone in three spellings, and the shared address in a sentence.
    assert texts.count(r.token("Phone", "13800138001")) == 2 and r.token("Phone", "+86 138-0013-8001") in texts
    if hostile["address_shared"]:
        assert r.token("Address", SHARED_ADDRESS) in set(nodes["key"]) and r.token("Address", SHARED_ADDRESS) in texts
    for kind in ("Email", "IP", "IDCard", "PaymentAccount", "Address"):
        assert f"{kind}-" in texts, kind
    # An id that is an e-mail address is pseudonymised inside the id, consistently in nodes and edges.
    account = f"Account:{r.token('Email', EMAIL_ACCOUNT)}"
    edges = pl.read_csv(folder / "edges.csv", infer_schema=False)
    assert account in set(nodes["node_id"]) and account in set(edges["source"])
    assert HOSTILE_ACCOUNT in set(nodes["key"])  # not personal data: kept
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["redacted"] is True


def test_redacted_export_refuses_a_folder_with_other_files(hostile, tmp_path):
    (tmp_path / "notes.txt").write_text("mine", "utf-8")
    proc = _cli("export", str(hostile["run"]), "--to", str(tmp_path), "--ring", hostile["ring"], "--redact",
                env={"GRAPHFRAUD_REDACT_KEY": KEY})
    assert proc.returncode == 2 and "notes.txt" in proc.stderr and "not graphfraud case files" in proc.stderr
    assert (tmp_path / "notes.txt").read_text("utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
