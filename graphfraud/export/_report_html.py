"""The offline HTML report template: vanilla JS and SVG, no external resource.

The data sits in a ``<script type="application/json">`` block (HTML-safe JSON, see
:func:`graphfraud.textsafe.html_safe_json`) and is put on the page with ``textContent``
and ``setAttribute`` only. The Content-Security-Policy allows exactly one script, the
report's own (by its SHA-256), so even markup that slipped into the page could not run:
no inline handler, no ``javascript:`` URL, no injected ``<script>``.
"""

import base64
import hashlib
import re

_PAGE = r"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src '__SCRIPT_HASH__'; img-src data:; base-uri 'none'; form-action 'none'">
<title>__TITLE__</title>
<style>
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:16px 24px;background:#263238;color:#fff}
header h1{margin:0 0 6px;font-size:22px}
main{padding:16px 24px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin-bottom:16px}
h2{font-size:17px;margin:4px 0 10px}
#graphwrap{display:flex;gap:12px}
#graph{flex:1;height:560px;border:1px solid #eee;cursor:grab;background:#fff}
#details{width:300px;font-size:13px;overflow:auto;max-height:560px;white-space:pre-wrap;word-break:break-all}
.legend span{display:inline-block;margin-right:12px;font-size:13px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
td,li,#details,#title,#subtitle,#footer{unicode-bidi:isolate;overflow-wrap:anywhere}
td{max-width:60em}
th{background:#f3f3f3}
.bar{display:inline-block;height:10px;background:#F16667;vertical-align:middle}
#timeline{width:100%;border:1px solid #eee;background:#fff}
.muted{color:#777;font-size:12px}
</style>
</head>
<body>
<header><h1 id="title"></h1><div id="subtitle"></div></header>
<main>
<section><h2>Why it was flagged</h2><ul id="reasons"></ul><table id="families"></table></section>
<section><h2>Evidence graph</h2>
<div class="legend" id="legend"></div>
<p class="muted">Scroll to zoom, drag the background to pan, click a node for its details.
<label><input type="checkbox" id="hideItems"> hide individual reviews and orders (show the ring's structure)</label></p>
<div id="graphwrap"><svg id="graph" xmlns="http://www.w3.org/2000/svg"><g id="viewport"></g></svg><div id="details">Click a node.</div></div>
</section>
<section><h2>Campaign timeline</h2><p class="muted">One row per shop; each mark is an order or a review of the ring's members. Bursts show as tight clusters.</p><svg id="timeline" xmlns="http://www.w3.org/2000/svg"></svg></section>
<section><h2>Members</h2><table id="members"></table></section>
<section><h2>Shared identifiers</h2><table id="identifiers"></table></section>
<section><h2>Text clusters</h2><table id="texts"></table></section>
<section><h2>Money flows</h2><table id="money"></table></section>
<p class="muted" id="footer"></p>
</main>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const SVGNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) { const e = document.createElement(tag); if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }
function sv(tag, attrs) { const e = document.createElementNS(SVGNS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }
function props(s) { try { return JSON.parse(s || "{}"); } catch (e) { return {}; } }
function table(id, head, rows) {
  const t = document.getElementById(id); const tr = el("tr"); head.forEach(h => tr.appendChild(el("th", null, h))); t.appendChild(tr);
  if (!rows.length) { const r = el("tr"); const c = el("td", null, "none"); c.colSpan = head.length; r.appendChild(c); t.appendChild(r); return; }
  rows.forEach(row => { const r = el("tr"); row.forEach(v => r.appendChild(el("td", null, v === null || v === undefined ? "" : String(v)))); t.appendChild(r); });
}
const ring = D.ring;
document.getElementById("title").textContent = "Ring " + ring.ring_id + " — " + ring.ring_type;
document.getElementById("subtitle").textContent = ring.n_accounts + " member accounts · " + ring.n_shops + " focus shop(s) · evidence " + Number(ring.evidence).toFixed(1) + " (−log10 p), q = " + Number(ring.q_ring).toPrecision(2) + (D.manifest.redacted ? " · identifiers redacted" : "");
D.manifest.reasons.forEach(r => document.getElementById("reasons").appendChild(el("li", null, r)));
const fam = document.getElementById("families");
Object.entries(D.manifest.families).forEach(([k, v]) => { const tr = el("tr"); tr.appendChild(el("td", null, k)); const td = el("td"); const b = el("span", {class: "bar"}); const e = -Math.log10(Math.max(Number(v), 1e-300)); b.style.width = Math.round(Math.min(300, 3 * e)) + "px"; td.appendChild(b); td.appendChild(document.createTextNode(" p = " + Number(v).toPrecision(2))); tr.appendChild(td); fam.appendChild(tr); });

// ---------------------------------------------------------------- evidence graph
const nodes = D.nodes.map((n, i) => ({...n, i, x: Math.cos(i) * 200 + Math.random() * 10, y: Math.sin(i) * 200 + Math.random() * 10, vx: 0, vy: 0}));
const index = new Map(nodes.map(n => [n.node_id, n]));
const links = D.edges.map(e => ({...e, s: index.get(e.source), t: index.get(e.target)})).filter(l => l.s && l.t);
(function layout() {
  const n = nodes.length, k = 60, iters = n > 400 ? 150 : 300;
  for (let it = 0; it < iters; it++) {
    const cool = 1 - it / iters;
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) {
      const A = nodes[a], B = nodes[b]; let dx = A.x - B.x, dy = A.y - B.y; let d2 = dx * dx + dy * dy + 0.01;
      if (d2 > 250000) continue; const f = k * k / d2; A.vx += dx * f; A.vy += dy * f; B.vx -= dx * f; B.vy -= dy * f;
    }
    links.forEach(l => { const dx = l.t.x - l.s.x, dy = l.t.y - l.s.y; const d = Math.sqrt(dx * dx + dy * dy) + 0.01; const f = (d - k) / d * 0.05; l.s.vx += dx * f; l.s.vy += dy * f; l.t.vx -= dx * f; l.t.vy -= dy * f; });
    nodes.forEach(p => { p.vx -= p.x * 0.002; p.vy -= p.y * 0.002; const sp = Math.sqrt(p.vx * p.vx + p.vy * p.vy); const lim = 20 * cool + 1; if (sp > lim) { p.vx *= lim / sp; p.vy *= lim / sp; } p.x += p.vx; p.y += p.vy; p.vx *= 0.5; p.vy *= 0.5; });
  }
})();
const svg = document.getElementById("graph"), vp = document.getElementById("viewport");
links.forEach(l => vp.appendChild(sv("line", {x1: l.s.x, y1: l.s.y, x2: l.t.x, y2: l.t.y, stroke: "#bbb", "stroke-width": Math.min(4, 0.6 + Math.log(1 + (l.count || 1))), "data-rel": l.rel_type})));
nodes.forEach(n => {
  const c = sv("circle", {cx: n.x, cy: n.y, r: n.node_type === "Account" ? 7 : n.node_type === "Merchant" ? 9 : 5, fill: D.colors[n.node_type] || "#999", stroke: "#fff", "stroke-width": 1, class: "node", "data-type": n.node_type});
  c.addEventListener("click", ev => { ev.stopPropagation(); const p = props(n.properties); const lines = [n.node_type + "  " + n.key, ""]; Object.entries(p).forEach(([k, v]) => lines.push(k + ": " + v)); const deg = links.filter(l => l.s === n || l.t === n); lines.push("", deg.length + " relationship(s):"); deg.slice(0, 40).forEach(l => lines.push(" " + l.rel_type + " " + (l.s === n ? "→ " + l.t.node_id : "← " + l.s.node_id) + (l.count > 1 ? " ×" + l.count : ""))); document.getElementById("details").textContent = lines.join("\n"); });
  const title = sv("title", {}); title.textContent = n.node_type + " " + n.key + (n.label && n.label !== n.key ? " — " + n.label : ""); c.appendChild(title); vp.appendChild(c);
});
const types = [...new Set(nodes.map(n => n.node_type))];
types.forEach(t => { const s = el("span"); const i = el("i"); i.style.background = D.colors[t] || "#999"; s.appendChild(i); s.appendChild(document.createTextNode(t + " (" + nodes.filter(n => n.node_type === t).length + ")")); document.getElementById("legend").appendChild(s); });
document.getElementById("hideItems").addEventListener("change", ev => {
  const hide = ev.target.checked, items = ["Review", "Order"];
  vp.querySelectorAll("circle.node").forEach(c => { c.style.display = hide && items.includes(c.getAttribute("data-type")) ? "none" : ""; });
  vp.querySelectorAll("line").forEach((l, i) => { const e = links[i]; l.style.display = hide && (items.includes(e.s.node_type) || items.includes(e.t.node_type)) ? "none" : ""; });
});
let view = {x: 0, y: 0, k: 1};
(function fit() { if (!nodes.length) return; const xs = nodes.map(n => n.x), ys = nodes.map(n => n.y); const w = svg.clientWidth || 800, h = svg.clientHeight || 560; const minx = Math.min(...xs), maxx = Math.max(...xs), miny = Math.min(...ys), maxy = Math.max(...ys); view.k = 0.9 * Math.min(w / (maxx - minx + 1), h / (maxy - miny + 1)); view.x = w / 2 - view.k * (minx + maxx) / 2; view.y = h / 2 - view.k * (miny + maxy) / 2; })();
function apply() { vp.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")"); }
apply();
svg.addEventListener("wheel", ev => { ev.preventDefault(); const f = ev.deltaY < 0 ? 1.15 : 1 / 1.15; const r = svg.getBoundingClientRect(); const mx = ev.clientX - r.left, my = ev.clientY - r.top; view.x = mx - (mx - view.x) * f; view.y = my - (my - view.y) * f; view.k *= f; apply(); }, {passive: false});
let drag = null;
svg.addEventListener("mousedown", ev => { drag = {x: ev.clientX - view.x, y: ev.clientY - view.y}; });
window.addEventListener("mousemove", ev => { if (drag) { view.x = ev.clientX - drag.x; view.y = ev.clientY - drag.y; apply(); } });
window.addEventListener("mouseup", () => { drag = null; });

// ---------------------------------------------------------------- timeline
(function timeline() {
  const t = document.getElementById("timeline"); const ev = D.timeline;
  if (!ev.length) { t.setAttribute("height", 30); const tx = sv("text", {x: 10, y: 20}); tx.textContent = "No dated orders or reviews."; t.appendChild(tx); return; }
  const shops = [...new Set(ev.map(e => e.merchant))]; const times = ev.map(e => Date.parse(e.when));
  const t0 = Math.min(...times), t1 = Math.max(...times) + 1; const W = 1000, left = 110, row = 18;
  t.setAttribute("viewBox", "0 0 " + W + " " + (shops.length * row + 30)); t.setAttribute("height", shops.length * row + 30);
  shops.forEach((s, i) => { const tx = sv("text", {x: 4, y: i * row + 13, "font-size": 11}); tx.textContent = s; t.appendChild(tx); t.appendChild(sv("line", {x1: left, x2: W - 5, y1: i * row + 9, y2: i * row + 9, stroke: "#eee"})); });
  ev.forEach((e, j) => { const x = left + (W - left - 10) * (times[j] - t0) / (t1 - t0); const y = shops.indexOf(e.merchant) * row + 9; t.appendChild(sv(e.kind === "review" ? "circle" : "rect", e.kind === "review" ? {cx: x, cy: y, r: 3, fill: D.colors.Review, class: "mark"} : {x: x - 2.5, y: y - 2.5, width: 5, height: 5, fill: "#8d6e63", class: "mark"})); });
  const lab = sv("text", {x: left, y: shops.length * row + 24, "font-size": 11}); lab.textContent = new Date(t0).toISOString().slice(0, 10) + " → " + new Date(t1).toISOString().slice(0, 10) + "   ● review  ■ order"; t.appendChild(lab);
})();

// ---------------------------------------------------------------- tables
table("members", ["account", "own evidence (−log10 p)", "focus visits", "ties", "registered"], D.members.map(m => { const n = index.get("Account:" + m.account_id); return [m.account_id, m.member_evidence, m.focus_visits, m.ties || "", n ? props(n.properties).created_at : ""]; }));
const sensitive = ["Device", "IP", "PaymentAccount", "Address", "Phone"];
table("identifiers", ["type", "identifier", "members using it"], nodes.filter(n => sensitive.includes(n.node_type) && links.some(l => l.t === n && l.s.node_type === "Account")).map(n => [n.node_type, n.key, links.filter(l => l.t === n && l.s.node_type === "Account").length]).sort((a, b) => b[2] - a[2]));
const reviews = nodes.filter(n => n.node_type === "Review").map(n => ({...props(n.properties), id: n.key}));
const clusters = new Map(); reviews.filter(r => r.template !== null && r.template !== undefined).forEach(r => { if (!clusters.has(r.template)) clusters.set(r.template, []); clusters.get(r.template).push(r); });
table("texts", ["template", "reviews", "example texts"], [...clusters.entries()].sort((a, b) => b[1].length - a[1].length).map(([k, rs]) => [k, rs.length, [...new Set(rs.map(r => r.text))].slice(0, 3).join(" ｜ ")]));
table("money", ["flow", "from", "to", "transfers", "amount"], links.filter(l => l.rel_type === "PAID" || l.rel_type === "FUNDED").map(l => [l.rel_type, l.s.key, l.t.key, l.count, props(l.properties).amount]));
document.getElementById("footer").textContent = "graphfraud " + D.manifest.graphfraud_version + " · detection run " + D.manifest.run_created_at + " · detector seed " + D.manifest.detector.seed;
document.body.setAttribute("data-ready", "1");
</script>
</body>
</html>
"""


def _script_hash(page: str) -> str:
    """CSP source for the page's one executable script (the last ``<script>`` element)."""
    body = re.findall(r"<script>(.*?)</script>", page, re.S)[-1]
    return "sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()


TEMPLATE = _PAGE.replace("__SCRIPT_HASH__", _script_hash(_PAGE))
