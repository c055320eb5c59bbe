"""Where a candidate acts (its focus shops) and who really belongs to it.

Focus shops are chosen from *presence* only — never from ratings — so the outcome tests
that run on them stay valid. A shop is a focus shop of group ``C`` when more members act
there than the shop's popularity explains (Chung–Lu null: an account with ``d_a`` shops
visits a shop with ``d_s`` visitors with probability ``d_a d_s / M``), or when members
were there *together*: several in one equal-occupancy stretch of its timeline.

Membership is decided per account (:func:`core`): an account stays when its own visits
to the focus shops are improbable for its activity, or when it visits one while the
group acts there and is tied to other members (a concentrated identifier, a money origin,
the same shop's payment account). Accounts attached to a group only through a hub drop
out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..arrays import chunk_ranges, distinct, distinct_inverse, expand, run_starts, stable_argsort
from ..schema import IDENTIFIER_KINDS
from ._memo import LastFrame
from .candidates import Candidates
from .platform import Platform
from .stats import poisson_sf

#: Per-member evidence columns (see :func:`core`).
MEMBER_EVIDENCE = {"cid": pl.UInt32, "a": pl.UInt32, "focus_visits": pl.UInt32, "presence_p": pl.Float64,
                   "ties": pl.String}
#: A focus shop or a core member needs evidence at this level (a convention, not fitted).
FOCUS_ALPHA = 0.01
#: An identifier, origin or staff shop ties members when at least this share of its users,
#: and at least TIE_MIN of them, are members: two strangers sharing one payer of red
#: packets is common, three accounts on one phone that nobody else uses is not.
TIE_CONCENTRATION = 0.5
TIE_MIN = 3
#: Identifier kinds declared at least this strong are personal (phones, cards, devices,
#: delivery addresses): a concentrated one ties its users. IPs (0.5) only corroborate.
PERSONAL_WEIGHT = 0.8


def focus_shops(cands: Candidates, visits: pl.DataFrame, segments: pl.DataFrame, plat: Platform,
                alpha: float = FOCUS_ALPHA) -> pl.DataFrame:
    """(cid, m, k, mu, p): shops where each candidate is present beyond chance.

    ``segments`` is (a, m, c, n_c): each account's stretches of shop timelines and the
    stretch's event count; ``visits`` is (a, m, events).
    """
    mem = cands.members
    deg = mem.join(plat.account_shops, on="a")
    totals = deg.group_by("cid").agg(pl.col("d_a").sum().alias("D"), pl.col("events").sum().alias("E"))
    present = (_members_per_shop(mem, visits).filter(pl.col("k") >= 2)
               .join(plat.shop_visitors.select("m", "d_s"), on="m").join(totals, on="cid"))
    M = max(1, plat.total_visits)
    mu = (present["D"].to_numpy() * present["d_s"].to_numpy() / M)
    present = present.with_columns(pl.Series("mu", mu), pl.Series("p", poisson_sf(present["k"].to_numpy(), mu)))
    # Together: k members in one stretch of n_c events; a member's chance of an event there is
    # about n_c / N, so mu_c = E_C * n_c / N; Bonferroni over the stretches the group touches.
    n_events = max(1, int(plat.account_shops["events"].sum()))
    shared, touched = _shared_stretches(mem, segments, min_members=2)
    together = shared.join(totals, on="cid").join(touched, on="cid")
    if together.height:
        mu_c = together["E"].to_numpy() * together["n_c"].to_numpy() / n_events
        p_c = np.minimum(1.0, poisson_sf(together["kc"].to_numpy(), mu_c) * together["touched"].to_numpy())
        together = (together.with_columns(pl.Series("p_c", p_c)).group_by("cid", "m").agg(pl.col("p_c").min()))
        present = present.join(together, on=["cid", "m"], how="left").with_columns(
            pl.min_horizontal("p", pl.col("p_c").fill_null(1.0)).alias("p"))
    return present.filter(pl.col("p") <= alpha).select("cid", "m", "k", "mu", "p").sort("cid", "m")


def _members_per_shop(members: pl.DataFrame, visits: pl.DataFrame) -> pl.DataFrame:
    """(cid, m, k): how many of each group's members visited shop ``m`` (``k >= 1``).

    Every member times every shop it visited is the largest expansion of
    :func:`focus_shops`; it is counted a few groups at a time on one integer per
    (group, shop), never held whole.
    """
    vis = _visit_index(visits)
    order = stable_argsort(members["cid"].to_numpy())
    cid = members["cid"].to_numpy()[order].astype(np.int64)
    start, length = vis.by_a.ranges(members["a"].to_numpy()[order].astype(np.int64))
    keys, counts = [], []
    for lo, hi in _chunks(length, cid):
        row, pos = expand(start[lo:hi], length[lo:hi])
        key, k = _counts(cid[lo:hi][row] * vis.n_m + vis.m[pos])
        keys.append(key)
        counts.append(k)
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    return pl.DataFrame({"cid": key // vis.n_m, "m": key % vis.n_m,
                         "k": np.concatenate(counts) if counts else np.zeros(0, np.int64)}).cast(
        {"cid": members.schema["cid"], "m": visits.schema["m"], "k": pl.UInt32})


#: Expanded rows (member-visit or member-stretch incidences) held at once by the
#: chunked expansions below (a few 8-byte arrays each): memory is bounded by a chunk,
#: not by every member times its visits or stretches.
INCIDENCES_PER_CHUNK = 4_000_000


def _chunks(length: np.ndarray, groups: np.ndarray | None = None) -> Iterator[tuple[int, int]]:
    """:func:`~graphfraud.arrays.chunk_ranges` of ``INCIDENCES_PER_CHUNK`` rows."""
    return chunk_ranges(length, INCIDENCES_PER_CHUNK, groups)


def _lookup(keys: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position, found) of each ``key`` in the sorted ``keys`` (position 0 when absent
    from an empty set): a semi-join on one integer column by binary search."""
    if not len(keys):
        return np.zeros(len(key), np.int64), np.zeros(len(key), bool)
    at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
    return at, keys[at] == key


def _counts(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of ``key`` (sorted) and how often each occurs; sorts ``key`` in place."""
    if not len(key):
        return key, np.zeros(0, np.int64)
    key.sort()
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return key[first], np.diff(np.r_[first, len(key)])


@dataclass(frozen=True)
class _ByAccount:
    """Rows of a table sorted by account: account ``a`` owns ``offsets[a]:offsets[a + 1]``."""

    offsets: np.ndarray

    @classmethod
    def of(cls, sorted_a: np.ndarray) -> _ByAccount:
        return cls(np.searchsorted(sorted_a, np.arange(int(sorted_a.max(initial=-1)) + 2)))

    def ranges(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, length) of each account's rows (none past the table's last account)."""
        last = len(self.offsets) - 1
        start = self.offsets[np.minimum(a, last)]
        return start, self.offsets[np.minimum(a + 1, last)] - start


@dataclass(frozen=True)
class _PairSet:
    """(group, shop) pairs as sorted integers ``cid * width + m``: a lookup is one binary
    search on one array where it was a join on two columns."""

    keys: np.ndarray
    width: int

    @classmethod
    def of(cls, cid: np.ndarray, m: np.ndarray, width: int) -> tuple[_PairSet, np.ndarray]:
        """The set, and the order that sorts the given pairs into it (to carry values along)."""
        key = cid.astype(np.int64) * width + m
        order = stable_argsort(key)
        return cls(key[order], width), order

    def find(self, cid: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in the set, whether the pair is in it) of every queried pair."""
        at, hit = _lookup(self.keys, cid * self.width + np.minimum(m, self.width - 1))
        # Shops past the width are in no pair (their key is another pair's).
        return at, hit & (m < self.width)


def _focus_set(focus: pl.DataFrame, width: int) -> _PairSet:
    """The (cid, m) pairs of ``focus`` (shops up to ``width``; the indexes' own bound)."""
    m = focus["m"].to_numpy().astype(np.int64)
    return _PairSet.of(focus["cid"].to_numpy(), m, max(width, int(m.max(initial=-1)) + 1))[0]


@dataclass(frozen=True)
class _Visits:
    """``visits`` in account order (an account's visits in the table's order)."""

    by_a: _ByAccount
    m: np.ndarray
    events: np.ndarray
    first: np.ndarray  # the account's first and last event at the shop
    last: np.ndarray
    n_m: int  # shops are below this


def _in_account_order(table: pl.DataFrame, column: str) -> tuple[_ByAccount, np.ndarray, np.ndarray, int]:
    """The account index of ``table``, its ``column`` in account order (as int64), the order
    itself and the bound of the column's values.

    Stable: each account keeps the table's order (the order a member's expected hot
    presence is summed in, see :func:`_hot_presence`).
    """
    a = table["a"].to_numpy().astype(np.int64)
    order = stable_argsort(a)
    values = table[column].to_numpy()[order].astype(np.int64)
    return _ByAccount.of(a[order]), values, order, max(1, int(values.max(initial=-1)) + 1)


def _index_visits(visits: pl.DataFrame) -> _Visits:
    """:class:`_Visits` of ``visits`` (a, m, events, first, last)."""
    by_a, m, order, n_m = _in_account_order(visits, "m")
    return _Visits(by_a, m, visits["events"].to_numpy()[order], visits["first"].to_numpy()[order],
                   visits["last"].to_numpy()[order], n_m)


#: :func:`_index_visits` of the fit's visits: every membership pass expands the same table.
_visit_index = LastFrame(_index_visits)


@dataclass(frozen=True)
class _Stretches:
    """The stretches of ``segments`` and every (account, stretch) incidence, sorted by
    (account, shop, stretch), with the ranges of each (account, shop) pair in it."""

    stretch: pl.DataFrame  # (c, m, n_c) sorted by c
    s_c: np.ndarray  # the codes c, sorted
    s: np.ndarray  # per incidence: position of its stretch in ``stretch``
    by_a: _ByAccount  # incidences of each account
    pair_m: np.ndarray  # per distinct (account, shop): the shop
    pair_start: np.ndarray  # its incidences are pair_start[i]:pair_start[i + 1]
    pair_key: np.ndarray  # a * n_m + m, sorted
    pairs_by_a: _ByAccount  # pairs of each account
    n_m: int  # shops are below this

    def of_pairs(self, a: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, length) of the incidences of each (account, shop) (length 0 for none)."""
        at, hit = _lookup(self.pair_key, a * self.n_m + np.minimum(m, self.n_m - 1))
        start = self.pair_start[at]
        return start, np.where(hit & (m < self.n_m), self.pair_start[at + 1] - start, 0)


def _index_stretches(segments: pl.DataFrame) -> _Stretches:
    """:class:`_Stretches` of ``segments`` (a, m, c, n_c); a stretch has one shop and one
    event count."""
    # In stretch order (as :func:`~graphfraud.graph.layers.segments` returns them), each
    # incidence's stretch is a running count and the incidences reach (account, shop,
    # stretch) order with one stable sort on one integer: a three-column sort of the
    # millions of incidences cost several times more.
    seg = segments if segments["c"].is_sorted() else segments.sort("c", maintain_order=True)
    c = seg["c"].to_numpy()
    new = np.r_[True, c[1:] != c[:-1]] if len(c) else np.zeros(0, bool)
    stretch = seg.select("c", "m", "n_c").filter(pl.Series(new))
    a, m = seg["a"].to_numpy().astype(np.int64), seg["m"].to_numpy().astype(np.int64)
    n_m = max(1, int(m.max(initial=-1)) + 1)
    key = a * n_m + m
    order = stable_argsort(key)
    key, a, s = key[order], a[order], (np.cumsum(new) - 1)[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    return _Stretches(stretch, stretch["c"].to_numpy(), s, _ByAccount.of(a), key[first] % n_m,
                      np.r_[first, len(key)], key[first], _ByAccount.of(a[first]), n_m)


#: :func:`_index_stretches` of the fit's segments: every membership pass (focus shops of
#: candidates, parts, final groups) indexes the same table, and sorting its millions of
#: incidences was the largest single cost of membership.
_stretch_index = LastFrame(_index_stretches)


def _stretch_frame(key: np.ndarray, kc: np.ndarray, st: _Stretches, members: pl.DataFrame,
                   segments: pl.DataFrame) -> pl.DataFrame:
    """(cid, m, c, kc, n_c) of (group, stretch) keys ``cid * n_s + s`` (``s`` a position in
    ``st.stretch``) and ``kc``, the members of the group in that stretch."""
    n_s = max(1, len(st.s_c))
    idx = key % n_s
    return pl.DataFrame({"cid": key // n_s, "m": st.stretch["m"].gather(idx), "c": st.s_c[idx], "kc": kc,
                         "n_c": st.stretch["n_c"].gather(idx)},
                        schema={"cid": pl.Int64, "m": segments.schema["m"], "c": segments.schema["c"],
                                "kc": pl.Int64, "n_c": segments.schema["n_c"]}).cast(
        {"cid": members.schema["cid"], "kc": pl.UInt32})


def _shared_stretches(members: pl.DataFrame, segments: pl.DataFrame,
                      min_members: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(cid, m, c, kc, n_c) for the stretches where ``kc >= min_members`` members of a group
    acted, and (cid, touched): the number of stretches each group touches at all.

    Every group's members times their stretches is the largest expansion of membership
    (tens of millions of rows at 300k accounts): it is counted on one integer per (group,
    stretch), a few groups at a time (a group's incidences are never split), so memory is
    bounded by a chunk.
    """
    st = _stretch_index(segments)
    mem = members.select("cid", "a").unique().sort("cid", "a")
    cid = mem["cid"].to_numpy().astype(np.int64)
    start, length = st.by_a.ranges(mem["a"].to_numpy().astype(np.int64))
    n_s = max(1, len(st.s_c))
    keys, counts, touched_cid, touched_n = [], [], [], []
    for lo, hi in _chunks(length, cid):
        row, pos = expand(start[lo:hi], length[lo:hi])
        if not len(row):
            continue
        uniq, k = _counts(cid[lo:hi][row] * n_s + st.s[pos])
        del row, pos
        # ``uniq`` is sorted, so its groups are runs.
        groups = uniq // n_s
        first = run_starts(groups)
        groups, per_group = groups[first], np.diff(np.r_[first, len(uniq)])
        touched_cid.append(groups)
        touched_n.append(per_group)
        keep = k >= min_members
        keys.append(uniq[keep])
        counts.append(k[keep])
    shared = _stretch_frame(np.concatenate(keys) if keys else np.zeros(0, np.int64),
                            np.concatenate(counts) if counts else np.zeros(0, np.int64), st, members, segments)
    touched = pl.DataFrame({"cid": np.concatenate(touched_cid) if touched_cid else [],
                            "touched": np.concatenate(touched_n) if touched_n else []},
                           schema={"cid": members.schema["cid"], "touched": pl.UInt32})
    return shared, touched


@dataclass(frozen=True)
class _FocusVisits:
    """Every member's visits to its group's focus shops, in member order and, per member,
    in the visits table's order.

    ``cid`` and ``a`` are per member row; ``row`` (the member row), ``m``, ``events`` and
    the visit's ``first`` and ``last`` event times per visit. Candidates' members are
    unique in (cid, a), so a member row is a member.
    """

    cid: np.ndarray
    a: np.ndarray
    row: np.ndarray
    m: np.ndarray
    events: np.ndarray
    first: np.ndarray
    last: np.ndarray


def _focus_visits(members: pl.DataFrame, focus: pl.DataFrame, visits: pl.DataFrame) -> _FocusVisits:
    """:class:`_FocusVisits` of ``members`` (cid, a), their groups' ``focus`` (cid, m, ...)
    and ``visits`` (a, m, events): found once per :func:`core` call, used for the focus
    visits and the hot presence."""
    vis = _visit_index(visits)
    cid, a = members["cid"].to_numpy().astype(np.int64), members["a"].to_numpy().astype(np.int64)
    row, pos = _at_focus(cid, a, vis.by_a, vis.m, _focus_set(focus, vis.n_m))
    return _FocusVisits(cid, a, row, vis.m[pos], vis.events[pos], vis.first[pos], vis.last[pos])


def _at_focus(cid: np.ndarray, a: np.ndarray, index: _ByAccount, m: np.ndarray,
              focus: _PairSet) -> tuple[np.ndarray, np.ndarray]:
    """(member row, position in ``index``) of each member's rows of an account-sorted
    table (shop ``m`` per row) at its group's focus shops, in member then table order.

    Members times their rows is expanded a chunk at a time and restricted to the focus
    shops at once: only the (much fewer) rows there are kept.
    """
    start, length = index.ranges(a)
    rows, poss = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for lo, hi in _chunks(length):
        row, pos = expand(start[lo:hi], length[lo:hi])
        _, keep = focus.find(cid[lo:hi][row], m[pos])
        rows.append(row[keep] + lo)
        poss.append(pos[keep])
    return np.concatenate(rows), np.concatenate(poss)


def ties(cands: Candidates, identifiers: pl.DataFrame, plat: Platform, focus: pl.DataFrame,
         visits: pl.DataFrame) -> pl.DataFrame:
    """(cid, a, tie, ctx) for members tied to another member: 'identifier', 'money', 'shop_money',
    'staff' or 'alliance', through context ``ctx`` (an integer id unique across the kinds).

    'shop_money' is a concentrated money origin that is the payment account of one of the
    group's focus shops (paid through relays: a shop paying its buyers directly is not an
    origin); it and the 'alliance' tie (:func:`alliance_ties`) are measured on the group's
    ``focus`` shops (and, for alliances, the ``visits`` table)."""
    mem = cands.members
    out = []
    # Kinds (strings) are looked up for the concentrated values only, not carried through
    # the expansion of every member with every identifier it used.
    ident = _concentrated_identifiers(mem, identifiers, plat)
    kinds = identifiers.select("v", "kind").filter(pl.col("v").is_in(ident["v"].unique().implode())).unique("v")
    ident = ident.join(kinds, on="v")
    # Personal identifiers (a phone, a card, a device, a delivery address) are "identifier"
    # ties; IPs, shared by nature behind proxies and NATs, keep their kind's name and only
    # corroborate.
    strong = pl.DataFrame({"kind": [k.name for k in IDENTIFIER_KINDS],
                           "tie": ["identifier" if k.weight >= PERSONAL_WEIGHT else k.name for k in IDENTIFIER_KINDS]})
    out.append(ident.join(strong, on="kind").select(
        "cid", "a", "tie", (pl.col("v").cast(pl.Int64) * 4).alias("ctx")))
    concentrated = _concentrated_origins(mem, plat)
    out.append(concentrated.select(
        "cid", "a", pl.lit("money").alias("tie"), (pl.col("origin").cast(pl.Int64) * 4 + 1).alias("ctx")))
    # The same origin, when it is the payment account of one of the group's focus shops:
    # that shop's money reaches the members through accounts bound to nobody.
    funded = concentrated.join(plat.origin_shops, on="origin").join(focus.select("cid", "m"), on=["cid", "m"])
    out.append(funded.select("cid", "a", pl.lit("shop_money").alias("tie"),
                             (pl.col("origin").cast(pl.Int64) * 4 + 1).alias("ctx")))
    staff = mem.join(plat.staff, on="a")
    shared = staff.group_by("cid", "m").agg(pl.len().alias("k")).filter(pl.col("k") >= TIE_MIN)
    out.append(staff.join(shared.select("cid", "m"), on=["cid", "m"]).select(
        "cid", "a", pl.lit("staff").alias("tie"), (pl.col("m").cast(pl.Int64) * 4 + 2).alias("ctx")))
    out.append(alliance_ties(cands, focus, visits, plat))
    return pl.concat(out).unique().sort("cid", "a", "tie", "ctx")


def _concentrated_identifiers(members: pl.DataFrame, identifiers: pl.DataFrame, plat: Platform) -> pl.DataFrame:
    """(cid, a, v): members' uses of identifiers ``v`` that at least ``TIE_MIN`` members of
    the group, and at least ``TIE_CONCENTRATION`` of the identifier's users, share."""
    idx = _identifier_index(identifiers)
    # The fewest users of each identifier (a value listed under two kinds passes when either does).
    users = np.full(idx.n_v, np.inf)
    known = plat.identifier_users.filter(pl.col("v") < idx.n_v)
    np.minimum.at(users, known["v"].to_numpy(), known["users"].to_numpy().astype(np.float64))
    return _concentrated(members, idx, users).cast({"v": identifiers.schema["v"]})


def _concentrated_origins(members: pl.DataFrame, plat: Platform) -> pl.DataFrame:
    """(cid, a, origin): members' money origins that at least ``TIE_MIN`` members of the
    group, and at least ``TIE_CONCENTRATION`` of the origin's recipients, share."""
    idx = _origin_index(plat.origins)
    users = np.full(idx.n_v, np.inf)
    known = plat.origin_recipients.filter(pl.col("origin") < idx.n_v)
    users[known["origin"].to_numpy()] = known["recipients"].to_numpy().astype(np.float64)
    return _concentrated(members, idx, users).rename({"v": "origin"}).cast({"origin": plat.origins.schema["origin"]})


def _concentrated(members: pl.DataFrame, idx: _Identifiers, users: np.ndarray) -> pl.DataFrame:
    """(cid, a, v): the members' incidences ``v`` of ``idx`` that at least ``TIE_MIN`` members
    of the group, and at least ``TIE_CONCENTRATION`` of ``v``'s ``users``, share.

    Every member times every identifier it used (or every payer it was paid by: a hundred
    per account over two years) is the largest expansion of :func:`ties`: it is counted on
    one integer per (group, value), a few groups at a time.
    """
    order = stable_argsort(members["cid"].to_numpy())
    cid, a = members["cid"].to_numpy()[order].astype(np.int64), members["a"].to_numpy()[order].astype(np.int64)
    start, length = idx.by_a.ranges(a)
    out_row, out_v = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for lo, hi in _chunks(length, cid):
        row, pos = expand(start[lo:hi], length[lo:hi])
        key = cid[lo:hi][row] * idx.n_v + idx.v[pos]
        uniq, k = _counts(key.copy())
        conc = uniq[(k >= TIE_MIN) & (k >= TIE_CONCENTRATION * users[uniq % idx.n_v])]
        _, hit = _lookup(conc, key)
        out_row.append(row[hit] + lo)
        out_v.append(idx.v[pos[hit]])
    row = np.concatenate(out_row)
    return pl.DataFrame({"cid": cid[row], "a": a[row], "v": np.concatenate(out_v)}).cast(
        {"cid": members.schema["cid"], "a": members.schema["a"]})


@dataclass(frozen=True)
class _Identifiers:
    """The (account, identifier) uses in account order."""

    by_a: _ByAccount
    v: np.ndarray
    n_v: int  # identifiers are below this


def _index_identifiers(identifiers: pl.DataFrame) -> _Identifiers:
    """:class:`_Identifiers` of ``identifiers`` (a, v, ...)."""
    by_a, v, _, n_v = _in_account_order(identifiers, "v")
    return _Identifiers(by_a, v, n_v)


#: :func:`_index_identifiers` of the fit's identifiers (every pass measures ties again).
_identifier_index = LastFrame(_index_identifiers)
#: The same of the platform's money origins (a, origin).
_origin_index = LastFrame(lambda origins: _index_identifiers(origins.select("a", pl.col("origin").alias("v"))))


def alliance_ties(cands: Candidates, focus: pl.DataFrame, visits: pl.DataFrame, plat: Platform) -> pl.DataFrame:
    """(cid, a, 'alliance', ctx): staff of two of a group's focus shops acting at each other's.

    A member is staff of shop ``A`` when it pays with ``A``'s own payment account. When
    the group's staff of focus shop ``A`` act at its focus shop ``B`` *and* its staff of
    ``B`` act at ``A``, the two shops trade purchases inside the group — the relation the
    alliance generator (:func:`graphfraud.graph.layers.staff_groups`) proposes groups by,
    restricted to this group and its focus shops. The context is the pair of shops: the
    staff of allied shops form one cohesive part even when each shop has only one or two
    of them in the group (below the ``TIE_MIN`` a shared shop account needs when nothing
    else links its users), while two alliances that share one shop, each trading with
    shops of its own, stay apart.
    """
    schema = pl.Schema([("cid", cands.members.schema["cid"]), ("a", pl.UInt32), ("tie", pl.String), ("ctx", pl.Int64)])
    f = focus.select("cid", "m")
    staff = cands.members.join(plat.staff.rename({"m": "home"}), on="a").join(
        f.rename({"m": "home"}), on=["cid", "home"])
    acts = (staff.join(visits.select("a", "m"), on="a").filter(pl.col("m") != pl.col("home"))
            .join(f, on=["cid", "m"]))
    pairs = acts.select("cid", "home", "m").unique()
    mutual = pairs.join(pairs.rename({"home": "m", "m": "home"}), on=["cid", "home", "m"])
    if mutual.height == 0:
        return pl.DataFrame(schema=schema)
    width = int(mutual.select(pl.max_horizontal("home", "m").max()).item()) + 1
    pair = pl.min_horizontal("home", "m").cast(pl.Int64) * width + pl.max_horizontal("home", "m").cast(pl.Int64)
    return (acts.join(mutual, on=["cid", "home", "m"])
            .select("cid", "a", pl.lit("alliance").alias("tie"), (pair * 4 + 3).alias("ctx")).unique().cast(schema))


def core(cands: Candidates, focus: pl.DataFrame, visits: pl.DataFrame, segments: pl.DataFrame,
         tied: pl.DataFrame, plat: Platform, min_size: int,
         alpha: float = FOCUS_ALPHA) -> tuple[Candidates, pl.DataFrame]:
    """Keep the members with their own evidence; returns the cores and per-member evidence.

    Member evidence (cid, a, focus_visits, presence_p, ties). ``presence_p`` is the smaller,
    doubled, of two Poisson tails: the member's visits to the group's focus shops given its
    number of shops and those shops' popularity, and its presence in the group's *hot
    stretches* (stretches of a focus shop's timeline where other members acted too) given
    its number of events and those stretches' share of all events. A ring member at a
    popular shop is there when the others are; a regular customer is there any time.
    """
    M = max(1, plat.total_visits)
    fsum = focus.join(plat.shop_visitors.select("m", "d_s"), on="m").group_by("cid").agg(
        pl.col("d_s").sum().alias("focus_d"))
    at = _focus_visits(cands.members, focus, visits)
    tie_lists = tied.group_by("cid", "a").agg(pl.col("tie").unique().sort().str.join("+").alias("ties"))
    visited = pl.Series("focus_visits", np.bincount(at.row, minlength=cands.members.height), dtype=pl.UInt32)
    ev = (cands.members.with_columns(visited).join(tie_lists, on=["cid", "a"], how="left")
          .join(plat.account_shops.select("a", "d_a"), on="a", how="left").join(fsum, on="cid", how="left")
          .with_columns(pl.col("d_a").fill_null(0), pl.col("focus_d").fill_null(0)))
    mu = ev["d_a"].to_numpy() * ev["focus_d"].to_numpy() / M
    p_shops = poisson_sf(ev["focus_visits"].to_numpy(), mu)
    hot = _hot_presence(at, cands.members, segments, plat)
    ev = ev.join(hot, on=["cid", "a"], how="left").with_columns(pl.col("hot").fill_null(0),
                                                                   pl.col("hot_mu").fill_null(1.0))
    p_time = poisson_sf(ev["hot"].to_numpy(), ev["hot_mu"].to_numpy())
    ev = ev.with_columns(pl.Series("presence_p", np.minimum(1.0, 2 * np.minimum(p_shops, p_time))))
    # Each group screens all its accounts: members are kept under false-discovery control
    # within the group (Benjamini-Hochberg), or a large group admits chance regulars.
    n = pl.len().over("cid")
    rank = pl.col("presence_p").rank("ordinal").over("cid")
    ev = ev.with_columns((pl.col("presence_p") * n / rank).alias("_bh")).with_columns(
        pl.col("_bh").reverse().cum_min().reverse().over("cid", order_by="presence_p").alias("presence_q"))
    # Money alone is a weak tie (red packets, payroll, a rebate app reach many), so a member
    # who is there only once needs an identifier, a staff or alliance tie, or money that a
    # shop the group acts at sends it through relays (what pays task-platform part-timers
    # and laundered cashback; no payroll or friend's red packet comes from the group's shops).
    strong_tie = pl.col("ties").str.contains(r"\bidentifier\b|staff|alliance|shop_money").fill_null(False)
    # A member must also look more like the group than like the background: the binomial
    # likelihood of its focus visits at the group's own participation rate against the
    # rate its activity explains. A heavy buyer at three of fifteen target shops, where
    # members go to ten, is a bystander however improbable three visits are.
    F = focus.group_by("cid").agg(pl.len().alias("F"))
    ev = ev.join(F, on="cid", how="left").with_columns(pl.col("F").fill_null(0))
    share = (pl.col("focus_visits") / pl.col("F").clip(1, None))
    pi = share.filter(pl.col("focus_visits") >= 1).median().over("cid").clip(1e-3, 1 - 1e-3)
    q0 = pl.Series("q0", np.clip(mu / np.maximum(ev["F"].to_numpy(), 1), 1e-6, 0.5))
    ev = ev.with_columns(pi.alias("pi"), q0)
    k, f = pl.col("focus_visits"), pl.col("F")
    log_lr = (k * (pl.col("pi") / pl.col("q0")).log() + (f - k) * ((1 - pl.col("pi")) / (1 - pl.col("q0"))).log())
    ev = ev.with_columns(log_lr.alias("log_lr"))
    # Every member shows its own activity at the group's shops; a personal-identifier or
    # staff tie lowers the bar to one visit, but no tie admits an account on its own: ties
    # are what the generators grouped by, so they cannot also vouch for membership. The
    # visit must also be *when* the group acts there: inside the span of the events at
    # that shop of the members admitted on their own evidence, or in a stretch shared with
    # two other members. One visit in a two-year export is not improbable; one inside a
    # campaign's weeks, or beside other members, is.
    own = (pl.col("presence_q") <= alpha) & (pl.col("log_lr") > 0)
    ev = ev.with_columns(own.alias("_own"))
    # Member rows of ``at`` are those of ``cands.members``; the joins above need not keep them.
    in_period = _visits_in_period(at, _in_member_order(cands.members, ev, "_own"))
    ev = ev.join(cands.members.select("cid", "a").with_columns(pl.Series("_in_period", in_period)),
                 on=["cid", "a"])
    when = pl.col("_in_period") | (pl.col("hot") >= 1)
    keep = pl.col("_own") | ((pl.col("focus_visits") >= 1) & strong_tie & when)
    kept = ev.filter(keep)
    sizes = kept.group_by("cid").agg(pl.len().alias("size")).filter(pl.col("size") >= min_size)
    kept = kept.join(sizes.select("cid"), on="cid")
    members = kept.select("cid", "a").sort("cid", "a")
    sources = cands.sources.drop("size").join(sizes.with_columns(pl.col("size").cast(pl.UInt32)), on="cid").sort("cid")
    return Candidates(members, sources), kept.select("cid", "a", "focus_visits", "presence_p", "ties").sort("cid", "a")


def _in_member_order(members: pl.DataFrame, table: pl.DataFrame, column: str) -> np.ndarray:
    """``column`` of ``table`` (keyed by cid, a) in the row order of ``members``."""
    return members.select("cid", "a").join(table.select("cid", "a", column), on=["cid", "a"], how="left",
                                           maintain_order="left")[column].to_numpy()


def _visits_in_period(at: _FocusVisits, own: np.ndarray) -> np.ndarray:
    """Per member row: does one of its focus visits overlap its group's active period there?

    A group's active period at a shop runs from the first to the last event there of its
    members with ``own`` evidence (a boolean per member row). A group none of whose
    members has evidence of its own has no period to measure against: every visit of its
    members counts.

    >>> at = _FocusVisits(cid=np.array([0, 0, 0]), a=np.array([1, 2, 3]), row=np.array([0, 1, 2]),
    ...                   m=np.array([5, 5, 5]), events=np.array([3, 1, 1]),
    ...                   first=np.array([10, 12, 90]), last=np.array([20, 12, 90]))
    >>> _visits_in_period(at, np.array([True, False, False])).tolist()
    [True, True, False]
    >>> _visits_in_period(at, np.array([False, False, False])).tolist()
    [True, True, True]
    """
    if not len(at.row):
        return np.zeros(len(at.cid), bool)
    visits = pl.DataFrame({"row": at.row, "cid": at.cid[at.row], "m": at.m, "first": at.first,
                           "last": at.last, "own": own[at.row]})
    period = (visits.filter(pl.col("own")).group_by("cid", "m")
              .agg(pl.col("first").min().alias("p0"), pl.col("last").max().alias("p1")))
    out = ~np.isin(at.cid, period["cid"].unique().to_numpy())
    inside = visits.join(period, on=["cid", "m"]).filter(
        (pl.col("first") <= pl.col("p1")) & (pl.col("last") >= pl.col("p0")))["row"].to_numpy()
    out[inside] = True
    return out


def _hot_presence(at: _FocusVisits, members: pl.DataFrame, segments: pl.DataFrame,
                  plat: Platform) -> pl.DataFrame:
    """(cid, a, hot, hot_mu): the member's stretches at a focus shop where at least two
    *other* members acted, and how many it would have by chance *given the shops it went
    to*: for each focus shop, its events there times the share of that shop's events lying
    in stretches with two or more members. (One other member is not enough: a regular who
    shares a week with one ring member makes that stretch "hot" himself.) Conditioning on
    the shop keeps this test apart from the shop test: it asks *when*, not *where*.

    ``at`` are the members' visits to their group's focus shops (:func:`_focus_visits`).
    """
    st = _stretch_index(segments)
    n_s = max(1, len(st.s_c))
    # The stretches of the members' focus visits: the same rows as every member's
    # stretches restricted to focus shops, without expanding every member's stretches.
    start, length = st.of_pairs(at.a[at.row], at.m)
    visit, pos = expand(start, length)
    inc_row, inc_key = at.row[visit], at.cid[at.row[visit]] * n_s + st.s[pos]
    del visit, pos
    key, kc = _counts(inc_key.copy())
    hot = _stretch_frame(key[kc >= 2], kc[kc >= 2], st, members, segments)
    # Conditional on being at shop s at all: the hot stretch-incidences per event there
    # (each event lies in one stretch of each of the two tilings).
    per_shop = (hot.group_by("cid", "m").agg(pl.col("n_c").sum().alias("hot_events"))
                .join(plat.shop_visitors.select("m", "events"), on="m")
                .select("cid", "m", (pl.col("hot_events") / pl.col("events")).alias("h")))
    _, in_hot3 = _lookup(key[kc >= 3], inc_key)
    mine = np.bincount(inc_row[in_hot3], minlength=len(at.cid))
    shops, order = _PairSet.of(per_shop["cid"].to_numpy(), per_shop["m"].to_numpy().astype(np.int64),
                               max(1, int(at.m.max(initial=-1)) + 1))
    where, hit = shops.find(at.cid[at.row], at.m)
    h = per_shop["h"].to_numpy()[order][where[hit]]
    row = at.row[hit]
    expected = _kahan_sums(row, at.events[hit] * h)
    rows = distinct(row)
    return pl.DataFrame({"cid": at.cid[rows], "a": at.a[rows], "hot": mine[rows], "hot_mu": expected},
                        schema={"cid": pl.Int64, "a": pl.Int64, "hot": pl.Int64, "hot_mu": pl.Float64}).cast(
        {"cid": members.schema["cid"], "a": members.schema["a"], "hot": pl.UInt32})


def _kahan_sums(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sums of ``values`` over runs of equal ``group`` (a group's rows adjacent), each a
    compensated (Kahan) sum in row order.

    Kahan's sum in row order is what a polars in-memory group-by sum computes, and its
    result does not depend on how the rows are split or ordered across groups. (A
    group-by's own choice of path does: on a join's output it is sometimes a plain left
    fold, so a float may differ from one in the last bits; none of that reaches an
    output, where member evidence is rounded to two decimals of its log.) A group's k-th
    values are added at once across the groups that have k.
    """
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else np.zeros(0, np.int64)
    length = np.diff(np.r_[first, len(group)])
    # Longest runs first: the runs with a k-th value are then a prefix.
    order = np.argsort(-length, kind="stable")
    first, length = first[order], length[order]
    total, err = np.zeros(len(first)), np.zeros(len(first))
    for k in range(int(length.max(initial=0))):
        n = int(np.searchsorted(-length, -k, side="left"))
        y = values[first[:n] + k] - err[:n]
        new = total[:n] + y
        new_err = (new - total[:n]) - y
        total[:n] = new
        # As polars: the error term stays finite, so an infinity cannot turn into NaN.
        err[:n] = np.where(np.isfinite(new_err), new_err, err[:n])
    out = np.empty_like(total)
    out[order] = total
    return out


def cohesive_parts(cands: Candidates, focus: pl.DataFrame, segments: pl.DataFrame, tied_contexts: pl.DataFrame,
                   min_size: int) -> Candidates:
    """Split each group into the parts whose members were somewhere together: in one
    stretch of a focus shop's timeline, or on one tie context.

    Two rings that a generator merged (they share target shops, or a payer of ordinary
    red packets) act there at different times and share nothing else: they fall apart
    here. ``tied_contexts`` is (cid, a, ctx) — a concentrated identifier, origin or staff
    shop, as an integer id.
    """
    cid, a, ctx = _together_at_focus(cands.members, focus, segments)
    shop_ctx = pl.DataFrame({"cid": cid, "a": a, "ctx": ctx}).cast(
        {"cid": cands.members.schema["cid"], "a": cands.members.schema["a"], "ctx": pl.Int64})
    inc = pl.concat([shop_ctx, _tie_incidences(tied_contexts).cast({"cid": shop_ctx.schema["cid"],
                                                                    "a": shop_ctx.schema["a"]})])
    labels = _components(inc)
    sizes = labels.group_by("part").agg(pl.len().alias("size")).filter(pl.col("size") >= min_size)
    return _as_parts(cands, labels.join(sizes.select("part"), on="part"))


def tied_parts(cands: Candidates, tied_contexts: pl.DataFrame, flagged: pl.DataFrame, min_size: int) -> Candidates:
    """Split each group into the parts its members' ties hold together.

    For groups assembled from several flagged candidates (``flagged``: their cid, a):
    members of one ring share a phone, a payer, a money origin, a shop account or an
    alliance, and members of two rings paid by the same client shops do not.
    ``tied_contexts`` is (cid, a, ctx), as for :func:`cohesive_parts`.

    * Two tie components stay one part when a flagged candidate holds most of each and
      has most of its own members in them (:func:`_join_held`): a shop's staff tied only
      by the shop's phone are one ring with the alliance they trade with when the
      alliance's candidate holds them all.
    * A member without a tie stays in its group's largest part: having no tie is not
      evidence of a second ring, and whether it belongs is for the per-account test
      (:func:`core`) measured on that part.
    * A part smaller than ``min_size`` cannot be a ring on its own and is not re-tested
      alone: it stays in the largest part too.

    A group with no tie at all stays whole.
    """
    tied = _components(_tie_incidences(tied_contexts).join(cands.members.select("cid", "a"), on=["cid", "a"]))
    if tied.height:
        tied = _join_held(tied, flagged)
    sizes = tied.group_by("cid", "part").agg(pl.len().alias("size"), pl.col("a").min().alias("a0"))
    largest = (sizes.sort("cid", "size", "a0", descending=[False, True, False]).group_by("cid", maintain_order=True)
               .first().select("cid", pl.col("part").alias("main")))
    small = sizes.filter(pl.col("size") < min_size)["part"]
    # A group without ties: one label of its own, past every component's.
    offset = int(tied.select(pl.col("part").max()).item()) + 1 if tied.height else 0
    labels = (cands.members.select("cid", "a").join(tied, on=["cid", "a"], how="left")
              .join(largest, on="cid", how="left")
              .with_columns(pl.when(pl.col("part").is_null() | pl.col("part").is_in(small.implode()))
                            .then(pl.col("main")).otherwise(pl.col("part")).alias("part"))
              .with_columns(pl.col("part").fill_null(pl.col("cid").cast(pl.Int64) + offset))
              .select("cid", "a", "part"))
    return _as_parts(cands, labels)


def _join_held(labels: pl.DataFrame, flagged: pl.DataFrame) -> pl.DataFrame:
    """(cid, a, part) with the parts of a group joined where one candidate of ``flagged``
    (cid, a) holds more than half of each and has more than half of its own members in
    them: the candidate that generators and tests agreed on stands for their union.

    A loose candidate spread over many rings holds most of some parts but has most of
    its members elsewhere, so it joins nothing.
    """
    size = labels.group_by("part").agg(pl.len().alias("size"))
    n = flagged.group_by("cid").agg(pl.len().alias("n")).rename({"cid": "fc"})
    held = (flagged.rename({"cid": "fc"}).join(labels, on="a").group_by("fc", "cid", "part")
            .agg(pl.len().alias("k")).join(size, on="part").filter(pl.col("k") > 0.5 * pl.col("size")))
    stands = (held.group_by("fc", "cid").agg(pl.col("k").sum().alias("held"), pl.len().alias("parts")).join(n, on="fc")
              .filter((pl.col("held") > 0.5 * pl.col("n")) & (pl.col("parts") >= 2)))
    links = held.join(stands.select("fc", "cid"), on=["fc", "cid"]).select(
        "cid", pl.col("part").alias("a"), pl.col("fc").cast(pl.Int64).alias("ctx"))
    if links.height == 0:
        return labels
    joined = _components(links).select(pl.col("a").alias("part"), pl.col("part").alias("joined"))
    # New labels past every old one, so a joined part never takes an untouched part's label.
    offset = int(labels.select(pl.col("part").max()).item()) + 1
    return (labels.join(joined, on="part", how="left")
            .select("cid", "a", pl.coalesce(pl.col("joined") + offset, pl.col("part")).alias("part")))


def _tie_incidences(tied_contexts: pl.DataFrame) -> pl.DataFrame:
    """(cid, a, ctx) of tie contexts, coded negative so they never meet a stretch code."""
    return tied_contexts.select("cid", "a", (-pl.col("ctx").cast(pl.Int64) - 1).alias("ctx")).unique()


def _components(inc: pl.DataFrame) -> pl.DataFrame:
    """(cid, a, part): connected components of the members of each group through the
    contexts of the incidences ``inc`` (cid, a, ctx); components never cross groups."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    schema = pl.Schema([("cid", inc.schema["cid"]), ("a", inc.schema["a"]), ("part", pl.Int64)])
    if inc.height == 0:
        return pl.DataFrame(schema=schema)
    # Nodes: every (cid, a) and every (cid, ctx), numbered in that order; one sparse graph.
    # A node is one integer (group times the rank of its account or context), so numbering
    # them is a sort, not two-column joins.
    cid = inc["cid"].to_numpy().astype(np.uint64)
    a_u, a_rank = distinct_inverse(inc["a"].to_numpy())
    ctx_u, ctx_rank = distinct_inverse(inc["ctx"].to_numpy())
    key_a, i = distinct_inverse(cid * np.uint64(len(a_u)) + a_rank.astype(np.uint64))
    key_c, j = distinct_inverse(cid * np.uint64(len(ctx_u)) + ctx_rank.astype(np.uint64))
    n_a = len(key_a)
    n = n_a + len(key_c)
    g = coo_matrix((np.ones(len(i)), (i, j + n_a)), shape=(n, n))
    _, label = connected_components(g, directed=False)
    return pl.DataFrame({"cid": key_a // np.uint64(len(a_u)), "a": a_u[key_a % np.uint64(len(a_u))],
                         "part": label[:n_a].astype(np.int64)}).cast(schema)


def _as_parts(cands: Candidates, labels: pl.DataFrame) -> Candidates:
    """Candidates from part labels (cid, a, part): dense ids ordered by (parent cid,
    smallest member), the parent's source."""
    if labels.height == 0:
        return cands.subset([])
    first = labels.group_by("part").agg(pl.col("cid").first(), pl.col("a").min().alias("a0")).sort("cid", "a0") \
        .with_row_index("new").with_columns(pl.col("new").cast(pl.UInt32))
    parts = labels.join(first.select("part", "new"), on="part")
    members = parts.select(pl.col("new").alias("cid"), "a").sort("cid", "a")
    sources = (first.join(cands.sources.select("cid", "source"), on="cid")
               .join(parts.group_by("new").agg(pl.len().cast(pl.UInt32).alias("size")), on="new")
               .select(pl.col("new").alias("cid"), "source", "size").sort("cid"))
    return Candidates(members, sources)


def _together_at_focus(members: pl.DataFrame, focus: pl.DataFrame,
                       segments: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cid, a, ctx): each member's stretches ``c`` (as ``ctx = c + 1``) of its group's
    focus shops where another member of the group acted too.

    The members' shops are restricted to the focus shops before their stretches are
    expanded: most of a member's stretches are elsewhere.
    """
    st = _stretch_index(segments)
    cid, a = members["cid"].to_numpy().astype(np.int64), members["a"].to_numpy().astype(np.int64)
    row, pair = _at_focus(cid, a, st.pairs_by_a, st.pair_m, _focus_set(focus, st.n_m))
    visit, pos = expand(st.pair_start[pair], st.pair_start[pair + 1] - st.pair_start[pair])
    row, s = row[visit], st.s[pos]
    del visit, pos
    n_s = max(1, len(st.s_c))
    key = cid[row] * n_s + s
    uniq, kc = _counts(key.copy())
    _, hot = _lookup(uniq[kc >= 2], key)
    return cid[row[hot]], a[row[hot]], st.s_c[s[hot]].astype(np.int64) + 1
