"""numpy helpers shared by the graph and detection stages (pure: no I/O)."""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d integer array, sorted: ``np.unique(values)`` by one sort.

    numpy 2.3 and later answer a plain ``np.unique`` with a hash table, which on millions
    of distinct integers is many times slower than a sort (on this project's 2-core test
    machine: 4.3 s for 3M distinct int64 values, against 0.2 s to sort twice as many).

    >>> distinct(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    out = np.sort(values)
    return out[np.r_[True, out[1:] != out[:-1]]] if len(out) else out
