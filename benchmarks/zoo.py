"""Detection on the tactic zoo: graphfraud beside FRAUDAR and naive shared-identifier
components, per tactic family, with a leave-one-family-out protocol.

Usage::

    uv sync --extra benchmark          # FRAUDAR (rgmining-fraudar) is a benchmark-only extra
    uv run python benchmarks/zoo.py [--sizes 20000] [--seeds 0 1] [--grid fdr=0.001,0.01,0.05]

For every method, on the pooled markets (every size and seed), prints per tactic family
the ring recall (a planted ring counts as found when a flagged ring has Jaccard >= 0.5
with it), account precision / recall / F1, per look-alike family the share of its
accounts flagged, and the share of all look-alike accounts flagged. Then:

* leave-one-family-out: with ``--grid`` (RingDetector keyword arguments; several
  ``--grid`` options form their product; none means defaults only), for each tactic
  family the grid point is chosen on the *other* families (mean ring recall minus
  ``--penalty`` times the look-alike share flagged above 0.5%), and the held-out family's
  recall at that point is reported, beside the best recall any grid point reaches on it;
* the same on the review-only zoo (accounts, merchants, reviews only);
* the best single-column AUC per family (how far one per-account column alone separates
  each family; the zoo is built so that none is near 1).

Peers: FRAUDAR (Hooi et al., KDD 2016) on the account x shop matrix, as many blocks as
there are planted rings; naive components link accounts that share any device, payment
account, address, phone or IP used by at most ``--cap`` accounts, and flag every connected
component of at least 3 accounts.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass

import numpy as np
import polars as pl
from quality import fraudar_blocks
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from graphfraud.dataset import Dataset
from graphfraud.detect.detector import RingDetector
from graphfraud.evaluate import Evaluation, evaluate
from graphfraud.schema import IDENTIFIER_KINDS
from graphfraud.synth.zoo import LOOKALIKES, TACTICS, single_column_auc, synthesize_zoo

BENIGN_LIMIT = 0.005
EMPTY = pl.DataFrame(schema={"ring_id": pl.String, "account_id": pl.String})


# ------------------------------------------------------------------ naive peer
#: (table, column, kind) for every identifier the schema declares.
IDENTIFIERS = tuple((table, column, kind.name) for kind in IDENTIFIER_KINDS for table, column in kind.sources)
#: The ring type graphfraud should give each tactic family (for the typology check).
EXPECTED_TYPE = {"device_farm": "device farm", "aged_takeover": "bought aged accounts",
                 "slow_drip_studio": "slow-drip studio", "experience_officer": "recruited reviewers (refunded)",
                 "task_platform": "task platform", "layered_cashback": "layered cashback",
                 "merchant_alliance": "merchant alliance", "self_brushing": "merchant self-brushing",
                 "insider_subsidy": "insider collusion", "review_ring": "review-only ring"}


def shared_identifier_rings(tables: dict[str, pl.DataFrame], cap: int = 20, min_size: int = 3) -> pl.DataFrame:
    """Connected components of accounts linked by any identifier shared by 2..``cap`` accounts."""
    parts = [tables[t].select("account_id", pl.concat_str([pl.lit(kind + ":"), pl.col(c)]).alias("key"))
             for t, c, kind in IDENTIFIERS if t in tables and c in tables[t].columns]
    if not parts:
        return EMPTY
    links = pl.concat(parts).drop_nulls().unique()
    links = links.filter(pl.len().over("key").is_between(2, cap))
    if not links.height:
        return EMPTY
    acc = links["account_id"].unique().sort()
    keys = links["key"].unique().sort()
    a = acc.search_sorted(links["account_id"]).to_numpy()
    k = keys.search_sorted(links["key"]).to_numpy() + len(acc)
    n = len(acc) + len(keys)
    graph = sparse.coo_matrix((np.ones(len(a)), (a, k)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    comp = pl.DataFrame({"account_id": acc, "comp": label[: len(acc)]})
    comp = comp.filter(pl.len().over("comp") >= min_size)
    return comp.select(pl.format("N{}", "comp").alias("ring_id"), "account_id")


# ------------------------------------------------------------------ markets and runs
@dataclass
class Market:
    label: str
    tables: dict[str, pl.DataFrame]
    truth: pl.DataFrame
    benign: pl.DataFrame


def markets(sizes: list[int], seeds: list[int], review_only: bool) -> list[Market]:
    out = []
    for size in sizes:
        for seed in seeds:
            t = time.perf_counter()
            res = synthesize_zoo(size, seed=seed, review_only=review_only)
            label = f"{'reviews-only ' if review_only else ''}{size:,}/seed {seed}"
            print(f"   synthesised {label}: {res.tables['accounts'].height:,} accounts, "
                  f"{res.ring_members['ring_id'].n_unique()} rings in {time.perf_counter() - t:.1f}s")
            out.append(Market(label, res.tables, res.ring_members, res.benign_groups))
    return out


def pooled(found: list[pl.DataFrame], ms: list[Market]) -> Evaluation:
    """One evaluation over several markets (ids prefixed by market so they cannot collide)."""
    def tag(frame: pl.DataFrame, i: int, cols: tuple[str, ...]) -> pl.DataFrame:
        return frame.with_columns(pl.format("{}|{}", pl.lit(i), pl.col(c)).alias(c) for c in cols)

    membership = pl.concat([tag(f.select("ring_id", "account_id"), i, ("ring_id", "account_id"))
                            for i, f in enumerate(found)])
    truth = pl.concat([tag(m.truth, i, ("ring_id", "account_id")) for i, m in enumerate(ms)])
    benign = pl.concat([tag(m.benign, i, ("group_id", "account_id")) for i, m in enumerate(ms)])
    return evaluate(membership, truth, benign)


#: What a ring in a market of reviews alone should be called, whatever its tactic: without
#: orders, devices or money nothing in the data tells a device farm from a writers' ring.
REVIEW_ONLY_TYPE = "review-only ring"
#: (planted family, ring type given, type expected) of every found ring, over every graphfraud run.
TYPES: list[tuple[str, str, str]] = []


def graphfraud_rings(m: Market, seed: int, params: dict) -> pl.DataFrame:
    det = RingDetector(seed=seed, **params).fit(Dataset.from_frames(**m.tables))
    # The planted family of each flagged ring (by its members' majority), for the typology check.
    kinds = (det.membership_.join(m.truth.select("account_id", "ring_kind"), on="account_id")
             .group_by("ring_id").agg(pl.col("ring_kind").mode().first(), pl.len().alias("k"))
             .join(det.rings_.select("ring_id", "ring_type", "n_accounts"), on="ring_id")
             .filter(pl.col("k") >= 0.5 * pl.col("n_accounts")))
    orders = m.tables.get("orders")
    has_orders = orders is not None and orders.height > 0
    TYPES.extend((kind, given, EXPECTED_TYPE[kind] if has_orders else REVIEW_ONLY_TYPE)
                 for kind, given in kinds.select("ring_kind", "ring_type").iter_rows())
    return det.membership_.select("ring_id", "account_id")


def typology(title: str) -> None:
    """How often the ring type agrees with the planted family, over the rings found."""
    if not TYPES:
        return
    frame = pl.DataFrame(TYPES, schema={"family": pl.String, "ring_type": pl.String, "expected": pl.String},
                         orient="row")
    frame = frame.with_columns((pl.col("ring_type") == pl.col("expected")).alias("ok"))
    print(f"\n== ring types against the planted family, {title}: {frame['ok'].mean():.1%} of "
          f"{frame.height} found rings agree")
    for r in frame.group_by("family").agg(pl.col("ok").mean(), pl.len(), pl.col("ring_type").mode().first())\
            .sort("family").iter_rows(named=True):
        print(f"   {r['family']:<20} {r['len']:>4} rings  {r['ok']:>6.1%} agree  (most often: {r['ring_type']})")
    TYPES.clear()


def run_method(ms: list[Market], find) -> tuple[Evaluation, float]:
    """Run ``find(market)`` on every market; pooled evaluation and seconds spent."""
    t = time.perf_counter()
    found = [find(m) for m in ms]
    secs = time.perf_counter() - t
    return pooled(found, ms), secs


# ------------------------------------------------------------------ reporting
def recall_of(ev: Evaluation) -> dict[str, float]:
    return dict(zip(ev.per_kind["ring_kind"], ev.per_kind["ring_recall"]))


def benign_share(ev: Evaluation) -> float:
    b = ev.benign_flagged
    return float(b["flagged"].sum() / b["accounts"].sum()) if b.height else 0.0


def report(title: str, ev: Evaluation, secs: float) -> None:
    print(f"\n== {title}  ({secs:.1f}s)")
    rows = {r["ring_kind"]: r for r in ev.per_kind.iter_rows(named=True)}
    print(f"   {'tactic family':<20} {'rings':>5} {'found':>5} {'recall':>7} {'acc.recall':>10}")
    for fam in TACTICS:
        r = rows.get(fam)
        if r:
            print(f"   {fam:<20} {r['rings']:>5} {r['rings_found']:>5} {r['ring_recall']:>7.2f} "
                  f"{r['account_recall']:>10.2f}")
    print(f"   accounts: precision {ev.account_precision:.3f}  recall {ev.account_recall:.3f}  "
          f"F1 {ev.account_f1:.3f}  (flagged {ev.flagged_accounts:,})")
    shares = {r["group_kind"]: r for r in ev.benign_flagged.iter_rows(named=True)}
    print(f"   {'look-alike family':<20} {'accounts':>8} {'flagged':>7} {'share':>7}")
    for k in (k for k in LOOKALIKES if k in shares):
        print(f"   {k:<20} {shares[k]['accounts']:>8} {shares[k]['flagged']:>7} {100 * shares[k]['share']:>6.2f}%")
    print(f"   all look-alikes flagged: {100 * benign_share(ev):.2f}% of {ev.benign_flagged['accounts'].sum():,}")


def lofo(title: str, grid: list[dict], evs: list[Evaluation], penalty: float) -> list[dict]:
    """Choose the grid point on the other families; report the held-out family's recall there."""
    recalls = [recall_of(ev) for ev in evs]
    shares = [benign_share(ev) for ev in evs]
    fams = [f for f in TACTICS if f in recalls[0]]
    print(f"\n== leave-one-family-out, {title}: grid of {len(grid)} point(s), penalty {penalty} per unit of "
          f"look-alike share above {100 * BENIGN_LIMIT:.1f}%")
    print(f"   {'held-out family':<20} {'chosen on the others':<32} {'recall':>6} {'best any point':>14}")
    rows = []
    for f in fams:
        score = [np.mean([r[g] for g in fams if g != f]) - penalty * max(0.0, s - BENIGN_LIMIT)
                 for r, s in zip(recalls, shares)]
        best = int(np.argmax(score))  # first point on ties: grid order is the tie-break
        rows.append({"family": f, "params": grid[best], "recall": recalls[best][f],
                     "oracle": max(r[f] for r in recalls)})
        print(f"   {f:<20} {_fmt_params(grid[best]):<32} {recalls[best][f]:>6.2f} {rows[-1]['oracle']:>14.2f}")
    print(f"   mean held-out recall {np.mean([r['recall'] for r in rows]):.3f}; "
          f"families with held-out recall >= 0.6: {sum(r['recall'] >= 0.6 for r in rows)}/{len(rows)}")
    return rows


def auc_table(title: str, ms: list[Market]) -> None:
    tabs = [single_column_auc(m.tables, m.truth, m.benign).with_columns(pl.lit(m.label).alias("market"))
            for m in ms]
    worst = (pl.concat(tabs).sort("auc", descending=True).group_by("family", maintain_order=True).first()
             .sort("auc", descending=True))
    print(f"\n== best single-column AUC per family, {title} (worst market shown; 0.5 = chance, 1 = one column "
          f"separates the family)")
    print(f"   {'family':<20} {'kind':<10} {'column':<20} {'AUC':>6}  market")
    for r in worst.iter_rows(named=True):
        print(f"   {r['family']:<20} {'tactic' if r['tactic'] else 'look-alike':<10} {r['best_column']:<20} "
              f"{r['auc']:>6.3f}  {r['market']}")
    print(f"   highest: {worst['auc'].max():.3f}; families above 0.85: {(worst['auc'] > 0.85).sum()}")


def _fmt_params(p: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in p.items()) or "defaults"


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_grid(specs: list[str]) -> list[dict]:
    """``["fdr=0.01,0.05", "x=1,2"]`` → the product of the values as keyword dicts."""
    axes = []
    for spec in specs:
        key, _, values = spec.partition("=")
        if not key or not values:
            raise SystemExit(f"--grid {spec!r}: write NAME=V1,V2,... (RingDetector keyword arguments)")
        axes.append([(key.strip(), _value(v.strip())) for v in values.split(",")])
    return [dict(p) for p in itertools.product(*axes)] if axes else [{}]


# ------------------------------------------------------------------ main
def evaluate_variant(title: str, ms: list[Market], grid: list[dict], args) -> None:
    evs = []
    for point in grid:
        ev, secs = run_method(ms, lambda m, p=point: graphfraud_rings(m, args.detector_seed, p))
        report(f"graphfraud ({_fmt_params(point)}), {title}", ev, secs)
        evs.append(ev)
    if not args.no_fraudar and max(m.tables["accounts"].height for m in ms) <= args.fraudar_max:
        ev, secs = run_method(ms, lambda m: fraudar_blocks(m.tables, m.truth["ring_id"].n_unique()))
        report(f"FRAUDAR (one block per planted ring), {title}", ev, secs)
    ev, secs = run_method(ms, lambda m: shared_identifier_rings(m.tables, args.cap))
    report(f"naive shared-identifier components (cap {args.cap}), {title}", ev, secs)
    typology(title)
    lofo(title, grid, evs, args.penalty)
    if not args.skip_auc:
        auc_table(title, ms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000], help="background accounts per market")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="one market per size and seed")
    ap.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                    help="RingDetector keyword values to choose from (repeat for a product grid)")
    ap.add_argument("--penalty", type=float, default=20.0,
                    help="score cost per unit of look-alike share flagged above 0.5%% (LOFO choice)")
    ap.add_argument("--detector-seed", type=int, default=0)
    ap.add_argument("--cap", type=int, default=20, help="naive components: identifiers shared by at most this many")
    ap.add_argument("--no-fraudar", action="store_true")
    ap.add_argument("--fraudar-max", type=int, default=60_000, help="largest market (accounts) FRAUDAR runs on")
    ap.add_argument("--no-review-only", action="store_true", help="skip the review-only zoo")
    ap.add_argument("--skip-auc", action="store_true", help="skip the single-column AUC tables")
    args = ap.parse_args()
    grid = parse_grid(args.grid)
    t0 = time.perf_counter()
    print("== full zoo markets")
    evaluate_variant("full zoo", markets(args.sizes, args.seeds, review_only=False), grid, args)
    if not args.no_review_only:
        print("\n== review-only zoo markets")
        evaluate_variant("review-only zoo", markets(args.sizes, args.seeds, review_only=True), grid, args)
    print(f"\ntotal {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
