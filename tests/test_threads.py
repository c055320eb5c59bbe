"""Independent steps in threads: the same results as one after another, in the jobs' order."""

from __future__ import annotations

import threading
import time

import polars as pl
import pytest

from graphfraud import threads
from graphfraud.dataset import Dataset
from graphfraud.detect.detector import RingDetector
from graphfraud.synth import synthesize


def test_results_come_back_in_the_jobs_order_from_two_threads(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 2)
    names, done = [], []

    def job(i: int, pause: float):
        def run():
            time.sleep(pause)  # the first job finishes last
            names.append(threading.current_thread().name)
            return i
        return run

    assert threads.in_threads([job(0, 0.2), job(1, 0.0), job(2, 0.0)], done=done.append) == [0, 1, 2]
    assert done == [1, 2, 3]
    assert len(set(names)) == 2 and all(n.startswith("graphfraud") for n in names)


def test_one_core_runs_the_jobs_here_one_after_another(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 1)
    seen = []
    out = threads.in_threads([lambda: seen.append(threading.current_thread()) or "a", lambda: "b"])
    assert out == ["a", "b"] and seen == [threading.main_thread()]


def test_the_first_failing_job_raises_and_the_waiting_ones_never_start(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 2)
    started = []

    def fail():
        raise ValueError("broken job")

    def slow():
        time.sleep(0.3)
        return 1

    later = [lambda i=i: started.append(i) or time.sleep(0.05) for i in range(20)]
    with pytest.raises(ValueError, match="broken job"):
        threads.in_threads([fail, slow, *later])
    assert len(started) < 5  # cancelled, not run to the end (20 would take a second)


def test_a_fit_on_two_cores_equals_a_fit_on_one(monkeypatch):
    ds = Dataset.from_frames(**synthesize(3000, seed=4).tables)
    monkeypatch.setattr(threads, "cores", lambda: 1)
    one = RingDetector(seed=1).fit(ds)
    monkeypatch.setattr(threads, "cores", lambda: 2)
    two = RingDetector(seed=1).fit(ds)
    assert one.rings_.height >= 3
    assert one.rings_.equals(two.rings_) and one.membership_.equals(two.membership_)
    assert one.tests_.equals(two.tests_) and one.layers_ == two.layers_


def test_sized_jobs_start_largest_first_and_share_the_largest_ones_room(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 2)
    lock, running, seen, started = threading.Lock(), [], [], []

    def job(size: int):
        def run():
            with lock:
                running.append(size)
                started.append(size)
                seen.append((sum(running), len(running)))
            time.sleep(0.05)
            with lock:
                running.remove(size)
            return size
        return run

    sizes = [4, 2, 9, 5, 3, 1]
    assert threads.in_threads([job(s) for s in sizes], sizes=sizes) == sizes
    # The largest first and alone, the others two at a time within its room.
    assert started[0] == 9 and seen[0] == (9, 1)
    assert max(total for total, _ in seen) <= 9 and any(n == 2 for _, n in seen), seen


def test_a_failure_is_reported_in_the_jobs_order_not_the_order_they_failed(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 2)

    def fail(message: str, pause: float):
        def run():
            time.sleep(pause)
            raise ValueError(message)
        return run

    # The second job fails first; the first job's error is the one reported.
    with pytest.raises(ValueError, match="first"):
        threads.in_threads([fail("first", 0.1), fail("second", 0.0)])


def test_an_earlier_job_that_never_started_is_run_to_report_its_error_first(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 2)
    ran = []

    def fail(message: str):
        def run():
            ran.append(message)
            raise ValueError(message)
        return run

    # The large job starts first, alone, and fails; the small one, first in order, had not
    # started: one after another it would have raised first, so it is run and raises.
    with pytest.raises(ValueError, match="small"):
        threads.in_threads([fail("small"), fail("large"), lambda: ran.append("never")], sizes=[1, 5, 1])
    assert ran == ["large", "small"]


def test_a_load_on_two_cores_equals_a_load_on_one(market_2k, tmp_path, monkeypatch):
    import shutil

    from graphfraud.ingest import load_dataset

    data = tmp_path / "data"
    shutil.copytree(market_2k, data, ignore=shutil.ignore_patterns("truth"))
    # Rejects of every kind: a bad timestamp, a duplicate key, a reference to no account.
    orders = pl.read_csv(data / "orders.csv", infer_schema=False)
    first = orders.head(1)
    bad = pl.concat([
        first.with_columns(pl.lit("o-bad-time").alias("order_id"), pl.lit("yesterday").alias("created_at")),
        first,
        first.with_columns(pl.lit("o-nobody").alias("order_id"), pl.lit("nobody").alias("account_id"))])
    pl.concat([orders, bad]).write_csv(data / "orders.csv")
    loads = []
    for n in (1, 2):
        monkeypatch.setattr(threads, "cores", lambda n=n: n)
        loads.append(load_dataset(data))
    one, two = loads
    assert one.report.rejects.height >= 3
    assert one.report.rejects.equals(two.report.rejects)
    assert one.dataset.tables.keys() == two.dataset.tables.keys()
    assert all(one.dataset.tables[t].equals(two.dataset.tables[t]) for t in one.dataset.tables)
    assert one.dataset.sources == two.dataset.sources
