"""``RingDetector``: graph -> Leiden communities -> scored rings with reasons.

A scikit-learn-like contract: parameters in ``__init__`` (validated in :meth:`fit`),
``fit`` returns ``self``, fitted results end in ``_``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from typing import Callable

import polars as pl

from ..dataset import Dataset
from ..errors import ParameterError
from ..graph.layers import LAYERS, GraphParams, build_graph
from ..graph.prepare import Prepared, prepare
from .communities import OBJECTIVES, leiden, subcommunities
from .features import Baselines, FeatureParams, baselines, compute_features
from .results import Ring
from .scoring import FAMILIES, reasons, score_frame


class RingDetector:
    """Find collusion rings in a :class:`~graphfraud.dataset.Dataset`.

    Parameters
    ----------
    threshold : float, default 0.5
        Rings scoring at or above it are flagged; weaker communities scoring at least
        ``candidate_threshold`` are kept as candidates.
    candidate_threshold : float, default 0.3
    min_ring_size : int, default 3
        Smallest community that can be a ring.
    min_member_score : float, default 0.5
        Members of a flagged ring below this are left out of ``membership_``.
    window_hours : float, default 24
        Width of the co-activity window (shop x time) for lockstep and bursts.
    min_shared_shops : int, default 2
        A lockstep edge needs co-activity at this many distinct shops.
    burst_alpha : float, default 0.01
        A shop-window is a burst when its activity is this improbable under the shop's
        own Poisson baseline; only bursts create lockstep edges.
    resolution : float, default 1.0
        Leiden resolution.
    objective : {"modularity", "cpm"}, default "modularity"
    clique_max, hub_max, crowd_max, sparsify_k : int
        Projection limits; see :mod:`graphfraud.graph.projection`.
    hub_share : float, default 0.05
        An identifier shared by more than this share of all accounts is a hub too
        (whichever of ``hub_max`` and this is smaller, but never below ``clique_max``).
    seed : int, default 0

    Examples
    --------
    >>> from graphfraud.synth import synthesize
    >>> res = synthesize(2_000, seed=3)
    >>> det = RingDetector(seed=3).fit(Dataset.from_frames(**res.tables))
    >>> det.rings_.height >= 4
    True
    >>> ring = det.ring(det.rings_["ring_id"][0])
    >>> ring.score >= 0.5 and len(ring.reasons) >= 2
    True
    """

    def __init__(self, *, threshold: float = 0.5, candidate_threshold: float = 0.3, min_ring_size: int = 3,
                 min_member_score: float = 0.5, window_hours: float = 24.0, min_shared_shops: int = 2,
                 burst_alpha: float = 0.01, resolution: float = 1.0, objective: str = "modularity",
                 clique_max: int = 100,
                 hub_max: int = 2000, hub_share: float = 0.05, crowd_max: int = 1000, sparsify_k: int = 10,
                 seed: int = 0) -> None:
        self.threshold = threshold
        self.candidate_threshold = candidate_threshold
        self.min_ring_size = min_ring_size
        self.min_member_score = min_member_score
        self.window_hours = window_hours
        self.min_shared_shops = min_shared_shops
        self.burst_alpha = burst_alpha
        self.resolution = resolution
        self.objective = objective
        self.clique_max = clique_max
        self.hub_max = hub_max
        self.hub_share = hub_share
        self.crowd_max = crowd_max
        self.sparsify_k = sparsify_k
        self.seed = seed

    # ------------------------------------------------------------------ params
    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in ("threshold", "candidate_threshold", "min_ring_size",
                                              "min_member_score", "window_hours", "min_shared_shops",
                                              "burst_alpha", "resolution", "objective", "clique_max", "hub_max", "hub_share", "crowd_max",
                                              "sparsify_k", "seed")}

    def _validate(self) -> None:
        def need(ok: bool, name: str, rule: str) -> None:
            if not ok:
                raise ParameterError(f"{name}={getattr(self, name)!r}: must be {rule}.")

        for name in ("threshold", "candidate_threshold", "min_member_score", "hub_share"):
            v = getattr(self, name)
            need(isinstance(v, (int, float)) and 0 <= v <= 1, name, "a number in [0, 1]")
        need(self.candidate_threshold <= self.threshold, "candidate_threshold", f"<= threshold ({self.threshold})")
        for name in ("min_ring_size", "min_shared_shops", "clique_max", "hub_max", "crowd_max", "sparsify_k"):
            v = getattr(self, name)
            need(isinstance(v, int) and not isinstance(v, bool) and v >= 1, name, "an integer >= 1")
        need(self.min_ring_size >= 2, "min_ring_size", "an integer >= 2")
        need(self.clique_max <= self.hub_max and self.clique_max <= self.crowd_max, "clique_max",
             "<= hub_max and <= crowd_max")
        need(isinstance(self.window_hours, (int, float)) and 0 < self.window_hours <= 24 * 31, "window_hours",
             "a number of hours in (0, 744]")
        need(isinstance(self.resolution, (int, float)) and self.resolution > 0, "resolution", "a number > 0")
        need(isinstance(self.burst_alpha, (int, float)) and 0 < self.burst_alpha < 1, "burst_alpha",
             "a probability in (0, 1)")
        need(self.objective in OBJECTIVES, "objective", f"one of {', '.join(OBJECTIVES)}")
        need(isinstance(self.seed, int) and not isinstance(self.seed, bool), "seed", "an integer")

    # ------------------------------------------------------------------ fit
    def fit(self, dataset: Dataset, progress: Callable[[str], None] | None = None) -> RingDetector:
        """Build the graph, find communities, score them and keep the rings.

        Parameters
        ----------
        dataset : Dataset
            Validated tables (from :func:`graphfraud.load_dataset` or ``Dataset.from_frames``).
        progress : callable, optional
            Called with a short message at the start of every stage.
        """
        self._validate()
        say = progress or (lambda _m: None)
        timings: dict[str, float] = {}

        def stage(name: str):
            say(name)
            timings[name] = time.perf_counter()

        def done(name: str) -> None:
            timings[name] = round(time.perf_counter() - timings[name], 3)

        stage("prepare")
        prep = prepare(dataset)
        # A hub is shared by more than hub_max accounts or by more than hub_share of all
        # accounts: rings are small next to a platform, so such an identifier is a NAT, a
        # campus or a platform account whatever the platform's size.
        hub_cut = int(min(self.hub_max, max(self.clique_max, self.hub_share * prep.n_accounts)))
        fp = FeatureParams(window_hours=self.window_hours, burst_alpha=self.burst_alpha,
                           max_identifier_accounts=hub_cut)
        base = baselines(prep, fp)
        done("prepare")
        gp = GraphParams(window_hours=self.window_hours, min_shared_shops=self.min_shared_shops,
                         burst_alpha=self.burst_alpha,
                         clique_max=self.clique_max, hub_max=hub_cut, crowd_max=self.crowd_max,
                         sparsify_k=self.sparsify_k)
        self.hub_cut_ = hub_cut
        stage("graph")
        graph = build_graph(prep, gp, seed=self.seed, progress=say, bursts=base.bursts,
                            money=base.money)
        done("graph")
        stage("communities")
        comm = leiden(graph.edges, objective=self.objective, resolution=self.resolution, seed=self.seed)
        sizes = comm.group_by("community").agg(pl.len().alias("n"))
        members = comm.join(sizes.filter(pl.col("n") >= self.min_ring_size), on="community").select("a", "community")
        done("communities")
        stage("features")
        feats, detail = compute_features(prep, members, base, fp)
        feats = score_frame(feats)
        comm, members, feats, detail = self._refine(graph.edges, comm, members, feats, detail, prep, base, fp)
        comm, members, feats, detail = self._merge(graph.edges, comm, members, feats, detail, prep, base, fp)
        comm, members, feats, detail = self._trim(graph.edges, comm, members, feats, detail, prep, base, fp)
        done("features")
        stage("scoring")
        kept = feats.filter(pl.col("score") >= self.candidate_threshold)
        member_scores = _member_scores(graph.edges, comm, members.join(kept.select("community"), on="community"),
                                       detail, kept)
        done("scoring")

        self.prepared_: Prepared = prep
        self.baselines_: Baselines = base
        self.graph_ = graph
        self.communities_ = comm
        self.details_ = detail
        self.timings_ = timings
        self._evidence_ctx = None
        self._finish(prep, kept, member_scores)
        return self

    def _refine(self, edges, comm, members, feats, detail, prep, base, fp, max_depth: int = 3):
        """Split large unflagged communities with Leiden on their own subgraph.

        A parent is replaced by its parts only when that makes its best part clearly more
        ring-like (``REFINE_GAIN`` above the parent), so a ring diluted in a loose
        community is recovered, possibly over several passes.
        """
        for _ in range(max_depth):
            parents = feats.filter((pl.col("score") < self.threshold)
                                   & (pl.col("n_accounts") >= 4 * self.min_ring_size))["community"].sort().to_list()
            if not parents:
                break
            first_id = int(comm["community"].max()) + 1
            sub = subcommunities(edges, comm, parents, objective=self.objective, resolution=self.resolution,
                                 seed=self.seed, first_id=first_id)
            if sub.height == 0:
                break
            sizes = sub.group_by("community").agg(pl.len().alias("n"))
            sub_members = sub.join(sizes.filter(pl.col("n") >= self.min_ring_size), on="community")
            if sub_members.height == 0:
                break
            sub_feats, sub_detail = compute_features(prep, sub_members.select("a", "community"), base, fp)
            sub_feats = score_frame(sub_feats)
            # Keep a split when it makes the parent's best part clearly more ring-like; the
            # next pass may split that part again.
            parent_score = feats.select(pl.col("community").alias("parent"), pl.col("score").alias("parent_score"))
            winners = (sub_feats.join(sub_members.select("community", "parent").unique(), on="community")
                       .group_by("parent").agg(pl.col("score").max()).join(parent_score, on="parent")
                       .filter(pl.col("score") > pl.col("parent_score") + REFINE_GAIN))
            if winners.height == 0:
                break
            won = winners["parent"].to_list()
            moved = sub.filter(pl.col("parent").is_in(won))
            comm, members, feats, detail = _replace(
                comm, members, feats, detail, won, moved.select("a", "community"),
                sub_members.filter(pl.col("parent").is_in(won)).select("a", "community"), sub_feats, sub_detail)
        return comm, members, feats, detail

    def _merge(self, edges, comm, members, feats, detail, prep, base, fp):
        """Merge flagged communities that are as tied to each other as within themselves.

        When one ring dominates a small graph, modularity may split it (say, by
        group-control phone). Two flagged parts A and B are merged when the density of
        edge weight between them is at least half the lower of their internal densities.
        """
        flagged = feats.filter(pl.col("score") >= self.threshold).select("community", "n_accounts")
        if flagged.height < 2:
            return comm, members, feats, detail
        fm = members.join(flagged.select("community"), on="community")
        e = (edges.select("a", "b", "weight").join(fm.rename({"community": "ca"}), on="a")
             .join(fm.rename({"a": "b", "community": "cb"}), on="b"))
        sizes = dict(zip(flagged["community"].to_list(), flagged["n_accounts"].to_list()))
        inside = {c: w for c, w in e.filter(pl.col("ca") == pl.col("cb")).group_by("ca").agg(pl.col("weight").sum()).iter_rows()}
        between = (e.filter(pl.col("ca") != pl.col("cb"))
                   .with_columns(pl.min_horizontal("ca", "cb").alias("x"), pl.max_horizontal("ca", "cb").alias("y"))
                   .group_by("x", "y").agg(pl.col("weight").sum()).sort("x", "y"))
        parent = {c: c for c in sizes}

        def find(c: int) -> int:
            while parent[c] != c:
                c = parent[c]
            return c

        def density(c: int) -> float:
            n = sizes[c]
            return inside.get(c, 0.0) / max(1, n * (n - 1) / 2)

        for x, y, w in between.iter_rows():
            if w / (sizes[x] * sizes[y]) >= 0.5 * min(density(x), density(y)):
                rx, ry = find(x), find(y)
                if rx != ry:
                    parent[max(rx, ry)] = min(rx, ry)
        groups: dict[int, list[int]] = {}
        for c in sizes:
            groups.setdefault(find(c), []).append(c)
        merged = {root: cs for root, cs in groups.items() if len(cs) > 1}
        if not merged:
            return comm, members, feats, detail
        first_id = int(comm["community"].max()) + 1
        mapping = pl.DataFrame({"community": [c for cs in merged.values() for c in cs],
                                "new": [first_id + i for i, cs in enumerate(merged.values()) for _ in cs]},
                               schema={"community": pl.UInt32, "new": pl.UInt32})
        new_members = members.join(mapping, on="community").select("a", pl.col("new").alias("community"))
        new_feats, new_detail = compute_features(prep, new_members, base, fp)
        return _replace(comm, members, feats, detail, mapping["community"].to_list(), new_members, new_members,
                        score_frame(new_feats), new_detail)

    def _trim(self, edges, comm, members, feats, detail, prep, base, fp):
        """Re-measure each community on the accounts that actually take part in it.

        Bystanders attached to a ring (a heavy shopper who happened to buy in two of its
        bursts) dilute every share-based feature. Communities with any evidence (score at
        least ``TRIM_FLOOR``) keep the members whose member score reaches
        ``min_member_score``; features and score are then computed on that core.
        """
        scored = feats.filter(pl.col("score") >= TRIM_FLOOR)
        if scored.height == 0:
            return comm, members, feats, detail
        ms = _member_scores(edges, comm, members.join(scored.select("community"), on="community"), detail, scored)
        core = ms.filter(pl.col("member_score") >= self.min_member_score)
        sizes = core.group_by("community").agg(pl.len().alias("n"))
        full = members.group_by("community").agg(pl.len().alias("full"))
        changed = sizes.join(full, on="community").filter((pl.col("n") < pl.col("full")) & (pl.col("n") >= self.min_ring_size))
        if changed.height == 0:
            return comm, members, feats, detail
        first_id = int(comm["community"].max()) + 1
        remap = changed.select("community").sort("community").with_row_index("k").select(
            "community", (pl.col("k").cast(pl.UInt32) + first_id).alias("new"))
        new_members = core.join(remap, on="community").select("a", pl.col("new").alias("community"))
        new_feats, new_detail = compute_features(prep, new_members, base, fp)
        return _replace(comm, members, feats, detail, changed["community"].to_list(), new_members, new_members,
                        score_frame(new_feats), new_detail)

    def _finish(self, prep: Prepared, kept: pl.DataFrame, member_scores: pl.DataFrame) -> None:
        ids = pl.DataFrame({"a": range(prep.n_accounts), "account_id": prep.account_ids}).with_columns(
            pl.col("a").cast(pl.UInt32))
        ms = member_scores.join(ids, on="a")
        flagged = kept.filter(pl.col("score") >= self.threshold)
        # Stable ring ids: a hash of the community's members, independent of run order.
        keys = (ms.group_by("community").agg(pl.col("account_id").sort().str.join(",").alias("key")))
        keys = keys.with_columns(pl.col("key").map_elements(
            lambda s: "R-" + hashlib.sha1(s.encode()).hexdigest()[:10], return_dtype=pl.String).alias("ring_id"))
        table = kept.join(keys.select("community", "ring_id"), on="community")
        base_five = self.baselines_.five_star_share
        reason_col = []
        for row in table.iter_rows(named=True):
            reason_col.append("; ".join(text for _, _, text in reasons(row, base_five, self.window_hours)))
        table = table.with_columns(pl.Series("reasons", reason_col, dtype=pl.String)).sort(
            ["score", "n_accounts", "ring_id"], descending=[True, True, False])
        mem = (ms.join(table.select("community", "ring_id", "score"), on="community")
               .select("ring_id", "account_id", "member_score", "a", "community", pl.col("score").alias("_s")))
        listed = (mem.filter(pl.col("member_score") >= self.min_member_score).group_by("community")
                  .agg(pl.len().alias("n_members")))
        table = (table.rename({"n_accounts": "community_size"}).join(listed, on="community", how="left")
                 .with_columns(pl.col("n_members").fill_null(0).alias("n_accounts")).drop("n_members"))
        self.features_ = table
        flagged_ids = table.filter(pl.col("score") >= self.threshold)
        self.rings_ = _ring_table(flagged_ids)
        self.candidates_ = _ring_table(table.filter(pl.col("score") < self.threshold))
        self.all_members_ = mem
        self.membership_ = (mem.join(flagged.select("community"), on="community")
                            .filter(pl.col("member_score") >= self.min_member_score)
                            .sort(["_s", "ring_id", "member_score", "account_id"], descending=[True, False, True, False])
                            .select("ring_id", "account_id", "member_score"))

    # ------------------------------------------------------------------ accessors
    def _check_fitted(self) -> None:
        if not hasattr(self, "rings_"):
            raise ParameterError("this RingDetector is not fitted yet; call fit(dataset) first.")

    def ring(self, ring_id: str) -> Ring:
        """The typed :class:`Ring` for ``ring_id`` (flagged or candidate)."""
        self._check_fitted()
        row = self.features_.filter(pl.col("ring_id") == ring_id)
        if row.height == 0:
            raise ParameterError(f"no ring {ring_id!r}; known rings are listed in rings_ and candidates_.")
        r = row.row(0, named=True)
        members = self.all_members_.filter((pl.col("ring_id") == ring_id)
                                           & (pl.col("member_score") >= self.min_member_score))["account_id"].to_list()
        return Ring(ring_id, r["score"], len(members), {f: round(r[f"f_{f}"], 3) for f in FAMILIES},
                    [text for _, _, text in reasons(r, self.baselines_.five_star_share, self.window_hours)],
                    members, {k: v for k, v in r.items() if k not in ("reasons",)})

    def evidence(self, ring_id: str, max_items: int = 200):
        """Typed evidence subgraph of one ring (see :mod:`graphfraud.detect.evidence`)."""
        from .evidence import evidence_context, ring_evidence

        self._check_fitted()
        self.ring(ring_id)
        if getattr(self, "_evidence_ctx", None) is None:
            self._evidence_ctx = evidence_context(self)
        return ring_evidence(self, ring_id, max_items=max_items, ctx=self._evidence_ctx)

    def summary(self) -> dict:
        self._check_fitted()
        return {"params": self.get_params(), "baselines": self.baselines_.as_dict(),
                "layers": [asdict(s) for s in self.graph_.stats], "graph_edges": self.graph_.edges.height,
                "communities": int(self.communities_["community"].n_unique()) if self.communities_.height else 0,
                "rings": self.rings_.height, "candidates": self.candidates_.height,
                "flagged_accounts": self.membership_.height, "timings_s": self.timings_,
                "layer_names": list(LAYERS)}


def _replace(comm, members, feats, detail, old: list[int], moved: pl.DataFrame, new_members: pl.DataFrame,
             new_feats: pl.DataFrame, new_detail: dict):
    """Swap communities ``old`` for new ones in every per-community frame.

    ``moved`` re-labels accounts in the full partition; ``new_members`` are the new
    candidate communities (large enough to score) with ``new_feats`` / ``new_detail``.
    """
    new_ids = new_members["community"].unique().implode()
    comm = (comm.join(moved.select("a", pl.col("community").alias("new")), on="a", how="left")
            .select("a", pl.coalesce("new", "community").alias("community")))
    members = pl.concat([members.filter(~pl.col("community").is_in(old)), new_members.select("a", "community")])
    feats = pl.concat([feats.filter(~pl.col("community").is_in(old)),
                       new_feats.filter(pl.col("community").is_in(new_ids))], how="diagonal_relaxed")
    detail = {k: pl.concat([v.filter(~pl.col("community").is_in(old)),
                            new_detail[k].filter(pl.col("community").is_in(new_ids))], how="diagonal_relaxed")
              for k, v in detail.items()}
    return comm, members, feats, detail


RING_COLUMNS = ["ring_id", "score", "n_accounts", "community_size", *[f"f_{f}" for f in FAMILIES], "five_star_excess",
                "template_share", "fast_review_excess", "burst_shops", "burst_members", "paid_members",
                "shop_payment_members", "batch_members", "shop_focus", "median_account_age_days", "reasons"]


def _ring_table(table: pl.DataFrame) -> pl.DataFrame:
    return table.select([c for c in RING_COLUMNS if c in table.columns]).with_columns(
        [pl.col(f"f_{f}").round(3) for f in FAMILIES]
        + [pl.col(c).round(3) for c in ("five_star_excess", "template_share", "fast_review_excess", "shop_focus")]
        + [pl.col("median_account_age_days").round(1)])


#: A split must raise the best score by this much to replace its parent.
REFINE_GAIN = 0.05
#: Communities scoring at least this are re-measured on their participating core.
TRIM_FLOOR = 0.2
#: How much taking part in a ring signal says about one member (see ``_member_scores``):
#: personal signals are strong; bursts and 5-star reviews happen to bystanders too.
MEMBER_STRENGTH = {"identifier": 1.0, "money": 1.0, "template": 1.0, "burst": 0.5, "five_star": 0.25}
#: The ring-level feature that says how strongly the ring shows each member signal.
RING_LEVEL = {"identifier": "f_infrastructure", "money": "f_money", "template": "template_share",
              "burst": "f_coordination", "five_star": "five_star_excess"}


def _member_scores(edges: pl.DataFrame, comm: pl.DataFrame, members: pl.DataFrame, detail: dict,
                   kept: pl.DataFrame) -> pl.DataFrame:
    """How strongly each account belongs to its ring, in [0, 1].

    A member-level conjunction. Each member signal (shares a concentrated identifier,
    receives the ring's money, writes one of its templates, joins its bursts at 2+
    shops, gives 5-star reviews on its focus shops) is weighted by its strength for one
    member (``MEMBER_STRENGTH``) times how strongly the ring as a whole shows it
    (``RING_LEVEL``). Participation is the weighted share of those signals the account
    takes part in: a bystander who shares a ring's weak signals but not the ones that
    define it scores low, while in reviews-only data (bursts and 5-star only) the
    members still reach full participation. The score scales participation by cohesion,
    the share of the account's edge weight inside the ring:
    ``score = participation * (0.5 + 0.5 * cohesion)``.
    """
    if members.height == 0:
        return pl.DataFrame(schema={"a": pl.UInt32, "community": pl.UInt32, "member_score": pl.Float64})
    cm = comm.rename({"a": "x", "community": "cx"})
    e = (edges.select("a", "b", "weight").join(cm, left_on="a", right_on="x")
         .join(cm.rename({"x": "y", "cx": "cy"}), left_on="b", right_on="y"))
    both = pl.concat([e.select(pl.col("a").alias("node"), "weight", (pl.col("cx") == pl.col("cy")).alias("inside")),
                      e.select(pl.col("b").alias("node"), "weight", (pl.col("cx") == pl.col("cy")).alias("inside"))])
    cohesion = both.group_by("node").agg(
        (pl.col("weight").filter(pl.col("inside")).sum() / pl.col("weight").sum()).alias("cohesion"))
    signals = {
        "identifier": detail["shared_identifiers"].explode("accounts").select("community", pl.col("accounts").alias("a")),
        "money": pl.concat([detail["payers"].explode("accounts").select("community", pl.col("accounts").alias("a")),
                            detail["shop_payments"].select("community", "a")]),
        "template": detail["templates"].select("community", "a"),
        "burst": detail["burst_accounts"],
        "five_star": detail["five_star_accounts"],
    }
    out = members.join(cohesion, left_on="a", right_on="node", how="left").join(kept, on="community")
    for name, frame in signals.items():
        out = out.join(frame.unique().with_columns(pl.lit(True).alias(f"in_{name}")), on=["community", "a"], how="left")
    weight = {n: MEMBER_STRENGTH[n] * pl.col(RING_LEVEL[n]).fill_null(0) for n in signals}
    total = pl.sum_horizontal(list(weight.values()))
    earned = pl.sum_horizontal([pl.when(pl.col(f"in_{n}").fill_null(False)).then(w).otherwise(0.0)
                                for n, w in weight.items()])
    participation = pl.when(total > 0).then((earned / total).clip(0, 1)).otherwise(0.0)
    return out.with_columns(
        (participation * (0.5 + 0.5 * pl.col("cohesion").fill_null(0))).round(3).alias("member_score")
    ).select("a", "community", "member_score")
