"""Coding a dataset: identifier values and ids become the codes a plain polars form gives."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from graphfraud.dataset import Dataset
from graphfraud.graph import prepare as pr
from graphfraud.synth import synthesize


def _reference(values: pl.Series) -> tuple[list[int], list[str]]:
    distinct = values.unique().sort()
    return values.cast(pl.Enum(distinct)).to_physical().to_list(), distinct.to_list()


def _strings(seed: int, n: int, pool: int) -> pl.Series:
    rng = np.random.default_rng(seed)
    alphabet = np.array([*"ab9Z_-.", "é", "设备", "\u200b", " "])
    words = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(pool)]
    return pl.Series("value", [words[i] for i in rng.integers(0, pool, n)], dtype=pl.String)


@pytest.mark.parametrize(("seed", "n", "pool"), [(0, 1, 1), (1, 2, 2), (2, 500, 40), (3, 5000, 3000)])
def test_string_codes_are_the_positions_among_the_sorted_distinct_values(seed, n, pool):
    values = _strings(seed, n, pool)
    codes, distinct = pr.string_codes(values)
    assert (codes.tolist(), distinct.to_list()) == _reference(values)


def test_string_codes_merge_the_runs_of_values_whose_hashes_interleave(monkeypatch):
    # A hash that tells every value apart but leaves the top bits the sort sees equal:
    # all rows fall in one bucket in row order, each value forms many runs, and only the
    # dense rank of the runs' values gives it one code again (not the exact fallback).
    values = _strings(4, 3000, 200)
    rank = values.rank("dense").cast(pl.UInt64).to_numpy()
    monkeypatch.setattr(pr, "_hash", lambda v: rank.copy())
    monkeypatch.setattr(pr, "_exact_codes", lambda v: pytest.fail("fell back to the exact coding"))
    codes, distinct = pr.string_codes(values)
    assert (codes.tolist(), distinct.to_list()) == _reference(values)


@pytest.mark.parametrize("collide", [lambda h: h % np.uint64(3), lambda h: h & np.uint64(0)])
def test_string_codes_stay_exact_when_distinct_values_share_a_hash(monkeypatch, collide):
    real, used = pr._hash, []
    monkeypatch.setattr(pr, "_hash", lambda values: collide(real(values)))
    exact = pr._exact_codes
    monkeypatch.setattr(pr, "_exact_codes", lambda v: used.append(1) or exact(v))
    values = _strings(4, 3000, 200)
    codes, distinct = pr.string_codes(values)
    assert (codes.tolist(), distinct.to_list()) == _reference(values)
    assert used, "distinct values with one hash must be coded exactly"


def test_prepared_identifiers_are_the_group_by_of_every_use():
    ds = Dataset.from_frames(**synthesize(1500, seed=3).tables)
    prep = pr.prepare(ds)
    account = pl.DataFrame({"account_id": prep.account_ids}).with_row_index("a")
    uses = []
    for kind in pr.IDENTIFIER_KINDS:
        for table, column in kind.sources:
            frame = ds.get(table)
            if frame is None or column not in frame.columns:
                continue
            first = last = pl.lit(None, pl.Int64)
            if table == "account_devices":
                first, last = (pl.col(c).dt.epoch("s") if c in frame.columns else pl.lit(None, pl.Int64)
                               for c in ("first_seen", "last_seen"))
            elif "created_at" in frame.columns and table != "accounts":
                first = last = pl.col("created_at").dt.epoch("s")
            uses.append(frame.select("account_id", pl.lit(kind.name).alias("kind"),
                                     pl.col(column).cast(pl.String).alias("value"),
                                     first.alias("first"), last.alias("last")).drop_nulls("value"))
    assert len(uses) >= 3
    want = (pl.concat(uses).join(account, on="account_id")
            .group_by("a", "kind", "value")
            .agg(pl.col("first").min(), pl.col("last").max(), pl.len().alias("uses"))
            .sort("kind", "value", "a"))
    got = (prep.identifiers.join(prep.identifier_values, on=["v", "kind"])
           .select("a", "kind", "value", "first", "last", "uses"))
    assert got.with_columns(pl.col("a").cast(pl.UInt32), pl.col("uses").cast(pl.UInt32)).equals(
        want.select(pl.col("a").cast(pl.UInt32), "kind", "value", "first", "last", pl.col("uses").cast(pl.UInt32)))
    # Codes follow (kind, value) order.
    assert prep.identifier_values.sort("kind", "value")["v"].to_list() == list(range(prep.identifier_values.height))


def _fixed_hash(table: dict[str | None, int]):
    return lambda values: np.array([table[v] for v in values.to_list()], dtype=np.uint64)


def test_ids_are_coded_by_their_position_and_unknown_ones_are_null():
    ids = pl.Series(["u1", "u2", "u3"])
    hashed = pl.DataFrame({"_h": pr._hash(ids), "_code": np.arange(3, dtype=np.uint32)})
    values = pl.Series(["u3", "stranger", None, "u1", "u3"])
    assert pr._positions(values, ids, hashed).to_list() == [2, None, None, 0, 2]
    assert pr._positions(values, ids, None).to_list() == [2, None, None, 0, 2]


def test_a_value_with_an_ids_hash_but_not_its_text_is_not_given_its_code(monkeypatch):
    # "forged" hashes like "u1": the integer join would give it u1's code; the check of
    # every value found against its id sends the column to the string join.
    monkeypatch.setattr(pr, "_hash", _fixed_hash({"u1": 7, "u2": 8, "forged": 7, None: 0}))
    ids = pl.Series(["u1", "u2"])
    hashed = pl.DataFrame({"_h": pr._hash(ids), "_code": np.arange(2, dtype=np.uint32)})
    assert pr._positions(pl.Series(["forged", "u2", "u1"]), ids, hashed).to_list() == [None, 1, 0]


def test_ids_that_share_a_hash_are_still_coded_apart(monkeypatch):
    monkeypatch.setattr(pr, "_hash", _fixed_hash({"x": 5, "y": 5, "m": 1}))
    ds = Dataset.from_frames(accounts=pl.DataFrame({"account_id": ["x", "y"]}),
                             merchants=pl.DataFrame({"merchant_id": ["m"]}),
                             reviews=pl.DataFrame({"review_id": ["r1", "r2"], "account_id": ["y", "x"],
                                                   "merchant_id": ["m", "m"], "rating": [5.0, 1.0],
                                                   "created_at": [60, 120]}))
    prep = pr.prepare(ds)
    assert prep.reviews.select("a", "rating").rows() == [(1, 5.0), (0, 1.0)]
