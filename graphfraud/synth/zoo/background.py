"""The ordinary marketplace every family hides in: heavy-tailed people, shops and money.

* Accounts: ages from a growing platform (many young accounts, a long tail of old ones,
  some registered during the period), activity log-normal across people, 1-3 own devices,
  home broadband plus carrier-NAT exits shared by about a thousand accounts each, 17%
  generous raters who always give five stars, personal review habits (how often, how fast).
* Orders at Zipf-popular shops (plus a favourite shop per person), prices by category and
  shop, ratings from each shop's own mix (40%-93% five stars), texts whose tone follows the
  rating, the platform's automatic review for a share of unreviewed orders.
* Money: P2P transfers and group red packets between people with heavy-tailed
  sociability, and refunds from shops at each shop's refund rate (applied to every order,
  planted or not, in :func:`aftermath`).
* Logins on own devices and IPs, and likes on reviews (longer texts attract more).
"""

from __future__ import annotations

import numpy as np

from ..marketplace import DAY
from . import texts as T
from .market import Zoo


def register(z: Zoo) -> None:
    """Register the background accounts and their devices (look-alikes then adjust traits)."""
    rng, cfg = z.rng, z.cfg
    n = cfg.n_accounts
    span = z.end - z.start
    # A growing platform: account age roughly exponential (mean 2.5 years, capped at 11),
    # and 7% of the accounts active in the period registered during it.
    age = np.minimum(rng.exponential(900, n), 4_000) + 1
    in_period = rng.random(n) < 0.07
    created = np.where(in_period, z.start + (rng.random(n) * 0.85 * span).astype(np.int64),
                       z.start - (age * DAY).astype(np.int64) - rng.integers(0, DAY, n))
    ids = z.add_accounts(n, created)
    z.n_background = n
    z.free = np.ones(n, bool)
    z.register_own_devices(ids)


def live(z: Zoo) -> None:
    """Everyday orders, reviews, logins and money of the background accounts."""
    rng, cfg = z.rng, z.cfg
    ids = np.arange(z.n_background)
    act = z.acc["activity"][ids]
    mean_orders = cfg.orders_per_month * cfg.days / 30
    k = 1 + rng.poisson(act / act.mean() * max(mean_orders - 1, 0.1))
    z.everyday(ids, k)

    k_login = 1 + rng.poisson(act / act.mean() * 0.8 * cfg.days / 30)
    acc = np.repeat(ids, k_login)
    z.add_logins(acc, z.after_created(acc, z.times(len(acc))), z.own_device(acc), z.own_ip(acc))

    _p2p(z, ids)
    _red_packets(z, ids)
    _visits(z, ids)


def _visits(z: Zoo, ids: np.ndarray) -> None:
    """Store-visit reviews: rated without an order on the platform (a few percent of reviews)."""
    rng = z.rng
    act = z.acc["activity"][ids]
    # Some people review local shops they visit a lot; most never do.
    local = rng.beta(0.4, 1.6, len(ids))
    k = rng.poisson(act / act.mean() * local * 1.2 * z.cfg.days / 30)
    acc = np.repeat(ids, k)
    if not len(acc):
        return
    mer = z.popular_shops(len(acc))
    rating = z.ratings(acc, mer)
    v = z.acc["verbose"][acc]
    z.add_reviews(-1, acc, mer, z.after_created(acc, z.times(len(acc))), rating, z.own_device(acc), z.own_ip(acc),
                  T.ordinary(rng, len(acc), 0.3 * (1 - v) ** 2, 0.55 * (1 - v) ** 1.5, v))


def _p2p(z: Zoo, ids: np.ndarray) -> None:
    rng = z.rng
    w = z.acc["social"][ids]
    w = w / w.sum()
    # Splitting bills, paying friends back, family allowances: most people receive some.
    m = int(1.6 * len(ids) * z.cfg.days / 120)
    src = rng.choice(ids, m, p=w)
    w_in = np.sqrt(z.acc["social"][ids])
    dst = rng.choice(ids, m, p=w_in / w_in.sum())
    amount = np.round(np.exp(rng.normal(np.log(120), 1.2, m)), 2)
    t = z.times(m)
    z.add_transfers(z.acc["pay"][src], z.acc["pay"][dst], amount, np.maximum(t, z.acc["created"][np.maximum(src, dst)]))


def _red_packets(z: Zoo, ids: np.ndarray) -> None:
    """Group-chat red packets: one sender, 2-15 grabbers within minutes, small sums."""
    rng = z.rng
    social = z.acc["social"][ids]
    events = int(0.09 * len(ids) * z.cfg.days / 120)
    sender = rng.choice(ids, events, p=social / social.sum())
    size = rng.integers(2, 16, events)
    total = np.round(np.exp(rng.normal(np.log(20), 0.9, events)), 2)
    ev = np.repeat(np.arange(events), size)
    w = social ** 1.5
    grabber = rng.choice(ids, len(ev), p=w / w.sum())
    share = rng.dirichlet(np.ones(2), len(ev))[:, 0]
    amount = np.maximum(0.01, np.round(total[ev] * share * 2 / size[ev], 2))
    t0 = z.times(events)
    z.add_transfers(z.acc["pay"][sender[ev]], z.acc["pay"][grabber], amount,
                    t0[ev] + rng.integers(0, 20 * 60, len(ev)))


def aftermath(z: Zoo) -> None:
    """Refunds on every order at its shop's rate, and likes on every review."""
    rng = z.rng
    o = z.orders.concat()
    refund = rng.random(len(o["acc"])) < z.refund_rate[o["mer"]]
    idx = np.flatnonzero(refund)
    partial = rng.random(len(idx)) < 0.25
    amount = np.where(partial, o["amount"][idx] * rng.uniform(0.1, 0.5, len(idx)), o["amount"][idx])
    z.add_transfers(z.shop_pay[o["mer"][idx]], o["pay"][idx], amount,
                    o["t"][idx] + rng.integers(DAY, 6 * DAY, len(idx)))

    r = z.reviews.concat()
    n_rev = len(r["acc"])
    if not n_rev:
        return
    lengths = T.Texts.of(r["tk"], r["tv"]).approx_len()
    # Helpful votes are very uneven: long reviews at busy shops collect most of them.
    w = (lengths + 2.0) ** 1.2 * z.popularity[r["mer"]] ** 0.3 * np.exp(rng.normal(0, 1.3, n_rev))
    m = int(0.9 * n_rev)
    review = rng.choice(n_rev, m, p=w / w.sum())
    everyone = np.arange(z.acc.n)
    act = z.acc["activity"]
    liker = rng.choice(everyone, m, p=act / act.sum())
    own = liker == r["acc"][review]
    z.like(liker[~own], review[~own], r["t"][review[~own]], lag=4 * DAY)
