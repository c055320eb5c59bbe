"""The evidence graph's picture, computed once in Python and stored in the report.

The report must show the same picture on every view and to every reader, so positions
are computed here (igraph) and written into the report's data; the browser only draws
them. Nodes are placed in columns by role — shops, members, shared infrastructure,
money — with igraph's layered (Sugiyama) layout ordering each column to keep links
short. Reviews and orders are not laid out with the structure: they sit in a block next
to their shop and are hidden by default in large rings (the timeline and the tables
show them).

Large rings are summarised: when a ring has more than :data:`COLLAPSE_AT` members,
members that share the same piece of infrastructure (their most-shared device, IP,
phone, address or payment account) are drawn as one group node, "37 accounts on
device D-…", which expands on click. Members without such a tie are grouped by the
shop they visited most.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import igraph as ig
import polars as pl

__all__ = ["COLLAPSE_AT", "GROUP_MIN", "ROLES", "Layout", "layout"]

#: Members above which the graph is summarised: about as many labelled rows as fit in
#: one column of the 560 px graph panel at a readable 11 px label size.
COLLAPSE_AT = 30
#: Smallest group drawn as one node (two accounts read as easily as their group).
GROUP_MIN = 3
#: Reviews and orders above which they start hidden (the structure stays readable).
ITEMS_SHOWN_AT = 60
#: Column of each node type, left to right, and the role it is grouped under.
ROLES = {"Merchant": (0, "shops"), "Account": (1, "members"), "Device": (2, "shared infrastructure"),
         "IP": (2, "shared infrastructure"), "Phone": (2, "shared infrastructure"),
         "Address": (2, "shared infrastructure"), "PaymentAccount": (3, "money")}
_ITEMS = ("Review", "Order")
#: Pixel grid of the stored positions: a column leaves room for a 22-character label at 11 px.
_COL_W, _ROW_H, _ITEM_GAP = 250.0, 22.0, 9.0
_LABEL_MAX = 22
_KIND_WORD = {"Device": "device", "IP": "IP", "Phone": "phone", "Address": "address",
              "PaymentAccount": "payment account", "Merchant": "shop"}
_SHORT_WORD = {"PaymentAccount": "payment"}


@dataclass(frozen=True)
class Layout:
    """Positions and summary groups of one ring's evidence graph (JSON-ready)."""

    positions: dict[str, list[float]]
    labels: dict[str, str]
    roles: dict[str, str]
    groups: list[dict[str, Any]]
    items_hidden: bool
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {"positions": self.positions, "labels": self.labels, "roles": self.roles, "groups": self.groups,
                "items_hidden": self.items_hidden, "method": self.method}


def short(text: str | None, n: int = _LABEL_MAX) -> str:
    """A label cut to ``n`` characters (a 1 MB shop name must not become a 1 MB SVG text)."""
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def node_label(node_type: str, key: str | None, label: str | None) -> str:
    """What a node is called on the picture: nickname or id, shop name, "device D-…"."""
    if node_type == "Account":
        return short(label or key)
    if node_type == "Merchant":
        return short(label or key)
    if node_type in _KIND_WORD:
        # The id's own characters matter more than the kind's name: never cut them for the word.
        return f"{_SHORT_WORD.get(node_type, _KIND_WORD[node_type])} {short(key, 16)}"
    if node_type == "Review":
        return short(label or "review")
    return short(f"order {key}")


def _groups(nodes: pl.DataFrame, edges: pl.DataFrame, labels: dict[str, str]) -> list[dict[str, Any]]:
    """Members summarised by their most-shared infrastructure, then by their main shop."""
    members = nodes.filter(pl.col("node_type") == "Account")["node_id"].to_list()
    if len(members) <= COLLAPSE_AT:
        return []
    types = dict(nodes.select("node_id", "node_type").iter_rows())
    member_set = set(members)
    infra = edges.filter(pl.col("source").is_in(members) & pl.col("target").is_in(
        [n for n, t in types.items() if t in ROLES and t not in ("Account", "Merchant")]))
    use = infra.group_by("target").agg(pl.col("source").n_unique().alias("users"))
    # Each member's most-shared identifier; ties broken by id so the grouping is reproducible.
    best = (infra.select("source", "target").unique().join(use, on="target")
            .sort(["source", "users", "target"], descending=[False, True, False])
            .group_by("source", maintain_order=True).first())
    shops = (edges.filter(pl.col("source").is_in(members) & pl.col("rel_type").is_in(["REVIEWED", "ORDERED"]))
             .group_by("source", "target").agg(pl.col("count").fill_null(1).sum())
             .sort(["source", "count", "target"], descending=[False, True, False])
             .group_by("source", maintain_order=True).first())
    by_key: dict[str, list[str]] = {}
    assigned = dict(best.select("source", "target").iter_rows())
    for m in members:
        if m in assigned:
            by_key.setdefault(assigned[m], []).append(m)
    loose = [m for m in members if m not in assigned or len(by_key.get(assigned[m], [])) < GROUP_MIN]
    by_key = {k: v for k, v in by_key.items() if len(v) >= GROUP_MIN}
    main_shop = dict(shops.select("source", "target").iter_rows())
    by_shop: dict[str, list[str]] = {}
    for m in loose:
        if m in main_shop:
            by_shop.setdefault(main_shop[m], []).append(m)
    out: list[dict[str, Any]] = []
    for key, ms in sorted(by_key.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        kind = types[key]
        out.append({"id": f"group:{key}", "members": sorted(ms), "via": key,
                    "label": f"{len(ms)} accounts on {_KIND_WORD[kind]} {short(key.split(':', 1)[1], 18)}"})
    for key, ms in sorted(by_shop.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(ms) >= GROUP_MIN:
            out.append({"id": f"group:{key}", "members": sorted(ms), "via": key,
                        "label": f"{len(ms)} accounts mostly at {short(labels.get(key, key), 18)}"})
    assert all(set(g["members"]) <= member_set for g in out)
    return out


def layout(nodes: pl.DataFrame, edges: pl.DataFrame, seed: int = 0) -> Layout:
    """Positions (pixels) for every node of one ring's evidence, plus the summary groups.

    Deterministic: the same evidence gives the same positions (igraph's layered layout
    has no random step; igraph's generator is seeded anyway for the duration).
    """
    labels = {nid: node_label(t, k, lab)
              for nid, t, k, lab in nodes.select("node_id", "node_type", "key", "label").iter_rows()}
    types: dict[str, str] = dict(nodes.select("node_id", "node_type").iter_rows())
    roles = {nid: (ROLES[t][1] if t in ROLES else "reviews and orders") for nid, t in types.items()}
    groups = _groups(nodes, edges, labels)
    in_group: dict[str, str] = {m: g["id"] for g in groups for m in g["members"]}
    # The drawn structure: groups stand in for their members; items are placed afterwards.
    struct = sorted({in_group.get(n, n) for n, t in types.items() if t not in _ITEMS})
    index = {n: i for i, n in enumerate(struct)}
    links = set()
    for s, t in edges.select("source", "target").iter_rows():
        a, b = in_group.get(s, s), in_group.get(t, t)
        if a in index and b in index and a != b:
            links.add((min(index[a], index[b]), max(index[a], index[b])))
    layer = [1 if n.startswith("group:") else ROLES[types[n]][0] for n in struct]
    positions: dict[str, list[float]] = {}
    if struct:
        g = ig.Graph(n=len(struct), edges=sorted(links))
        state = random.getstate()
        ig.set_random_number_generator(random.Random(seed))
        try:
            coords = g.layout_sugiyama(layers=layer, hgap=1, vgap=1, maxiter=200).coords[: len(struct)]
        finally:
            ig.set_random_number_generator(random)
            random.setstate(state)
        for n, (x, y) in zip(struct, coords):
            # Sugiyama stacks layers top to bottom; columns read better with labels beside nodes.
            positions[n] = [round(y * _COL_W, 1), round(x * _ROW_H, 1)]
    # Expanded members: a block of one or two 110 px columns centred on their group node, so it
    # stays inside the members column (the report draws it as a panel above the rest).
    for grp in groups:
        gx, gy = positions[grp["id"]]
        cols = 1 if len(grp["members"]) <= 8 else 2
        rows = math.ceil(len(grp["members"]) / cols)
        for i, m in enumerate(grp["members"]):
            positions[m] = [round(gx + (i % cols) * 110.0, 1), round(gy + (i // cols - (rows - 1) / 2) * 15.0, 1)]
    # Items: a block to the left of their shop, one row of ten per 9 px.
    item_shop = dict(edges.filter(pl.col("rel_type").is_in(["ABOUT", "AT"])).select("source", "target").iter_rows())
    per_shop: dict[str, list[str]] = {}
    items = sorted(n for n, t in types.items() if t in _ITEMS)
    for n in items:
        per_shop.setdefault(item_shop.get(n, ""), []).append(n)
    for shop, its in sorted(per_shop.items()):
        sx, sy = positions.get(shop, [0.0, 0.0])
        rows = math.ceil(len(its) / 10)
        for i, n in enumerate(its):
            positions[n] = [round(sx - 40 - (i % 10) * _ITEM_GAP, 1),
                            round(sy + (i // 10 - (rows - 1) / 2) * _ITEM_GAP, 1)]
    return Layout(positions, labels, roles, groups, len(items) > ITEMS_SHOWN_AT,
                  f"igraph {ig.__version__} layered layout (columns by role), seed {seed}")
