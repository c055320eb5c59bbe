"""A synthetic marketplace in the input contract, with planted rings and ground truth.

The background is generated column-wise with numpy (no per-row Python), so a million
accounts take well under two minutes. Rings and benign look-alike groups are built one
group at a time, each group vectorised inside.

Ring kinds (``truth/ring_members.csv``):

* ``device_farm`` – batch-registered small accounts on a few group-control phones and
  rotating proxy IPs, templated 5-star reviews in bursts across many client shops,
  cashback from the studio's payers.
* ``experience_officer`` – older real accounts with their own devices, co-reviewing
  campaign shops within days, refunded by an organiser that the client shops pay.
* ``self_brushing`` – a shop's staff accounts sharing the shop's address, devices and
  payment account, repeat orders and fast 5-star reviews on that shop.
* ``aged_takeover`` – bought aged accounts taken over through new shared devices and
  rotating proxies, then used like a farm.

Benign look-alikes (``truth/benign_groups.csv``): ``family``, ``campus``,
``internet_cafe``, ``flash_sale``, ``fan_club``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ..contract import DEFAULT_TZ
from ..errors import ParameterError
from . import text as T

DAY = 86_400
HOUR = 3_600
#: Period start: 2024-03-01 00:00 Asia/Shanghai, as epoch seconds.
START = 1_709_222_400
TZ_OFFSET = 8 * HOUR

RING_KINDS = ("device_farm", "experience_officer", "self_brushing", "aged_takeover")
BENIGN_KINDS = ("family", "campus", "internet_cafe", "flash_sale", "fan_club")

# Day/night rhythm of online shopping (share of activity per local hour).
_HOURLY = np.array([2.0, 1.2, 0.7, 0.4, 0.3, 0.4, 0.9, 1.8, 3.0, 4.0, 4.6, 4.8,
                    5.0, 4.6, 4.4, 4.5, 4.6, 4.8, 5.0, 5.6, 6.6, 7.4, 7.0, 4.2])
_HOURLY = _HOURLY / _HOURLY.sum()
_RATING_P = np.array([0.05, 0.03, 0.07, 0.15, 0.70])


@dataclass
class SynthConfig:
    """Parameters of the synthetic marketplace (all have realistic defaults)."""

    n_accounts: int = 20_000
    seed: int = 0
    days: int = 90
    orders_per_account: float = 7.0
    review_rate: float = 0.36
    #: Rings and look-alike groups per 20,000 background accounts (at least one each).
    rings_per_kind: float = 3.0

    def validate(self) -> None:
        if not isinstance(self.n_accounts, (int, np.integer)) or self.n_accounts < 500:
            raise ParameterError(f"n_accounts={self.n_accounts!r}: need an integer >= 500 so that rings and "
                                 "look-alike groups fit; try --accounts 20000.")
        if self.days < 14:
            raise ParameterError(f"days={self.days!r}: need at least 14 days for campaigns to unfold.")


@dataclass
class SynthResult:
    """Tables in the input contract plus the ground truth."""

    tables: dict[str, pl.DataFrame]
    ring_members: pl.DataFrame
    benign_groups: pl.DataFrame
    config: SynthConfig = field(default_factory=SynthConfig)


class _Events:
    """Column chunks of one event table, concatenated once at the end."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []
        self.n = 0

    def add(self, **cols: np.ndarray) -> np.ndarray:
        size = len(next(iter(cols.values())))
        self.chunks.append({k: np.asarray(v) for k, v in cols.items()})
        idx = np.arange(self.n, self.n + size)
        self.n += size
        return idx

    def concat(self) -> dict[str, np.ndarray]:
        keys = self.chunks[0].keys()
        return {k: np.concatenate([c[k] for c in self.chunks]) for k in keys}


class _Market:
    """State of one synthesis run. Ids are integers until the final string formatting."""

    def __init__(self, cfg: SynthConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.end = START + cfg.days * DAY
        self.orders = _Events()
        self.reviews = _Events()
        self.transfers = _Events()
        self.logins = _Events()
        self.likes = _Events()
        self.acc_dev = _Events()
        self.acc_pay = _Events()
        self.texts: list[pl.Series] = []
        self.counters = {"device": 0, "ip": 0, "pay": 0, "addr": 0}
        self.ring_rows: list[tuple[np.ndarray, str, str]] = []
        self.benign_rows: list[tuple[np.ndarray, str, str]] = []
        self.merchant_pay: np.ndarray = np.empty(0)

    # ------------------------------------------------------------------ helpers
    def new(self, kind: str, n: int) -> np.ndarray:
        start = self.counters[kind]
        self.counters[kind] += n
        return np.arange(start, start + n)

    def times(self, n: int, lo: float | None = None, hi: float | None = None) -> np.ndarray:
        """Random times with the day/night rhythm, days uniform in [lo, hi)."""
        lo = START if lo is None else lo
        hi = self.end if hi is None else hi
        day0: float = np.floor((lo + TZ_OFFSET) / DAY)  # np.float64, a float subclass
        ndays = max(1, int(np.ceil((hi + TZ_OFFSET) / DAY) - day0))
        day = day0 + self.rng.integers(0, ndays, n)
        hour = self.rng.choice(24, n, p=_HOURLY)
        t: npt.NDArray[np.floating[Any]] = day * DAY - TZ_OFFSET + hour * HOUR + self.rng.integers(0, HOUR, n)
        return t.clip(lo, hi - 1).astype(np.int64)

    def amounts(self, n: int) -> np.ndarray:
        return np.round(np.exp(self.rng.normal(np.log(60), 0.9, n)), 2)

    def add_orders(self, acc: np.ndarray, mer: np.ndarray, t: np.ndarray, dev: np.ndarray, ip: np.ndarray,
                   pay: np.ndarray, addr: np.ndarray, amount: np.ndarray | None = None) -> np.ndarray:
        n = len(acc)
        amount = self.amounts(n) if amount is None else amount
        return self.orders.add(acc=acc, mer=mer, t=t, dev=dev, ip=ip, pay=pay, addr=addr, amount=amount,
                               product=self.rng.integers(0, 50, n))

    def add_reviews(self, order_idx: np.ndarray, delay: np.ndarray, rating: np.ndarray,
                    texts: pl.Series) -> np.ndarray:
        o = self.orders
        # Orders are still in chunks: look them up through a flat view built lazily.
        flat = self._order_view(order_idx)
        self.texts.append(texts)
        return self.reviews.add(order=order_idx, acc=flat["acc"], mer=flat["mer"], t=flat["t"] + delay,
                                rating=rating, dev=flat["dev"], ip=flat["ip"]) if o.n else np.empty(0, int)

    def _order_view(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        # Order indices passed here always belong to the most recent order chunks, so search
        # backwards through chunks; this keeps review creation O(chunk) rather than O(all).
        last = self.orders.chunks[-1]
        out = {k: np.empty(len(idx), dtype=last[k].dtype) for k in ("acc", "mer", "t", "dev", "ip", "amount")}
        pos = self.orders.n
        remaining = np.ones(len(idx), bool)
        for chunk in reversed(self.orders.chunks):
            size = len(chunk["acc"])
            pos -= size
            sel = remaining & (idx >= pos)
            if sel.any():
                local = idx[sel] - pos
                for k in out:
                    out[k][sel] = chunk[k][local]
                remaining &= ~sel
            if not remaining.any():
                break
        return out

    def generic_or_composed(self, n: int, p_generic: float = 0.3, p_empty: float = 0.08) -> pl.Series:
        """Benign review texts: generic short texts, empty, or 2-4 composed phrases."""
        rng = self.rng
        parts = []
        for bank in T.ASPECTS:
            pick = rng.integers(0, len(bank), n)
            use = rng.random(n) < 0.55
            parts.append(pl.Series(bank).gather(pick).zip_with(pl.Series(use), pl.Series([None] * n, dtype=pl.String)))
        product = pl.Series(T.PRODUCTS).gather(rng.integers(0, len(T.PRODUCTS), n))
        composed = pl.DataFrame({"p": product, **{f"a{i}": s for i, s in enumerate(parts)}}).select(
            pl.concat_str([pl.lit("买的"), pl.col("p"), pl.lit("，")], separator="").alias("head"),
            pl.concat_list([f"a{i}" for i in range(len(parts))]).list.drop_nulls().list.join("，").alias("body"),
        ).select(pl.when(pl.col("body") == "").then(pl.lit("还行")).otherwise(pl.col("head") + pl.col("body") + "。")
                 ).to_series()
        generic = pl.Series(T.GENERIC).gather(rng.integers(0, len(T.GENERIC), n))
        u = rng.random(n)
        out = pl.select(pl.when(pl.Series(u < p_empty)).then(pl.lit(None, pl.String))
                        .when(pl.Series(u < p_empty + p_generic)).then(generic)
                        .otherwise(composed)).to_series()
        return out.alias("text")

    def templated(self, n: int, templates: np.ndarray, p_generic: float = 0.12) -> pl.Series:
        """Ring texts: one of the ring's templates with its slots filled, or generic."""
        rng = self.rng
        tpl = templates[rng.integers(0, len(templates), n)]
        a = rng.integers(0, len(T.SLOT_A), n)
        b = rng.integers(0, len(T.SLOT_B), n)
        generic = rng.random(n) < p_generic
        texts = [T.GENERIC[rng.integers(0, len(T.GENERIC))] if g else T.TEMPLATES[k].format(T.SLOT_A[i], T.SLOT_B[j])
                 for k, i, j, g in zip(tpl, a, b, generic)]
        return pl.Series("text", texts, dtype=pl.String)

    def five_star(self, n: int, p5: float) -> np.ndarray:
        return np.where(self.rng.random(n) < p5, 5.0, 4.0)

    def pick(self, pool: np.ndarray, n: int) -> np.ndarray:
        return self.rng.choice(pool, size=min(n, len(pool)), replace=False)


def synthesize(n_accounts: int = 20_000, seed: int = 0, **kwargs: Any) -> SynthResult:
    """Generate a marketplace with planted rings and benign look-alikes.

    Parameters
    ----------
    n_accounts
        Background accounts (ring accounts that are newly registered come on top).
    seed
        Random seed: the same seed gives byte-identical tables.

    Examples
    --------
    >>> res = synthesize(2_000, seed=1)
    >>> sorted(res.ring_members["ring_kind"].unique().to_list())
    ['aged_takeover', 'device_farm', 'experience_officer', 'self_brushing']
    >>> res.tables["accounts"]["account_id"].is_unique().all()
    True
    """
    cfg = SynthConfig(n_accounts=n_accounts, seed=seed, **kwargs)
    cfg.validate()
    m = _Market(cfg)
    state = _background(m)
    groups_per_kind = max(1, int(round(cfg.rings_per_kind * n_accounts / 20_000)))
    _benign_groups(m, state, groups_per_kind)
    _rings(m, state, groups_per_kind)
    return _finish(m, state)


# ---------------------------------------------------------------------- background
@dataclass
class _Background:
    """The background population that groups are drawn from (arrays indexed by account)."""

    n: int
    n_mer: int
    popularity: npt.NDArray[np.floating[Any]]  # merchant choice probabilities
    created: npt.NDArray[np.int64]  # epoch seconds
    n_dev: npt.NDArray[np.int64]
    dev_start: npt.NDArray[np.int64]  # first device id of each account
    home_ip: npt.NDArray[np.int64]
    nat_ips: npt.NDArray[np.int64]
    pay: npt.NDArray[np.int64]
    addr: npt.NDArray[np.int64]
    free: npt.NDArray[np.bool_]  # not yet in any ring or look-alike group
    #: (ids, created) of accounts registered on top of the background, in id order.
    extra_accounts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = field(default_factory=list)


def _background(m: _Market) -> _Background:
    cfg, rng = m.cfg, m.rng
    n = cfg.n_accounts
    n_mer = max(40, n // 100)
    popularity = 1.0 / np.arange(1, n_mer + 1) ** 0.9
    popularity = rng.permutation(popularity / popularity.sum())

    created = START - rng.integers(30 * DAY, 3 * 365 * DAY, n)
    # Devices: 1-3 per person.
    n_dev = rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1])
    dev_start = m.new("device", int(n_dev.sum()))[0] + np.concatenate([[0], np.cumsum(n_dev)[:-1]])
    owner = np.repeat(np.arange(n), n_dev)
    m.acc_dev.add(acc=owner, dev=dev_start[0] + np.arange(len(owner)),
                  first=created[owner], last=np.full(len(owner), m.end - DAY))
    home_ip = m.new("ip", n)
    n_nat = max(3, n // 4000)
    nat_ips = m.new("ip", n_nat)
    pay = m.new("pay", n)
    m.acc_pay.add(acc=np.arange(n), pay=pay)
    addr = m.new("addr", n)

    # Orders: heavy-tailed activity per account.
    lam = np.exp(rng.normal(0, 1.0, n))
    lam *= cfg.orders_per_account / lam.mean()
    k = rng.poisson(lam)
    acc = np.repeat(np.arange(n), k)
    n_orders = len(acc)
    mer = rng.choice(n_mer, n_orders, p=popularity)
    t = m.times(n_orders)
    dev = dev_start[acc] + (rng.random(n_orders) * n_dev[acc]).astype(np.int64)
    ip = np.where(rng.random(n_orders) < 0.5, home_ip[acc], nat_ips[rng.integers(0, n_nat, n_orders)])
    oidx = m.add_orders(acc, mer, t, dev, ip, pay[acc], addr[acc])

    reviewed = rng.random(n_orders) < cfg.review_rate
    r_orders = oidx[reviewed]
    delay = np.exp(rng.normal(np.log(4 * DAY), 0.6, len(r_orders))).astype(np.int64)
    rating = rng.choice(np.arange(1, 6), len(r_orders), p=_RATING_P).astype(float)
    m.add_reviews(r_orders, delay, rating, m.generic_or_composed(len(r_orders)))

    # Logins, P2P transfers, merchant refunds, likes: benign money and noise.
    nl = n
    la = rng.integers(0, n, nl)
    m.logins.add(acc=la, t=m.times(nl), dev=dev_start[la] + (rng.random(nl) * n_dev[la]).astype(np.int64),
                 ip=np.where(rng.random(nl) < 0.5, home_ip[la], nat_ips[rng.integers(0, n_nat, nl)]))
    merchant_pay = m.new("pay", n_mer)
    m.merchant_pay = merchant_pay
    np2p = n // 4
    m.transfers.add(src=pay[rng.integers(0, n, np2p)], dst=pay[rng.integers(0, n, np2p)],
                    amount=np.round(rng.uniform(5, 500, np2p), 2), t=m.times(np2p))
    refund = rng.random(n_orders) < 0.02
    m.transfers.add(src=merchant_pay[mer[refund]], dst=pay[acc[refund]], amount=m.orders.chunks[-1]["amount"][refund],
                    t=t[refund] + rng.integers(DAY, 5 * DAY, int(refund.sum())))
    return _Background(n=n, n_mer=n_mer, popularity=popularity, created=created, n_dev=n_dev,
                       dev_start=dev_start, home_ip=home_ip, nat_ips=nat_ips, pay=pay, addr=addr,
                       free=np.ones(n, bool))


def _take(m: _Market, state: _Background, n: int, older_than_days: int = 0) -> np.ndarray:
    """Pick background accounts not yet in any group (older than a given age)."""
    ok = state.free & (state.created <= START - older_than_days * DAY)
    chosen = m.pick(np.flatnonzero(ok), n)
    state.free[chosen] = False
    return chosen


def _normal_activity(m: _Market, state: _Background, accts: np.ndarray, per_account: tuple[int, int],
                     dev: np.ndarray, ip: np.ndarray, pay: np.ndarray, addr: np.ndarray,
                     lo: float | None = None) -> None:
    """Camouflage: ordinary orders on popular shops, reviewed like anybody's."""
    rng = m.rng
    k = rng.integers(per_account[0], per_account[1] + 1, len(accts))
    rep = np.repeat(np.arange(len(accts)), k)
    if len(rep) == 0:
        return
    mer = rng.choice(state.n_mer, len(rep), p=state.popularity)
    o = m.add_orders(accts[rep], mer, m.times(len(rep), lo=lo), dev[rep], ip[rep], pay[rep], addr[rep])
    rv = rng.random(len(o)) < m.cfg.review_rate
    if rv.any():
        m.add_reviews(o[rv], np.exp(rng.normal(np.log(4 * DAY), 0.6, int(rv.sum()))).astype(np.int64),
                      rng.choice(np.arange(1, 6), int(rv.sum()), p=_RATING_P).astype(float),
                      m.generic_or_composed(int(rv.sum())))


def _new_accounts(m: _Market, state: _Background, n: int, created: np.ndarray) -> np.ndarray:
    base = state.n + sum(len(x) for x, _ in state.extra_accounts)
    ids = np.arange(base, base + n)
    state.extra_accounts.append((ids, created))
    return ids


# ---------------------------------------------------------------------- rings
#: Maps member account ids to one value per account (its device, IP or payment account).
_PerAccount = Callable[[npt.NDArray[np.int64]], np.ndarray]


def _campaigns(m: _Market, state: _Background, members: np.ndarray, shops: np.ndarray, frac: tuple[float, float],
               window: tuple[float, float], dev_of: _PerAccount, ip_pool: np.ndarray | None,
               ip_of: _PerAccount | None, pay_of: _PerAccount, texts: Callable[[int], pl.Series],
               review_delay: tuple[float, float], p5: float,
               lo: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Coordinated orders + reviews: per shop, a share of members act within a window."""
    rng = m.rng
    accs, mers, ts = [], [], []
    for shop in shops:
        part = m.pick(members, max(2, int(len(members) * rng.uniform(*frac))))
        t0 = m.times(1, lo=lo, hi=m.end - 4 * DAY)[0]
        accs.append(part)
        mers.append(np.full(len(part), shop))
        ts.append(t0 + (rng.random(len(part)) * rng.uniform(*window)).astype(np.int64))
    acc = np.concatenate(accs)
    mer = np.concatenate(mers)
    t = np.concatenate(ts)
    if ip_pool is not None:
        ip = ip_pool[rng.integers(0, len(ip_pool), len(acc))]
    elif ip_of is not None:
        ip = ip_of(acc)
    else:
        raise ValueError("_campaigns needs ip_pool or ip_of")
    o = m.add_orders(acc, mer, t, dev_of(acc), ip, pay_of(acc), _addr_of(m, state, acc))
    delay = rng.uniform(*review_delay, len(o)).astype(np.int64)
    r = m.add_reviews(o, delay, m.five_star(len(o), p5), texts(len(o)))
    # Ring members like each other's reviews.
    nlikes = len(r) // 2
    if nlikes:
        m.likes.add(acc=acc[rng.integers(0, len(acc), nlikes)], review=r[rng.integers(0, len(r), nlikes)],
                    t=t[rng.integers(0, len(t), nlikes)] + 2 * DAY)
    return o, t + delay


def _addr_of(m: _Market, state: _Background, acc: np.ndarray) -> np.ndarray:
    out = np.where(acc < state.n, state.addr[np.minimum(acc, state.n - 1)], -1)
    missing = out < 0
    if missing.any():  # new ring accounts ship empty parcels to throwaway addresses
        out[missing] = m.new("addr", int(missing.sum()))
    return out


def _cashback(m: _Market, payers: np.ndarray, order_idx: np.ndarray, review_t: np.ndarray,
              member_pay: np.ndarray) -> None:
    rng = m.rng
    # The buyer gets the order amount back plus a commission.
    amount = np.round(m._order_view(order_idx)["amount"] + rng.uniform(3, 12, len(order_idx)), 2)
    m.transfers.add(src=payers[rng.integers(0, len(payers), len(order_idx))], dst=member_pay,
                    amount=amount, t=review_t + rng.integers(HOUR, 2 * DAY, len(order_idx)))


def _rings(m: _Market, state: _Background, per_kind: int) -> None:
    rng = m.rng
    n_mer = state.n_mer
    ring_no = 0
    # Proxy/datacenter IPs and group-control phones come from their own id ranges.
    for kind in RING_KINDS:
        for _ in range(per_kind):
            ring_no += 1
            rid = f"ring{ring_no:04d}"
            if kind == "device_farm":
                size = int(rng.integers(30, 121))
                t_reg = START + int(rng.integers(-60, 10)) * DAY
                created = t_reg + rng.integers(0, 36 * HOUR, size)
                members = _new_accounts(m, state, size, created)
                phones = m.new("device", max(2, size // 15))
                dev_of_member = phones[rng.integers(0, len(phones), size)]
                m.acc_dev.add(acc=members, dev=dev_of_member, first=created, last=np.full(size, m.end - DAY))
                second = rng.random(size) < 0.4
                m.acc_dev.add(acc=members[second], dev=phones[rng.integers(0, len(phones), int(second.sum()))],
                              first=created[second], last=np.full(int(second.sum()), m.end - DAY))
                proxies = m.new("ip", int(rng.integers(8, 25)))
                pay = m.new("pay", size)
                m.acc_pay.add(acc=members, pay=pay)
                payers = m.new("pay", int(rng.integers(1, 3)))
                tpl = rng.choice(len(T.TEMPLATES), int(rng.integers(3, 6)), replace=False)
                shops = rng.choice(n_mer, int(rng.integers(8, 26)), replace=False)
                lookup = dict(zip(members.tolist(), range(size)))

                def idx(a: np.ndarray) -> npt.NDArray[np.int64]:
                    return np.fromiter((lookup[x] for x in a), np.int64, len(a))

                o, rt = _campaigns(m, state, members, shops, (0.4, 0.9), (2 * HOUR, 12 * HOUR),
                                   lambda a: dev_of_member[idx(a)], proxies, None, lambda a: pay[idx(a)],
                                   lambda k: m.templated(k, tpl), (0.5 * DAY, 2 * DAY), 0.97,
                                   lo=max(START, t_reg + 2 * DAY))
                _cashback(m, payers, o, rt, pay[idx(m._order_view(o)["acc"])])
                # Client shops pay the studio.
                m.transfers.add(src=m.merchant_pay[shops], dst=payers[rng.integers(0, len(payers), len(shops))],
                                amount=np.round(rng.uniform(2000, 20000, len(shops)), 2),
                                t=m.times(len(shops)))
                _normal_activity(m, state, members, (0, 4), dev_of_member,
                                 proxies[rng.integers(0, len(proxies), size)], pay,
                                 _addr_of(m, state, members), lo=t_reg + DAY)
                m.logins.add(acc=members, t=m.times(size, lo=t_reg), dev=dev_of_member,
                             ip=proxies[rng.integers(0, len(proxies), size)])
            elif kind == "experience_officer":
                size = int(rng.integers(15, 51))
                members = _take(m, state, size, older_than_days=365)
                size = len(members)
                organiser = m.new("pay", 1)
                shops = rng.choice(n_mer, int(rng.integers(6, 17)), replace=False)

                def dev_of(a: npt.NDArray[np.int64]) -> np.ndarray:
                    return state.dev_start[a]  # their own first device

                def ip_of(a: npt.NDArray[np.int64]) -> np.ndarray:
                    return state.home_ip[a]

                point = rng.choice(len(T.CAMPAIGN_POINTS), len(shops))

                def officer_texts(k: int) -> pl.Series:
                    base = m.generic_or_composed(k, p_generic=0.0, p_empty=0.0)
                    pts = pl.Series(T.CAMPAIGN_POINTS).gather(point[rng.integers(0, len(point), k)])
                    return (base.str.strip_chars_end("。") + "，" + pts + "。").alias("text")

                o, rt = _campaigns(m, state, members, shops, (0.5, 0.85), (DAY, 3 * DAY), dev_of, None, ip_of,
                                   lambda a: state.pay[a], officer_texts, (DAY, 3 * DAY), 0.9)
                _cashback(m, organiser, o, rt, state.pay[m._order_view(o)["acc"]])
                m.transfers.add(src=m.merchant_pay[shops], dst=np.full(len(shops), organiser[0]),
                                amount=np.round(rng.uniform(3000, 15000, len(shops)), 2), t=m.times(len(shops)))
            elif kind == "self_brushing":
                size = int(rng.integers(4, 11))
                shop = int(rng.integers(0, n_mer))
                created = START - rng.integers(20, 200, size) * DAY
                members = _new_accounts(m, state, size, created)
                devices = m.new("device", int(rng.integers(2, 4)))
                dev_of_member = devices[rng.integers(0, len(devices), size)]
                m.acc_dev.add(acc=members, dev=dev_of_member, first=created, last=np.full(size, m.end - DAY))
                shop_pay = m.merchant_pay[shop]
                own_pay = m.new("pay", size)
                m.acc_pay.add(acc=np.concatenate([members, members]),
                              pay=np.concatenate([own_pay, np.full(size, shop_pay)]))
                office_ip = m.new("ip", 2)
                warehouse = m.new("addr", int(rng.integers(1, 3)))
                k = rng.integers(8, 31, size)
                acc = np.repeat(members, k)
                t = m.times(len(acc))
                o = m.add_orders(acc, np.full(len(acc), shop), t, dev_of_member[np.repeat(np.arange(size), k)],
                                 office_ip[rng.integers(0, 2, len(acc))],
                                 np.where(rng.random(len(acc)) < 0.7, shop_pay, own_pay[np.repeat(np.arange(size), k)]),
                                 warehouse[rng.integers(0, len(warehouse), len(acc))])
                tpl = rng.choice(len(T.TEMPLATES), 2, replace=False)
                rv = rng.random(len(o)) < 0.8
                m.add_reviews(o[rv], rng.uniform(0.2 * DAY, 1.5 * DAY, int(rv.sum())).astype(np.int64),
                              m.five_star(int(rv.sum()), 0.95), m.templated(int(rv.sum()), tpl, p_generic=0.3))
                _normal_activity(m, state, members, (0, 3), dev_of_member, office_ip[np.zeros(size, int)],
                                 own_pay, warehouse[np.zeros(size, int)])
            else:  # aged_takeover
                size = int(rng.integers(20, 51))
                members = _take(m, state, size, older_than_days=730)
                size = len(members)  # a small marketplace may have fewer aged accounts
                t0 = START + int(rng.integers(5, m.cfg.days // 2)) * DAY
                devices = m.new("device", max(2, size // 10))
                dev_of_member = devices[rng.integers(0, len(devices), size)]
                m.acc_dev.add(acc=members, dev=dev_of_member, first=t0 + rng.integers(0, DAY, size),
                              last=np.full(size, m.end - DAY))
                proxies = m.new("ip", int(rng.integers(10, 30)))
                payers = m.new("pay", 1)
                tpl = rng.choice(len(T.TEMPLATES), int(rng.integers(3, 6)), replace=False)
                shops = rng.choice(n_mer, int(rng.integers(6, 16)), replace=False)
                lookup = dict(zip(members.tolist(), range(size)))

                def idx(a: np.ndarray) -> npt.NDArray[np.int64]:
                    return np.fromiter((lookup[x] for x in a), np.int64, len(a))

                m.logins.add(acc=members, t=t0 + rng.integers(0, DAY, size), dev=dev_of_member,
                             ip=proxies[rng.integers(0, len(proxies), size)])
                o, rt = _campaigns(m, state, members, shops, (0.45, 0.9), (3 * HOUR, 18 * HOUR),
                                   lambda a: dev_of_member[idx(a)], proxies, None, lambda a: state.pay[a],
                                   lambda k: m.templated(k, tpl), (0.5 * DAY, 2 * DAY), 0.96, lo=t0 + DAY)
                _cashback(m, payers, o, rt, state.pay[m._order_view(o)["acc"]])
            m.ring_rows.append((members, rid, kind))


# ---------------------------------------------------------------------- look-alikes
def _benign_groups(m: _Market, state: _Background, per_kind: int) -> None:
    rng = m.rng
    n_mer = state.n_mer
    gid = 0
    n_family = max(2, int(round(per_kind * 30)))
    for _ in range(n_family):
        gid += 1
        members = _take(m, state, int(rng.integers(2, 6)))
        tablet = m.new("device", 1)
        card = m.new("pay", 1)
        home = m.new("addr", 1)
        k = len(members)
        m.acc_dev.add(acc=members, dev=np.full(k, tablet[0]), first=np.full(k, START - 200 * DAY),
                      last=np.full(k, m.end - DAY))
        m.acc_pay.add(acc=members, pay=np.full(k, card[0]))
        state.addr[members] = home[0]
        # Some family orders go through the tablet and the shared card.
        _normal_activity(m, state, members, (2, 6), np.full(k, tablet[0]), state.home_ip[members[[0] * k]],
                         np.full(k, card[0]), np.full(k, home[0]))
        m.benign_rows.append((members, f"family{gid:04d}", "family"))
    for _ in range(per_kind):
        gid += 1
        members = _take(m, state, int(rng.integers(150, 401)))
        campus_ip = m.new("ip", int(rng.integers(1, 3)))
        k = len(members)
        ip = campus_ip[rng.integers(0, len(campus_ip), k)]
        _normal_activity(m, state, members, (2, 6), state.dev_start[members], ip, state.pay[members],
                         state.addr[members])
        m.logins.add(acc=members, t=m.times(k), dev=state.dev_start[members], ip=ip)
        m.benign_rows.append((members, f"campus{gid:04d}", "campus"))
    for _ in range(per_kind * 2):
        gid += 1
        members = _take(m, state, int(rng.integers(10, 31)))
        cafe = m.new("device", int(rng.integers(1, 3)))
        cafe_ip = m.new("ip", 1)
        k = len(members)
        dev = cafe[rng.integers(0, len(cafe), k)]
        m.acc_dev.add(acc=members, dev=dev, first=m.times(k, lo=START - 100 * DAY, hi=START), last=m.times(k))
        _normal_activity(m, state, members, (1, 3), dev, np.full(k, cafe_ip[0]), state.pay[members],
                         state.addr[members])
        m.benign_rows.append((members, f"internet_cafe{gid:04d}", "internet_cafe"))
    top = np.argsort(-state.popularity)[:5]
    for _ in range(per_kind):
        gid += 1
        members = _take(m, state, int(rng.integers(100, 401)))
        shop = int(rng.choice(top))
        t0 = m.times(1, hi=m.end - 5 * DAY)[0]
        k = len(members)
        t = t0 + rng.integers(0, HOUR, k)
        o = m.add_orders(members, np.full(k, shop), t, state.dev_start[members], state.home_ip[members],
                         state.pay[members], state.addr[members])
        rv = rng.random(k) < 0.45
        m.add_reviews(o[rv], rng.uniform(DAY, 4 * DAY, int(rv.sum())).astype(np.int64),
                      m.five_star(int(rv.sum()), 0.8), m.generic_or_composed(int(rv.sum()), p_generic=0.5))
        m.benign_rows.append((members, f"flash_sale{gid:04d}", "flash_sale"))
    for _ in range(per_kind * 2):
        gid += 1
        members = _take(m, state, int(rng.integers(10, 31)))
        shop = int(rng.integers(0, n_mer))
        k = len(members)
        events = m.times(3)
        reps = rng.integers(4, 11, k)
        acc = np.repeat(members, reps)
        on_event = rng.random(len(acc)) < 0.4
        t = np.where(on_event, events[rng.integers(0, 3, len(acc))] + rng.integers(0, 6 * HOUR, len(acc)),
                     m.times(len(acc)))
        o = m.add_orders(acc, np.full(len(acc), shop), t, state.dev_start[acc], state.home_ip[acc],
                         state.pay[acc], state.addr[acc])
        m.add_reviews(o, np.exp(rng.normal(np.log(3 * DAY), 0.5, len(o))).astype(np.int64),
                      m.five_star(len(o), 0.9), m.generic_or_composed(len(o), p_generic=0.2))
        m.benign_rows.append((members, f"fan_club{gid:04d}", "fan_club"))


# ---------------------------------------------------------------------- output
def _fmt(prefix: str, values: npt.ArrayLike, width: int) -> pl.Expr:
    digits = pl.lit(pl.Series(np.asarray(values, dtype=np.int64))).cast(pl.String).str.zfill(width)
    return pl.concat_str([pl.lit(prefix), digits])


def _ip(values: npt.ArrayLike) -> pl.Expr:
    """Dotted-quad strings; ids are spread over realistic-looking address blocks."""
    v = pl.lit(pl.Series(np.asarray(values, dtype=np.int64) * 2_654_435_761 % 4_000_000_000 + 100_000_000))
    return pl.concat_str([(v // 16_777_216) % 223 + 1, (v // 65_536) % 256, (v // 256) % 256, v % 256],
                         separator=".")


def _local(t: npt.ArrayLike) -> pl.Expr:
    """Naive local time strings, as Chinese platform exports usually are."""
    return (pl.lit(pl.Series(np.asarray(t, dtype=np.int64) * 1000)).cast(pl.Datetime("ms"))
            .dt.replace_time_zone("UTC").dt.convert_time_zone(DEFAULT_TZ).dt.strftime("%Y-%m-%d %H:%M:%S"))


def _finish(m: _Market, state: _Background) -> SynthResult:
    rng = m.rng
    n = state.n
    extra_ids = [x for x, _ in state.extra_accounts]
    extra_created = [c for _, c in state.extra_accounts]
    all_created = np.concatenate([state.created, *extra_created]) if extra_ids else state.created
    n_all = len(all_created)
    nick = pl.Series(T.NICK_A).gather(rng.integers(0, len(T.NICK_A), n_all)) + \
        pl.Series(T.NICK_B).gather(rng.integers(0, len(T.NICK_B), n_all)) + \
        pl.Series(rng.integers(0, 1000, n_all)).cast(pl.String)
    phone = rng.integers(13_000_000_000, 18_999_999_999, n_all)
    accounts = pl.select(_fmt("U", np.arange(n_all), 8).alias("account_id"), _local(all_created).alias("created_at"),
                         pl.lit(pl.Series(phone)).cast(pl.String).alias("phone"), pl.lit(nick).alias("nickname"))
    n_mer = state.n_mer
    merchants = pl.select(
        _fmt("M", np.arange(n_mer), 6).alias("merchant_id"),
        (pl.lit("店铺") + pl.lit(pl.Series(np.arange(n_mer))).cast(pl.String)).alias("name"),
        pl.lit(pl.Series(T.CATEGORIES).gather(rng.integers(0, len(T.CATEGORIES), n_mer))).alias("category"),
        _local(START - rng.integers(60, 2000, n_mer) * DAY).alias("created_at"))

    o = m.orders.concat()
    r = m.reviews.concat()
    # Number orders and reviews in random order: generation order would reveal groups.
    order_no = rng.permutation(len(o["acc"]))
    review_no = rng.permutation(len(r["acc"]))
    orders = pl.select(
        _fmt("O", order_no, 10).alias("order_id"), _fmt("U", o["acc"], 8).alias("account_id"),
        _fmt("M", o["mer"], 6).alias("merchant_id"), _local(o["t"]).alias("created_at"),
        pl.lit(pl.Series(o["amount"])).alias("amount"), _fmt("P", o["product"], 4).alias("product_id"),
        _fmt("D", o["dev"], 8).alias("device_id"), _ip(o["ip"]).alias("ip"),
        _fmt("PA", o["pay"], 8).alias("payment_account_id"), _fmt("ADDR", o["addr"], 8).alias("address"))
    texts = pl.concat(m.texts)
    reviews = pl.select(
        _fmt("R", review_no, 10).alias("review_id"), _fmt("U", r["acc"], 8).alias("account_id"),
        _fmt("M", r["mer"], 6).alias("merchant_id"), pl.lit(pl.Series(r["rating"])).cast(pl.Int64).alias("rating"),
        _local(r["t"]).alias("created_at"), pl.lit(texts).alias("text"),
        _fmt("O", order_no[r["order"]], 10).alias("order_id"),
        _fmt("D", r["dev"], 8).alias("device_id"), _ip(r["ip"]).alias("ip"))
    # Shuffle event rows so that file order carries no hint of who belongs together.
    orders = orders.sort("created_at", "order_id")
    reviews = reviews.sort("created_at", "review_id")
    ad = m.acc_dev.concat()
    account_devices = pl.select(_fmt("U", ad["acc"], 8).alias("account_id"), _fmt("D", ad["dev"], 8).alias("device_id"),
                                _local(ad["first"]).alias("first_seen"), _local(ad["last"]).alias("last_seen")) \
        .unique(["account_id", "device_id"], keep="first", maintain_order=True)
    ap = m.acc_pay.concat()
    account_payments = pl.select(_fmt("U", ap["acc"], 8).alias("account_id"),
                                 _fmt("PA", ap["pay"], 8).alias("payment_account_id")).unique(maintain_order=True)
    merchant_payments = pl.select(_fmt("M", np.arange(n_mer), 6).alias("merchant_id"),
                                  _fmt("PA", m.merchant_pay, 8).alias("payment_account_id"))
    tr = m.transfers.concat()
    transfers = pl.select(
        _fmt("T", np.arange(len(tr["src"])), 9).alias("transfer_id"),
        _fmt("PA", tr["src"], 8).alias("from_payment_account_id"),
        _fmt("PA", tr["dst"], 8).alias("to_payment_account_id"),
        pl.lit(pl.Series(tr["amount"])).alias("amount"), _local(tr["t"]).alias("created_at"),
    ).sort("created_at", maintain_order=True)
    lg = m.logins.concat()
    logins = pl.select(_fmt("U", lg["acc"], 8).alias("account_id"), _local(lg["t"]).alias("created_at"),
                       _fmt("D", lg["dev"], 8).alias("device_id"), _ip(lg["ip"]).alias("ip")
                       ).sort("created_at", maintain_order=True)
    no_likes = {"acc": np.empty(0, int), "review": np.empty(0, int), "t": np.empty(0, int)}
    lk = m.likes.concat() if m.likes.chunks else no_likes
    nb = n // 2
    like_acc = np.concatenate([lk["acc"], rng.integers(0, n, nb)])
    like_rev = np.concatenate([lk["review"], rng.integers(0, len(r["acc"]), nb)])
    like_t = np.concatenate([lk["t"], r["t"][like_rev[len(lk["acc"]):]] + rng.integers(HOUR, 10 * DAY, nb)])
    review_likes = pl.select(_fmt("U", like_acc, 8).alias("account_id"),
                             _fmt("R", review_no[like_rev], 10).alias("review_id"),
                             _local(like_t).alias("created_at")).unique(["account_id", "review_id"], keep="first",
                                                                        maintain_order=True)
    ring_members = pl.concat([
        pl.select(pl.lit(rid).alias("ring_id"), _fmt("U", members, 8).alias("account_id"),
                  pl.lit(kind).alias("ring_kind"))
        for members, rid, kind in m.ring_rows])
    benign = pl.concat([
        pl.select(pl.lit(gid).alias("group_id"), pl.lit(kind).alias("group_kind"),
                  _fmt("U", members, 8).alias("account_id"))
        for members, gid, kind in m.benign_rows])
    tables = {"accounts": accounts, "merchants": merchants, "reviews": reviews, "orders": orders,
              "account_devices": account_devices, "account_payments": account_payments,
              "merchant_payments": merchant_payments, "transfers": transfers, "logins": logins,
              "review_likes": review_likes}
    return SynthResult(tables, ring_members, benign, m.cfg)
