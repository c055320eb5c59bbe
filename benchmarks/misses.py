"""Where the planted rings of the tactic zoo are lost: generation, membership or the tests.

Usage::

    uv run python benchmarks/misses.py [--sizes 20000] [--seeds 0 1] [--review-only]
                                       [--families review_ring experience_officer ...]

Runs the detector's steps one by one (``graphfraud.detect.steps``) with its defaults and
prints, for every planted ring of the chosen families, the best Jaccard index of any
candidate with it as proposed by a generator, after membership (the candidates tested)
and among the final rings; for the best tested candidate its outcome and tie p-values,
weight and q-value, and the p-values of the rating and refund families. Every family is
measured on every candidate here (the detector skips the text family where a candidate
cannot be flagged), so ``p_tie`` is the one the decision would use at most.

``lost at`` says where the ring goes missing: ``generation`` (no candidate at Jaccard
>= 0.5), ``membership`` (a proposed candidate matches, its tested core does not),
``outcome`` or ``tie`` (the weaker part of ``p_ring``, for a tested candidate that
matches and is not flagged), ``resolution`` (a flagged candidate matches, no final ring
does), or ``found``.
"""

from __future__ import annotations

import argparse
import time

import polars as pl

from graphfraud.dataset import Dataset
from graphfraud.detect import steps
from graphfraud.detect.candidates import Candidates
from graphfraud.detect.combine import combine, tie_weights
from graphfraud.detect.detector import RingDetector
from graphfraud.detect.families import Inputs, registry
from graphfraud.graph.prepare import account_frame
from graphfraud.synth.zoo import synthesize_zoo

FOUND = 0.5  # Jaccard at which a planted ring counts as found (graphfraud.evaluate)


def best_match(truth: pl.DataFrame, members: pl.DataFrame, name: str) -> pl.DataFrame:
    """(ring_id, <name>_cid, J_<name>): each planted ring's best candidate by Jaccard."""
    size_c = members.group_by("cid").agg(pl.len().alias("n_c"))
    size_t = truth.group_by("ring_id").agg(pl.len().alias("n_t"))
    j = (truth.select("ring_id", "a").join(members, on="a").group_by("ring_id", "cid").agg(pl.len().alias("i"))
         .join(size_c, on="cid").join(size_t, on="ring_id")
         .with_columns((pl.col("i") / (pl.col("n_c") + pl.col("n_t") - pl.col("i"))).alias("J")))
    return (j.sort("J", "cid", descending=[True, False]).group_by("ring_id", maintain_order=True).first()
            .select("ring_id", pl.col("cid").alias(f"{name}_cid"), pl.col("J").round(2).alias(f"J_{name}")))


def diagnose(size: int, seed: int, review_only: bool, families: list[str]) -> pl.DataFrame:
    res = synthesize_zoo(size, seed=seed, review_only=review_only)
    truth = res.ring_members.filter(pl.col("ring_kind").is_in(families))
    market = f"{'reviews-only ' if review_only else ''}{size:,}/seed {seed}"
    return diagnose_market(Dataset.from_frames(**res.tables), truth, market)


def diagnose_yelp(name: str, rings: int, seed: int) -> pl.DataFrame:
    """The same table for the ``hard`` rings of ``benchmarks/yelp.py`` injected into a Yelp file."""
    from quality import DEFAULT_YELP, read_yelp, yelp_dataset
    from yelp import inject_hard

    real = read_yelp(DEFAULT_YELP / f"{name}.metadata.gz")
    inj, truth = inject_hard(real, rings, seed)
    return diagnose_market(yelp_dataset(real, inj), truth, f"{name} hard")


def diagnose_market(ds: Dataset, planted: pl.DataFrame, market: str) -> pl.DataFrame:
    """Per planted ring (``planted``: ring_id, ring_kind, account_id): where it is lost.

    Besides the Jaccard indices and the best tested candidate's p-values: how many of the
    ring's members (``held``) and of its campaign reviews (``reviews_held``: reviews of its
    members at the shops three or more of them reviewed) that candidate holds at its focus
    shops, the five-star reviews observed and expected there, and ``p_needed``, the
    ``p_ring`` the weighted BH step would have flagged it at (``fdr · w · (R + 1) / N``,
    ``R`` candidates flagged of ``N`` tested).
    """
    settings = RingDetector(seed=0)._validate()

    def quiet(_m: str) -> None:
        return None

    built = steps.build(ds, settings, quiet)
    proposed, graph = steps.propose(built, settings, quiet)
    cores, focus, _ = steps.refine(built, proposed, settings)
    tested = steps.test(built, cores, focus, settings, quiet)
    final = steps.resolve(built, cores, tested, graph, settings, quiet)
    # Every family on every tested candidate, with the detector's weights.
    fams = registry()
    table = cores.sources
    inp = Inputs(built.prep, built.plat, cores, focus)
    for fam in fams:
        table = table.join(fam.test(inp), on="cid", how="left")
    ties = [f"p_{f.name}" for f in fams if f.role == "corroboration"]
    weights = tie_weights(table, [f"p_{f.name}" for f in fams if f.role == "corroboration" and f.everywhere])
    full = combine(table, outcome=[f"p_{f.name}" for f in fams if f.role == "outcome"], ties=ties,
                   fdr=settings.fdr, weights=weights)
    n_flagged = int(tested["flagged"].sum())
    full = full.with_columns((settings.fdr * pl.col("weight") * (n_flagged + 1) / full.height).alias("p_needed"))
    flagged = Candidates(cores.members, cores.sources).subset(tested.filter("flagged")["cid"])
    ids = account_frame(built.prep).select("a", "account_id")
    truth = planted.join(ids, on="account_id")
    rings = truth.group_by("ring_id", "ring_kind").agg(pl.len().alias("size"))
    # Campaign reviews: the ring's reviews at shops three or more of its members reviewed.
    rv = built.prep.reviews.select("a", "m").join(truth.select("ring_id", "a"), on="a")
    campaign = rv.join(rv.group_by("ring_id", "m").agg(pl.col("a").n_unique().alias("k")).filter(pl.col("k") >= 3)
                       .select("ring_id", "m"), on=["ring_id", "m"])
    core_best = best_match(truth, cores.members, "core")
    held = (core_best.join(cores.members.rename({"cid": "core_cid"}), on="core_cid")
            .join(truth.select("ring_id", "a"), on=["ring_id", "a"]))
    held_n = held.group_by("ring_id").agg(pl.len().alias("held"))
    reviews_held = (campaign.join(held.select("ring_id", "core_cid", "a"), on=["ring_id", "a"])
                    .join(focus.select(pl.col("cid").alias("core_cid"), "m"), on=["core_cid", "m"])
                    .group_by("ring_id").agg(pl.len().alias("reviews_held")))
    out = (rings.join(best_match(truth, proposed.members, "gen"), on="ring_id", how="left")
           .join(proposed.sources.select(pl.col("cid").alias("gen_cid"), pl.col("source").alias("generator")),
                 on="gen_cid", how="left")
           .join(core_best, on="ring_id", how="left")
           .join(best_match(truth, flagged.members, "flagged"), on="ring_id", how="left")
           .join(best_match(truth, final.cands.members, "final"), on="ring_id", how="left")
           .join(held_n, on="ring_id", how="left")
           .join(campaign.group_by("ring_id").agg(pl.len().alias("reviews")), on="ring_id", how="left")
           .join(reviews_held, on="ring_id", how="left")
           .join(full.select(pl.col("cid").alias("core_cid"), "p_outcome", "p_tie", "weight", "q_ring", "p_needed",
                             "p_rating", "rating_top_obs", "rating_top_exp", "rating_reviews",
                             *(["p_refund"] if "p_refund" in full.columns else [])), on="core_cid", how="left")
           .with_columns(pl.col(c).fill_null(0.0) for c in ("J_gen", "J_core", "J_flagged", "J_final"))
           .with_columns(pl.col(c).fill_null(0) for c in ("held", "reviews", "reviews_held")))
    lost = (pl.when(pl.col("J_final") >= FOUND).then(pl.lit("found"))
            .when(pl.col("J_flagged") >= FOUND).then(pl.lit("resolution"))
            .when(pl.col("J_core") >= FOUND).then(pl.when(pl.col("p_outcome") >= pl.col("p_tie"))
                                                  .then(pl.lit("outcome")).otherwise(pl.lit("tie")))
            .when(pl.col("J_gen") >= FOUND).then(pl.lit("membership"))
            .otherwise(pl.lit("generation")))
    print(f"{market}: {full.height} candidates tested, {n_flagged} flagged", flush=True)
    return (out.with_columns(lost.alias("lost at"), pl.lit(market).alias("market"))
            .drop("gen_cid", "core_cid").sort("ring_kind", "ring_id"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--review-only", action="store_true", help="the review-only zoo")
    ap.add_argument("--yelp", nargs="*", metavar="NAME",
                    help="the hard injected rings of benchmarks/yelp.py in these Yelp files instead of the zoo "
                         "(YelpChi YelpNYC when none is named), injected with the first of --seeds only")
    ap.add_argument("--rings", type=int, default=20, help="hard rings injected per Yelp file")
    ap.add_argument("--csv", metavar="PATH", help="also write the whole table, every column, to PATH")
    ap.add_argument("--families", nargs="+",
                    default=["review_ring", "task_platform", "experience_officer", "merchant_alliance"])
    args = ap.parse_args()
    started = time.perf_counter()
    if args.yelp is not None:
        frames = [diagnose_yelp(name, args.rings, seed) for name in (args.yelp or ["YelpChi", "YelpNYC"])
                  for seed in args.seeds[:1]]
    else:
        frames = [diagnose(size, seed, args.review_only, args.families) for size in args.sizes for seed in args.seeds]
    table = pl.concat(frames)
    if args.csv:
        table.write_csv(args.csv)
    # p-values span hundreds of orders of magnitude: two significant digits each.
    pcols = [c for c in ("p_outcome", "p_tie", "q_ring", "p_needed", "p_rating", "p_refund") if c in table.columns]
    table = table.with_columns(pl.col(c).map_elements(lambda x: f"{x:.1e}", return_dtype=pl.String) for c in pcols)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=240, float_precision=3, fmt_str_lengths=30,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(table.select("market", "ring_id", "size", "generator", "J_gen", "J_core", "J_flagged", "J_final",
                           "held", "reviews", "reviews_held", "rating_reviews", "rating_top_obs",
                           pl.col("rating_top_exp").round(1), "p_outcome", "p_tie", "weight", "q_ring", "p_needed",
                           "p_rating",
                           *(["p_refund"] if "p_refund" in table.columns else []), "lost at"))
        print(table.group_by("ring_kind", "lost at").len().sort("ring_kind", "lost at"))
    print(f"\ntotal {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
