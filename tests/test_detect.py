"""Detection end to end: planted rings found, look-alikes alone not flagged, determinism,
the estimator contract, and random valid datasets that must never make it raise."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphfraud.dataset import Dataset
from graphfraud.detect.detector import FAMILY_NAMES, RingDetector
from graphfraud.errors import NotFittedError, ParameterError
from graphfraud.evaluate import evaluate
from graphfraud.synth import RING_KINDS


def test_planted_rings_are_recovered(fitted, synth_truth):
    det = fitted[0]
    truth, benign = synth_truth
    ev = evaluate(det.membership_, truth, benign)
    recall = dict(zip(ev.per_kind["ring_kind"], ev.per_kind["ring_recall"]))
    assert set(recall) == set(RING_KINDS)
    assert all(r == 1.0 for r in recall.values()), recall
    assert ev.account_f1 >= 0.9, ev.as_dict()


def test_benign_look_alikes_are_not_flagged(fitted, synth_truth):
    ev = evaluate(fitted[0].membership_, *synth_truth)
    flagged = ev.benign_flagged["flagged"].sum()
    assert flagged <= 0.005 * ev.benign_flagged["accounts"].sum(), ev.benign_flagged


def test_every_ring_is_a_conjunction_with_quoted_evidence(fitted):
    det = fitted[0]
    assert det.rings_.height >= 4
    assert (det.rings_["q_ring"] <= det.fdr).all()
    for row in det.rings_.iter_rows(named=True):
        # Intersection-union: an outcome family and a tie family both passed.
        assert row["p_outcome"] <= row["p_ring"] and row["p_tie"] <= row["p_ring"]
        assert row["p_ring"] == pytest.approx(max(row["p_outcome"], row["p_tie"]), rel=1e-9)
        parts = row["reasons"].split("; ")
        assert len(parts) >= 2 and all("p " in p and any(ch.isdigit() for ch in p) for p in parts), parts
        assert any(w in row["reasons"] for w in ("5-star", "receipts", "paid with a shop", "paid back")), \
            "no outcome reason"
    ring = det.ring(det.rings_["ring_id"][0])
    assert set(ring.members) == set(det.membership_.filter(pl.col("ring_id") == ring.ring_id)["account_id"])
    assert ring.q_value <= det.fdr and set(ring.families) <= set(FAMILY_NAMES) and ring.shops


def test_evidence_is_typed_and_consistent(fitted):
    det = fitted[0]
    rid = det.rings_["ring_id"][0]
    ev = det.evidence(rid)
    types = set(ev.nodes["node_type"])
    assert {"Account", "Merchant", "Review"} <= types
    ids = set(ev.nodes["node_id"])
    assert set(ev.edges["source"]) <= ids and set(ev.edges["target"]) <= ids
    members = set("Account:" + det.membership_.filter(pl.col("ring_id") == rid)["account_id"])
    assert members == set(ev.nodes.filter(pl.col("node_type") == "Account")["node_id"])
    assert ev.nodes.schema["rating"] == pl.Float64 and ev.edges.schema["count"] == pl.Int64
    g = ev.to_networkx()
    assert g.number_of_nodes() == ev.nodes.height and g.number_of_edges() == ev.edges.height


@pytest.mark.slow
def test_same_input_and_seed_give_identical_results(fitted):
    det, loaded = fitted
    for _ in range(2):
        again = RingDetector(seed=7).fit(loaded.dataset)
        assert again.rings_.equals(det.rings_)
        assert again.membership_.equals(det.membership_)
        assert again.evidence_.nodes.equals(det.evidence_.nodes)
        assert again.evidence_.edges.equals(det.evidence_.edges)


def test_progress_counts_rise_to_their_total_inside_each_long_stage(fitted):
    """A recording callback hears, inside each long stage, counts that never fall, under a
    total that never changes, ending at that total; listening changes no result."""
    det, loaded = fitted
    events: list[tuple] = []
    again = RingDetector(seed=7).fit(loaded.dataset, progress=lambda m: events.append(("stage", m)),
                                     counts=lambda *c: events.append(("count", *c)))
    assert again.rings_.equals(det.rings_) and again.membership_.equals(det.membership_)
    running, seen = None, {}
    for kind, *rest in events:
        if kind == "stage":
            running = rest[0]
            continue
        stage, done, total, unit = rest
        assert stage == running, f"{stage} counted while {running} ran"
        seen.setdefault(stage, []).append((done, total, unit))
    assert set(seen) == {"layers", "candidates", "membership", "test text"}
    for stage, ticks in seen.items():
        dones = [d for d, _, _ in ticks]
        assert len({t for _, t, _ in ticks}) == 1 and len({u for _, _, u in ticks}) == 1, stage
        assert dones[0] == 0 and dones == sorted(dones) and dones[-1] == ticks[0][1] > 0, (stage, dones)
    assert seen["layers"][-1][:2] == (5, 5) and seen["candidates"][-1][:2] == (5, 5)
    # Text progress counts the candidates whose texts were compared.
    assert seen["test text"][-1][1] <= again.n_candidates_


def test_estimator_contract(fitted):
    ds = fitted[1].dataset
    det = RingDetector(fdr=0.05, seed=1)
    assert det.get_params()["fdr"] == 0.05 and repr(det) == "RingDetector(fdr=0.05, seed=1)"
    assert det.set_params(fdr=0.02) is det and det.fdr == 0.02
    with pytest.raises(ParameterError, match="unknown parameter 'threshold'"):
        det.set_params(threshold=0.5)
    with pytest.raises(ParameterError, match=r"fdr=1\.5: must be a rate in \(0, 1\)"):
        RingDetector(fdr=1.5).fit(ds)
    with pytest.raises(ParameterError, match="min_ring_size=1"):
        RingDetector(min_ring_size=1).fit(ds)
    with pytest.raises(NotFittedError, match="not fitted"):
        RingDetector().ring("R-x")
    with pytest.raises(ParameterError, match="no flagged ring 'R-nope'"):
        fitted[0].ring("R-nope")
    summary = fitted[0].summary()
    summary["timings_s"]["extra"] = 1.0
    assert "extra" not in fitted[0].timings_, "summary() must hand out a copy"


# ---------------------------------------------------------------- look-alikes alone
def _background(n_acc: int = 400, n_shop: int = 40, seed: int = 0) -> dict[str, pl.DataFrame]:
    """Independent shoppers: orders and reviews at random shops and times."""
    rng = np.random.default_rng(seed)
    n = n_acc * 4
    acc = rng.integers(0, n_acc, n)
    t = 1_709_251_200 + rng.integers(0, 60 * 86_400, n)
    frames = {
        "accounts": pl.DataFrame({"account_id": [f"a{i}" for i in range(n_acc)],
                                  "created_at": 1_600_000_000 + rng.integers(0, 10**8, n_acc)}),
        "merchants": pl.DataFrame({"merchant_id": [f"m{i}" for i in range(n_shop)]}),
        "orders": pl.DataFrame({"order_id": [f"o{i}" for i in range(n)], "account_id": [f"a{i}" for i in acc],
                                "merchant_id": [f"m{i}" for i in rng.integers(0, n_shop, n)], "created_at": t,
                                "amount": np.round(rng.lognormal(4, 0.8, n), 2),
                                "device_id": [f"d{i}" for i in acc], "ip": [f"ip{i}" for i in acc]}),
    }
    rv = rng.random(n) < 0.5
    frames["reviews"] = pl.DataFrame({
        "review_id": [f"r{i}" for i in range(int(rv.sum()))], "account_id": frames["orders"]["account_id"].filter(rv),
        "merchant_id": frames["orders"]["merchant_id"].filter(rv),
        "rating": rng.choice([2.0, 3.0, 4.0, 5.0], int(rv.sum()), p=[.05, .1, .25, .6]),
        "created_at": t[rv] + 3 * 86_400, "order_id": frames["orders"]["order_id"].filter(rv)})
    return frames


def _add(frames: dict, name: str, extra: pl.DataFrame) -> None:
    frames[name] = pl.concat([frames[name], extra], how="diagonal_relaxed") if name in frames else extra


def _fit(frames: dict) -> RingDetector:
    return RingDetector(seed=0).fit(Dataset.from_frames(tz="UTC", **frames))


def test_family_alone_is_not_a_ring():
    f = _background()
    fam = [f"a{i}" for i in range(4)]
    _add(f, "account_devices", pl.DataFrame({"account_id": fam, "device_id": ["tablet"] * 4}))
    _add(f, "account_payments", pl.DataFrame({"account_id": fam, "payment_account_id": ["card"] * 4}))
    _add(f, "orders", pl.DataFrame({"order_id": [f"fo{i}" for i in range(12)], "account_id": fam * 3,
                                    "merchant_id": ["m1"] * 12,
                                    "created_at": [1_710_000_000 + 86_400 * i for i in range(12)],
                                    "address": ["home"] * 12, "payment_account_id": ["card"] * 12}))
    assert _fit(f).rings_.height == 0


def test_office_with_corporate_card_and_payroll_is_not_a_ring():
    """Shared card, shared IP and one payer paying everyone: ties without an outcome."""
    f = _background()
    staff = [f"a{i}" for i in range(20, 45)]
    _add(f, "account_payments", pl.DataFrame({"account_id": staff, "payment_account_id": ["corp-card"] * 25}))
    _add(f, "account_payments", pl.DataFrame({"account_id": staff,
                                              "payment_account_id": [f"own{i}" for i in range(25)]}))
    _add(f, "logins", pl.DataFrame({"account_id": staff, "created_at": [1_710_000_000 + 600 * i for i in range(25)],
                                    "ip": ["office-ip"] * 25}))
    _add(f, "transfers", pl.DataFrame({"from_payment_account_id": ["payroll"] * 25,
                                       "to_payment_account_id": [f"own{i}" for i in range(25)],
                                       "amount": [8000.0] * 25, "created_at": [1_711_000_000] * 25}))
    det = _fit(f)
    assert det.rings_.height == 0
    # The ties are real and measured; only the outcome is missing.
    tested = det.tests_
    assert tested.height == 0 or (tested["p_outcome"] > det.fdr).all()


def test_campus_ip_alone_is_not_a_ring():
    f = _background()
    students = [f"a{i}" for i in range(150)]
    _add(f, "logins", pl.DataFrame({"account_id": students, "created_at": [1_710_000_000] * 150,
                                    "ip": ["campus"] * 150}))
    assert _fit(f).rings_.height == 0


def test_flash_sale_alone_is_not_a_ring():
    f = _background()
    crowd = [f"a{i}" for i in range(200)]
    _add(f, "orders", pl.DataFrame({"order_id": [f"fs{i}" for i in range(200)], "account_id": crowd,
                                    "merchant_id": ["m3"] * 200,
                                    "created_at": [1_710_000_000 + 10 * i for i in range(200)]}))
    _add(f, "reviews", pl.DataFrame({"review_id": [f"fr{i}" for i in range(200)], "account_id": crowd,
                                     "merchant_id": ["m3"] * 200, "rating": [5.0] * 200,
                                     "created_at": [1_710_100_000 + 10 * i for i in range(200)]}))
    assert _fit(f).rings_.height == 0


def test_fans_of_one_shop_are_not_a_ring():
    """High ratings and meetings at one shop: an outcome, but no tie across shops."""
    f = _background()
    fans = [f"a{i}" for i in range(20)]
    k = 20 * 8
    _add(f, "reviews", pl.DataFrame({"review_id": [f"fan{i}" for i in range(k)], "account_id": fans * 8,
                                     "merchant_id": ["m5"] * k, "rating": [5.0] * k,
                                     "created_at": [1_710_000_000 + 86_400 * (i // 20) * 7 + i for i in range(k)]}))
    assert _fit(f).rings_.height == 0


def test_brushing_ring_in_the_same_background_is_flagged():
    """The positive control for the look-alike tests: a real conjunction is caught."""
    f = _background()
    ring = [f"a{i}" for i in range(300, 330)]
    rows = [(a, f"m{s}", 1_710_000_000 + s * 5 * 86_400 + j * 60) for s in range(8) for j, a in enumerate(ring)]
    _add(f, "reviews", pl.DataFrame({"review_id": [f"rr{i}" for i in range(len(rows))],
                                     "account_id": [r[0] for r in rows], "merchant_id": [r[1] for r in rows],
                                     "rating": [5.0] * len(rows), "created_at": [r[2] for r in rows]}))
    _add(f, "account_devices", pl.DataFrame({"account_id": ring, "device_id": [f"phone{i % 3}" for i in range(30)]}))
    det = _fit(f)
    assert det.rings_.height == 1
    assert set(det.membership_["account_id"]) == set(ring)


def _alliance(f: dict, shops: list[str], staff_per_shop: int, tag: str) -> list[str]:
    """Staff of ``shops`` (paying with their own shop's account) buying and reviewing five
    stars at the other shops, three times each over six weeks."""
    rng = np.random.default_rng(len(tag))
    staff = {m: [f"{tag}{m}s{j}" for j in range(staff_per_shop)] for m in shops}
    members = [a for m in shops for a in staff[m]]
    _add(f, "accounts", pl.DataFrame({"account_id": members, "created_at": [1_600_000_000] * len(members)}))
    _add(f, "merchant_payments", pl.DataFrame({"merchant_id": shops,
                                               "payment_account_id": [f"pay-{m}" for m in shops]}))
    rows = [(a, home, target) for home in shops for a in staff[home]
            for target in shops if target != home for _ in range(3)]
    n = len(rows)
    t = 1_709_251_200 + rng.integers(0, 42 * 86_400, n)
    ids = [f"{tag}o{i}" for i in range(n)]
    _add(f, "orders", pl.DataFrame({"order_id": ids, "account_id": [r[0] for r in rows],
                                    "merchant_id": [r[2] for r in rows], "created_at": t,
                                    "amount": np.round(rng.lognormal(4, 0.5, n), 2),
                                    "payment_account_id": [f"pay-{r[1]}" for r in rows]}))
    _add(f, "reviews", pl.DataFrame({"review_id": [f"{tag}r{i}" for i in range(n)], "account_id": [r[0] for r in rows],
                                     "merchant_id": [r[2] for r in rows], "rating": [5.0] * n,
                                     "created_at": t + 86_400, "order_id": ids}))
    return members


def test_merchant_alliance_keeps_every_shop_s_staff():
    """Two staff per shop is below the three a shared shop account needs to tie its users
    on its own; staff of allied focus shops are tied by the alliance itself."""
    f = _background()
    members = _alliance(f, ["m10", "m11", "m12", "m13"], 2, "al")
    det = _fit(f)
    assert det.rings_.height == 1
    assert set(det.membership_["account_id"]) == set(members)
    assert det.membership_["ties"].str.contains("alliance").all()


def test_two_alliances_sharing_a_shop_s_staff_stay_two_rings():
    """Two alliances that each include staff of one shop (m20) share that shop's payment
    account; neither alliance's other shops trade with the other's, so they are two rings
    and not one ring of both (the fragment merge once joined them through that account)."""
    f = _background()
    one = _alliance(f, ["m10", "m11", "m12", "m20"], 2, "al")
    two = _alliance(f, ["m13", "m14", "m15", "m20"], 2, "bl")
    det = _fit(f)
    rings = [set(g["account_id"]) for _, g in det.membership_.group_by("ring_id")]
    assert sorted(rings, key=lambda r: min(r)) == [set(one), set(two)]


def test_tie_split_keeps_untied_members_and_rejoins_what_one_candidate_holds():
    """Tie components of a group are its parts; a member without a tie and a part below
    the minimum size stay in the largest part; two parts stay one when a flagged
    candidate holds most of each and has most of its members in them."""
    from graphfraud.detect.candidates import Candidates
    from graphfraud.detect.membership import tied_parts

    u32 = pl.UInt32
    # Group 0: ring x (0-5, one phone), ring y (10-13, one payer), bystander 20 (no tie),
    # a pair 30-31 tied to each other only (below the minimum of 3).
    members = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 20, 30, 31]
    group = Candidates(pl.DataFrame({"cid": [0] * len(members), "a": members}, schema={"cid": u32, "a": u32}),
                       pl.DataFrame({"cid": [0], "source": ["test"], "size": [len(members)]},
                                    schema={"cid": u32, "source": pl.String, "size": u32}))
    tied = pl.DataFrame({"cid": [0] * 12, "a": [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 30, 31],
                         "ctx": [1] * 6 + [2] * 4 + [3] * 2}, schema={"cid": u32, "a": u32, "ctx": pl.Int64})

    def parts(flagged: dict[int, list[int]]) -> list[list[int]]:
        fl = pl.DataFrame({"cid": [c for c, acc in flagged.items() for _ in acc],
                           "a": [a for acc in flagged.values() for a in acc]}, schema={"cid": u32, "a": u32})
        out = tied_parts(group, tied, fl, min_size=3)
        return sorted(out.members.group_by("cid").agg(pl.col("a").sort())["a"].to_list())

    apart = [[0, 1, 2, 3, 4, 5, 20, 30, 31], [10, 11, 12, 13]]
    # Each ring's own candidate, and a loose one holding most of both rings but with most
    # of its members elsewhere: apart.
    assert parts({0: [0, 1, 2, 3, 4, 5], 1: [10, 11, 12, 13], 2: [1, 2, 3, 4, 11, 12, 13, *range(100, 110)]}) == apart
    # One candidate holding most of both rings, inside the group: one part.
    assert parts({0: [0, 1, 2, 3, 4, 10, 11, 12]}) == [sorted(members)]


def test_fragments_join_through_a_card_of_tied_members_only():
    """Two groups whose members share a card used only by them are one operation when
    those members are tied to their own groups; untied members (placed in a group for
    the membership test to judge) sharing a household card join nothing."""
    from types import SimpleNamespace
    from typing import cast

    from graphfraud.detect.candidates import Candidates
    from graphfraud.detect.platform import Platform
    from graphfraud.detect.steps import _merge_fragments

    u32 = pl.UInt32
    members = {0: [0, 1, 2, 3, 4, 5], 1: [10, 11, 12, 13, 14, 15]}
    groups = Candidates(pl.DataFrame({"cid": [c for c, acc in members.items() for _ in acc],
                                      "a": [a for acc in members.values() for a in acc]},
                                     schema={"cid": u32, "a": u32}),
                        pl.DataFrame({"cid": [0, 1], "source": ["test"] * 2, "size": [6, 6]},
                                     schema={"cid": u32, "source": pl.String, "size": u32}))
    card = pl.DataFrame({"a": [2, 3, 12, 13], "v": [7] * 4, "kind": ["payment"] * 4},
                        schema={"a": u32, "v": u32, "kind": pl.String})
    plat = cast(Platform, SimpleNamespace(
        identifier_users=pl.DataFrame({"v": [7], "kind": ["payment"], "users": [4]},
                                      schema={"v": u32, "kind": pl.String, "users": u32}),
        staff=pl.DataFrame(schema={"a": u32, "m": u32})))
    none = pl.DataFrame(schema={"cid": u32, "m": u32})

    def merged(tied: list[int]) -> int:
        out = _merge_fragments(groups, none, pl.DataFrame(schema={"a": u32, "m": u32, "c": u32}), card, plat,
                               pl.DataFrame(schema={"a": u32, "m": u32}), pl.DataFrame({"a": tied}, schema={"a": u32}))
        return out.n

    assert merged([0, 1, 2, 3, 10, 11, 12, 13]) == 1
    assert merged([0, 1, 10, 11, 12, 13]) == 2


def test_alliance_ties_need_both_directions_and_stay_apart_across_alliances():
    """The tie is the mutual relation between two focus shops, so a one-way buyer is not
    tied, and two alliances sharing one shop trade on different shop pairs."""
    from types import SimpleNamespace
    from typing import cast

    from graphfraud.detect.candidates import Candidates
    from graphfraud.detect.membership import alliance_ties
    from graphfraud.detect.platform import Platform

    def run(staff: list[tuple[int, int]], visits: list[tuple[int, int]], focus: list[int]) -> pl.DataFrame:
        accounts = sorted({a for a, _ in staff} | {a for a, _ in visits})
        cands = Candidates(pl.DataFrame({"cid": [0] * len(accounts), "a": accounts},
                                        schema={"cid": pl.UInt32, "a": pl.UInt32}),
                           pl.DataFrame({"cid": [0], "source": ["test"], "size": [len(accounts)]},
                                        schema={"cid": pl.UInt32, "source": pl.String, "size": pl.UInt32}))
        plat = cast(Platform, SimpleNamespace(staff=pl.DataFrame(staff, schema={"a": pl.UInt32, "m": pl.UInt32},
                                                                 orient="row")))
        return alliance_ties(cands, pl.DataFrame({"cid": [0] * len(focus), "m": focus},
                                                 schema={"cid": pl.UInt32, "m": pl.UInt32}),
                             pl.DataFrame(visits, schema={"a": pl.UInt32, "m": pl.UInt32}, orient="row"), plat)

    # Staff 0 of shop 1 buys at shop 2, staff 1 of shop 2 at shop 1: both tied, one context.
    both = run([(0, 1), (1, 2)], [(0, 2), (1, 1)], [1, 2])
    assert both["a"].sort().to_list() == [0, 1] and both["ctx"].n_unique() == 1
    # One way only: no tie.
    assert run([(0, 1), (1, 2)], [(0, 2)], [1, 2]).height == 0
    # A shop that is not a focus shop of the group does not ally.
    assert run([(0, 1), (1, 2)], [(0, 2), (1, 1)], [1]).height == 0
    # Shop 1 in two alliances (with 2, and with 3): its two staff are tied on different pairs.
    two = run([(0, 1), (1, 2), (2, 1), (3, 3)], [(0, 2), (1, 1), (2, 3), (3, 1)], [1, 2, 3])
    ctx = dict(zip(two["a"].to_list(), two["ctx"].to_list()))
    assert ctx[0] == ctx[1] and ctx[2] == ctx[3] and ctx[0] != ctx[2]


def test_money_from_a_focus_shop_through_relays_is_a_shop_money_tie():
    """A concentrated money origin ties members as 'money'; when the origin is the payment
    account of one of the group's focus shops it is also 'shop_money' (which admits a
    member seen at one focus shop); an origin most of whose recipients are outsiders
    ties nobody."""
    from types import SimpleNamespace
    from typing import cast

    from graphfraud.detect.candidates import Candidates
    from graphfraud.detect.membership import ties
    from graphfraud.detect.platform import Platform

    u32 = pl.UInt32
    members = [0, 1, 2, 3]
    cands = Candidates(pl.DataFrame({"cid": [0] * 4, "a": members}, schema={"cid": u32, "a": u32}),
                       pl.DataFrame({"cid": [0], "source": ["test"], "size": [4]},
                                    schema={"cid": u32, "source": pl.String, "size": u32}))

    def tied(recipients: int, focus: list[int]) -> dict[str, set[int]]:
        plat = cast(Platform, SimpleNamespace(
            identifier_users=pl.DataFrame(schema={"v": u32, "kind": pl.String, "users": u32}),
            origins=pl.DataFrame({"a": members, "origin": [7] * 4}, schema={"a": u32, "origin": u32}),
            origin_recipients=pl.DataFrame({"origin": [7], "recipients": [recipients]},
                                           schema={"origin": u32, "recipients": u32}),
            origin_shops=pl.DataFrame({"origin": [7], "m": [3]}, schema={"origin": u32, "m": u32}),
            staff=pl.DataFrame(schema={"a": u32, "m": u32})))
        out = ties(cands, pl.DataFrame(schema={"a": u32, "v": u32, "kind": pl.String}), plat,
                   pl.DataFrame({"cid": [0] * len(focus), "m": focus}, schema={"cid": u32, "m": u32}),
                   pl.DataFrame(schema={"a": u32, "m": u32}))
        return {t: set(out.filter(pl.col("tie") == t)["a"].to_list()) for t in out["tie"].unique().to_list()}

    assert tied(5, [3]) == {"money": set(members), "shop_money": set(members)}
    assert tied(5, [4]) == {"money": set(members)}  # the paying shop is not where the group acts
    assert tied(20, [3]) == {}  # four of twenty recipients: a payer of many, not of this group


def test_a_tie_admits_a_member_only_when_its_visit_is_while_the_group_acts():
    """Ten accounts brush five quiet shops within ten days of a two-year span. Four
    ordinary accounts share a personal identifier with them and each visit one of those
    shops once: two during the campaign stay members, two a year and a half later do not
    (one visit in two years is not evidence; the tie alone never is)."""
    from types import SimpleNamespace
    from typing import cast

    from graphfraud.detect.candidates import Candidates
    from graphfraud.detect.membership import core
    from graphfraud.detect.platform import Platform
    from graphfraud.graph.layers import segments

    rng = np.random.default_rng(3)
    day = 86_400
    rows = []
    for a in range(100, 400):  # the background: five shops each, any time in two years
        rows += [(a, int(m), int(rng.integers(0, 730 * day))) for m in rng.choice(30, 5, replace=False)]
    for a in range(100, 250):  # and regulars of the ring's shops, between its campaign and day 600
        rows += [(a, 40 + a % 5, int(rng.integers(200 * day, 590 * day)))]
    for a in range(10):
        rows += [(a, m, int(rng.integers(100 * day, 110 * day))) for m in range(40, 45) for _ in range(2)]
    for a, t in ((10, 104), (11, 107), (12, 600), (13, 650)):
        rows += [(a, 40, t * day)]
        rows += [(a, int(m), int(rng.integers(0, 730 * day))) for m in rng.choice(30, 4, replace=False)]
    events = pl.DataFrame(rows, schema={"a": pl.UInt32, "m": pl.UInt32, "t": pl.Int64}, orient="row")
    visits = events.group_by("a", "m").agg(pl.len().cast(pl.UInt32).alias("events"), pl.col("t").min().alias("first"),
                                           pl.col("t").max().alias("last")).sort("a", "m")
    plat = cast(Platform, SimpleNamespace(
        total_visits=visits.height,
        shop_visitors=visits.group_by("m").agg(pl.len().alias("d_s"), pl.col("events").sum().alias("events")),
        account_shops=visits.group_by("a").agg(pl.len().alias("d_a"), pl.col("events").sum().alias("events"))))
    u32 = pl.UInt32
    group = list(range(14))
    cands = Candidates(pl.DataFrame({"cid": [0] * 14, "a": group}, schema={"cid": u32, "a": u32}),
                       pl.DataFrame({"cid": [0], "source": ["test"], "size": [14]},
                                    schema={"cid": u32, "source": pl.String, "size": u32}))
    focus = pl.DataFrame({"cid": [0] * 5, "m": list(range(40, 45))}, schema={"cid": u32, "m": u32})
    tied = pl.DataFrame({"cid": [0] * 4, "a": [10, 11, 12, 13], "tie": ["identifier"] * 4, "ctx": [4] * 4},
                        schema={"cid": u32, "a": u32, "tie": pl.String, "ctx": pl.Int64})
    _, evidence = core(cands, focus, visits, segments(events, 16), tied, plat, min_size=3)
    assert set(evidence["a"].to_list()) == set(range(12))


# ---------------------------------------------------------------- degenerate inputs
def test_only_required_tables(fitted):
    ds = fitted[1].dataset
    small = Dataset({k: ds[k] for k in ("accounts", "merchants", "reviews")}, tz=ds.tz)
    det = RingDetector(seed=7).fit(small)
    assert det.rings_.height >= 1  # ratings, synchrony and texts still work
    assert set(det.rings_["p_rating"].drop_nulls()) and det.rings_["p_refund"].is_null().all()


def test_one_account_and_no_activity():
    det = _fit({"accounts": pl.DataFrame({"account_id": ["a"]}), "merchants": pl.DataFrame({"merchant_id": ["m"]}),
                "reviews": pl.DataFrame(schema={"review_id": pl.String, "account_id": pl.String,
                                                "merchant_id": pl.String, "rating": pl.Float64,
                                                "created_at": pl.Int64})})
    assert det.rings_.height == 0 and det.membership_.height == 0 and det.evidence_.nodes.height == 0


def test_every_account_on_one_ip():
    f = _background()
    f["orders"] = f["orders"].with_columns(pl.lit("10.0.0.1").alias("ip"))
    det = _fit(f)
    assert det.rings_.height == 0
    layer = next(x for x in det.layers_ if x["name"] == "identifier")
    assert layer["hubs_dropped"] == 0 or layer["edges"] >= 0


# ---------------------------------------------------------------- random valid datasets
@st.composite
def datasets(draw):
    n_acc = draw(st.integers(1, 25))
    n_shop = draw(st.integers(1, 4))
    accounts = [f"a{i}" for i in range(n_acc)]
    shops = [f"m{i}" for i in range(n_shop)]
    n_rv = draw(st.integers(0, 60))
    same_time = draw(st.booleans())
    t = st.integers(1_600_000_000, 1_600_000_000 + (0 if same_time else 90 * 86_400))
    reviews = pl.DataFrame({
        "review_id": [f"r{i}" for i in range(n_rv)],
        "account_id": draw(st.lists(st.sampled_from(accounts), min_size=n_rv, max_size=n_rv)),
        "merchant_id": draw(st.lists(st.sampled_from(shops), min_size=n_rv, max_size=n_rv)),
        "rating": draw(st.lists(st.sampled_from([1.0, 3.0, 5.0]), min_size=n_rv, max_size=n_rv)),
        "created_at": draw(st.lists(t, min_size=n_rv, max_size=n_rv)),
    }, schema={"review_id": pl.String, "account_id": pl.String, "merchant_id": pl.String, "rating": pl.Float64,
               "created_at": pl.Int64})
    frames = {"accounts": pl.DataFrame({"account_id": accounts}), "merchants": pl.DataFrame({"merchant_id": shops}),
              "reviews": reviews}
    if draw(st.booleans()):
        n_o = draw(st.integers(0, 40))
        frames["orders"] = pl.DataFrame({
            "order_id": [f"o{i}" for i in range(n_o)],
            "account_id": draw(st.lists(st.sampled_from(accounts), min_size=n_o, max_size=n_o)),
            "merchant_id": draw(st.lists(st.sampled_from(shops), min_size=n_o, max_size=n_o)),
            "created_at": draw(st.lists(t, min_size=n_o, max_size=n_o)),
            "amount": draw(st.lists(st.sampled_from([0.0, 9.9, 60.0]), min_size=n_o, max_size=n_o)),
            "device_id": draw(st.lists(st.sampled_from(["d0", "d1"]), min_size=n_o, max_size=n_o)),
            "payment_account_id": draw(st.lists(st.sampled_from(["p0", "p1", "shop"]), min_size=n_o, max_size=n_o)),
        }, schema={"order_id": pl.String, "account_id": pl.String, "merchant_id": pl.String,
                   "created_at": pl.Int64, "amount": pl.Float64, "device_id": pl.String,
                   "payment_account_id": pl.String})
    if draw(st.booleans()):
        frames["merchant_payments"] = pl.DataFrame({"merchant_id": [shops[0]], "payment_account_id": ["shop"]})
        n_t = draw(st.integers(0, 10))
        frames["transfers"] = pl.DataFrame({
            "from_payment_account_id": draw(st.lists(st.sampled_from(["shop", "x", "p0"]), min_size=n_t, max_size=n_t)),
            "to_payment_account_id": draw(st.lists(st.sampled_from(["p0", "p1", "x"]), min_size=n_t, max_size=n_t)),
            "amount": draw(st.lists(st.sampled_from([5.0, 60.0, 70.0]), min_size=n_t, max_size=n_t)),
            "created_at": draw(st.lists(t, min_size=n_t, max_size=n_t)),
        }, schema={"from_payment_account_id": pl.String, "to_payment_account_id": pl.String, "amount": pl.Float64,
                   "created_at": pl.Int64})
    return frames


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
@pytest.mark.slow
def test_random_valid_datasets_never_raise(frames):
    det = RingDetector(seed=0, min_ring_size=2).fit(Dataset.from_frames(tz="UTC", **frames))
    assert set(det.membership_["ring_id"]) == set(det.rings_["ring_id"])
    assert det.membership_["account_id"].is_unique().all()


@pytest.fixture
def small_market():
    """Random visits and stretches of 300 accounts at 40 shops, 60 overlapping groups and
    their focus shops: the inputs of the membership expansions, at a size the joins they
    replace can check."""
    from graphfraud.graph.layers import segments

    rng = np.random.default_rng(7)
    n = 3000
    events = pl.DataFrame({"a": rng.integers(0, 300, n), "m": rng.zipf(1.6, n) % 40,
                           "t": rng.integers(0, 10_000, n)}).cast({"a": pl.UInt32, "m": pl.UInt32})
    visits = events.group_by("a", "m").agg(pl.len().cast(pl.UInt32).alias("events"), pl.col("t").min().alias("first"),
                                           pl.col("t").max().alias("last")).sort("a", "m")
    members = (pl.DataFrame({"cid": rng.integers(0, 60, 1500), "a": rng.integers(0, 320, 1500)})
               .cast(pl.UInt32).unique().sort("cid", "a"))
    focus = pl.DataFrame({"cid": rng.integers(0, 60, 200), "m": rng.integers(0, 45, 200)}).cast(pl.UInt32).unique()
    identifiers = pl.DataFrame({"a": rng.integers(0, 300, 900), "v": rng.integers(0, 80, 900)}).cast(pl.UInt32)
    return visits, segments(events, 8), members, focus, identifiers


@pytest.mark.parametrize("chunk", [7, 4_000_000])
def test_concentrated_origins_equal_the_join_they_replace(small_market, chunk, monkeypatch):
    """Members' money origins shared by at least TIE_MIN members and half the origin's
    recipients: the chunked count gives the rows of the join and group-by."""
    from types import SimpleNamespace
    from typing import cast

    from graphfraud.detect import membership as ms
    from graphfraud.detect.platform import Platform

    _, _, members, _, _ = small_market
    rng = np.random.default_rng(11)
    origins = (pl.DataFrame({"a": rng.integers(0, 300, 2000), "origin": rng.zipf(1.4, 2000) % 90})
               .cast(pl.UInt32).unique().sort("a", "origin"))
    recipients = origins.group_by("origin").agg(pl.len().cast(pl.UInt32).alias("recipients"))
    plat = cast(Platform, SimpleNamespace(origins=origins, origin_recipients=recipients))
    monkeypatch.setattr(ms, "INCIDENCES_PER_CHUNK", chunk)
    orig = members.join(origins, on="a")
    conc = (orig.group_by("cid", "origin").agg(pl.len().alias("k")).filter(pl.col("k") >= ms.TIE_MIN)
            .join(recipients, on="origin").filter(pl.col("k") >= ms.TIE_CONCENTRATION * pl.col("recipients")))
    want = orig.join(conc.select("cid", "origin"), on=["cid", "origin"]).sort("cid", "a", "origin")
    got = ms._concentrated_origins(members, plat).sort("cid", "a", "origin")
    assert want.height > 20 and got.equals(want.select("cid", "a", "origin"))


@pytest.mark.parametrize("chunk", [7, 4_000_000])
def test_membership_expansions_equal_the_joins_they_replace(small_market, chunk, monkeypatch):
    """The offset expansions of membership give the rows of the joins of members with
    visits, stretches and identifiers, however the members are cut into chunks."""
    from graphfraud.detect import membership as ms

    visits, segs, members, focus, identifiers = small_market
    monkeypatch.setattr(ms, "INCIDENCES_PER_CHUNK", chunk)
    per_shop = members.join(visits, on="a").group_by("cid", "m").agg(pl.len().cast(pl.UInt32).alias("k"))
    assert ms._members_per_shop(members, visits).sort("cid", "m").equals(per_shop.sort("cid", "m"))

    at = ms._focus_visits(members, focus, visits)
    # Member order, and each member's visits in the table's order (by shop, here).
    joined = (members.with_row_index("row").join(visits, on="a").join(focus, on=["cid", "m"])
              .sort("row", "m").select(pl.col("row").cast(pl.Int64), pl.col("m").cast(pl.Int64), "events",
                                       "first", "last"))
    assert pl.DataFrame({"row": at.row, "m": at.m, "events": at.events, "first": at.first,
                         "last": at.last}).equals(joined)

    seg = members.join(segs.select("a", "m", "c"), on="a").join(focus, on=["cid", "m"])
    hot = seg.group_by("cid", "c").agg(pl.len().alias("kc")).filter(pl.col("kc") >= 2)
    want = seg.join(hot, on=["cid", "c"]).select("cid", "a", (pl.col("c") + 1).alias("ctx")).sort("cid", "a", "ctx")
    cid, a, ctx = ms._together_at_focus(members, focus, segs)
    got = pl.DataFrame({"cid": cid, "a": a, "ctx": ctx}).cast({"cid": pl.UInt32, "a": pl.UInt32})
    assert want.height and got.sort("cid", "a", "ctx").equals(want)

    users = identifiers.group_by("v").agg(pl.col("a").n_unique().alias("users"), pl.lit("phone").alias("kind"))
    plat = type("P", (), {"identifier_users": users})()
    ident = members.join(identifiers, on="a")
    conc = (ident.group_by("cid", "v").agg(pl.len().alias("k")).join(users, on="v")
            .filter((pl.col("k") >= ms.TIE_MIN) & (pl.col("k") >= ms.TIE_CONCENTRATION * pl.col("users"))))
    want = ident.join(conc.select("cid", "v"), on=["cid", "v"]).sort("cid", "a", "v")
    assert want.height and ms._concentrated_identifiers(members, identifiers, plat).sort("cid", "a", "v").equals(want)


def test_kahan_sums_are_compensated_left_folds_per_group():
    """Each group's sum is Kahan's, added in row order (what a polars in-memory group-by
    sum computes), not numpy's pairwise sum: the last bits of a member's expected hot
    presence do not depend on how many values its group has."""
    from graphfraud.detect.membership import _kahan_sums

    rng = np.random.default_rng(3)
    group = np.sort(rng.integers(0, 200, 5000))
    values = rng.random(5000) * rng.choice([1e-8, 1.0, 1e8], 5000)

    def kahan(v: np.ndarray) -> float:
        total = err = 0.0
        for x in v:
            y = x - err
            new = total + y
            err, total = (new - total) - y, new
        return total

    want = [kahan(values[group == g]) for g in np.unique(group)]
    assert _kahan_sums(group, values).tolist() == want
    assert _kahan_sums(group[:0], values[:0]).tolist() == []


def test_copies_of_one_ring_make_no_room_for_a_false_discovery():
    """Ten near-duplicate candidates of one ring and a look-alike at p = 0.005 among 20
    candidates: counted per candidate, BH flags the look-alike (0.005 · 20 / 11 < 0.01);
    counted per group of near-duplicates (11 groups, 2 discovered), it does not."""
    from graphfraud.detect.candidates import MEMBERS, Candidates
    from graphfraud.detect.combine import combine

    ring = [[*range(10), 10 + k] for k in range(10)]  # the same ten accounts, one extra each
    rows = [(cid, a) for cid, members in enumerate(ring) for a in members]
    rows += [(10, 100 + a) for a in range(6)]  # the look-alike
    rows += [(11 + k, 200 + 10 * k + a) for k in range(9) for a in range(6)]  # nine groups that cannot flag
    members = pl.DataFrame({"cid": [r[0] for r in rows], "a": [r[1] for r in rows]}, schema=MEMBERS)
    cands = Candidates(members, members.group_by("cid").len().rename({"len": "size"}))
    groups = cands.same_groups().sort("cid")
    assert groups["group"].n_unique() == 11
    table = pl.DataFrame({"cid": list(range(11)), "p_rating": [1e-6] * 10 + [0.005], "p_sync": [1e-9] * 11},
                         schema_overrides={"cid": pl.UInt32})
    per_candidate = combine(table, outcome=["p_rating"], ties=["p_sync"], fdr=0.01, extra_tests=9)
    assert per_candidate["flagged"].to_list() == [True] * 11
    sizes = groups.join(groups.group_by("group").len(), on="group").sort("cid").head(11)
    per_group = combine(table, outcome=["p_rating"], ties=["p_sync"], fdr=0.01,
                        groups=(sizes["group"].to_numpy(), sizes["len"].to_numpy(), 11))
    assert per_group["flagged"].to_list() == [True] * 10 + [False]


def test_near_duplicate_groups_are_stars_not_chains():
    """Windows of ten accounts sliding by three overlap their neighbours at Jaccard 7/13:
    chained, the first and the last (disjoint) would be one group."""
    from graphfraud.detect.candidates import MEMBERS, Candidates

    rows = [(w, 3 * w + k) for w in range(8) for k in range(10)]
    members = pl.DataFrame({"cid": [r[0] for r in rows], "a": [r[1] for r in rows]}, schema=MEMBERS)
    groups = Candidates(members, members.group_by("cid").len()).same_groups()
    sets = {cid: set(members.filter(pl.col("cid") == cid)["a"]) for cid in range(8)}
    assert groups["group"].n_unique() > 1
    for cid, leader in groups.rows():
        shared = len(sets[cid] & sets[leader])
        assert 2 * shared >= len(sets[cid] | sets[leader])


def test_grouped_false_discovery_rate_holds_for_groups_of_independent_copies():
    """Fifty true groups and 400 null groups of four candidates with independent uniform
    p-values: the share of false groups among the groups flagged stays at the level (the
    smallest p-value of a group, uncorrected, let about 3.5% through at 1%)."""
    from graphfraud.detect.stats import bh_grouped

    rng = np.random.default_rng(0)
    fdr, rates = 0.01, []
    group = np.r_[np.arange(50), 50 + np.repeat(np.arange(400), 4)]
    size = np.r_[np.ones(50), np.full(1600, 4.0)]
    for _ in range(300):
        p = np.r_[rng.uniform(0, 1e-5, 50), rng.uniform(0, 1, 1600)]
        flagged = bh_grouped(p, group, size, 450, fdr) <= fdr
        found = np.unique(group[flagged])
        rates.append((found >= 50).sum() / max(len(found), 1))
    assert np.mean(rates) <= 1.3 * fdr, np.mean(rates)
