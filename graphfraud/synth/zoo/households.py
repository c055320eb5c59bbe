"""Innocent look-alikes that share infrastructure: homes, campuses, towns behind one NAT,
internet cafés, offices and parcel stations.

They share devices, IPs, cards or addresses the way rings do, but shop, rate and write
like everyone else at the shops they use.
"""

from __future__ import annotations

import numpy as np

from ..marketplace import DAY, HOUR
from .family import Family
from .market import Zoo


def _ints(z: Zoo, lo: int, hi: int) -> int:
    return int(z.rng.integers(lo, hi + 1))


def crowd(z: Zoo, lo: int, hi: int) -> int:
    """Size of a crowd (campus, town, audience): drawn for a 20,000-account market, smaller
    in smaller markets so that the crowds do not swallow them."""
    return max(10, int(round(_ints(z, lo, hi) * min(1.0, z.cfg.n_accounts / 20_000))))


def _weekday_times(z: Zoo, n: int, hours: tuple[float, float]) -> np.ndarray:
    """Times on weekdays between two local clock hours."""
    t = z.times(n)
    day_start = (t + 8 * HOUR) // DAY * DAY - 8 * HOUR
    weekday = ((day_start + 8 * HOUR) // DAY + 3) % 7  # 1970-01-01 was a Thursday
    day_start = np.where(weekday >= 5, day_start - (weekday - 4) * DAY, day_start)  # weekend → Friday
    out = day_start + ((hours[0] + z.rng.random(n) * (hours[1] - hours[0])) * HOUR).astype(np.int64)
    return np.clip(out, z.start, z.end - 1)


# ------------------------------------------------------------------ family
def _family_prepare(z: Zoo) -> dict:
    members = z.take(_ints(z, 2, 5))
    home_ip, home = z.acc["home_ip"][members[0]], z.new("addr", 1)[0]
    z.acc["home_ip"][members] = home_ip
    z.acc["addr"][members] = home
    return {"members": members, "tablet": z.new("device", 1)[0], "card": z.new("pay", 1)[0], "home": home}


def _family_act(z: Zoo, s: dict) -> None:
    m, rng = s["members"], z.rng
    k = len(m)
    z.register_devices(m, np.full(k, s["tablet"]), np.full(k, z.start - _ints(z, 30, 900) * DAY),
                       z.end - rng.integers(0, 5, k) * DAY)
    z.acc_pay.add(acc=m, pay=np.full(k, s["card"]))
    n_orders = rng.integers(1, 5, k)
    on_card = np.where(rng.random(k) < 0.5, s["card"], z.acc["pay"][m])
    z.everyday(m, n_orders, dev=np.full(k, s["tablet"]), ip=z.acc["home_ip"][m], pay=on_card)
    # Parents top up the children's wallets now and then.
    n_tr = _ints(z, 0, 4)
    if n_tr and k > 1:
        z.add_transfers(z.acc["pay"][m[0]], z.acc["pay"][rng.choice(m[1:], n_tr)],
                        np.round(rng.uniform(20, 500, n_tr), 2), z.times(n_tr))
    z.group(m, "family")


# ------------------------------------------------------------------ campus
def _campus_prepare(z: Zoo) -> dict:
    members = z.take(crowd(z, 80, 400), max_age_days=5 * 365)
    wifi = z.new("ip", _ints(z, 1, 4))
    z.acc["home_ip"][members] = wifi[z.rng.integers(0, len(wifi), len(members))]
    z.acc["wifi"][members] = z.rng.uniform(0.55, 0.9, len(members))
    stations = z.new("addr", _ints(z, 1, 3))
    z.acc["addr"][members] = stations[z.rng.integers(0, len(stations), len(members))]
    return {"members": members}


def _campus_act(z: Zoo, s: dict) -> None:
    """Orders bunch in class breaks: many students at the same few popular shops at once."""
    m, rng = s["members"], z.rng
    breaks = np.array([9.75, 11.9, 15.6, 17.4, 21.5])
    n_days = _ints(z, 6, 20)
    day0 = _weekday_times(z, n_days, (0, 0.01))
    favourites = z.shops_by_popularity(_ints(z, 3, 8))
    per_student = rng.integers(1, 5, len(m))
    acc = np.repeat(m, per_student)
    brk = breaks[rng.integers(0, len(breaks), len(acc))]
    slot = day0[rng.integers(0, n_days, len(acc))] + (brk * HOUR).astype(np.int64)
    t = z.around(slot, 20 * 60)
    shop = np.where(rng.random(len(acc)) < 0.6, favourites[rng.integers(0, len(favourites), len(acc))],
                    z.popular_shops(len(acc)))
    z.shop(acc, shop, t, z.own_device(acc), z.own_ip(acc), z.own_pay(acc), z.own_addr(acc))
    z.group(m, "campus")


# ------------------------------------------------------------------ carrier NAT
def _nat_prepare(z: Zoo) -> dict:
    members = z.take(crowd(z, 150, 700))
    exits = _ints(z, 2, 8)
    z.acc["nat0"][members] = z.new("ip", exits)[0]
    z.acc["nat_n"][members] = exits
    z.acc["wifi"][members] = z.rng.uniform(0.0, 0.35, len(members))
    return {"members": members}


def _nat_act(z: Zoo, s: dict) -> None:
    z.group(s["members"], "carrier_nat")


# ------------------------------------------------------------------ internet café
def _cafe_prepare(z: Zoo) -> dict:
    return {"members": z.take(_ints(z, 10, 40), max_age_days=8 * 365)}


def _cafe_act(z: Zoo, s: dict) -> None:
    m, rng = s["members"], z.rng
    pcs = z.new("device", _ints(z, 3, 12))
    cafe_ip = z.new("ip", 1)[0]
    visits = rng.integers(1, 5, len(m))
    acc = np.repeat(m, visits)
    # Regulars mostly sit at their usual PC.
    usual = np.repeat(pcs[rng.integers(0, len(pcs), len(m))], visits)
    dev = np.where(rng.random(len(acc)) < 0.7, usual, pcs[rng.integers(0, len(pcs), len(acc))])
    t = z.after_created(acc, _weekday_times(z, len(acc), (14, 24)) + rng.integers(0, 2, len(acc)) * DAY)
    z.shop(acc, z.popular_shops(len(acc)), t, dev, np.full(len(acc), cafe_ip),
           z.own_pay(acc), z.own_addr(acc))
    z.register_devices(acc, dev, t - rng.integers(0, 2 * HOUR, len(acc)), t + rng.integers(0, 3 * HOUR, len(acc)))
    z.add_logins(acc, t - rng.integers(60, HOUR, len(acc)), dev, np.full(len(acc), cafe_ip))
    z.group(m, "internet_cafe")


# ------------------------------------------------------------------ office
def _office_prepare(z: Zoo) -> dict:
    return {"members": z.take(_ints(z, 10, 60), min_age_days=60)}


def _office_act(z: Zoo, s: dict) -> None:
    """Office Wi-Fi, a corporate card for supplies, team orders, monthly payouts from one payer."""
    m, rng = s["members"], z.rng
    k = len(m)
    office_ip = z.new("ip", _ints(z, 1, 2))
    card = z.new("pay", 1)[0]
    holders = m[rng.random(k) < rng.uniform(0.3, 0.8)]
    z.acc_pay.add(acc=holders, pay=np.full(len(holders), card))
    n_work = rng.integers(1, 6, k)
    acc = np.repeat(m, n_work)
    ip = office_ip[rng.integers(0, len(office_ip), len(acc))]
    pay = np.where(np.isin(acc, holders) & (rng.random(len(acc)) < 0.4), card, z.own_pay(acc))
    z.shop(acc, z.popular_shops(len(acc)),
           z.after_created(acc, _weekday_times(z, len(acc), (9, 18.5))), z.own_device(acc), ip, pay,
           np.where(rng.random(len(acc)) < 0.5, z.own_addr(acc), z.new("addr", 1)[0]))
    # Afternoon tea: part of the team orders at one food shop within half an hour.
    tea_shop = z.shops_by_popularity(1)[0]
    for t0 in _weekday_times(z, _ints(z, 1, 4), (14.5, 15.5)):
        part = rng.choice(m, max(2, int(k * rng.uniform(0.3, 0.8))), replace=False)
        z.shop(part, np.full(len(part), tea_shop), z.around(t0, 30 * 60, len(part)), z.own_device(part),
               office_ip[np.zeros(len(part), int)], z.own_pay(part), z.own_addr(part))
    # Reimbursements and bonuses from the payroll agency's account.
    payer = z.new("pay", 1)[0]
    paid = m[rng.random(k) < rng.uniform(0.3, 0.7)]
    months = np.arange(z.start + 10 * DAY, z.end, 30 * DAY)
    dst = np.repeat(paid, len(months))
    when = np.tile(months, len(paid)) + rng.integers(0, 3 * DAY, len(dst))
    keep = rng.random(len(dst)) < 0.4
    z.add_transfers(payer, z.acc["pay"][dst[keep]], np.round(np.exp(rng.normal(np.log(250), 0.8, int(keep.sum()))), 2),
                    when[keep])
    z.group(m, "office")


# ------------------------------------------------------------------ parcel station
def _station_prepare(z: Zoo) -> dict:
    members = z.take(crowd(z, 30, 200))
    station = z.new("addr", 1)[0]
    uses = members[z.rng.random(len(members)) < z.rng.uniform(0.7, 1.0)]
    z.acc["addr"][uses] = station
    return {"members": members}


def _station_act(z: Zoo, s: dict) -> None:
    z.group(s["members"], "parcel_station")


FAMILIES = (
    Family("family", False, _family_act, _family_prepare, per_20k=40,
           source="households sharing a tablet, a card and the home address"),
    Family("campus", False, _campus_act, _campus_prepare, per_20k=1,
           source="students behind campus Wi-Fi and campus parcel points, shopping in class breaks"),
    Family("carrier_nat", False, _nat_act, _nat_prepare, per_20k=1,
           source="a small town whose mobile traffic leaves through one carrier-grade NAT pool"),
    Family("internet_cafe", False, _cafe_act, _cafe_prepare, per_20k=3,
           source="customers of an internet café using its PCs and its one IP"),
    Family("office", False, _office_act, _office_prepare, per_20k=3,
           source="colleagues with office Wi-Fi, a corporate card, team orders and payouts from one payroll payer"),
    Family("parcel_station", False, _station_act, _station_prepare, per_20k=2,
           source="a neighbourhood shipping to one parcel station (驿站) address"),
)
