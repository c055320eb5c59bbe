"""The refund-for-order outcome test: calibrated for groups whose orders come in bursts
(wherever the burst falls in the data), and what its placebo windows see of a paid ring."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphfraud.dataset import Dataset
from graphfraud.detect.candidates import Candidates
from graphfraud.detect.families import Inputs, refund
from graphfraud.detect.platform import measure
from graphfraud.graph.money import MoneyParams
from graphfraud.graph.prepare import prepare

DAY = 86_400
T0 = 1_700_000_000
SPAN = 180 * DAY
N_SHOPS, N_GROUPS, GROUP, FOCUS, OTHERS = 30, 60, 6, 3, 300
RING = 10


def _market(seed: int, ring: bool, placebos: tuple[int, int] | None = None) -> Inputs:
    """Background buyers ordering at shops of their own price level all through the
    period, and receiving money unrelated to their orders (friends' transfers, red
    packets: amounts on the scale of the prices) at random times. Disjoint groups of six
    order at their three focus shops in one burst of a few days, placed anywhere in the
    period — at its start and end too, where a window can be cut short. Optionally group
    ``RING`` (its burst inside the period) is a ring: an organiser refunds each burst
    order plus a commission a day or two later."""
    rng = np.random.default_rng(seed)
    price = np.exp(rng.normal(4.0, 0.8, N_SHOPS))  # about 55 yuan, from 10 to 300
    n_acc = N_GROUPS * GROUP + OTHERS
    acc = np.arange(n_acc)
    # Everyday orders: about one a week per account, anywhere.
    n_bg = rng.poisson(SPAN / (7 * DAY), n_acc)
    oa = np.repeat(acc, n_bg)
    om = rng.integers(0, N_SHOPS, len(oa))
    ot = T0 + rng.integers(0, SPAN, len(oa))
    focus = np.stack([rng.choice(N_SHOPS, FOCUS, replace=False) for _ in range(N_GROUPS)])
    start = T0 + rng.integers(0, SPAN - 5 * DAY, N_GROUPS)
    start[:6] = T0 + np.array([0, 1, 3, -8, -6, -5]) * DAY % SPAN  # bursts at both ends
    members = acc[: N_GROUPS * GROUP].reshape(N_GROUPS, GROUP)
    ga = np.repeat(members.ravel(), FOCUS)
    gm = np.tile(focus, GROUP).ravel()
    gt = np.repeat(start, GROUP * FOCUS) + rng.integers(0, 5 * DAY, len(ga))
    a, m, t = np.concatenate([oa, ga]), np.concatenate([om, gm]), np.concatenate([ot, gt])
    amount = np.round(price[m] * np.exp(rng.normal(0, 0.3, len(a))), 2)
    # Money from friends: about one receipt a week, amounts like prices, any time.
    n_rec = rng.poisson(SPAN / (7 * DAY), n_acc)
    ra = np.repeat(acc, n_rec)
    rt = T0 + rng.integers(0, SPAN, len(ra))
    ramt = np.round(np.exp(rng.normal(4.0, 1.0, len(ra))), 2)
    src = np.array([f"friend{i}" for i in rng.integers(0, 400, len(ra))])
    if ring:
        paid = np.flatnonzero(np.isin(a, members[RING]) & (t >= start[RING]) & (t < start[RING] + 5 * DAY)
                              & np.isin(m, focus[RING]))
        ra = np.concatenate([ra, a[paid]])
        rt = np.concatenate([rt, t[paid] + rng.integers(DAY, 3 * DAY, len(paid))])
        ramt = np.concatenate([ramt, amount[paid] + rng.uniform(2, 8, len(paid)).round(2)])
        src = np.concatenate([src, np.full(len(paid), "organiser")])
    ids = np.array([f"u{i}" for i in acc])
    ds = Dataset.from_frames(
        tz="UTC",
        accounts=pl.DataFrame({"account_id": ids}),
        merchants=pl.DataFrame({"merchant_id": [f"s{i}" for i in range(N_SHOPS)]}),
        reviews=pl.DataFrame(schema={"review_id": pl.String, "account_id": pl.String, "merchant_id": pl.String,
                                     "rating": pl.Float64, "created_at": pl.Int64}),
        orders=pl.DataFrame({"order_id": [f"o{i}" for i in range(len(a))], "account_id": ids[a],
                             "merchant_id": [f"s{i}" for i in m], "amount": amount, "created_at": t}),
        account_payments=pl.DataFrame({"account_id": ids, "payment_account_id": [f"w{i}" for i in acc]}),
        transfers=pl.DataFrame({"from_payment_account_id": src, "to_payment_account_id": [f"w{i}" for i in ra],
                                "amount": ramt, "created_at": rt}))
    prep = prepare(ds)
    plat = measure(prep, MoneyParams() if placebos is None else MoneyParams(refund_placebos=placebos))
    code = dict(zip(prep.account_ids.to_list(), range(prep.account_ids.len())))
    shop = dict(zip(prep.shop_ids.to_list(), range(prep.shop_ids.len())))
    cand = pl.DataFrame({"cid": np.repeat(np.arange(N_GROUPS), GROUP).astype(np.uint32),
                         "a": np.array([code[x] for x in ids[members.ravel()]], dtype=np.uint32)})
    sources = pl.DataFrame({"cid": np.arange(N_GROUPS, dtype=np.uint32), "source": ["test"] * N_GROUPS,
                            "size": np.full(N_GROUPS, GROUP, dtype=np.uint32)})
    focus_df = pl.DataFrame({"cid": np.repeat(np.arange(N_GROUPS), FOCUS).astype(np.uint32),
                             "m": np.array([shop[f"s{i}"] for i in focus.ravel()], dtype=np.uint32)})
    return Inputs(prep, plat, Candidates(cand, sources), focus_df)


def _p(seeds, **kw) -> np.ndarray:
    frames = [refund.test(_market(seed, ring=False, **kw)).sort("cid") for seed in seeds]
    return np.concatenate([f["p_refund"].to_numpy() for f in frames])


def test_bursty_groups_without_refunds_are_calibrated():
    # Groups that burst at their shops and receive money unrelated to their orders: the
    # windows before and after a receipt see the burst alike on average, and at either
    # end of the data the shortened windows next to it are placebos.
    p = _p(range(4))
    assert p.size == 4 * N_GROUPS
    assert (p < 0.05).mean() <= 0.06, (p < 0.05).mean()
    assert (p < 0.01).mean() <= 0.02, (p < 0.01).mean()


def _at_the_start(placebos: tuple[int, int] | None = None) -> tuple[int, int, int]:
    """Receipts matching a focus-shop order in the window before them and in a placebo
    window, for the groups whose burst opens the data (groups 0-2), and the windows."""
    before = placebo = 0
    for seed in range(4):
        out = refund.test(_market(seed, ring=False, placebos=placebos)).filter(pl.col("cid") < 3)
        before += int(out["refund_at_focus"].sum())
        placebo += int(out["refund_placebo"].sum())
    back, ahead = placebos or MoneyParams().refund_placebos
    return before, placebo, back + ahead


def test_a_burst_at_the_start_of_the_data_does_not_favour_the_window_before():
    # Receipts after a burst that opens the data see it in the window before them; only
    # a placebo window further back sees it from later receipts (nothing before the
    # start can carry it into a window after). With one there, the window before gets
    # no more than its share of the matches.
    before, placebo, n = _at_the_start()
    assert before <= 1.25 * placebo / n, (before, placebo)
    # Placebos after the receipt only, as in McNemar's before/after comparison: the
    # window before takes about twice its share.
    before, placebo, n = _at_the_start((0, 1))
    assert before > 1.5 * placebo / n, (before, placebo)


def _ring(seed: int, placebos: tuple[int, int] | None = None) -> tuple[dict, pl.DataFrame]:
    out = refund.test(_market(seed, ring=True, placebos=placebos))
    return out.filter(pl.col("cid") == RING).row(0, named=True), out.filter(pl.col("cid") != RING)


@pytest.mark.parametrize("seed", [3, 11])
def test_paid_ring_is_seen_through_its_refunds(seed):
    # Six members, eighteen burst orders each refunded with a few yuan on top, among
    # friends' transfers of the same sizes: the ring stands out of every null group.
    ring, rest = _ring(seed)
    assert ring["refund_at_focus"] >= 10 and ring["refund_payers"] >= 1
    assert ring["p_refund"] < 5e-3
    assert ring["p_refund"] < rest["p_refund"].min()
    # Under the null a receipt matched in exactly one window has a chance of one in four
    # to be matched in the window before, not one in two: the same receipts weigh more.
    mcnemar, _ = _ring(seed, (0, 1))
    assert ring["p_refund"] * 5 < mcnemar["p_refund"]


def test_a_receipt_meets_only_the_orders_inside_its_windows(monkeypatch):
    # A heavy buyer with an order a day for three years and a receipt a week: matching
    # every receipt against every order of its recipient holds nine times the pairs the
    # windows can use here (a two-year export of 300,000 accounts ran out of 24 GB so).
    from graphfraud.graph import money

    days = 3 * 365
    orders = pl.DataFrame({"a": np.zeros(days, np.uint32), "o": np.arange(days, dtype=np.uint32),
                           "m": np.zeros(days, np.uint32), "t_o": T0 + np.arange(days) * DAY,
                           "amt_o": np.full(days, 50.0)})
    t = T0 + np.arange(0, days, 7) * DAY + 3_600
    rec = pl.DataFrame({"rid": np.arange(len(t), dtype=np.uint32), "a": np.zeros(len(t), np.uint32),
                        "src": np.ones(len(t), np.uint32), "t": t, "amount": np.full(len(t), 55.0),
                        "g": np.full(len(t), 30 * DAY)})
    monkeypatch.setattr(money, "REFUND_PAIRS_PER_CHUNK", 1_000)
    parts = list(money._receipts_with_orders(rec, orders, 1, 2))
    pairs = pl.concat(parts)
    gap = pairs["t"] - pairs["t_o"]
    assert len(parts) > 1 and max(p.height for p in parts) <= 1_000 + 121
    assert gap.max() <= 60 * DAY and gap.min() >= -60 * DAY
    # Every order inside a receipt's windows is there, each once.
    inside = sum(int(((orders["t_o"] >= x - 60 * DAY) & (orders["t_o"] <= x + 60 * DAY)).sum()) for x in t)
    assert pairs.height == inside == pairs.select("rid", "o").unique().height
