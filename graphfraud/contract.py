"""The input data contract: one declarative description of every table.

Everything that reads data (``validate``, ``detect``, the Neo4j ingest, the docs)
uses these specs, so the contract is stated once.

>>> CONTRACT["reviews"].required_columns
('review_id', 'account_id', 'merchant_id', 'rating', 'created_at')
>>> CONTRACT["orders"].primary_key
('order_id',)
>>> sorted(t.name for t in CONTRACT.values() if t.required)
['accounts', 'merchants', 'reviews']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["id", "text", "timestamp", "rating", "amount"]


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``kind`` decides how values are parsed: ``id`` keeps strings exactly (leading
    zeros survive, surrounding whitespace is stripped), ``timestamp`` accepts ISO 8601
    with or without offset, ``YYYY-MM-DD HH:MM:SS`` or epoch seconds/milliseconds,
    ``rating`` is a number from 1 to 5, ``amount`` any number.
    """

    name: str
    kind: Kind
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class ForeignKey:
    """``column`` must name an existing row of ``table`` (when that table is given)."""

    column: str
    table: str
    target: str


@dataclass(frozen=True)
class Table:
    """A table of the contract: its columns, key and references."""

    name: str
    columns: tuple[Column, ...]
    required: bool = False
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    description: str = ""
    column_index: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_index", {c.name: c for c in self.columns})

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, kind: Kind, required: bool = False, description: str = "") -> Column:
    return Column(name, kind, required, description)



TABLES: tuple[Table, ...] = (
    Table(
        "accounts",
        (
            _c("account_id", "id", True, "buyer / reviewer account"),
            _c("created_at", "timestamp", description="registration time"),
            _c("phone", "id", description="bound phone number (or its hash)"),
            _c("nickname", "text"),
        ),
        required=True,
        primary_key=("account_id",),
        description="Buyer and reviewer accounts.",
    ),
    Table(
        "merchants",
        (
            _c("merchant_id", "id", True, "shop"),
            _c("name", "text"),
            _c("category", "text"),
            _c("created_at", "timestamp"),
        ),
        required=True,
        primary_key=("merchant_id",),
        description="Shops that receive orders and reviews.",
    ),
    Table(
        "reviews",
        (
            _c("review_id", "id", True),
            _c("account_id", "id", True),
            _c("merchant_id", "id", True),
            _c("rating", "rating", True, "stars, 1 to 5"),
            _c("created_at", "timestamp", True),
            _c("text", "text"),
            _c("order_id", "id"),
            _c("device_id", "id"),
            _c("ip", "id"),
        ),
        required=True,
        primary_key=("review_id",),
        foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),
                      ForeignKey("merchant_id", "merchants", "merchant_id")),
        description="Reviews (ratings with optional text).",
    ),
    Table(
        "orders",
        (
            _c("order_id", "id", True),
            _c("account_id", "id", True),
            _c("merchant_id", "id", True),
            _c("created_at", "timestamp", True),
            _c("amount", "amount"),
            _c("product_id", "id"),
            _c("device_id", "id"),
            _c("ip", "id"),
            _c("payment_account_id", "id"),
            _c("address", "id", description="delivery address (or its hash)"),
        ),
        primary_key=("order_id",),
        foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),
                      ForeignKey("merchant_id", "merchants", "merchant_id")),
        description="Orders placed by accounts at merchants.",
    ),
    Table(
        "account_devices",
        (_c("account_id", "id", True), _c("device_id", "id", True),
         _c("first_seen", "timestamp"), _c("last_seen", "timestamp")),
        primary_key=("account_id", "device_id"),
        foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),),
        description="Devices an account was seen on.",
    ),
    Table(
        "account_payments",
        (_c("account_id", "id", True), _c("payment_account_id", "id", True)),
        primary_key=("account_id", "payment_account_id"),
        foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),),
        description="Payment accounts (cards, wallets) bound to buyer accounts.",
    ),
    Table(
        "merchant_payments",
        (_c("merchant_id", "id", True), _c("payment_account_id", "id", True)),
        primary_key=("merchant_id", "payment_account_id"),
        foreign_keys=(ForeignKey("merchant_id", "merchants", "merchant_id"),),
        description="Payment accounts that belong to merchants.",
    ),
    Table(
        "transfers",
        (
            _c("from_payment_account_id", "id", True),
            _c("to_payment_account_id", "id", True),
            _c("amount", "amount", True),
            _c("created_at", "timestamp", True),
            _c("transfer_id", "id"),
        ),
        primary_key=("transfer_id",),
        description="Money moved between payment accounts (refunds, red packets, P2P).",
    ),
    Table(
        "logins",
        (_c("account_id", "id", True), _c("created_at", "timestamp", True),
         _c("device_id", "id"), _c("ip", "id")),
        foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),),
        description="Login events.",
    ),
    Table(
        "review_likes",
        (_c("account_id", "id", True), _c("review_id", "id", True), _c("created_at", "timestamp")),
        primary_key=("account_id", "review_id"),
        foreign_keys=(ForeignKey("account_id", "accounts", "account_id"),
                      ForeignKey("review_id", "reviews", "review_id")),
        description="Likes ('helpful' votes) given to reviews.",
    ),
)

CONTRACT: dict[str, Table] = {t.name: t for t in TABLES}
#: The zone naive timestamps are read in unless the user says otherwise (Chinese platform exports).
DEFAULT_TZ = "Asia/Shanghai"
REQUIRED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.required)
#: Load order: a table comes after every table it references.
TABLE_ORDER: tuple[str, ...] = tuple(t.name for t in TABLES)
SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")
