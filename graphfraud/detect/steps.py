"""The detection steps, each a pure function from typed state to typed state.

``RingDetector.fit`` runs them in order:

1. :func:`build` — prepare the data once, measure the platform, build the layers;
2. :func:`propose` — candidate groups from every generator;
3. :func:`refine` — focus shops, per-account membership (cores);
4. :func:`test` — every evidence family on every core, outcome first;
5. :func:`resolve` — flagged groups that share accounts give each account to the group
   where its evidence is strongest; the final groups are measured again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from ..dataset import Dataset
from ..graph.layers import (
    GraphParams,
    Layer,
    affiliation_layer,
    coactivity_layer,
    identifier_layer,
    likes_layer,
    money_layer,
    segments,
    staff_groups,
)
from ..graph.layers import combine as combine_layers
from ..graph.money import MoneyParams
from ..graph.prepare import Prepared, prepare
from ..schema import IDENTIFIER_KINDS
from ..threads import in_threads
from .candidates import Candidates, generate
from .combine import combine, tie_weights
from .communities import Partitioner
from .families import Family, Inputs, registry
from .membership import (
    MEMBER_EVIDENCE,
    TIE_CONCENTRATION,
    alliance_ties,
    cohesive_parts,
    core,
    focus_shops,
    tied_parts,
    ties,
)
from .platform import Platform, measure

#: Called with the name of each stage as it starts (progress and timings).
Say = Callable[[str], None]
#: Called inside a long stage with (stage, done, total, unit): ``done`` rises from 0 to
#: ``total`` units of the stage's work (layers built, views partitioned, ...).
Count = Callable[[str, int, int, str], None]
#: What a step hands a loop of its own: (done, total) of that step's stage.
Tick = Callable[[int, int], None]


def ticker(count: Count | None, stage: str, unit: str) -> Tick:
    """A :data:`Tick` that reports to ``count`` as ``stage``, in ``unit`` (a no-op without one)."""
    if count is None:
        return lambda _done, _total: None
    return lambda done, total: count(stage, done, total, unit)


@dataclass(frozen=True)
class Settings:
    """Every parameter a run uses (the estimator's, resolved)."""

    fdr: float
    min_size: int
    max_size: int
    resolution: float
    seed: int
    graph: GraphParams
    money: MoneyParams
    partition: Partitioner | None = None  # the generators' community step; None: embedded Leiden


@dataclass(frozen=True)
class Built:
    prep: Prepared
    plat: Platform
    segs: pl.DataFrame
    layers: dict[str, Layer]


@dataclass(frozen=True)
class Tested:
    """Candidates with their cores, focus shops, member evidence and family results."""

    cands: Candidates
    focus: pl.DataFrame
    member_evidence: pl.DataFrame
    table: pl.DataFrame  # one row per candidate: cid, source, size, every family's columns, p_ring, q_ring, flagged
    n_tested: int


def build(ds: Dataset, s: Settings, say: Say, count: Count | None = None, release: bool = False) -> Built:
    """Code ``ds`` and build its layers; ``release``: drop its tables once coded
    (:meth:`Dataset.release`), nothing later reads them."""
    say("prepare")
    prep = prepare(ds)
    if release:
        ds.release()
    say("platform")
    # The shops' timelines cut into stretches and the platform's measurements read the
    # same coded tables and nothing of each other.
    jobs: list[Callable[[], Any]] = [lambda: segments(prep.events(), s.graph.segment_size),
                                     lambda: measure(prep, s.money)]
    segs, plat = in_threads(jobs)
    say("layers")
    makers: dict[str, Callable[[], Layer]] = {
        "identifier": lambda: identifier_layer(prep, s.graph, s.seed),
        "coactivity": lambda: coactivity_layer(segs, s.graph, s.seed),
        "money": lambda: money_layer(plat.origins, s.graph, s.seed),
        "affiliation": lambda: affiliation_layer(prep, s.graph, s.seed),
        "likes": lambda: likes_layer(prep)}
    # The costliest layer first: with two threads the others fill the second core.
    start = sorted(makers, key=lambda name: name != "coactivity")
    tick = ticker(count, "layers", "layers")
    tick(0, len(makers))
    built = dict(zip(start, in_threads([makers[name] for name in start], done=lambda n: tick(n, len(makers)))))
    return Built(prep, plat, segs, {name: built[name] for name in makers})


#: The views each generator partitions (layer names summed).
VIEWS: dict[str, tuple[str, ...]] = {
    "infrastructure": ("identifier", "affiliation"),
    "money": ("money",),
    "coactivity": ("coactivity",),
    "likes": ("likes",),
    "all": ("identifier", "affiliation", "money", "coactivity", "likes"),
}


def propose(b: Built, s: Settings, say: Say, count: Count | None = None) -> tuple[Candidates, pl.DataFrame]:
    """Candidates from every view, and the summed graph (what fragments are merged on)."""
    say("candidates")
    graphs = {name: combine_layers([b.layers[n] for n in names])
              for name, names in VIEWS.items()}
    cands = generate(graphs, min_size=s.min_size, max_size=s.max_size, resolution=s.resolution, seed=s.seed,
                     extra=[("alliance", staff_groups(b.prep, s.min_size))], partition=s.partition,
                     tick=ticker(count, "candidates", "views"))
    return cands, graphs["all"]


#: Steps of :func:`refine`, the unit its progress is counted in.
REFINE_STEPS = 8


def refine(b: Built, cands: Candidates, s: Settings,
           count: Count | None = None) -> tuple[Candidates, pl.DataFrame, pl.DataFrame]:
    """Cores of the candidates, their focus shops and per-member evidence."""
    tick = ticker(count, "membership", "steps")
    step = iter(range(REFINE_STEPS + 1))

    def done() -> None:
        tick(next(step), REFINE_STEPS)

    done()
    focus = focus_shops(cands, b.prep.visits, b.segs, b.plat)
    done()
    tied = ties(cands, b.prep.identifiers, b.plat, focus, b.prep.visits)
    done()
    cores, _ = core(cands, focus, b.prep.visits, b.segs, tied, b.plat, s.min_size)
    done()
    strong = tied.filter(pl.col("tie").is_in(["identifier", "staff", "alliance"])).join(cores.members, on=["cid", "a"])
    parts = _dedupe(cohesive_parts(cores, focus, b.segs, strong, s.min_size))
    done()
    # Membership is measured again on the parts: their own focus shops and ties.
    focus = focus_shops(parts, b.prep.visits, b.segs, b.plat)
    done()
    tied = ties(parts, b.prep.identifiers, b.plat, focus, b.prep.visits)
    done()
    parts, evidence = core(parts, focus, b.prep.visits, b.segs, tied, b.plat, s.min_size)
    parts = _dedupe(parts)
    evidence = evidence.join(parts.sources.select("cid"), on="cid")
    done()
    focus = focus_shops(parts, b.prep.visits, b.segs, b.plat)
    done()
    return parts, focus, evidence


def measure_membership(b: Built, groups: Candidates, min_size: int) -> tuple[Candidates, pl.DataFrame]:
    """Membership measured on ``groups`` (their focus shops, ties and per-account evidence):
    (the groups with the members that stay, their evidence)."""
    focus = focus_shops(groups, b.prep.visits, b.segs, b.plat)
    tied = ties(groups, b.prep.identifiers, b.plat, focus, b.prep.visits)
    return core(groups, focus, b.prep.visits, b.segs, tied, b.plat, min_size)


def _dedupe(c: Candidates) -> Candidates:
    lists = c.members.group_by("cid").agg(pl.col("a").sort()).with_columns(pl.col("a").hash(seed=5).alias("h"))
    keep = lists.sort("cid").unique("h", keep="first", maintain_order=True)["cid"]
    return c.subset(keep)


#: The stage in which the outcome families and the ties measured on every candidate run.
MEASURED_EVERYWHERE = "test outcomes and ties"


def _measure(families: list[Family], table: pl.DataFrame, inp: Inputs, count: Count | None) -> pl.DataFrame:
    """``table`` joined with every family's results on ``inp``, in the families' order.

    With a second core the families run two at a time in threads: their heavy parts
    release the GIL (:func:`~graphfraud.threads.in_threads`), each family only reads the shared
    inputs, and the results are joined in the same order wherever they were computed,
    so the table is the same.
    """
    def job(fam: Family) -> Callable[[], pl.DataFrame]:
        return lambda: fam.test(replace(inp, tick=ticker(count, f"test {fam.name}", fam.unit)))

    for result in in_threads([job(fam) for fam in families]):
        table = table.join(result, on="cid", how="left")
    return table


def test(b: Built, cands: Candidates, focus: pl.DataFrame, s: Settings, say: Say,
         count: Count | None = None) -> pl.DataFrame:
    """Run every family. Outcomes and the ties measured everywhere run on every candidate
    (the ties weight the FDR step); the rest only where a candidate can still be flagged."""
    families = registry()
    outcome = [f for f in families if f.role == "outcome"]
    everywhere = [f for f in families if f.role == "corroboration" and f.everywhere]
    where_alive = [f for f in families if f.role == "corroboration" and not f.everywhere]
    say(MEASURED_EVERYWHERE)
    table = _measure(outcome + everywhere, cands.sources, Inputs(b.prep, b.plat, cands, focus), count)
    # The rate of false discoveries is counted in groups of near-duplicate candidates: a
    # ring proposed five times over would otherwise make room for five false ones. The
    # weights average 1 over those groups, the units the step ranks.
    grouped = s.fdr < 1.0  # re-measuring final groups or tips: everything is flagged anyway
    if grouped:
        groups = cands.same_groups()
        groups = groups.join(groups.group_by("group").agg(pl.len().alias("size")), on="group")
        same = table.select("cid").join(groups, on="cid", how="left", maintain_order="left")
        assert same["group"].null_count() == 0, "every candidate tested is in a group of near-duplicates"
    weights = tie_weights(table, [f"p_{f.name}" for f in everywhere],
                          group=same["group"].to_numpy() if grouped else None)
    p_out = combine(table, outcome=[f"p_{f.name}" for f in outcome], ties=[], fdr=s.fdr)["p_outcome"]
    # Weighted BH never flags a candidate whose outcome over its weight exceeds the level
    # (a level of 1 measures everything everywhere: final groups and tips are re-measured so).
    can_flag = (p_out.to_numpy() <= s.fdr * weights) | (s.fdr >= 1.0)
    alive = table.filter(pl.Series(can_flag))
    inp = Inputs(b.prep, b.plat, cands.subset(alive["cid"]), focus.join(alive.select("cid"), on="cid"))
    for fam in where_alive:
        say(f"test {fam.name}")
        alive = _measure([fam], alive, inp, count)
    ties = [f"p_{f.name}" for f in families if f.role == "corroboration"]
    if not grouped:
        return combine(alive, outcome=[f"p_{f.name}" for f in outcome], ties=ties, fdr=s.fdr,
                       extra_tests=table.height - alive.height, weights=weights[can_flag])
    alive_groups = alive.select("cid").join(groups, on="cid", how="left", maintain_order="left")
    return combine(alive, outcome=[f"p_{f.name}" for f in outcome], ties=ties, fdr=s.fdr, weights=weights[can_flag],
                   groups=(alive_groups["group"].to_numpy(), alive_groups["size"].to_numpy(),
                           groups["group"].n_unique()))


def resolve(b: Built, cands: Candidates, table: pl.DataFrame, graph: pl.DataFrame, s: Settings,
            say: Say) -> Tested:
    """Turn overlapping flagged candidates into disjoint rings, merge the fragments of one
    ring, re-measure membership and every family on the final groups."""
    flagged = table.filter("flagged")
    empty = Tested(cands.subset([]), pl.DataFrame(schema={"cid": pl.UInt32, "m": pl.UInt32}),
                   pl.DataFrame(schema=MEMBER_EVIDENCE), table.head(0), table.height)
    if flagged.height == 0:
        return empty
    cutoff = float(flagged.select(pl.col("p_ring").max()).item())
    say("resolve rings")
    groups = _consensus(cands.subset(flagged["cid"]), s.min_size, s.seed)
    groups, tied = _split_by_ties(b, groups, cands.subset(flagged["cid"]).members, s.min_size)
    groups = _merge_fragments(groups, focus_shops(groups, b.prep.visits, b.segs, b.plat), b.segs,
                              b.prep.identifiers, b.plat, b.prep.visits, tied)
    groups, evidence = measure_membership(b, groups, s.min_size)
    if groups.n == 0:
        return empty
    focus = focus_shops(groups, b.prep.visits, b.segs, b.plat)
    retest = test(b, groups, focus, replace(s, fdr=1.0), lambda _m: None)
    # A final group keeps its flag when its own evidence is as strong as the weakest
    # candidate BH flagged; its q-value is that of the best candidate it grew from.
    keep = retest.filter(pl.col("p_ring") <= cutoff).with_columns(pl.lit(True).alias("flagged"))
    origin = (groups.members.join(cands.members.join(flagged.select("cid", "q_ring"), on="cid")
                                  .rename({"cid": "from"}), on="a")
              .group_by("cid").agg(pl.col("q_ring").min()))
    keep = keep.drop("q_ring").join(origin, on="cid", how="left")
    groups = groups.subset(keep["cid"])
    return Tested(groups, focus.join(keep.select("cid"), on="cid"), evidence.join(groups.members, on=["cid", "a"]),
                  keep, table.height)


#: The ties that hold a final ring together (:func:`_split_by_ties`): every tie that can
#: admit a member (:func:`~.membership.core`) and the money origins concentrated on the
#: group. IPs, shared by nature behind proxies and NATs, only corroborate.
RING_TIES = ("identifier", "staff", "alliance", "money", "shop_money")


def _split_by_ties(b: Built, groups: Candidates, flagged: pl.DataFrame,
                   min_size: int) -> tuple[Candidates, pl.DataFrame]:
    """Split each consensus group into the parts its members' ties hold together
    (:func:`~.membership.tied_parts`); ``flagged`` is (cid, a) of the flagged candidates.
    Returns the parts and (a): the members tied to others of their group.

    Co-association joins rings that flagged candidates mixed: a loose candidate holding
    several rings paid by the same client shops gives their members, and the bystanders
    it caught, common candidates. Per-account evidence tells them apart: members of one
    ring share a phone, a payer, a money origin, a shop account or an alliance with each
    other; two rings at the same shops share none, and meet only in some stretches of
    those shops' timelines.
    """
    focus = focus_shops(groups, b.prep.visits, b.segs, b.plat)
    tied = ties(groups, b.prep.identifiers, b.plat, focus, b.prep.visits).filter(pl.col("tie").is_in(RING_TIES))
    return tied_parts(groups, tied, flagged, min_size), tied.select("a").unique()


def _merge_fragments(groups: Candidates, focus: pl.DataFrame, segs: pl.DataFrame, identifiers: pl.DataFrame,
                     plat: Platform, visits: pl.DataFrame, tied: pl.DataFrame) -> Candidates:
    """Join the fragments of one ring.

    A generator can cut a ring in two (two batches of a device farm posting one after the
    other). Two groups are one operation when both use — each with two or more accounts
    tied to others of their own group (``tied``: a) — a phone or a card used (mostly)
    only by them, or when they acted *together* — in the same stretch of a shop's
    timeline — at half or more of the focus shops of the smaller one (and at two at
    least). Rings that merely serve some of the same shops meet there now and then, not
    at most of their shops. Members without a tie stay in a group for the membership
    test to judge; two of them sharing a household's card do not make their group part
    of another's operation. A phone or card whose users on both sides are all staff of
    one shop is that shop's, and a shop's staff can brush with two alliances: it joins
    the groups only when they are allied without that shop (:func:`_not_through_one_shop`).
    """
    if groups.n < 2:
        return groups
    mem = groups.members
    personal = [k.name for k in IDENTIFIER_KINDS if k.weight >= 1]
    ids = (mem.join(tied, on="a").join(identifiers.filter(pl.col("kind").is_in(personal)).select("a", "v"), on="a")
           .group_by("cid", "v").agg(pl.len().alias("k")).join(plat.identifier_users.select("v", "users"), on="v"))
    sharing = (ids.join(ids.rename({"cid": "other", "k": "k2"}).drop("users"), on="v")
               .filter((pl.col("cid") < pl.col("other")) & (pl.col("k") >= 2) & (pl.col("k2") >= 2)
                       & (pl.col("k") + pl.col("k2") >= TIE_CONCENTRATION * pl.col("users")))
               .select("cid", "other", "v"))
    sharing = _not_through_one_shop(sharing, mem, focus, identifiers, personal, plat, visits).select("cid", "other")
    seg = (mem.join(segs.select("a", "m", "c"), on="a").join(focus.select("cid", "m"), on=["cid", "m"])
           .select("cid", "m", "c").unique())
    n_focus = focus.group_by("cid").agg(pl.len().alias("F"))
    together = (seg.join(seg.rename({"cid": "other"}), on=["m", "c"]).filter(pl.col("cid") < pl.col("other"))
                .group_by("cid", "other").agg(pl.col("m").n_unique().alias("shops"))
                .join(n_focus, on="cid").join(n_focus.rename({"cid": "other", "F": "F2"}), on="other")
                .filter((pl.col("shops") >= 2) & (pl.col("shops") >= 0.5 * pl.min_horizontal("F", "F2")))
                .select("cid", "other"))
    pairs = pl.concat([sharing, together]).unique().sort("cid", "other")
    if pairs.height == 0:
        return groups
    parent = {c: c for c in groups.sources["cid"].to_list()}

    def find(c: int) -> int:
        while parent[c] != c:
            c = parent[c]
        return c

    for x, y in pairs.iter_rows():
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    root = pl.DataFrame({"cid": list(parent), "root": [find(c) for c in parent]},
                        schema={"cid": pl.UInt32, "root": pl.UInt32})
    members = mem.join(root, on="cid").select(pl.col("root").alias("cid"), "a").unique().sort("cid", "a")
    sizes = members.group_by("cid").agg(pl.len().cast(pl.UInt32).alias("size"))
    sources = groups.sources.drop("size").join(sizes, on="cid").sort("cid")
    return Candidates(members, sources)


def _not_through_one_shop(sharing: pl.DataFrame, mem: pl.DataFrame, focus: pl.DataFrame, identifiers: pl.DataFrame,
                          personal: list[str], plat: Platform, visits: pl.DataFrame) -> pl.DataFrame:
    """The identifier links (cid, other, v) of :func:`_merge_fragments` without those
    through one shop's staff that no alliance backs.

    A link is through staff of shop ``m`` when every user of ``v`` in either group pays
    with ``m``'s own account (``plat.staff``). It stays only when an alliance tie
    (:func:`~.membership.alliance_ties`) of the two groups' union, measured on their
    focus shops other than ``m``, holds members of both: fragments of one alliance trade
    with each other's shops, two alliances that share ``m`` trade only through it.
    """
    users = (mem.join(identifiers.filter(pl.col("kind").is_in(personal)).select("a", "v"), on="a")
             .join(pl.concat([sharing.select("cid", "v"), sharing.select(pl.col("other").alias("cid"), "v")])
                   .unique(), on=["cid", "v"]))
    k = users.group_by("cid", "v").agg(pl.len().alias("k"))
    by_shop = (users.join(plat.staff, on="a").group_by("cid", "v", "m").agg(pl.len().alias("km"))
               .join(k, on=["cid", "v"]).filter(pl.col("km") == pl.col("k")).select("cid", "v", "m"))
    via = (sharing.join(by_shop, on=["cid", "v"]).join(by_shop.rename({"cid": "other"}), on=["other", "v", "m"])
           .select("cid", "other", "v", "m").unique())
    if via.height == 0:
        return sharing
    pair = via.select("cid", "other").unique().sort("cid", "other").with_row_index("pid")
    link = via.join(pair, on=["cid", "other"]).select("pid", "m").unique()
    side = pl.concat([pair.select("pid", "cid", pl.lit(0).alias("side")),
                      pair.select("pid", pl.col("other").alias("cid"), pl.lit(1).alias("side"))])
    union = side.join(mem, on="cid").select(pl.col("pid").cast(mem.schema["cid"]).alias("cid"), "a", "side")
    both_focus = (side.join(focus.select("cid", "m"), on="cid").select(pl.col("pid"), "m").unique()
                  .join(link, on=["pid", "m"], how="anti").select(pl.col("pid").cast(mem.schema["cid"]).alias("cid"),
                                                                   "m"))
    members = union.select("cid", "a").unique().sort("cid", "a")
    sources = members.group_by("cid").agg(pl.len().cast(pl.UInt32).alias("size")).with_columns(
        pl.lit("pair").alias("source")).select("cid", "source", "size")
    tied = alliance_ties(Candidates(members, sources), both_focus, visits, plat)
    allied = (tied.join(union, on=["cid", "a"]).group_by("cid", "ctx").agg(pl.col("side").n_unique().alias("sides"))
              .filter(pl.col("sides") == 2).select(pl.col("cid").cast(pl.UInt32).alias("pid")).unique()
              .join(pair, on="pid").select("cid", "other"))
    blocked = via.select("cid", "other", "v").unique().join(allied, on=["cid", "other"], how="anti")
    return sharing.join(blocked, on=["cid", "other", "v"], how="anti")


def _consensus(cands: Candidates, min_size: int, seed: int) -> Candidates:
    """Disjoint groups by evidence accumulation over the overlapping flagged candidates.

    Two accounts belong together as often as the flagged candidates agree: their weight
    is the Jaccard index of the sets of flagged candidates containing each (Fred & Jain's
    co-association). Pairs inside a ring are together in the ring's candidate and in each
    nested or overlapping one; two rings that one loose candidate united are apart in
    every candidate that resolves them. Leiden on that graph gives the groups.
    """
    from .communities import leiden

    mem = cands.members
    per_account = mem.group_by("a").agg(pl.len().alias("n_a"))
    pairs = (mem.join(mem.rename({"a": "b"}), on="cid").filter(pl.col("a") < pl.col("b"))
             .group_by("a", "b").agg(pl.len().alias("both")))
    if pairs.height == 0:
        return cands.subset([])
    pairs = (pairs.join(per_account, on="a").join(per_account.rename({"a": "b", "n_a": "n_b"}), on="b")
             .with_columns((pl.col("both") / (pl.col("n_a") + pl.col("n_b") - pl.col("both"))).alias("weight"))
             .select("a", "b", "weight"))
    comm = leiden(pairs.filter(pl.col("weight") >= 0.5), seed=seed)
    sizes = comm.group_by("community").agg(pl.len().cast(pl.UInt32).alias("size")).filter(pl.col("size") >= min_size)
    comm = comm.join(sizes.select("community"), on="community")
    comm = pl.concat([comm, _strays(pairs, comm)]).sort("a")
    sizes = comm.group_by("community").agg(pl.len().cast(pl.UInt32).alias("size"))
    # Keep the provenance of the candidate that holds most of each group.
    src = (comm.join(mem, on="a").group_by("community", "cid").agg(pl.len().alias("k"))
           .sort("community", "k", "cid", descending=[False, True, False]).group_by("community", maintain_order=True)
           .first().join(cands.sources.select("cid", "source"), on="cid"))
    members = comm.select(pl.col("community").alias("cid"), "a").sort("cid", "a")
    sources = (src.select(pl.col("community").alias("cid"), "source").join(sizes.rename({"community": "cid"}), on="cid")
               .sort("cid"))
    return Candidates(members, sources)


def _strays(pairs: pl.DataFrame, comm: pl.DataFrame) -> pl.DataFrame:
    """(a, community) for the flagged candidates' accounts that no group kept, each put in the
    group it shares most candidates with.

    An account that sits in several fragments of one ring (a heavy buyer whose own orders
    elsewhere dilute every fragment it is in) can agree with each partner on fewer than
    half of its candidates and fall out as a singleton. Whether it belongs is the question
    the per-account membership test answers next (:func:`~.membership.core`), not the
    co-association cut-off.
    """
    kept = comm.select(pl.col("a").alias("b"), "community")
    both = pl.concat([pairs, pairs.select(pl.col("b").alias("a"), pl.col("a").alias("b"), "weight")])
    strays = both.join(comm.select("a"), on="a", how="anti").join(kept, on="b")
    return (strays.group_by("a", "community").agg(pl.col("weight").sum())
            .sort("a", "weight", "community", descending=[False, True, False])
            .group_by("a", maintain_order=True).first().select("a", "community")
            .cast(comm.schema))


@dataclass(frozen=True)
class State:
    """Everything a fit computed that later questions (expand, evidence) reuse."""

    built: Built
    graph: pl.DataFrame  # the summed account graph (a, b, weight)
    cores: Candidates
    table: pl.DataFrame  # every candidate tested (outcome-passing rows with all families)
    tested: Tested


def run(ds: Dataset, s: Settings, say: Say, count: Count | None = None, release: bool = False) -> State:
    """Every step in order; ``say`` hears each stage start, ``count`` the progress inside
    the long ones (layers, candidates, membership, the text test); ``release`` drops the
    dataset's tables once coded."""
    b = build(ds, s, say, count, release)
    cands, graph = propose(b, s, say, count)
    say("membership")
    cores, focus, _evidence = refine(b, cands, s, count)
    table = test(b, cores, focus, s, say, count)
    tested = resolve(b, cores, table, graph, s, say)
    return State(b, graph, cores, table, tested)

