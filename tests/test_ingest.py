"""Input contract: every malformed input gets its documented error or reject record."""

from __future__ import annotations

import gzip

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphfraud.errors import DataContractError, ParameterError
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


def test_a_table_named_in_other_case_is_pointed_at(minimal):
    # Windows exports write Reviews.CSV; table file names are lower-case.
    (minimal / "reviews.csv").rename(minimal / "Reviews.CSV")
    with pytest.raises(DataContractError, match=r"missing required table\(s\) reviews.*"
                                                r"Reviews\.CSV is there: rename it to reviews\.csv"):
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
    # The naive wall-clock form names one instant only outside a DST overlap (where the two
    # readings, fold 0 and fold 1, have different offsets); there it is left out.
    wall = local.replace(tzinfo=None)
    zone = ZoneInfo(tz)
    if wall.replace(tzinfo=zone, fold=0).utcoffset() == wall.replace(tzinfo=zone, fold=1).utcoffset():
        forms.append(local.strftime("%Y-%m-%d %H:%M:%S"))
    parsed = pl.select(parse_timestamp(pl.Series(forms), tz)).to_series().to_list()
    assert all(p == when for p in parsed), (forms, parsed)


# ---------------------------------------------------------------- plausibility and units at the edge
REVIEW_HEADER = "review_id,account_id,merchant_id,rating,created_at\n"


def test_far_future_and_far_past_timestamps_are_rejected_with_their_place(minimal):
    write(minimal, "reviews.csv", REVIEW_HEADER + "r1,007,m1,5,2024-03-01\nr2,007,m1,5,9999-12-31\n"
                                                  "r3,007,m1,5,1970-01-02\nr4,A2,m1,5,1709251200\n")
    res = load_dataset(minimal)
    assert rejects(res, "reviews").select("file", "line", "column", "value", "reason").rows() == [
        ("reviews.csv", 3, "created_at", "9999-12-31", "timestamp outside the accepted range (see --time-range)"),
        ("reviews.csv", 4, "created_at", "1970-01-02", "timestamp outside the accepted range (see --time-range)"),
    ]
    assert res.dataset["reviews"]["review_id"].to_list() == ["r1", "r4"]


def test_time_range_is_configurable(minimal):
    write(minimal, "reviews.csv", REVIEW_HEADER + "r1,007,m1,5,2024-03-01\nr2,007,m1,5,2019-06-01\n")
    res = load_dataset(minimal, time_range="2020-01-01..2030-01-01")
    assert rejects(res, "reviews")["line"].to_list() == [3]
    assert str(res.report.time_range) == "2020-01-01T00:00:00Z..2030-01-01T00:00:00Z"
    # Accounts registered in 2024 are now outside an explicit 2019 range, with their line.
    res = load_dataset(minimal, time_range="..2019-12-31")
    assert rejects(res, "accounts")[["line", "column"]].rows() == [(2, "created_at"), (3, "created_at")]
    with pytest.raises(ParameterError, match=r"--time-range 'soon': write START\.\.END"):
        load_dataset(minimal, time_range="soon")


def test_epoch_units_from_magnitude_or_declared(minimal):
    s = 1_709_251_200  # 2024-03-01T00:00:00Z
    write(minimal, "reviews.csv", REVIEW_HEADER + "".join(
        f"r{i},007,m1,5,{v}\n" for i, v in enumerate([s, s * 10**3, s * 10**6, s * 10**9])))
    res = load_dataset(minimal)
    assert res.report.n_rejected == 0
    assert {t.isoformat() for t in res.dataset["reviews"]["created_at"]} == {"2024-03-01T00:00:00+00:00"}
    # Declared milliseconds: the seconds value is 1970 and the microseconds value too large.
    res = load_dataset(minimal, epoch_unit="ms")
    assert rejects(res, "reviews")[["line", "reason"]].rows() == [
        (2, "timestamp outside the accepted range (see --time-range)"), (4, "unparseable timestamp"),
        (5, "unparseable timestamp")]
    with pytest.raises(DataContractError, match="--epoch-unit 'days'"):
        load_dataset(minimal, epoch_unit="days")


def test_compact_dates_are_dates_never_epoch_seconds(minimal):
    write(minimal, "reviews.csv", REVIEW_HEADER + "r1,007,m1,5,20240301\nr2,007,m1,5,20240301103000\n"
                                                  "r3,007,m1,5,20240231\n")
    res = load_dataset(minimal, tz="UTC")
    assert [t.isoformat() for t in res.dataset["reviews"]["created_at"]] == [
        "2024-03-01T00:00:00+00:00", "2024-03-01T10:30:00+00:00"]
    assert rejects(res, "reviews")[["line", "reason"]].rows() == [(4, "unparseable timestamp")]


def test_parquet_timestamp_types_are_honoured(minimal):
    import datetime as dt

    when = dt.datetime(2024, 3, 1, 2, 0)
    base = {"review_id": ["r1"], "account_id": ["007"], "merchant_id": ["m1"], "rating": [5.0]}
    (minimal / "reviews.csv").unlink()
    utc = pl.Series([when]).dt.replace_time_zone("UTC")
    columns = {
        "epoch microseconds as Int64": pl.Series([1_709_258_400_000_000], dtype=pl.Int64),
        "epoch nanoseconds as Int64": pl.Series([1_709_258_400_000_000_000], dtype=pl.Int64),
        "timestamp[us, UTC]": utc.dt.cast_time_unit("us"),
        "timestamp[ns, UTC]": utc.dt.cast_time_unit("ns"),
        "timestamp[ms, Asia/Shanghai]": utc.dt.cast_time_unit("ms").dt.convert_time_zone("Asia/Shanghai"),
        "naive timestamp (read in --tz)": pl.Series([when]),
    }
    for kind, column in columns.items():
        pl.DataFrame(base).with_columns(column.alias("created_at")).write_parquet(minimal / "reviews.parquet")
        res = load_dataset(minimal, tz="UTC")
        assert res.report.n_rejected == 0, kind
        assert res.dataset["reviews"]["created_at"].to_list() == [when.replace(tzinfo=dt.timezone.utc)], kind
    pl.DataFrame(base).with_columns(pl.Series("created_at", [dt.date(2024, 3, 1)])).write_parquet(
        minimal / "reviews.parquet")
    got = load_dataset(minimal, tz="Asia/Shanghai").dataset["reviews"]["created_at"].to_list()
    assert got == [dt.datetime(2024, 2, 29, 16, 0, tzinfo=dt.timezone.utc)]  # midnight in Shanghai


def test_amounts_must_be_finite_non_negative_and_bounded(minimal):
    write(minimal, "orders.csv", "order_id,account_id,merchant_id,created_at,amount\n" + "".join(
        f"o{i},007,m1,2024-03-01,{a}\n" for i, a in enumerate(["12.5", "0", "inf", "nan", "-852000", "1e300", "-0.01",
                                                                "ten"])))
    write(minimal, "transfers.csv", "from_payment_account_id,to_payment_account_id,amount,created_at\n"
                                    "p1,p2,-5,2024-03-01\np1,p2,Infinity,2024-03-01\np1,p2,5,2024-03-01\n")
    res = load_dataset(minimal)
    assert res.dataset["orders"]["amount"].to_list() == [12.5, 0.0]
    bad = rejects(res, "orders")
    assert bad["value"].to_list() == ["inf", "nan", "-852000", "1e300", "-0.01", "ten"]
    assert set(bad["reason"][:5]) == {"amount negative, not finite or above 1e+10"}
    assert bad["reason"][5] == "not a number"
    assert res.dataset["transfers"]["amount"].to_list() == [5.0]
    # NaN stars are not a rating either.
    write(minimal, "reviews.csv", REVIEW_HEADER + "r1,007,m1,NaN,2024-03-01\nr2,007,m1,inf,2024-03-01\n"
                                                  "r3,007,m1,4,2024-03-01\n")
    assert rejects(load_dataset(minimal), "reviews")["line"].to_list() == [2, 3]


# ---------------------------------------------------------------- honest validation
def test_duplicate_column_names_are_an_error_naming_both_positions(minimal):
    write(minimal, "reviews.csv", "review_id,account_id,merchant_id,rating,created_at,rating\n"
                                  "r1,007,m1,5,2024-03-01,1\n")
    with pytest.raises(DataContractError, match=r"reviews\.csv: column 'rating' appears twice in the header "
                                                 r"\(columns 4 and 6\)"):
        load_dataset(minimal)
    # Names that only differ by surrounding blanks or a BOM are the same column.
    write(minimal, "merchants.csv", "merchant_id,name, name\nm1,a,b\n")
    with pytest.raises(DataContractError, match=r"column 'name' appears twice in the header \(columns 2 and 3\)"):
        load_dataset(minimal)


def test_ragged_rows_are_rejected_one_by_one(minimal):
    write(minimal, "reviews.csv", REVIEW_HEADER + "r1,007,m1,5,2024-03-01\nr2,007,m1,5\n"
                                                  "r3,007,m1,5,2024-03-01,surplus\nr4,A2,m2,4,2024-03-01\n")
    res = load_dataset(minimal)
    assert res.dataset["reviews"]["review_id"].to_list() == ["r1", "r4"]
    assert rejects(res, "reviews")[["line", "value", "reason"]].rows() == [
        (3, "r2,007,m1,5", "row has 4 field(s), the header has 5"),
        (4, "r3,007,m1,5,2024-03-01,surplus", "row has 6 field(s), the header has 5")]
    rep = res.report.as_dict()["reviews"]
    assert rep["read"] == 4 and rep["accepted"] + rep["rejected"] == 4


def test_an_unclosed_quote_costs_one_row_not_the_table(minimal):
    write(minimal, "reviews.csv", REVIEW_HEADER.replace("\n", ",text\n")
          + 'r1,007,m1,5,2024-03-01,"never closed\n'
          + 'r2,007,m1,5,2024-03-01,"第一行\n第二行"\n'
          + 'r3,A2,m2,4,2024-03-01,5" screen\n'
          + 'r4,A2,m2,4,2024-03-01,"x"y\n'
          + 'r5,A2,m2,4,2024-03-01,"ok"\n')
    res = load_dataset(minimal)
    assert res.dataset["reviews"]["review_id"].to_list() == ["r2", "r3", "r5"]
    assert res.dataset["reviews"]["text"].to_list() == ["第一行\n第二行", '5" screen', "ok"]
    got = rejects(res, "reviews")[["line", "reason"]].rows()
    assert got[0] == (2, 'unclosed quote: no closing " before the end of the record')
    assert got[1][0] == 6 and got[1][1].startswith("malformed CSV quoting")
    assert res.report.as_dict()["reviews"]["read"] == 5


def test_blank_lines_are_not_rows_and_keep_line_numbers(minimal):
    write(minimal, "reviews.csv", REVIEW_HEADER + "\nr1,007,m1,5,2024-03-01\n\r\nr2,007,m1,9,2024-03-01\n\n\n")
    res = load_dataset(minimal)
    assert res.report.as_dict()["reviews"]["read"] == 2
    assert rejects(res, "reviews")["line"].to_list() == [5]


def test_broken_json_lines_are_rejected_with_their_line(minimal):
    (minimal / "reviews.csv").unlink()
    ok = '{"review_id": "%s", "account_id": "007", "merchant_id": "m1", "rating": 5, "created_at": "2024-03-01"}\n'
    write(minimal, "reviews.jsonl", ok % "r1" + '{"review_id": "r2", "rating": \n' + "\n" + "[1, 2]\n"
          + ok.replace("}", ', "extra": {"nested": [1, 2]}}') % "r3" + '"just a string"\n')
    res = load_dataset(minimal)
    assert res.dataset["reviews"]["review_id"].to_list() == ["r1", "r3"]
    assert res.dataset["reviews"]["extra"].to_list() == [None, '{"nested": [1, 2]}']
    got = rejects(res, "reviews")[["line", "reason"]].rows()
    assert [line for line, _ in got] == [2, 4, 6]
    assert got[0][1].startswith("not valid JSON") and got[1][1] == got[2][1] == "not a JSON object"


@pytest.mark.parametrize("broken", [False, True], ids=["fast path", "record-by-record path"])
@pytest.mark.parametrize("twice", ['"account_id": "007", "account_id": "A2"',
                                   '"account_id": "007", "account_\\u0069d": "A2"',
                                   '"account_id": "007", "account_id" : null'],
                         ids=["plain", "spelt with an escape", "second is null"])
def test_a_json_key_given_twice_is_an_error_naming_line_and_key_on_both_read_paths(minimal, twice, broken):
    # polars keeps the first of two equal keys and Python's json the last: the file must
    # not mean one thing or the other depending on whether another line is broken.
    (minimal / "reviews.csv").unlink()
    row = '{"review_id": "%s", %s, "merchant_id": "m1", "rating": 5, "created_at": "2024-03-01", "text": null}\n'
    lines = [row % ("r1", '"account_id": "007"'), "\n", '{"review_id": "r0", "text": "\\"account_id\\": 1"}\n',
             row % ("r2", twice), row % ("r3", twice)]
    write(minimal, "reviews.jsonl", "".join(lines) + ("{broken\n" if broken else ""))
    with pytest.raises(DataContractError) as err:
        load_dataset(minimal)
    assert str(err.value) == (
        f"{minimal / 'reviews.jsonl'}: line 4 gives the key 'account_id' twice in one JSON object. Keep one of the "
        "two and read the file again: graphfraud will not guess which value is meant (JSON readers disagree, some "
        "take the first and some the last).")


def test_a_json_key_given_twice_only_inside_a_value_or_a_nested_object_is_data(minimal):
    (minimal / "reviews.csv").unlink()
    write(minimal, "reviews.jsonl",
          '{"review_id": "r1", "account_id": "007", "merchant_id": "m1", "rating": 5, "created_at": "2024-03-01", '
          '"text": "\\"account_id\\": \\"x\\"", "meta": {"account_id": "y"}}\n'
          '{"review_id": "r2", "account_id": "A2", "merchant_id": "m2", "rating": 4, "created_at": "2024-03-01", '
          '"text": "account_id", "meta": null}\n')
    res = load_dataset(minimal)
    assert res.dataset["reviews"]["account_id"].to_list() == ["007", "A2"]
    assert res.dataset["reviews"]["text"].to_list() == ['"account_id": "x"', "account_id"]


def test_encoding_errors_name_the_line_and_a_working_encoding(minimal):
    # A GBK file forced as UTF-8: gb18030 and gbk both decode it.
    write(minimal, "merchants.csv", "merchant_id,name\nm1,店铺一\nm2,店铺二\n".encode("gbk"))
    with pytest.raises(DataContractError,
                       match=r"line 2 is not valid utf-8\. Re-run with --encoding gb18030 \(or gbk\)"):
        load_dataset(minimal, encoding="utf-8")
    # A file mixing UTF-8 and GBK lines: no advice to switch back and forth, but where each fails.
    write(minimal, "merchants.csv",
          "merchant_id,name\nm1,店铺一\n".encode() + "m2,店铺二\n".encode("gbk") + b"m3,\xff\n")
    with pytest.raises(DataContractError) as info:
        load_dataset(minimal)
    message = str(info.value)
    assert "line 3 is not valid utf-8 or gb18030" in message
    assert "No supported encoding decodes the whole file (utf-8 fails at line 3, gb18030 fails at line 2" in message
    assert "--encoding" not in message


def test_messages_quote_at_most_a_short_excerpt(minimal):
    # A header-only file of megabytes: the error names the size and the limit, and quotes 200 characters.
    write(minimal, "merchants.csv", "merchant_id_" + "x" * 5_000_000 + "\n")
    with pytest.raises(DataContractError) as info:
        load_dataset(minimal)
    assert len(str(info.value)) < 600
    assert "5,000,012 bytes long (limit 65,536)" in str(info.value)
    # A short but wrong header is listed, cut to 200 characters.
    write(minimal, "merchants.csv", ",".join(f"col{i:04d}" for i in range(2000)) + "\nx\n")
    with pytest.raises(DataContractError, match="missing required column") as info:
        load_dataset(minimal)
    listed = str(info.value).split("header has: ", 1)[1].split(")", 1)[0]
    assert listed.startswith("col0000, col0001") and listed.endswith("… (17,998 characters")
    assert len(listed) < 240
    # Reject records quote long values cut, with their length.
    write(minimal, "merchants.csv", "merchant_id\nm1\n")
    write(minimal, "reviews.csv", REVIEW_HEADER + "r1,007,m1," + "9" * 5000 + ",2024-03-01\n")
    value = rejects(load_dataset(minimal), "reviews")["value"][0]
    assert value == "9" * 200 + "… (5000 characters)"


def test_field_and_header_sizes_are_capped(minimal):
    from graphfraud.contract import MAX_FIELD_BYTES

    write(minimal, "reviews.csv", REVIEW_HEADER.replace("\n", ",text\n") + "r1,007,m1,5,2024-03-01,"
          + "长" * (MAX_FIELD_BYTES // 3 + 1) + "\nr2,007,m1,5,2024-03-01,fine\n")
    res = load_dataset(minimal)
    assert rejects(res, "reviews")[["line", "column", "reason"]].rows() == [
        (2, "text", f"value longer than {MAX_FIELD_BYTES:,} bytes")]
    assert res.dataset["reviews"]["review_id"].to_list() == ["r2"]


def test_usability_needs_rows_in_every_required_table_and_few_rejects(minimal):
    assert load_dataset(minimal).report.problems() == ([], [])
    write(minimal, "reviews.csv", REVIEW_HEADER + "r1,ghost,m1,5,2024-03-01\nr2,ghost,m1,5,2024-03-01\n")
    fatal, _ = load_dataset(minimal).report.problems()
    assert fatal == ["reviews: all 2 row(s) rejected"]
    write(minimal, "reviews.csv", REVIEW_HEADER + "".join(f"r{i},007,m1,5,2024-03-01\n" for i in range(8))
          + "r8,ghost,m1,5,2024-03-01\nr9,007,m1,5,yesterday\n")
    assert load_dataset(minimal).report.problems() == ([], ["reviews: 20.0% of 10 row(s) rejected"])
    # An optional table that loses every row is a warning, not silence.
    write(minimal, "logins.csv", "account_id,created_at\nghost,2024-03-01\n")
    assert load_dataset(minimal).report.problems()[1][-1] == "logins: 100.0% of 1 row(s) rejected"


# ---------------------------------------------------------------- inputs that never end
def test_a_fifo_is_refused_without_waiting(minimal):
    import os

    (minimal / "reviews.csv").unlink()
    os.mkfifo(minimal / "reviews.csv")  # nobody ever writes to it: reading would block forever
    with pytest.raises(DataContractError, match=r"reviews\.csv: is a named pipe \(FIFO\), not a regular file"):
        load_dataset(minimal)


def test_devices_symlink_loops_and_broken_links_are_refused(minimal):
    (minimal / "reviews.csv").unlink()
    (minimal / "reviews.csv").symlink_to("/dev/zero")  # would read until memory runs out
    with pytest.raises(DataContractError, match="is a character device, not a regular file"):
        load_dataset(minimal)
    (minimal / "reviews.csv").unlink()
    (minimal / "reviews.csv").symlink_to(minimal / "reviews.csv")
    with pytest.raises(DataContractError, match="a symbolic link loop"):
        load_dataset(minimal)
    (minimal / "reviews.csv").unlink()
    (minimal / "reviews.csv").symlink_to(minimal / "gone.csv")
    with pytest.raises(DataContractError, match="a broken symbolic link"):
        load_dataset(minimal)


def test_gzip_bombs_stop_while_inflating(minimal, monkeypatch):
    from graphfraud.ingest import read

    (minimal / "reviews.csv").unlink()
    bomb = gzip.compress(REVIEW_HEADER.encode() + b"0" * 50_000_000, compresslevel=9)
    write(minimal, "reviews.csv.gz", bomb)
    monkeypatch.setattr(read, "GZIP_MIN_ALLOWANCE", 1_000_000)
    with pytest.raises(DataContractError, match=r"reviews\.csv\.gz: inflates to more than .* decompression bomb"):
        load_dataset(minimal)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=300).map(lambda b: bytes(b'ab,"\n'[x % 5] for x in b)),
       st.sampled_from([1, 2, 7, 64, 1 << 23]))
def test_record_structure_is_the_same_in_any_chunking(data, chunk):
    """Record boundaries, field counts and line numbers by quote parity, chunked or not."""
    import numpy as np

    from graphfraud.ingest import read

    starts, fields, lines, inside, line, start, start_line, commas = [], [], [], False, 1, 0, 1, 0
    for pos, byte in enumerate(data):  # the plain sequential definition
        if byte == ord('"'):
            inside = not inside
        elif byte == ord(",") and not inside:
            commas += 1
        elif byte == ord("\n"):
            line += 1
            if not inside:
                starts.append(start), fields.append(commas + 1), lines.append(start_line)
                start, start_line, commas = pos + 1, line, 0
    if start < len(data):
        starts.append(start), fields.append(commas + 1), lines.append(start_line)
    old, read._CHUNK = read._CHUNK, chunk
    try:
        got = read._structure(data)
    finally:
        read._CHUNK = old
    assert got.starts.tolist() == starts and got.fields.tolist() == fields and got.lines.tolist() == lines
    assert got.balanced == (not inside)
    assert np.all(got.ends >= got.starts)


# ------------------------------------------------------------------ reading the contract's columns only
def _same_load(a, b):
    """Two loads agree on every table's contract columns and on every reject record."""
    for name in a.dataset.tables:
        cols = [c for c in a.dataset[name].columns if c in b.dataset[name].columns]
        assert a.dataset[name].select(cols).equals(b.dataset[name].select(cols)), name
    assert a.report.rejects.equals(b.report.rejects)


def test_contract_only_skips_and_names_other_columns(minimal):
    write(minimal, "merchants.csv", "merchant_id,region,name,notes\nm1,华东,a,x\nm2,华南,b\nm3,华北,c,z\n")
    pl.DataFrame({"review_id": ["r1", "r2", "r3"], "account_id": ["007", "007", "A2"], "merchant_id": ["m1"] * 3,
                  "rating": [5, 7, 4], "created_at": ["2024-03-01 10:00:00"] * 3, "score": [0.5, 0.1, 0.2],
                  "text": ["好", None, "ok"]}).write_parquet(minimal / "reviews.parquet")
    (minimal / "reviews.csv").unlink()
    full, lean = load_dataset(minimal), load_dataset(minimal, contract_only=True)
    assert full.dataset["merchants"]["region"].to_list() == ["华东", "华北"]  # carried by default
    assert "region" not in lean.dataset["merchants"].columns and "score" not in lean.dataset["reviews"].columns
    assert lean.report.unread_columns == {"merchants.csv": ["region", "notes"], "reviews.parquet": ["score"]}
    assert lean.dataset.sources["reviews"]["unread_columns"] == ["score"]
    assert full.report.unread_columns == {} and "unread_columns" not in full.dataset.sources["reviews"]
    # The ragged row (line 3: 3 fields of 4) is rejected either way: fields are counted on the whole record.
    assert rejects(lean, "merchants")["line"].to_list() == [3]
    _same_load(full, lean)


@pytest.mark.parametrize(("column", "values", "shown", "expected", "pick"), [
    ("rating", pa.array([[5], [4, 3]], pa.list_(pa.int64())), "List(Int64), a list per row",
     "rating values must be a number or text", "pl.col('rating').list.first()"),
    ("rating", pa.array([[5], [4]], pa.list_(pa.float64(), 1)), "Array(Float64, shape=(1,)), an array per row",
     "rating values must be a number or text", "pl.col('rating').list.first()"),
    ("created_at", pa.array([{"s": "2024-03-01", "tz": "+08:00"}] * 2), "Struct({'s': String, 'tz': String}), a struct "
     "per row", "timestamp values must be a timestamp, a date, an integer epoch or text",
     "pl.col('created_at').struct.field(...)"),
    ("account_id", pa.array([["007"], ["A2"]]), "List(String), a list per row", "id values must be text or an integer",
     "pl.col('account_id').list.first()"),
])
def test_a_parquet_list_or_struct_where_a_value_belongs_is_one_error(minimal, column, values, shown, expected, pick):
    # Written by pyarrow, as exports from Spark or pandas are: before, every row was
    # rejected with a printed list as its value.
    import pyarrow.parquet as pq

    (minimal / "reviews.csv").unlink()
    table = {"review_id": ["r1", "r2"], "account_id": ["007", "A2"], "merchant_id": ["m1", "m2"], "rating": [5, 4],
             "created_at": ["2024-03-01", "2024-03-02"], "text": [["nested", "text"], ["is", "kept"]]}
    pq.write_table(pa.table({**table, column: values}), minimal / "reviews.parquet")
    with pytest.raises(DataContractError) as err:
        load_dataset(minimal)
    assert str(err.value) == (
        f"{minimal / 'reviews.parquet'}: column {column!r} is of type {shown}, but {expected}, one per row. Write the "
        f"one value each row means (e.g. {pick} in polars) and export the table again.")


def test_a_parquet_list_of_texts_stays_text(minimal):
    import pyarrow.parquet as pq

    (minimal / "reviews.csv").unlink()
    pq.write_table(pa.table({"review_id": ["r1"], "account_id": ["007"], "merchant_id": ["m1"], "rating": [5],
                             "created_at": ["2024-03-01"], "text": [["好", "评"]]}), minimal / "reviews.parquet")
    assert load_dataset(minimal).dataset["reviews"]["text"].to_list() == ['["好", "评"]']


def test_json_lists_and_objects_are_the_same_text_on_both_read_paths():
    from pathlib import Path

    from graphfraud.ingest.read import read_jsonl_records

    data = '{"a": "x", "tags": ["一", "二"], "n": [1, 2], "meta": {"k": [1.5]}}\n'.encode()
    fast, _ = read_jsonl_records(data, Path("f.jsonl"), "reviews")
    slow, rejects = read_jsonl_records(data + b"{broken\n", Path("f.jsonl"), "reviews")
    assert rejects.height == 1 and fast.equals(slow)
    assert fast.row(0) == ("x", '["一", "二"]', "[1, 2]", '{"k": [1.5]}', 1)


def test_parquet_numbers_are_read_as_numbers(minimal):
    """Ratings and amounts from Parquet skip the text round trip; values and reject records stay the same."""
    base = {"order_id": ["o1", "o2", "o3", "o4", "o5"], "account_id": ["007"] * 5, "merchant_id": ["m1"] * 5,
            "created_at": ["2024-03-01 10:00:00"] * 5}
    amounts = pl.Series("amount", [12.0, -5.0, float("nan"), None, 2.5])
    pl.DataFrame(base).with_columns(amounts).write_parquet(minimal / "orders.parquet")
    typed = load_dataset(minimal, contract_only=True)
    assert typed.dataset["orders"]["amount"].to_list() == [12.0, None, 2.5]
    from graphfraud.ingest.transform import BAD_AMOUNT

    assert rejects(typed, "orders").select("line", "value", "reason").rows() == [(2, "-5", BAD_AMOUNT),
                                                                                  (3, "NaN", BAD_AMOUNT)]
    # The same values as text give the same table and the same reject records.
    pl.DataFrame(base).with_columns(pl.Series("amount", ["12", "-5", "NaN", None, "2.5"])).write_parquet(
        minimal / "orders.parquet")
    _same_load(typed, load_dataset(minimal))


def test_contract_only_jsonl_and_a_csv_the_fast_path_cannot_split(minimal):
    (minimal / "merchants.csv").unlink()
    write(minimal, "merchants.jsonl",
          '{"merchant_id": "m1", "tier": 3}\n{"merchant_id": "m2", "name": "b", "tier": 1}\n')
    # An unclosed quote sends the CSV through the record-by-record reader.
    write(minimal, "accounts.csv", 'account_id,nickname,source\n007,"x,app\nA2,y,web\n')
    full, lean = load_dataset(minimal), load_dataset(minimal, contract_only=True)
    assert lean.report.unread_columns == {"accounts.csv": ["source"], "merchants.jsonl": ["tier"]}
    assert full.dataset["merchants"]["tier"].to_list() == ["3", "1"]
    assert "source" not in lean.dataset["accounts"].columns
    from graphfraud.ingest.read import UNCLOSED_QUOTE

    assert rejects(lean, "accounts")["reason"].to_list() == [UNCLOSED_QUOTE]
    _same_load(full, lean)
