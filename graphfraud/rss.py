"""Resident memory of this process: the peak of each stage, not only the running maximum.

``getrusage`` gives the process's peak since it started, which cannot tell a stage that
holds 6 GB from one that runs after it. A daemon thread samples ``/proc/self/statm`` and
keeps the maximum since the last :meth:`StagePeaks.lap`; where ``/proc`` is absent (macOS,
Windows) the running maximum is all there is, and that is what is reported.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
from types import TracebackType

# 20 ms: far shorter than any stage worth reporting, and a read of one small /proc file
# per tick costs microseconds.
INTERVAL_S = 0.02
_STATM = "/proc/self/statm"


def running_peak_gb() -> float:
    """Peak resident memory of the process since it started, in GB."""
    # ru_maxrss is in bytes on macOS and KiB elsewhere; GB here are bytes / 1e9, as sampled.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e9


def current_gb() -> float | None:
    """Resident memory now, in GB, or ``None`` where ``/proc`` is absent."""
    try:
        with open(_STATM, "rb") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e9


class StagePeaks:
    """Sample resident memory in the background; :meth:`lap` returns the peak since the last lap.

    Examples
    --------
    >>> with StagePeaks() as peaks:
    ...     block = bytearray(50_000_000)
    ...     first = peaks.lap()
    ...     del block
    >>> first > 0.05
    True
    """

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self._interval = interval_s
        self._lock = threading.Lock()
        self._peak = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sampled = current_gb() is not None

    def _sample(self) -> None:
        now = current_gb()
        if now is not None:
            with self._lock:
                self._peak = max(self._peak, now)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self) -> StagePeaks:
        self._sample()
        if self._sampled:
            self._thread = threading.Thread(target=self._loop, name="graphfraud-rss", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def lap(self) -> float:
        """Peak resident memory (GB) since the previous lap (or the start), then start a new lap."""
        if not self._sampled:
            return running_peak_gb()
        self._sample()
        with self._lock:
            peak, self._peak = self._peak, current_gb() or 0.0
        return peak
