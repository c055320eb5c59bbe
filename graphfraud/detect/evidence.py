"""The evidence subgraph of every flagged ring: typed nodes and edges an investigator can follow.

Built for all rings at once. Node ids are ``"<Type>:<key>"`` so ids never collide across
types; columns are those declared in :data:`graphfraud.schema.EVIDENCE_NODE_COLUMNS` and
:data:`graphfraud.schema.EVIDENCE_EDGE_COLUMNS` (properties a type lacks stay null).
Reviews and orders are sampled (the most recent ``max_items`` per ring at its focus
shops); the true totals are kept in :attr:`Evidence.counts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from ..graph.money import MATCH_TAU
from ..graph.prepare import Prepared, account_frame
from ..schema import EVIDENCE_EDGE_COLUMNS, EVIDENCE_NODE_COLUMNS, IDENTIFIER_KINDS
from .platform import TOP_RATING, Platform
from .textsim import cluster_within

if TYPE_CHECKING:
    import networkx as nx

_DTYPES = {"str": pl.String, "float": pl.Float64, "int": pl.Int64}
NODE_SCHEMA = {c: _DTYPES[t] for c, t in EVIDENCE_NODE_COLUMNS.items()}
EDGE_SCHEMA = {c: _DTYPES[t] for c, t in EVIDENCE_EDGE_COLUMNS.items()}


@dataclass(frozen=True)
class Evidence:
    """Typed evidence of one ring, or several (``ring_id`` column)."""

    nodes: pl.DataFrame
    edges: pl.DataFrame
    counts: dict[str, dict[str, int | bool]] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Evidence:
        return cls(pl.DataFrame(schema=NODE_SCHEMA), pl.DataFrame(schema=EDGE_SCHEMA), {})

    def ring(self, ring_id: str) -> Evidence:
        return Evidence(self.nodes.filter(pl.col("ring_id") == ring_id),
                        self.edges.filter(pl.col("ring_id") == ring_id),
                        {ring_id: self.counts.get(ring_id, {})})

    def to_networkx(self) -> nx.MultiDiGraph:
        """A ``networkx.MultiDiGraph`` with ``node_type`` / ``rel_type`` and every property."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for row in self.nodes.iter_rows(named=True):
            g.add_node(row["node_id"], **{k: v for k, v in row.items() if k != "node_id" and v is not None})
        for row in self.edges.iter_rows(named=True):
            g.add_edge(row["source"], row["target"],
                       **{k: v for k, v in row.items() if k not in ("source", "target") and v is not None})
        return g


def _iso(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _frame(df: pl.DataFrame, schema: dict[str, type[pl.DataType]], **exprs: pl.Expr) -> pl.DataFrame:
    """Select ``exprs`` (name -> expression) from ``df`` into the full typed schema."""
    if df.height == 0:
        return pl.DataFrame(schema=schema)
    cols = [exprs[c].cast(t).alias(c) if c in exprs else pl.lit(None, t).alias(c) for c, t in schema.items()]
    return df.select(cols)


def _node(prefix: str, key: pl.Expr) -> pl.Expr:
    return pl.lit(f"{prefix}:") + key.cast(pl.String)


def build(prep: Prepared, plat: Platform, members: pl.DataFrame, focus: pl.DataFrame, member_ev: pl.DataFrame,
          shared: pl.DataFrame, max_items: int = 200) -> Evidence:
    """Evidence of every ring.

    ``members`` (ring_id, cid, a); ``focus`` (cid, m); ``member_ev`` (cid, a, focus_visits,
    presence_p, ties); ``shared`` (cid, v, kind, k, users, p_value) identifier values.
    """
    if members.height == 0:
        return Evidence.empty()
    rid = members.select("cid", "ring_id").unique()
    ids = account_frame(prep).with_columns(prep.nicknames.alias("nickname"))
    mem = members.join(ids, on="a").join(member_ev, on=["cid", "a"], how="left")
    acc = pl.col("account_id")
    nodes = [_frame(mem, NODE_SCHEMA, ring_id=pl.col("ring_id"), node_id=_node("Account", acc),
                    node_type=pl.lit("Account"), key=acc, label=pl.coalesce("nickname", "account_id"),
                    role=pl.lit("member"),
                    member_evidence=(-pl.col("presence_p").clip(1e-300, 1).log10()).round(2),
                    focus_visits=pl.col("focus_visits"), ties=pl.col("ties"),
                    created_at=pl.from_epoch(pl.col("created"), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))]
    edges = []
    shops = pl.DataFrame({"m": pl.arange(0, prep.n_shops, eager=True).cast(pl.UInt32), "merchant_id": prep.shop_ids,
                          "name": prep.shop_names})
    fshops = focus.select("cid", "m").join(rid, on="cid").join(shops, on="m")
    shop_key = pl.col("merchant_id")
    nodes.append(_frame(fshops, NODE_SCHEMA, ring_id=pl.col("ring_id"), node_id=_node("Merchant", shop_key),
                        node_type=pl.lit("Merchant"), key=shop_key, label=pl.col("name"), role=pl.lit("focus shop")))

    # Shared identifier values, and who uses them.
    kinds = pl.DataFrame({"kind": [k.name for k in IDENTIFIER_KINDS], "ntype": [k.node for k in IDENTIFIER_KINDS],
                          "rel": [k.relationship for k in IDENTIFIER_KINDS]})
    strong = (shared.filter(pl.col("p_value") <= 0.01).join(rid, on="cid").join(kinds, on="kind")
              .join(prep.identifier_values.select("v", "value"), on="v"))
    id_node = pl.col("ntype") + ":" + pl.col("value")
    nodes.append(_frame(strong, NODE_SCHEMA, ring_id=pl.col("ring_id"), node_id=id_node, node_type=pl.col("ntype"),
                        key=pl.col("value"), label=pl.col("value"), role=pl.lit("shared identifier"),
                        ring_accounts=pl.col("k"), platform_accounts=pl.col("users")))
    uses = (prep.identifiers.join(strong.select("cid", "ring_id", "v", "ntype", "rel", "value"), on="v")
            .join(mem.select("cid", "a", "account_id"), on=["cid", "a"]))
    edges.append(_frame(uses, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("Account", acc), target=id_node,
                        rel_type=pl.col("rel"), count=pl.col("uses"), first_seen=_iso("first"), last_seen=_iso("last")))

    # Activity at the focus shops: aggregated edges, and sampled reviews and orders.
    mem_ids = mem.select("cid", "ring_id", "a", "account_id")
    rv = prep.reviews.join(mem_ids, on="a").join(fshops, on=["cid", "m", "ring_id"])
    od = prep.orders.join(mem_ids, on="a").join(fshops, on=["cid", "m", "ring_id"])
    agg_rv = rv.group_by("ring_id", "account_id", "merchant_id").agg(
        pl.len().alias("n"), (pl.col("rating") >= TOP_RATING).sum().alias("five"), pl.col("t").min().alias("first"),
        pl.col("t").max().alias("last"))
    edges.append(_frame(agg_rv, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("Account", acc),
                        target=_node("Merchant", shop_key), rel_type=pl.lit("REVIEWED"), count=pl.col("n"),
                        first_seen=_iso("first"), last_seen=_iso("last"), five_star=pl.col("five")))
    agg_od = od.group_by("ring_id", "account_id", "merchant_id").agg(
        pl.len().alias("n"), pl.col("t").min().alias("first"), pl.col("t").max().alias("last"),
        *([pl.col("amount").sum().round(2).alias("amount")] if "amount" in od.columns else []))
    amount = {"amount": pl.col("amount")} if "amount" in agg_od.columns else {}
    edges.append(_frame(agg_od, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("Account", acc),
                        target=_node("Merchant", shop_key), rel_type=pl.lit("ORDERED"), count=pl.col("n"),
                        first_seen=_iso("first"), last_seen=_iso("last"), **amount))
    rv_s = rv.sort("ring_id", "t", "review_id", descending=[False, True, False]).filter(
        pl.int_range(pl.len()).over("ring_id") < max_items)
    text = {}
    if "text" in rv_s.columns and rv_s.height:
        # Near-copies among the ring's sampled texts (labels unique within a ring).
        groups = rv_s["ring_id"].rank("dense").cast(pl.Int64).to_numpy()
        rv_s = rv_s.with_columns(pl.Series("template", cluster_within(groups, rv_s["text"])))
        rv_s = rv_s.with_columns(pl.when(pl.col("template") >= 0).then(pl.col("template").rank("dense").over("ring_id"))
                                 .otherwise(None).alias("template"))
        text = {"text": pl.col("text"), "template": pl.col("template")}
    rev_key = pl.col("review_id")
    nodes.append(_frame(rv_s, NODE_SCHEMA, ring_id=pl.col("ring_id"), node_id=_node("Review", rev_key),
                        node_type=pl.lit("Review"), key=rev_key,
                        label=pl.col("rating").cast(pl.Int64).cast(pl.String) + "★",
                        rating=pl.col("rating"), created_at=_iso("t"), **text))
    edges.append(_frame(rv_s, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("Account", acc),
                        target=_node("Review", rev_key), rel_type=pl.lit("WROTE"), count=pl.lit(1),
                        first_seen=_iso("t")))
    edges.append(_frame(rv_s, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("Review", rev_key),
                        target=_node("Merchant", shop_key), rel_type=pl.lit("ABOUT"), count=pl.lit(1)))
    od_s = od.sort("ring_id", "t", "order_id", descending=[False, True, False]).filter(
        pl.int_range(pl.len()).over("ring_id") < max_items)
    ord_key = pl.col("order_id")
    o_amount = {"amount": pl.col("amount")} if "amount" in od_s.columns else {}
    nodes.append(_frame(od_s, NODE_SCHEMA, ring_id=pl.col("ring_id"), node_id=_node("Order", ord_key),
                        node_type=pl.lit("Order"), key=ord_key, label=ord_key, created_at=_iso("t"), **o_amount))
    edges.append(_frame(od_s, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("Account", acc),
                        target=_node("Order", ord_key), rel_type=pl.lit("PLACED"), count=pl.lit(1),
                        first_seen=_iso("t")))
    edges.append(_frame(od_s, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("Order", ord_key),
                        target=_node("Merchant", shop_key), rel_type=pl.lit("AT"), count=pl.lit(1)))

    # Money: origins shared by three or more members, and what they paid each member.
    pay = pl.DataFrame({"p": pl.arange(0, prep.payment_ids.len(), eager=True).cast(pl.UInt32),
                        "payment_account_id": prep.payment_ids})
    orig = plat.origins.join(mem_ids, on="a")
    shared_orig = (orig.group_by("cid", "origin").agg(pl.len().alias("k"), pl.col("hops").min())
                   .filter(pl.col("k") >= 3).join(plat.origin_recipients, on="origin").join(rid, on="cid")
                   .join(pay, left_on="origin", right_on="p"))
    pa_key = pl.col("payment_account_id")
    nodes.append(_frame(shared_orig, NODE_SCHEMA, ring_id=pl.col("ring_id"), node_id=_node("PaymentAccount", pa_key),
                        node_type=pl.lit("PaymentAccount"), key=pa_key, label=pa_key, role=pl.lit("money origin"),
                        ring_accounts=pl.col("k"), platform_accounts=pl.col("recipients"), hops=pl.col("hops")))
    paid = orig.join(shared_orig.select("cid", "origin", "payment_account_id"), on=["cid", "origin"])
    edges.append(_frame(paid, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("PaymentAccount", pa_key),
                        target=_node("Account", acc), rel_type=pl.lit("PAID"), count=pl.col("hops").cast(pl.Int64)))
    # Matched refunds from any payer (the outcome test's evidence).
    ref = (plat.refunds.filter(pl.col("u") <= MATCH_TAU).join(mem_ids, on="a")
           .join(pay, left_on="src", right_on="p")
           .group_by("ring_id", "account_id", "payment_account_id").agg(
               pl.len().alias("n"), pl.col("amount").sum().round(2), pl.col("t").min().alias("first"),
               pl.col("t").max().alias("last")))
    nodes.append(_frame(ref.unique(["ring_id", "payment_account_id"]), NODE_SCHEMA, ring_id=pl.col("ring_id"),
                        node_id=_node("PaymentAccount", pa_key), node_type=pl.lit("PaymentAccount"), key=pa_key,
                        label=pa_key, role=pl.lit("refund payer")))
    edges.append(_frame(ref, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("PaymentAccount", pa_key),
                        target=_node("Account", acc), rel_type=pl.lit("PAID"), count=pl.col("n"),
                        amount=pl.col("amount"), first_seen=_iso("first"), last_seen=_iso("last")))
    # Staff: members paying with a shop's own payment account.
    staff = (prep.payment_users.join(prep.payment_shops, on="p").join(mem_ids, on="a")
             .join(pay, on="p").join(shops, on="m"))
    nodes.append(_frame(staff.unique(["ring_id", "m"]), NODE_SCHEMA, ring_id=pl.col("ring_id"),
                        node_id=_node("Merchant", shop_key), node_type=pl.lit("Merchant"), key=shop_key,
                        label=pl.col("name"), role=pl.lit("staff's shop")))
    nodes.append(_frame(staff.unique(["ring_id", "p"]), NODE_SCHEMA, ring_id=pl.col("ring_id"),
                        node_id=_node("PaymentAccount", pa_key), node_type=pl.lit("PaymentAccount"), key=pa_key,
                        label=pa_key, role=pl.lit("shop payment account")))
    edges.append(_frame(staff, EDGE_SCHEMA, ring_id=pl.col("ring_id"), source=_node("Account", acc),
                        target=_node("PaymentAccount", pa_key), rel_type=pl.lit("PAYS_WITH"), count=pl.lit(1)))
    edges.append(_frame(staff.unique(["ring_id", "p"]), EDGE_SCHEMA, ring_id=pl.col("ring_id"),
                        source=_node("Merchant", shop_key), target=_node("PaymentAccount", pa_key),
                        rel_type=pl.lit("OWNS"), count=pl.lit(1)))

    node_frame = (pl.concat([n for n in nodes if n.height] or [pl.DataFrame(schema=NODE_SCHEMA)])
                  .unique(["ring_id", "node_id"], keep="first", maintain_order=True)
                  .sort("ring_id", "node_type", "node_id"))
    edge_frame = (pl.concat([e for e in edges if e.height] or [pl.DataFrame(schema=EDGE_SCHEMA)])
                  .unique(["ring_id", "source", "target", "rel_type"], keep="first", maintain_order=True)
                  .sort("ring_id", "rel_type", "source", "target"))
    totals = (rv.group_by("ring_id").agg(pl.len().alias("reviews"))
              .join(od.group_by("ring_id").agg(pl.len().alias("orders")), on="ring_id", how="full", coalesce=True))
    counts = {r["ring_id"]: {"reviews": int(r["reviews"] or 0), "orders": int(r["orders"] or 0),
                             "sampled": (r["reviews"] or 0) > max_items or (r["orders"] or 0) > max_items}
              for r in totals.iter_rows(named=True)}
    for ring, n in node_frame.group_by("ring_id").len().iter_rows():
        counts.setdefault(ring, {"reviews": 0, "orders": 0, "sampled": False})["nodes"] = n
    for ring, n in edge_frame.group_by("ring_id").len().iter_rows():
        counts.setdefault(ring, {"reviews": 0, "orders": 0, "sampled": False})["edges"] = n
    return Evidence(node_frame, edge_frame, dict(sorted(counts.items())))
