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

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from .errors import ParameterError

Kind = Literal["id", "text", "timestamp", "rating", "amount"]


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``kind`` decides how values are parsed: ``id`` keeps strings exactly (leading
    zeros survive, surrounding whitespace is stripped), ``timestamp`` accepts ISO 8601
    with or without offset, ``YYYY-MM-DD HH:MM:SS``, compact ``YYYYMMDD`` or epoch
    seconds/milliseconds/microseconds/nanoseconds inside the accepted
    :class:`TimeRange`, ``rating`` is a number from 1 to 5, ``amount`` a finite number
    from 0 to :data:`AMOUNT_MAX` (no amount is negative: a refund is a transfer the
    other way).
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

    @property
    def canonical_order(self) -> tuple[str, ...]:
        """Columns whose sort puts the table's rows in one order whatever order they came in.

        The primary key when all of it is required (validation makes it unique), else the
        required columns: an optional key (a transfer's id) may be absent from one source
        and made up by another, and must not decide the order.

        >>> CONTRACT["reviews"].canonical_order, CONTRACT["transfers"].canonical_order[:2]
        (('review_id',), ('from_payment_account_id', 'to_payment_account_id'))
        """
        required = self.required_columns
        if self.primary_key and all(c in required for c in self.primary_key):
            return self.primary_key
        return required


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
#: Input encodings ``--encoding`` accepts (auto = UTF-8, else GB18030, the Chinese national standard).
ENCODINGS: tuple[str, ...] = ("auto", "utf-8", "gb18030", "gbk")
#: Units of numeric (epoch) timestamps ``--epoch-unit`` accepts (auto = from their magnitude).
EPOCH_UNITS: tuple[str, ...] = ("auto", "s", "ms", "us", "ns")
REQUIRED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.required)
#: Load order: a table comes after every table it references.
TABLE_ORDER: tuple[str, ...] = tuple(t.name for t in TABLES)
SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")

# ------------------------------------------------------------------ plausibility and limits
#: Largest accepted amount (currency units, or cents: either way far above any real order).
AMOUNT_MAX = 1e10
#: Longest value a single field may hold, in UTF-8 bytes; longer values are rejected.
MAX_FIELD_BYTES = 2**20
#: Longest CSV header line, in bytes (the contract's widest table needs well under 1 KiB).
MAX_HEADER_BYTES = 2**16
#: Share of a table's rows that may be rejected before ``validate`` stops calling the data usable.
USABLE_REJECT_SHARE = 0.10
#: Earliest accepted timestamp unless the user says otherwise.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
#: Latest accepted timestamp: this long after the data is loaded (clocks and zones drift).
LATEST_AFTER_NOW = dt.timedelta(days=1)


@dataclass(frozen=True)
class TimeRange:
    """The accepted time range, inclusive; timestamps outside it are rejected.

    A year-9999 review or a mis-scaled epoch is not data: kept, it would stretch every
    time axis. The default is :data:`EARLIEST` to one day after now.

    >>> now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> str(TimeRange.parse(None, now=now))
    '2000-01-01T00:00:00Z..2026-01-02T00:00:00Z'
    >>> str(TimeRange.parse("2010-01-01..", now=now))
    '2010-01-01T00:00:00Z..2026-01-02T00:00:00Z'
    >>> TimeRange.parse("2030-01-01..2020-01-01", now=now)
    Traceback (most recent call last):
    ...
    graphfraud.errors.ParameterError: --time-range '2030-01-01..2020-01-01': the start is after the end.
    """

    earliest: dt.datetime
    latest: dt.datetime

    def __str__(self) -> str:
        return f"{_iso(self.earliest)}..{_iso(self.latest)}"

    @classmethod
    def parse(cls, text: str | None, *, now: dt.datetime) -> TimeRange:
        """``START..END`` (ISO dates or date-times, UTC unless they carry an offset); either may be empty."""
        default = cls(EARLIEST, now.astimezone(dt.timezone.utc) + LATEST_AFTER_NOW)
        if text is None or text.strip() in ("", ".."):
            return default
        start, sep, end = text.partition("..")
        if not sep:
            raise ParameterError(f"--time-range {text!r}: write START..END, e.g. 2015-01-01..2026-12-31 "
                                 "(either side may be left empty for the default).")
        bounds = [_when(part, text) if part.strip() else fallback
                  for part, fallback in ((start, default.earliest), (end, default.latest))]
        if bounds[0] > bounds[1]:
            raise ParameterError(f"--time-range {text!r}: the start is after the end.")
        return cls(*bounds)


def _when(part: str, text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(part.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(
            f"--time-range {text!r}: {part.strip()!r} is not an ISO date such as 2015-01-01.") from None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
