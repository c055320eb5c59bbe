"""``RingDetector``: candidates from several generators, tested against explicit nulls,
flagged under false-discovery control.

A scikit-learn-like estimator: parameters in ``__init__`` (validated in :meth:`fit`),
``fit`` returns ``self``, fitted results end in ``_``. The steps themselves live in
:mod:`graphfraud.detect.steps`.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from typing import Any

import polars as pl

from ..dataset import Dataset
from ..errors import NotFittedError, ParameterError
from ..graph.layers import GraphParams
from ..graph.money import MoneyParams
from ..graph.prepare import account_frame
from ..rss import StagePeaks
from .communities import Partitioner
from .evidence import Evidence
from .expand import expand as expand_tips
from .report import FAMILY_NAMES, STAT_COLUMNS, ring_tables
from .results import Expansion, Ring
from .steps import Built, Count, Settings, Tested, run


def check_level(level: float | None) -> None:
    """Raise :class:`~graphfraud.errors.ParameterError` unless ``level`` is ``None`` or a p-value in (0, 1).

    A level of 1 or more would call every group around a tip supported, and 0 none.
    """
    if level is not None and not (isinstance(level, (int, float)) and not isinstance(level, bool)
                                  and 0 < level < 1):
        raise ParameterError(f"level={level!r}: must be a p-value in (0, 1), e.g. 0.01.")


class RingDetector:
    """Find collusion rings in a :class:`~graphfraud.dataset.Dataset`.

    Parameters
    ----------
    fdr : float, default 0.01
        False discovery rate: the expected share of flagged rings that are not rings,
        controlled by Benjamini–Hochberg over every candidate tested (weighted by each
        candidate's tie evidence, mean weight 1). The one strictness parameter.
    min_ring_size : int, default 3
        Smallest group that can be a ring.
    max_ring_size : int, default 2000
        Largest candidate tested as one group (larger ones are only split).
    resolution : float, default 1.0
        Leiden resolution of the candidate generators (modularity's own scale).
    segment_size : int, default 16
        Events per stretch of a shop's timeline in the co-activity generator.
    clique_max, hub_max, sparsify_k : int
        Projection limits of the generators (cost bounds, see
        :mod:`graphfraud.graph.projection`).
    max_hops : int, default 4
        How far money is traced upstream through accounts bound to no one.
    seed : int, default 0
        Seeds Leiden and every sample; the same input and seed give the same rings.
    communities : Partitioner, optional
        The candidate generators' community step (see
        :class:`~graphfraud.detect.communities.Partitioner`); default: Leiden in process
        (igraph). ``graphfraud.neo4j.gds.GdsLeiden`` runs it in Neo4j's Graph Data Science.

    Attributes
    ----------
    rings_ : polars.DataFrame
        One row per flagged ring: type, evidence (``-log10 p``), p and q values, every
        family's p-value, the counts behind them, and the reasons.
    membership_ : polars.DataFrame
        ring_id, account_id and each member's own evidence (focus visits, ties).
    candidates_ : polars.DataFrame
        Groups tested and not flagged that could have been: their outcome divided by
        their weight reached the FDR level.
    tests_ : polars.DataFrame
        Every tested candidate with every family's result (for audits and benchmarks).
    evidence_ : Evidence
        Typed evidence subgraph of every flagged ring.
    platform_ : dict
        The platform measurements the nulls are built on.
    layers_ : list of dict
        What each generator layer built and dropped.
    timings_ : dict
        Seconds per stage; ``memory_`` each stage's own peak resident memory (GB), sampled while
        it runs (the process's running maximum where ``/proc`` is absent).

    Examples
    --------
    >>> from graphfraud.synth import synthesize
    >>> res = synthesize(2_000, seed=3)
    >>> det = RingDetector(seed=3).fit(Dataset.from_frames(**res.tables))
    >>> det.rings_.height >= 3
    True
    >>> ring = det.ring(det.rings_["ring_id"][0])
    >>> ring.q_value <= 0.01 and len(ring.reasons) >= 2
    True
    """

    def __init__(self, *, fdr: float = 0.01, min_ring_size: int = 3, max_ring_size: int = 2000,
                 resolution: float = 1.0, segment_size: int = 16, clique_max: int = 64, hub_max: int = 1000,
                 sparsify_k: int = 10, max_hops: int = 4, seed: int = 0,
                 communities: Partitioner | None = None) -> None:
        self.fdr = fdr
        self.min_ring_size = min_ring_size
        self.max_ring_size = max_ring_size
        self.resolution = resolution
        self.segment_size = segment_size
        self.clique_max = clique_max
        self.hub_max = hub_max
        self.sparsify_k = sparsify_k
        self.max_hops = max_hops
        self.seed = seed
        self.communities = communities

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> RingDetector:
        """Change parameters (validated at the next :meth:`fit`); returns ``self``."""
        known = self._param_names()
        for name, value in params.items():
            if name not in known:
                raise ParameterError(f"unknown parameter {name!r}; RingDetector takes {', '.join(known)}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
                    if p.name != "self"}
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"RingDetector({changed})"

    def check(self) -> RingDetector:
        """Raise :class:`~graphfraud.errors.ParameterError` for a bad parameter now.

        :meth:`fit` checks the same; a job that reads files first calls this before reading,
        so a mistyped ``fdr`` costs a second, not the whole load.
        """
        self._validate()
        return self

    def _validate(self) -> Settings:
        def need(ok: bool, name: str, rule: str) -> None:
            if not ok:
                raise ParameterError(f"{name}={getattr(self, name)!r}: must be {rule}.")

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        need(isinstance(self.fdr, (int, float)) and 0 < self.fdr < 1, "fdr", "a rate in (0, 1), e.g. 0.01")
        for name in ("min_ring_size", "max_ring_size", "segment_size", "clique_max", "hub_max", "sparsify_k",
                     "max_hops"):
            need(is_int(getattr(self, name)) and getattr(self, name) >= 1, name, "an integer >= 1")
        need(self.min_ring_size >= 2, "min_ring_size", "an integer >= 2")
        need(self.max_ring_size >= self.min_ring_size, "max_ring_size", f">= min_ring_size ({self.min_ring_size})")
        need(self.segment_size >= 2, "segment_size", "an integer >= 2")
        need(self.clique_max <= self.hub_max, "clique_max", f"<= hub_max ({self.hub_max})")
        need(self.max_hops <= 8, "max_hops", "an integer from 1 to 8")
        need(isinstance(self.resolution, (int, float)) and math.isfinite(self.resolution) and self.resolution > 0,
             "resolution", "a number > 0")
        need(is_int(self.seed), "seed", "an integer")
        return Settings(fdr=float(self.fdr), min_size=self.min_ring_size, max_size=self.max_ring_size,
                        resolution=float(self.resolution), seed=self.seed,
                        graph=GraphParams(segment_size=self.segment_size, clique_max=self.clique_max,
                                          hub_max=self.hub_max, sparsify_k=self.sparsify_k),
                        money=MoneyParams(max_hops=self.max_hops), partition=self.communities)

    # ------------------------------------------------------------------ fit
    def fit(self, dataset: Dataset, progress: Callable[[str], None] | None = None,
            counts: Count | None = None, release: bool = False) -> RingDetector:
        """Prepare, propose candidates, test them, flag rings and collect their evidence.

        Parameters
        ----------
        dataset : Dataset
            Validated tables (from :func:`graphfraud.load_dataset` or ``Dataset.from_frames``).
        progress : callable, optional
            Called with the name of every stage as it starts.
        counts : callable, optional
            Called inside the long stages (layers, candidates, membership, test text) as
            ``counts(stage, done, total, unit)``: ``done`` rises from 0 to ``total`` units
            of that stage's work (layers built, views partitioned, membership steps,
            candidates whose texts were compared). For progress bars with an ETA.
        release : bool, default False
            Drop ``dataset``'s tables once they are coded (:meth:`Dataset.release`; its
            row counts, sources and time zone stay): for a caller that owns the dataset
            and needs nothing more from it, which frees the memory the coded tables do
            not share for the rest of the fit.
        """
        settings = self._validate()
        say = progress or (lambda _m: None)
        timings: dict[str, float] = {}
        memory: dict[str, float] = {}
        running: str | None = None
        since = time.perf_counter()

        def stage(name: str | None) -> None:
            nonlocal running, since
            now = time.perf_counter()
            peak = peaks.lap()
            if running is not None:
                timings[running] = round(timings.get(running, 0.0) + now - since, 3)
                # A stage entered twice reports the larger of its peaks.
                memory[running] = round(max(memory.get(running, 0.0), peak), 3)
            running, since = name, now
            if name is not None:
                say(name)

        with StagePeaks() as peaks:
            state = run(dataset, settings, stage, counts, release)
            stage("evidence")
            self._finish(state.built, state.tested, state.table, state.cores.n)
            self._state, self._settings = state, settings
            stage(None)
        self.timings_ = timings
        self.memory_ = memory
        return self

    def _finish(self, built: Built, tested: Tested, table: pl.DataFrame, n_cores: int) -> None:
        out = ring_tables(built.prep, built.plat, tested.cands, tested.focus, tested.table, tested.member_evidence)
        self.rings_ = out.rings.drop("cid")
        self.membership_ = out.members
        self.evidence_ = out.evidence
        cand = table.filter(~pl.col("flagged")) if "flagged" in table.columns else table.head(0)
        self.candidates_ = cand.sort("p_ring", "cid")
        self.tests_ = table
        self.n_candidates_ = n_cores
        self.layers_ = [layer.stats() for layer in built.layers.values()]
        self.platform_ = built.plat.as_dict()
        self.prepared_ = built.prep
        self._ring_cid = dict(zip(out.rings["ring_id"].to_list(), out.rings["cid"].to_list()))

    def expand(self, tips: list[str], level: float | None = None) -> Expansion:
        """From tips (account, review, order, identifier or shop ids) to the rings behind them.

        Returns an :class:`~graphfraud.detect.results.Expansion`: one answer per tip —
        the flagged ring it belongs to, a group the tests support on its own, or "no ring
        supported" with what was looked at — and the ring tables of the groups measured.
        ``level`` is the p-value a group around a tip must reach on its own (default: the
        detector's ``fdr``: one targeted question needs no correction for thousands).
        """
        self._check_fitted()
        check_level(level)
        if not tips:
            raise ParameterError("give at least one tip: an account, review, order, device, IP, payment, address, "
                                 "phone or shop id.")
        state = self._state
        flagged = (self.membership_.select("ring_id", "account_id")
                   .join(account_frame(state.built.prep).select("a", "account_id"), on="account_id"))
        raw = expand_tips(state, self._settings, flagged.select("ring_id", "a"), [str(t) for t in tips], level=level)
        local = ring_tables(state.built.prep, state.built.plat, raw.groups, raw.focus, raw.results,
                            raw.member_evidence) if raw.groups.n else None
        table = raw.table
        if local is not None:
            table = table.join(local.rings.select("cid", pl.col("ring_id").alias("group_id")), on="cid", how="left")
            table = table.with_columns(pl.coalesce("ring_id", "group_id").alias("ring_id")).drop("group_id")
        return Expansion(table.drop("cid"), local)

    # ------------------------------------------------------------------ accessors
    def _check_fitted(self) -> None:
        if not hasattr(self, "rings_"):
            raise NotFittedError("this RingDetector is not fitted yet; call fit(dataset) first.")

    def ring(self, ring_id: str) -> Ring:
        """The typed :class:`Ring` for a flagged ``ring_id``."""
        self._check_fitted()
        row = self.rings_.filter(pl.col("ring_id") == ring_id)
        if row.height == 0:
            known = ", ".join(self.rings_["ring_id"].head(3).to_list()) or "none"
            raise ParameterError(f"no flagged ring {ring_id!r}; rings_ lists them (e.g. {known}).")
        r = row.row(0, named=True)
        members = self.membership_.filter(pl.col("ring_id") == ring_id)["account_id"].to_list()
        shops = self.evidence_.ring(ring_id).nodes.filter(pl.col("role") == "focus shop")["key"].to_list()
        return Ring(ring_id=ring_id, ring_type=r["ring_type"], evidence=r["evidence"], p_value=r["p_ring"],
                    q_value=r["q_ring"], n_accounts=r["n_accounts"],
                    families={f: r[f"p_{f}"] for f in FAMILY_NAMES if r.get(f"p_{f}") is not None},
                    reasons=r["reasons"].split("; ") if r["reasons"] else [], members=members, shops=shops,
                    stats={k: r[k] for k in STAT_COLUMNS if r.get(k) is not None})

    def evidence(self, ring_id: str) -> Evidence:
        """Typed evidence subgraph of one flagged ring."""
        self.ring(ring_id)
        return self.evidence_.ring(ring_id)

    def summary(self) -> dict[str, Any]:
        """Parameters, platform measurements, layers, counts and timings (a copy)."""
        self._check_fitted()
        # A community engine is recorded by its name: manifests are JSON.
        params = {**self.get_params(), "communities": getattr(self.communities, "name", "igraph")}
        return {"params": params, "platform": dict(self.platform_), "layers": [dict(x) for x in self.layers_],
                "candidates_tested": self.n_candidates_, "rings": self.rings_.height,
                "flagged_accounts": self.membership_.height, "timings_s": dict(self.timings_),
                "peak_memory_gb": dict(self.memory_)}
