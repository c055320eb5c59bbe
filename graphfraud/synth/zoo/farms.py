"""Studio-run accounts: group-control device farms, bought aged accounts, slow-drip studios.

The studio owns the accounts and the hardware: few phones or emulator slots, proxy exits,
payers funded by client shops. Accounts are nurtured (养号) with ordinary orders so that
they look like people.
"""

from __future__ import annotations

import numpy as np

from ..marketplace import DAY, HOUR
from . import campaign as C
from . import texts as T
from .family import Family
from .market import Zoo


def _batches(z: Zoo, size: int, in_period: float) -> np.ndarray:
    """Registration times: accounts come in batches registered within a day or two."""
    rng = z.rng
    n_batches = C.count(z, 1, 4)
    when = np.where(rng.random(n_batches) < in_period,
                    z.start + (rng.random(n_batches) * 0.35 * (z.end - z.start)).astype(np.int64),
                    z.start - (rng.uniform(20, 900, n_batches) * DAY).astype(np.int64))
    return when[rng.integers(0, n_batches, size)] + rng.integers(0, 36 * HOUR, size)


def _device_farm(z: Zoo, _=None) -> None:
    """群控: many small accounts on a rack of phones, rotating proxies, scripted reviews."""
    rng = z.rng
    size = C.count(z, 20, 100)
    created = _batches(z, size, in_period=0.3)
    phones = z.new("device", max(2, int(size / C.uniform(z, 5, 20))))
    phone = phones[rng.integers(0, len(phones), size)]
    members = z.add_accounts(size, created, nick_p=(0.3, 0.42, 0.22, 0.06), virtual=C.uniform(z, 0.1, 0.5),
                             dev0=phone, n_dev=np.ones(size, np.int64))
    z.register_devices(members, phone, created, z.end - rng.integers(0, 3, size) * DAY)
    second = rng.random(size) < C.uniform(z, 0.1, 0.5)
    other = phones[rng.integers(0, len(phones), int(second.sum()))]
    z.register_devices(members[second], other, created[second] + rng.integers(DAY, 30 * DAY, int(second.sum())),
                       np.full(int(second.sum()), z.end - DAY))
    proxies = C.from_pool(z, z.new("ip", C.count(z, 10, 60)), sticky=C.uniform(z, 1, 4) * DAY)
    ready = max(z.start, int(created.max()) + 2 * DAY)
    shops = z.shops_by_popularity(C.count(z, 6, 25), power=0.4)
    pos, sp = C.participation(z, size, len(shops), (0.15, 0.5))
    t = C.campaign_times(z, sp, len(shops), (2 * HOUR, 36 * HOUR), lo=ready)
    tpl = rng.choice(len(T.TEMPLATES), C.count(z, 3, 6), replace=False)
    p_generic = C.uniform(z, 0.1, 0.4)
    mode, payers, pay = C.studio_wallets(z, members)
    done = C.act(z, members, pos, shops[sp], t, dev=C.per_member(phone), ip=proxies,
                 pay=pay, addr=C.per_member(z.acc["addr"][members]),
                 p_review=C.uniform(z, 0.85, 1.0), delay=(0.3, 3.0), p5=C.uniform(z, 0.9, 1.0),
                 text=lambda r, m: T.templated(rng, len(r), tpl, p_generic))
    C.settle(z, done, mode, payers)
    C.mutual_likes(z, members, done, C.uniform(z, 0.05, 0.5), per=(1, 2))
    C.life(z, members, scale=C.uniform(z, 0.15, 0.6), dev=C.per_member(phone), ip=proxies,
           logins_per_month=C.uniform(z, 0.5, 2))
    z.ring(members, "device_farm")


def _aged_takeover(z: Zoo, _=None) -> None:
    """Bought aged accounts, dormant for months, taken over on the buyer's shared phones."""
    rng = z.rng
    size = C.count(z, 10, 50)
    created = z.start - (rng.uniform(0.8, 5, size) * 365 * DAY).astype(np.int64)
    t0 = max(z.start, z.start + int(rng.uniform(-0.5, 0.4) * (z.end - z.start)))
    devices = z.new("device", max(2, int(size / C.uniform(z, 3, 8))))
    dev = devices[rng.integers(0, len(devices), size)]
    members = z.add_accounts(size, created, dev0=dev, n_dev=np.ones(size, np.int64), virtual=0.03)
    # The original owners' phones, last seen before the accounts went dormant.
    old = rng.random(size) < C.uniform(z, 0.5, 0.9)
    old_dev = z.new("device", int(old.sum()))
    last = z.start - (rng.uniform(60, 400, int(old.sum())) * DAY).astype(np.int64)
    z.register_devices(members[old], old_dev, np.minimum(created[old] + 30 * DAY, last - DAY), last)
    z.register_devices(members, dev, t0 + rng.integers(0, 2 * DAY, size), z.end - rng.integers(0, 4, size) * DAY)
    proxies = z.new("ip", C.count(z, 8, 40))
    shops = z.shops_by_popularity(C.count(z, 5, 20), power=0.5)
    pos, sp = C.participation(z, size, len(shops), (0.2, 0.6))
    t = C.campaign_times(z, sp, len(shops), (6 * HOUR, 3 * DAY), lo=t0 + 2 * DAY)
    if rng.random() < 0.5:
        tpl = rng.choice(len(T.TEMPLATES), C.count(z, 2, 5), replace=False)
        text = lambda r, m: T.templated(rng, len(r), tpl, 0.15)  # noqa: E731
    else:
        brief = T.new_brief(rng)
        text = lambda r, m: T.paraphrase(rng, brief, len(r), p_generic=0.2)  # noqa: E731
    mode, payers, pay = C.studio_wallets(z, members)
    done = C.act(z, members, pos, shops[sp], t, dev=C.per_member(dev), ip=C.from_pool(z, proxies),
                 pay=pay, addr=C.per_member(z.acc["addr"][members]),
                 p_review=C.uniform(z, 0.85, 1.0), delay=(0.5, 3.0), p5=C.uniform(z, 0.85, 1.0), text=text)
    C.settle(z, done, mode, payers)
    C.mutual_likes(z, members, done, C.uniform(z, 0.0, 0.4), per=(1, 2))
    C.life(z, members, scale=C.uniform(z, 0.1, 0.6), lo=t0, dev=C.per_member(dev), ip=C.from_pool(z, proxies))
    z.ring(members, "aged_takeover")


def _slow_drip(z: Zoo, _=None) -> None:
    """A studio that drips orders over weeks: emulator slots re-flashed every epoch, sticky
    residential proxies, mixed four- and five-star reviews."""
    rng = z.rng
    size = C.count(z, 15, 60)
    created = z.start - (rng.uniform(30, 700, size) * DAY).astype(np.int64)
    slots = C.count(z, 3, 10)
    epoch = int(C.uniform(z, 10, 40) * DAY)
    n_ep = int(np.ceil((z.end - z.start) / epoch)) + 1
    slot_dev = z.new("device", slots * n_ep).reshape(slots, n_ep)
    # Each epoch a share of the accounts is moved to a freshly flashed emulator image; the
    # others keep the one they had.
    moved = rng.random((size, n_ep)) < C.uniform(z, 0.2, 0.6)
    moved[:, 0] = True
    since = np.maximum.accumulate(np.where(moved, np.arange(n_ep)[None, :], 0), axis=1)
    slot_of = rng.integers(0, slots, (size, n_ep))
    # Residential proxy exits, sticky for a week per account, from a large rented pool.
    ip = C.from_pool(z, z.new("ip", max(50, int(size * C.uniform(z, 10, 30)))), sticky=7 * DAY)
    members = z.add_accounts(size, created, nick_p=(0.45, 0.25, 0.2, 0.1), virtual=C.uniform(z, 0.03, 0.25),
                             dev0=slot_dev[slot_of[:, 0], 0], n_dev=np.ones(size, np.int64))
    ep_of = lambda t: np.clip((np.asarray(t) - z.start) // epoch, 0, n_ep - 1)  # noqa: E731
    image = lambda pos, e: slot_dev[slot_of[pos, since[pos, e]], since[pos, e]]  # noqa: E731
    dev = lambda pos, t: image(pos, ep_of(t))  # noqa: E731
    # One device record per account and emulator image: first seen when it was flashed,
    # last seen when the account moved on.
    pos_e, ep_e = np.nonzero(moved)
    e_start = z.start + ep_e * epoch
    ok = e_start < z.end
    pos_e, ep_e, e_start = pos_e[ok], ep_e[ok], e_start[ok]
    nxt = np.full(len(pos_e), n_ep)
    same = np.flatnonzero(pos_e[1:] == pos_e[:-1])
    nxt[same] = ep_e[same + 1]
    z.register_devices(members[pos_e], image(pos_e, ep_e), e_start + rng.integers(0, DAY, len(pos_e)),
                       np.minimum(z.start + nxt * epoch - rng.integers(0, DAY, len(pos_e)), z.end - 1))
    shops = z.shops_by_popularity(C.count(z, 5, 20), power=0.6)
    pos, sp = C.participation(z, size, len(shops), (0.15, 0.45))
    t = C.campaign_times(z, sp, len(shops), (14 * DAY, 56 * DAY))
    briefs = T.briefs(rng, len(shops), 3)
    p5 = C.uniform(z, 0.55, 0.9)
    text = C.per_shop(shops, lambda r, s: T.with_points(rng, len(r), briefs[s]))
    done = C.act(z, members, pos, shops[sp], t, dev=dev, ip=ip, pay=C.per_member(z.acc["pay"][members]),
                 addr=C.per_member(z.acc["addr"][members]), p_review=C.uniform(z, 0.7, 0.95), delay=(1.0, 5.0),
                 p5=p5, text=text)
    C.fund(z, C.cashback(z, done, z.new("pay", C.count(z, 2, 5)), commission=(2, 8), visible=C.uniform(z, 0.2, 0.7)))
    C.life(z, members, scale=C.uniform(z, 0.6, 1.2), dev=dev, ip=ip, logins_per_month=C.uniform(z, 1, 3))
    z.ring(members, "slow_drip_studio")


FAMILIES = (
    Family("device_farm", True, _device_farm,
           source="群控 studios: racks of phones, batch-registered accounts, rotating proxies, "
                  "scripted 5-star reviews for many client shops, cashback from studio payers"),
    Family("aged_takeover", True, _aged_takeover,
           source="bought aged accounts (老号) dormant for months, taken over on the buyer's shared phones"),
    Family("slow_drip_studio", True, _slow_drip,
           source="studios dripping orders over weeks; emulator slots re-flashed per epoch, sticky "
                  "residential proxies, mixed 4/5 stars"),
)
