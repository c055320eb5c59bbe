"""Shared machinery of the tactic zoo: calendar, shops, accounts and their traits, event
buffers, ordinary shopping, and the final formatting into contract tables.

Ids are integers until the end; every family module appends column chunks to the event
buffers, and :meth:`Zoo.finish` formats everything once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from ...errors import ParameterError
from ..marketplace import _HOURLY, DAY, HOUR, START, TZ_OFFSET, _fmt
from . import texts as T

#: Shopping festivals (local dates) and how much busier they are than an ordinary day.
FESTIVALS = {(3, 8): 1.8, (5, 20): 1.4, (6, 18): 3.0, (11, 11): 4.0, (12, 12): 2.2, (1, 10): 1.5}
#: Monday..Sunday: weekends are busier.
WEEKLY = np.array([1.0, 0.96, 0.96, 1.0, 1.06, 1.18, 1.22])
CATEGORIES = ("服装", "美妆", "数码", "食品", "家居", "母婴", "运动", "图书", "家电", "宠物", "饰品", "百货")
#: Typical order value per category (yuan); shops scatter around it.
CATEGORY_PRICE = np.array([120, 140, 260, 45, 90, 110, 150, 40, 420, 70, 60, 35], dtype=float)
#: Exits per regional carrier-NAT pool.
NAT_POOL = 32
#: Share of unreviewed orders that get the platform's automatic positive review.
P_DEFAULT_REVIEW = 0.2


@dataclass
class ZooConfig:
    """Parameters of a tactic-zoo marketplace (all have realistic defaults).

    Attributes
    ----------
    n_accounts
        Background accounts; ring accounts that are newly registered come on top.
    seed
        Random seed: the same seed and parameters give byte-identical tables.
    days
        Length of the observed period (120 by default; 730 gives two years).
    orders_per_month
        Mean orders per background account and 30 days (heavy-tailed across accounts).
    families
        Tactic and look-alike families to plant (``None``: all of them).
    rings_per_family
        Instances per tactic family (``None``: 3 per 20,000 background accounts, at least 2).
    groups_scale
        Multiplier on the default number of instances per look-alike family.
    review_only
        Keep only the accounts, merchants and reviews tables (review columns that need other
        tables are dropped), and only families whose members still appear in reviews.
    """

    n_accounts: int = 20_000
    seed: int = 0
    days: int = 120
    orders_per_month: float = 1.9
    families: tuple[str, ...] | None = None
    rings_per_family: int | None = None
    groups_scale: float = 1.0
    review_only: bool = False

    def validate(self, known: tuple[str, ...]) -> None:
        if not isinstance(self.n_accounts, (int, np.integer)) or self.n_accounts < 2_000:
            raise ParameterError(f"n_accounts={self.n_accounts!r}: the zoo needs an integer >= 2000 so that every "
                                 "family fits; try 20000.")
        if not 30 <= self.days <= 1_100:
            raise ParameterError(f"days={self.days!r}: choose between 30 and 1100 (campaigns span weeks).")
        if self.families is not None:
            unknown = sorted(set(self.families) - set(known))
            if unknown:
                raise ParameterError(f"unknown famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
                                     f"known: {', '.join(known)}.")
        if self.rings_per_family is not None and self.rings_per_family < 1:
            raise ParameterError(f"rings_per_family={self.rings_per_family!r}: need at least 1.")


#: Compact storage per buffered column; times and amounts stay 64-bit.
_DTYPES = {"t": np.int64, "first": np.int64, "last": np.int64, "amount": np.float64, "rating": np.int8,
           "tk": np.int8, "tv": np.float32, "tt": np.int16, "order": np.int64, "review": np.int64}


class _Events:
    """Column chunks of one event table, concatenated once (and released) at the end."""

    def __init__(self, *columns: str) -> None:
        self.columns = columns
        self.chunks: list[dict[str, np.ndarray]] = []
        self.n = 0

    def add(self, **cols: np.ndarray) -> np.ndarray:
        size = len(next(iter(cols.values())))
        self.chunks.append({k: np.asarray(v, dtype=_DTYPES.get(k, np.int32)) for k, v in cols.items()})
        idx = np.arange(self.n, self.n + size)
        self.n += size
        return idx

    def concat(self, release: bool = False) -> dict[str, np.ndarray]:
        if not self.chunks:
            return {k: np.empty(0, _DTYPES.get(k, np.int32)) for k in self.columns}
        keys = self.chunks[0].keys()
        out = {}
        for k in keys:
            out[k] = np.concatenate([c[k] for c in self.chunks])
            if release:  # free each column's chunks as soon as it is joined
                for c in self.chunks:
                    c[k] = None
        if release:
            self.chunks = []
        return out


class _Traits:
    """Per-account arrays with amortised growth (background and newly registered accounts)."""

    FIELDS: ClassVar[dict[str, type[np.generic]]] = {
        "created": np.int64, "review_p": np.float64, "generous": np.bool_, "delay": np.float64,
        "dev0": np.int64, "n_dev": np.int64, "home_ip": np.int64, "nat0": np.int64, "nat_n": np.int64,
        "wifi": np.float64,
        "pay": np.int64, "pay_x": np.int64, "n_pay_x": np.int64, "addr": np.int64, "addr_x": np.int64,
        "n_addr_x": np.int64, "social": np.float64, "nick": np.int64, "virtual": np.bool_, "fav": np.int64,
        "activity": np.float64, "verbose": np.float64}

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self.a = {k: np.zeros(capacity, dtype=t) for k, t in self.FIELDS.items()}

    def append(self, **cols: np.ndarray) -> np.ndarray:
        k = len(cols["created"])
        if self.n + k > len(self.a["created"]):
            cap = max(2 * len(self.a["created"]), self.n + k)
            self.a = {name: np.concatenate([arr[: self.n], np.zeros(cap - self.n, arr.dtype)])
                      for name, arr in self.a.items()}
        for name, arr in self.a.items():
            arr[self.n: self.n + k] = cols[name]
        ids = np.arange(self.n, self.n + k)
        self.n += k
        return ids

    def __getitem__(self, name: str) -> np.ndarray:
        return self.a[name][: self.n]


class Zoo:
    """State of one tactic-zoo synthesis run."""

    def __init__(self, cfg: ZooConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.start, self.end = START, START + cfg.days * DAY
        self.day_weight = self._calendar(cfg.days)
        self.orders = _Events("acc", "mer", "t", "dev", "ip", "pay", "addr", "amount", "product")
        self.reviews = _Events("order", "acc", "mer", "t", "rating", "dev", "ip", "tk", "tv", "tt",
                               *(f"tb{j}" for j in range(T.BRIEF_MAX)))
        self.transfers = _Events("src", "dst", "amount", "t")
        self.logins = _Events("acc", "t", "dev", "ip")
        self.likes = _Events("acc", "review", "t")
        self.acc_dev = _Events("acc", "dev", "first", "last")
        self.acc_pay = _Events("acc", "pay")
        self.mer_pay = _Events("mer", "pay")
        self.counters = {"device": 0, "ip": 0, "pay": 0, "addr": 0}
        self.acc = _Traits(int(cfg.n_accounts * 1.3) + 1_000)
        self.ring_rows: list[tuple[np.ndarray, str, str]] = []
        self.benign_rows: list[tuple[np.ndarray, str, str]] = []
        self.n_background = 0
        self.free = np.zeros(0, bool)
        self._social_cdf: np.ndarray | None = None
        self._shops()
        # Carrier-grade NAT: regional pools of NAT_POOL exits; at a million accounts every exit
        # is seen by thousands of them.
        self.n_nat = NAT_POOL * max(2, cfg.n_accounts // 32_000)
        self.nat_first = int(self.new("ip", self.n_nat)[0])

    # ------------------------------------------------------------------ calendar and time
    def _calendar(self, days: int) -> np.ndarray:
        first = dt.date(2024, 3, 1)
        dates = [first + dt.timedelta(days=d) for d in range(days + 1)]
        w = WEEKLY[[(d.weekday()) for d in dates]].copy()
        for i, d in enumerate(dates):
            boost = FESTIVALS.get((d.month, d.day))
            if boost:
                w[i] *= boost
                for j in (1, 2):  # pre-sales before the day
                    if i - j >= 0:
                        w[i - j] *= 1 + (boost - 1) / (2 * j)
        return w

    def new(self, kind: str, n: int) -> np.ndarray:
        """``n`` fresh integer ids of a kind (device, ip, pay, addr)."""
        first = self.counters[kind]
        self.counters[kind] += int(n)
        return np.arange(first, first + int(n))

    def times(self, n: int, lo: float | None = None, hi: float | None = None) -> np.ndarray:
        """Times with the day/night rhythm, weekly cycle and festival days, within [lo, hi)."""
        lo = self.start if lo is None else max(self.start, int(lo))
        hi = self.end if hi is None else min(self.end, int(hi))
        hi = max(hi, lo + HOUR)
        d0 = int((lo - self.start) // DAY)
        d1 = max(d0 + 1, int(np.ceil((hi - self.start) / DAY)))
        w = self.day_weight[d0:d1]
        day = d0 + self.rng.choice(len(w), n, p=w / w.sum())
        hour = self.rng.choice(24, n, p=_HOURLY)
        t = self.start + day * DAY - TZ_OFFSET + hour * HOUR + self.rng.integers(0, HOUR, n)
        t = np.where(t < self.start, t + DAY, t)  # the local-midnight offset must not leave the period
        return np.clip(t, lo, hi - 1).astype(np.int64)

    def around(self, t0: np.ndarray | int, spread: float, n: int | None = None) -> np.ndarray:
        """Times scattered over ``[t0, t0 + spread)``, clipped to the period."""
        t0 = np.asarray(t0, dtype=np.int64)
        size = t0.shape if n is None else n
        return np.clip(t0 + (self.rng.random(size) * spread).astype(np.int64), self.start, self.end - 1)

    # ------------------------------------------------------------------ shops
    def _shops(self) -> None:
        rng, n = self.rng, self.cfg.n_accounts
        n_mer = max(80, n // 60)
        rank = rng.permutation(n_mer)
        pop = 1.0 / (rank + 2.0) ** 1.0
        self.popularity = pop / pop.sum()
        self._shop_cdf = np.cumsum(self.popularity)
        self.n_mer = n_mer
        self.category = rng.integers(0, len(CATEGORIES), n_mer)
        self.price = CATEGORY_PRICE[self.category] * np.exp(rng.normal(0, 0.5, n_mer))
        # Shops differ a lot in how happy their customers are: 40% to 93% five stars.
        p5 = 0.38 + 0.56 * rng.beta(2.2, 1.6, n_mer)
        rest = rng.dirichlet([4.5, 1.8, 0.9, 1.6], n_mer) * (1 - p5)[:, None]
        self.rating_cum = np.cumsum(np.column_stack([p5, rest]), axis=1)  # 5, 4, 3, 2, 1 stars
        self.refund_rate = rng.uniform(0.01, 0.08, n_mer)
        self.shop_created = START - rng.integers(60, 2500, n_mer) * DAY
        self.shop_names = np.array([f"店铺{i}" for i in range(n_mer)], dtype=object)
        self.shop_pay = self.new("pay", n_mer)
        self.mer_pay.add(mer=np.arange(n_mer), pay=self.shop_pay)
        second = np.flatnonzero(rng.random(n_mer) < 0.2)
        self.mer_pay.add(mer=second, pay=self.new("pay", len(second)))
        # Fixed assets of shops (used by staff-side tactics): two devices, one office IP, one warehouse.
        self.shop_dev = self.new("device", 2 * n_mer).reshape(n_mer, 2)
        self.shop_ip = self.new("ip", n_mer)
        self.shop_addr = self.new("addr", n_mer)

    def popular_shops(self, n: int) -> np.ndarray:
        """``n`` shops drawn with replacement by popularity (an order's shop)."""
        return _draw(self._shop_cdf, self.rng, n)

    def shops_by_popularity(self, k: int, power: float = 1.0, exclude: np.ndarray | None = None) -> np.ndarray:
        """``k`` distinct shops drawn with weight popularity**power (power < 1 favours smaller shops)."""
        w = self.popularity ** power
        if exclude is not None and len(exclude):
            w = w.copy()
            w[exclude] = 0
        return self.rng.choice(self.n_mer, size=min(k, int((w > 0).sum())), replace=False, p=w / w.sum())

    def amounts(self, mer: np.ndarray, scale: float | np.ndarray = 1.0) -> np.ndarray:
        return np.maximum(1.0, np.round(self.price[mer] * scale * np.exp(self.rng.normal(0, 0.5, len(mer))), 2))

    def ratings(self, acc: np.ndarray, mer: np.ndarray, boost: float = 0.0) -> np.ndarray:
        """Ordinary ratings: the shop's own mix; generous raters always give five stars.

        ``boost`` moves that share of the non-five-star mass to five stars (happier crowds).
        """
        u = self.rng.random(len(mer))
        cum = 1 - (1 - self.rating_cum[mer]) * (1 - boost)  # every non-five-star share shrinks by boost
        stars = 5 - (u[:, None] > cum).sum(axis=1)
        return np.where(self.acc["generous"][acc], 5, np.maximum(stars, 1)).astype(np.float64)

    # ------------------------------------------------------------------ accounts
    def add_accounts(self, n: int, created: np.ndarray, *, nick_p=(0.46, 0.24, 0.2, 0.1), virtual: float = 0.04,
                     dev0: np.ndarray | None = None, n_dev: np.ndarray | None = None,
                     home_ip: np.ndarray | None = None, pay: np.ndarray | None = None,
                     addr: np.ndarray | None = None, activity: np.ndarray | None = None,
                     generous: float = 0.17, extra_cards: bool = True) -> np.ndarray:
        """Register ``n`` accounts with their wallets bound. Identifiers not given are new personal ones.

        People have 1-8 device ids (phones, tablets, and new ids after a reinstall or reset),
        1-4 bound cards and 1-4 delivery addresses, heavy-tailed.
        """
        rng = self.rng
        pay = self.new("pay", n) if pay is None else np.asarray(pay)
        n_pay_x = rng.choice(4, n, p=[0.45, 0.35, 0.14, 0.06]) if extra_cards else np.zeros(n, np.int64)
        pay_x = self._blocks("pay", n_pay_x)
        n_addr_x = rng.choice(4, n, p=[0.5, 0.3, 0.14, 0.06])
        addr_x = self._blocks("addr", n_addr_x)
        if n_dev is None:
            n_dev = rng.choice(np.arange(1, 9), n, p=[0.42, 0.28, 0.13, 0.07, 0.04, 0.03, 0.02, 0.01])
        if dev0 is None:
            dev0 = self.new("device", int(n_dev.sum()))[0] + np.concatenate([[0], np.cumsum(n_dev)[:-1]])
        n_nat_pools = self.n_nat // NAT_POOL
        ids = self.acc.append(
            created=np.asarray(created, np.int64),
            review_p=rng.beta(1.1, 1.5, n),
            generous=rng.random(n) < generous,
            delay=np.exp(rng.normal(np.log(2.5 * DAY), 0.75, n)),
            dev0=dev0, n_dev=n_dev,
            home_ip=self.new("ip", n) if home_ip is None else home_ip,
            nat0=self.nat_first + NAT_POOL * rng.integers(0, n_nat_pools, n), nat_n=np.full(n, NAT_POOL),
            wifi=rng.beta(2, 2, n),
            pay=pay, pay_x=pay_x, n_pay_x=n_pay_x, addr_x=addr_x, n_addr_x=n_addr_x, verbose=rng.beta(1.2, 1.6, n),
            addr=self.new("addr", n) if addr is None else addr,
            social=np.exp(rng.normal(0, 1.2, n)),
            nick=rng.choice(T.NICK_STYLES, n, p=np.asarray(nick_p) / np.sum(nick_p)),
            virtual=rng.random(n) < virtual,
            fav=self.popular_shops(n),
            activity=np.exp(rng.normal(0, 1.0, n)) if activity is None else activity,
        )
        extra = np.repeat(ids, n_pay_x)
        self.acc_pay.add(acc=np.concatenate([ids, extra]),
                         pay=np.concatenate([pay, np.repeat(pay_x, n_pay_x) + _within(n_pay_x)]))
        return ids

    def _blocks(self, kind: str, sizes: np.ndarray) -> np.ndarray:
        """First id of a contiguous block of ``sizes[i]`` new ids per row."""
        first = self.new(kind, int(sizes.sum()))
        base = first[0] if len(first) else self.counters[kind]
        return base + np.cumsum(sizes) - sizes

    def take(self, n: int, min_age_days: float = 0, max_age_days: float | None = None) -> np.ndarray:
        """``n`` background accounts not yet in any group, registered at least ``min_age_days`` ago."""
        created = self.acc["created"][: self.n_background]
        lo = -np.inf if max_age_days is None else self.start - max_age_days * DAY
        hi = self.start - min_age_days * DAY

        def eligible(ids: np.ndarray) -> np.ndarray:
            return self.free[ids] & (created[ids] <= hi) & (created[ids] >= lo)

        # Draw candidates at random and keep eligible ones (cheap while most accounts are free);
        # fall back to scanning everyone when too few turn up.
        cand = self.rng.integers(0, self.n_background, 4 * n + 16)
        _, first = np.unique(cand, return_index=True)
        cand = cand[np.sort(first)]
        cand = cand[eligible(cand)]
        if len(cand) >= n:
            chosen = cand[:n]
        else:
            pool = np.flatnonzero(eligible(np.arange(self.n_background)))
            chosen = self.rng.choice(pool, size=min(n, len(pool)), replace=False)
        self.free[chosen] = False
        return np.sort(chosen)

    def own_device(self, acc: np.ndarray) -> np.ndarray:
        """A device of each account's own: mostly the main phone."""
        n_dev = self.acc["n_dev"][acc]
        other = (self.rng.random(len(acc)) < 0.4) * (1 + (self.rng.random(len(acc)) * (n_dev - 1)).astype(np.int64))
        return self.acc["dev0"][acc] + np.minimum(other, n_dev - 1)

    def own_ip(self, acc: np.ndarray) -> np.ndarray:
        """Home broadband when on Wi-Fi, otherwise an exit of the carrier's NAT pool."""
        wifi = self.rng.random(len(acc)) < self.acc["wifi"][acc]
        exit_ = (self.rng.random(len(acc)) * self.acc["nat_n"][acc]).astype(np.int64)
        return np.where(wifi, self.acc["home_ip"][acc], self.acc["nat0"][acc] + exit_)

    def own_pay(self, acc: np.ndarray) -> np.ndarray:
        """The main wallet, or one of the other bound cards now and then."""
        return self._main_or_extra(acc, "pay", 0.35)

    def own_addr(self, acc: np.ndarray) -> np.ndarray:
        """Home, or another address of one's own (office, parents, a locker)."""
        return self._main_or_extra(acc, "addr", 0.3)

    def _main_or_extra(self, acc: np.ndarray, kind: str, p_extra: float) -> np.ndarray:
        n_x = self.acc[f"n_{kind}_x"][acc]
        extra = self.acc[f"{kind}_x"][acc] + (self.rng.random(len(acc)) * n_x).astype(np.int64)
        use = (n_x > 0) & (self.rng.random(len(acc)) < p_extra)
        return np.where(use, extra, self.acc[kind][acc])

    def register_own_devices(self, ids: np.ndarray) -> None:
        """Device records of the accounts' own phones: the first since registration, later ones after."""
        rng = self.rng
        n_dev = self.acc["n_dev"][ids]
        owner = np.repeat(ids, n_dev)
        slot = np.arange(len(owner)) - np.repeat(np.cumsum(n_dev) - n_dev, n_dev)
        created = self.acc["created"][owner]
        age = np.maximum(self.end - created, DAY)
        first = np.where(slot == 0, created, created + (rng.random(len(owner)) * age * 0.8).astype(np.int64))
        last = self.end - (rng.exponential(6, len(owner)) * DAY).astype(np.int64)
        self.register_devices(owner, self.acc["dev0"][owner] + slot, first, np.maximum(last, first + HOUR))

    def register_devices(self, acc: np.ndarray, dev: np.ndarray, first: np.ndarray, last: np.ndarray) -> None:
        self.acc_dev.add(acc=np.asarray(acc), dev=np.asarray(dev), first=np.asarray(first, np.int64),
                         last=np.asarray(last, np.int64))

    # ------------------------------------------------------------------ events
    def add_orders(self, acc, mer, t, dev, ip, pay, addr, amount=None) -> tuple[np.ndarray, np.ndarray]:
        """Append orders; returns (order indices, amounts)."""
        mer = np.asarray(mer)
        amount = self.amounts(mer) if amount is None else np.asarray(amount)
        product = mer * 50 + self.rng.integers(0, 50, len(mer))
        idx = self.orders.add(acc=np.asarray(acc), mer=mer, t=np.asarray(t, np.int64), dev=np.asarray(dev),
                              ip=np.asarray(ip), pay=np.asarray(pay), addr=np.asarray(addr), amount=amount,
                              product=product)
        return idx, amount

    def add_reviews(self, order, acc, mer, t, rating, dev, ip, text: T.Texts) -> np.ndarray:
        """Append reviews (``order`` -1 for a review without an order); texts are rendered at the end."""
        n = len(acc)
        if not n:
            return np.empty(0, np.int64)
        return self.reviews.add(order=np.broadcast_to(np.asarray(order), n).copy(), acc=np.asarray(acc),
                                mer=np.asarray(mer), t=np.asarray(t, np.int64), rating=np.asarray(rating, float),
                                dev=np.asarray(dev), ip=np.asarray(ip), **text.columns())

    def add_transfers(self, src, dst, amount, t) -> None:
        n = len(np.atleast_1d(dst))
        self.transfers.add(src=np.broadcast_to(np.asarray(src), n).copy(),
                           dst=np.broadcast_to(np.asarray(dst), n).copy(),
                           amount=np.round(np.broadcast_to(np.asarray(amount, float), n), 2),
                           t=np.broadcast_to(np.asarray(t, np.int64), n).copy())

    def add_logins(self, acc, t, dev, ip) -> None:
        self.logins.add(acc=np.asarray(acc), t=np.asarray(t, np.int64), dev=np.asarray(dev), ip=np.asarray(ip))

    def review_delay(self, acc: np.ndarray) -> np.ndarray:
        """Each account's own habit: some review the same day, most within a week."""
        return (self.acc["delay"][acc] * np.exp(self.rng.normal(0, 0.5, len(acc)))).astype(np.int64) + 600

    def shop(self, acc, mer, t, dev, ip, pay, addr, *, amount=None, boost: float = 0.0,
             review_p: float | np.ndarray | None = None, p_empty: float | None = None,
             p_generic: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ordinary shopping: orders, then reviews as the accounts habitually write them.

        Returns (order indices, amounts).
        """
        rng = self.rng
        acc, mer = np.asarray(acc), np.asarray(mer)
        o, amount = self.add_orders(acc, mer, t, dev, ip, pay, addr, amount)
        rp = self.acc["review_p"][acc] if review_p is None else np.broadcast_to(review_p, len(acc))
        u = rng.random(len(acc))
        written = u < rp
        auto = ~written & (rng.random(len(acc)) < P_DEFAULT_REVIEW)
        if written.any():
            w = np.flatnonzero(written)
            rating = self.ratings(acc[w], mer[w], boost)
            v = self.acc["verbose"][acc[w]]
            text = T.ordinary(rng, len(w), 0.3 * (1 - v) ** 2 if p_empty is None else p_empty,
                              0.55 * (1 - v) ** 1.5 if p_generic is None else p_generic, verbosity=v)
            self.add_reviews(o[w], acc[w], mer[w], np.asarray(t)[w] + self.review_delay(acc[w]), rating,
                             np.asarray(dev)[w], np.asarray(ip)[w], text)
        if auto.any():
            a = np.flatnonzero(auto)
            self.add_reviews(o[a], acc[a], mer[a], np.asarray(t)[a] + 15 * DAY + rng.integers(0, DAY, len(a)),
                             np.full(len(a), 5.0), np.asarray(dev)[a], np.asarray(ip)[a], T.default_reviews(len(a)))
        return o, amount

    def everyday(self, acc: np.ndarray, k: np.ndarray | int, *, lo: float | None = None, hi: float | None = None,
                 dev: np.ndarray | None = None, ip: np.ndarray | None = None, pay: np.ndarray | None = None,
                 addr: np.ndarray | None = None) -> None:
        """``k`` ordinary orders per account at popularity-weighted shops (camouflage, daily life).

        Identifier arrays given per account replace the account's own ones.
        """
        acc = np.asarray(acc)
        k = np.broadcast_to(np.asarray(k), len(acc))
        rep = np.repeat(np.arange(len(acc)), k)
        if not len(rep):
            return
        a = acc[rep]
        n = len(rep)
        fav = self.rng.random(n) < 0.22
        mer = np.where(fav, self.acc["fav"][a], self.popular_shops(n))
        pick = lambda given, own: own(a) if given is None else np.asarray(given)[rep]  # noqa: E731
        self.shop(a, mer, self.after_created(a, self.times(n, lo, hi)), pick(dev, self.own_device),
                  pick(ip, self.own_ip), self.paid_by_others(pick(pay, self.own_pay)), pick(addr, self.own_addr))

    def everyday_money(self, acc: np.ndarray, per_120_days: float = 1.6) -> None:
        """P2P transfers in and out between ``acc`` and background people, at the background's rate."""
        rng = self.rng
        if self._social_cdf is None:
            social = self.acc["social"][: self.n_background]
            self._social_cdf = np.cumsum(social / social.sum())
        for incoming in (True, False):
            k = rng.poisson(per_120_days * self.cfg.days / 120, len(acc))
            who = np.repeat(acc, k)
            other = _draw(self._social_cdf, rng, len(who))
            amount = np.exp(rng.normal(np.log(120), 1.2, len(who)))
            src, dst = (other, who) if incoming else (who, other)
            t = self.after_created(who, self.times(len(who)))
            self.add_transfers(self.acc["pay"][src], self.acc["pay"][dst], amount, t)

    def paid_by_others(self, pay: np.ndarray, share: float = 0.03) -> np.ndarray:
        """代付: now and then a friend or relative pays for the order from their own wallet."""
        other = self.rng.random(len(pay)) < share
        if other.any():
            if self._social_cdf is None:
                social = self.acc["social"][: self.n_background]
                self._social_cdf = np.cumsum(social / social.sum())
            payer = _draw(self._social_cdf, self.rng, int(other.sum()))
            pay = np.asarray(pay).copy()
            pay[other] = self.acc["pay"][payer]
        return pay

    def after_created(self, acc: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Move events of accounts registered later than ``t`` to a random later day, same clock time."""
        created = self.acc["created"][acc]
        late = np.flatnonzero(t < created)
        if len(late):
            c = created[late]
            days_left = np.maximum(1, (self.end - c) // DAY)
            shifted = c + (self.rng.random(len(late)) * days_left).astype(np.int64) * DAY + (t[late] - c) % DAY
            t = t.copy()
            t[late] = np.clip(shifted, c, self.end - 1)
        return t

    def reviews_since(self, first: int) -> dict[str, np.ndarray]:
        """Reviews appended since the buffer held ``first`` rows (``idx`` plus their columns)."""
        chunks, pos = [], self.reviews.n
        for chunk in reversed(self.reviews.chunks):
            if pos <= first:
                break
            chunks.append(chunk)
            pos -= len(chunk["acc"])
        if not chunks:
            return {"idx": np.empty(0, np.int64), "t": np.empty(0, np.int64), "acc": np.empty(0, np.int64)}
        out = {k: np.concatenate([c[k] for c in reversed(chunks)]) for k in ("t", "acc", "mer")}
        out["idx"] = np.arange(pos, self.reviews.n)
        return out

    def like(self, likers: np.ndarray, review_idx: np.ndarray, review_t: np.ndarray, lag: float = 2 * DAY) -> None:
        """Likes from ``likers`` on reviews (indices into the review buffer) after they appear."""
        if len(likers) and len(review_idx):
            self.likes.add(acc=np.asarray(likers), review=np.asarray(review_idx),
                           t=np.asarray(review_t, np.int64) + (self.rng.random(len(likers)) * lag).astype(np.int64)
                           + 300)

    # ------------------------------------------------------------------ truth
    def ring(self, members: np.ndarray, kind: str) -> None:
        self.ring_rows.append((np.unique(members), f"{kind}{len(self.ring_rows) + 1:04d}", kind))

    def group(self, members: np.ndarray, kind: str) -> None:
        self.benign_rows.append((np.unique(members), f"{kind}{len(self.benign_rows) + 1:04d}", kind))

    # ------------------------------------------------------------------ output
    def finish(self) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame]:
        """Format every buffer as contract tables; returns (tables, ring_members, benign_groups).

        Rows are ordered on integer keys before formatting (time, then a random id, so that
        file order carries no hint of who belongs together).
        """
        rng, end = self.rng, self.end
        n_acc = self.acc.n
        accounts = pl.select(
            _fmt("U", np.arange(n_acc), 8).alias("account_id"), _local8(self.acc["created"]).alias("created_at"),
            pl.lit(pl.Series(T.phones(rng, self.acc["virtual"]))).cast(pl.String).alias("phone"),
            pl.lit(T.nicknames(rng, self.acc["nick"])).alias("nickname"))
        merchants = pl.select(
            _fmt("M", np.arange(self.n_mer), 6).alias("merchant_id"),
            pl.lit(pl.Series(self.shop_names.tolist(), dtype=pl.String)).alias("name"),
            pl.lit(pl.Series(CATEGORIES).gather(self.category)).alias("category"),
            _local8(self.shop_created).alias("created_at"))

        o_all = self.orders.concat(release=True)
        kept_o = np.flatnonzero(o_all["t"] < end)
        o = {k: v[kept_o] for k, v in o_all.items()}
        del o_all
        order_no = np.full(self.orders.n, -1, np.int64)
        order_no[kept_o] = rng.permutation(len(kept_o))
        o["no"] = order_no[kept_o]
        r_all = self.reviews.concat(release=True)
        keep_r = r_all["t"] < end
        r = {k: v[keep_r] for k, v in r_all.items()}
        del r_all
        r["no"] = rng.permutation(len(r["acc"]))
        r["order_no"] = np.where(r["order"] >= 0, order_no[np.maximum(r["order"], 0)], -1)
        r["text"] = T.render(rng, r["tk"], r["rating"], r["tv"], r["tt"],
                             np.column_stack([r[f"tb{j}"] for j in range(T.BRIEF_MAX)]))
        o = _sorted(o, o["no"], o["t"])
        orders = pl.select(
            _fmt("O", o["no"], 10).alias("order_id"), _fmt("U", o["acc"], 8).alias("account_id"),
            _fmt("M", o["mer"], 6).alias("merchant_id"), _local8(o["t"]).alias("created_at"),
            pl.lit(pl.Series(o["amount"])).alias("amount"), _fmt("P", o["product"], 8).alias("product_id"),
            _fmt("D", o["dev"], 9).alias("device_id"), _ip32(o["ip"]).alias("ip"),
            _fmt("PA", o["pay"], 9).alias("payment_account_id"), _fmt("ADDR", o["addr"], 9).alias("address"))
        rs = _sorted(r, r["no"], r["t"])
        reviews = pl.select(
            _fmt("R", rs["no"], 10).alias("review_id"), _fmt("U", rs["acc"], 8).alias("account_id"),
            _fmt("M", rs["mer"], 6).alias("merchant_id"),
            pl.lit(pl.Series(rs["rating"])).cast(pl.Int64).alias("rating"), _local8(rs["t"]).alias("created_at"),
            pl.lit(rs["text"]).alias("text"),
            pl.when(pl.lit(pl.Series(rs["order_no"] >= 0))).then(_fmt("O", rs["order_no"], 10)).otherwise(None)
            .alias("order_id"),
            _fmt("D", rs["dev"], 9).alias("device_id"), _ip32(rs["ip"]).alias("ip"))
        ad = self.acc_dev.concat(release=True)
        ad = _keep(ad, lambda c: _first_of(c["acc"], c["dev"]))
        account_devices = pl.select(
            _fmt("U", ad["acc"], 8).alias("account_id"), _fmt("D", ad["dev"], 9).alias("device_id"),
            _local8(ad["first"]).alias("first_seen"),
            _local8(np.maximum(ad["first"], np.minimum(ad["last"], end - 1))).alias("last_seen"))
        ap = _keep(self.acc_pay.concat(release=True), lambda c: _first_of(c["acc"], c["pay"]))
        account_payments = pl.select(_fmt("U", ap["acc"], 8).alias("account_id"),
                                     _fmt("PA", ap["pay"], 9).alias("payment_account_id"))
        mp = _keep(self.mer_pay.concat(release=True), lambda c: _first_of(c["mer"], c["pay"]))
        merchant_payments = pl.select(_fmt("M", mp["mer"], 6).alias("merchant_id"),
                                      _fmt("PA", mp["pay"], 9).alias("payment_account_id"))
        tr = _keep(self.transfers.concat(release=True),
                   lambda c: (c["t"] < end) & (c["t"] >= self.start) & (c["src"] != c["dst"]))
        tr["no"] = rng.permutation(len(tr["src"]))
        tr = _sorted(tr, tr["no"], tr["t"])
        transfers = pl.select(
            _fmt("T", tr["no"], 10).alias("transfer_id"),
            _fmt("PA", tr["src"], 9).alias("from_payment_account_id"),
            _fmt("PA", tr["dst"], 9).alias("to_payment_account_id"),
            pl.lit(pl.Series(tr["amount"])).alias("amount"), _local8(tr["t"]).alias("created_at"))
        lg = _keep(self.logins.concat(release=True), lambda c: c["t"] < end)
        lg = _sorted(lg, lg["ip"], lg["dev"], lg["t"], lg["acc"])
        logins = pl.select(_fmt("U", lg["acc"], 8).alias("account_id"), _local8(lg["t"]).alias("created_at"),
                           _fmt("D", lg["dev"], 9).alias("device_id"), _ip32(lg["ip"]).alias("ip"))
        lk = self.likes.concat(release=True)
        # Likes refer to reviews by buffer index; map through the kept-review numbering.
        new_index = np.full(len(keep_r), -1, np.int64)
        new_index[keep_r] = np.arange(int(keep_r.sum()))
        lk["rev"] = new_index[lk["review"]]
        lk = _keep(lk, lambda c: (c["rev"] >= 0) & (c["t"] < end))
        lk["no"] = r["no"][lk["rev"]]
        lk["t"] = np.maximum(lk["t"], r["t"][lk["rev"]] + 60)
        lk = _keep(lk, lambda c: _first_of(c["acc"], c["no"]))
        lk = _sorted(lk, lk["no"], lk["acc"])
        review_likes = pl.select(_fmt("U", lk["acc"], 8).alias("account_id"),
                                 _fmt("R", lk["no"], 10).alias("review_id"), _local8(lk["t"]).alias("created_at"))
        tables = {"accounts": accounts, "merchants": merchants, "reviews": reviews, "orders": orders,
                  "account_devices": account_devices, "account_payments": account_payments,
                  "merchant_payments": merchant_payments, "transfers": transfers, "logins": logins,
                  "review_likes": review_likes}
        return tables, _truth(self.ring_rows, "ring"), _truth(self.benign_rows, "group")


def _keep(cols: dict[str, np.ndarray], mask) -> dict[str, np.ndarray]:
    m = mask(cols)
    return {k: v[m] for k, v in cols.items()}


def _sorted(cols: dict[str, np.ndarray], *keys: np.ndarray) -> dict[str, np.ndarray]:
    """Rows ordered by the keys, the last key primary (as ``numpy.lexsort``)."""
    order = np.lexsort(keys)
    return {k: v[order] for k, v in cols.items()}


def _first_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask of the first occurrence of every (a, b) pair."""
    _, first = np.unique(a.astype(np.int64) * (1 << 32) + b.astype(np.int64), return_index=True)
    mask = np.zeros(len(a), bool)
    mask[first] = True
    return mask


def _local8(t) -> pl.Expr:
    """Naive Beijing-time strings, as Chinese platform exports usually are (no DST since 1991)."""
    return (pl.lit(pl.Series((np.asarray(t, dtype=np.int64) + TZ_OFFSET) * 1000)).cast(pl.Datetime("ms"))
            .dt.strftime("%Y-%m-%d %H:%M:%S"))


def _draw(cdf: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` indices drawn with replacement from a cumulative distribution."""
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)


def _within(sizes: np.ndarray) -> np.ndarray:
    """0, 1, ..., sizes[i] - 1 for every row, concatenated."""
    return np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _truth(rows: list[tuple[np.ndarray, str, str]], what: str) -> pl.DataFrame:
    if what == "ring":
        schema = {"ring_id": pl.String, "account_id": pl.String, "ring_kind": pl.String}
        parts = [pl.select(pl.lit(gid).alias("ring_id"), _fmt("U", m, 8).alias("account_id"),
                           pl.lit(kind).alias("ring_kind")) for m, gid, kind in rows if len(m)]
    else:
        schema = {"group_id": pl.String, "group_kind": pl.String, "account_id": pl.String}
        parts = [pl.select(pl.lit(gid).alias("group_id"), pl.lit(kind).alias("group_kind"),
                           _fmt("U", m, 8).alias("account_id")) for m, gid, kind in rows if len(m)]
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _ip32(values) -> pl.Expr:
    """Dotted-quad strings, one distinct address per id (an odd multiplier permutes 2**31)."""
    v = pl.lit(pl.Series(np.asarray(values, dtype=np.int64) * 2_654_435_761 % 2_147_483_648))
    return pl.concat_str([v // 16_777_216 + 1, (v // 65_536) % 256, (v // 256) % 256, v % 256], separator=".")
