"""The numpy helpers give what the numpy calls they replace give."""

from __future__ import annotations

import numpy as np
import pytest

from graphfraud.arrays import search_sorted, stable_argsort


@pytest.mark.parametrize(("low", "high", "dtype"), [
    (0, 7, np.int64),             # many ties: packed with the positions
    (-5, 1 << 40, np.int64),      # packed, barely
    (0, 1 << 62, np.int64),       # too wide to pack: polars' stable sort
    (0, 1 << 63, np.uint64),      # unsigned, above int64
])
def test_stable_argsort_is_numpys_stable_argsort(low, high, dtype):
    rng = np.random.default_rng(7)
    key = rng.integers(low, high, 5000, dtype=dtype)
    key[::4] = key[1::4][: len(key[::4])]  # ties at every width
    assert np.array_equal(stable_argsort(key), np.argsort(key, kind="stable"))


@pytest.mark.parametrize(("hay", "needles"), [(10, 5), (70_000, 5000), (70_000, 100)])
@pytest.mark.parametrize("side", ["left", "right"])
def test_search_sorted_is_numpys_searchsorted(hay, needles, side):
    rng = np.random.default_rng(hay + needles)
    haystack = np.sort(rng.integers(0, 1000, hay))
    key = rng.integers(-5, 1005, needles)
    assert np.array_equal(search_sorted(haystack, key, side=side), np.searchsorted(haystack, key, side=side))
