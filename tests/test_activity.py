"""The case report's numbers and picture: daily activity against the shop baseline, the stored layout."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import polars as pl

from graphfraud.export._layout import COLLAPSE_AT, GROUP_MIN, ROLES, layout
from graphfraud.graph.activity import PAD_DAYS, ring_activity


def test_planted_ring_activity_matches_the_raw_events_and_the_shop_baseline(fitted, synth_truth):
    ds = fitted[1].dataset
    truth, _ = synth_truth
    ring = truth["ring_id"].unique().sort()[0]
    members = truth.filter(pl.col("ring_id") == ring)["account_id"].to_list()
    reviews = ds.tables["reviews"]
    shops = reviews.filter(pl.col("account_id").is_in(members))["merchant_id"].unique().sort().to_list()[:3]
    act = ring_activity(ds, members, shops)
    daily = act.daily
    assert set(daily["merchant_id"]) == set(shops)
    # Every day of the window is there once per shop, zero-filled.
    for shop in shops:
        days = act.shop(shop)["day"].to_list()
        assert days == [days[0] + timedelta(days=i) for i in range(len(days))]
        assert days[0] >= act.first - timedelta(days=PAD_DAYS) and days[-1] <= act.last + timedelta(days=PAD_DAYS)
    # Counted independently, row by row, in the platform's day.
    lo, hi = daily["day"].min(), daily["day"].max()
    member_set = set(members)
    counts = Counter()
    active = []
    for kind in ("reviews", "orders"):
        local = ds.tables[kind].filter(pl.col("merchant_id").is_in(shops)).with_columns(
            pl.col("created_at").dt.convert_time_zone(ds.tz).dt.date().alias("day"))
        for acc, shop, day in local.select("account_id", "merchant_id", "day").iter_rows():
            who = "ring" if acc in member_set else "other"
            active += [day] if who == "ring" else []
            if lo <= day <= hi:
                counts[(f"{who}_{kind}", shop, day)] += 1
    cols = ["ring_reviews", "other_reviews", "ring_orders", "other_orders"]
    for row in daily.iter_rows(named=True):
        for col in cols:
            assert row[col] == counts[(col, row["merchant_id"], row["day"])], (col, row)
    assert all(daily[c].sum() > 0 for c in cols)
    assert (act.first, act.last) == (min(active), max(active))


def test_activity_of_nobody_is_empty(fitted):
    act = ring_activity(fitted[1].dataset, [], ["no-such-shop"])
    assert act.daily.height == 0 and act.first is None


def _evidence(n_members: int = 45):
    """A ring: 25 members on device D1, 12 on IP I1, the rest only at shops; two shops, one payer."""
    accounts = [f"A{i:03d}" for i in range(n_members)]
    nodes = ([("Account:" + a, "Account", a, f"nick{a}") for a in accounts]
             + [("Merchant:M1", "Merchant", "M1", "好店一号"), ("Merchant:M2", "Merchant", "M2", "Shop Two"),
                ("Device:D1", "Device", "D1", "D1"), ("IP:I1", "IP", "I1", "I1"),
                ("PaymentAccount:P1", "PaymentAccount", "P1", "P1"), ("Review:R1", "Review", "R1", "5★")])
    edges = ([("Account:" + a, "Device:D1", "USES") for a in accounts[:25]]
             + [("Account:" + a, "IP:I1", "USES") for a in accounts[25:37]]
             + [("Account:" + a, "Merchant:M1" if i % 3 else "Merchant:M2", "REVIEWED") for i, a in enumerate(accounts)]
             + [("PaymentAccount:P1", "Account:" + accounts[0], "PAID"), ("Review:R1", "Merchant:M1", "ABOUT")])
    n = pl.DataFrame(nodes, schema=["node_id", "node_type", "key", "label"], orient="row")
    e = pl.DataFrame(edges, schema=["source", "target", "rel_type"], orient="row")
    e = e.with_columns(pl.lit(1).alias("count"))
    return n, e


def test_layout_groups_by_role_summarises_by_shared_infrastructure_and_is_deterministic():
    nodes, edges = _evidence()
    a, b = layout(nodes, edges), layout(nodes, edges)
    assert a.positions == b.positions and set(a.positions) >= set(nodes["node_id"])
    labels = {g["via"]: g for g in a.groups}
    assert labels["Device:D1"]["label"] == "25 accounts on device D1" and len(labels["Device:D1"]["members"]) == 25
    assert labels["IP:I1"]["label"] == "12 accounts on IP I1"
    # Members with no shared identifier are grouped by the shop they visit most.
    shop_groups = [g for g in a.groups if g["via"].startswith("Merchant:")]
    assert shop_groups and all(len(g["members"]) >= GROUP_MIN for g in shop_groups)
    shop_labels = " ".join(g["label"] for g in shop_groups)
    assert "accounts mostly at 好店一号" in shop_labels or "accounts mostly at Shop Two" in shop_labels
    grouped = [m for g in a.groups for m in g["members"]]
    assert len(grouped) == len(set(grouped))
    # Columns by role, left to right.
    x = {nid: a.positions[nid][0] for nid in ("Merchant:M1", "Device:D1", "PaymentAccount:P1")}
    gx = a.positions[labels["Device:D1"]["id"]][0]
    assert x["Merchant:M1"] < gx < x["Device:D1"] < x["PaymentAccount:P1"]
    assert a.labels["Merchant:M1"] == "好店一号" and a.labels["Account:A000"] == "nickA000"
    assert a.labels["Device:D1"] == "device D1" and a.roles["Device:D1"] == ROLES["Device"][1]


def test_small_rings_are_drawn_member_by_member():
    nodes, edges = _evidence(COLLAPSE_AT)
    assert layout(nodes, edges).groups == []
