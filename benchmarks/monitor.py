"""``graphfraud monitor``: throughput, alert delay on planted campaigns, false alarms on benign traffic.

Usage::

    uv run python benchmarks/monitor.py [--accounts 20000] [--seed 0] [--dense-rate 200] [--dense-hours 6]

Prints three figures:

* **events/s on one core** — (a) a dense stream: Poisson orders at ``--dense-rate``
  events/s of event time over ``--dense-shops`` shops with log-normal popularity, every
  buyer on own identifiers; (b) the tactic zoo replayed (orders and reviews of 120 days,
  sparse: most 1-minute buckets hold no event or one, so per-bucket work dominates).
  Both through :class:`graphfraud.stream.Monitor` only, in batches of ``--batch`` events
  (parsing costs are the batch reader's and measured by ``benchmarks/scale.py``).
* **alert delay on planted campaigns** — in the tactic zoo, a campaign is a (planted ring,
  shop) pair with at least ``--min-orders`` ring orders at that shop; its start is the
  first such order, its end a day after the last. It counts as alerted when an alert at
  that shop lists a ring member between start and end; the delay is event time from the start to that alert. Median
  and 95th percentile over alerted campaigns, and the share alerted.
* **false alarms per day on benign traffic** — the zoo with look-alike families only
  (flash sales, livestreams, fan clubs, promotions, group buys, households, ...: no
  planted ring), every alert counted, per type, divided by the replayed days.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
import polars as pl

from graphfraud.contract import DEFAULT_TZ
from graphfraud.parse import parse_timestamp
from graphfraud.stream import Monitor, MonitorConfig
from graphfraud.synth.zoo import LOOKALIKES, synthesize_zoo

T0 = 1_709_251_200  # 2024-03-01T00:00:00Z


def dense_stream(rate: float, hours: float, shops: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = rng.poisson(rate * hours * 3600)
    t = np.sort(rng.uniform(0, hours * 3600, n)) + T0
    pop = rng.lognormal(0, 1.0, shops)
    shop = rng.choice(shops, n, p=pop / pop.sum())
    acc = rng.integers(0, 1_000_000, n)
    ids = [f"{a}" for a in acc]
    return pl.DataFrame({"table": "orders", "account_id": ids, "merchant_id": [f"M{s}" for s in shop],
                         "created_at": t, "device_id": ids, "ip": ids, "payment_account_id": ids, "address": ids})


def zoo_events(res) -> pl.DataFrame:
    t = res.tables
    return pl.concat([t["orders"].with_columns(pl.lit("orders").alias("table")),
                      t["reviews"].with_columns(pl.lit("reviews").alias("table"))], how="diagonal").with_columns(
        parse_timestamp(pl.col("created_at"), DEFAULT_TZ)).sort("created_at")


def replay(events: pl.DataFrame, batch: int, config: MonitorConfig | None = None) -> tuple[list, float, Monitor]:
    mon = Monitor(config)
    t0 = time.process_time()
    alerts = []
    for part in events.iter_slices(batch):
        alerts += mon.update(part)
    alerts += mon.flush()
    return alerts, time.process_time() - t0, mon


def campaigns(res, min_orders: int) -> pl.DataFrame:
    orders = res.tables["orders"].with_columns(parse_timestamp(pl.col("created_at"), DEFAULT_TZ)).join(
        res.ring_members.select("ring_id", "account_id", "ring_kind"), on="account_id")
    return (orders.group_by("ring_id", "ring_kind", "merchant_id")
            .agg(pl.len().alias("orders"), pl.col("created_at").min().alias("start"),
                 pl.col("created_at").max().alias("end"),
                 pl.col("account_id").unique().alias("members"))
            .filter(pl.col("orders") >= min_orders))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=2_000)
    ap.add_argument("--dense-rate", type=float, default=200.0, help="events per second of event time")
    ap.add_argument("--dense-hours", type=float, default=6.0)
    ap.add_argument("--dense-shops", type=int, default=2_000)
    ap.add_argument("--min-orders", type=int, default=5)
    ap.add_argument("--skip-dense", action="store_true", help="skip the dense-stream throughput figure")
    ap.add_argument("--known", action="store_true",
                    help="also: detect on the first --split-days of the zoo, replay the rest against those rings")
    ap.add_argument("--split-days", type=int, default=60)
    args = ap.parse_args()

    if not args.skip_dense:
        dense_figure(args)
    if args.known:
        known_figures(args)
        return
    zoo_figures(args)


def known_figures(args) -> None:
    """Known-ring detectors: rings from a detect run on the first days, the rest replayed."""
    import tempfile
    from pathlib import Path

    from graphfraud.export.tables import write_tables
    from graphfraud.pipeline import detect_files
    from graphfraud.stream import KnownRings

    res = synthesize_zoo(args.accounts, seed=args.seed)
    first = min(pl.select(parse_timestamp(pl.lit(res.tables["orders"]["created_at"].min()), DEFAULT_TZ)).item(),
                pl.select(parse_timestamp(pl.lit(res.tables["reviews"]["created_at"].min()), DEFAULT_TZ)).item())
    cut = first.timestamp() + args.split_days * 86_400
    events = zoo_events(res)
    early_tables = {}
    for name, t in res.tables.items():
        if "created_at" in t.columns and name not in ("accounts", "merchants"):
            t = t.filter(parse_timestamp(pl.col("created_at"), DEFAULT_TZ).dt.epoch("s") < cut)
        early_tables[name] = t
    with tempfile.TemporaryDirectory() as tmp:
        write_tables(early_tables, Path(tmp) / "data", "csv")
        t0 = time.perf_counter()
        run = detect_files(Path(tmp) / "data", Path(tmp) / "run")
        took = time.perf_counter() - t0
        print(f"detect on the first {args.split_days} days: {run.rings.height} rings ({took:.0f} s)")
    known = KnownRings.from_tables(run.rings, run.members, run.nodes)
    late = events.filter(pl.col("created_at").dt.epoch("s") >= cut)
    mon = Monitor(MonitorConfig(warmup_days=0), known)
    # the baselines learn on the first days (no alerts counted there), then the rest is replayed
    for part in events.filter(pl.col("created_at").dt.epoch("s") < cut).iter_slices(args.batch):
        mon.update(part)
    t0 = time.process_time()
    alerts = []
    for part in late.iter_slices(args.batch):
        alerts += mon.update(part)
    alerts += mon.flush()
    cpu = time.process_time() - t0
    truth = dict(zip(res.ring_members["account_id"], res.ring_members["ring_id"]))
    per_type = Counter(a.type for a in alerts)
    false = Counter(a.type for a in alerts if not any(x in truth for x in a.accounts))
    days = (late["created_at"].max() - late["created_at"].min()).total_seconds() / 86_400
    print(f"replay of the last {days:.0f} days against {len(known)} known rings: {late.height:,} events, "
          f"{late.height / cpu:,.0f} events/s; alerts {dict(per_type)}; with no planted ring member: "
          f"{dict(false)} ({sum(false.values()) / days:.2f}/day)")
    # delay: per planted ring found by the early run, its first late event -> first known-ring alert naming it
    found = {truth[a] for a in run.members["account_id"] if a in truth}
    late_first = (late.filter(pl.col("account_id").is_in(list(truth))).with_columns(
        pl.col("account_id").replace_strict(truth, default=None).alias("ring"))
        .group_by("ring").agg(pl.col("created_at").min()))
    delays = []
    for ring, start in late_first.iter_rows():
        if ring not in found:
            continue
        hit = next((a.time for a in alerts if a.type in ("ring_active", "ring_infrastructure", "surge_ring")
                    and a.time >= start.timestamp() and any(truth.get(x) == ring for x in a.accounts)), None)
        if hit is not None:
            delays.append(hit - start.timestamp())
    d = np.array(delays) / 3600
    if len(d):
        print(f"  planted rings found on the first days and active later: "
              f"{sum(r in found for r in late_first['ring'])}; alerted {len(d)}; delay from their first later event: "
              f"median {np.median(d):.1f} h, p95 {np.percentile(d, 95):.1f} h")


def dense_figure(args) -> None:
    dense = dense_stream(args.dense_rate, args.dense_hours, args.dense_shops, args.seed)
    alerts, cpu, _ = replay(dense, args.batch, MonitorConfig(warmup_days=0.1))
    print(f"dense stream: {dense.height:,} events over {args.dense_hours:g} h at {args.dense_rate:g}/s, "
          f"{args.dense_shops:,} shops: {dense.height / cpu:,.0f} events/s (CPU {cpu:.1f} s), {len(alerts)} alerts")


def zoo_figures(args) -> None:
    res = synthesize_zoo(args.accounts, seed=args.seed)
    events = zoo_events(res)
    days = (events["created_at"].max() - events["created_at"].min()).total_seconds() / 86_400
    alerts, cpu, _ = replay(events, args.batch)
    print(f"tactic zoo ({args.accounts:,} accounts, seed {args.seed}): {events.height:,} events over {days:.0f} days: "
          f"{events.height / cpu:,.0f} events/s (CPU {cpu:.1f} s); alerts {dict(Counter(a.type for a in alerts))}")

    camp = campaigns(res, args.min_orders)
    by_shop: dict[str, list] = {}
    for a in alerts:
        by_shop.setdefault(a.shop_id, []).append(a)
    delays, kinds, burst_delays, bursts = [], Counter(), [], 0
    for r in camp.iter_rows(named=True):
        burst = (r["end"] - r["start"]).total_seconds() <= 2 * 86_400
        bursts += burst
        start, end = r["start"].timestamp(), r["end"].timestamp() + 86_400
        members = set(r["members"])
        shop_alerts = by_shop.get(r["merchant_id"], [])
        hit = next((a for a in shop_alerts if start <= a.time <= end and members & set(a.accounts)), None)
        if hit is not None:
            delays.append(hit.time - start)
            kinds[r["ring_kind"]] += 1
            if burst:
                burst_delays.append(hit.time - start)
    d = np.array(delays) / 3600
    if len(d):
        print(f"planted campaigns (ring x shop, >= {args.min_orders} ring orders): {camp.height}; alerted "
              f"{len(d)} ({len(d) / max(1, camp.height):.0%}); delay median {np.median(d):.1f} h, "
              f"p95 {np.percentile(d, 95):.1f} h")
    else:
        print(f"planted campaigns: {camp.height}; none alerted")
    if burst_delays:
        b = np.array(burst_delays) / 3600
        print(f"  burst campaigns (all ring orders at the shop within 2 days): {bursts}; alerted {len(b)} "
              f"({len(b) / max(1, bursts):.0%}); delay median {np.median(b):.2f} h, p95 {np.percentile(b, 95):.2f} h")
    print("  alerted campaigns per ring kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))

    benign = synthesize_zoo(args.accounts, seed=args.seed, families=LOOKALIKES)
    bevents = zoo_events(benign)
    bdays = (bevents["created_at"].max() - bevents["created_at"].min()).total_seconds() / 86_400
    balerts, cpu, _ = replay(bevents, args.batch)
    per_type = Counter(a.type for a in balerts)
    rate = {k: round(v / bdays, 3) for k, v in sorted(per_type.items())}
    print(f"benign zoo (look-alikes only, {bevents.height:,} events over {bdays:.0f} days): alerts per day {rate} "
          f"(all types {len(balerts) / bdays:.2f}/day; budget {MonitorConfig().false_alarms_per_day:g}/day)")


if __name__ == "__main__":
    main()
