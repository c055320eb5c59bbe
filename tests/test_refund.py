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
from graphfraud.graph.money import MATCH_TAU, MoneyParams
from graphfraud.graph.prepare import prepare

DAY = 86_400
T0 = 1_700_000_000
SPAN = 180 * DAY
N_SHOPS, N_GROUPS, GROUP, FOCUS, OTHERS = 30, 60, 6, 3, 300
RING = 10


def _market(seed: int, ring: bool, placebos: tuple[int, int] | None = None, returns: float = 0.0,
            extra: float = 0.0) -> Inputs:
    """Background buyers ordering at shops of their own price level all through the
    period, and receiving money unrelated to their orders (friends' transfers, red
    packets: amounts on the scale of the prices) at random times. Disjoint groups of six
    order at their three focus shops in one burst of a few days, placed anywhere in the
    period — at its start and end too, where a window can be cut short. Optionally group
    ``RING`` (its burst inside the period) is a ring: an organiser refunds each burst
    order plus a commission a day or two later. ``returns``: a platform's settlement
    account repays that share of the groups' orders, the price plus ``extra``."""
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
    if returns:
        back = np.flatnonzero(rng.random(len(a)) < returns)
        back = back[back >= len(oa)]  # the groups' burst orders
        ra = np.concatenate([ra, a[back]])
        rt = np.concatenate([rt, t[back] + rng.integers(2 * DAY, 6 * DAY, len(back))])
        ramt = np.concatenate([ramt, amount[back] + extra])
        src = np.concatenate([src, np.full(len(back), "platform-settlement")])
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


def test_a_receipt_meets_only_the_orders_it_can_match_in_its_windows(monkeypatch):
    # A heavy buyer with an order a day for three years and a receipt a week: matching
    # every receipt against every order of its recipient holds nine times the pairs the
    # windows can use here (a two-year export of 300,000 accounts ran out of 24 GB so),
    # and each window's nearest orders are all that can score a match.
    from graphfraud.graph import money

    days = 3 * 365
    orders = pl.DataFrame({"a": np.zeros(days, np.uint32), "o": np.arange(days, dtype=np.uint32),
                           "m": np.zeros(days, np.uint32), "t_o": T0 + np.arange(days) * DAY,
                           "amt_o": np.full(days, 50.0)})
    t = T0 + np.arange(0, days, 7) * DAY + 3_600
    rec = pl.DataFrame({"rid": np.arange(len(t), dtype=np.uint32), "a": np.zeros(len(t), np.uint32),
                        "src": np.ones(len(t), np.uint32), "t": t, "amount": np.full(len(t), 55.0),
                        "g": np.full(len(t), 30 * DAY), "reach": np.full(len(t), 4)})
    monkeypatch.setattr(money, "REFUND_PAIRS_PER_CHUNK", 100)
    parts = list(money._receipts_with_orders(rec, orders, 1, 2))
    pairs = pl.concat(parts)
    gap = pairs["t"] - pairs["t_o"]
    assert len(parts) > 1 and max(p.height for p in parts) <= 100 + 16
    assert gap.max() <= 60 * DAY and gap.min() >= -60 * DAY
    # Four windows of 30 daily orders each: the four nearest of each, ranked 1-4 from the
    # receipt's side, where the receipt's windows lie inside the three years.
    inside = (t - 60 * DAY >= T0) & (t + 60 * DAY <= T0 + (days - 1) * DAY)
    full = pairs.filter(pl.col("rid").is_in(rec["rid"].filter(pl.Series(inside)).implode()))
    assert full.group_by("rid", "w").agg(pl.col("rank").sort()).filter(
        pl.col("rank") != [1, 2, 3, 4]).height == 0
    assert full.height == 16 * int(inside.sum()) == full.select("rid", "o").unique().height
    nearest = full.filter(pl.col("rank") == 1)
    assert ((nearest["t"] - nearest["t_o"]).abs() <= DAY).filter(nearest["w"].is_in([0, 1])).all()


@pytest.mark.parametrize("block, chunk", [(997, 5000), (3001, 500)])
def test_receipt_blocks_and_pair_chunks_change_no_match(monkeypatch, block, chunk):
    # The receipts' windows are laid out a block at a time and their pairs matched a
    # chunk at a time: neither may change a receipt's best matches.
    from graphfraud.graph import money

    prep = _market(2, ring=True).prep
    want = money.refund_matches(prep)
    monkeypatch.setattr(money, "RECEIPTS_PER_BLOCK", block)
    monkeypatch.setattr(money, "REFUND_PAIRS_PER_CHUNK", chunk)
    got = money.refund_matches(prep)
    assert want[0].height > 1000 and want[1].height > 10
    assert got[0].equals(want[0]) and got[1].equals(want[1])


def test_matching_only_the_orders_in_reach_finds_every_match():
    # Orders at a few price points, refunds of some of them (price plus a commission) and
    # unrelated receipts: every match scoring u <= MATCH_TAU found when each receipt meets
    # every order in its windows is found when it meets only those in its reach.
    from graphfraud.graph import money

    rng = np.random.default_rng(4)
    n_o, n_r, span = 6_000, 1_500, 400 * DAY
    prices = np.round(rng.lognormal(4, 1, 40), 2)
    od = pl.DataFrame({"a": rng.integers(0, 3, n_o).astype(np.uint32), "o": np.arange(n_o, dtype=np.uint32),
                       "m": rng.integers(0, 8, n_o).astype(np.uint32),
                       "t_o": T0 + rng.integers(0, span, n_o), "amt_o": prices[rng.integers(0, 40, n_o)]})
    paid = rng.integers(0, n_o, n_r // 2)
    t = np.r_[od["t_o"].to_numpy()[paid] + rng.integers(DAY, 10 * DAY, len(paid)),
              T0 + rng.integers(0, span, n_r - len(paid))]
    amount = np.r_[od["amt_o"].to_numpy()[paid] + rng.integers(2, 12, len(paid)),
                   np.round(rng.lognormal(4, 1, n_r - len(paid)), 2)]
    a = np.r_[od["a"].to_numpy()[paid], rng.integers(0, 3, n_r - len(paid))].astype(np.uint32)
    sorted_amounts = np.sort(amount)
    first, last = int(od["t_o"].min()), int(od["t_o"].max())
    g = np.clip(np.minimum(np.minimum(30 * DAY, (t - first) // 2), (last - t) // 2), 0, None)
    above = np.searchsorted(sorted_amounts, amount, side="right")
    rec = pl.DataFrame({"i": np.arange(n_r, dtype=np.uint32), "rid": np.arange(n_r, dtype=np.uint32), "a": a,
                        "src": np.full(n_r, 99, np.uint32), "t": t, "amount": amount, "g": g, "above": above})
    od = od.with_columns(pl.Series("below", np.searchsorted(sorted_amounts, od["amt_o"].to_numpy() * 0.995 - 0.01)))
    shop_pay = pl.DataFrame({"src": [7], "m_src": [0]}, schema={"src": pl.UInt32, "m_src": pl.UInt32})

    def best(reach: np.ndarray) -> tuple[pl.DataFrame, int]:
        parts = list(money._receipts_with_orders(rec.with_columns(pl.Series("reach", reach)), od, 1, 2))
        found = pl.concat([money._best_per_window(p, shop_pay, MoneyParams(), n_r) for p in parts])
        return found.filter(pl.col("u") <= money.MATCH_TAU).sort("i", "w"), sum(p.height for p in parts)

    everything, n_all = best(np.full(n_r, 10**9))
    in_reach, n_reach = best(money._reach(sorted_amounts, amount, above))
    assert in_reach.equals(everything)
    assert everything.filter(pl.col("w") == 0).height > 100  # the refunds are matched
    assert n_reach * 4 < n_all


def test_returns_paid_out_by_a_settlement_account_are_not_refunds_for_orders():
    # Platforms that settle every return through one account of their own repay the price
    # to the cent, after the order: the window before would take every such receipt. Each
    # group has a third of its burst orders returned so; none is a ring.
    p = _p([3, 4], returns=0.35)
    assert (p < 0.01).mean() <= 0.02 and (p < 0.05).mean() <= 0.1, np.sort(p)[:10]
    # The same money with a yuan of commission on top is refund-for-order money.
    assert (_p([3, 4], returns=0.35, extra=1.0) < 0.05).mean() > 0.4


def _one_join(inp: Inputs) -> pl.DataFrame:
    """The refund test's counts by one join of every member with every receipt (the
    form the chunked test replaces: over two years it outgrew memory)."""
    focus = inp.focus.select("cid", "m").with_columns(pl.lit(True).alias("at_focus"))
    rec = (inp.cands.members.join(inp.plat.refunds.with_row_index("i"), on="a")
           .join(focus, on=["cid", "m"], how="left"))
    placebo = (inp.cands.members.join(inp.plat.refund_placebos, on="a").join(focus, on=["cid", "m"])
               .group_by("cid", "i").agg(pl.len().alias("placebo")))
    before = (pl.col("u") <= MATCH_TAU) & pl.col("at_focus").fill_null(False)
    rec = rec.join(placebo, on=["cid", "i"], how="left").with_columns(before.alias("before"))
    return rec.group_by("cid").agg(
        pl.len().alias("refund_receipts"), (pl.col("u") <= MATCH_TAU).sum().alias("refund_matched"),
        pl.col("before").sum().alias("refund_at_focus"), (pl.col("placebo") > 0).sum().alias("refund_placebo"),
        pl.col("src").filter(pl.col("before")).n_unique().alias("refund_payers"),
        pl.col("a").filter(pl.col("before")).n_unique().alias("refund_members")).sort("cid")


def overlapping(inp: Inputs) -> Inputs:
    """``inp`` with two more candidates: the ring and the next group together, and every
    group together. A member's per-account rows then count in several candidates, and
    tiny chunks split candidates apart unless they are kept whole."""
    n = inp.cands.members["cid"].max() + 1
    pair = pl.col("cid").is_in([RING, RING + 1])

    def renamed(frame: pl.DataFrame, cid: int) -> pl.DataFrame:
        return frame.with_columns(pl.lit(cid).cast(pl.UInt32).alias("cid")).unique(maintain_order=True)

    members = pl.concat([inp.cands.members, renamed(inp.cands.members.filter(pair), n),
                         renamed(inp.cands.members, n + 1)])
    focus = pl.concat([inp.focus, renamed(inp.focus.filter(pair), n), renamed(inp.focus, n + 1)])
    return Inputs(inp.prep, inp.plat, Candidates(members, inp.cands.sources), focus)


@pytest.mark.parametrize("chunk", [1, 50, refund.MATCHES_PER_CHUNK])
def test_refund_counts_equal_the_join_they_replace(monkeypatch, chunk):
    inp = overlapping(_market(1, ring=True))
    n = inp.cands.members["cid"].max() - 1
    monkeypatch.setattr(refund, "MATCHES_PER_CHUNK", chunk)
    out = refund.test(inp).sort("cid")
    want = _one_join(inp)
    assert out.height == want.height == n + 2
    assert out.drop("p_refund").to_dicts() == want.to_dicts()
    assert out.filter(pl.col("cid") == RING)["refund_at_focus"].item() > 0
    # The union's focus shops hold both groups': its members match at least as often.
    assert (out.filter(pl.col("cid") == n)["refund_at_focus"].item()
            >= out.filter(pl.col("cid").is_in([RING, RING + 1]))["refund_at_focus"].sum())
