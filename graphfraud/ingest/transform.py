"""Pure transforms: raw string tables in, typed tables and reject records out.

Nothing here touches files; every function takes and returns polars objects, so
the rules are tested without I/O.

>>> import polars as pl
>>> from graphfraud.parse import parse_timestamp
>>> df = pl.DataFrame({"t": ["2024-01-02 03:04:05", "1700000000", "soon"]})
>>> df.select(parse_timestamp(pl.col("t"), "UTC")).to_series().to_list()[1]
datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
>>> df.select(parse_timestamp(pl.col("t"), "UTC")).to_series().null_count()
1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from ..contract import AMOUNT_MAX, MAX_FIELD_BYTES, Table, TimeRange
from ..parse import normalise_id_series, parse_number, parse_timestamp_series
from ..textsafe import EXCERPT_CHARS

#: Column holding each row's line number in its source file (1-based, header = line 1).
LINE = "_line"
REJECT_SCHEMA = {"table": pl.String, "file": pl.String, "line": pl.Int64, "column": pl.String,
                 "value": pl.String, "reason": pl.String}

# Reason strings are part of the public report format: keep them stable.
MISSING = "missing required value"
BAD_TIMESTAMP = "unparseable timestamp"
OUT_OF_RANGE = "timestamp outside the accepted range (see --time-range)"
BAD_RATING = "rating outside 1-5 or not a number"
BAD_NUMBER = "not a number"
BAD_AMOUNT = f"amount negative, not finite or above {AMOUNT_MAX:.0e}"
TOO_LONG = f"value longer than {MAX_FIELD_BYTES:,} bytes"
DUPLICATE = "duplicate primary key"

Check = Callable[[pl.Expr], pl.Expr]


def _checks(kind: str, time_range: TimeRange | None) -> list[tuple[Check, str]]:
    """[(check over the parsed value, reason)] for a column kind, in the order they are reported.

    The checks read the already parsed column, so each value is parsed once; the first
    failing check names the reason.
    """
    if kind == "timestamp":
        checks: list[tuple[Check, str]] = [(lambda v: v.is_null(), BAD_TIMESTAMP)]
        if time_range is not None:
            lo, hi = (pl.lit(t.astimezone(dt.timezone.utc), pl.Datetime("ms", "UTC"))
                      for t in (time_range.earliest, time_range.latest))
            checks.append((lambda v: (v < lo) | (v > hi), OUT_OF_RANGE))
        return checks
    if kind == "rating":
        return [(lambda v: v.is_null() | ~v.is_finite() | (v < 1) | (v > 5), BAD_RATING)]
    if kind == "amount":
        return [(lambda v: v.is_null(), BAD_NUMBER),
                (lambda v: ~v.is_finite() | (v < 0) | (v > AMOUNT_MAX), BAD_AMOUNT)]
    return []


def number_text(expr: pl.Expr) -> pl.Expr:
    """The text of a float as the raw tables hold it: whole values without ``.0``.

    12.0 becomes ``"12"``, so float-typed ids from spreadsheets still match.

    >>> pl.select(number_text(pl.lit(pl.Series([12.0, 2.5, float("inf")])))).to_series().to_list()
    ['12', '2.5', 'inf']
    """
    whole = expr.is_finite() & (expr == expr.round(0)) & (expr.abs() < 2.0**53)
    return pl.when(whole).then(expr.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(expr.cast(pl.String))


def _text(raw: pl.Series) -> pl.Expr:
    """A raw column as text: numbers (Parquet ratings and amounts read typed) as :func:`number_text`."""
    col = pl.lit(raw)
    return number_text(col) if raw.dtype.is_float() else col.cast(pl.String)


def _parsed(kind: str, raw: pl.Series, normalised: pl.Series, tz: str, epoch_unit: str) -> pl.Series | pl.Expr:
    """The parsed value of a column: ids and timestamps as whole columns (each parsed only
    as far as its values need, see :func:`~graphfraud.parse.normalise_id_series`), numbers
    and texts as expressions."""
    if kind == "timestamp":
        return parse_timestamp_series(raw, tz, epoch_unit)
    if kind == "id":
        return normalised
    if kind in ("rating", "amount"):
        return pl.col(raw.name).cast(pl.Float64) if raw.dtype.is_numeric() else parse_number(pl.col(raw.name))
    return pl.col(raw.name).cast(pl.String)


def cut(expr: pl.Expr, limit: int = EXCERPT_CHARS) -> pl.Expr:
    """At most ``limit`` characters of a string column, with the full length when cut.

    >>> pl.select(cut(pl.lit("abcdef"), 3)).item()
    'abc… (6 characters)'
    """
    n = expr.str.len_chars()
    return pl.when(n > limit).then(
        expr.str.slice(0, limit) + pl.lit("… (") + n.cast(pl.String) + pl.lit(" characters)")).otherwise(expr)


def transform_table(spec: Table, raw: pl.DataFrame, file: str, tz: str, *, epoch_unit: str = "auto",
                    time_range: TimeRange | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type one raw table and split it into accepted rows and reject records.

    ``raw`` holds strings (or nulls; ratings and amounts may be numbers) and a ``_line``
    column. Each rejected row gets one
    record: a value longer than :data:`~graphfraud.contract.MAX_FIELD_BYTES` in any
    column first, else the first failing column in contract order. Extra columns are
    kept. Timestamps outside ``time_range`` are rejected (``None``: no range check).

    >>> from graphfraud.contract import CONTRACT
    >>> raw = pl.DataFrame({"merchant_id": ["m1", "m1", ""], "_line": [2, 3, 4]})
    >>> ok, bad = transform_table(CONTRACT["merchants"], raw, "merchants.csv", "UTC")
    >>> ok["merchant_id"].to_list(), bad["reason"].to_list()
    (['m1'], ['duplicate primary key', 'missing required value'])
    """
    present = [c for c in spec.columns if c.name in raw.columns]
    # Parse every column once; the checks then read the parsed column and the raw value.
    parsed: list[pl.Expr | pl.Series] = []
    checks: list[tuple[pl.Expr, str, str]] = []  # (mask, column, reason), in contract order
    # One check over every column (a file may have thousands: a branch per column would
    # nest that deep); which column it was is looked up afterwards, for those rows only.
    fields = [c for c in raw.columns if c != LINE and raw.schema[c] == pl.String]  # a number is never long
    if fields:
        checks.append((pl.any_horizontal([pl.col(c).str.len_bytes() > MAX_FIELD_BYTES for c in fields]),
                       _SOME_COLUMN, TOO_LONG))
    missing: list[pl.Series] = []
    for col in present:
        values = raw[col.name]
        normalised = values if values.dtype.is_numeric() else normalise_id_series(values)
        missing.append(normalised.is_null().alias(f"__m_{col.name}"))
        parsed.append(_parsed(col.kind, raw[col.name], normalised, tz, epoch_unit).alias(f"__v_{col.name}"))
        raw_missing = pl.col(f"__m_{col.name}")
        if col.required:
            checks.append((raw_missing, col.name, MISSING))
        for check, reason in _checks(col.kind, time_range):
            checks.append((~raw_missing & check(pl.col(f"__v_{col.name}")), col.name, reason))
    extras = [c for c in raw.columns if c not in spec.column_index and c != LINE]
    frame = raw.with_columns([*parsed, *missing])
    # Each row carries the number of its first failing check, not its reason and column
    # as two string columns over every row: only rejected rows need the words.
    # The first check that fails is the first non-null of the per-check numbers.
    failed = (pl.coalesce([pl.when(mask).then(pl.lit(i, _CHECK)) for i, (mask, _, _) in enumerate(checks)])
              if checks else pl.lit(None, _CHECK))
    frame = frame.with_columns(failed.cast(_CHECK).alias("_check"))
    reasons, columns = [r for _, _, r in checks], [c for _, c, _ in checks]

    pk = [k for k in spec.primary_key if k in frame.columns]
    if pk and len(pk) == len(spec.primary_key):
        key = (pl.col(f"__v_{pk[0]}") if len(pk) == 1
               else pl.concat_str([pl.col(f"__v_{k}") for k in pk], separator="\x1f"))
        valid = pl.col("_check").is_null() & key.is_not_null()
        # Rows are in file order, so the first valid occurrence of a key wins.
        dup = valid & ~pl.when(valid).then(key).otherwise(None).is_first_distinct()
        frame = frame.with_columns(pl.when(dup).then(pl.lit(len(checks), _CHECK)).otherwise(pl.col("_check"))
                                   .alias("_check"))
        reasons.append(DUPLICATE)
        columns.append(pk[0])
    codes = list(range(len(reasons)))
    bad_rows = (frame.select(LINE, "_check").with_row_index("_i").filter(pl.col("_check").is_not_null())
                .select("_i", LINE, pl.col("_check").replace_strict(codes, reasons, return_dtype=pl.String)
                        .alias("_reason"),
                        pl.col("_check").replace_strict(codes, columns, return_dtype=pl.String).alias("_column")))
    rejects = reject_records(spec.name, file, raw, _name_long_columns(bad_rows, raw, fields))
    accepted = frame.select([pl.col(f"__v_{c.name}").alias(c.name) for c in present] + extras + [LINE])
    # A filter copies every column even when it keeps every row: a clean table (the usual
    # one) keeps its parsed columns as they are.
    if bad_rows.height:
        accepted = accepted.filter(frame["_check"].is_null())
    return accepted, rejects


_CHECK = pl.UInt16  # number of a row's first failing check (a table has a few dozen)
_SOME_COLUMN = "\x00column"  # placeholder: one of the columns, named by _name_long_columns


def _name_long_columns(bad: pl.DataFrame, raw: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """Name, for rows rejected as too long, the first column that is."""
    long_rows = bad.filter(pl.col("_column") == _SOME_COLUMN)
    if long_rows.height == 0:
        return bad
    rows = raw.select(fields)[long_rows["_i"]]
    first = rows.select(pl.concat_list([pl.col(c).str.len_bytes().fill_null(0) > MAX_FIELD_BYTES for c in fields])
                        .list.arg_max().alias("k"))["k"]
    named = long_rows.with_columns(pl.Series("_column", [fields[k] for k in first.to_list()], dtype=pl.String))
    return pl.concat([bad.filter(pl.col("_column") != _SOME_COLUMN), named]).sort("_i")


def reject_records(table: str, file: str, raw: pl.DataFrame, bad: pl.DataFrame) -> pl.DataFrame:
    """Build reject records from rows ``bad`` (``_i`` row index, ``_reason``, ``_column``).

    The offending raw value is looked up per column, vectorised per column name.
    """
    if bad.height == 0:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    parts = []
    for column, group in bad.group_by("_column", maintain_order=True):
        name = column[0]
        values = (pl.select(cut(_text(raw[name].gather(group["_i"]))).alias(name))[name]
                  if name in raw.columns else pl.Series([None] * group.height, dtype=pl.String))
        parts.append(pl.DataFrame({
            "table": table, "file": file, "line": group[LINE].cast(pl.Int64), "column": name,
            "value": values, "reason": group["_reason"],
        }, schema=REJECT_SCHEMA))
    return pl.concat(parts).sort("line")


def reference_rejects(table: str, file: str, frame: pl.DataFrame, column: str,
                      known: pl.Series, target_table: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``frame`` on whether non-null ``column`` values exist in ``known``.

    >>> f = pl.DataFrame({"account_id": ["a", "b", None], "_line": [2, 3, 4]})
    >>> ok, bad = reference_rejects("reviews", "r.csv", f, "account_id", pl.Series(["a"]), "accounts")
    >>> ok.height, bad["reason"].to_list()
    (2, ['unknown account'])
    """
    dangling = pl.col(column).is_not_null() & ~pl.col(column).is_in(known.implode())
    bad = frame.filter(dangling)
    reason = f"unknown {target_table.removesuffix('s')}"
    rejects = pl.DataFrame({
        "table": table, "file": file, "line": bad[LINE].cast(pl.Int64), "column": column,
        "value": bad.select(cut(pl.col(column)))[column], "reason": reason,  # the rejected rows only
    }, schema=REJECT_SCHEMA)
    return (frame.filter(~dangling) if bad.height else frame), rejects
