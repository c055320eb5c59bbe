"""The evidence subgraph of a ring: typed nodes and edges an investigator can follow.

Node ids are ``"<Type>:<key>"`` so ids never collide across types. Reviews and orders
are sampled (template reviews first) when a ring has more than ``max_items``; the
true totals are kept in :attr:`Evidence.counts`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

#: Node type and relationship type for each identifier kind.
IDENTIFIER_TYPES = {"device": ("Device", "USES_DEVICE"), "payment": ("PaymentAccount", "PAYS_WITH"),
                    "address": ("Address", "SHIPS_TO"), "phone": ("Phone", "HAS_PHONE"), "ip": ("IP", "USES_IP")}
NODE_SCHEMA = {"ring_id": pl.String, "node_id": pl.String, "node_type": pl.String, "key": pl.String,
               "label": pl.String, "properties": pl.String}
EDGE_SCHEMA = {"ring_id": pl.String, "source": pl.String, "target": pl.String, "rel_type": pl.String,
               "count": pl.Int64, "first_seen": pl.String, "last_seen": pl.String, "properties": pl.String}


@dataclass
class Evidence:
    """Typed evidence of one ring (or several, concatenated)."""

    nodes: pl.DataFrame
    edges: pl.DataFrame
    counts: dict = field(default_factory=dict)

    @classmethod
    def concat(cls, parts: list[Evidence]) -> Evidence:
        if not parts:
            return cls(pl.DataFrame(schema=NODE_SCHEMA), pl.DataFrame(schema=EDGE_SCHEMA), {})
        return cls(pl.concat([p.nodes for p in parts]), pl.concat([p.edges for p in parts]),
                   {k: v for p in parts for k, v in p.counts.items()})

    def to_networkx(self):
        """A ``networkx.MultiDiGraph`` with ``node_type`` / ``rel_type`` attributes."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for row in self.nodes.iter_rows(named=True):
            g.add_node(row["node_id"], node_type=row["node_type"], key=row["key"], label=row["label"],
                       **json.loads(row["properties"] or "{}"))
        for row in self.edges.iter_rows(named=True):
            g.add_edge(row["source"], row["target"], rel_type=row["rel_type"], count=row["count"],
                       **json.loads(row["properties"] or "{}"))
        return g


def _iso(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _props(*cols: str) -> pl.Expr:
    return pl.struct(*cols).struct.json_encode().alias("properties")


def _nodes(ring_id: str, frame: pl.DataFrame, node_type: str, key: str, label: pl.Expr, props: list[str]) -> pl.DataFrame:
    if frame.height == 0:
        return pl.DataFrame(schema=NODE_SCHEMA)
    return frame.select(pl.lit(ring_id).alias("ring_id"), (pl.lit(f"{node_type}:") + pl.col(key).cast(pl.String)).alias("node_id"),
                        pl.lit(node_type).alias("node_type"), pl.col(key).cast(pl.String).alias("key"),
                        label.cast(pl.String).alias("label"),
                        _props(*props) if props else pl.lit("{}").alias("properties")).unique("node_id", maintain_order=True)


def _edges(ring_id: str, frame: pl.DataFrame, src: pl.Expr, dst: pl.Expr, rel: str, count: pl.Expr | None = None,
           first: str | None = None, last: str | None = None, props: list[str] | None = None) -> pl.DataFrame:
    if frame.height == 0:
        return pl.DataFrame(schema=EDGE_SCHEMA)
    return frame.select(
        pl.lit(ring_id).alias("ring_id"), src.alias("source"), dst.alias("target"), pl.lit(rel).alias("rel_type"),
        (count if count is not None else pl.lit(1)).cast(pl.Int64).alias("count"),
        (_iso(first) if first else pl.lit(None, pl.String)).alias("first_seen"),
        (_iso(last) if last else pl.lit(None, pl.String)).alias("last_seen"),
        _props(*props) if props else pl.lit("{}").alias("properties"))


@dataclass
class EvidenceContext:
    """Tables restricted to the accounts of scored rings, built once for all rings."""

    ids: pl.DataFrame  # a, account_id, created
    merchants: pl.DataFrame  # m, merchant_id
    reviews: pl.DataFrame
    orders: pl.DataFrame
    money: pl.DataFrame  # a, payer, t, amount
    transfers: pl.DataFrame
    merchant_payment: pl.DataFrame


def evidence_context(det) -> EvidenceContext:
    """Restrict the big tables to ring accounts once, instead of once per ring."""
    prep = det.prepared_
    accounts = det.all_members_.select("a").unique()
    ids = pl.DataFrame({"a": range(prep.n_accounts), "account_id": prep.account_ids,
                        "created": prep.created}).with_columns(pl.col("a").cast(pl.UInt32)).join(accounts, on="a")
    merchants = pl.DataFrame({"m": range(prep.merchant_ids.len()), "merchant_id": prep.merchant_ids}).with_columns(
        pl.col("m").cast(pl.UInt32))
    return EvidenceContext(ids, merchants, prep.reviews.join(accounts, on="a"), prep.orders.join(accounts, on="a"),
                           det.baselines_.money.join(accounts, on="a"), prep.transfers, prep.merchant_payment)


def ring_evidence(det, ring_id: str, max_items: int = 200, ctx: EvidenceContext | None = None) -> Evidence:
    """Collect the evidence of one fitted ring from a fitted :class:`RingDetector`."""
    ctx = ctx or evidence_context(det)
    detail = det.details_
    row = det.features_.filter(pl.col("ring_id") == ring_id).row(0, named=True)
    community = row["community"]
    members = det.all_members_.filter((pl.col("ring_id") == ring_id)
                                      & (pl.col("member_score") >= det.min_member_score)).select("a", "account_id", "member_score")
    ids, mer = ctx.ids, ctx.merchants
    acc_node = pl.lit("Account:") + pl.col("account_id")
    nodes = [_nodes(ring_id, members.join(ids.select("a", "created"), on="a").with_columns(
        pl.from_epoch("created", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("created_at")),
        "Account", "account_id", pl.col("account_id"), ["member_score", "created_at"])]
    edges = []
    counts: dict = {}

    # Shared identifiers.
    shared = (detail["shared_identifiers"].filter(pl.col("community") == community).explode("accounts")
              .rename({"accounts": "a"}).join(members.select("a", "account_id"), on="a"))
    for kind, (ntype, rel) in IDENTIFIER_TYPES.items():
        part = shared.filter(pl.col("kind") == kind)
        nodes.append(_nodes(ring_id, part.with_columns(pl.col("n").alias("ring_accounts")), ntype, "value",
                            pl.col("value"), ["ring_accounts", "platform_accounts"]))
        edges.append(_edges(ring_id, part, acc_node, pl.lit(f"{ntype}:") + pl.col("value"), rel))

    # Focus shops, and who reviewed / ordered there.
    shops = detail["focus_shops"].filter(pl.col("community") == community).select("m").join(mer, on="m")
    bursts = detail["burst_shops"].filter(pl.col("community") == community).select("m", "windows", "max_members")
    shops = shops.join(bursts, on="m", how="left").with_columns(pl.col("windows").fill_null(0).alias("burst_windows"),
                                                               pl.col("max_members").fill_null(0).alias("burst_max_members"))
    nodes.append(_nodes(ring_id, shops, "Merchant", "merchant_id", pl.col("merchant_id"),
                        ["burst_windows", "burst_max_members"]))
    shop_node = pl.lit("Merchant:") + pl.col("merchant_id")
    rv = ctx.reviews.join(members.select("a", "account_id"), on="a").join(shops.select("m", "merchant_id"), on="m")
    agg = rv.group_by("account_id", "merchant_id").agg(pl.len().alias("n"), (pl.col("rating") >= 5).sum().alias("five_star"),
                                                       pl.col("t").min().alias("first"), pl.col("t").max().alias("last"))
    edges.append(_edges(ring_id, agg, acc_node, shop_node, "REVIEWED", pl.col("n"), "first", "last", ["five_star"]))
    od = ctx.orders.join(members.select("a", "account_id"), on="a").join(shops.select("m", "merchant_id"), on="m")
    if od.height:
        agg = od.group_by("account_id", "merchant_id").agg(pl.len().alias("n"), pl.col("t").min().alias("first"),
                                                           pl.col("t").max().alias("last"))
        edges.append(_edges(ring_id, agg, acc_node, shop_node, "ORDERED", pl.col("n"), "first", "last"))

    # Sampled reviews (templates first) and orders.
    tpl = detail["templates"].filter(pl.col("community") == community).select("review_id", "cluster")
    rv = rv.join(tpl, on="review_id", how="left").sort([pl.col("cluster").is_null(), "t", "review_id"])
    counts["reviews"] = rv.height
    sample = rv.head(max_items).with_columns(_iso("t").alias("created_at"), pl.col("cluster").alias("template"))
    text = [c for c in ("text",) if c in sample.columns]
    nodes.append(_nodes(ring_id, sample, "Review", "review_id", pl.col("review_id"),
                        ["rating", "created_at", "template", *text]))
    review_node = pl.lit("Review:") + pl.col("review_id")
    edges.append(_edges(ring_id, sample, acc_node, review_node, "WROTE"))
    edges.append(_edges(ring_id, sample, review_node, shop_node, "ABOUT"))
    counts["orders"] = od.height
    if od.height:
        osample = od.sort("t", "order_id").head(max_items).with_columns(_iso("t").alias("created_at"))
        extra = [c for c in ("amount",) if c in osample.columns]
        nodes.append(_nodes(ring_id, osample, "Order", "order_id", pl.col("order_id"), ["created_at", *extra]))
        order_node = pl.lit("Order:") + pl.col("order_id")
        edges.append(_edges(ring_id, osample, acc_node, order_node, "PLACED"))
        edges.append(_edges(ring_id, osample, order_node, shop_node, "AT"))

    # Money: payers of members, shops funding those payers, shop-owned payment accounts.
    payers = detail["payers"].filter(pl.col("community") == community)
    paid = (ctx.money.join(members.select("a", "account_id"), on="a")
            .join(payers.select("payer"), on="payer"))
    counts["transfers"] = paid.height
    nodes.append(_nodes(ring_id, payers.with_columns(pl.col("accounts").list.len().alias("paid_members")),
                        "PaymentAccount", "payer", pl.col("payer"), ["paid_members", "transfers", "amount"]))
    pagg = paid.group_by("payer", "account_id").agg(pl.len().alias("n"), pl.col("amount").sum().round(2),
                                                    pl.col("t").min().alias("first"), pl.col("t").max().alias("last"))
    edges.append(_edges(ring_id, pagg, pl.lit("PaymentAccount:") + pl.col("payer"), acc_node, "PAID", pl.col("n"),
                        "first", "last", ["amount"]))
    funding = (ctx.transfers.join(payers.select(pl.col("payer").alias("dst")), on="dst")
               .join(ctx.merchant_payment.rename({"payment_account_id": "src"}), on="src").join(mer, on="m"))
    if funding.height:
        nodes.append(_nodes(ring_id, funding, "Merchant", "merchant_id", pl.col("merchant_id"), []))
        fagg = funding.group_by("merchant_id", "dst").agg(pl.len().alias("n"), pl.col("amount").sum().round(2),
                                                          pl.col("t").min().alias("first"), pl.col("t").max().alias("last"))
        edges.append(_edges(ring_id, fagg, shop_node, pl.lit("PaymentAccount:") + pl.col("dst"), "FUNDED", pl.col("n"),
                            "first", "last", ["amount"]))
    owners = payers.filter(pl.col("payer_shop").is_not_null()).join(mer, left_on="payer_shop", right_on="m")
    shop_pay = detail["shop_payments"].filter(pl.col("community") == community).join(
        members.select("a", "account_id"), on="a").join(mer, on="m")
    nodes.append(_nodes(ring_id, shop_pay, "PaymentAccount", "payment_account_id", pl.col("payment_account_id"), []))
    nodes.append(_nodes(ring_id, pl.concat([owners.select("merchant_id"), shop_pay.select("merchant_id")]),
                        "Merchant", "merchant_id", pl.col("merchant_id"), []))
    edges.append(_edges(ring_id, shop_pay, acc_node, pl.lit("PaymentAccount:") + pl.col("payment_account_id"), "PAYS_WITH"))
    owned = pl.concat([owners.select("merchant_id", pl.col("payer").alias("pa")),
                       shop_pay.select("merchant_id", pl.col("payment_account_id").alias("pa"))]).unique()
    edges.append(_edges(ring_id, owned, shop_node, pl.lit("PaymentAccount:") + pl.col("pa"), "OWNS"))

    node_frame = pl.concat([n for n in nodes if n.height] or [pl.DataFrame(schema=NODE_SCHEMA)]).unique(
        "node_id", keep="first", maintain_order=True)
    edge_frame = pl.concat([e for e in edges if e.height] or [pl.DataFrame(schema=EDGE_SCHEMA)]).unique(
        ["source", "target", "rel_type"], keep="first", maintain_order=True)
    counts = {ring_id: {**counts, "nodes": node_frame.height, "edges": edge_frame.height,
                        "sampled": counts["reviews"] > max_items or counts["orders"] > max_items}}
    return Evidence(node_frame, edge_frame, counts)
