"""Input contract: every malformed input gets its documented error or reject record."""

from __future__ import annotations

import gzip

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphfraud.errors import DataContractError
from graphfraud.ingest import load_dataset
from graphfraud.parse import normalise_id, parse_timestamp

from .conftest import write


def rejects(result, table=None):
    df = result.report.rejects
    return df.filter(pl.col("table") == table) if table else df


def test_minimal_loads_and_keeps_leading_zeros(minimal):
    res = load_dataset(minimal)
    assert res.dataset["accounts"]["account_id"].to_list() == ["007", "A2"]
    assert res.report.n_rejected == 0
    ts = res.dataset["reviews"]["created_at"].to_list()
    # 2024-03-01 10:00 in Asia/Shanghai is 02:00 UTC; 1709251200 is 2024-03-01 00:00 UTC.
    assert [t.isoformat() for t in ts] == ["2024-03-01T02:00:00+00:00", "2024-03-01T00:00:00+00:00"]


def test_naive_times_follow_tz_option(minimal):
    res = load_dataset(minimal, tz="UTC")
    assert res.dataset["reviews"]["created_at"][0].isoformat() == "2024-03-01T10:00:00+00:00"


def test_missing_required_table(minimal):
    (minimal / "reviews.csv").unlink()
    with pytest.raises(DataContractError, match=r"missing required table\(s\) reviews.*reviews\.csv"):
        load_dataset(minimal)


def test_missing_required_column(minimal):
    write(minimal, "merchants.csv", "id,name\nm1,x\n")
    with pytest.raises(DataContractError, match=r"merchants\.csv: missing required column\(s\) merchant_id"):
        load_dataset(minimal)


def test_empty_file(minimal):
    write(minimal, "merchants.csv", "")
    with pytest.raises(DataContractError, match=r"merchants\.csv: the file is empty"):
        load_dataset(minimal)


def test_header_only_table_is_usable(minimal):
    write(minimal, "orders.csv", "order_id,account_id,merchant_id,created_at\n")
    res = load_dataset(minimal)
    assert res.dataset["orders"].height == 0 and not res.dataset.has("orders")


def test_utf8_bom(minimal):
    write(minimal, "merchants.csv", "\ufeffmerchant_id,name\nm1,店铺一\nm2,店铺二\n")
    res = load_dataset(minimal)
    assert res.dataset["merchants"]["name"].to_list() == ["店铺一", "店铺二"]


def test_gbk_detected_and_forced(minimal):
    write(minimal, "merchants.csv", "merchant_id,name\nm1,店铺一\nm2,店铺二\n".encode("gbk"))
    res = load_dataset(minimal)
    assert res.dataset["merchants"]["name"].to_list() == ["店铺一", "店铺二"]
    assert res.report.as_dict()["merchants"]["encoding"] == "gb18030"
    for name in ("accounts.csv", "reviews.csv"):  # a forced encoding applies to every file
        write(minimal, name, (minimal / name).read_text("utf-8").encode("gbk"))
    assert load_dataset(minimal, encoding="gbk").dataset["reviews"]["text"].to_list() == ["不错", "还行"]
    with pytest.raises(DataContractError, match=r"merchants\.csv: line 2 is not valid utf-8.*--encoding gb18030"):
        load_dataset(minimal, encoding="utf-8")


def test_bad_timestamps_and_ratings_are_rejected_with_line_and_column(minimal):
    write(minimal, "reviews.csv",
          "review_id,account_id,merchant_id,rating,created_at\n"
          "r1,007,m1,5,2024-03-01 10:00:00\n"
          "r2,007,m1,0,2024-03-01 10:00:00\n"
          "r3,007,m1,6,2024-03-01 10:00:00\n"
          "r4,007,m1,five,2024-03-01 10:00:00\n"
          "r5,007,m1,5,yesterday\n"
          "r6,007,m1,5,2024-02-30 10:00:00\n"
          "r7,007,m1,,2024-03-01 10:00:00\n")
    res = load_dataset(minimal)
    got = rejects(res, "reviews").select("line", "column", "value", "reason").rows()
    assert got == [
        (3, "rating", "0", "rating outside 1-5 or not a number"),
        (4, "rating", "6", "rating outside 1-5 or not a number"),
        (5, "rating", "five", "rating outside 1-5 or not a number"),
        (6, "created_at", "yesterday", "unparseable timestamp"),
        (7, "created_at", "2024-02-30 10:00:00", "unparseable timestamp"),
        (8, "rating", None, "missing required value"),
    ]
    rep = res.report.as_dict()["reviews"]
    assert rep["read"] == 7 and rep["accepted"] == 1 and rep["rejected"] == 6


def test_duplicate_ids_keep_first(minimal):
    write(minimal, "accounts.csv", "account_id\na\nb\na\n a \n")
    res = load_dataset(minimal)
    assert res.dataset["accounts"]["account_id"].to_list() == ["a", "b"]
    assert rejects(res, "accounts").select("line", "reason").rows() == [
        (4, "duplicate primary key"), (5, "duplicate primary key")]


def test_dangling_references_cascade(minimal):
    write(minimal, "reviews.csv", "review_id,account_id,merchant_id,rating,created_at\n"
                                  "r1,007,m1,5,2024-03-01\nr2,ghost,m1,5,2024-03-01\nr3,007,nowhere,5,2024-03-01\n")
    write(minimal, "review_likes.csv", "account_id,review_id\n007,r1\n007,r2\n")
    res = load_dataset(minimal)
    assert rejects(res).select("table", "line", "column", "reason").rows() == [
        ("reviews", 3, "account_id", "unknown account"),
        ("reviews", 4, "merchant_id", "unknown merchant"),
        ("review_likes", 3, "review_id", "unknown review"),
    ]
    for t in res.report.tables:
        assert t.accepted + t.rejected == t.read


def test_quoted_newlines_keep_line_numbers(minimal):
    write(minimal, "reviews.csv", 'review_id,account_id,merchant_id,rating,created_at,text\n'
                                  'r1,007,m1,5,2024-03-01,"第一行\n第二行\n第三行"\n'
                                  'r2,007,m1,9,2024-03-01,x\n')
    res = load_dataset(minimal)
    assert res.dataset["reviews"]["text"][0] == "第一行\n第二行\n第三行"
    assert rejects(res, "reviews")["line"].to_list() == [5]


def test_extra_columns_are_carried(minimal):
    write(minimal, "merchants.csv", "merchant_id,name,region\nm1,a,华东\nm2,b,华南\n")
    assert load_dataset(minimal).dataset["merchants"]["region"].to_list() == ["华东", "华南"]


def test_parquet_jsonl_and_gzip(minimal):
    pl.read_csv(minimal / "merchants.csv").write_parquet(minimal / "merchants.parquet")
    (minimal / "merchants.csv").unlink()
    (minimal / "reviews.jsonl.gz").write_bytes(gzip.compress(
        b'{"review_id": 1, "account_id": "007", "merchant_id": "m1", "rating": 5, "created_at": "2024-03-01"}\n'
        b'{"review_id": 2, "account_id": "007", "merchant_id": "m1", "rating": 7, "created_at": 1709251200000}\n'))
    (minimal / "reviews.csv").unlink()
    res = load_dataset(minimal)
    assert res.dataset["merchants"].height == 2
    assert res.dataset["reviews"]["review_id"].to_list() == ["1"]
    assert rejects(res, "reviews").select("file", "line", "column").rows() == [("reviews.jsonl.gz", 2, "rating")]


def test_table_given_twice(minimal):
    write(minimal, "merchants.jsonl", '{"merchant_id": "m1"}\n')
    with pytest.raises(DataContractError, match="given twice"):
        load_dataset(minimal)


def test_unknown_encoding_and_zone(minimal):
    with pytest.raises(DataContractError, match="--encoding 'latin9'"):
        load_dataset(minimal, encoding="latin9")
    with pytest.raises(DataContractError, match="unknown time zone 'Mars/Base'"):
        load_dataset(minimal, tz="Mars/Base")


def test_reject_report_file(minimal, tmp_path):
    write(minimal, "accounts.csv", "account_id\na\na\n")
    res = load_dataset(minimal)
    path = res.report.write_rejects(tmp_path / "out" / "rejects.csv")
    back = pl.read_csv(path)
    assert back.columns == ["table", "file", "line", "column", "value", "reason"]
    # The two reviews reference accounts that no longer exist: 1 duplicate + 2 dangling.
    assert back.height == 3


# ---------------------------------------------------------------- properties
ids = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12)


@settings(max_examples=200, deadline=None)
@given(ids)
def test_normalise_id_is_idempotent_and_strips(value):
    once = pl.select(normalise_id(pl.lit(value, pl.String))).item()
    twice = pl.select(normalise_id(pl.lit(once, pl.String))).item()
    assert once == twice
    junk = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\xa0\u200b\u2028\u3000\ufeff "
    assert once is None or (once == once.strip(junk) and once.strip() == once and once != "")


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6))
def test_numeric_ids_keep_leading_zeros(n):
    value = f"{n:09d}"
    assert pl.select(normalise_id(pl.lit(value))).item() == value


@settings(max_examples=200, deadline=None)
@given(st.integers(946_684_800, 4_102_444_800), st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]))
def test_timestamp_forms_agree(epoch, tz):
    import datetime as dt
    from zoneinfo import ZoneInfo

    when = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    local = when.astimezone(ZoneInfo(tz))
    forms = [str(epoch), str(epoch * 1000), when.strftime("%Y-%m-%dT%H:%M:%SZ"),
             local.isoformat(), local.strftime("%Y-%m-%dT%H:%M:%S%z")]
    if local.fold == 0 and (local.replace(tzinfo=None) + dt.timedelta(0)).utcoffset() is None:
        forms.append(local.strftime("%Y-%m-%d %H:%M:%S"))  # naive form, unambiguous
    parsed = pl.select(parse_timestamp(pl.Series(forms), tz)).to_series().to_list()
    assert all(p == when for p in parsed), (forms, parsed)
