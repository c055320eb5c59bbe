"""Tactic zoo: determinism, the input contract, truth, the review-only variant, and the
honesty check that no family is given away by one per-account column."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from graphfraud.cli import app
from graphfraud.errors import ParameterError
from graphfraud.export.tables import write_tables
from graphfraud.ingest import load_dataset
from graphfraud.synth.zoo import LOOKALIKES, TACTICS, single_column_auc, synthesize_zoo

SIZE = 4_000


@pytest.fixture(scope="module")
def zoo():
    return synthesize_zoo(SIZE, seed=5)


@pytest.fixture(scope="module")
def reviews_only():
    return synthesize_zoo(SIZE, seed=5, review_only=True)


def test_same_seed_same_tables(zoo):
    again = synthesize_zoo(SIZE, seed=5)
    assert zoo.tables.keys() == again.tables.keys()
    for name, frame in zoo.tables.items():
        assert frame.equals(again.tables[name]), name
    assert zoo.ring_members.equals(again.ring_members)
    assert zoo.benign_groups.equals(again.benign_groups)
    other = synthesize_zoo(SIZE, seed=6)
    assert not other.tables["reviews"].equals(zoo.tables["reviews"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_table_passes_the_contract(tmp_path, zoo, fmt):
    write_tables(zoo.tables, tmp_path, fmt)
    loaded = load_dataset(tmp_path)
    assert loaded.report.n_rejected == 0, loaded.report.rejects.head(5)
    assert loaded.dataset.n_rows() == {k: v.height for k, v in zoo.tables.items()}


def test_truth_is_consistent(zoo):
    accounts = set(zoo.tables["accounts"]["account_id"])
    rings, benign = zoo.ring_members, zoo.benign_groups
    assert set(rings["account_id"]) <= accounts
    assert set(benign["account_id"]) <= accounts
    assert set(rings["ring_kind"]) == set(TACTICS) and len(TACTICS) >= 10
    assert set(benign["group_kind"]) == set(LOOKALIKES) and len(LOOKALIKES) >= 10
    # Planted rings and innocent groups never share an account; rings are disjoint.
    assert not set(rings["account_id"]) & set(benign["account_id"])
    assert rings["account_id"].is_unique().all()
    assert rings.group_by("ring_id").len()["len"].min() >= 3
    # Every ring member acts.
    active = set(zoo.tables["reviews"]["account_id"]) | set(zoo.tables["orders"]["account_id"])
    assert set(rings["account_id"]) <= active


def test_instances_of_a_family_differ(zoo):
    groups = pl.concat([zoo.ring_members.select(pl.col("ring_id").alias("id"), pl.col("ring_kind").alias("family")),
                        zoo.benign_groups.select(pl.col("group_id").alias("id"), pl.col("group_kind").alias("family"))])
    sizes = groups.group_by("family", "id").len().group_by("family").agg(
        pl.len().alias("instances"), pl.col("len").n_unique().alias("distinct_sizes"))
    varied = sizes.filter(pl.col("instances") >= 2)
    assert varied.height >= 10
    # Randomised parameters: within a family instance sizes are not all the same.
    assert (varied["distinct_sizes"] > 1).mean() >= 0.8, varied


def test_review_only_variant(tmp_path, reviews_only):
    assert set(reviews_only.tables) == {"accounts", "merchants", "reviews"}
    assert set(reviews_only.tables["reviews"].columns) == {"review_id", "account_id", "merchant_id", "rating",
                                                           "created_at", "text"}
    # Every tactic can be expressed in reviews, so every one is there.
    assert set(reviews_only.ring_members["ring_kind"]) == set(TACTICS)
    accounts = set(reviews_only.tables["accounts"]["account_id"])
    assert set(reviews_only.ring_members["account_id"]) <= accounts
    assert set(reviews_only.benign_groups["account_id"]) <= accounts
    write_tables(reviews_only.tables, tmp_path, "csv")
    assert load_dataset(tmp_path).report.n_rejected == 0


def test_no_family_is_given_away_by_one_column():
    # Several instances per family: one instance alone is a noisy estimate of its family.
    zoo = synthesize_zoo(6_000, seed=3, rings_per_family=4, groups_scale=3)
    auc = single_column_auc(zoo.tables, zoo.ring_members, zoo.benign_groups)
    assert set(auc["family"]) == set(TACTICS) | set(LOOKALIKES)
    worst = auc.row(0, named=True)
    assert worst["auc"] <= 0.9, auc.head(5)


def test_the_check_catches_a_giveaway(zoo):
    """Make one family's accounts all register on one day: the check must report it."""
    members = zoo.ring_members.filter(pl.col("ring_kind") == "task_platform")["account_id"]
    accounts = zoo.tables["accounts"].with_columns(
        pl.when(pl.col("account_id").is_in(members.implode())).then(pl.lit("2099-01-01 00:00:00"))
        .otherwise(pl.col("created_at")).alias("created_at"))
    auc = single_column_auc({**zoo.tables, "accounts": accounts}, zoo.ring_members, zoo.benign_groups)
    row = auc.filter(pl.col("family") == "task_platform").row(0, named=True)
    assert row["best_column"] == "created_at" and row["auc"] == 1.0 and row["direction"] == "higher"


def test_family_selection_and_bad_names():
    res = synthesize_zoo(2_000, seed=1, families=("device_farm", "family"), rings_per_family=2)
    assert set(res.ring_members["ring_kind"]) == {"device_farm"}
    assert res.ring_members["ring_id"].n_unique() == 2
    assert set(res.benign_groups["group_kind"]) == {"family"}
    with pytest.raises(ParameterError, match="unknown family"):
        synthesize_zoo(2_000, families=("device_farms",))
    with pytest.raises(ParameterError, match="n_accounts"):
        synthesize_zoo(100)


def test_cli_writes_the_zoo(tmp_path):
    args = ["synth", str(tmp_path), "--zoo", "--accounts", "2000", "--seed", "2", "--format", "parquet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    truth = pl.read_csv(tmp_path / "truth" / "ring_members.csv")
    assert set(truth["ring_kind"]) == set(TACTICS)
    assert (tmp_path / "review_likes.parquet").exists() and (tmp_path / "truth" / "benign_groups.csv").exists()
