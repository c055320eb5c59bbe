"""Building blocks that tactic families share: who acts at which client shop, planted
reviews and ratings, cashback and its funding, likes among members, and the ordinary life
(camouflage) of accounts a ring registered itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from ..marketplace import DAY, HOUR
from . import texts as T
from .market import Zoo

Ids = np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray]


def uniform(z: Zoo, lo: float, hi: float) -> float:
    return float(z.rng.uniform(lo, hi))


def count(z: Zoo, lo: int, hi: int) -> int:
    return int(z.rng.integers(lo, hi + 1))


def stars(z: Zoo, n: int, p5: float, p3: float = 0.0) -> np.ndarray:
    """Five stars with probability ``p5``, else four (three with ``p3``)."""
    u = z.rng.random(n)
    return np.where(u < p5, 5.0, np.where(u < 1 - p3, 4.0, 3.0))


def participation(z: Zoo, n_members: int, n_shops: int, frac: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(member position, shop position) pairs: per shop a random share of the members."""
    share = z.rng.uniform(*frac, n_shops)
    take = z.rng.random((n_members, n_shops)) < share[None, :]
    # Every shop gets at least two members (one when the ring is that small).
    need = min(2, n_members)
    for s in np.flatnonzero(take.sum(axis=0) < need):
        take[z.rng.choice(n_members, need, replace=False), s] = True
    # ... and every member acts at least once (an idle member would be no ring member at all).
    idle = np.flatnonzero(~take.any(axis=1))
    take[idle, z.rng.integers(0, n_shops, len(idle))] = True
    member, shop = np.nonzero(take)
    return member, shop


def resolve(ids: Ids, pos: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Identifiers per event: an array per member, or a function of (member position, time)."""
    return ids(pos, t) if callable(ids) else np.asarray(ids)[pos]


def act(z: Zoo, members: np.ndarray, pos: np.ndarray, mer: np.ndarray, t: np.ndarray, *, dev: Ids, ip: Ids,
        pay: Ids, addr: Ids, p_review: float, delay: tuple[float, float], rating: np.ndarray | None = None,
        p5: float = 1.0, text: Callable[[np.ndarray, np.ndarray], T.Texts], amount: np.ndarray | None = None,
        orderless: float = 0.0) -> dict[str, np.ndarray]:
    """Planted orders at client shops, then planted reviews of them.

    ``pos`` indexes ``members``; ``orderless`` is the share of reviews posted without an
    order (platforms with store-visit reviews). Returns the order and review columns.
    """
    rng = z.rng
    acc = members[pos]
    t = z.after_created(acc, np.clip(np.asarray(t, np.int64), z.start, z.end - 1))
    d, i, p, a = resolve(dev, pos, t), resolve(ip, pos, t), resolve(pay, pos, t), resolve(addr, pos, t)
    with_order = rng.random(len(acc)) >= orderless
    o = np.full(len(acc), -1, np.int64)
    amt = np.zeros(len(acc))
    w = np.flatnonzero(with_order)
    if len(w):
        o[w], amt[w] = z.add_orders(acc[w], mer[w], t[w], d[w], i[w], p[w], a[w],
                                    None if amount is None else np.asarray(amount)[w])
    reviewed = rng.random(len(acc)) < p_review
    reviewed |= ~with_order
    rv = np.flatnonzero(reviewed)
    r_t = t[rv] + (rng.uniform(*delay, len(rv)) * DAY).astype(np.int64) + 300
    r_t = np.where(with_order[rv], r_t, t[rv])
    stars_ = stars(z, len(rv), p5) if rating is None else np.asarray(rating)[rv]
    first = z.reviews.n
    z.add_reviews(o[rv], acc[rv], mer[rv], r_t, stars_, d[rv], i[rv], text(stars_, mer[rv]))
    return {"order": o, "acc": acc, "pos": pos, "mer": mer, "t": t, "amount": amt, "pay": p,
            "review": np.arange(first, first + len(rv)), "review_of": rv, "review_t": r_t}


def cashback(z: Zoo, done: dict[str, np.ndarray], payer: Callable[[np.ndarray], np.ndarray] | np.ndarray, *,
             commission: tuple[float, float], visible: float, lag: tuple[float, float] = (HOUR, 2 * DAY)) -> dict:
    """Refund the reviewed orders plus a commission from the ring's payers.

    Only ``visible`` of the payments go through the platform (the rest is paid in another
    app). Returns the transfers made (``src``, ``amount``, ``t``, ``mer``).
    """
    rng = z.rng
    rv = done["review_of"]
    rv = rv[done["order"][rv] >= 0]
    rv = rv[rng.random(len(rv)) < visible]
    after = done["t"][rv] + rng.uniform(0.5 * DAY, 3 * DAY, len(rv)).astype(np.int64)
    t = after + rng.uniform(*lag, len(rv)).astype(np.int64)
    src = payer(t) if callable(payer) else np.asarray(payer)[rng.integers(0, len(payer), len(rv))]
    amount = done["amount"][rv] + rng.uniform(*commission, len(rv))
    z.add_transfers(src, done["pay"][rv], amount, t)
    return {"src": src, "amount": amount, "t": t, "mer": done["mer"][rv]}


def studio_wallets(z: Zoo, members: np.ndarray) -> tuple[str, np.ndarray, Ids]:
    """How a studio pays for its own accounts' orders, drawn per instance.

    ``topup``: the studio's payers top the accounts' wallets up before the orders;
    ``cashback``: the payers refund order plus commission after the review;
    ``cards``: a few studio cards bound to many accounts pay the orders directly;
    ``offline``: money moves outside the platform and leaves no trace here.
    Returns (mode, the studio's payer or card accounts, payment account per order).
    """
    rng = z.rng
    mode = str(rng.choice(["topup", "cashback", "cards", "offline"], p=[0.3, 0.25, 0.25, 0.2]))
    if mode == "cards":
        cards = z.new("pay", count(z, 2, 6))
        card_of = cards[rng.integers(0, len(cards), len(members))]
        z.acc_pay.add(acc=members, pay=card_of)
        own = z.acc["pay"][members]
        return mode, cards, mixed(z, uniform(z, 0.5, 0.9), per_member(card_of), per_member(own))
    return mode, z.new("pay", count(z, 1, 3)), per_member(z.acc["pay"][members])


def settle(z: Zoo, done: dict, mode: str, payers: np.ndarray) -> None:
    """The studio's money for planted orders (see :func:`studio_wallets`); client shops fund it."""
    rng = z.rng
    if mode == "offline" or not len(done["t"]):
        return
    if mode == "cashback":
        fund(z, cashback(z, done, payers, commission=(3, 15), visible=uniform(z, 0.3, 0.8)))
        return
    if mode == "cards":
        # Client shops pay the studio's business account, not the cards its accounts use.
        on_card = np.isin(done["pay"], payers) & (done["order"] >= 0)
        collector = z.new("pay", 1)
        fund(z, {"src": np.full(int(on_card.sum()), collector[0]), "amount": done["amount"][on_card],
                 "t": done["t"][on_card], "mer": done["mer"][on_card]})
        return
    # Top-ups: one transfer per account and week, before that week's first planted order, in
    # round sums; part of the accounts are recharged with gift cards instead (no transfer).
    week = (done["t"] - z.start) // (7 * DAY)
    key = done["acc"] * 10_000 + week
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    total = np.ceil(np.bincount(inv, weights=done["amount"]) / 50) * 50
    t_first = np.full(len(uniq), np.iinfo(np.int64).max)
    np.minimum.at(t_first, inv, done["t"])
    shown = rng.random(len(uniq)) < uniform(z, 0.2, 0.7)
    first, total, t_first = first[shown], total[shown], t_first[shown]
    src = payers[rng.integers(0, len(payers), len(first))]
    when = t_first - rng.integers(HOUR, 2 * DAY, len(first))
    z.add_transfers(src, z.acc["pay"][done["acc"][first]], total, when)
    fund(z, {"src": src, "amount": total, "t": when, "mer": done["mer"][first]})


def fund(z: Zoo, paid: dict, markup: tuple[float, float] = (1.05, 1.3)) -> None:
    """Client shops pay the ring's payers for the cashback they advanced, in a few lump sums."""
    if not len(paid["src"]):
        return
    frame = pl.DataFrame({"mer": paid["mer"], "src": paid["src"], "amount": paid["amount"], "t": paid["t"]})
    lumps = frame.group_by("mer", "src").agg(pl.col("amount").sum(), pl.col("t").min()).sort("mer", "src")
    k = lumps.height
    z.add_transfers(z.shop_pay[lumps["mer"].to_numpy()], lumps["src"].to_numpy(),
                    lumps["amount"].to_numpy() * z.rng.uniform(*markup, k),
                    lumps["t"].to_numpy() - z.rng.integers(HOUR, 5 * DAY, k))


def mutual_likes(z: Zoo, members: np.ndarray, done: dict, share: float, per: tuple[int, int] = (1, 3)) -> None:
    """Members like a share of each other's planted reviews."""
    rng = z.rng
    chosen = np.flatnonzero(rng.random(len(done["review"])) < share)
    if not len(chosen) or len(members) < 2:
        return
    k = rng.integers(per[0], per[1] + 1, len(chosen))
    rev = np.repeat(chosen, k)
    liker = members[rng.integers(0, len(members), len(rev))]
    author = done["acc"][done["review_of"][rev]]
    ok = liker != author
    z.like(liker[ok], done["review"][rev[ok]], done["review_t"][rev[ok]], lag=rng.uniform(0.2, 3) * DAY)


def life(z: Zoo, members: np.ndarray, *, scale: float, lo: float | None = None, dev: Ids | None = None,
         ip: Ids | None = None, pay: Ids | None = None, addr: Ids | None = None,
         logins_per_month: float = 0.8, person: bool = False) -> None:
    """Ordinary orders and logins of ring-registered accounts, as many as a typical person's.

    ``scale`` multiplies the background's activity; identifiers default to the accounts' own.
    ``person``: the account belongs to a real person (staff, writers), who also sends and
    receives everyday P2P money like everyone else.
    """
    rng, cfg = z.rng, z.cfg
    if person:
        z.everyday_money(members)
    lo = z.start if lo is None else lo
    months = max(0.5, (z.end - lo) / (30 * DAY))
    act = z.acc["activity"][members] / np.exp(0.5)  # log-normal(0, 1) has mean e**0.5
    k = 1 + rng.poisson(act * max(cfg.orders_per_month - 0.3, 0.1) * months * scale)
    rep = np.repeat(np.arange(len(members)), k)
    if len(rep):
        a = members[rep]
        t = z.after_created(a, z.times(len(rep), lo))
        mer = np.where(rng.random(len(rep)) < 0.22, z.acc["fav"][a], z.popular_shops(len(rep)))
        pick = lambda given, own: own(a) if given is None else resolve(given, rep, t)  # noqa: E731
        z.shop(a, mer, t, pick(dev, z.own_device), pick(ip, z.own_ip), z.paid_by_others(pick(pay, z.own_pay)),
               pick(addr, z.own_addr))
    n_login = 1 + rng.poisson(act * logins_per_month * months)
    rep = np.repeat(np.arange(len(members)), n_login)
    a = members[rep]
    t = z.after_created(a, z.times(len(rep), lo))
    z.add_logins(a, t, z.own_device(a) if dev is None else resolve(dev, rep, t),
                 z.own_ip(a) if ip is None else resolve(ip, rep, t))


def campaign_times(z: Zoo, shop_pos: np.ndarray, n_shops: int, span: tuple[float, float],
                   lo: float | None = None, margin: float = 6 * DAY) -> np.ndarray:
    """Per client shop a campaign start and span; each event at a random moment of its shop's campaign."""
    rng = z.rng
    lo = z.start if lo is None else lo
    length = rng.uniform(*span, n_shops)
    latest = np.maximum(lo + 1, z.end - margin - length)
    start = lo + (rng.random(n_shops) * (latest - lo)).astype(np.int64)
    return (start[shop_pos] + rng.random(len(shop_pos)) * length[shop_pos]).astype(np.int64)


def per_shop(shops: np.ndarray, make: Callable[[np.ndarray, np.ndarray], T.Texts]
             ) -> Callable[[np.ndarray, np.ndarray], T.Texts]:
    """Texts written per client shop (each shop's campaign has its own brief or script).

    ``make(ratings, shop_positions)`` writes the texts given each review's position in ``shops``.
    """
    order = np.argsort(shops)

    def text(rating: np.ndarray, mer: np.ndarray) -> T.Texts:
        pos = np.minimum(np.searchsorted(shops[order], mer), len(shops) - 1)
        return make(rating, order[pos])
    return text


def per_member(values: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Identifiers fixed per member position."""
    return lambda pos, t: np.asarray(values)[pos]


def from_pool(z: Zoo, pool: np.ndarray, sticky: float = DAY) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Proxy exits from ``pool``: one per member and ``sticky`` period (a session), rotating after."""
    pool = np.asarray(pool)
    salt = int(z.rng.integers(0, 1 << 20))
    return lambda pos, t: pool[(np.asarray(pos) * 7_919 + (np.asarray(t) - z.start) // int(sticky) * 104_729 + salt)
                               % len(pool)]


def mixed(z: Zoo, share: float, first: Ids, second: Ids) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``first`` for a ``share`` of the events, ``second`` otherwise."""
    return lambda pos, t: np.where(z.rng.random(len(pos)) < share, resolve(first, pos, t), resolve(second, pos, t))
