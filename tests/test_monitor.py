"""graphfraud monitor: surge tests, known-ring alerts, malformed input, and the CLI on growing inputs."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time

import numpy as np
import polars as pl
import pytest

from graphfraud.contract import DEFAULT_TZ
from graphfraud.ingest.follow import NO_TABLE, Chunk, parse_chunk
from graphfraud.ingest.transform import BAD_RATING, BAD_TIMESTAMP, MISSING
from graphfraud.parse import parse_timestamp
from graphfraud.stream import KnownRings, Monitor, MonitorConfig

DAY = 86_400
T0 = 1_709_251_200  # 2024-03-01T00:00:00Z


def background(days: float, shops: int = 40, seed: int = 0, per_day: float = 2_000) -> pl.DataFrame:
    """Poisson orders with a day/night rhythm, heavy-tailed shop popularity, every buyer on own identifiers."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(per_day * days)
    # day/night rhythm: thinning of a uniform process by 0.2 + 0.8 * sin^2
    t = rng.uniform(0, days * DAY, int(n * 1.8))
    keep = rng.random(len(t)) < 0.2 + 0.8 * np.sin(np.pi * (t % DAY) / DAY) ** 2
    t = np.sort(t[keep][:n]) + T0
    pop = np.random.default_rng(shops).lognormal(0, 1.0, shops)  # the same shops in every stream
    shop = rng.choice(shops, len(t), p=pop / pop.sum())
    acc = rng.integers(0, 20_000, len(t))
    return pl.DataFrame({
        "table": "orders", "order_id": [f"O{i}" for i in range(len(t))], "account_id": [f"U{a}" for a in acc],
        "merchant_id": [f"M{s:03d}" for s in shop], "created_at": t,
        "device_id": [f"D{a}" for a in acc], "ip": [f"IP{a // 20}" for a in acc],  # carrier NAT: 20 per IP
        "payment_account_id": [f"P{a}" for a in acc], "address": [f"A{a}" for a in acc]})


def planted(start: float, n: int, shop: str, accounts: list[str], devices: list[str], span: float,
            seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(accounts), n)
    return pl.DataFrame({
        "table": "orders", "order_id": [f"X{seed}-{i}" for i in range(n)],
        "account_id": [accounts[i] for i in pick], "merchant_id": shop,
        "created_at": np.sort(start + rng.uniform(0, span, n)),
        "device_id": [devices[i % len(devices)] for i in pick], "ip": [f"IPX{i}" for i in pick],
        "payment_account_id": [f"PX{i}" for i in pick], "address": [f"AX{i}" for i in pick]})


def replay(mon: Monitor, events: pl.DataFrame, batch: int = 500) -> list:
    events = events.sort("created_at")
    alerts = []
    for part in events.iter_slices(batch):
        alerts += mon.update(part)
    return alerts + mon.flush()


def quiet_shop(events: pl.DataFrame) -> str:
    counts = events.group_by("merchant_id").len().sort("len")
    return counts["merchant_id"][0]


# ------------------------------------------------------------------ surges
def test_null_background_stays_within_the_false_alarm_budget():
    days = 6
    mon = Monitor(MonitorConfig(false_alarms_per_day=1.0))
    alerts = replay(mon, background(days, seed=11))
    # Bonferroni bounds the expectation by 1/day over the 5 tested days; a Poisson(5) count
    # exceeds 12 with probability < 0.1 %.
    assert len(alerts) <= 12, [a.to_dict() for a in alerts]


def test_planted_coordinated_surge_is_alerted_within_minutes():
    bg = background(4, seed=3)
    shop = quiet_shop(bg)
    start = T0 + 3 * DAY + 10 * 3600
    ring = planted(start, 40, shop, [f"R{i}" for i in range(15)], ["DEV-A", "DEV-B", "DEV-C"], span=3600)
    alerts = replay(Monitor(), pl.concat([bg, ring], how="diagonal"))
    hits = [a for a in alerts if a.shop_id == shop and a.time >= start]
    assert hits, "no alert for the planted surge"
    assert hits[0].time - start <= 20 * 60  # the 5-minute and 1-hour windows see it early
    ring_alerts = [a for a in hits if a.type == "surge_ring"]
    assert ring_alerts, [a.type for a in hits]
    alert = ring_alerts[0].to_dict()
    assert alert["identifiers"] and {i["value"] for i in alert["identifiers"]} <= {"DEV-A", "DEV-B", "DEV-C"}
    assert set(alert["accounts"]) & {f"R{i}" for i in range(15)}
    assert alert["count"] > alert["expected"] * 5 and alert["p_value"] <= alert["level"]
    # one episode: not an alert per window step
    assert len(hits) <= 2


def test_uncoordinated_surge_is_a_surge_notice_not_a_ring_alert():
    bg = background(4, seed=4)
    shop = quiet_shop(bg)
    start = T0 + 3 * DAY + 20 * 3600
    crowd = [f"C{i}" for i in range(200)]
    sale = planted(start, 200, shop, crowd, [f"DC{i}" for i in range(200)], span=3600)
    # every crowd buyer on their own device, IP, wallet and address
    sale = sale.with_columns(pl.col("account_id").str.replace("C", "DC").alias("device_id"))
    alerts = [a for a in replay(Monitor(), pl.concat([bg, sale], how="diagonal")) if a.shop_id == shop]
    assert [a.type for a in alerts if a.time >= start] == ["shop_surge"]


def test_platform_wide_surge_does_not_alert_every_shop():
    """A platform-wide sale multiplies every shop's rate: the shops are compared with the rest of the platform."""
    bg = background(4, seed=5)
    lo, hi = T0 + 3 * DAY + 12 * 3600, T0 + 3 * DAY + 14 * 3600
    sale = background(4, seed=6, per_day=6_000).filter(pl.col("created_at").is_between(lo, hi)).with_columns(
        pl.col("order_id") + "-sale", pl.col("account_id") + "-sale")
    alerts = replay(Monitor(), pl.concat([bg, sale], how="diagonal"))
    shops = {a.shop_id for a in alerts if a.time > T0 + 3 * DAY + 12 * 3600}
    assert len(shops) <= 3, shops  # 40 shops quadrupled for two hours


@pytest.mark.slow
def test_zoo_flash_sales_and_livestreams_raise_no_ring_alert():
    from graphfraud.synth.zoo import synthesize_zoo

    res = synthesize_zoo(3_000, seed=5, days=45, families=("flash_sale", "livestream"), groups_scale=3)
    tables = res.tables
    events = pl.concat([
        tables["orders"].with_columns(pl.lit("orders").alias("table")),
        tables["reviews"].with_columns(pl.lit("reviews").alias("table")),
    ], how="diagonal").with_columns(parse_timestamp(pl.col("created_at"), DEFAULT_TZ))
    crowd = set(res.benign_groups.filter(pl.col("group_kind").is_in(["flash_sale", "livestream"]))["account_id"])
    assert crowd
    alerts = replay(Monitor(), events, batch=2_000)
    crowd_alerts = [a for a in alerts if len(set(a.accounts) & crowd) > len(a.accounts) / 2]
    assert not [a for a in crowd_alerts if a.type != "shop_surge"], [a.to_dict() for a in crowd_alerts]
    sessions = res.benign_groups.filter(pl.col("group_kind").is_in(["flash_sale", "livestream"]))["group_id"].n_unique()
    # each crowd event (a sale, a livestream evening) opens at most one episode per shop
    assert len(crowd_alerts) <= 10 * sessions
    days = 45
    assert len(alerts) - len(crowd_alerts) <= 2 * days  # everything else: within twice the budget


# ------------------------------------------------------------------ known rings
def _known(members: list[str], device: str, hub_ip: str) -> KnownRings:
    rings = pl.DataFrame({"ring_id": ["R-known"], "ring_type": ["device farm"], "q_ring": [1e-9]})
    mem = pl.DataFrame({"ring_id": "R-known", "account_id": members})
    nodes = pl.DataFrame({"ring_id": ["R-known"] * 2, "node_type": ["Device", "IP"], "key": [device, hub_ip],
                          "role": ["shared identifier"] * 2, "platform_accounts": [6, 400]})
    return KnownRings.from_tables(rings, mem, nodes)


def test_known_ring_members_acting_again_together_are_alerted():
    bg = background(3, seed=7)
    members = [f"K{i}" for i in range(12)]
    shop = quiet_shop(bg)
    start = T0 + 2 * DAY + 5 * 3600
    again = planted(start, 6, shop, members[:5], [f"KD{i}" for i in range(5)], span=2 * 3600, seed=9)
    known = _known(members, "FARM-1", "HUB-IP")
    alerts = replay(Monitor(known=known), pl.concat([bg, again], how="diagonal"))
    active = [a for a in alerts if a.type == "ring_active"]
    assert active and active[0].ring_id == "R-known" and active[0].shop_id == shop
    assert set(active[0].accounts) <= set(members) and len(active[0].accounts) >= 2
    assert active[0].time - start <= 2 * 3600
    # the same members in the background stream only (no joint action): no alert
    assert not [a for a in replay(Monitor(known=known), bg) if a.type == "ring_active"]


def test_new_accounts_on_known_ring_infrastructure_are_alerted_but_hubs_are_not():
    bg = background(3, seed=8)
    start = T0 + 2 * DAY
    newcomers = planted(start, 4, "M001", ["N1", "N2", "N3"], ["FARM-1"], span=3600, seed=10)
    # 30 strangers behind one IP within the hour: a NAT or proxy exit, no infrastructure evidence
    hub = planted(start, 30, "M002", [f"H{i}" for i in range(30)], [f"HD{i}" for i in range(30)], span=3600,
                  seed=12).with_columns(pl.lit("HUB-IP").alias("ip"))
    known = _known([f"K{i}" for i in range(12)], "FARM-1", "HUB-IP")
    alerts = replay(Monitor(known=known), pl.concat([bg, newcomers, hub], how="diagonal"))
    infra = [a for a in alerts if a.type == "ring_infrastructure"]
    assert len(infra) == 1, [a.to_dict() for a in infra]
    d = infra[0].to_dict()
    assert set(d["accounts"]) <= {"N1", "N2", "N3"} and {"kind": "device", "value": "FARM-1"} in d["identifiers"]
    assert d["evidence"]["ring_type"] == "device farm"


# ------------------------------------------------------------------ malformed input
def test_malformed_rows_get_the_batch_readers_reject_records():
    lines = [
        {"order_id": "o1", "account_id": "a", "merchant_id": "m", "created_at": "2024-03-01 10:00:00"},
        "not json at all",
        {"order_id": "o2", "account_id": "a", "merchant_id": "m", "created_at": "next tuesday"},
        {"review_id": "r1", "account_id": "a", "merchant_id": "m", "created_at": "2024-03-01", "rating": "9"},
        {"review_id": "r2", "merchant_id": "m", "created_at": "2024-03-01", "rating": "5"},
        {"something": "else"},
        [1, 2],
        {"review_id": "r3", "account_id": "b\u202e", "merchant_id": "m", "created_at": "2024-03-01", "rating": 4},
    ]
    data = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode() + b"\n"
    events, rejects, n = parse_chunk(Chunk(data, "jsonl", 101, "feed.jsonl"))
    assert n == len(lines)
    assert sorted(events["table"].to_list()) == ["orders", "reviews"]
    reasons = dict(zip(rejects["line"].to_list(), rejects["reason"].to_list()))
    assert reasons[103] == BAD_TIMESTAMP and reasons[104] == BAD_RATING and reasons[105] == MISSING
    assert reasons[106] == NO_TABLE and "JSON" in reasons[102] and reasons[107] == "not a JSON object"
    mon = Monitor(MonitorConfig(warmup_days=0))
    assert mon.update(events) == []  # typed rows go straight in


def test_a_json_key_given_twice_in_a_stream_is_a_row_reject_and_the_stream_goes_on():
    row = '{"order_id": "o%d", "account_id": "a", "merchant_id": "m", "created_at": "2024-03-01 10:00:00"}'
    data = "\n".join([row % 1, row.replace('"account_id": "a"', '"account_id": "a", "account_id": "b"') % 2,
                      row % 3]).encode() + b"\n"
    events, rejects, _ = parse_chunk(Chunk(data, "jsonl", 11, "feed.jsonl"))
    assert sorted(events["order_id"].to_list()) == ["o1", "o3"]
    assert rejects.select("line", "reason").rows() == [(12, "the key 'account_id' is given twice in this JSON object")]


def test_a_column_no_event_of_a_chunk_has_is_a_row_reject_not_a_crash(entry_point, tmp_path):
    # Nothing in this stream has created_at at all, so the column never appears in the chunk.
    lines = [{"review_id": f"r{i}", "account_id": "a", "shop_id": "s", "merchant_id": "m", "rating": 5}
             for i in range(3)]
    rejects = tmp_path / "rejects.jsonl"
    proc = entry_point("monitor", "-", "--rejects", str(rejects),
                       stdin="".join(json.dumps(x) + "\n" for x in lines))
    assert proc.returncode == 0, proc.stderr
    bad = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    assert [(b["line"], b["column"], b["reason"]) for b in bad] == [(i, "created_at", MISSING) for i in (1, 2, 3)]


def test_csv_chunks_keep_file_line_numbers_and_reject_ragged_rows():
    header = b"order_id,account_id,merchant_id,created_at\n"
    data = b"o1,a,m,2024-03-01 10:00:00\no2,a,m\no3,b,m,1709287200\n"
    events, rejects, _ = parse_chunk(Chunk(data, "csv", 40, "orders.csv", header))
    assert events["order_id"].to_list() == ["o1", "o3"]
    assert rejects["line"].to_list() == [41] and "field" in rejects["reason"][0]


# ------------------------------------------------------------------ the CLI, end to end
def _jsonl(frame: pl.DataFrame) -> list[str]:
    return [json.dumps(r) for r in frame.with_columns(pl.col("created_at").cast(pl.Int64)).iter_rows(named=True)]


def _surge_stream() -> tuple[pl.DataFrame, str, float]:
    bg = background(2.5, shops=20, seed=21, per_day=600)
    shop = quiet_shop(bg)
    start = T0 + 2 * DAY + 3 * 3600
    ring = planted(start, 40, shop, [f"R{i}" for i in range(10)], ["DEV-A", "DEV-B"], span=1800)
    return pl.concat([bg, ring], how="diagonal").sort("created_at"), shop, start


#: The installed command, run as a separate process (as a user would).
CLI = [sys.executable, "-c", "import sys; from graphfraud.cli import run; sys.argv[0] = 'graphfraud'; run()"]


@pytest.mark.slow  # a real process that waits out --idle-exit
def test_cli_follows_an_appended_csv_file(tmp_path):
    events, shop, _ = _surge_stream()
    path = tmp_path / "orders.csv"
    out = tmp_path / "alerts.jsonl"
    csv = events.drop("table").with_columns(pl.col("created_at").cast(pl.Int64)).write_csv()
    lines = csv.splitlines(keepends=True)
    lines.insert(5, "o-bad,a,m,not a time,,,,\n")
    path.write_text("".join(lines[:100]), "utf-8")
    proc = subprocess.Popen([*CLI, "monitor", str(path), "--alerts", str(out), "--idle-exit", "3",
                             "--heartbeat", "1"], stderr=subprocess.PIPE, text=True)

    def append() -> None:
        rest = "".join(lines[100:])
        with path.open("a", encoding="utf-8") as fh:
            for i in range(0, len(rest), 50_000):  # pieces that cut lines in half
                fh.write(rest[i:i + 50_000])
                fh.flush()
                time.sleep(0.05)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        writer.join()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    alerts = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert any(a["shop_id"] == shop and a["type"] == "surge_ring" for a in alerts), alerts
    assert "orders.csv:6: unparseable timestamp" in err  # the header is line 1
    assert "events" in err  # heartbeat


def test_cli_reads_jsonl_on_stdin(tmp_path, entry_point):
    events, shop, _ = _surge_stream()
    text = "\n".join(["{broken", *_jsonl(events)]) + "\n"
    rejects = tmp_path / "rejects.jsonl"
    proc = entry_point("monitor", "-", "--rejects", str(rejects), stdin=text)
    assert proc.returncode == 0, proc.stderr
    alerts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert any(a["shop_id"] == shop and a["type"] == "surge_ring" for a in alerts)
    bad = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    assert bad[0]["line"] == 1 and "JSON" in bad[0]["reason"]


@pytest.mark.slow  # a real process that waits for a second file, then out --idle-exit
def test_cli_reads_new_files_in_a_directory(tmp_path):
    events, shop, _ = _surge_stream()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    half = events.height // 2
    (inbox / "part-001.jsonl").write_text("\n".join(_jsonl(events[:half])) + "\n", "utf-8")
    proc = subprocess.Popen([*CLI, "monitor", str(inbox), "--idle-exit", "3"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    (inbox / "part-002.jsonl").write_text("\n".join(_jsonl(events[half:])) + "\n", "utf-8")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert any(json.loads(line)["shop_id"] == shop for line in out.splitlines())


def test_files_a_directory_cannot_follow_are_reported_not_skipped(tmp_path, entry_point):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "orders-1.csv").write_text("order_id,account_id,merchant_id,created_at\no1,a1,m1,2024-03-01\n", "utf-8")
    (inbox / "orders-2.csv.gz").write_bytes(gzip.compress(b"order_id,account_id,merchant_id,created_at\n"))
    (inbox / "notes.txt").write_text("x", "utf-8")
    (inbox / ".part-3.csv").write_text("", "utf-8")  # hidden: a file still being copied in
    rejects = tmp_path / "rejects.jsonl"
    proc = entry_point("monitor", str(inbox), "--idle-exit", "0.5", "--rejects", str(rejects))
    assert proc.returncode == 0, proc.stderr
    bad = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    assert sorted(r["file"] for r in bad) == ["notes.txt", "orders-2.csv.gz"]
    assert all(r["line"] is None and "not followed" in r["reason"] and ".jsonl" in r["reason"] for r in bad)


def test_cli_refuses_a_missing_source(tmp_path, entry_point):
    proc = entry_point("monitor", str(tmp_path / "nope.csv"))
    assert proc.returncode != 0 and "no such file" in proc.stderr and "Traceback" not in proc.stderr
