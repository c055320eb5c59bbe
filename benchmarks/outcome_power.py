"""Where the power on small, slow review rings is lost: every candidate's tests, and the
false-discovery schemes that could use them.

Usage::

    uv run python benchmarks/outcome_power.py [--data YelpChi YelpNYC] [--rings 20] [--seed 0] [--fdr 0.01]

Injects the ``hard`` rings of ``benchmarks/yelp.py`` into each Yelp file, runs the
detector's steps with every family measured on *every* candidate (not only on those whose
outcome reaches the FDR level), and prints

* per injected ring, its best candidate (Jaccard >= 0.5): reviews, the rating family's two
  scores, the tie evidence;
* how the real candidates (Jaccard < 0.2 with every ring) rate: the share rating their
  focus shops above the shops' others, and the share of each score's p-values below 0.05
  (a calibrated null on groups that are no rings would give 0.05);
* rings and real candidates flagged at ``--fdr`` by decision rules that stay valid when
  the outcome's p-values are independent of the tie data: plain Benjamini–Hochberg on
  ``p_ring`` over every candidate; BH on the outcome within the candidates whose tie
  evidence passes a Bonferroni screen; weighted BH (Genovese, Roeder & Wasserman 2006)
  with weights from the tie evidence, mean 1 — ``-log10 p_tie`` is the detector's rule
  (here over every tie family; the detector leaves text out of the weights), its square
  for comparison; and plain BH at 5 and 10 times the level, for scale.

A ring counts as found when one of its candidates at Jaccard >= 0.5 is flagged; this is a
candidate-level view (the detector then merges flagged candidates into rings).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import polars as pl
from quality import DEFAULT_YELP, read_yelp, yelp_dataset
from yelp import inject_hard

from graphfraud.detect import steps
from graphfraud.detect.detector import RingDetector
from graphfraud.detect.stats import bh, log10p
from graphfraud.graph.prepare import account_frame


def candidate_table(name: str, rings: int, seed: int) -> pl.DataFrame:
    """Every candidate with every family's result and its best match to an injected ring."""
    real = read_yelp(DEFAULT_YELP / f"{name}.metadata.gz")
    inj, truth = inject_hard(real, rings, seed)
    settings = RingDetector(seed=seed)._validate()
    quiet = lambda _m: None  # noqa: E731
    built = steps.build(yelp_dataset(real, inj), settings, quiet)
    cands, _ = steps.propose(built, settings, quiet)
    cores, focus, _ = steps.refine(built, cands, settings)
    table = steps.test(built, cores, focus, replace(settings, fdr=1.0), quiet)
    members = (cores.members.join(account_frame(built.prep).select("a", "account_id"), on="a")
               .join(truth.select("account_id", "ring_id"), on="account_id", how="left"))
    size = members.group_by("cid").agg(pl.len().alias("n"))
    ring_size = truth.group_by("ring_id").agg(pl.len().alias("r"))
    best = (members.drop_nulls("ring_id").group_by("cid", "ring_id").agg(pl.len().alias("k"))
            .join(size, on="cid").join(ring_size, on="ring_id")
            .with_columns((pl.col("k") / (pl.col("n") + pl.col("r") - pl.col("k"))).alias("jaccard"))
            .sort("cid", "jaccard", "ring_id", descending=[False, True, False]).unique("cid", keep="first"))
    return table.join(best.select("cid", "ring_id", "jaccard"), on="cid", how="left").with_columns(
        pl.col("jaccard").fill_null(0.0))


def flagged(t: pl.DataFrame, keep: np.ndarray) -> tuple[int, int]:
    """(injected rings with a flagged candidate, real candidates flagged)."""
    ring = t["jaccard"].to_numpy() >= 0.5
    real = t["jaccard"].to_numpy() < 0.2
    found = t.filter(pl.Series(keep & ring))["ring_id"].n_unique()
    return found, int((keep & real).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["YelpChi", "YelpNYC"])
    ap.add_argument("--rings", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fdr", type=float, default=0.01)
    args = ap.parse_args()
    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_width_chars(200)
    for name in args.data:
        if not (DEFAULT_YELP / f"{name}.metadata.gz").exists():
            print(f"(skipping {name}: not found in {DEFAULT_YELP})")
            continue
        t = candidate_table(name, args.rings, args.seed)
        n = t.height
        p_out = t["p_outcome"].fill_null(1.0).to_numpy()
        p_tie = t["p_tie"].fill_null(1.0).to_numpy()
        p_ring = np.maximum(p_out, p_tie)
        print(f"\n== {name}: {n} candidates, {args.rings} hard rings injected (seed {args.seed})")
        best = (t.filter(pl.col("jaccard") >= 0.5).sort("ring_id", "p_ring", "cid").unique("ring_id", keep="first")
                .sort("ring_id"))
        print(best.select("ring_id", pl.col("jaccard").round(2), "size", "rating_reviews", "rating_top_obs",
                          pl.col("rating_top_exp").round(1), "rating_low_obs", pl.col("rating_low_exp").round(1),
                          "rating_shift", "p_rating", "p_tie"))
        real = t.filter(pl.col("jaccard") < 0.2).drop_nulls("p_rating")
        shift = real["rating_shift"].to_numpy()
        print(f"   median tie evidence (-log10 p_tie): injected rings' best candidates "
              f"{float(np.median(log10p(best['p_tie'].fill_null(1.0).to_numpy()))):.1f}, real candidates "
              f"{float(np.median(log10p(real['p_tie'].fill_null(1.0).to_numpy()))):.1f}")
        print(f"   real candidates: {real.height}; rating their focus shops above the shops' others: "
              f"{(shift > 0).mean():.2f} (below: {(shift < 0).mean():.2f}); rating p-values below 0.05: "
              f"{(real['p_rating'] < 0.05).mean():.3f}, below 0.01: {(real['p_rating'] < 0.01).mean():.3f}")
        q = args.fdr
        rules: list[tuple[str, np.ndarray]] = [("plain BH on p_ring, all candidates", bh(p_ring) <= q)]
        screen = p_tie <= q / n
        within = np.ones(n)
        within[screen] = bh(p_out[screen])
        rules.append((f"BH on p_outcome within the tie screen p_tie <= fdr/N ({screen.sum()} candidates)",
                      within <= q))
        evidence = log10p(p_tie)
        for label, w in (("weighted BH, weights ∝ -log10 p_tie (the detector)", evidence),
                         ("weighted BH, weights ∝ (-log10 p_tie)²", evidence ** 2)):
            w = w / w.mean()
            keep = bh(np.minimum(1.0, p_ring / np.maximum(w, 1e-300))) <= q
            rules.append((label, keep))
        for mult in (5, 10):
            rules.append((f"plain BH on p_ring at {mult} × fdr", bh(p_ring) <= mult * q))
        print(f"   {'rule at fdr=' + str(q):<72} {'rings':>5} {'real candidates':>16}")
        for label, keep in rules:
            found, wrong = flagged(t, keep)
            print(f"   {label:<72} {found:>5} {wrong:>16}")


if __name__ == "__main__":
    main()
