"""The largest view partitioned in a second process while this one does the others.

Independent steps run in threads (:func:`graphfraud.threads.in_threads`), but Leiden
(igraph) holds the GIL, so threads cannot share the views out. A child
interpreter started as ``python -m graphfraud.detect._partition_child`` is a fresh
process: unlike multiprocessing's spawn it runs nothing of the caller's ``__main__``
again (a notebook or an unguarded script is safe), and unlike fork it inherits no
thread pool's locks. The partition depends only on the edges and the seed, so where the
view is partitioned does not change it; if the child cannot start or fails, its view is
partitioned here.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from typing import Any

import polars as pl

#: Views with fewer edges stay in process. Starting the child costs about 1.3 s (a fresh
#: interpreter importing polars and igraph on this project's 2-core test machine); Leiden
#: and its splits take 1–3 s per 100k edges there (1M accounts: 22.6 s for the summed
#: view's 1.9M edges, 15.8 s for the likes view's 0.6M), so below about 200k edges the
#: child saves too little to be worth its start.
CHILD_MIN_EDGES = 200_000

#: The end of a failing child's error output kept for the warning (a traceback's last lines).
STDERR_TAIL = 600

#: The child's command line (a list, no shell).
CHILD = [sys.executable, "-m", "graphfraud.detect._partition_child"]


class Beside:
    """One view's :func:`~graphfraud.detect.candidates.partition_groups` in a child process.

    :meth:`result` waits for it and returns its levels, or None when the child could not
    start or failed (the caller then partitions the view itself); ``failure`` then says why.
    """

    def __init__(self, edges: pl.DataFrame, params: dict[str, Any]) -> None:
        self._out: list[pl.DataFrame] | None = None
        self.failure: str | None = None
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                CHILD, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            self._proc = None
            self.failure = f"it could not start ({exc.strerror or exc})"
            return
        payload = pickle.dumps((edges, params), protocol=pickle.HIGHEST_PROTOCOL)
        # Writing and reading in a thread: the child's output can fill a pipe before this
        # process is done with its own views.
        self._thread = threading.Thread(target=self._talk, args=(payload,), daemon=True)
        self._thread.start()

    def _talk(self, payload: bytes) -> None:
        assert self._proc is not None
        try:
            out, err = self._proc.communicate(payload)
        except (OSError, ValueError) as exc:
            self.failure = f"talking to it failed ({exc})"
            return
        if self._proc.returncode != 0:
            tail = " ".join(err.decode("utf-8", "replace").split())[-STDERR_TAIL:]
            self.failure = f"it exited with status {self._proc.returncode}" + (f": ...{tail}" if tail else "")
            return
        try:
            self._out = pickle.loads(out)
        except Exception:  # a child that died mid-write: partition here instead
            self._out = None
            self.failure = "its output could not be read"

    def result(self) -> list[pl.DataFrame] | None:
        if self._proc is None:
            return None
        self._thread.join()
        return self._out

    def close(self) -> None:
        """Stop the child if it is still running (the caller gave up on it)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
