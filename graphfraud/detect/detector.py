"""``RingDetector``: candidates from several generators, tested against explicit nulls,
flagged under false-discovery control.

A scikit-learn-like estimator: parameters in ``__init__`` (validated in :meth:`fit`),
``fit`` returns ``self``, fitted results end in ``_``. The steps themselves live in
:mod:`graphfraud.detect.steps`.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import resource
import time
from typing import Any, Callable

import polars as pl

from ..dataset import Dataset
from ..errors import NotFittedError, ParameterError
from ..graph.layers import GraphParams
from ..graph.money import MoneyParams
from ..graph.prepare import Prepared, account_frame
from .evidence import Evidence, build as build_evidence
from .families import registry
from .families.infra import shared_values
from .families import Inputs
from .reasons import reasons
from .results import Ring
from .steps import Settings, run
from .typology import ring_type

FAMILY_NAMES: tuple[str, ...] = tuple(f.name for f in registry())
#: Counts kept in rings.csv beside the p-values (what the reasons quote).
STAT_COLUMNS: tuple[str, ...] = (
    "rating_reviews", "rating_shops", "rating_top_obs", "rating_top_exp", "rating_low_obs", "rating_low_exp",
    "refund_receipts", "refund_matched", "refund_at_focus", "refund_placebo", "refund_members", "refund_payers",
    "sales_orders", "sales_shop_paid", "sales_expected", "payback_orders", "payback_paid", "payback_expected",
    "likes_given", "likes_inside", "likes_expected", "sync_shops", "sync_tested", "sync_scale_h",
    "infra_members", "infra_strong", "infra_kind", "infra_k", "infra_users", "text_compared", "text_closer",
    "money_k", "money_receivers", "money_recipients", "money_hops", "money_shop_depth",
    "money_from_focus_shops", "median_account_age_days",
    "batch_members", "dated_members", "batch_window_h", "staff_members", "staff_shops", "staff_of_focus")
RING_COLUMNS: tuple[str, ...] = ("ring_id", "ring_type", "evidence", "p_ring", "q_ring", "n_accounts", "n_shops",
                                 "orders", *(f"p_{f}" for f in FAMILY_NAMES), "p_outcome", "p_tie", *STAT_COLUMNS,
                                 "generator", "type_reason", "reasons")
MEMBER_COLUMNS: tuple[str, ...] = ("ring_id", "account_id", "member_evidence", "focus_visits", "ties")


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux


class RingDetector:
    """Find collusion rings in a :class:`~graphfraud.dataset.Dataset`.

    Parameters
    ----------
    fdr : float, default 0.01
        False discovery rate: the expected share of flagged rings that are not rings,
        controlled by Benjamini–Hochberg over every candidate tested. The one
        strictness parameter.
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

    Attributes
    ----------
    rings_ : polars.DataFrame
        One row per flagged ring: type, evidence (``-log10 p``), p and q values, every
        family's p-value, the counts behind them, and the reasons.
    membership_ : polars.DataFrame
        ring_id, account_id and each member's own evidence (focus visits, ties).
    candidates_ : polars.DataFrame
        Groups tested and not flagged whose outcome alone reached the FDR level.
    tests_ : polars.DataFrame
        Every tested candidate with every family's result (for audits and benchmarks).
    evidence_ : Evidence
        Typed evidence subgraph of every flagged ring.
    platform_ : dict
        The platform measurements the nulls are built on.
    layers_ : list of dict
        What each generator layer built and dropped.
    timings_ : dict
        Seconds per stage; ``memory_`` the peak resident memory (GB) at each stage's end.

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
                 sparsify_k: int = 10, max_hops: int = 4, seed: int = 0) -> None:
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
                        money=MoneyParams(max_hops=self.max_hops))

    # ------------------------------------------------------------------ fit
    def fit(self, dataset: Dataset, progress: Callable[[str], None] | None = None) -> RingDetector:
        """Prepare, propose candidates, test them, flag rings and collect their evidence.

        Parameters
        ----------
        dataset : Dataset
            Validated tables (from :func:`graphfraud.load_dataset` or ``Dataset.from_frames``).
        progress : callable, optional
            Called with the name of every stage as it starts.
        """
        settings = self._validate()
        say = progress or (lambda _m: None)
        timings: dict[str, float] = {}
        memory: dict[str, float] = {}
        clock = {"name": None, "t": time.perf_counter()}

        def stage(name: str | None) -> None:
            now = time.perf_counter()
            if clock["name"] is not None:
                timings[clock["name"]] = round(timings.get(clock["name"], 0.0) + now - clock["t"], 3)
                memory[clock["name"]] = round(_peak_gb(), 3)
            clock.update(name=name, t=now)
            if name is not None:
                say(name)

        built, cores, tested, table = run(dataset, settings, stage)
        stage("evidence")
        self._finish(built, tested, table, cores.n)
        stage(None)
        self.timings_ = timings
        self.memory_ = memory
        return self

    def _finish(self, built, tested, table: pl.DataFrame, n_cores: int) -> None:
        prep: Prepared = built.prep
        ids = account_frame(prep).select("a", "account_id")
        members = tested.cands.members.join(ids, on="a")
        keys = members.group_by("cid").agg(pl.col("account_id").sort().str.join(",").alias("key"))
        keys = keys.with_columns(pl.col("key").map_elements(
            lambda s: "R-" + hashlib.sha1(s.encode()).hexdigest()[:10], return_dtype=pl.String).alias("ring_id"))
        orders = tested.cands.members.join(prep.orders.select("a", "m"), on="a").join(
            tested.focus.select("cid", "m"), on=["cid", "m"]).group_by("cid").agg(pl.len().alias("orders"))
        n_shops = tested.focus.group_by("cid").agg(pl.len().alias("n_shops"))
        # Descriptive: how old the accounts were when they first acted at the focus shops.
        first = (tested.cands.members.join(prep.events(), on="a").join(tested.focus.select("cid", "m"), on=["cid", "m"])
                 .group_by("cid", "a").agg(pl.col("t").min()).join(account_frame(prep).select("a", "created"), on="a")
                 .filter(pl.col("created").is_not_null())
                 .group_by("cid").agg(((pl.col("t") - pl.col("created")) / 86_400).median().round(1)
                                      .alias("median_account_age_days")))
        rings = (tested.table.join(keys.select("cid", "ring_id"), on="cid").join(orders, on="cid", how="left")
                 .join(n_shops, on="cid", how="left").join(first, on="cid", how="left")
                 .with_columns(pl.col("orders").fill_null(0), pl.col("n_shops").fill_null(0),
                               pl.col("size").alias("n_accounts"), pl.col("source").alias("generator"),
                               (-pl.col("p_ring").clip(1e-300, 1).log10()).round(2).alias("evidence")))
        rows = rings.to_dicts()
        labels = [ring_type(r) for r in rows]
        texts = ["; ".join(s for _, _, s in reasons(r)) for r in rows]
        rings = rings.with_columns(pl.Series("ring_type", [lab for lab, _ in labels], dtype=pl.String),
                                   pl.Series("type_reason", [why for _, why in labels], dtype=pl.String),
                                   pl.Series("reasons", texts, dtype=pl.String))
        for col in RING_COLUMNS:
            if col not in rings.columns:
                rings = rings.with_columns(pl.lit(None).alias(col))
        rings = rings.sort(["p_ring", "n_accounts", "ring_id"], descending=[False, True, False])
        self._cid = dict(zip(rings["ring_id"].to_list(), rings["cid"].to_list()))
        self.rings_ = rings.select(RING_COLUMNS)
        order = rings.select("cid", "ring_id").with_row_index("rank")
        mev = tested.member_evidence.join(ids, on="a")
        self.membership_ = (members.join(order, on="cid").join(mev, on=["cid", "a", "account_id"], how="left")
                            .with_columns((-pl.col("presence_p").clip(1e-300, 1).log10()).round(2)
                                          .alias("member_evidence"))
                            .sort("rank", "account_id").select(MEMBER_COLUMNS))
        cand = table.filter(~pl.col("flagged")) if "flagged" in table.columns else table.head(0)
        self.candidates_ = cand.sort("p_ring", "cid")
        self.tests_ = table
        self.n_candidates_ = n_cores
        self.layers_ = [layer.stats() for layer in built.layers.values()]
        self.platform_ = built.plat.as_dict()
        self.prepared_ = prep
        ring_members = members.join(order.select("cid", "ring_id"), on="cid").select("ring_id", "cid", "a")
        shared = shared_values(Inputs(prep, built.plat, tested.cands, tested.focus))
        self.evidence_ = build_evidence(prep, built.plat, ring_members, tested.focus, tested.member_evidence, shared)
        self._built, self._tested = built, tested

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

    def summary(self) -> dict:
        """Parameters, platform measurements, layers, counts and timings (a copy)."""
        self._check_fitted()
        return {"params": self.get_params(), "platform": dict(self.platform_), "layers": [dict(x) for x in self.layers_],
                "candidates_tested": self.n_candidates_, "rings": self.rings_.height,
                "flagged_accounts": self.membership_.height, "timings_s": dict(self.timings_),
                "peak_memory_gb": dict(self.memory_)}
