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
#typeline{margin:8px 0 0;font-size:15px}
#typeline b{background:#F16667;color:#fff;border-radius:4px;padding:1px 8px;margin-right:6px}
main{padding:16px 24px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin-bottom:16px}
h2{font-size:17px;margin:4px 0 10px}
#graphwrap{display:flex;gap:12px}
#graph{flex:1;min-width:0;height:560px;border:1px solid #eee;cursor:grab;background:#fff}
#graph text{font-size:11px;fill:#333;pointer-events:none}
#graph text.col{font-size:13px;font-weight:bold;fill:#546e7a}
#graph text.glabel{font-weight:bold;fill:#b71c1c;pointer-events:auto;cursor:pointer}
#graph .group{cursor:pointer}
#details{width:240px;font-size:13px;overflow:auto;max-height:560px;white-space:pre-wrap;word-break:break-all}
.legend span{display:inline-block;margin-right:12px;font-size:13px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
td,li,#details,#title,#subtitle,#typeline,#footer{unicode-bidi:isolate;overflow-wrap:anywhere}
td{max-width:60em}
th{background:#f3f3f3}
.bar{display:inline-block;height:10px;background:#F16667;vertical-align:middle}
#timeline{width:100%;border:1px solid #eee;background:#fff}
#timeline text{font-size:11px;fill:#333}
#timeline text.shop{font-size:12px;font-weight:bold}
.muted{color:#777;font-size:12px}
@media print{
  @page{size:A4 landscape;margin:12mm}
  body{background:#fff;font-size:11px}
  header{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 6px}
  main{padding:6px 0}
  section{border:none;padding:0;margin-bottom:10px;break-inside:avoid}
  section.long{break-inside:auto}
  .noprint,#details{display:none}
  #graph{border:none;height:auto}
  #typeline b{border:1px solid #000;color:#000;background:#fff}
  tr{break-inside:avoid}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
</style>
</head>
<body>
<header><h1 id="title"></h1><div id="subtitle"></div><p id="typeline"></p></header>
<main>
<section><h2>Why it was flagged</h2><ul id="reasons"></ul><table id="families"></table></section>
<section><h2>Evidence graph</h2>
<div class="legend" id="legend"></div>
<p class="muted noprint">Columns: shops, member accounts, the infrastructure they share, money. Scroll to zoom, drag the background to pan, click a node for its details; click a red group to expand it, its title to fold it again.
<label><input type="checkbox" id="hideItems"> hide individual reviews and orders (show the ring's structure)</label></p>
<div id="graphwrap"><svg id="graph" xmlns="http://www.w3.org/2000/svg"><g id="viewport"></g></svg><div id="details">Click a node.</div></div>
</section>
<section><h2>Campaign timeline</h2><p class="muted" id="timelinenote"></p><svg id="timeline" xmlns="http://www.w3.org/2000/svg"></svg></section>
<section><h2>Shops</h2><table id="shops"></table></section>
<section class="long"><h2>Members</h2><table id="members"></table></section>
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
const tl = document.getElementById("typeline"); const tb = el("b", null, ring.ring_type); tl.appendChild(tb); if (ring.type_reason) tl.appendChild(document.createTextNode(ring.type_reason));
D.manifest.reasons.forEach(r => document.getElementById("reasons").appendChild(el("li", null, r)));
const fam = document.getElementById("families");
Object.entries(D.manifest.families).forEach(([k, v]) => { const tr = el("tr"); tr.appendChild(el("td", null, k)); const td = el("td"); const b = el("span", {class: "bar"}); const e = -Math.log10(Math.max(Number(v), 1e-300)); b.style.width = Math.round(Math.min(300, 3 * e)) + "px"; td.appendChild(b); td.appendChild(document.createTextNode(" p = " + Number(v).toPrecision(2))); tr.appendChild(td); fam.appendChild(tr); });

// ---------------------------------------------------------------- evidence graph
// Positions, labels and groups come from the export (same picture on every view).
const L = D.layout;
const shopName = k => (D.shops[k] !== undefined && D.shops[k] !== k) ? D.shops[k] + " (" + k + ")" : k;
const nodes = D.nodes.map((n, i) => { const p = L.positions[n.node_id] || [0, 0]; return {...n, i, x: p[0], y: p[1], full: n.label, label: L.labels[n.node_id] || n.key, role: props(n.properties).role || "", column: L.roles[n.node_id] || ""}; });
const index = new Map(nodes.map(n => [n.node_id, n]));
const nameOf = n => n.node_type === "Merchant" ? "shop " + shopName(n.key) : n.node_id;
const links = D.edges.map(e => ({...e, s: index.get(e.source), t: index.get(e.target)})).filter(l => l.s && l.t);
const ITEMS = ["Review", "Order"];
const groups = L.groups.map(g => { const p = L.positions[g.id] || [0, 0]; return {...g, x: p[0], y: p[1], open: false}; });
const groupOf = new Map(); groups.forEach(g => g.members.forEach(m => groupOf.set(m, g)));
const svg = document.getElementById("graph"), vp = document.getElementById("viewport");
const edgeLayer = sv("g", {id: "edges"}), nodeLayer = sv("g", {id: "nodes"}); vp.appendChild(edgeLayer); vp.appendChild(nodeLayer);
let hideItems = !!L.items_hidden; document.getElementById("hideItems").checked = hideItems;
const radius = n => n.node_type === "Account" ? 6 : n.node_type === "Merchant" ? 9 : ITEMS.includes(n.node_type) ? 3.5 : 6;
// Column headings: one per role, above the column.
const cols = new Map(); nodes.forEach(n => { if (ITEMS.includes(n.node_type) || groupOf.has(n.node_id)) return; const c = cols.get(n.column) || {x: n.x, y: n.y}; c.x = Math.min(c.x, n.x); c.y = Math.min(c.y, n.y); cols.set(n.column, c); });
groups.forEach(g => { const c = cols.get("members") || {x: g.x, y: g.y}; c.x = Math.min(c.x, g.x); c.y = Math.min(c.y, g.y); cols.set("members", c); });
const colTop = Math.min(...[...cols.values()].map(c => c.y)) - 34;
cols.forEach((c, role) => { const t = sv("text", {x: c.x - 8, y: colTop, class: "col"}); t.textContent = role; nodeLayer.appendChild(t); });
function details(lines) { document.getElementById("details").textContent = lines.join("\n"); }
const drawn = new Map();
nodes.forEach(n => {
  const c = sv("circle", {cx: n.x, cy: n.y, r: radius(n), fill: D.colors[n.node_type] || "#999", stroke: "#fff", "stroke-width": 1, class: "node", "data-type": n.node_type, "data-id": n.node_id});
  c.addEventListener("click", ev => { ev.stopPropagation(); const p = props(n.properties); const lines = [n.node_type + "  " + n.key, n.full && n.full !== n.key ? n.full : "", ""]; if (n.role) lines.push("role: " + n.role); Object.entries(p).forEach(([k, v]) => lines.push(k + ": " + v)); const deg = links.filter(l => l.s === n || l.t === n); lines.push("", deg.length + " relationship(s):"); deg.slice(0, 40).forEach(l => lines.push(" " + l.rel_type + " " + (l.s === n ? "→ " + nameOf(l.t) : "← " + nameOf(l.s)) + (l.count > 1 ? " ×" + l.count : ""))); details(lines); });
  const title = sv("title", {}); title.textContent = n.node_type + " " + n.key + (n.full && n.full !== n.key ? " — " + n.full : ""); c.appendChild(title);
  let t = null;
  if (!ITEMS.includes(n.node_type)) { t = sv("text", {x: n.x + radius(n) + 4, y: n.y + 4, class: "label"}); t.textContent = n.label; }
  drawn.set(n.node_id, {c, t});
});
groups.forEach(g => {
  const c = sv("circle", {cx: g.x, cy: g.y, r: Math.min(16, 6 + Math.sqrt(g.members.length) * 1.5), fill: D.colors.Account || "#4C8EDA", stroke: "#b71c1c", "stroke-width": 2.5, class: "group", "data-group": g.id, "data-size": g.members.length});
  const title = sv("title", {}); title.textContent = g.label + " — click to expand"; c.appendChild(title);
  const t = sv("text", {x: g.x + 20, y: g.y + 4, class: "glabel", "data-group": g.id}); t.textContent = g.label;
  c.addEventListener("click", ev => { ev.stopPropagation(); g.open = true; raise(g); redraw(); details([g.label, "", ...g.members.map(m => index.get(m).label)]); });
  t.addEventListener("click", ev => { ev.stopPropagation(); g.open = !g.open; redraw(); });
  g.c = c; g.t = t;
});
// Paint order: groups and member circles above edges; labels last.
groups.forEach(g => nodeLayer.appendChild(g.c));
nodes.filter(n => !ITEMS.includes(n.node_type)).forEach(n => nodeLayer.appendChild(drawn.get(n.node_id).c));
nodes.filter(n => ITEMS.includes(n.node_type)).forEach(n => nodeLayer.appendChild(drawn.get(n.node_id).c));
nodes.forEach(n => { const t = drawn.get(n.node_id).t; if (t) nodeLayer.appendChild(t); });
groups.forEach(g => nodeLayer.appendChild(g.t));
// An opened group is drawn as a panel on top: a white card, then its members, then its title.
function raise(g) {
  const ms = g.members.map(m => index.get(m)); const xs = ms.map(n => n.x), ys = ms.map(n => n.y);
  if (!g.card) { g.card = sv("rect", {x: Math.min(...xs) - 12, y: Math.min(...ys) - 24, width: Math.max(...xs) - Math.min(...xs) + 120, height: Math.max(...ys) - Math.min(...ys) + 34, rx: 6, fill: "#fff", "fill-opacity": 0.96, stroke: "#b71c1c", "stroke-width": 1, class: "card"}); }
  nodeLayer.appendChild(g.card);
  ms.forEach(n => { const d = drawn.get(n.node_id); nodeLayer.appendChild(d.c); if (d.t) nodeLayer.appendChild(d.t); });
  nodeLayer.appendChild(g.t);
}
function shown(n) { if (ITEMS.includes(n.node_type)) return !hideItems; const g = groupOf.get(n.node_id); return !g || g.open; }
function rep(n) { if (ITEMS.includes(n.node_type) && hideItems) return null; const g = groupOf.get(n.node_id); return g && !g.open ? g : n; }
function redraw() {
  nodes.forEach(n => { const d = drawn.get(n.node_id); const v = shown(n) ? "" : "none"; d.c.style.display = v; if (d.t) d.t.style.display = v; });
  groups.forEach(g => { g.c.style.display = g.open ? "none" : ""; if (g.card) g.card.style.display = g.open ? "" : "none"; g.t.textContent = g.open ? "▾ " + g.label + " (fold)" : g.label; const ys = g.members.map(m => index.get(m).y); g.t.setAttribute("y", g.open ? Math.min(...ys) - 10 : g.y + 4); g.t.setAttribute("x", g.open ? g.x - 6 : g.x + 20); });
  while (edgeLayer.firstChild) edgeLayer.removeChild(edgeLayer.firstChild);
  const agg = new Map();
  links.forEach(l => { const a = rep(l.s), b = rep(l.t); if (!a || !b || a === b) return; const k = (a.node_id || a.id) + "|" + (b.node_id || b.id); const e = agg.get(k) || {a, b, n: 0, rel: l.rel_type}; e.n += (l.count || 1); agg.set(k, e); });
  agg.forEach(e => edgeLayer.appendChild(sv("line", {x1: e.a.x, y1: e.a.y, x2: e.b.x, y2: e.b.y, stroke: e.rel === "PAID" || e.rel === "FUNDED" ? "#e0a800" : "#c5cad3", "stroke-opacity": 0.8, "stroke-width": Math.min(4, 0.6 + Math.log(1 + e.n) * 0.6), "data-rel": e.rel})));
}
redraw();
const types = [...new Set(nodes.map(n => n.node_type))];
types.forEach(t => { const s = el("span"); const i = el("i"); i.style.background = D.colors[t] || "#999"; s.appendChild(i); s.appendChild(document.createTextNode(t + " (" + nodes.filter(n => n.node_type === t).length + ")")); document.getElementById("legend").appendChild(s); });
if (groups.length) { const s = el("span"); const i = el("i"); i.style.background = D.colors.Account || "#4C8EDA"; i.style.border = "2px solid #b71c1c"; s.appendChild(i); s.appendChild(document.createTextNode("group of accounts (" + groups.length + "; click to expand)")); document.getElementById("legend").appendChild(s); }
document.getElementById("hideItems").addEventListener("change", ev => { hideItems = ev.target.checked; redraw(); });
let view = {x: 0, y: 0, k: 1};
(function fit() {
  const pts = nodes.filter(n => !ITEMS.includes(n.node_type) || !hideItems).map(n => [n.x, n.y]).concat(groups.map(g => [g.x, g.y]));
  if (!pts.length) return; const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  const minx = Math.min(...xs) - 20, maxx = Math.max(...xs) + 190, miny = Math.min(...ys) - 50, maxy = Math.max(...ys) + 20;
  const w = svg.clientWidth || 800;
  view.k = Math.min(1.2, w / (maxx - minx));
  // Tall rings get a taller panel rather than unreadably small labels.
  const h = Math.max(300, Math.min(1400, (maxy - miny) * view.k)); svg.style.height = h + "px";
  view.k = Math.min(view.k, h / (maxy - miny));
  view.x = w / 2 - view.k * (minx + maxx) / 2; view.y = h / 2 - view.k * (miny + maxy) / 2;
})();
function apply() { vp.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")"); }
apply();
svg.addEventListener("wheel", ev => { ev.preventDefault(); const f = ev.deltaY < 0 ? 1.15 : 1 / 1.15; const r = svg.getBoundingClientRect(); const mx = ev.clientX - r.left, my = ev.clientY - r.top; view.x = mx - (mx - view.x) * f; view.y = my - (my - view.y) * f; view.k *= f; apply(); }, {passive: false});
let drag = null;
svg.addEventListener("mousedown", ev => { drag = {x: ev.clientX - view.x, y: ev.clientY - view.y}; });
window.addEventListener("mousemove", ev => { if (drag) { view.x = ev.clientX - drag.x; view.y = ev.clientY - drag.y; apply(); } });
window.addEventListener("mouseup", () => { drag = null; });

// ---------------------------------------------------------------- timeline
// Daily series computed by the export: the ring's orders and reviews against the shop's own traffic.
(function timeline() {
  const t = document.getElementById("timeline"); const A = D.activity;
  document.getElementById("timelinenote").textContent = A.baseline
    ? "One chart per shop (days in " + A.tz + "): red bars are the ring's orders (dark) and reviews (light) per day; the grey area is everyone else's orders and reviews at that shop, its own baseline." + (A.more ? " " + A.more + " more shop(s) with less ring activity are not drawn." : "")
    : "One chart per shop: the ring's dated orders (dark) and reviews (light) per day in the evidence. The shop's own baseline needs the dataset (graphfraud export --data DIR)." + (A.more ? " " + A.more + " more shop(s) not drawn." : "");
  if (!A.shops.length) { t.setAttribute("height", 30); const tx = sv("text", {x: 10, y: 20}); tx.textContent = "No dated orders or reviews."; t.appendChild(tx); return; }
  const W = 1000, left = 46, right = 12, H = 118, plotH = 70, padTop = 22;
  const nd = A.shops[0].days.length;
  t.setAttribute("viewBox", "0 0 " + W + " " + (A.shops.length * H + 24)); t.setAttribute("height", A.shops.length * H + 24);
  const steps = [1, 2, 7, 14, 28, 56, 91, 182, 364]; const step = steps.find(s => nd / s <= 12) || 364;
  A.shops.forEach((s, i) => {
    const g = sv("g", {class: "chart", "data-shop": s.merchant_id}); t.appendChild(g);
    const y0 = i * H + padTop, base = y0 + plotH, n = s.days.length, bw = (W - left - right) / n;
    const ring = s.days.map((_, j) => s.ring_orders[j] + s.ring_reviews[j]);
    const other = A.baseline ? s.days.map((_, j) => s.other_orders[j] + s.other_reviews[j]) : [];
    const ymax = Math.max(1, ...ring, ...other);
    const X = j => left + j * bw, Y = v => base - plotH * v / ymax;
    const head = sv("text", {x: left, y: y0 - 7, class: "shop"}); head.textContent = shopName(s.merchant_id) + " — ring: " + s.ring_orders.reduce((a, b) => a + b, 0) + " orders, " + s.ring_reviews.reduce((a, b) => a + b, 0) + " reviews"; g.appendChild(head);
    if (A.baseline) { let d = "M" + X(0) + "," + base; other.forEach((v, j) => { d += " L" + X(j) + "," + Y(v) + " L" + (X(j) + bw) + "," + Y(v); }); d += " L" + X(n) + "," + base + " Z"; g.appendChild(sv("path", {d, fill: "#cfd8dc", stroke: "#90a4ae", "stroke-width": 0.8, class: "baseline"})); }
    s.days.forEach((day, j) => {
      const o = s.ring_orders[j], r = s.ring_reviews[j]; if (!o && !r) return;
      const w = Math.max(1.5, bw * 0.7), x = X(j) + (bw - w) / 2;
      // At least 2 px: a ring's 1 order next to a shop's 50 a day must still be seen.
      const ho = o ? Math.max(2, base - Y(o)) : 0, hr = r ? Math.max(2, Y(o) - Y(o + r)) : 0;
      if (o) g.appendChild(sv("rect", {x, y: base - ho, width: w, height: ho, fill: "#b71c1c", class: "mark", "data-day": day, "data-kind": "order", "data-n": o}));
      if (r) g.appendChild(sv("rect", {x, y: base - ho - hr, width: w, height: hr, fill: "#F16667", class: "mark", "data-day": day, "data-kind": "review", "data-n": r}));
    });
    g.appendChild(sv("line", {x1: left, x2: W - right, y1: base, y2: base, stroke: "#555"}));
    g.appendChild(sv("line", {x1: left, x2: left, y1: y0, y2: base, stroke: "#555"}));
    [0, ymax].forEach(v => { const ty = sv("text", {x: left - 5, y: Y(v) + 4, "text-anchor": "end", class: "ytick"}); ty.textContent = String(v); g.appendChild(ty); });
    s.days.forEach((day, j) => {
      if (j % step) return;
      g.appendChild(sv("line", {x1: X(j) + bw / 2, x2: X(j) + bw / 2, y1: base, y2: base + 4, stroke: "#555"}));
      const tx = sv("text", {x: X(j) + bw / 2, y: base + 15, "text-anchor": "middle", class: "tick", "data-date": day});
      tx.textContent = j === 0 || day.slice(5) === "01-01" ? day : day.slice(5); g.appendChild(tx);
    });
  });
  const keys = [["#b71c1c", "ring orders"], ["#F16667", "ring reviews"]].concat(A.baseline ? [["#cfd8dc", "the shop's other orders and reviews"]] : []);
  let kx = left; const ky = A.shops.length * H + 18;
  keys.forEach(([color, text]) => { t.appendChild(sv("rect", {x: kx, y: ky - 9, width: 10, height: 10, fill: color})); const k = sv("text", {x: kx + 14, y: ky}); k.textContent = text; t.appendChild(k); kx += 24 + 6.2 * text.length; });
  const unit = sv("text", {x: kx, y: ky, class: "muted"}); unit.textContent = "(count per day)"; t.appendChild(unit);
})();

// ---------------------------------------------------------------- tables
table("shops", ["shop", "id", "role", "ring orders", "ring reviews"], nodes.filter(n => n.node_type === "Merchant").map(n => { const inc = links.filter(l => l.t === n && l.s.node_type === "Account"); const sum = rel => inc.filter(l => l.rel_type === rel).reduce((a, l) => a + (l.count || 1), 0); return [D.shops[n.key] || n.key, n.key, n.role || "", sum("ORDERED"), sum("REVIEWED")]; }).sort((a, b) => (b[3] + b[4]) - (a[3] + a[4])));
table("members", ["account", "nickname", "group", "own evidence (−log10 p)", "focus visits", "ties", "registered"], D.members.map(m => { const n = index.get("Account:" + m.account_id); const g = groupOf.get("Account:" + m.account_id); return [m.account_id, n && n.label !== m.account_id ? n.label : "", g ? g.label : "", m.member_evidence, m.focus_visits, m.ties || "", n ? props(n.properties).created_at : ""]; }));
const sensitive = ["Device", "IP", "PaymentAccount", "Address", "Phone"];
table("identifiers", ["type", "identifier", "members using it"], nodes.filter(n => sensitive.includes(n.node_type) && links.some(l => l.t === n && l.s.node_type === "Account")).map(n => [n.node_type, n.key, links.filter(l => l.t === n && l.s.node_type === "Account").length]).sort((a, b) => b[2] - a[2]));
const reviews = nodes.filter(n => n.node_type === "Review").map(n => ({...props(n.properties), id: n.key}));
const clusters = new Map(); reviews.filter(r => r.template !== null && r.template !== undefined).forEach(r => { if (!clusters.has(r.template)) clusters.set(r.template, []); clusters.get(r.template).push(r); });
table("texts", ["template", "reviews", "example texts"], [...clusters.entries()].sort((a, b) => b[1].length - a[1].length).map(([k, rs]) => [k, rs.length, [...new Set(rs.map(r => r.text))].slice(0, 3).join(" ｜ ")]));
const who = n => n.node_type === "Merchant" ? "shop " + shopName(n.key) : n.node_type === "Account" ? n.label : n.key;
table("money", ["flow", "from", "to", "transfers", "amount"], links.filter(l => l.rel_type === "PAID" || l.rel_type === "FUNDED").map(l => [l.rel_type, who(l.s), who(l.t), l.count, props(l.properties).amount]));
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
