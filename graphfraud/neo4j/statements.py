"""Every Cypher statement graphfraud runs, generated from the declarative schema.

Statements are templates with ``$parameters`` only: labels, keys and relationship types
come from :data:`~graphfraud.schema.GRAPH_SCHEMA`, values always travel as parameters.

>>> constraint_statements()[0]
'CREATE CONSTRAINT account_account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.account_id IS UNIQUE'
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contract import CONTRACT
from ..schema import GRAPH_SCHEMA, IDENTIFIER_KINDS, RING_MEMBER_LABEL

#: The zone every timestamp of a validated dataset is in (:class:`graphfraud.dataset.Dataset`).
TIME_ZONE = "UTC"


def _node(var: str, name: str, key_expr: str) -> str:
    t = GRAPH_SCHEMA.node(name)
    return f"({var}:{t.label} {{{t.key}: {key_expr}}})"


def _rel(name: str) -> str:
    return GRAPH_SCHEMA.relationship(name).type


def constraint_statements() -> list[str]:
    """Named uniqueness constraints (Neo4j 5 syntax), one per node type, plus indexes."""
    out = [f"CREATE CONSTRAINT {t.label.lower()}_{t.key} IF NOT EXISTS FOR (n:{t.label}) REQUIRE n.{t.key} IS UNIQUE"
           for t in GRAPH_SCHEMA.nodes]
    out += ["CREATE INDEX ring_run_id IF NOT EXISTS FOR (n:Ring) ON (n.run_id)",
            "CREATE INDEX review_created_at IF NOT EXISTS FOR (n:Review) ON (n.created_at)",
            "CREATE INDEX order_created_at IF NOT EXISTS FOR (n:Order) ON (n.created_at)"]
    return out


@dataclass(frozen=True)
class NodeMerge:
    """A node one load statement finds or creates, keyed by a column of the row.

    ``props`` are SET from the row columns of the same name (a null removes the property).
    ``match``: the node must already exist (``MATCH``), else the whole row writes nothing;
    otherwise it is created when missing (``MERGE``).
    """

    var: str
    type: str  # node type in GRAPH_SCHEMA
    column: str  # row column holding the node's key
    props: tuple[str, ...] = ()
    match: bool = False


@dataclass(frozen=True)
class RelMerge:
    """A relationship one load statement merges between two of its nodes (by variable).

    ``keys`` are properties inside the MERGE pattern: relationships of this type between the
    same two nodes that differ in them are kept apart (one TRANSFERRED per transfer).
    ``props`` are SET from the row columns of the same name.
    """

    type: str  # relationship type in GRAPH_SCHEMA
    start: str
    end: str
    keys: tuple[str, ...] = ()
    props: tuple[str, ...] = ()


@dataclass(frozen=True)
class Load:
    """One load statement: which table's rows feed it and which nodes and relationships it writes.

    The declaration is read twice: :attr:`query` is the idempotent MERGE statement the Bolt
    ingest sends, and the bulk import (:mod:`graphfraud.neo4j.bulk`) writes the same graph
    as CSV files from it.
    """

    name: str
    table: str
    nodes: tuple[NodeMerge, ...]
    rels: tuple[RelMerge, ...] = ()
    #: Rows missing any of these columns (null) are skipped for this statement.
    required: tuple[str, ...] = ()

    def node(self, var: str) -> NodeMerge:
        return next(n for n in self.nodes if n.var == var)

    @property
    def columns(self) -> tuple[str, ...]:
        """The row columns the statement reads, in order."""
        cols = [c for n in self.nodes for c in (n.column, *n.props)]
        cols += [c for r in self.rels for c in (*r.keys, *r.props)]
        return tuple(dict.fromkeys(cols))

    @property
    def timestamps(self) -> tuple[str, ...]:
        """The row columns that hold instants (contract kind ``timestamp``), in order.

        They travel as integer epoch milliseconds and the statement rebuilds the zoned
        datetime: the driver's conversion of Python datetimes cost about ten times the rest
        of a row (measured on the orders load), and the stored value is the same.
        """
        kinds = {c.name: c.kind for c in CONTRACT[self.table].columns}
        return tuple(c for c in self.columns if kinds.get(c) == "timestamp")

    def _value(self, column: str) -> str:
        if column not in self.timestamps:
            return f"row.{column}"
        # CASE: a null removes the property, as for every other column.
        return (f"CASE WHEN row.{column} IS NULL THEN null "
                f"ELSE datetime({{epochMillis: row.{column}, timezone: '{TIME_ZONE}'}}) END")

    @property
    def query(self) -> str:
        def sets(var: str, props: tuple[str, ...]) -> str:
            return " SET " + ", ".join(f"{var}.{p} = {self._value(p)}" for p in props) if props else ""

        parts = ["UNWIND $rows AS row"]
        parts += [f"MATCH {_node(n.var, n.type, 'row.' + n.column)}" for n in self.nodes if n.match]
        parts += [f"MERGE {_node(n.var, n.type, 'row.' + n.column)}{sets(n.var, n.props)}"
                  for n in self.nodes if not n.match]
        for i, r in enumerate(self.rels):
            var = f"e{i}" if r.keys or r.props else ""
            keys = " {" + ", ".join(f"{k}: {self._value(k)}" for k in r.keys) + "}" if r.keys else ""
            parts.append(f"MERGE ({r.start})-[{var}:{_rel(r.type)}{keys}]->({r.end}){sets(var, r.props)}")
        return " ".join(parts)


def _link(name: str, table: str, owner: tuple[str, str, str], target: tuple[str, str], rel: str,
          rel_props: tuple[str, ...] = ()) -> Load:
    """MERGE a target node from ``row.<column>`` and link it to the row's owner node."""
    owner_type, owner_col, var = owner
    target_type, target_col = target
    return Load(name, table,
                (NodeMerge(var, owner_type, owner_col, match=True), NodeMerge("x", target_type, target_col)),
                (RelMerge(rel, var, "x", props=rel_props),), required=(target_col,))


ACCOUNT = ("Account", "account_id", "a")
MERCHANT = ("Merchant", "merchant_id", "m")
_A = NodeMerge("a", "Account", "account_id", match=True)
_M = NodeMerge("m", "Merchant", "merchant_id", match=True)

LOADS: tuple[Load, ...] = (
    Load("accounts", "accounts", (NodeMerge("a", "Account", "account_id", ("created_at", "nickname")),)),
    _link("account_phones", "accounts", ACCOUNT, ("Phone", "phone"), "HAS_PHONE"),
    Load("merchants", "merchants", (NodeMerge("m", "Merchant", "merchant_id", ("name", "category", "created_at")),)),
    # device_id and ip are kept on the event too: the account-level USES_DEVICE/USES_IP links lose
    # which event used them, and `detect --source neo4j` needs them to see what the files show.
    Load("reviews", "reviews",
         (_A, _M, NodeMerge("r", "Review", "review_id",
                            ("rating", "created_at", "text", "order_id", "device_id", "ip"))),
         (RelMerge("WROTE", "a", "r"), RelMerge("ABOUT", "r", "m"))),
    _link("review_devices", "reviews", ACCOUNT, ("Device", "device_id"), "USES_DEVICE"),
    _link("review_ips", "reviews", ACCOUNT, ("IP", "ip"), "USES_IP"),
    Load("orders", "orders",
         (_A, _M, NodeMerge("o", "Order", "order_id", ("created_at", "amount", "product_id", "device_id", "ip",
                                                       "payment_account_id", "address"))),
         (RelMerge("PLACED", "a", "o"), RelMerge("AT", "o", "m"))),
    _link("order_devices", "orders", ACCOUNT, ("Device", "device_id"), "USES_DEVICE"),
    _link("order_ips", "orders", ACCOUNT, ("IP", "ip"), "USES_IP"),
    _link("order_payments", "orders", ACCOUNT, ("PaymentAccount", "payment_account_id"), "PAYS_WITH"),
    _link("order_addresses", "orders", ACCOUNT, ("Address", "address"), "SHIPS_TO"),
    _link("account_devices", "account_devices", ACCOUNT, ("Device", "device_id"), "USES_DEVICE",
          ("first_seen", "last_seen")),
    _link("account_payments", "account_payments", ACCOUNT, ("PaymentAccount", "payment_account_id"), "PAYS_WITH"),
    _link("merchant_payments", "merchant_payments", MERCHANT, ("PaymentAccount", "payment_account_id"), "OWNS"),
    Load("transfers", "transfers",
         (NodeMerge("s", "PaymentAccount", "from_payment_account_id"),
          NodeMerge("t", "PaymentAccount", "to_payment_account_id")),
         (RelMerge("TRANSFERRED", "s", "t", keys=("transfer_key",), props=("amount", "created_at")),)),
    _link("login_devices", "logins", ACCOUNT, ("Device", "device_id"), "USES_DEVICE"),
    _link("login_ips", "logins", ACCOUNT, ("IP", "ip"), "USES_IP"),
    Load("review_likes", "review_likes", (_A, NodeMerge("r", "Review", "review_id", match=True)),
         (RelMerge("LIKED", "a", "r", props=("created_at",)),)),
)

#: Whether a database is empty (a bulk import only ever creates one), and waiting for the
#: indexes a schema applied to a full database populates in the background.
COUNT_NODES = "MATCH (n) RETURN count(n) AS c"
COUNT_RELATIONSHIPS = "MATCH ()-[r]->() RETURN count(r) AS c"
AWAIT_INDEXES = "CALL db.awaitIndexes($timeout_s)"

# ------------------------------------------------------------------ rings
RING_UPSERT = (f"UNWIND $rings AS row MERGE {_node('r', 'Ring', 'row.ring_id')} "
               "SET r.ring_type = row.ring_type, r.evidence = row.evidence, r.q_value = row.q_value, "
               "r.reasons = row.reasons, r.n_accounts = row.n_accounts, r.run_id = $run_id, r += row.families")
RING_MEMBERS = (f"UNWIND $rows AS row MATCH {_node('r', 'Ring', 'row.ring_id')} "
                f"MERGE {_node('a', 'Account', 'row.account_id')} SET a:{RING_MEMBER_LABEL} "
                f"MERGE (a)-[m:{_rel('MEMBER_OF')}]->(r) SET m.member_evidence = row.member_evidence")
RING_DELETE_OTHER_RUNS = f"MATCH (r:{GRAPH_SCHEMA.node('Ring').label}) WHERE r.run_id <> $run_id DETACH DELETE r"
RING_MEMBER_CLEANUP = (f"MATCH (a:{RING_MEMBER_LABEL}) WHERE NOT (a)-[:{_rel('MEMBER_OF')}]->(:Ring) "
                       f"REMOVE a:{RING_MEMBER_LABEL}")
#: Evidence node types linked to their ring (members are linked by MEMBER_OF).
EVIDENCE_TYPES = ("Merchant", *(k.node for k in IDENTIFIER_KINDS))


def ring_evidence_statement(node_type: str) -> str:
    return (f"UNWIND $rows AS row MATCH {_node('r', 'Ring', 'row.ring_id')} "
            f"MERGE {_node('x', node_type, 'row.key')} MERGE (r)-[:{_rel('EVIDENCE')}]->(x)")


# ------------------------------------------------------------------ reading a dataset back
SOURCE_QUERIES: dict[str, str] = {
    "accounts": ("MATCH (a:Account) OPTIONAL MATCH (a)-[:HAS_PHONE]->(p:Phone) "
                 "RETURN a.account_id AS account_id, a.created_at AS created_at, a.nickname AS nickname, "
                 "head(collect(p.phone)) AS phone"),
    "merchants": ("MATCH (m:Merchant) RETURN m.merchant_id AS merchant_id, m.name AS name, "
                  "m.category AS category, m.created_at AS created_at"),
    "reviews": ("MATCH (a:Account)-[:WROTE]->(r:Review)-[:ABOUT]->(m:Merchant) "
                "RETURN r.review_id AS review_id, a.account_id AS account_id, m.merchant_id AS merchant_id, "
                "r.rating AS rating, r.created_at AS created_at, r.text AS text, r.order_id AS order_id, "
                "r.device_id AS device_id, r.ip AS ip"),
    "orders": ("MATCH (a:Account)-[:PLACED]->(o:Order)-[:AT]->(m:Merchant) "
               "RETURN o.order_id AS order_id, a.account_id AS account_id, m.merchant_id AS merchant_id, "
               "o.created_at AS created_at, o.amount AS amount, o.product_id AS product_id, o.device_id AS device_id, "
               "o.ip AS ip, o.payment_account_id AS payment_account_id, o.address AS address"),
    "account_devices": ("MATCH (a:Account)-[e:USES_DEVICE]->(d:Device) RETURN a.account_id AS account_id, "
                        "d.device_id AS device_id, e.first_seen AS first_seen, e.last_seen AS last_seen"),
    "account_payments": ("MATCH (a:Account)-[:PAYS_WITH]->(p:PaymentAccount) "
                         "RETURN a.account_id AS account_id, p.payment_account_id AS payment_account_id"),
    "merchant_payments": ("MATCH (m:Merchant)-[:OWNS]->(p:PaymentAccount) "
                          "RETURN m.merchant_id AS merchant_id, p.payment_account_id AS payment_account_id"),
    "transfers": ("MATCH (s:PaymentAccount)-[x:TRANSFERRED]->(t:PaymentAccount) "
                  "RETURN x.transfer_key AS transfer_id, s.payment_account_id AS from_payment_account_id, "
                  "t.payment_account_id AS to_payment_account_id, x.amount AS amount, x.created_at AS created_at"),
    "review_likes": ("MATCH (a:Account)-[l:LIKED]->(r:Review) RETURN a.account_id AS account_id, "
                     "r.review_id AS review_id, l.created_at AS created_at"),
}


# Graph Data Science: the account graph of the candidate generators, projected from parameters
# (account indexes as node ids), so GDS sees exactly the edges the embedded engine would.
GDS_PROJECT = ("UNWIND range(0, size($a) - 1) AS i "
               "WITH gds.graph.project($graph, $a[i], $b[i], {relationshipProperties: {weight: $w[i]}}, "
               "{undirectedRelationshipTypes: ['*']}) AS g "
               "RETURN g.nodeCount AS nodes, g.relationshipCount AS relationships")
# One worker and a seed: GDS Leiden is then deterministic. Results come back as two lists in one row.
GDS_LEIDEN = ("CALL gds.leiden.stream($graph, {relationshipWeightProperty: 'weight', gamma: $gamma, "
              "randomSeed: $seed, concurrency: 1}) YIELD nodeId, communityId "
              "RETURN collect(nodeId) AS a, collect(communityId) AS community")
GDS_WCC = ("CALL gds.wcc.stream($graph, {concurrency: 1}) YIELD nodeId, componentId "
           "RETURN collect(nodeId) AS a, collect(componentId) AS community")
GDS_DROP = "CALL gds.graph.drop($graph, false) YIELD graphName RETURN graphName"
GDS_VERSION = "RETURN gds.version() AS version"


def all_statements() -> list[str]:
    """Every statement the package can send (for the offline parser check)."""
    return (constraint_statements() + [ld.query for ld in LOADS] + [COUNT_NODES, COUNT_RELATIONSHIPS, AWAIT_INDEXES]
            + [RING_UPSERT, RING_MEMBERS, RING_DELETE_OTHER_RUNS, RING_MEMBER_CLEANUP]
            + [ring_evidence_statement(t) for t in EVIDENCE_TYPES] + list(SOURCE_QUERIES.values())
            + [GDS_PROJECT, GDS_LEIDEN, GDS_WCC, GDS_DROP, GDS_VERSION])
