"""A memo of one value derived from the last table it was asked about.

A fit asks for the same derived arrays of one table many times (every membership pass
re-indexes the same stretches; the text family runs on candidates and again on the
final rings). The table is held by a weak reference, so a memo never keeps a dataset
alive and another table never sees its value.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

import polars as pl

T = TypeVar("T")


class LastFrame(Generic[T]):
    """``compute(frame)``, remembered for the last ``frame`` (compared by identity).

    >>> calls = []
    >>> memo = LastFrame(lambda f: calls.append(1) or f.height)
    >>> df = pl.DataFrame({"x": [1, 2]})
    >>> memo(df), memo(df), len(calls)
    (2, 2, 1)
    >>> del df
    >>> memo._value is None
    True
    """

    def __init__(self, compute: Callable[[pl.DataFrame], T]) -> None:
        self._compute = compute
        self._ref: weakref.ref[pl.DataFrame] | None = None
        self._value: T | None = None
        # Families run in threads: a value and its table are set and read together.
        self._lock = threading.Lock()

    def __call__(self, frame: pl.DataFrame) -> T:
        with self._lock:
            if self._ref is None or self._ref() is not frame:
                self._value = self._compute(frame)
                # The value goes with its table: a memo must not hold a finished fit's arrays.
                self._ref = weakref.ref(frame, self._forget)
            return self._value  # type: ignore[return-value]

    def _forget(self, ref: weakref.ref[pl.DataFrame]) -> None:
        if ref is self._ref:
            self._ref, self._value = None, None
