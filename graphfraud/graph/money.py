"""Money provenance: where the money a buyer receives comes from, and what it pays back.

Payment accounts are of three kinds: a shop's own (``merchant_payments``), a buyer's
(bound to or paid with by an account), and *unbound* — bound to no person or shop:
organisers, task platforms, mules. Every transfer enters the analysis, unbound to
unbound included.

:func:`trace_origins` follows each receipt upstream, time-respecting and
amount-conserving, through unbound accounts, up to ``max_hops``; every account passed
(and the shop or buyer where tracing stops) is an *origin* of the receipt. Two buyers
refunded through different mules of one organiser share that organiser as an origin.

:func:`refund_matches` pairs each receipt with the recipient's own earlier orders: a
transfer of about the order amount plus a commission, after the order, from anyone but
the shop's exact refund, is refund-for-order money — the outcome a brushing payment
exists to produce. Its null is the platform's own distribution of receipt amounts,
independent of the recipient's orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

import numpy as np
import polars as pl

from ..arrays import expand, search_sorted
from .prepare import Prepared

DAY = 86_400
#: A receipt's match to an order counts when its score ``u`` (:func:`refund_matches`) is at
#: most this: the match is that improbable by chance. Weaker matches are no evidence for
#: any test and are not kept, which bounds the orders a receipt has to meet.
MATCH_TAU = 0.05


@dataclass(frozen=True)
class MoneyParams:
    """Tracing and matching rules (documented conventions, see docs/concepts.md).

    ``fee`` is the share a relay may keep at each hop (amounts upstream must cover the
    downstream amount less the fee); ``max_funders`` stops tracing at an account funded
    by more sources than that (a platform wallet: itself an origin, not a relay);
    commissions reported for brushing orders are a few yuan to a few tens of per cent,
    hence ``commission_rel`` / ``commission_abs``. A receipt is matched against the
    orders of the ``refund_window_days`` before it and, as placebos, against as long
    windows further before it and after it, ``refund_placebos`` on each side (see
    :func:`refund_matches`).
    """

    max_hops: int = 4
    horizon_days: float = 30.0
    fee: float = 0.2
    max_funders: int = 20
    refund_window_days: float = 30.0
    refund_placebos: tuple[int, int] = (1, 2)
    commission_rel: float = 0.3
    commission_abs: float = 50.0


def owners(prep: Prepared) -> pl.DataFrame:
    """(p, kind) for bound payment accounts: 'shop' or 'buyer' (a shop's wins)."""
    shop = prep.payment_shops.select("p").unique().with_columns(pl.lit("shop").alias("owner"))
    buyer = prep.payment_users.select("p").unique().join(shop, on="p", how="anti").with_columns(
        pl.lit("buyer").alias("owner"))
    return pl.concat([shop, buyer])


def receipts(prep: Prepared) -> pl.DataFrame:
    """Transfers into buyers' payment accounts, one row per recipient account.

    Columns: rid (transfer row), a, src, dst, t, amount.
    """
    tr = prep.transfers.with_row_index("rid")
    shop_dst = prep.payment_shops.select("p").unique()
    users = prep.payment_users.join(shop_dst, on="p", how="anti")
    return (tr.join(users.rename({"p": "dst"}), on="dst")
            .select("rid", "a", "src", "dst", "t", "amount").sort("rid", "a"))


def trace_origins(prep: Prepared, p: MoneyParams | None = None) -> pl.DataFrame:
    """(a, origin, hops): every origin of every account's receipts, nearest hop kept.

    >>> import polars as pl
    >>> from graphfraud.dataset import Dataset
    >>> ds = Dataset.from_frames(
    ...     accounts=pl.DataFrame({"account_id": ["x"]}), merchants=pl.DataFrame({"merchant_id": ["m"]}),
    ...     reviews=pl.DataFrame(schema={"review_id": pl.String, "account_id": pl.String, "merchant_id": pl.String,
    ...                                  "rating": pl.Float64, "created_at": pl.Int64}),
    ...     merchant_payments=pl.DataFrame({"merchant_id": ["m"], "payment_account_id": ["shop"]}),
    ...     account_payments=pl.DataFrame({"account_id": ["x"], "payment_account_id": ["card"]}),
    ...     transfers=pl.DataFrame({"from_payment_account_id": ["shop", "mule"],
    ...                             "to_payment_account_id": ["mule", "card"],
    ...                             "amount": [500.0, 60.0], "created_at": [100, 200]}))
    >>> from graphfraud.graph.prepare import prepare
    >>> prep = prepare(ds)
    >>> sorted((prep.payment_ids[o], h) for o, h in trace_origins(prep).select("origin", "hops").rows())
    [('mule', 1), ('shop', 2)]
    """
    p = p or MoneyParams()
    rec = receipts(prep)
    empty = pl.DataFrame(schema={"a": pl.UInt32, "origin": pl.UInt32, "hops": pl.UInt8})
    if rec.height == 0:
        return empty
    bound = owners(prep).select("p")
    # Aggregated money edges: one row per (funder, recipient account) pair.
    edges = prep.transfers.group_by("src", "dst").agg(
        pl.col("t").min().alias("t_first"), pl.col("t").max().alias("t_last"), pl.col("amount").sum().alias("total"))
    funders = edges.group_by("dst").agg(pl.len().alias("funders"))
    relays = (edges.join(bound.rename({"p": "dst"}), on="dst", how="anti")
              .join(funders.filter(pl.col("funders") <= p.max_funders).select("dst"), on="dst", how="semi"))
    horizon = int(p.horizon_days * DAY)
    frontier = rec.select("a", pl.col("src").alias("node"), pl.col("t").alias("t_ref"),
                          pl.col("amount").alias("need")).unique()
    found = [frontier.select("a", pl.col("node").alias("origin"), pl.lit(1, pl.UInt8).alias("hops"))]
    for hop in range(2, p.max_hops + 1):
        step = (frontier.join(relays, left_on="node", right_on="dst")
                .filter((pl.col("t_first") <= pl.col("t_ref")) & (pl.col("t_last") >= pl.col("t_ref") - horizon)
                        & (pl.col("total") >= (1 - p.fee) * pl.col("need"))))
        if step.height == 0:
            break
        frontier = (step.group_by("a", "src").agg(pl.min_horizontal("t_ref", "t_last").max().alias("t_ref"),
                                                  pl.col("need").min())
                    .rename({"src": "node"}))
        found.append(frontier.select("a", pl.col("node").alias("origin"), pl.lit(hop, pl.UInt8).alias("hops")))
    return (pl.concat(found).group_by("a", "origin").agg(pl.col("hops").min())
            .select(pl.col("a").cast(pl.UInt32), pl.col("origin").cast(pl.UInt32), "hops").sort("a", "origin"))


#: Columns of :func:`refund_matches`'s placebo matches.
PLACEBO_SCHEMA = pl.Schema({"i": pl.UInt32(), "a": pl.UInt32(), "src": pl.UInt32(), "m": pl.UInt32()})


def refund_matches(prep: Prepared, p: MoneyParams | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each receipt's best match to one of its recipient's orders in the window before it,
    and in each placebo window.

    A receipt (amount ``x`` at time ``t``) matches order ``o`` of the recipient when ``o``
    lies within a window and ``0 <= x - amount_o <= commission_rel * amount_o +
    commission_abs`` (the price plus a commission), unless it is a genuine return: the
    order's own shop refunding the price (within 1%), or anyone repaying it to the cent
    — a platform that settles returns through one account of its own pays them so, while
    a brushing refund carries its commission. ``u`` scores the best match: the share
    of platform receipt amounts within ``[amount_o, x]`` times the order's rank by
    closeness in time to the window's edge nearest the receipt (small is close).

    The windows are ``g`` long and tile time around the receipt: the one just before it
    (where a refund's order lies), and ``refund_placebos`` further back and as many after
    it (placebos: a refund does not pay back an order placed after it, nor, within the
    window, one placed long before). ``g`` is ``refund_window_days``, shortened near
    either end of the orders' time span so that every window lies inside it. Whatever
    the payer's amounts, the recipient's prices or their habits, a receipt unrelated to
    the recipient's orders then matches each window alike; a refund matches the one
    before. Placebos on both sides keep a burst of orders near an end of the data from
    favouring the window before: the shortened windows next to that end are the
    placebos on its side.

    Returns the receipts, one row per (receipt, recipient): ``o`` and ``m`` are the best
    order before it and its shop (``u = 1`` and nulls without a match); and the placebo
    matches, one row per receipt and placebo window where the best match scores ``u <=
    MATCH_TAU``: ``i`` (the receipt's row), its ``a`` and ``src``, and the order's shop
    ``m``. Placebo windows are listed only where they match: over two years most
    receipts match nothing, and a list of every receipt's windows was the largest table
    of the platform's measurement. Only matches with ``u <= MATCH_TAU`` are kept, so a receipt meets
    only the orders nearest it in each window that could score that well: an eligible
    order's amount mass is at least that of the amounts within half a per cent below
    ``x``, and its rank multiplies it (:func:`_reach`). A heavy buyer's receipts each
    meet a few of its orders per window, not every order of the months around them.
    """
    p = p or MoneyParams()
    rec = receipts(prep)
    back, ahead = p.refund_placebos
    schema = pl.Schema({"rid": pl.UInt32(), "a": pl.UInt32(), "src": pl.UInt32(), "t": pl.Int64(),
                        "amount": pl.Float64(), "u": pl.Float64(), "o": pl.UInt32(), "m": pl.UInt32()})
    if rec.height == 0 or "amount" not in prep.orders.columns:
        return pl.DataFrame(schema=schema), pl.DataFrame(schema=PLACEBO_SCHEMA)
    # Money sent to oneself (between one's own payment accounts) is not a refund.
    own = prep.payment_users.rename({"p": "src", "a": "a_src"})
    rec = rec.join(own, left_on=["src", "a"], right_on=["src", "a_src"], how="anti").filter(
        pl.col("amount").is_not_null() & (pl.col("amount") > 0))
    sorted_amounts = np.sort(rec["amount"].to_numpy())
    od = prep.orders.select("a", "o", "m", pl.col("t").alias("t_o"), pl.col("amount").alias("amt_o")).filter(
        pl.col("amt_o").is_not_null() & (pl.col("amt_o") > 0))
    first, last = od.select(pl.col("t_o").min().fill_null(0).alias("first"),
                            pl.col("t_o").max().fill_null(0).alias("last")).row(0)
    g = pl.min_horizontal(pl.lit(int(p.refund_window_days * DAY)), (pl.col("t") - first) // (back + 1),
                          (last - pl.col("t")) // max(ahead, 1)).clip(0, None)
    above = search_sorted(sorted_amounts, rec["amount"].to_numpy(), side="right")
    rec = rec.with_columns(g.alias("g"), pl.Series("above", above),
                           pl.Series("reach", _reach(sorted_amounts, rec["amount"].to_numpy(), above)))
    # Counted once per order and receipt, not per pair.
    od = od.with_columns(pl.Series("below", _amounts_below(sorted_amounts, od["amt_o"].to_numpy())))
    shop_pay = prep.payment_shops.rename({"p": "src", "m": "m_src"})
    rec = rec.with_row_index("i")
    parts = [_best_per_window(part, shop_pay, p, len(sorted_amounts)).filter(pl.col("u") <= MATCH_TAU)
             for part in _receipts_with_orders(rec, od, back, ahead)]
    best = (pl.concat(parts) if parts else
            pl.DataFrame(schema={"i": pl.UInt32, "w": pl.Int64, "u": pl.Float64, "o": pl.Int64, "m": pl.Int64}))
    # The best match before each receipt, scattered into one row per receipt; the placebo
    # windows' matches stay long (a cross join of receipts with windows and a list
    # aggregation peaked at 18 GB on a two-year export of 300,000 accounts, 5 M receipts).
    i, w = best["i"].to_numpy().astype(np.int64), best["w"].to_numpy()
    u, o, m = best["u"].to_numpy(), best["o"].to_numpy().astype(np.int64), best["m"].to_numpy().astype(np.int64)
    n_rec = rec.height
    before = w == 0
    u0, o0, m0 = np.ones(n_rec), np.full(n_rec, -1, np.int64), np.full(n_rec, -1, np.int64)
    u0[i[before]], o0[i[before]], m0[i[before]] = u[before], o[before], m[before]
    out = rec.select("rid", "a", "src", "t", "amount").with_columns(
        pl.Series("u", u0), pl.Series("o", o0), pl.Series("m", m0))
    out = out.with_columns(pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in ("o", "m"))
    order = out.select(pl.int_range(pl.len()).alias("row"), "rid", "a").sort("rid", "a")["row"].to_numpy()
    # Placebo matches name their receipt by its row in the sorted receipts.
    row = np.empty(n_rec, np.int64)
    row[order] = np.arange(n_rec)
    side = i[~before]
    placebos = pl.DataFrame({"i": row[side], "a": rec["a"].to_numpy()[side], "src": rec["src"].to_numpy()[side],
                             "m": m[~before]}).cast(PLACEBO_SCHEMA).sort("i", "m")
    return out[order].select(list(schema)).cast(schema), placebos



#: Receipt-order pairs held at once while matching (bounds memory: a pair's columns take
#: about 100 bytes, so about 400 MB). The chunks change no result: a receipt's pairs are
#: all in one chunk.
REFUND_PAIRS_PER_CHUNK = 4_000_000
#: Receipts whose windows are laid out at once (a few arrays of windows + 1 integers each).
RECEIPTS_PER_BLOCK = 1_000_000


def _amounts_below(sorted_amounts: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """How many platform amounts lie below ``amount`` less its margin (half a per cent and
    a cent: amounts sit on price points, so an exact match is not impossible by chance)."""
    return search_sorted(sorted_amounts, amount * 0.995 - 0.01, side="left")


def _reach(sorted_amounts: np.ndarray, x: np.ndarray, above: np.ndarray) -> np.ndarray:
    """Per receipt of amount ``x``: the most orders per window, nearest the receipt first,
    that can score ``u <= MATCH_TAU``.

    An order it can match costs at most ``x`` (the commission is never negative), so its
    amount mass (:func:`_best_per_window`) is at least the share of platform amounts in
    ``[0.995 x - 0.01, x]``, ``x`` itself among them; times the order's rank in its
    window that exceeds ``MATCH_TAU`` past ``MATCH_TAU / mass`` orders.

    >>> amounts = np.array([10.0, 20.0, 20.0, 30.0] + [50.0] * 16)
    >>> x = np.array([20.0, 50.0])
    >>> _reach(amounts, x, np.searchsorted(amounts, x, side="right")).tolist()
    [0, 0]
    >>> many = np.sort(np.r_[np.arange(1000.0), 20.0])
    >>> _reach(many, np.array([20.0]), np.searchsorted(many, [20.0], side="right")).tolist()
    [25]
    """
    least = np.maximum(above - _amounts_below(sorted_amounts, x), 1) / max(1, len(sorted_amounts))
    reach: np.ndarray = np.floor(MATCH_TAU / least + 1e-9).astype(np.int64)
    return reach


def _receipts_with_orders(rec: pl.DataFrame, od: pl.DataFrame, back: int, ahead: int) -> Iterator[pl.DataFrame]:
    """Each receipt beside the orders of its recipient it can match in each of its
    windows — the ``reach`` nearest it (:func:`_reach`) — with the window ``w`` and the
    order's ``rank`` in it, a chunk of receipts at a time.

    The orders are sorted by (account, time), so each window's orders are one range,
    found by binary search at the windows' edges: window 0 is ``[t - g, t]``, ``-j`` the
    ``j``-th further back and ``+j`` the ``j``-th after, each ranked from its edge nearest
    the receipt (the latest order first before it, the earliest first after it). The
    pairs are at most ``reach`` per window, never every order of a heavy buyer.
    """
    od = od.sort("a", "t_o", "o")
    oa, ot = od["a"].to_numpy().astype(np.int64), od["t_o"].to_numpy()
    a, t, g = rec["a"].to_numpy().astype(np.int64), rec["t"].to_numpy(), rec["g"].to_numpy()
    reach = np.where(g > 0, rec["reach"].to_numpy(), 0)
    base = int(min(ot.min(), t.min())) if len(ot) and len(t) else 0
    span = int(max(ot.max(), t.max())) - base + 1 if len(ot) and len(t) else 1
    key = oa * span + (ot - base)

    windows = np.arange(-back, ahead + 1)
    receipts = rec.drop("reach")
    # Receipts a block at a time: each receipt's window edges take (windows + 1) integers,
    # four arrays of them for 28 M receipts over two years were gigabytes.
    for b0 in range(0, len(a), RECEIPTS_PER_BLOCK):
        b1 = min(len(a), b0 + RECEIPTS_PER_BLOCK)
        yield from _block_pairs(receipts.slice(b0, b1 - b0), od, t[b0:b1], g[b0:b1], reach[b0:b1],
                                windows, ahead, partial(_positions, key, span, base, a[b0:b1]))


def _positions(key: np.ndarray, span: int, base: int, who: np.ndarray, when: np.ndarray, side: str) -> np.ndarray:
    """Where (recipient ``who``, time ``when``) falls among the orders' keys
    ``a * span + (t - base)``."""
    return search_sorted(key, who * span + np.clip(when - base, 0, span - 1), side=side)


def _block_pairs(receipts: pl.DataFrame, od: pl.DataFrame, t: np.ndarray, g: np.ndarray,
                 reach: np.ndarray, windows: np.ndarray, ahead: int,
                 at: Callable[[np.ndarray, str], np.ndarray]) -> Iterator[pl.DataFrame]:
    """:func:`_receipts_with_orders` of one block of receipts (``at``: the position among
    the orders of each of the block's recipients at a time)."""
    # Window w starts at t - (1 - w) g before the receipt (w <= 0) and at t + (w - 1) g + 1
    # after it; the last ends at t + ahead g.
    edges = np.stack([at(t - (1 - w) * g if w <= 0 else t + (w - 1) * g + 1, "left") for w in windows]
                     + [at(t + ahead * g, "right")], axis=1)
    take = np.minimum(np.diff(edges, axis=1), reach[:, None])
    first = np.where(windows[None, :] <= 0, edges[:, 1:] - take, edges[:, :-1])
    n_w = len(windows)
    count = take.sum(axis=1)
    ends = np.cumsum(count)
    cuts = np.searchsorted(ends, np.arange(1, int(ends[-1]) // REFUND_PAIRS_PER_CHUNK + 1) * REFUND_PAIRS_PER_CHUNK,
                           side="left") if len(ends) else np.zeros(0, np.int64)
    bounds = np.unique(np.r_[0, cuts + 1, len(count)]).clip(0, len(count))
    for r0, r1 in pairwise(bounds):
        slot, pos = expand(first[r0:r1].ravel(), take[r0:r1].ravel())
        if len(slot) == 0:
            continue
        row, k = slot // n_w, slot % n_w
        w = windows[k]
        # Rank 1 is the order nearest the receipt: the window's last before it, first after.
        rank = np.where(w <= 0, edges[r0:r1][row, k + 1] - pos, pos - edges[r0:r1][row, k] + 1)
        yield pl.concat([receipts.slice(int(r0), int(r1 - r0))[row], od[pos].drop("a"),
                         pl.DataFrame({"w": w, "rank": rank})], how="horizontal")


def _best_per_window(cand: pl.DataFrame, shop_pay: pl.DataFrame, p: MoneyParams, n_amounts: int) -> pl.DataFrame:
    """(i, w, u, o, m): each receipt's (row ``i``) best match in each window ``w`` that has one.

    ``above`` (per receipt) and ``below`` (per order) count the platform's receipt
    amounts up to the receipt's amount and below the order's: their difference is the
    mass of amounts within ``[amount_o, x]``.
    """
    cand = cand.with_columns((pl.col("amount") - pl.col("amt_o")).alias("diff"))
    cand = cand.join(shop_pay, left_on=["src", "m"], right_on=["src", "m_src"], how="left", coalesce=False)
    # A return: the order's shop refunding its price, or anyone repaying it to the cent (a
    # platform's settlement account pays returns out so; a brushing refund adds a commission).
    genuine = ((pl.col("m_src").is_not_null() & (pl.col("diff") <= 0.01 * pl.col("amt_o")))
               | (pl.col("diff") <= 0.005))
    close = (pl.col("diff") >= 0) & (pl.col("diff") <= pl.col("amt_o") * p.commission_rel + p.commission_abs)
    cand = cand.filter(close & ~genuine)
    mass = (cand["above"].to_numpy() - cand["below"].to_numpy()) / max(1, n_amounts)
    cand = cand.with_columns((pl.Series("mass", mass) * pl.col("rank")).clip(0, 1).alias("u"))
    return (cand.sort("i", "w", "u", "o").group_by("i", "w", maintain_order=True)
            .agg(pl.col("u").first(), pl.col("o").first().cast(pl.Int64), pl.col("m").first().cast(pl.Int64)))

