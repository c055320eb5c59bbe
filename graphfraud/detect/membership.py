"""Where a candidate acts (its focus shops) and who really belongs to it.

Focus shops are chosen from *presence* only — never from ratings — so the outcome tests
that run on them stay valid. A shop is a focus shop of group ``C`` when more members act
there than the shop's popularity explains (Chung–Lu null: an account with ``d_a`` shops
visits a shop with ``d_s`` visitors with probability ``d_a d_s / M``), or when members
were there *together*: several in one equal-occupancy stretch of its timeline.

Membership is decided per account (:func:`core`): an account stays when its own visits
to the focus shops are improbable for its activity, or when it visits one and is tied
to other members (a concentrated identifier, a money origin, the same shop's payment
account). Accounts attached to a group only through a hub drop out.
"""

from __future__ import annotations

import numpy as np
import polars as pl

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
    present = (mem.join(visits.select("a", "m"), on="a").group_by("cid", "m").agg(pl.len().alias("k"))
               .filter(pl.col("k") >= 2).join(plat.shop_visitors.select("m", "d_s"), on="m").join(totals, on="cid"))
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


#: Member-stretch incidences counted at once by :func:`_shared_stretches` (8 bytes each).
INCIDENCES_PER_CHUNK = 4_000_000


def _shared_stretches(members: pl.DataFrame, segments: pl.DataFrame,
                      min_members: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(cid, m, c, kc, n_c) for the stretches where ``kc >= min_members`` members of a group
    acted, and (cid, touched): the number of stretches each group touches at all.

    The same counts as :func:`_per_stretch` over ``members`` joined with ``segments``, without
    that join: every group's members times their stretches is the largest table of
    membership (tens of millions of rows at 300k accounts). Stretches are coded densely;
    each (group, stretch) is one integer, counted by sorting, a few groups at a time (a
    group's incidences are never split), so memory is bounded by a chunk, not by the join.
    """
    stretch, s_c, seg_a, seg_s = _stretch_index(segments)
    mem = members.select("cid", "a").unique().sort("cid", "a")
    cid, a = mem["cid"].to_numpy(), mem["a"].to_numpy().astype(np.int64)
    n_acc = int(max(seg_a.max(initial=0), a.max(initial=0))) + 1
    offsets = np.searchsorted(seg_a, np.arange(n_acc + 1))
    deg = offsets[a + 1] - offsets[a]
    ends = np.cumsum(deg)
    n_s = max(1, len(s_c))
    keys, counts, touched_cid, touched_n = [], [], [], []
    lo = 0
    while lo < len(mem):
        # Rows up to about a chunk of incidences, extended to the end of the last group.
        hi = int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + INCIDENCES_PER_CHUNK, side="right"))
        hi = int(np.searchsorted(cid, cid[min(max(hi, lo + 1), len(mem)) - 1], side="right"))
        d = deg[lo:hi]
        start = offsets[a[lo:hi]]
        total = int(d.sum())
        if total:
            within = np.arange(total) - np.repeat(np.cumsum(d) - d, d)
            key = np.repeat(cid[lo:hi].astype(np.int64), d) * n_s + seg_s[np.repeat(start, d) + within]
            del within
            key.sort()
            first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            k = np.diff(np.r_[first, total])
            uniq = key[first]
            groups, per_group = np.unique(uniq // n_s, return_counts=True)
            touched_cid.append(groups)
            touched_n.append(per_group)
            keep = k >= min_members
            keys.append(uniq[keep])
            counts.append(k[keep])
        lo = hi
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    idx = key % n_s
    shared = pl.DataFrame({"cid": (key // n_s).astype(np.uint32), "m": stretch["m"].gather(idx),
                           "c": s_c[idx], "kc": np.concatenate(counts).astype(np.uint32) if counts else [],
                           "n_c": stretch["n_c"].gather(idx)},
                          schema={"cid": members.schema["cid"], "m": segments.schema["m"], "c": segments.schema["c"],
                                  "kc": pl.UInt32, "n_c": segments.schema["n_c"]})
    touched = pl.DataFrame({"cid": np.concatenate(touched_cid) if touched_cid else [],
                            "touched": np.concatenate(touched_n) if touched_n else []},
                           schema={"cid": members.schema["cid"], "touched": pl.UInt32})
    return shared, touched


def _index_stretches(segments: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The stretches (c, m, n_c) sorted by ``c``, their codes, and every (account, stretch)
    incidence in account order as (account, position of its stretch in that list)."""
    stretch = segments.select("c", "m", "n_c").unique("c").sort("c")
    s_c = stretch["c"].to_numpy()
    by_a = segments.select("a", "c").sort("a", "c")
    return stretch, s_c, by_a["a"].to_numpy(), np.searchsorted(s_c, by_a["c"].to_numpy())


#: :func:`_index_stretches` of the fit's segments: every membership pass (focus shops of
#: candidates, parts, final groups) indexes the same table, and sorting its millions of
#: incidences was the largest single cost of membership.
_stretch_index = LastFrame(_index_stretches)


def _per_stretch(seg: pl.DataFrame) -> pl.DataFrame:
    """(cid, m, c, kc, n_c): members of each group in each stretch, from (cid, a, m, c, n_c)
    rows unique in (cid, a, c).

    The rows come from the largest join of membership (every candidate's members times
    their stretches), so they are counted on one integer key where it fits in 63 bits: a
    stretch belongs to one shop and has one event count, and (cid, a, c) is unique, so
    ``kc`` is a row count. Multi-column group-bys over tens of millions of rows cost
    several times more.
    """
    if seg.height == 0:
        return seg.select("cid", "m", "c", pl.lit(0, pl.UInt32).alias("kc"), "n_c").head(0)
    c_max, cid_max = (int(n) + 1 for n in seg.select(pl.col("c").max(), pl.col("cid").max()).row(0))
    if c_max >= 0 and cid_max * c_max < (1 << 62):
        keyed = seg.select((pl.col("cid").cast(pl.Int64) * c_max + pl.col("c")).alias("key"), "m", "n_c")
        out = keyed.group_by("key").agg(pl.len().cast(pl.UInt32).alias("kc"), pl.col("m").first(),
                                        pl.col("n_c").first())
        return out.select((pl.col("key") // c_max).cast(seg.schema["cid"]).alias("cid"), "m",
                          (pl.col("key") % c_max).cast(seg.schema["c"]).alias("c"), "kc", "n_c")
    return seg.group_by("cid", "c").agg(pl.len().cast(pl.UInt32).alias("kc"), pl.col("m").first(),
                                        pl.col("n_c").first()).select("cid", "m", "c", "kc", "n_c")


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
    # the join of every member with every identifier it used.
    # (cid, v) is one integer, cid * V + v: the join of every member with every identifier
    # it used is the largest table here, and one-column group-bys and lookups on it are
    # several times cheaper than two-column ones (cid < 2^32, V < 2^31: it fits).
    n_v = int(identifiers.select(pl.col("v").max()).item() or 0) + 1
    key = (pl.col("cid").cast(pl.Int64) * n_v + pl.col("v").cast(pl.Int64)).alias("key")
    ident = mem.join(identifiers.select("a", "v"), on="a").with_columns(key)
    conc = (ident.group_by("key").agg(pl.len().alias("k")).filter(pl.col("k") >= TIE_MIN)
            .with_columns((pl.col("key") % n_v).cast(identifiers.schema["v"]).alias("v"))
            .join(plat.identifier_users.select("v", "users"), on="v")
            .filter(pl.col("k") >= TIE_CONCENTRATION * pl.col("users")))
    kinds = identifiers.select("v", "kind").filter(pl.col("v").is_in(conc["v"].implode())).unique("v")
    ident = ident.filter(pl.col("key").is_in(conc["key"].implode())).join(kinds, on="v")
    # Personal identifiers (a phone, a card, a device, a delivery address) are "identifier"
    # ties; IPs, shared by nature behind proxies and NATs, keep their kind's name and only
    # corroborate.
    strong = pl.DataFrame({"kind": [k.name for k in IDENTIFIER_KINDS],
                           "tie": ["identifier" if k.weight >= PERSONAL_WEIGHT else k.name for k in IDENTIFIER_KINDS]})
    out.append(ident.join(strong, on="kind").select(
        "cid", "a", "tie", (pl.col("v").cast(pl.Int64) * 4).alias("ctx")))
    orig = mem.join(plat.origins.select("a", "origin"), on="a")
    conc = (orig.group_by("cid", "origin").agg(pl.len().alias("k")).filter(pl.col("k") >= TIE_MIN)
            .join(plat.origin_recipients, on="origin")
            .filter(pl.col("k") >= TIE_CONCENTRATION * pl.col("recipients")))
    concentrated = orig.join(conc.select("cid", "origin"), on=["cid", "origin"])
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
    fv = (cands.members.join(visits.select("a", "m"), on="a").join(focus.select("cid", "m"), on=["cid", "m"])
          .group_by("cid", "a").agg(pl.len().alias("focus_visits")))
    tie_lists = tied.group_by("cid", "a").agg(pl.col("tie").unique().sort().str.join("+").alias("ties"))
    ev = (cands.members.join(fv, on=["cid", "a"], how="left").join(tie_lists, on=["cid", "a"], how="left")
          .join(plat.account_shops.select("a", "d_a"), on="a", how="left").join(fsum, on="cid", how="left")
          .with_columns(pl.col("focus_visits").fill_null(0), pl.col("d_a").fill_null(0),
                        pl.col("focus_d").fill_null(0)))
    mu = ev["d_a"].to_numpy() * ev["focus_d"].to_numpy() / M
    p_shops = poisson_sf(ev["focus_visits"].to_numpy(), mu)
    hot = _hot_presence(cands, focus, visits, segments, plat)
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
    # are what the generators grouped by, so they cannot also vouch for membership.
    keep = (((pl.col("presence_q") <= alpha) & (pl.col("log_lr") > 0))
            | ((pl.col("focus_visits") >= 1) & strong_tie))
    kept = ev.filter(keep)
    sizes = kept.group_by("cid").agg(pl.len().alias("size")).filter(pl.col("size") >= min_size)
    kept = kept.join(sizes.select("cid"), on="cid")
    members = kept.select("cid", "a").sort("cid", "a")
    sources = cands.sources.drop("size").join(sizes.with_columns(pl.col("size").cast(pl.UInt32)), on="cid").sort("cid")
    return Candidates(members, sources), kept.select("cid", "a", "focus_visits", "presence_p", "ties").sort("cid", "a")


def _hot_presence(cands: Candidates, focus: pl.DataFrame, visits: pl.DataFrame, segments: pl.DataFrame,
                  plat: Platform) -> pl.DataFrame:
    """(cid, a, hot, hot_mu): the member's stretches at a focus shop where at least two
    *other* members acted, and how many it would have by chance *given the shops it went
    to*: for each focus shop, its events there times the share of that shop's events lying
    in stretches with two or more members. (One other member is not enough: a regular who
    shares a week with one ring member makes that stretch "hot" himself.) Conditioning on
    the shop keeps this test apart from the shop test: it asks *when*, not *where*.
    """
    # Members' visits to their group's focus shops first, then those visits' stretches: the
    # same rows as every member's stretches restricted to focus shops, without the join of
    # every member with every stretch it acted in.
    seg = (cands.members.unique(["cid", "a"]).join(visits.select("a", "m"), on="a")
           .join(focus.select("cid", "m"), on=["cid", "m"]).join(segments, on=["a", "m"]))
    hot = _per_stretch(seg).filter(pl.col("kc") >= 2)
    # Conditional on being at shop s at all: the hot stretch-incidences per event there
    # (each event lies in one stretch of each of the two tilings).
    per_shop = (hot.group_by("cid", "m").agg(pl.col("n_c").sum().alias("hot_events"))
                .join(plat.shop_visitors.select("m", "events"), on="m")
                .select("cid", "m", (pl.col("hot_events") / pl.col("events")).alias("h")))
    mine = (seg.join(hot.filter(pl.col("kc") >= 3).select("cid", "c"), on=["cid", "c"])
            .group_by("cid", "a").agg(pl.len().alias("hot")))
    expected = (cands.members.join(visits.select("a", "m", "events"), on="a").join(per_shop, on=["cid", "m"])
                .group_by("cid", "a").agg((pl.col("events") * pl.col("h")).sum().alias("hot_mu")))
    return (expected.join(mine, on=["cid", "a"], how="left")
            .select("cid", "a", pl.col("hot").fill_null(0), "hot_mu"))


def cohesive_parts(cands: Candidates, focus: pl.DataFrame, segments: pl.DataFrame, tied_contexts: pl.DataFrame,
                   min_size: int) -> Candidates:
    """Split each group into the parts whose members were somewhere together: in one
    stretch of a focus shop's timeline, or on one tie context.

    Two rings that a generator merged (they share target shops, or a payer of ordinary
    red packets) act there at different times and share nothing else: they fall apart
    here. ``tied_contexts`` is (cid, a, ctx) — a concentrated identifier, origin or staff
    shop, as an integer id.
    """
    seg = cands.members.join(segments.select("a", "m", "c"), on="a").join(focus.select("cid", "m"), on=["cid", "m"])
    hot = seg.group_by("cid", "c").agg(pl.len().alias("kc")).filter(pl.col("kc") >= 2)
    shop_ctx = seg.join(hot.select("cid", "c"), on=["cid", "c"]).select("cid", "a", (pl.col("c").cast(pl.Int64) + 1)
                                                                        .alias("ctx"))
    inc = pl.concat([shop_ctx, _tie_incidences(tied_contexts)]).unique()
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
    # Nodes: every (cid, a) and every (cid, ctx); one sparse graph.
    nodes_a = inc.select("cid", "a").unique().sort("cid", "a").with_row_index("i")
    nodes_c = inc.select("cid", "ctx").unique().sort("cid", "ctx").with_row_index("j")
    e = inc.join(nodes_a, on=["cid", "a"]).join(nodes_c, on=["cid", "ctx"])
    n_a = nodes_a.height
    n = n_a + nodes_c.height
    g = coo_matrix((np.ones(e.height), (e["i"].to_numpy(), e["j"].to_numpy() + n_a)), shape=(n, n))
    _, label = connected_components(g, directed=False)
    return nodes_a.select("cid", "a", pl.Series("part", label[:n_a]).cast(pl.Int64))


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
