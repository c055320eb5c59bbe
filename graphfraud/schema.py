"""The one declarative graph schema: node labels, keys, captions, colours, relationships.

It drives the Neo4j constraints and load statements, the Neo4j Browser style file, the
schema docs, the evidence node and relationship types, and the case-file colours. A
test regenerates the files in ``cypher/`` and ``docs/`` and fails when one is stale.

>>> GRAPH_SCHEMA.node("Account").key
'account_id'
>>> GRAPH_SCHEMA.relationship("MEMBER_OF").target
'Ring'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeType:
    name: str  # evidence node_type and Neo4j label
    key: str  # unique key property
    caption: str  # property shown in Neo4j Browser
    color: str
    description: str
    size: int = 50

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
        NodeType("Ring", "ring_id", "ring_id", "#F16667", "A flagged collusion ring with its score and reasons.", 80),
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
        RelType("REVIEWED", "Account", "Merchant", "Aggregated: how often the account reviewed the shop."),
        RelType("ORDERED", "Account", "Merchant", "Aggregated: how often the account ordered at the shop."),
        RelType("OWNS", "Merchant", "PaymentAccount", "The shop's own payment account."),
        RelType("PAID", "PaymentAccount", "Account", "Aggregated transfers from a payer to an account."),
        RelType("FUNDED", "Merchant", "PaymentAccount", "Aggregated transfers from a shop to a payer (organiser)."),
        RelType("TRANSFERRED", "PaymentAccount", "PaymentAccount", "One money transfer."),
        RelType("LIKED", "Account", "Review", "The account liked the review."),
        RelType("MEMBER_OF", "Account", "Ring", "The account belongs to the ring (member_score)."),
        RelType("EVIDENCE", "Ring", "*", "A shop, identifier or payer in the ring's evidence (any node type)."),
    ),
)
