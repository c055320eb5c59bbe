"""Two cores at work: independent steps in threads.

Most of graphfraud's heavy work (numpy's sorts and searches, polars, scipy) releases the
GIL, so independent steps — the tables of a load, the layers, the evidence families —
run two at a time in threads. Each job only reads what it shares with the others and
results come back in the jobs' order, so where a job ran never changes a result.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, as_completed
from typing import TypeVar

#: Steps run at once by :func:`in_threads`: two keep two cores busy; more would only add
#: a third step's intermediate tables to the peak memory.
THREADS = 2

T = TypeVar("T")


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Budget:
    """Sizes of the jobs running at once, kept at most ``limit`` (a job alone may exceed it)."""

    def __init__(self, limit: float) -> None:
        self.limit, self.running, self.closed = limit, 0.0, False
        self._cond = threading.Condition()

    def run(self, job: Callable[[], T], size: float) -> T:
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self.running == 0 or self.running + size <= self.limit)
            if self.closed:
                raise CancelledError
            self.running += size
        failed = True
        try:
            result = job()
            failed = False
            return result
        finally:
            with self._cond:
                # Closed by the failing job itself, before its room is free: nothing
                # waiting can start after a failure.
                self.closed = self.closed or failed
                self.running -= size
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def in_threads(jobs: Sequence[Callable[[], T]], done: Callable[[int], None] | None = None,
               sizes: Sequence[float] | None = None) -> list[T]:
    """Every job's result, in the jobs' order, the jobs run up to :data:`THREADS` at a time
    (one after another on one core); ``done`` hears how many have finished after each.

    The jobs must only read what they share. Results do not depend on where or in which
    order the jobs ran. After a failure no further job starts, and the error raised is
    the one running the jobs one after another would raise: that of the first failing
    job in the jobs' order (earlier jobs that had not started are run to find it).

    ``sizes`` (one per job, e.g. the bytes of the file it reads) bound the memory: jobs
    start largest first, and a job joins the running ones only while their sizes together
    stay within the largest size, so the peak is about that of the largest job run alone.

    >>> in_threads([lambda: 1, lambda: 2, lambda: 3])
    [1, 2, 3]
    >>> in_threads([lambda: "small", lambda: "large"], sizes=[1, 9])
    ['small', 'large']
    """
    done = done or (lambda _n: None)
    workers = min(cores(), len(jobs), THREADS)
    if workers <= 1:
        results = []
        for job in jobs:
            results.append(job())
            done(len(results))
        return results
    budget = _Budget(max(sizes) if sizes else math.inf)
    weight = list(sizes) if sizes else [0.0] * len(jobs)
    start = sorted(range(len(jobs)), key=lambda i: -weight[i])  # stable: equal sizes keep their order
    pool = ThreadPoolExecutor(workers, thread_name_prefix="graphfraud")
    futures: dict[int, Future[T]] = {}
    try:
        for i in start:
            futures[i] = pool.submit(budget.run, jobs[i], weight[i])
        for n, future in enumerate(as_completed(futures.values()), 1):
            if future.exception() is not None:
                break
            done(n)
        else:
            return [futures[i].result() for i in range(len(jobs))]
    finally:
        # After a failure: jobs waiting for room or for a thread never start.
        budget.close()
        pool.shutdown(wait=True, cancel_futures=True)
    # The error one after another would have raised: the first in the jobs' order, a job
    # that never started (it may fail too) run here to find out.
    for i, future in sorted(futures.items()):
        error = None if future.cancelled() else future.exception()
        if future.cancelled() or isinstance(error, CancelledError):
            jobs[i]()
        elif error is not None:
            raise error
    raise AssertionError("a job failed but none is found")  # pragma: no cover
