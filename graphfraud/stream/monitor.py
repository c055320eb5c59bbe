"""The monitor's state: per-shop baselines, surge tests, and matches against known rings.

Three detectors, each a test against an explicit null (``docs/monitor.md`` derives them):

* **shop surge** — per shop, the event rate is Gamma-distributed a priori (prior mean:
  the platform's mean per-shop rate, weight :attr:`MonitorConfig.prior_events`) and
  updated with exponentially forgotten counts (half-life
  :attr:`MonitorConfig.half_life_days`); the count in each window (5 min, 1 h, 1 day)
  is then negative binomial (the Gamma-Poisson predictive), scaled by how busy the
  rest of the platform is right now (day/night rhythm, platform-wide sales). Every
  closed bucket tests every shop at every scale; the level is the false-alarm budget
  divided by the number of tests per day (Bonferroni), so false alarms per day stay
  below the budget under the null. A surge opens an *episode*: one alert per episode,
  escalated once to ``surge_ring`` when its buyers are coordinated (second test below).
* **coordination of a surge's buyers** — of the ``n`` distinct buyers in the surge
  window, ``k`` share a device, payment account or address with another of them (or
  are known ring members). Null: each buyer does so with the platform's share of
  accounts that share such an identifier with *anyone* (an upper bound for sharing with
  a co-buyer), binomial tail.
* **known ring acting again** — ``k`` distinct members of a known ring of ``n`` at one
  shop within :attr:`MonitorConfig.ring_window_s`. Null: each member visits that shop
  in the window with the chance an average account does (shop rate / accounts seen),
  binomial tail.
* **new accounts on known ring infrastructure** — ``m`` accounts outside a ring used its
  devices, payment accounts or addresses within the window. Null: each identifier gains
  new users at its kind's platform rate (learned online, Gamma(1, 1 identifier-day)
  prior) scaled by its popularity; Poisson tail.

The false-alarm budget is split equally over the detectors in use.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import special, stats

from ..errors import ParameterError
from ..schema import IDENTIFIER_KINDS
from .alerts import Alert
from .known import KnownRing, KnownRings

DAY_S = 86_400
#: Tables whose rows are events the monitor reads.
EVENT_TABLES: tuple[str, ...] = ("orders", "reviews")
#: (identifier kind, column) pairs an event row can carry, from the schema's declaration.
ID_COLUMNS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys(
    (k.name, col) for k in IDENTIFIER_KINDS for table, col in k.sources if table in EVENT_TABLES))
#: Kinds personal enough that two buyers sharing one is a tie (schema weight >= 0.8): an
#: IP (weight 0.5) is shared by every customer behind one NAT or campus network.
STRONG_KINDS: frozenset[str] = frozenset(k.name for k in IDENTIFIER_KINDS if k.weight >= 0.8)
#: Users remembered per identifier: beyond this it is a hub and new users are not counted
#: (a hub's users tell nothing about a ring; the cap also bounds memory).
MAX_USERS_PER_ID = 16
#: One event kept for a shop's surge evidence: (time, account, identifiers, rating, table).
_Event = tuple[float, str, tuple[tuple[str, str], ...], float | None, str]


@dataclass(frozen=True)
class MonitorConfig:
    """Parameters of the monitor; ``docs/monitor.md`` gives every default's origin.

    Attributes
    ----------
    scales_s
        Window lengths of the surge test, seconds (multiples of ``bucket_s``).
    bucket_s
        Time resolution: windows advance and are tested once per bucket.
    half_life_days
        Half-life of the per-shop baseline (one week spans the weekly cycle).
    prior_events
        Weight of the platform prior on a shop's rate, in pseudo-events: the prior is
        Gamma(shape ``prior_events``, mean the platform's mean per-shop rate). One event is
        the weakest proper prior with that mean; a popular shop's own counts outweigh it
        within minutes, and a new shop's predictive is a heavy (geometric-like) tail.
    false_alarms_per_day
        Expected false alarms per day, all detectors together, under their nulls.
    warmup_days
        Event time before surge alerts are raised (the day window needs a day of history).
    ring_window_s
        Window of the known-ring detectors.
    evidence_accounts
        Accounts listed in an alert at most (the counts are always complete).
    """

    scales_s: tuple[int, ...] = (300, 3_600, DAY_S)
    bucket_s: int = 60
    half_life_days: float = 7.0
    prior_events: float = 1.0
    false_alarms_per_day: float = 1.0
    warmup_days: float = 1.0
    ring_window_s: int = DAY_S
    evidence_accounts: int = 50

    def validate(self) -> None:
        if self.bucket_s <= 0 or not self.scales_s:
            raise ParameterError(f"bucket_s={self.bucket_s!r}, scales_s={self.scales_s!r}: give a positive bucket "
                                 "and at least one window.")
        bad = [s for s in self.scales_s if s <= 0 or s % self.bucket_s]
        if bad:
            raise ParameterError(f"windows {bad}: each window must be a positive multiple of the {self.bucket_s} s "
                                 "bucket.")
        for name in ("half_life_days", "prior_events", "false_alarms_per_day"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ParameterError(f"{name}={value!r}: give a positive number.")
        if self.warmup_days < 0 or self.ring_window_s <= 0 or self.evidence_accounts < 1:
            raise ParameterError("warmup_days must be >= 0, ring_window_s > 0 and evidence_accounts >= 1.")


@dataclass
class MonitorStats:
    """Running counts for a heartbeat."""

    events: int = 0
    late_events: int = 0
    shops: int = 0
    accounts: int = 0
    clock: float | None = None
    alerts: Counter[str] = field(default_factory=Counter)


@dataclass
class _Episode:
    start: float
    scale: int
    last: float
    escalated: bool = False


class Monitor:
    """Turn batches of order/review events into alerts.

    Parameters
    ----------
    config
        :class:`MonitorConfig` (defaults if ``None``).
    known
        Rings of a previous run (:meth:`KnownRings.from_tables`); ``None``: surges only.

    Examples
    --------
    >>> import polars as pl
    >>> m = Monitor(MonitorConfig(warmup_days=0))
    >>> ev = pl.DataFrame({"table": ["orders"] * 3, "account_id": ["a", "b", "c"],
    ...                    "merchant_id": ["m1"] * 3, "created_at": [0, 30, 90]})
    >>> m.update(ev)
    []
    >>> m.stats.events, m.stats.shops
    (3, 1)
    """

    def __init__(self, config: MonitorConfig | None = None, known: KnownRings | None = None) -> None:
        self.config = config or MonitorConfig()
        self.config.validate()
        self.known = known or KnownRings.empty()
        c = self.config
        self._nb = [s // c.bucket_s for s in c.scales_s]
        self._n_slots = max(self._nb)
        self._decay = 0.5 ** (c.bucket_s / (c.half_life_days * DAY_S))
        detectors = 3 if len(self.known) else 1
        self._budget = c.false_alarms_per_day / detectors
        self._shop_code: dict[str, int] = {}
        self._shop_ids: list[str] = []
        cap = 64
        self._A = np.zeros(cap)  # forgotten counts per shop
        self._B = np.zeros(cap)  # forgotten exposure per shop, seconds
        self._C = np.zeros((self._n_slots, cap), np.int64)  # bucket counts, ring buffer
        self._W = np.zeros((len(self._nb), cap), np.int64)  # window counts per scale
        self._pending: list[int] = []
        self._cur: int | None = None
        self._t_start: float | None = None
        self._recent: dict[int, deque[_Event]] = {}
        self._episodes: dict[int, _Episode] = {}
        # identifiers: users per (kind, value), platform sharing rates
        self._users: dict[tuple[str, str], set[str]] = {}
        self._n_ids: Counter[str] = Counter()
        self._new_users: Counter[str] = Counter()
        self._id_exposure: Counter[str] = Counter()  # identifier-seconds per kind
        self._accounts: dict[str, float] = {}  # first event time per account
        self._sharing: set[str] = set()
        # known rings
        self._ring_act: dict[tuple[str, int], deque[tuple[float, str]]] = {}
        self._infra: dict[tuple[str, tuple[str, str]], deque[tuple[float, str]]] = {}
        self._cooldown: dict[tuple[str, str, object], float] = {}  # (test, ring, shop or identifier)
        self.stats = MonitorStats()

    # ------------------------------------------------------------------ public
    def update(self, events: pl.DataFrame) -> list[Alert]:
        """Feed a batch of events (any order within the batch); return the alerts raised.

        ``events`` has ``table`` (``orders`` or ``reviews``), ``account_id``,
        ``merchant_id``, ``created_at`` (a UTC datetime or epoch seconds) and optionally
        the identifier columns of :data:`ID_COLUMNS` and ``rating``. Windows close when an
        event of a later bucket arrives (event time is the clock), or on :meth:`flush`.
        """
        if events.height == 0:
            return []
        t_col = events["created_at"]
        t = (t_col.dt.epoch("ms").to_numpy() / 1e3 if t_col.dtype.is_temporal()
             else t_col.cast(pl.Float64).to_numpy())
        order = np.argsort(t, kind="stable")
        cols = {c: events[c].to_list() for c in ("account_id", "merchant_id") }
        id_lists = [(kind, events[col].to_list()) for kind, col in ID_COLUMNS if col in events.columns]
        ratings = events["rating"].to_list() if "rating" in events.columns else [None] * events.height
        tables = events["table"].to_list() if "table" in events.columns else ["orders"] * events.height
        alerts: list[Alert] = []
        bucket = self.config.bucket_s
        for i in order.tolist():
            ti = float(t[i])
            b = int(ti // bucket)
            if self._cur is None:
                self._cur, self._t_start = b, ti
            if b > self._cur:
                alerts += self._advance(b)
            elif b < self._cur:
                self.stats.late_events += 1  # counted in the open bucket: windows do not reopen
            acc, shop = cols["account_id"][i], cols["merchant_id"][i]
            s = self._code(shop)
            self._pending.append(s)
            ids = tuple((kind, values[i]) for kind, values in id_lists if values[i] is not None)
            self._recent.setdefault(s, deque()).append((ti, acc, ids, ratings[i], tables[i]))
            self._track(ti, acc, ids)
            if self.known.rings:
                alerts += self._known(ti, acc, s, ids)
        self.stats.events += events.height
        self.stats.clock = max(self.stats.clock or -math.inf, float(t.max()))
        for a in alerts:
            self.stats.alerts[a.type] += 1
        return alerts

    def flush(self) -> list[Alert]:
        """Close the open bucket (end of input); return the alerts raised."""
        if self._cur is None:
            return []
        alerts = self._advance(self._cur + 1)
        for a in alerts:
            self.stats.alerts[a.type] += 1
        return alerts

    @property
    def surge_level(self) -> float:
        """The per-test level of the surge test now (budget / tests per day)."""
        tests_per_day = len(self._nb) * max(1, len(self._shop_ids)) * DAY_S / self.config.bucket_s
        return self._budget / tests_per_day

    # ------------------------------------------------------------------ shops and windows
    def _code(self, shop: str) -> int:
        s = self._shop_code.get(shop)
        if s is None:
            s = self._shop_code[shop] = len(self._shop_ids)
            self._shop_ids.append(shop)
            self.stats.shops = len(self._shop_ids)
            if s >= len(self._A):
                grow = len(self._A)
                self._A = np.concatenate([self._A, np.zeros(grow)])
                self._B = np.concatenate([self._B, np.zeros(grow)])
                self._C = np.concatenate([self._C, np.zeros((self._n_slots, grow), np.int64)], axis=1)
                self._W = np.concatenate([self._W, np.zeros((len(self._nb), grow), np.int64)], axis=1)
        return s

    def _advance(self, b: int) -> list[Alert]:
        """Close buckets ``cur .. b-1``: the one with events is tested, empty ones only age."""
        cur = self._cur
        assert cur is not None, "the first event sets the clock before any bucket closes"
        alerts: list[Alert] = []
        if self._pending:
            alerts = self._close(cur)
            cur += 1
        if cur < b:
            self._skip(cur, b - cur)
            cur = b
        self._cur = cur
        return alerts

    def _skip(self, c: int, m: int) -> None:
        """Close ``m`` empty buckets from ``c`` at once: windows slide, baselines age, nothing is tested."""
        N = self._n_slots
        for k, nb in enumerate(self._nb):
            # buckets leaving scale k's window: c+1-nb .. c+m-nb; only those <= c hold events
            lo, hi = max(c + 1 - nb, c - N + 1), min(c + m - nb, c)
            if lo <= hi:
                slots = np.arange(lo, hi + 1) % N
                self._W[k] -= self._C[slots].sum(axis=0)
        if m >= N:
            self._C[:] = 0
        else:
            self._C[np.arange(c + 1, c + m + 1) % N] = 0
        self._forget(m, None)

    def _forget(self, buckets: int, counts: np.ndarray | None) -> None:
        decay = self._decay ** buckets
        n = len(self._shop_ids)
        self._A[:n] *= decay
        if counts is not None:
            self._A[:n] += counts[:n]
        # exposure: the geometric sum of bucket lengths over the stretch
        self._B[:n] = self._B[:n] * decay + self.config.bucket_s * (1 - decay) / (1 - self._decay)
        for kind, n_ids in self._n_ids.items():
            self._id_exposure[kind] += n_ids * buckets * self.config.bucket_s

    def _close(self, b: int) -> list[Alert]:
        counts = np.bincount(np.asarray(self._pending, np.int64), minlength=len(self._A))
        self._pending = []
        self._C[b % self._n_slots] = counts
        self._W += counts[None, :]
        end = (b + 1) * self.config.bucket_s
        assert self._t_start is not None, "set with the clock by the first event"
        alerts: list[Alert] = []
        if end - self._t_start >= self.config.warmup_days * DAY_S and counts.any():
            # Only shops with new events can newly cross the level (a window that lost events
            # is less surprising); the Bonferroni count still counts every shop at every bucket.
            alerts = self._test(end, np.flatnonzero(counts[: len(self._shop_ids)]))
        self._forget(1, counts)
        for k, nb in enumerate(self._nb):
            self._W[k] -= self._C[(b + 1 - nb) % self._n_slots]
        self._C[(b + 1) % self._n_slots] = 0
        return alerts

    def _rates(self) -> tuple[np.ndarray, float]:
        """Posterior mean rate per shop (events/s) and the platform mean per shop, its prior."""
        n = len(self._shop_ids)
        A, B = self._A[:n], self._B[:n]
        exposure = B.max() if n else 0.0
        # Before any exposure: one event per shop and day (only the first bucket uses it).
        prior_rate = A.sum() / (n * exposure) if exposure > 0 and A.sum() > 0 else 1.0 / DAY_S
        return (self.config.prior_events + A) / (self.config.prior_events / prior_rate + B), prior_rate

    def _test(self, end: float, live: np.ndarray) -> list[Alert]:
        n_shops = len(self._shop_ids)
        W = self._W[:, :n_shops]
        level = self.surge_level
        rates, prior_rate = self._rates()
        total_rate = rates.sum()
        live = live[live < n_shops]
        A, B = self._A[live], self._B[live]
        best_p = np.ones(n_shops)
        best_k = np.zeros(n_shops, np.int64)
        best_mu = np.zeros(n_shops)
        for k, w in enumerate(self.config.scales_s):
            n = W[k, live].astype(float)
            # Baseline without the window itself (its counts are recent, so weight ~1).
            a = self.config.prior_events + np.maximum(A - n, 0)
            bb = self.config.prior_events / prior_rate + np.maximum(B - w, 0)
            rate = a / bb
            # How busy the rest of the platform is now against its own baseline (add-one smoothed).
            busy = (W[k].sum() - n + 1) / ((total_rate - rates[live]) * w + 1)
            mu = busy * rate * w
            # Negative binomial tail P(N >= n) = I_{1-p}(n, r) with r = a, p = bb / (bb + busy w).
            p = special.betainc(n, a, busy * w / (bb + busy * w))
            # A shop is tested at a scale once its baseline has a window's worth of exposure
            # outside the window (before that the prior alone speaks, and a popular shop's
            # ordinary day would look like a surge of the platform's average shop).
            p = np.where(2 * w <= B, p, 1.0)
            better = p < best_p[live]
            idx = live[better]
            best_p[idx], best_k[idx], best_mu[idx] = p[better], k, mu[better]
        significant = set(np.flatnonzero(best_p <= level).tolist())
        alerts = self._close_episodes(end)
        for s in sorted(significant):
            ep = self._episodes.get(s)
            k = int(best_k[s])
            new = ep is None
            if ep is None:
                ep = self._episodes[s] = _Episode(end, k, end)
            else:
                ep.last = end
                ep.scale = max(ep.scale, k)  # the episode lasts as long as its longest significant window
                if ep.escalated:
                    continue
            # A new episode always alerts; an open one only when it turns out to be a ring.
            alert = self._surge_alert(s, k, end, float(best_p[s]), float(best_mu[s]), level, ep,
                                      only_if_ring=not new)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _close_episodes(self, end: float) -> list[Alert]:
        """An episode ends once the longest window has passed without a significant test.

        Shops are tested when they have new events, so a quiet shop after its surge may go
        untested for hours; waiting the longest window means one surge is one episode.
        """
        longest = max(self.config.scales_s)
        for s in [s for s, ep in self._episodes.items() if end - ep.last > longest]:
            del self._episodes[s]
        return []

    def _window_events(self, s: int, start: float) -> list[_Event]:
        dq = self._recent.get(s, deque())
        horizon = start - max(self.config.scales_s)
        while dq and dq[0][0] < horizon:
            dq.popleft()
        return [e for e in dq if e[0] >= start]

    def _surge_alert(self, s: int, k: int, end: float, p: float, mu: float, level: float, ep: _Episode,
                     only_if_ring: bool = False) -> Alert | None:
        w = self.config.scales_s[k]
        events = self._window_events(s, end - w)
        buyers = list(dict.fromkeys(e[1] for e in events))
        shared_by: dict[tuple[str, str], set[str]] = {}
        for _, acc, ids, _, _ in events:
            for key in ids:
                if key[0] in STRONG_KINDS:
                    shared_by.setdefault(key, set()).add(acc)
        shared = {key: accs for key, accs in shared_by.items() if len(accs) >= 2}
        sharing = set().union(*shared.values()) if shared else set()
        members = {a for a in buyers if a in self.known.by_account}
        on_infra = {e[1] for e in events if any(key in self.known.by_identifier for key in e[2])} - members
        linked = sharing | members | on_infra
        q0 = (len(self._sharing) + 1) / (len(self._accounts) + 2)  # Beta(1, 1) prior
        p_coord = float(stats.binom.sf(len(linked) - 1, len(buyers), q0)) if linked else 1.0
        ring = p_coord <= level or len(members | on_infra) >= 2
        if only_if_ring and not ring:
            return None
        ep.escalated = ep.escalated or ring
        reviews = [e[3] for e in events if e[4] == "reviews" and e[3] is not None]
        rings = sorted({r for a in members for r in self.known.by_account[a]}
                       | {r for e in events for key in e[2] for r in self.known.by_identifier.get(key, ())})
        cap = self.config.evidence_accounts
        return Alert(
            "surge_ring" if ring else "shop_surge", end, p, level, (end - w, end), len(events), mu,
            shop_id=self._shop_ids[s], ring_id=rings[0] if rings else None,
            accounts=tuple(sorted(linked) + [a for a in buyers if a not in linked])[:cap],
            identifiers=tuple(sorted(shared))[:cap],
            evidence={"scale_s": w, "buyers": len(buyers), "orders": sum(e[4] == "orders" for e in events),
                      "reviews": len(reviews), "five_star_share": (round(sum(r >= 5 for r in reviews) / len(reviews), 3)
                                                                   if reviews else None),
                      "baseline_per_day": round(mu / w * DAY_S, 3),
                      "coordinated_buyers": len(linked), "sharing_buyers": len(sharing),
                      "known_ring_members": len(members), "on_known_ring_infrastructure": len(on_infra),
                      "platform_sharing_share": round(q0, 4), "p_coordination": float(f"{p_coord:.3g}"),
                      "known_rings": rings, "episode_start": ep.start},
        )

    # ------------------------------------------------------------------ identifiers
    def _track(self, t: float, acc: str, ids: tuple[tuple[str, str], ...]) -> None:
        if acc not in self._accounts:
            self._accounts[acc] = t
            self.stats.accounts = len(self._accounts)
        for key in ids:
            users = self._users.get(key)
            if users is None:
                self._users[key] = {acc}
                self._n_ids[key[0]] += 1
            elif acc not in users and len(users) < MAX_USERS_PER_ID:
                users.add(acc)
                self._new_users[key[0]] += 1
                if key[0] in STRONG_KINDS:
                    self._sharing.update(users)

    def _popularity(self, key: tuple[str, str], ring: KnownRing) -> float:
        """Users of identifier ``key`` relative to its kind's mean (popular identifiers gain users faster).

        The null is preferential: an identifier with ten times the usual users (a campus
        or carrier IP) gains new users ten times as fast, so a hub is no evidence.
        """
        kind = key[0]
        users = max(ring.platform_accounts.get(key, 0), len(self._users.get(key, ())), 1)
        mean = (self._n_ids[kind] + self._new_users[kind]) / self._n_ids[kind] if self._n_ids[kind] else 1.0
        return users / mean

    def _new_user_rate(self, kind: str) -> float:
        """New users per identifier and second for ``kind``: Gamma(1, 1 identifier-day) prior."""
        return (self._new_users[kind] + 1) / (self._id_exposure[kind] + DAY_S)

    # ------------------------------------------------------------------ known rings
    def _known(self, t: float, acc: str, s: int, ids: tuple[tuple[str, str], ...]) -> list[Alert]:
        alerts: list[Alert] = []
        W = self.config.ring_window_s
        n_rings, n_shops = len(self.known.rings), max(1, len(self._shop_ids))
        for rid in self.known.by_account.get(acc, ()):
            dq = self._ring_act.setdefault((rid, s), deque())
            dq.append((t, acc))
            while dq[0][0] < t - W:
                dq.popleft()
            active = list(dict.fromkeys(a for _, a in dq))
            if len(active) < 2 or self._cooldown.get(("ring", rid, s), -math.inf) > t:
                continue
            ring = self.known.rings[rid]
            rates, _ = self._rates()
            q = -math.expm1(-float(rates[s]) * W / max(1, len(self._accounts)))
            p = float(stats.binom.sf(len(active) - 1, len(ring.members), q))
            level = self._budget / (n_rings * n_shops * DAY_S / W)
            if p <= level:
                self._cooldown[("ring", rid, s)] = t + W
                alerts.append(Alert(
                    "ring_active", t, p, level, (t - W, t), len(active), len(ring.members) * q,
                    shop_id=self._shop_ids[s], ring_id=rid, accounts=tuple(active[: self.config.evidence_accounts]),
                    evidence={"ring_type": ring.ring_type, "ring_q": ring.q_ring, "ring_members": len(ring.members),
                              "member_visit_chance": float(f"{q:.3g}"), "events": len(dq)}))
        n_identifiers = max(1, sum(k[0] in STRONG_KINDS for k in self.known.by_identifier))
        for key in ids:
            # IPs are left out as in the coordination test: a known ring's IP is often a NAT or
            # proxy exit whose new users are heavy-tailed far beyond the kind's mean rate.
            if key[0] not in STRONG_KINDS:
                continue
            for rid in self.known.by_identifier.get(key, ()):
                ring = self.known.rings[rid]
                if acc in ring.members:
                    continue
                dq = self._infra.setdefault((rid, key), deque())
                dq.append((t, acc))
                while dq[0][0] < t - W:
                    dq.popleft()
                if self._cooldown.get(("infra", rid, key), -math.inf) > t:
                    continue
                newcomers = list(dict.fromkeys(a for _, a in dq))
                # Each identifier on its own: new users in the window against its kind's rate,
                # scaled by its popularity; Bonferroni over every known identifier.
                mu = self._new_user_rate(key[0]) * W * self._popularity(key, ring)
                p = float(stats.poisson.sf(len(newcomers) - 1, mu))
                # Bonferroni over identifiers, windows per day and the looks within a window (the
                # p-value changes only when the newcomer count does: m newcomers, m looks).
                level = self._budget / (n_identifiers * DAY_S / W * len(newcomers))
                if p <= level:
                    self._cooldown[("infra", rid, key)] = t + W
                    alerts.append(Alert(
                        "ring_infrastructure", t, p, level, (t - W, t), len(newcomers), mu, shop_id=self._shop_ids[s],
                        ring_id=rid, accounts=tuple(newcomers[: self.config.evidence_accounts]), identifiers=(key,),
                        evidence={"ring_type": ring.ring_type, "ring_q": ring.q_ring,
                                  "ring_members": len(ring.members), "ring_identifiers": len(ring.identifiers),
                                  "identifier_platform_accounts": ring.platform_accounts.get(key, 0),
                                  "first_seen_in_window": [a for a in newcomers if self._accounts[a] >= t - W][:10]}))
        return alerts
