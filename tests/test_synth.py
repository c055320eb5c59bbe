"""Synthetic marketplace: determinism, truth consistency, contract schemas."""

from __future__ import annotations

import polars as pl
import pytest

from graphfraud.contract import CONTRACT
from graphfraud.errors import ParameterError
from graphfraud.ingest import load_dataset
from graphfraud.synth import BENIGN_KINDS, RING_KINDS, synthesize


@pytest.fixture(scope="module")
def result():
    return synthesize(3_000, seed=11)


@pytest.mark.slow
def test_deterministic(result):
    again = synthesize(3_000, seed=11)
    for name, frame in result.tables.items():
        assert frame.equals(again.tables[name]), name
    assert result.ring_members.equals(again.ring_members)
    other = synthesize(3_000, seed=12)
    assert not other.tables["reviews"].equals(result.tables["reviews"])


def test_truth_consistent(result):
    accounts = set(result.tables["accounts"]["account_id"])
    assert set(result.ring_members["account_id"]) <= accounts
    assert set(result.benign_groups["account_id"]) <= accounts
    assert set(result.ring_members["ring_kind"]) == set(RING_KINDS)
    assert set(result.benign_groups["group_kind"]) == set(BENIGN_KINDS)
    # A planted ring account is never also a benign look-alike, and rings are disjoint.
    assert not set(result.ring_members["account_id"]) & set(result.benign_groups["account_id"])
    assert result.ring_members["account_id"].is_unique().all()


def test_schemas_match_contract(result):
    for name, frame in result.tables.items():
        spec = CONTRACT[name]
        assert set(spec.required_columns) <= set(frame.columns), name
        assert set(frame.columns) <= set(spec.column_names), name


def test_round_trip_through_loader_rejects_nothing(tmp_path, result):
    from graphfraud.export.tables import write_tables

    write_tables(result.tables, tmp_path, "parquet")
    res = load_dataset(tmp_path)
    assert res.report.n_rejected == 0
    assert res.dataset.n_rows() == {k: v.height for k, v in result.tables.items()}


def test_rings_behave_like_rings(result):
    reviews = result.tables["reviews"]
    ring = reviews.join(result.ring_members, on="account_id")
    background_5 = (reviews["rating"] == 5).mean()
    assert (ring["rating"] == 5).mean() > background_5
    farm = ring.filter(pl.col("ring_kind") == "device_farm")
    # Farms review many client shops.
    assert farm.group_by("ring_id").agg(pl.col("merchant_id").n_unique())["merchant_id"].min() >= 8


def test_bad_size():
    with pytest.raises(ParameterError, match="n_accounts=10"):
        synthesize(10)
