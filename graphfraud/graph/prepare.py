"""Code a Dataset once into integer-indexed activity tables that every later stage shares.

Accounts, shops, identifier values and payment accounts become dense ``u32`` codes,
timestamps epoch seconds. Data flows one way: these tables feed the graph layers, the
candidate generators and the evidence families; nothing computed later flows back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..arrays import run_starts, stable_argsort
from ..contract import CONTRACT
from ..dataset import Dataset
from ..schema import IDENTIFIER_KINDS

U32 = pl.UInt32
#: Stands for an absent time in a min over times (and its negation in a max).
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Prepared:
    """Integer-coded views of a dataset (``a`` account, ``m`` shop, ``p`` payment account).

    Attributes
    ----------
    reviews : a, m, t, rating, r (review code), review_id, [order_id], [text]
    orders : a, m, t, o (order code), order_id, [amount], [p (payment code)]
    visits : a, m, events, first, last — one row per account and shop it acted at
    identifiers : a, kind, v (value code), first, last, uses — who used which identifier when
    identifier_values : v -> kind, value
    payment_ids : p -> payment_account_id
    payment_users : p, a — buyer accounts bound to or paying with a payment account
    payment_shops : p, m — payment accounts that belong to shops
    transfers : src, dst (payment codes), t, amount
    likes : a, r — account a liked review r
    """

    account_ids: pl.Series
    nicknames: pl.Series  # per account code, null when unknown
    shop_ids: pl.Series
    shop_names: pl.Series
    created: pl.Series  # epoch seconds per account code, null when unknown
    reviews: pl.DataFrame
    orders: pl.DataFrame
    visits: pl.DataFrame
    identifiers: pl.DataFrame
    identifier_values: pl.DataFrame
    payment_ids: pl.Series
    payment_users: pl.DataFrame
    payment_shops: pl.DataFrame
    transfers: pl.DataFrame
    likes: pl.DataFrame

    @property
    def n_accounts(self) -> int:
        return self.account_ids.len()

    @property
    def n_shops(self) -> int:
        return self.shop_ids.len()

    def events(self) -> pl.DataFrame:
        """Reviews and orders together as (a, m, t): what co-activity is measured on."""
        return pl.concat([self.reviews.select("a", "m", "t"), self.orders.select("a", "m", "t")])


def _epoch(col: str, alias: str | None = None) -> pl.Expr:
    return pl.col(col).dt.epoch("s").alias(alias or col)


def _codes(name: str, values: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({name: values}).with_row_index("_code").with_columns(pl.col("_code").cast(U32))


#: (frame, table=None) -> frame with codes added (see :func:`_lookup`).
Code = Callable[..., pl.DataFrame]


def _lookup(column: str, name: str, codes: pl.DataFrame) -> tuple[Code, bool]:
    """(frame, table) -> frame with the code ``name`` of its ``column`` added, rows with
    unknown ids dropped; and whether it keeps the frame's rows in place.

    Ids become codes by :func:`_positions`, a join on the id column alone (a join of the
    frame would gather every column, strings included, into a new frame). A table with
    repeated ids (possible for frames built in code) has no positions and is joined.

    A frame that holds the rows of the dataset's ``table`` in their order reuses that
    table's codes: orders' ids serve their shops, payments and identifiers.
    """
    ids = codes[column]
    if ids.null_count():
        return (lambda frame, table=None: frame.join(codes, on=column, how="inner")), False
    ids = ids.cast(pl.String)
    hashed = pl.DataFrame({"_h": _hash(ids), "_code": np.arange(ids.len(), dtype=np.uint32)})
    # Distinct hashes mean distinct ids: the strings are compared only when hashes repeat.
    by_hash = hashed if hashed["_h"].n_unique() == hashed.height else None
    if by_hash is None and ids.n_unique() != ids.len():
        return (lambda frame, table=None: frame.join(codes, on=column, how="inner")), False
    done: dict[str, pl.Series] = {}

    def add(frame: pl.DataFrame, table: str | None = None) -> pl.DataFrame:
        if table is None or table not in done:
            coded = _positions(frame[column].cast(pl.String), ids, by_hash).alias(name)
            if table is not None:
                done[table] = coded
        else:
            coded = done[table]
        return frame.with_columns(coded).filter(pl.col(name).is_not_null())

    return add, True


def _positions(values: pl.Series, ids: pl.Series, by_hash: pl.DataFrame | None) -> pl.Series:
    """Each value's position in ``ids`` (distinct strings), null where it is absent.

    ``by_hash`` (_h, _code): the ids' hashes, when they are distinct. The values are then
    joined on their 64-bit hash — an integer join, several times faster than one on
    strings and than a cast to an enum of the ids (0.7 s, 1.9 s and 4.8 s for the 7.5M
    orders of 1M accounts on this project's 2-core test machine) — and every value found
    is checked against the id it was given; a value whose hash is an id's but whose text
    is not (by chance or made so by whoever wrote the data) sends the column to the
    string join.
    """
    if by_hash is not None:
        found = (pl.DataFrame({"_h": _hash(values)}).join(by_hash, on="_h", how="left", maintain_order="left")
                 .select(pl.when(values.is_not_null()).then(pl.col("_code")).alias("_code"))["_code"])
        known = found.is_not_null()
        if (values.filter(known) == ids.gather(found.filter(known))).all():
            return found
    table = pl.DataFrame({"_id": ids, "_code": np.arange(ids.len(), dtype=np.uint32)})
    return pl.DataFrame({"_id": values}).join(table, on="_id", how="left", maintain_order="left")["_code"]


def prepare(ds: Dataset) -> Prepared:
    """Code ``ds`` for the graph, candidate and evidence stages.

    >>> ds = Dataset.from_frames(accounts=pl.DataFrame({"account_id": ["x", "y"]}),
    ...     merchants=pl.DataFrame({"merchant_id": ["m"]}),
    ...     reviews=pl.DataFrame({"review_id": ["r"], "account_id": ["y"], "merchant_id": ["m"],
    ...                           "rating": [5.0], "created_at": [60]}))
    >>> prep = prepare(ds)
    >>> prep.reviews.select("a", "m", "t").rows(), prep.visits.select("a", "m", "events").rows()
    ([(1, 0, 60)], [(1, 0, 1)])
    """
    accounts, merchants = _canonical(ds, "accounts"), _canonical(ds, "merchants")
    acc = accounts.select("account_id").with_row_index("a").with_columns(pl.col("a").cast(U32))
    mer = merchants.select("merchant_id").with_row_index("m").with_columns(pl.col("m").cast(U32))
    created = (accounts["created_at"].dt.epoch("s") if "created_at" in accounts.columns
               else pl.Series("created", [None] * accounts.height, dtype=pl.Int64)).alias("created")
    nicknames = (accounts["nickname"] if "nickname" in accounts.columns
                 else pl.Series("nickname", [None] * accounts.height, dtype=pl.String)).alias("nickname")
    names = (merchants["name"].fill_null(merchants["merchant_id"]) if "name" in merchants.columns
             else merchants["merchant_id"]).alias("name")

    lookups = {"account_id": _lookup("account_id", "a", acc), "merchant_id": _lookup("merchant_id", "m", mer)}
    # A table's codes are kept for its later uses only if no lookup joins (moving rows).
    in_place = all(keeps for _, keeps in lookups.values())

    def code(frame: pl.DataFrame, table: str | None = None) -> pl.DataFrame:
        """Add the codes of the frame's account and shop ids, dropping rows whose id is unknown.

        ``table``: the dataset table whose rows ``frame`` holds, in its order (a selection
        of its columns), so that its ids are coded once for all its uses.
        """
        for column, (lookup, _) in lookups.items():
            if column in frame.columns:
                frame = lookup(frame, table if in_place else None)
        return frame

    rv = ds["reviews"]
    keep = [c for c in ("order_id", "text") if c in rv.columns]
    # Reviews and orders are numbered in (time, id) order, a total order of validated rows
    # (their ids are unique), so no sort by id comes first; the sort is stable so that
    # repeated ids (frames built in code) keep the order they came in.
    reviews = (code(rv.select("review_id", "account_id", "merchant_id", "rating", "created_at", *keep), "reviews")
               .select("a", "m", _epoch("created_at", "t"), "rating", "review_id", *keep)
               .sort("t", "review_id", maintain_order=True).with_row_index("r").with_columns(pl.col("r").cast(U32)))
    pay_ids, users, shops = _payments(ds, code)
    pcode = _codes("payment_account_id", pay_ids)
    if ds.has("orders"):
        od = ds["orders"]
        extra = [c for c in ("amount", "payment_account_id") if c in od.columns]
        orders = (code(od.select("order_id", "account_id", "merchant_id", "created_at", *extra), "orders")
                  .select("a", "m", _epoch("created_at", "t"), "order_id", *extra))
        if "payment_account_id" in orders.columns:
            orders = orders.join(pcode, on="payment_account_id", how="left").rename({"_code": "p"}).drop(
                "payment_account_id")
        orders = (orders.sort("t", "order_id", maintain_order=True).with_row_index("o")
                  .with_columns(pl.col("o").cast(U32)))
    else:
        orders = pl.DataFrame(schema={"o": U32, "a": U32, "m": U32, "t": pl.Int64, "order_id": pl.String})
    events = pl.concat([reviews.select("a", "m", "t"), orders.select("a", "m", "t")])
    visits = events.group_by("a", "m").agg(pl.len().cast(pl.UInt32).alias("events"), pl.col("t").min().alias("first"),
                                           pl.col("t").max().alias("last")).sort("a", "m")

    identifiers, values = _identifiers(ds, code)
    if ds.has("transfers"):
        tr = ds["transfers"]
        transfers = (tr.select(pl.col("from_payment_account_id").alias("payment_account_id"),
                               pl.col("to_payment_account_id"), _epoch("created_at", "t"), "amount")
                     .join(pcode, on="payment_account_id").rename({"_code": "src"}).drop("payment_account_id")
                     .rename({"to_payment_account_id": "payment_account_id"})
                     .join(pcode, on="payment_account_id").rename({"_code": "dst"})
                     .select("src", "dst", "t", "amount").sort("t", "src", "dst", "amount"))
    else:
        transfers = pl.DataFrame(schema={"src": U32, "dst": U32, "t": pl.Int64, "amount": pl.Float64})
    if ds.has("review_likes"):
        likes = (code(ds["review_likes"].select("account_id", "review_id"))
                 .join(reviews.select("review_id", "r"), on="review_id").select("a", "r").unique().sort("a", "r"))
    else:
        likes = pl.DataFrame(schema={"a": U32, "r": U32})
    return Prepared(acc["account_id"], nicknames, mer["merchant_id"], names, created, reviews, orders, visits,
                    identifiers, values, pay_ids,
                    users.join(pcode, on="payment_account_id").select(pl.col("_code").alias("p"), "a")
                    .unique().sort("p", "a"),
                    shops.join(pcode, on="payment_account_id").select(pl.col("_code").alias("p"), "m").unique()
                    .sort("p", "m"), transfers, likes)


def _canonical(ds: Dataset, table: str) -> pl.DataFrame:
    """``table`` in the order of :meth:`Dataset.canonical`.

    Only the tables whose row is their code are put in that order: accounts and shops.
    Reviews and orders are numbered in (time, id) order; every other table is reduced by a
    unique, a group-by over its codes or a sort on all its columns, none of which depends
    on row order. A sorted copy of every table, all columns, was the largest part of this
    stage's peak.
    """
    frame = ds[table]
    by = [c for c in CONTRACT[table].canonical_order if c in frame.columns]
    return frame.sort(by, nulls_last=True, maintain_order=True) if by and frame.height > 1 else frame


def _identifiers(ds: Dataset, code: Code) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(a, kind, v, first, last, uses) for every identifier kind, with value codes.

    Value codes follow (kind, value) order. Each kind's values are coded once by
    :func:`string_codes`, so the strings are not carried through a two-column join of
    every (account, value) use (that join was the peak of ``prepare``).
    """
    uses: dict[str, list[tuple[str, str]]] = {}  # table -> (kind, column) of every identifier it holds
    for kind in IDENTIFIER_KINDS:
        for table, column in kind.sources:
            frame = ds.get(table)
            if frame is not None and frame.height and column in frame.columns:
                uses.setdefault(table, []).append((kind.name, column))
    by_kind: dict[str, list[pl.DataFrame]] = {}
    for table, columns in uses.items():
        frame = ds[table]
        times = []
        if table == "account_devices":
            times = [pl.col(c).dt.epoch("s").alias(n) for c, n in (("first_seen", "first"), ("last_seen", "last"))
                     if c in frame.columns]
        elif "created_at" in frame.columns and table != "accounts":
            times = [pl.col("created_at").dt.epoch("s").alias(n) for n in ("first", "last")]
        # One coding of the table's account ids serves all its identifier columns (orders hold four).
        coded_table = code(frame.select("account_id", *dict.fromkeys(c for _, c in columns), *times), table)
        for c in ("first", "last"):
            if c not in coded_table.columns:
                coded_table = coded_table.with_columns(pl.lit(None, pl.Int64).alias(c))
        for name, column in columns:
            by_kind.setdefault(name, []).append(
                coded_table.select("a", pl.col(column).cast(pl.String).alias("value"), "first", "last")
                .filter(pl.col("value").is_not_null()))
    schema = {"a": U32, "kind": pl.String, "v": U32, "first": pl.Int64, "last": pl.Int64, "uses": pl.UInt32}
    if not by_kind:
        return pl.DataFrame(schema=schema), pl.DataFrame(schema={"v": U32, "kind": pl.String, "value": pl.String})
    # Each kind is reduced on its own, right after its values are coded: kinds hold
    # disjoint, rising ranges of value codes, so the reductions come out in (v, a) order,
    # and only one kind's uses (at most a third of the 42M of 1M accounts) are held at once.
    reduced, named, offset = [], [], 0
    for name in sorted(by_kind):
        parts = by_kind.pop(name)
        codes, uniq = string_codes(pl.concat([part["value"] for part in parts]))
        coded = pl.concat([part.select("a", "first", "last") for part in parts]).with_columns(
            v=pl.Series(codes.astype(np.int64) + offset))
        del parts, codes
        reduced.append(_reduce_uses(coded).with_columns(pl.lit(name).alias("kind")))
        del coded
        named.append(uniq.to_frame("value").select(pl.lit(name).alias("kind"), "value"))
        offset += uniq.len()
    values = pl.concat(named).with_row_index("v").with_columns(pl.col("v").cast(U32))
    return pl.concat(reduced).select(list(schema)), values.select("v", "kind", "value")


def _hash(values: pl.Series) -> np.ndarray:
    """A 64-bit hash of each value (equal values, equal hashes; distinct ones may collide)."""
    return values.hash(0).to_numpy()


def string_codes(values: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Each value's position among the distinct values in sorted order, and those values:
    what ``values.unique().sort()`` and a cast to an enum of it give, for a series without
    nulls.

    Rows are put in order of their value's hash by one plain integer sort — the hash's top
    bits above the row's position, in one word — so equal values come together without a
    string hash table, an argsort or a gather of every string (polars' unique and enum
    cast of 13M identifier values took 10.8 s on this project's 2-core test machine,
    numpy's argsort of as many integers 3 s, its plain sort 0.3 s). Hashes that share
    those top bits may interleave there, so a value can form several runs of equal hashes;
    the dense rank of the runs' values gives it one code again. Every row is then checked
    against its run's value: two distinct values with one 64-bit hash (by chance or made
    so by whoever wrote the data) send the column to :func:`_exact_codes` instead.

    >>> codes, distinct = string_codes(pl.Series(["b", "a", "b", "c"]))
    >>> codes.tolist(), distinct.to_list()
    ([1, 0, 1, 2], ['a', 'b', 'c'])
    """
    n = values.len()
    bits = max(1, (n - 1).bit_length())
    if n == 0 or bits > 32:
        return _exact_codes(values)
    values = values.rechunk()  # gathers from one chunk, not several
    hashed = _hash(values)
    key = hashed >> np.uint64(bits)
    key <<= np.uint64(bits)
    key |= np.arange(n, dtype=np.uint64)
    key.sort()
    order = (key & np.uint64((1 << bits) - 1)).astype(np.int64)
    del key
    ordered = hashed[order]
    new = np.empty(n, bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    del ordered
    runs = values.gather(order[new])
    run_of = np.empty(n, np.int64)
    run_of[order] = np.cumsum(new) - 1
    del order, new
    if not (values == runs.gather(run_of)).all():
        return _exact_codes(values)
    rank = runs.rank("dense").to_numpy().astype(np.uint32) - 1
    first = np.empty(int(rank.max()) + 1, np.int64)
    first[rank] = np.arange(len(rank))
    return rank[run_of], runs.gather(first)


def _exact_codes(values: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """:func:`string_codes` by polars' unique, sort and enum cast."""
    distinct = values.unique().sort()
    return values.cast(pl.Enum(distinct)).to_physical().to_numpy().astype(np.uint32), distinct


def _reduce_uses(uses: pl.DataFrame) -> pl.DataFrame:
    """(a, v, first, last, uses) per distinct (v, a) of identifier uses (v, a, first, last),
    in (v, a) order: the earliest first, the latest last and the number of uses.

    One integer key ``v * A + a`` per use, reduced by one numpy sort and its runs: a polars
    group-by on the key and a sort of the groups took 9.4 s for the 42M uses of 1M accounts.
    """
    n_acc = int(uses.select(pl.col("a").max()).item() or 0) + 1
    key = uses["v"].to_numpy() * n_acc + uses["a"].to_numpy().astype(np.int64)
    order = stable_argsort(key)
    key = key[order]
    start = run_starts(key)
    # Absent times lose every min / max (polars ignores nulls the same way); a value whose
    # times are all absent keeps the sentinel, which becomes null again.
    first = np.minimum.reduceat(uses["first"].fill_null(_NEVER).to_numpy()[order], start) if len(key) else key
    last = np.maximum.reduceat(uses["last"].fill_null(-_NEVER).to_numpy()[order], start) if len(key) else key
    del order
    count = np.diff(np.r_[start, len(key)]).astype(np.uint32)
    key = key[start]
    return pl.DataFrame({"a": (key % n_acc).astype(np.uint32), "v": (key // n_acc).astype(np.uint32),
                         "first": first, "last": last, "uses": count},
                        schema={"a": U32, "v": U32, "first": pl.Int64, "last": pl.Int64, "uses": pl.UInt32}
                        ).with_columns(pl.when(pl.col("first") != _NEVER).then(pl.col("first")).alias("first"),
                                       pl.when(pl.col("last") != -_NEVER).then(pl.col("last")).alias("last"))


def _payments(ds: Dataset,
              code: Code) -> tuple[pl.Series, pl.DataFrame, pl.DataFrame]:
    """Every payment account id, its buyer users (p_id, a) and its shop owners (p_id, m)."""
    ids, users = [], []
    if ds.has("account_payments"):
        users.append(code(ds["account_payments"].select("account_id", "payment_account_id")))
    if ds.has("orders") and "payment_account_id" in ds["orders"].columns:
        users.append(code(ds["orders"].select("account_id", "payment_account_id"), "orders")
                     .filter(pl.col("payment_account_id").is_not_null()))
    user_frame = (pl.concat([u.select("payment_account_id", "a") for u in users]).unique() if users
                  else pl.DataFrame(schema={"payment_account_id": pl.String, "a": U32}))
    shop_frame = (code(ds["merchant_payments"].select("merchant_id", "payment_account_id"))
                  .select("payment_account_id", "m") if ds.has("merchant_payments")
                  else pl.DataFrame(schema={"payment_account_id": pl.String, "m": U32}))
    ids = [user_frame["payment_account_id"], shop_frame["payment_account_id"]]
    if ds.has("transfers"):
        ids += [ds["transfers"]["from_payment_account_id"], ds["transfers"]["to_payment_account_id"]]
    pay_ids = pl.concat([s.cast(pl.String) for s in ids]).unique().sort().alias("payment_account_id")
    return pay_ids, user_frame, shop_frame


def account_frame(prep: Prepared) -> pl.DataFrame:
    """(a, account_id, created) for joins back to readable ids."""
    return pl.DataFrame({"a": np.arange(prep.n_accounts, dtype=np.uint32), "account_id": prep.account_ids,
                         "created": prep.created})
