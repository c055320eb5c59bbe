"""Innocent look-alikes that act together: flash sales, fan clubs, livestream sales,
group-buy teams, chain-store regulars, honest promotions and rebate-app users.

They buy at the same shops at the same time, some repeatedly, some with small cashback
from one payer; they rate like those shops' other customers do (fans and promotion buyers
somewhat happier, as in life).
"""

from __future__ import annotations

import numpy as np

from ..marketplace import DAY, HOUR
from .family import Family
from .households import _ints, _weekday_times, crowd
from .market import Zoo


def _take(z: Zoo, lo: int, hi: int, **kw) -> dict:
    return {"members": z.take(_ints(z, lo, hi), **kw)}


def _crowd(z: Zoo, lo: int, hi: int) -> dict:
    return {"members": z.take(crowd(z, lo, hi))}


def _buy(z: Zoo, acc: np.ndarray, shop: np.ndarray, t: np.ndarray, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Members buy with their own phones, IPs, wallets and addresses."""
    t = z.after_created(acc, t)
    return z.shop(acc, shop, t, z.own_device(acc), z.own_ip(acc), z.own_pay(acc), z.own_addr(acc), **kw)


def _flash_sale(z: Zoo, s: dict) -> None:
    """Hundreds buy one discounted item at a popular shop within an hour."""
    m, rng = s["members"], z.rng
    shop = z.shops_by_popularity(1, power=1.5)[0]
    t0 = z.times(1, hi=z.end - 6 * DAY)[0]
    _buy(z, m, np.full(len(m), shop), z.around(t0, HOUR, len(m)),
         amount=np.round(z.price[shop] * rng.uniform(0.3, 0.6) * np.ones(len(m)), 2), boost=rng.uniform(0, 0.1))
    z.group(m, "flash_sale")


def _fan_club(z: Zoo, s: dict) -> None:
    """Fans of one shop buy often, review more, rate higher, and like each other's reviews."""
    m, rng = s["members"], z.rng
    shop = z.shops_by_popularity(1, power=0.5)[0]
    drops = z.times(_ints(z, 2, 5), hi=z.end - 3 * DAY)
    k = rng.integers(2, 9, len(m))
    acc = np.repeat(m, k)
    on_drop = rng.random(len(acc)) < 0.5
    t = np.where(on_drop, z.around(drops[rng.integers(0, len(drops), len(acc))], 8 * HOUR), z.times(len(acc)))
    before = z.reviews.n
    _buy(z, acc, np.full(len(acc), shop), t, boost=rng.uniform(0.3, 0.6), review_p=rng.uniform(0.5, 0.85),
         p_empty=0.03, p_generic=0.15)
    new = z.reviews_since(before)
    if len(new["idx"]):
        n_likes = int(len(new["idx"]) * rng.uniform(0.5, 2.0))
        pick = rng.integers(0, len(new["idx"]), n_likes)
        liker = rng.choice(m, n_likes)
        own = liker == new["acc"][pick]
        z.like(liker[~own], new["idx"][pick[~own]], new["t"][pick[~own]], lag=3 * DAY)
    z.group(m, "fan_club")


def _livestream(z: Zoo, s: dict) -> None:
    """Evening livestream sessions: during each, a share of the regular viewers buy."""
    m, rng = s["members"], z.rng
    shop = z.shops_by_popularity(1, power=0.8)[0]
    sessions = _weekday_times(z, _ints(z, 3, 10), (19.5, 21))
    parts = [(rng.choice(m, max(5, int(len(m) * rng.uniform(0.1, 0.4))), replace=False), t0) for t0 in sessions]
    acc = np.concatenate([p for p, _ in parts])
    t = np.concatenate([z.around(t0, rng.uniform(1.5, 3) * HOUR, len(p)) for p, t0 in parts])
    _buy(z, acc, np.full(len(acc), shop), t, boost=rng.uniform(0.0, 0.2))
    z.group(m, "livestream")


def _group_buy(z: Zoo, s: dict) -> None:
    """A 拼团 team of 3-6 repeatedly buying the same item together at a handful of shops."""
    m, rng = s["members"], z.rng
    shops = z.shops_by_popularity(_ints(z, 2, 6), power=0.7)
    rounds = _ints(z, 3, 10)
    t0 = z.times(rounds)
    shop = shops[rng.integers(0, len(shops), rounds)]
    parts = [rng.choice(m, _ints(z, 2, len(m)), replace=False) for _ in range(rounds)]
    acc = np.concatenate(parts)
    r = np.repeat(np.arange(rounds), [len(p) for p in parts])
    amount = np.round(z.price[shop[r]] * rng.uniform(0.5, 0.9, rounds)[r], 2)
    _buy(z, acc, shop[r], z.around(t0[r], 40 * 60), amount=amount)
    z.group(m, "group_buy")


def _chain_regulars(z: Zoo, s: dict) -> None:
    """Regulars of a chain whose branches are separate merchants."""
    m, rng = s["members"], z.rng
    cat = int(rng.integers(0, 12))
    same = np.flatnonzero(z.category == cat)
    branches = rng.choice(same, size=min(len(same), _ints(z, 3, 6)), replace=False)
    brand = f"{['鲜果', '好邻居', '茶语', '米香', '乐购', '优品'][int(rng.integers(0, 6))]}连锁"
    for i, b in enumerate(branches):
        z.shop_names[b] = f"{brand}·{['东门', '西城', '南街', '北站', '中心', '新区'][i]}店"
    k = rng.integers(3, 12, len(m))
    acc = np.repeat(m, k)
    home_branch = branches[rng.integers(0, len(branches), len(m))]
    other = branches[rng.integers(0, len(branches), len(acc))]
    shop = np.where(rng.random(len(acc)) < 0.7, np.repeat(home_branch, k), other)
    _buy(z, acc, shop, z.times(len(acc)), boost=rng.uniform(0.1, 0.3))
    z.group(m, "chain_regulars")


def _promotion(z: Zoo, s: dict) -> None:
    """An honest promotion: many new customers over a few days, a little happier than usual."""
    m, rng = s["members"], z.rng
    shop = z.shops_by_popularity(1, power=0.4)[0]
    t0 = z.times(1, hi=z.end - 8 * DAY)[0]
    _buy(z, m, np.full(len(m), shop), z.around(t0, rng.uniform(1, 5) * DAY, len(m)),
         amount=np.round(z.price[shop] * rng.uniform(0.6, 0.85) * np.exp(rng.normal(0, 0.3, len(m))), 2),
         boost=rng.uniform(0.05, 0.2))
    z.group(m, "promotion_surge")


def _rebate_app(z: Zoo, s: dict) -> None:
    """Users of a rebate app: one payer sends a small percentage back after their orders."""
    m, rng = s["members"], z.rng
    payer = z.new("pay", 1)[0]
    k = rng.integers(1, 7, len(m))
    acc = np.repeat(m, k)
    t = z.times(len(acc))
    _, amount = _buy(z, acc, z.popular_shops(len(acc)), t)
    paid = rng.random(len(acc)) < rng.uniform(0.5, 0.9)
    t_paid = z.after_created(acc, t)[paid] + rng.integers(7 * DAY, 20 * DAY, int(paid.sum()))
    z.add_transfers(payer, z.acc["pay"][acc[paid]], np.maximum(0.01, amount[paid] * rng.uniform(0.02, 0.1)), t_paid)
    z.group(m, "rebate_app")


FAMILIES = (
    Family("flash_sale", False, _flash_sale, lambda z: _crowd(z, 100, 450), per_20k=1,
           source="秒杀: hundreds buy one discounted item at a popular shop within an hour"),
    Family("fan_club", False, _fan_club, lambda z: _take(z, 10, 40), per_20k=3,
           source="fans of one shop: frequent orders, more and happier reviews, likes among fans"),
    Family("livestream", False, _livestream, lambda z: _crowd(z, 150, 500), per_20k=1,
           source="直播带货: viewers of a shop's evening livestreams buying during the sessions"),
    Family("group_buy", False, _group_buy, lambda z: _take(z, 3, 6), per_20k=6,
           source="拼团 teams of 3-6 buying the same item together, repeatedly, at a few shops"),
    Family("chain_regulars", False, _chain_regulars, lambda z: _take(z, 15, 60), per_20k=2,
           source="regulars of a chain whose branches are separate merchants"),
    Family("promotion_surge", False, _promotion, lambda z: _crowd(z, 80, 400), per_20k=1,
           source="an honest promotion bringing hundreds of new customers in a few days"),
    Family("rebate_app", False, _rebate_app, lambda z: _crowd(z, 80, 400), per_20k=1,
           source="返利 app users: one payer returns 2-10% of their orders a week or two later"),
)
