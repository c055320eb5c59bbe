"""Case files: one self-explaining folder per flagged ring.

Each folder holds ``manifest.json``, ``summary.md``, ``report.html`` (one offline file:
no CDN, nothing fetched when viewed), ``nodes.csv``, ``edges.csv``, ``graph.graphml``,
``subgraph.cypher`` (recreates the evidence in any Neo4j; safe to run twice) and
``checksums.sha256``.

Everything in a case file that came from the data was written by the people under
investigation, so each format gets it neutralised (:mod:`graphfraud.textsafe`): the
report embeds its data as HTML-safe JSON and renders it as text only, under a CSP
that runs nothing but its own script; summary.md escapes HTML and Markdown; the CSVs
neutralise spreadsheet formulas (reversibly); GraphML gets XML-legal text.

With ``redact=True`` phones, IPs, payment accounts, addresses and device ids become
keyed pseudonyms (:mod:`graphfraud.export.redact`, key from ``GRAPHFRAUD_REDACT_KEY``),
and so does every phone number, e-mail, IP, card or ID-card number and street
address found inside texts and ids: the same value gives the same token across one
export, and no raw value reaches any file.

Given the dataset (``dataset=``, ``graphfraud export --data DIR``), the report's
campaign timeline shows the ring's daily orders and reviews at each focus shop against
the shop's own traffic (:mod:`graphfraud.graph.activity`); without it, the ring's dated
evidence only. The evidence graph's layout is computed here and stored in the report
(:mod:`graphfraud.export._layout`), so every view shows the same picture.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from .._version import __version__
from ..dataset import Dataset
from ..errors import ParameterError, RunDirectoryError
from ..graph.activity import RingActivity, ring_activity
from ..run import RunResult
from ..schema import GRAPH_SCHEMA
from ..textsafe import html_safe_json, markdown_text, neutralise_cells, xml_text
from ._layout import layout, short
from .redact import REDACT_KEY_ENV, SENSITIVE_TYPES, Redactor

__all__ = ["CASE_FILES", "REDACT_KEY_ENV", "SENSITIVE_TYPES", "Case", "Redactor", "build_case", "export_cases"]

#: Evidence columns that are not properties of the node or edge itself.
_NODE_FIXED = ("ring_id", "node_id", "node_type", "key", "label")
_EDGE_FIXED = ("ring_id", "source", "target", "rel_type")
CASE_FILES = ("manifest.json", "summary.md", "report.html", "nodes.csv", "edges.csv", "graph.graphml",
              "subgraph.cypher")


@dataclass
class Case:
    """The data of one ring's case file."""

    ring: dict[str, Any]
    members: pl.DataFrame
    nodes: pl.DataFrame
    edges: pl.DataFrame
    manifest: dict[str, Any]
    #: Daily series of the ring at its focus shops with the shops' baseline (None: no dataset given).
    activity: RingActivity | None = None


def properties(frame: pl.DataFrame, fixed: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each row's non-null property columns as a dict (what GraphML, Cypher and the report take)."""
    cols = [c for c in frame.columns if c not in fixed]
    return [{k: v for k, v in row.items() if v is not None} for row in frame.select(cols).iter_rows(named=True)]


def select_rings(run: RunResult, ring_ids: list[str] | None = None, top: int | None = None,
                 min_score: float | None = None) -> list[str]:
    """Ring ids to export: the named ones, else the flagged rings by score (``top``, ``min_score``)."""
    # head() would read a negative top as "all but the last N", and a NaN threshold keeps nothing.
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ParameterError(f"top={top!r}: must be an integer >= 1, the number of strongest rings to export.")
    if min_score is not None and not math.isfinite(min_score):
        raise ParameterError(f"min_evidence={min_score!r}: must be a finite number (evidence is -log10 p).")
    rings = run.rings.sort(["p_ring", "ring_id"])
    if ring_ids:
        known = set(rings["ring_id"])
        unknown = [r for r in ring_ids if r not in known]
        if unknown:
            raise ParameterError(f"unknown ring id(s) {', '.join(unknown)} in {run.path}/rings.csv; "
                                 f"e.g. {', '.join(rings['ring_id'].head(3))}.")
        return list(dict.fromkeys(ring_ids))
    if min_score is not None:
        rings = rings.filter(pl.col("evidence") >= min_score)
    if top is not None:
        rings = rings.head(top)
    return rings["ring_id"].to_list()


def build_case(run: RunResult, ring_id: str, redactor: Redactor | None = None,
               dataset: Dataset | None = None) -> Case:
    """One ring's case data; with ``dataset``, its daily activity against its shops' baseline."""
    ring = run.rings.filter(pl.col("ring_id") == ring_id).row(0, named=True)
    members = run.members.filter(pl.col("ring_id") == ring_id).drop("ring_id")
    nodes = run.nodes.filter(pl.col("ring_id") == ring_id).drop("ring_id")
    edges = run.edges.filter(pl.col("ring_id") == ring_id).drop("ring_id")
    activity = None
    if dataset is not None:
        shops = nodes.filter(pl.col("node_type") == "Merchant")["key"].to_list()
        activity = ring_activity(dataset, members["account_id"].to_list(), shops)
        if redactor is not None:
            activity = RingActivity(activity.daily.with_columns(
                pl.col("merchant_id").map_elements(redactor.identifier, return_dtype=pl.String)),
                activity.tz, activity.first, activity.last)
    if redactor is not None:
        nodes, edges = _redact(nodes, edges, redactor)
        members = members.with_columns(pl.col("account_id").map_elements(redactor.identifier, return_dtype=pl.String))
        ring = {**ring, "reasons": redactor.text(ring["reasons"])}
    m = run.manifest
    manifest = {
        "ring_id": ring_id, "ring_type": ring["ring_type"], "evidence": ring["evidence"], "p_value": ring["p_ring"],
        "q_value": ring["q_ring"],
        "families": {k[2:]: ring[k] for k in ring
                     if k.startswith("p_") and k not in ("p_ring",) and ring[k] is not None},
        "features": {k: ring[k] for k in ring if not k.startswith("p_") and k not in ("ring_id", "reasons")},
        "reasons": ring["reasons"].split("; ") if ring["reasons"] else [],
        "detector": {"parameters": m.get("parameters"), "seed": m.get("seed")},
        "inputs": {t: {"file": v.get("file"), "sha256": v.get("sha256")} for t, v in (m.get("inputs") or {}).items()},
        "run_created_at": m.get("created_at"),
        "graphfraud_version": __version__,
        "redacted": redactor is not None,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return Case(ring, members, nodes, edges, manifest, activity)


def _redact(nodes: pl.DataFrame, edges: pl.DataFrame, r: Redactor) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pseudonymise sensitive nodes' keys, personal data inside other ids, and every string property."""
    def node_id(value: str | None) -> str | None:
        if value is None:
            return None
        kind, _, key = value.partition(":")
        return f"{kind}:{r.token(kind, key) if kind in SENSITIVE_TYPES else r.identifier(key)}"

    def key(struct: dict[str, Any]) -> str | None:
        if struct["key"] is None:
            return None
        if struct["node_type"] in SENSITIVE_TYPES:
            return r.token(struct["node_type"], struct["key"])
        return r.identifier(struct["key"])

    def label(struct: dict[str, Any]) -> str | None:
        if struct["node_type"] in SENSITIVE_TYPES:
            return key(struct)
        return r.identifier(struct["label"]) if struct["label"] == struct["key"] else r.text(struct["label"])

    def mapped(col: str, fn: Callable[[dict[str, Any]], str | None], *fields: str) -> pl.Expr:
        return pl.struct(*fields).map_elements(fn, return_dtype=pl.String).alias(col)

    def texts(frame: pl.DataFrame, fixed: tuple[str, ...]) -> list[pl.Expr]:
        return [pl.col(c).map_elements(r.text, return_dtype=pl.String)
                for c, t in frame.schema.items() if t == pl.String and c not in fixed]

    nodes = nodes.with_columns(
        pl.col("node_id").map_elements(node_id, return_dtype=pl.String),
        mapped("key", key, "node_type", "key"),
        mapped("label", label, "node_type", "key", "label"),
        *texts(nodes, _NODE_FIXED),
    )
    edges = edges.with_columns(pl.col("source").map_elements(node_id, return_dtype=pl.String),
                               pl.col("target").map_elements(node_id, return_dtype=pl.String),
                               *texts(edges, _EDGE_FIXED))
    return nodes, edges


# ------------------------------------------------------------------ writers
def _xml(value: Any) -> Any:
    """Strings made XML-legal (a NUL or an ESC in the data must not break the file); others as they are."""
    return xml_text(value) if isinstance(value, str) else value


def write_graphml(case: Case, path: Path) -> None:
    g = nx.MultiDiGraph(ring_id=_xml(case.ring["ring_id"]))
    for row, props in zip(case.nodes.iter_rows(named=True), properties(case.nodes, _NODE_FIXED)):
        g.add_node(_xml(row["node_id"]), node_type=row["node_type"], key=_xml(row["key"]),
                   label=_xml(row["label"] or ""), **{_xml(k): _xml(v) for k, v in props.items()})
    for row, props in zip(case.edges.iter_rows(named=True), properties(case.edges, _EDGE_FIXED)):
        g.add_edge(_xml(row["source"]), _xml(row["target"]), rel_type=row["rel_type"],
                   **{_xml(k): _xml(v) for k, v in props.items()})
    nx.write_graphml(g, path)


def cypher_script(case: Case) -> str:
    """A cypher-shell script that MERGEs the evidence; values travel as parameters."""
    lines = [f"// Evidence of ring {case.ring['ring_id']} (graphfraud {__version__}).",
             "// Run with: cypher-shell -f subgraph.cypher   (idempotent: MERGE only, safe to run twice)", ""]
    ring_params = {"ring": {"ring_id": case.ring["ring_id"], "ring_type": case.ring["ring_type"],
                            "evidence": case.ring["evidence"], "q_value": case.ring["q_ring"],
                            "reasons": case.ring["reasons"]}}
    lines += [f":param ring => {_cypher_literal(ring_params['ring'])}", "",
              "MERGE (r:Ring {ring_id: $ring.ring_id}) SET r.ring_type = $ring.ring_type, r.evidence = $ring.evidence, "
              "r.q_value = $ring.q_value, r.reasons = $ring.reasons;", ""]
    for node_type, group in case.nodes.group_by("node_type", maintain_order=True):
        label = GRAPH_SCHEMA.node(node_type[0])
        rows = [{"key": k, "props": _clean(p)} for k, p in zip(group["key"].to_list(),
                                                                 properties(group, _NODE_FIXED))]
        lines += [f":param rows => {_cypher_literal(rows)}", "",
                  f"UNWIND $rows AS row MERGE (n:{label.label} {{{label.key}: row.key}}) SET n += row.props;", ""]
    members = case.nodes.filter(pl.col("node_type") == "Account")["key"].to_list()
    lines += [f":param members => {_cypher_literal(members)}", "",
              "MATCH (r:Ring {ring_id: $ring.ring_id}) UNWIND $members AS id "
              "MATCH (a:Account {account_id: id}) SET a:RingMember MERGE (a)-[:MEMBER_OF]->(r);", ""]
    by_type = {nid: t for nid, t in case.nodes.select("node_id", "node_type").iter_rows()}
    for rel, group in case.edges.group_by("rel_type", maintain_order=True):
        g = group.with_columns(pl.col("source").replace_strict(by_type, default=None).alias("st"),
                               pl.col("target").replace_strict(by_type, default=None).alias("tt"))
        for (st, tt), part in g.group_by("st", "tt", maintain_order=True):
            src, dst = GRAPH_SCHEMA.node(st), GRAPH_SCHEMA.node(tt)
            rows = [{"s": s.split(":", 1)[1], "t": t.split(":", 1)[1], "count": int(c or 1)}
                    for s, t, c in part.select("source", "target", "count").iter_rows()]
            lines += [f":param rows => {_cypher_literal(rows)}", "",
                      f"UNWIND $rows AS row MATCH (s:{src.label} {{{src.key}: row.s}}) "
                      f"MATCH (t:{dst.label} {{{dst.key}: row.t}}) "
                      f"MERGE (s)-[e:{GRAPH_SCHEMA.relationship(rel[0]).type}]->(t) SET e.count = row.count;", ""]
    return "\n".join(lines)


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None and not isinstance(v, (dict, list))}


def _cypher_literal(value: Any) -> str:
    """A Cypher map/list literal for a cypher-shell ``:param`` (data only, keys are identifiers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Cypher string literal
    if isinstance(value, dict):
        return "{" + ", ".join(f"`{k}`: {_cypher_literal(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(_cypher_literal(v) for v in value) + "]"


def summary_markdown(case: Case) -> str:
    ring = case.ring
    nodes, edges = case.nodes, case.edges
    md = markdown_text  # every string from the data goes through it
    fdr = case.manifest["detector"]["parameters"]["fdr"]
    out = [f"# Ring {md(ring['ring_id'])} — {md(ring['ring_type'])}", "",
           f"**Evidence {ring['evidence']:.1f}** (−log10 p; q = {ring['q_ring']:.2g}, flagged at FDR {fdr}) — "
           f"{ring['n_accounts']} member accounts, {ring['n_shops']} focus shop(s).", ""]
    if ring.get("type_reason"):
        out += [f"Type: {md(ring['ring_type'])} — {md(ring['type_reason'])}.", ""]
    out += ["## Why it was flagged", ""]
    out += [f"- {md(reason)}" for reason in case.manifest["reasons"]]
    out += ["", "| evidence family | p-value |", "|---|---|"]
    out += [f"| {md(fam)} | {val:.3g} |" for fam, val in case.manifest["families"].items()]
    shared = nodes.filter(pl.col("node_type").is_in(SENSITIVE_TYPES))
    out += ["", "## Key shared identifiers", ""]
    if shared.height:
        users = edges.filter(pl.col("target").is_in(shared["node_id"].implode())).group_by("target").agg(
            pl.len().alias("members"))
        top = shared.join(users, left_on="node_id", right_on="target", how="left").sort("members", descending=True,
                                                                                        nulls_last=True).head(15)
        out += ["| type | identifier | members using it |", "|---|---|---|"]
        out += [f"| {md(t)} | {md(k)} | {m or 0} |"
                for t, k, m in top.select("node_type", "key", "members").iter_rows()]
    else:
        out.append("No identifier is shared inside this ring.")
    out += ["", "## Campaign timeline", ""]
    timeline = _timeline(case)
    names = shop_names(case)
    series = activity_series(case)
    if series["shops"]:
        out.append(f"Per shop: the ring's orders and reviews, and the shop's own traffic from everyone else "
                   f"(days in {md(series['tz'])})." if series["baseline"] else
                   "Per shop: the ring's dated orders and reviews in the evidence (export with the dataset, "
                   "--data DIR, to compare with the shop's own traffic).")
        out += ["", "| shop | first | last | ring orders | ring reviews | ring's busiest day | others that day "
                    "| others, median day |", "|---|---|---|---|---|---|---|---|"]
        for shop in series["shops"]:
            ring_day = [o + r for o, r in zip(shop["ring_orders"], shop["ring_reviews"])]
            active = [d for d, n in zip(shop["days"], ring_day) if n]
            peak = max(range(len(ring_day)), key=lambda i: (ring_day[i], -i))
            if series["baseline"]:
                other = [o + r for o, r in zip(shop["other_orders"], shop["other_reviews"])]
                others, median = str(other[peak]), f"{sorted(other)[len(other) // 2]}"
            else:
                others = median = "–"
            out.append(f"| {md(_shop_cell(shop['merchant_id'], names))} | {active[0]} | {active[-1]} | "
                       f"{sum(shop['ring_orders'])} | {sum(shop['ring_reviews'])} | {shop['days'][peak]}: "
                       f"{ring_day[peak]} | {others} | {median} |")
        if series["more"]:
            out += ["", f"… and {series['more']} more shop(s) with less ring activity."]
    elif timeline.height:
        per_shop = timeline.group_by("merchant").agg(
            pl.len().alias("events"), pl.col("when").min().alias("first"), pl.col("when").max().alias("last"),
            (pl.col("kind") == "review").sum().alias("reviews"), (pl.col("kind") == "order").sum().alias("orders"),
        ).sort("first")
        out += ["| shop | first | last | orders | reviews |", "|---|---|---|---|---|"]
        out += [f"| {md(_shop_cell(m, names))} | {md(first)} | {md(last)} | {o} | {r} |"
                for m, _e, first, last, r, o in per_shop.iter_rows()]
    else:
        out.append("No dated orders or reviews in the evidence.")
    out += ["", "## Sample reviews and template clusters", ""]
    reviews = _reviews(case)
    templated = reviews.filter(pl.col("template").is_not_null())
    if templated.height:
        for cluster, group in templated.group_by("template", maintain_order=True):
            out.append(f"**Template {md(cluster[0])}** — {group.height} reviews, e.g.:")
            out += [f"> {md(t)}" for t in group["text"].drop_nulls().unique(maintain_order=True).head(3)]
            out.append("")
    sample = reviews.filter(pl.col("template").is_null()).head(5)
    if sample.height:
        out.append("Other reviews:")
        out += [f"> ({int(r)}★) {md(t) if t else '(no text)'}" for r, t in sample.select("rating", "text").iter_rows()]
    money = edges.filter(pl.col("rel_type").is_in(["PAID", "FUNDED"]))
    out += ["", "## Money flows", ""]
    if money.height:
        flows = money.group_by("rel_type", "source").agg(pl.len().alias("counterparts"), pl.col("count").sum(),
                                                          pl.col("amount").fill_null(0).sum()).sort(
            "amount", "source", descending=[True, False])
        out += ["| flow | from | counterparts | transfers | amount |", "|---|---|---|---|---|"]
        out += [f"| {md(rel)} | {md(_node_cell(src, names))} | {n} | {c} | {a:,.2f} |"
                for rel, src, n, c, a in flows.iter_rows()]
    else:
        out.append("No money flows in the evidence.")
    out += ["", f"_graphfraud {__version__}; files: {', '.join(CASE_FILES)}._", ""]
    return "\n".join(out)


def shop_names(case: Case) -> dict[str, str]:
    """Shop id → shop name (the id itself when the shop has no name)."""
    shops = case.nodes.filter(pl.col("node_type") == "Merchant")
    return {k: (lab if lab else k) for k, lab in shops.select("key", "label").iter_rows()}


def _shop_cell(key: str, names: dict[str, str]) -> str:
    name = names.get(key, key)
    return name if name == key else f"{short(name, 60)} ({key})"


def _node_cell(node_id: str, names: dict[str, str]) -> str:
    kind, _, key = node_id.partition(":")
    return f"shop {_shop_cell(key, names)}" if kind == "Merchant" else node_id


#: Shops drawn on the timeline and listed in summary.md: the ring's busiest ones (more
#: would make the report long without telling more; the rest are counted).
TIMELINE_SHOPS = 6
_SERIES = ("ring_orders", "ring_reviews", "other_orders", "other_reviews")


def activity_series(case: Case) -> dict[str, Any]:
    """Per-shop daily series for the timeline: from the dataset if given, else from the dated evidence."""
    if case.activity is not None and case.activity.daily.height:
        daily, baseline, tz = case.activity.daily, True, case.activity.tz
    else:
        ev = _timeline(case)
        baseline, tz = False, "UTC"
        if ev.height == 0:
            return {"shops": [], "baseline": False, "tz": tz, "more": 0}
        day = pl.col("when").str.slice(0, 10).str.to_date(strict=False)
        counts = ev.with_columns(day.alias("day")).drop_nulls("day").group_by("merchant", "day").agg(
            (pl.col("kind") == "order").sum().cast(pl.Int64).alias("ring_orders"),
            (pl.col("kind") == "review").sum().cast(pl.Int64).alias("ring_reviews")).rename({"merchant": "merchant_id"})
        if counts.height == 0:
            return {"shops": [], "baseline": False, "tz": tz, "more": 0}
        first, last = counts["day"].min(), counts["day"].max()
        assert isinstance(first, date) and isinstance(last, date)  # a Date column with rows
        days = pl.DataFrame({"day": pl.date_range(first, last, "1d", eager=True)})
        daily = (counts.select("merchant_id").unique().join(days, how="cross")
                 .join(counts, on=["merchant_id", "day"], how="left").fill_null(0)
                 .with_columns(pl.lit(None, pl.Int64).alias("other_orders"),
                               pl.lit(None, pl.Int64).alias("other_reviews"))
                 .sort("merchant_id", "day"))
    totals = (daily.group_by("merchant_id").agg((pl.col("ring_orders") + pl.col("ring_reviews")).sum().alias("n"))
              .filter(pl.col("n") > 0).sort(["n", "merchant_id"], descending=[True, False]))
    names = shop_names(case)
    shops = []
    for mid in totals["merchant_id"].head(TIMELINE_SHOPS):
        part = daily.filter(pl.col("merchant_id") == mid)
        shops.append({"merchant_id": mid, "name": short(names.get(mid, mid), 80),
                      "days": [d.isoformat() for d in part["day"]],
                      **{c: part[c].to_list() for c in _SERIES}})
    return {"shops": shops, "baseline": baseline, "tz": tz, "more": max(0, totals.height - TIMELINE_SHOPS)}


def _reviews(case: Case) -> pl.DataFrame:
    rv = case.nodes.filter(pl.col("node_type") == "Review")
    if rv.height == 0:
        return pl.DataFrame(schema={"node_id": pl.String, "rating": pl.Float64, "text": pl.String,
                                    "template": pl.Int64})
    return rv.select("node_id", "rating", "text", "template")


def _timeline(case: Case) -> pl.DataFrame:
    """Dated reviews and orders with their shop: (kind, node_id, merchant, when)."""
    dated = case.nodes.filter(pl.col("node_type").is_in(["Review", "Order"])).select(
        pl.col("node_type").str.to_lowercase().alias("kind"), "node_id", pl.col("created_at").alias("when"))
    shop = case.edges.filter(pl.col("rel_type").is_in(["ABOUT", "AT"])).select(
        pl.col("source").alias("node_id"),
        pl.col("target").str.split_exact(":", 1).struct.field("field_1").alias("merchant"))
    return dated.join(shop, on="node_id").filter(pl.col("when").is_not_null()).sort("when")


def report_html(case: Case) -> str:
    """One offline HTML file: evidence graph, timeline and tables; all data inline."""
    from ._report_html import TEMPLATE

    payload = {
        "ring": {k: v for k, v in case.ring.items()},
        # The export time stays in manifest.json: the report is byte-identical across exports.
        "manifest": {k: v for k, v in case.manifest.items() if k != "created_at"},
        "nodes": [{**{k: row[k] for k in _NODE_FIXED if k != "ring_id"},
                   "properties": json.dumps(props, ensure_ascii=False)}
                  for row, props in zip(case.nodes.iter_rows(named=True), properties(case.nodes, _NODE_FIXED))],
        "edges": [{**{k: row[k] for k in _EDGE_FIXED if k != "ring_id"}, "count": row["count"],
                   "properties": json.dumps(props, ensure_ascii=False)}
                  for row, props in zip(case.edges.iter_rows(named=True), properties(case.edges, _EDGE_FIXED))],
        "members": case.members.to_dicts(),
        "timeline": _timeline(case).to_dicts(),
        "activity": activity_series(case),
        "shops": shop_names(case),
        "layout": layout(case.nodes, case.edges, seed=case.manifest["detector"].get("seed") or 0).as_dict(),
        "colors": {t.name: t.color for t in GRAPH_SCHEMA.nodes},
    }
    fill = {"__TITLE__": html.escape(f"Ring {case.ring['ring_id']}"), "__DATA__": html_safe_json(payload)}
    # One pass, so a value that happens to read __DATA__ is never itself replaced.
    return re.sub("__TITLE__|__DATA__", lambda m: fill[m.group()], TEMPLATE)


def write_case(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(case.manifest, indent=2, ensure_ascii=False, default=str), "utf-8")
    (folder / "summary.md").write_text(summary_markdown(case), "utf-8")
    (folder / "report.html").write_text(report_html(case), "utf-8")
    # People open these in spreadsheets: formula-like cells are neutralised (textsafe.restore_cells undoes it).
    neutralise_cells(case.nodes).write_csv(folder / "nodes.csv")
    neutralise_cells(case.edges).write_csv(folder / "edges.csv")
    write_graphml(case, folder / "graph.graphml")
    (folder / "subgraph.cypher").write_text(cypher_script(case), "utf-8")
    # The manifest carries its creation time, so it is left out: two exports of one run
    # have identical checksums files.
    sums = [f"{hashlib.sha256((folder / f).read_bytes()).hexdigest()}  {f}" for f in CASE_FILES if f != "manifest.json"]
    (folder / "checksums.sha256").write_text("\n".join(sums) + "\n", "utf-8")
    return folder


def _is_case_folder(path: Path) -> bool:
    try:
        manifest = json.loads((path / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return (path.is_dir() and isinstance(manifest, dict) and "ring_id" in manifest
            and (path / "checksums.sha256").is_file())


def _is_case_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return bool(names) and f"{path.stem}/manifest.json" in names and all(n.startswith(f"{path.stem}/") for n in names)


def clear_for_redacted(to: Path) -> list[Path]:
    """Make ``to`` safe for a redacted export: remove earlier case folders and zips, refuse anything else.

    A redacted bundle next to an earlier unredacted one (a folder, or a ``--zip`` left
    behind) would hand out the raw data with the redacted copy. Files that are not
    graphfraud case files are never deleted: the export stops and names them instead.
    Returns what was removed.
    """
    to = Path(to)
    if not to.exists():
        return []
    if not to.is_dir():
        raise ParameterError(f"--to {to}: not a directory.")
    entries = sorted(to.iterdir())
    foreign = [p for p in entries if not (_is_case_folder(p) if p.is_dir() else p.suffix == ".zip" and _is_case_zip(p))]
    if foreign:
        shown = ", ".join(p.name for p in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ParameterError(
            f"--redact: {to} already holds files that are not graphfraud case files ({shown}). A redacted export "
            "goes into an empty folder, or one that holds only earlier case files (which it then replaces).")
    for p in entries:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return entries


def export_cases(run_dir: Path | RunResult, to: Path, *, ring_ids: list[str] | None = None, top: int | None = None,
                 min_score: float | None = None, redact: bool = False, zip_bundle: bool = False,
                 dataset: Dataset | None = None) -> list[Path]:
    """Write one case folder per selected ring under ``to``; returns the folders (or zips).

    ``dataset`` (the run's input) adds each shop's own traffic to the campaign timeline.
    """
    run = run_dir if isinstance(run_dir, RunResult) else RunResult.read(run_dir)
    redactor = Redactor.from_env() if redact else None
    ids = select_rings(run, ring_ids, top, min_score)
    if not ids and run.rings.height == 0:
        raise RunDirectoryError(f"{run.path}: rings.csv has no ring: nothing was flagged in this run. "
                                "candidates.csv lists the groups tested; 'graphfraud expand' answers for a tip.")
    if not ids:
        raise RunDirectoryError(f"{run.path}: no ring matches the selection; rings.csv has {run.rings.height} "
                                "ring(s). Lower --min-evidence, or name rings with --ring (see rings.csv).")
    if redact:
        clear_for_redacted(Path(to))
    out = []
    for ring_id in ids:
        folder = write_case(build_case(run, ring_id, redactor, dataset), Path(to) / ring_id)
        if zip_bundle:
            archive = folder.with_suffix(".zip")
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(folder.iterdir()):
                    info = zipfile.ZipInfo(f"{ring_id}/{f.name}", date_time=(2020, 1, 1, 0, 0, 0))
                    zf.writestr(info, f.read_bytes(), zipfile.ZIP_DEFLATED)
            out.append(archive)
        else:
            out.append(folder)
    return out
