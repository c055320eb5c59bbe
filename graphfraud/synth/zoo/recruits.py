"""Real people recruited and paid: experience officers, task-platform part-timers,
paraphrasing review writers, buyers paid through layers of mule accounts.

Members are ordinary background accounts with their own phones, IPs, wallets and
everyday history; the ring shows only in where they buy, what they write and who pays them.
"""

from __future__ import annotations

import numpy as np

from ..marketplace import DAY, HOUR
from . import campaign as C
from . import texts as T
from .family import Family
from .market import Zoo


def _own(z: Zoo, members: np.ndarray) -> dict:
    """Identifier functions for recruited members: their own phones, IPs, wallets, homes."""
    return {"dev": lambda pos, t: z.own_device(members[pos]), "ip": lambda pos, t: z.own_ip(members[pos]),
            "pay": lambda pos, t: z.own_pay(members[pos]), "addr": lambda pos, t: z.own_addr(members[pos])}


def _recruit(z: Zoo, lo: int, hi: int, min_age_days: float = 0) -> np.ndarray:
    return z.take(C.count(z, lo, hi), min_age_days=min_age_days)


def _experience_officer(z: Zoo, _=None) -> None:
    """体验官: recruited reviewers buy at client shops, write detailed reviews with the brief's
    points, and an organiser (funded by the shops) refunds order plus commission."""
    rng = z.rng
    members = _recruit(z, 10, 50, min_age_days=180)
    shops = z.shops_by_popularity(C.count(z, 4, 15), power=0.6)
    pos, sp = C.participation(z, len(members), len(shops), (0.2, 0.6))
    t = C.campaign_times(z, sp, len(shops), (1 * DAY, 7 * DAY))
    briefs = T.briefs(rng, len(shops))
    done = C.act(z, members, pos, shops[sp], t, **_own(z, members), p_review=C.uniform(z, 0.9, 1.0), delay=(1.0, 5.0),
                 p5=C.uniform(z, 0.75, 0.97),
                 text=C.per_shop(shops, lambda r, s: T.with_points(rng, len(r), briefs[s])))
    organiser = z.new("pay", 1)
    C.fund(z, C.cashback(z, done, organiser, commission=(5, 25), visible=C.uniform(z, 0.2, 0.8)))
    C.mutual_likes(z, members, done, C.uniform(z, 0.0, 0.15), per=(1, 1))
    z.ring(members, "experience_officer")


def _task_platform(z: Zoo, _=None) -> None:
    """刷单平台: part-timers take a few tasks each; rotated payer accounts, each used for a
    week or two, refund them; client shops fund the payers."""
    rng = z.rng
    members = _recruit(z, 30, 120)
    shops = z.shops_by_popularity(C.count(z, 10, 40), power=0.5)
    tasks = rng.integers(1, 7, len(members))
    pos = np.repeat(np.arange(len(members)), tasks)
    sp = rng.integers(0, len(shops), len(pos))
    t = C.campaign_times(z, sp, len(shops), (3 * DAY, 20 * DAY))
    p_generic = C.uniform(z, 0.3, 0.7)
    done = C.act(z, members, pos, shops[sp], t, **_own(z, members), p_review=C.uniform(z, 0.9, 1.0), delay=(0.5, 3.0),
                 p5=C.uniform(z, 0.8, 1.0),
                 text=lambda r, m: T.ordinary(rng, len(r), p_empty=0.05, p_generic=p_generic))
    period = int(C.uniform(z, 5, 15) * DAY)
    payers = z.new("pay", int(np.ceil((z.end - z.start) / period)) + 2)
    rotated = lambda when: payers[np.clip((when - z.start) // period, 0, len(payers) - 1)]  # noqa: E731
    C.fund(z, C.cashback(z, done, rotated, commission=(2, 10), visible=C.uniform(z, 0.3, 0.9)))
    z.ring(members, "task_platform")


def _review_ring(z: Zoo, _=None) -> None:
    """Writers post paraphrases of one brief per target shop on a staggered schedule (one
    writer every day or two), many without an order, and like each other's reviews."""
    rng = z.rng
    size = C.count(z, 8, 40)
    recruited = z.take(int(round(size * C.uniform(z, 0.3, 1.0))))
    n_new = size - len(recruited)
    fresh = z.add_accounts(n_new, z.start - (rng.uniform(60, 700, n_new) * DAY).astype(np.int64)) if n_new else \
        np.empty(0, np.int64)
    members = np.concatenate([recruited, fresh])
    if len(fresh):
        C.life(z, fresh, scale=C.uniform(z, 0.5, 1.1), person=True)
        z.register_own_devices(fresh)
    shops = z.shops_by_popularity(C.count(z, 3, 12), power=0.7)
    briefs = T.briefs(rng, len(shops))
    p_generic = C.uniform(z, 0.05, 0.3)
    pos, sp = C.participation(z, len(members), len(shops), (0.25, 0.6))
    # Staggered: each writer has a slot in the schedule; per shop the campaign spans weeks.
    span = rng.uniform(14, 42, len(shops)) * DAY
    start = z.start + rng.random(len(shops)) * np.maximum(DAY, z.end - z.start - span - 3 * DAY)
    slot = rng.random(len(members))
    t = (start[sp] + (slot[pos] * span[sp]) + rng.normal(0, 0.5 * DAY, len(pos))).astype(np.int64)
    done = C.act(z, members, pos, shops[sp], t, **_own(z, members), p_review=1.0, delay=(0.5, 4.0),
                 p5=C.uniform(z, 0.85, 1.0), orderless=C.uniform(z, 0.05, 0.4),
                 text=C.per_shop(shops, lambda r, s: T.paraphrase(rng, briefs[s], len(r), p_generic=p_generic)))
    C.mutual_likes(z, members, done, C.uniform(z, 0.1, 0.5), per=(1, 2))
    z.ring(members, "review_ring")


def _layered_cashback(z: Zoo, _=None) -> None:
    """Cashback laundered through layers of mule wallets bound to nobody: shop → mule → …
    → buyer, 2-4 hops, each taking a small fee."""
    rng = z.rng
    members = _recruit(z, 15, 60)
    shops = z.shops_by_popularity(C.count(z, 4, 12), power=0.5)
    pos, sp = C.participation(z, len(members), len(shops), (0.15, 0.45))
    t = C.campaign_times(z, sp, len(shops), (1 * DAY, 10 * DAY))
    tpl = rng.choice(len(T.TEMPLATES), C.count(z, 2, 4), replace=False)
    scripted = rng.random() < 0.5
    text = (lambda r, m: T.templated(rng, len(r), tpl, 0.3)) if scripted else \
        (lambda r, m: T.ordinary(rng, len(r), p_empty=0.05, p_generic=0.4))
    done = C.act(z, members, pos, shops[sp], t, **_own(z, members), p_review=C.uniform(z, 0.85, 1.0), delay=(0.5, 4.0),
                 p5=C.uniform(z, 0.85, 1.0), text=text)
    rv = done["review_of"][done["order"][done["review_of"]] >= 0]
    value = done["amount"][rv] + rng.uniform(3, 15, len(rv))
    when = done["t"][rv] + rng.uniform(0.5 * DAY, 3 * DAY, len(rv)).astype(np.int64)
    mer, buyer_pay = done["mer"][rv], done["pay"][rv]
    if rng.random() < 0.8:  # settled weekly: one chain per buyer and week (the first shop's account pays)
        key = buyer_pay.astype(np.int64) * 1_000 + (when - z.start) // (7 * DAY)
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        value = np.bincount(inv, weights=value)
        latest = np.zeros(len(uniq), np.int64)
        np.maximum.at(latest, inv, when)
        when, mer, buyer_pay = latest, mer[first], buyer_pay[first]
    n = len(value)
    hops = rng.integers(2, 5, n) if rng.random() < 0.5 else np.full(n, C.count(z, 2, 4))
    layers = [z.new("pay", C.count(z, 3, 10)) for _ in range(3)]
    src = z.shop_pay[mer]
    for h in range(4):
        active = hops > h
        last = hops == h + 1
        if not active.any():
            break
        layer = layers[min(h, 2)]
        nxt = np.where(last, buyer_pay, layer[rng.integers(0, len(layer), n)])
        a = np.flatnonzero(active)
        z.add_transfers(src[a], nxt[a], value[a], when[a])
        fee = rng.uniform(0.005, 0.03, n)
        value = value * (1 - fee)
        when = when + rng.uniform(10 * 60, 12 * HOUR, n).astype(np.int64)
        src = nxt
    C.mutual_likes(z, members, done, C.uniform(z, 0.0, 0.4))
    z.ring(members, "layered_cashback")


FAMILIES = (
    Family("experience_officer", True, _experience_officer,
           source="体验官 recruitment: real accounts buy and write detailed reviews from a brief; an "
                  "organiser funded by the shops refunds order plus commission"),
    Family("task_platform", True, _task_platform,
           source="刷单 task platforms: part-timers with their own phones take a few tasks each, paid "
                  "through payer accounts rotated every week or two that client shops fund"),
    Family("review_ring", True, _review_ring,
           source="review writers (水军) posting paraphrases of one brief per shop on a staggered "
                  "schedule, often without an order, liking each other's reviews"),
    Family("layered_cashback", True, _layered_cashback,
           source="cashback routed shop → mule → … → buyer through 2-4 hops of unbound wallets, "
                  "amounts conserved minus fees"),
)
