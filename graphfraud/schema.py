"""The one declarative graph schema: node labels, keys, captions, colours, relationships.

It drives the Neo4j constraints and load statements, the Neo4j Browser style file, the
schema docs, the evidence node and relationship types, and the case-file colours. A
test regenerates the files in ``cypher/`` and ``docs/`` and fails when one is stale.

>>> GRAPH_SCHEMA.node("Account").key
'account_id'
>>> GRAPH_SCHEMA.relationship("MEMBER_OF").target
'Ring'
>>> [k.name for k in IDENTIFIER_KINDS]
['device', 'payment', 'address', 'phone', 'ip']
>>> identifier_kind("ip").node, identifier_kind("ip").relationship
('IP', 'USES_IP')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: What puts a node or relationship type into Neo4j: the load of the input tables
#: (``graphfraud neo4j ingest``, with or without ``--bulk``), the ring write-back
#: (``graphfraud neo4j push``), or nothing (it exists only in the run's evidence and case files).
Origin = Literal["data", "rings", "evidence"]


@dataclass(frozen=True)
class NodeType:
    name: str  # evidence node_type and Neo4j label
    key: str  # unique key property
    caption: str  # property shown in Neo4j Browser
    color: str
    description: str
    size: int = 50
    origin: Origin = "data"

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True)
class RelType:
    name: str  # evidence rel_type and Neo4j relationship type
    source: str
    target: str
    description: str
    caption: str = "<type>"
    origin: Origin = "data"

    @property
    def type(self) -> str:
        return self.name


#: Extra label on accounts that belong to a flagged ring, so the style can colour them.
RING_MEMBER_LABEL = "RingMember"


@dataclass(frozen=True)
class GraphSchema:
    nodes: tuple[NodeType, ...]
    relationships: tuple[RelType, ...]

    def node(self, name: str) -> NodeType:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"unknown node type {name!r}")

    def relationship(self, name: str) -> RelType:
        for r in self.relationships:
            if r.name == name:
                return r
        raise KeyError(f"unknown relationship type {name!r}")


GRAPH_SCHEMA = GraphSchema(
    nodes=(
        NodeType("Account", "account_id", "account_id", "#4C8EDA", "A buyer / reviewer account."),
        NodeType("Merchant", "merchant_id", "name", "#F79767", "A shop.", 60),
        NodeType("Device", "device_id", "device_id", "#8DCC93", "A phone, tablet or PC seen on accounts."),
        NodeType("PaymentAccount", "payment_account_id", "payment_account_id", "#FFC454",
                 "A card or wallet; buyers', shops' or an organiser's."),
        NodeType("Address", "address", "address", "#DA7194", "A delivery address (or its hash)."),
        NodeType("Phone", "phone", "phone", "#C990C0", "A phone number bound to an account."),
        NodeType("IP", "ip", "ip", "#A5ABB6", "An IP address seen on orders, reviews or logins.", 40),
        NodeType("Review", "review_id", "rating", "#57C7E3", "A review with its rating and text.", 35),
        NodeType("Order", "order_id", "amount", "#D9C8AE", "An order.", 35),
        NodeType("Ring", "ring_id", "ring_id", "#F16667", "A flagged collusion ring with its score and reasons.", 80,
                 "rings"),
    ),
    relationships=(
        RelType("USES_DEVICE", "Account", "Device", "The account was seen on the device."),
        RelType("PAYS_WITH", "Account", "PaymentAccount", "The account is bound to or paid with it."),
        RelType("SHIPS_TO", "Account", "Address", "The account's orders ship there."),
        RelType("HAS_PHONE", "Account", "Phone", "The account's bound phone."),
        RelType("USES_IP", "Account", "IP", "The account acted from the IP."),
        RelType("WROTE", "Account", "Review", "The account wrote the review."),
        RelType("ABOUT", "Review", "Merchant", "The review is about the shop."),
        RelType("PLACED", "Account", "Order", "The account placed the order."),
        RelType("AT", "Order", "Merchant", "The order was placed at the shop."),
        RelType("REVIEWED", "Account", "Merchant", "Aggregated: how often the account reviewed the shop.",
                origin="evidence"),
        RelType("ORDERED", "Account", "Merchant", "Aggregated: how often the account ordered at the shop.",
                origin="evidence"),
        RelType("OWNS", "Merchant", "PaymentAccount", "The shop's own payment account."),
        RelType("PAID", "PaymentAccount", "Account", "Aggregated transfers from a payer to an account.",
                origin="evidence"),
        RelType("FUNDED", "Merchant", "PaymentAccount", "Aggregated transfers from a shop to a payer (organiser).",
                origin="evidence"),
        RelType("TRANSFERRED", "PaymentAccount", "PaymentAccount", "One money transfer."),
        RelType("LIKED", "Account", "Review", "The account liked the review."),
        RelType("MEMBER_OF", "Account", "Ring",
                "The account belongs to the ring (member_evidence: its own evidence, −log10 p).", origin="rings"),
        RelType("EVIDENCE", "Ring", "*", "A shop, identifier or payer in the ring's evidence (any node type).",
                origin="rings"),
    ),
)


@dataclass(frozen=True)
class IdentifierKind:
    """A kind of identifier accounts can share: where it is read, how it is drawn, how it weighs.

    ``weight`` is the prior strength of one shared value as a tie between two accounts,
    used when the identifier layers are summed into one graph: an IP is the weakest
    identifier (proxies rotate; NATs and campuses share one), the others are personal.
    ``sensitive`` kinds are pseudonymised by ``graphfraud export --redact``.
    """

    name: str
    sources: tuple[tuple[str, str], ...]  # (contract table, column)
    node: str  # node type in GRAPH_SCHEMA
    relationship: str  # Account -> node relationship in GRAPH_SCHEMA
    noun: tuple[str, str]  # singular, plural (reasons, reports)
    weight: float = 1.0
    sensitive: bool = True


IDENTIFIER_KINDS: tuple[IdentifierKind, ...] = (
    IdentifierKind("device", (("account_devices", "device_id"), ("orders", "device_id"), ("reviews", "device_id"),
                              ("logins", "device_id")), "Device", "USES_DEVICE", ("device", "devices")),
    IdentifierKind("payment", (("account_payments", "payment_account_id"), ("orders", "payment_account_id")),
                   "PaymentAccount", "PAYS_WITH", ("payment account", "payment accounts")),
    IdentifierKind("address", (("orders", "address"),), "Address", "SHIPS_TO",
                   ("delivery address", "delivery addresses"), weight=0.8),
    IdentifierKind("phone", (("accounts", "phone"),), "Phone", "HAS_PHONE", ("phone number", "phone numbers")),
    IdentifierKind("ip", (("orders", "ip"), ("reviews", "ip"), ("logins", "ip")), "IP", "USES_IP",
                   ("IP address", "IP addresses"), weight=0.5),
)
_KINDS = {k.name: k for k in IDENTIFIER_KINDS}

#: Node types whose keys are personal identifiers (pseudonymised by ``--redact``).
SENSITIVE_NODE_TYPES: tuple[str, ...] = tuple(k.node for k in IDENTIFIER_KINDS if k.sensitive)


def identifier_kind(name: str) -> IdentifierKind:
    """The declaration of one identifier kind (``KeyError`` names the known kinds)."""
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"unknown identifier kind {name!r}; known: {', '.join(_KINDS)}") from None


#: Typed columns of evidence nodes and edges: the evidence frames, the run files, the case
#: files and the Neo4j write-back all use these (properties a type lacks stay null).
EVIDENCE_NODE_COLUMNS: dict[str, str] = {
    "ring_id": "str", "node_id": "str", "node_type": "str", "key": "str", "label": "str", "role": "str",
    "member_evidence": "float", "focus_visits": "int", "ties": "str", "created_at": "str", "rating": "float",
    "text": "str", "template": "int", "amount": "float", "ring_accounts": "int", "platform_accounts": "int",
    "hops": "int",
}
EVIDENCE_EDGE_COLUMNS: dict[str, str] = {
    "ring_id": "str", "source": "str", "target": "str", "rel_type": "str", "count": "int", "first_seen": "str",
    "last_seen": "str", "amount": "float", "five_star": "int",
}
