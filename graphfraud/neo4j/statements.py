"""Every Cypher statement graphfraud runs, generated from the declarative schema.

Statements are templates with ``$parameters`` only: labels, keys and relationship types
come from :data:`~graphfraud.schema.GRAPH_SCHEMA`, values always travel as parameters.

>>> constraint_statements()[0]
'CREATE CONSTRAINT account_account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.account_id IS UNIQUE'
"""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import GRAPH_SCHEMA, IDENTIFIER_KINDS, RING_MEMBER_LABEL


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
class Load:
    """One load statement: which table's rows feed it and which columns it needs."""

    name: str
    table: str
    columns: tuple[str, ...]
    query: str
    #: Rows missing any of these columns (null) are skipped for this statement.
    required: tuple[str, ...] = ()


def _link(name: str, table: str, owner: tuple[str, str, str], target: tuple[str, str], rel: str,
          rel_props: str = "") -> Load:
    """MERGE a target node from ``row.<column>`` and link it to the row's owner node."""
    owner_type, owner_col, var = owner
    target_type, target_col = target
    return Load(name, table, (owner_col, target_col), (
        f"UNWIND $rows AS row MATCH {_node(var, owner_type, 'row.' + owner_col)} "
        f"MERGE {_node('x', target_type, 'row.' + target_col)} MERGE ({var})-[e:{_rel(rel)}]->(x){rel_props}"),
        required=(target_col,))


ACCOUNT = ("Account", "account_id", "a")
MERCHANT = ("Merchant", "merchant_id", "m")

LOADS: tuple[Load, ...] = (
    Load("accounts", "accounts", ("account_id", "created_at", "nickname"),
         f"UNWIND $rows AS row MERGE {_node('a', 'Account', 'row.account_id')} "
         "SET a.created_at = row.created_at, a.nickname = row.nickname"),
    _link("account_phones", "accounts", ACCOUNT, ("Phone", "phone"), "HAS_PHONE"),
    Load("merchants", "merchants", ("merchant_id", "name", "category", "created_at"),
         f"UNWIND $rows AS row MERGE {_node('m', 'Merchant', 'row.merchant_id')} "
         "SET m.name = row.name, m.category = row.category, m.created_at = row.created_at"),
    # device_id and ip are kept on the event too: the account-level USES_DEVICE/USES_IP links lose
    # which event used them, and `detect --source neo4j` needs them to see what the files show.
    Load("reviews", "reviews", ("review_id", "account_id", "merchant_id", "rating", "created_at", "text", "order_id",
                                "device_id", "ip"),
         f"UNWIND $rows AS row MATCH {_node('a', 'Account', 'row.account_id')} "
         f"MATCH {_node('m', 'Merchant', 'row.merchant_id')} "
         f"MERGE {_node('r', 'Review', 'row.review_id')} "
         "SET r.rating = row.rating, r.created_at = row.created_at, r.text = row.text, r.order_id = row.order_id, "
         "r.device_id = row.device_id, r.ip = row.ip "
         f"MERGE (a)-[:{_rel('WROTE')}]->(r) MERGE (r)-[:{_rel('ABOUT')}]->(m)"),
    _link("review_devices", "reviews", ACCOUNT, ("Device", "device_id"), "USES_DEVICE"),
    _link("review_ips", "reviews", ACCOUNT, ("IP", "ip"), "USES_IP"),
    Load("orders", "orders", ("order_id", "account_id", "merchant_id", "created_at", "amount", "product_id",
                              "device_id", "ip", "payment_account_id", "address"),
         f"UNWIND $rows AS row MATCH {_node('a', 'Account', 'row.account_id')} "
         f"MATCH {_node('m', 'Merchant', 'row.merchant_id')} "
         f"MERGE {_node('o', 'Order', 'row.order_id')} "
         "SET o.created_at = row.created_at, o.amount = row.amount, o.product_id = row.product_id, "
         "o.device_id = row.device_id, o.ip = row.ip, o.payment_account_id = row.payment_account_id, "
         "o.address = row.address "
         f"MERGE (a)-[:{_rel('PLACED')}]->(o) MERGE (o)-[:{_rel('AT')}]->(m)"),
    _link("order_devices", "orders", ACCOUNT, ("Device", "device_id"), "USES_DEVICE"),
    _link("order_ips", "orders", ACCOUNT, ("IP", "ip"), "USES_IP"),
    _link("order_payments", "orders", ACCOUNT, ("PaymentAccount", "payment_account_id"), "PAYS_WITH"),
    _link("order_addresses", "orders", ACCOUNT, ("Address", "address"), "SHIPS_TO"),
    _link("account_devices", "account_devices", ACCOUNT, ("Device", "device_id"), "USES_DEVICE",
          " SET e.first_seen = row.first_seen, e.last_seen = row.last_seen"),
    _link("account_payments", "account_payments", ACCOUNT, ("PaymentAccount", "payment_account_id"), "PAYS_WITH"),
    _link("merchant_payments", "merchant_payments", MERCHANT, ("PaymentAccount", "payment_account_id"), "OWNS"),
    Load("transfers", "transfers",
         ("transfer_key", "from_payment_account_id", "to_payment_account_id", "amount", "created_at"),
         f"UNWIND $rows AS row MERGE {_node('s', 'PaymentAccount', 'row.from_payment_account_id')} "
         f"MERGE {_node('t', 'PaymentAccount', 'row.to_payment_account_id')} "
         f"MERGE (s)-[x:{_rel('TRANSFERRED')} {{transfer_key: row.transfer_key}}]->(t) "
         "SET x.amount = row.amount, x.created_at = row.created_at"),
    _link("login_devices", "logins", ACCOUNT, ("Device", "device_id"), "USES_DEVICE"),
    _link("login_ips", "logins", ACCOUNT, ("IP", "ip"), "USES_IP"),
    Load("review_likes", "review_likes", ("account_id", "review_id", "created_at"),
         f"UNWIND $rows AS row MATCH {_node('a', 'Account', 'row.account_id')} "
         f"MATCH {_node('r', 'Review', 'row.review_id')} "
         f"MERGE (a)-[l:{_rel('LIKED')}]->(r) SET l.created_at = row.created_at"),
)

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
    return (constraint_statements() + [ld.query for ld in LOADS]
            + [RING_UPSERT, RING_MEMBERS, RING_DELETE_OTHER_RUNS, RING_MEMBER_CLEANUP]
            + [ring_evidence_statement(t) for t in EVIDENCE_TYPES] + list(SOURCE_QUERIES.values())
            + [GDS_PROJECT, GDS_LEIDEN, GDS_WCC, GDS_DROP, GDS_VERSION])
