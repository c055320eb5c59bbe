"""Shop-side tactics: merchant self-brushing, merchant alliances, insider collusion on
platform subsidies.

The shop's own assets leak into the orders — its payment account, warehouse address,
devices and office IP — mixed with the staff's personal ones.
"""

from __future__ import annotations

import numpy as np

from ..marketplace import DAY, HOUR
from . import campaign as C
from . import texts as T
from .family import Family
from .market import Zoo


def _staff(z: Zoo, shop: np.ndarray) -> np.ndarray:
    """Staff accounts of ``shop`` (one entry per account): some from when the shop opened,
    some recent; personal phones and wallets; part bound to the shop's payment account."""
    rng = z.rng
    n = len(shop)
    opened = z.shop_created[shop]
    created = np.where(rng.random(n) < 0.5, opened + (rng.random(n) * (z.start - opened)).astype(np.int64),
                       z.start - (rng.uniform(5, 400, n) * DAY).astype(np.int64))
    members = z.add_accounts(n, created, virtual=C.uniform(z, 0.0, 0.25))
    z.register_own_devices(members)
    bound = rng.random(n) < C.uniform(z, 0.0, 0.4)
    z.acc_pay.add(acc=members[bound], pay=z.shop_pay[shop[bound]])
    shop_dev = rng.random(n) < 0.6
    z.register_devices(members[shop_dev], z.shop_dev[shop[shop_dev], 0],
                       np.maximum(created[shop_dev], z.start - 200 * DAY), np.full(int(shop_dev.sum()), z.end - DAY))
    return members


def _shop_side(z: Zoo, members: np.ndarray, home_shop: np.ndarray, warehouse: tuple[float, float]) -> dict:
    """Identifier functions mixing a member's shop assets with personal ones, per order
    (``warehouse``: range of the share shipped to the shop's own address)."""
    s_dev, s_ip, s_pay, s_addr = (C.uniform(z, 0.2, 0.8), C.uniform(z, 0.3, 0.9), C.uniform(z, 0.2, 0.8),
                                  C.uniform(z, *warehouse))
    rng = z.rng
    # Mostly the shop's main phone, now and then the spare one.
    shop_dev = lambda pos, t: z.shop_dev[home_shop[pos], (rng.random(len(pos)) < 0.15).astype(np.int64)]  # noqa: E731
    return {"dev": C.mixed(z, s_dev, shop_dev, lambda pos, t: z.own_device(members[pos])),
            "ip": C.mixed(z, s_ip, lambda pos, t: z.shop_ip[home_shop[pos]], lambda pos, t: z.own_ip(members[pos])),
            "pay": C.mixed(z, s_pay, lambda pos, t: z.shop_pay[home_shop[pos]], lambda pos, t: z.own_pay(members[pos])),
            "addr": C.mixed(z, s_addr, lambda pos, t: z.shop_addr[home_shop[pos]],
                            lambda pos, t: z.own_addr(members[pos]))}


def _scripts(z: Zoo, shops: np.ndarray):
    """Each shop's reviews follow its own short script or brief."""
    rng = z.rng
    if rng.random() < 0.5:
        tpl = np.stack([rng.choice(len(T.TEMPLATES), 2, replace=False) for _ in shops])
        return C.per_shop(shops, lambda r, s: T.templated(rng, len(r), tpl[s], 0.3))
    briefs = T.briefs(rng, len(shops))
    return C.per_shop(shops, lambda r, s: T.with_points(rng, len(r), briefs[s], 0.3))


def _brushing_amounts(z: Zoo, mer: np.ndarray) -> np.ndarray:
    """Shops brush their cheap listings as often as their best sellers: a price scale per ring."""
    return z.amounts(mer, scale=C.uniform(z, 0.15, 1.0))


def _self_brushing(z: Zoo, _=None) -> None:
    """A shop's staff order from it again and again over the period, partly on the shop's
    phones, office IP, payment account and warehouse address, and review fast."""
    rng = z.rng
    shop = z.shops_by_popularity(1, power=0.3)
    size = C.count(z, 3, 10)
    home = np.zeros(size, np.int64)
    members = _staff(z, shop[home])
    per = rng.integers(2, 9, size)
    pos = np.repeat(np.arange(size), per)
    t = z.times(len(pos))
    mer = shop[np.zeros(len(pos), np.int64)]
    done = C.act(z, members, pos, mer, t, **_shop_side(z, members, shop[home], (0.05, 0.4)),
                 p_review=C.uniform(z, 0.8, 1.0), delay=(0.2, 4.0), p5=C.uniform(z, 0.85, 1.0),
                 amount=_brushing_amounts(z, mer), text=_scripts(z, shop))
    C.mutual_likes(z, members, done, C.uniform(z, 0.0, 0.3), per=(1, 2))
    C.life(z, members, scale=C.uniform(z, 0.4, 1.1), person=True)
    z.ring(members, "self_brushing")


def _alliance(z: Zoo, _=None) -> None:
    """Several shops' staff brush each other's shops (never their own) and are reimbursed
    by their own shop."""
    rng = z.rng
    shops = z.shops_by_popularity(C.count(z, 3, 6), power=0.4)
    per_shop = rng.integers(2, 5, len(shops))
    home_pos = np.repeat(np.arange(len(shops)), per_shop)
    members = _staff(z, shops[home_pos])
    # Every staff member orders at every other alliance shop 1-3 times over the period.
    staff, target = np.nonzero(home_pos[:, None] != np.arange(len(shops))[None, :])
    k = rng.integers(1, 4, len(staff))
    pos, sp = np.repeat(staff, k), np.repeat(target, k)
    keep = rng.random(len(pos)) < C.uniform(z, 0.6, 1.0)
    keep[np.unique(pos, return_index=True)[1]] = True  # everybody brushes at least once
    pos, sp = pos[keep], sp[keep]
    done = C.act(z, members, pos, shops[sp], z.times(len(pos)),
                 **_shop_side(z, members, shops[home_pos], (0.0, 0.25)),
                 p_review=C.uniform(z, 0.8, 1.0), delay=(0.5, 4.0), p5=C.uniform(z, 0.85, 1.0),
                 amount=_brushing_amounts(z, shops[sp]), text=_scripts(z, shops))
    # Reimbursement: the home shop pays its staff back, in monthly sums.
    month = (done["t"] - z.start) // (30 * DAY)
    # Part is paid back in cash or with the salary, off the platform.
    paid = rng.random(len(pos)) < C.uniform(z, 0.1, 0.6)
    if paid.any():
        key = pos[paid] * 1_000 + month[paid]
        uniq, inv = np.unique(key, return_inverse=True)
        total = np.bincount(inv, weights=done["amount"][paid])
        who = uniq // 1_000
        when = z.start + (uniq % 1_000 + 1) * 30 * DAY - rng.integers(0, 5 * DAY, len(uniq))
        z.add_transfers(z.shop_pay[shops[home_pos[who]]], z.acc["pay"][members[who]],
                        total + rng.uniform(0, 50, len(uniq)),
                        np.minimum(when, z.end - HOUR))
    C.life(z, members, scale=C.uniform(z, 0.4, 1.1), person=True)
    z.ring(members, "merchant_alliance")


def _insider_subsidy(z: Zoo, _=None) -> None:
    """Shop insiders and their buyers farm a platform subsidy: subsidised orders in the
    subsidy windows, goods shipped to the insiders, kickbacks from the shop's account."""
    rng = z.rng
    shop = z.shops_by_popularity(1, power=0.6)
    staff = _staff(z, np.repeat(shop, C.count(z, 1, 3)))
    n_buyers = C.count(z, 10, 40)
    n_fresh = int(n_buyers * C.uniform(z, 0.2, 0.6))
    windows = np.sort(z.times(C.count(z, 1, 3), hi=z.end - 25 * DAY))
    length = rng.uniform(7, 21, len(windows)) * DAY
    # New-user subsidies: fresh accounts registered shortly before a window opens.
    fresh_created = windows[rng.integers(0, len(windows), n_fresh)] - rng.integers(HOUR, 10 * DAY, n_fresh)
    fresh = z.add_accounts(n_fresh, fresh_created, virtual=C.uniform(z, 0.05, 0.4)) if n_fresh else np.empty(0, int)
    if n_fresh:
        z.register_own_devices(fresh)
        C.life(z, fresh, scale=C.uniform(z, 0.3, 0.9), person=True)
    friends = z.take(n_buyers - n_fresh)
    buyers = np.concatenate([fresh, friends])
    members = np.concatenate([staff, buyers])
    # Insiders try the subsidy themselves a few times; buyers order 1-5 times each.
    per = np.concatenate([rng.integers(1, 4, len(staff)), rng.integers(1, 6, len(buyers))])
    pos = np.repeat(np.arange(len(members)), per)
    w = rng.integers(0, len(windows), len(pos))
    t = windows[w] + (rng.random(len(pos)) * length[w]).astype(np.int64)
    collect = z.new("addr", C.count(z, 1, 2))
    s_collect = C.uniform(z, 0.15, 0.6)
    amount = np.round(z.price[shop[0]] * rng.uniform(0.2, 0.5) * np.exp(rng.normal(0, 0.3, len(pos))), 2)
    done = C.act(z, members, pos, np.full(len(pos), shop[0]), t,
                 dev=lambda p, tt: z.own_device(members[p]), ip=lambda p, tt: z.own_ip(members[p]),
                 pay=lambda p, tt: z.own_pay(members[p]),
                 addr=C.mixed(z, s_collect, lambda p, tt: collect[rng.integers(0, len(collect), len(p))],
                              lambda p, tt: z.own_addr(members[p])),
                 p_review=C.uniform(z, 0.5, 0.9), delay=(1.0, 6.0), p5=C.uniform(z, 0.6, 0.9), amount=amount,
                 text=lambda r, m: T.ordinary(rng, len(r), p_empty=0.1, p_generic=0.4))
    kick = rng.random(len(pos)) < C.uniform(z, 0.5, 1.0)
    from_staff = rng.random(int(kick.sum())) < C.uniform(z, 0.0, 0.5)
    src = np.where(from_staff, z.acc["pay"][staff[rng.integers(0, len(staff), int(kick.sum()))]], z.shop_pay[shop[0]])
    z.add_transfers(src, done["pay"][kick], done["amount"][kick] * rng.uniform(0.2, 0.6, int(kick.sum())),
                    done["t"][kick] + rng.integers(DAY, 5 * DAY, int(kick.sum())))
    C.life(z, staff, scale=C.uniform(z, 0.4, 1.0), person=True)
    z.ring(members, "insider_subsidy")


FAMILIES = (
    Family("self_brushing", True, _self_brushing,
           source="merchant self-brushing (自刷): staff accounts ordering from their own shop with the "
                  "shop's payment account, warehouse address, phones and office IP"),
    Family("merchant_alliance", True, _alliance,
           source="merchant alliances (互刷联盟): staff of several shops brushing each other's shops, "
                  "reimbursed by their own shop"),
    Family("insider_subsidy", True, _insider_subsidy,
           source="insiders and buyers farming platform subsidies (薅羊毛 with shop staff): fresh "
                  "accounts, goods to insiders' addresses, kickbacks from the shop's account"),
)
