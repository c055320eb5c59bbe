"""Pure value parsers shared by ingest, the dataset model and the Neo4j reader.

They sit on the ground floor: they import nothing from graphfraud, so the model
(:mod:`graphfraud.dataset`) and the loader (:mod:`graphfraud.ingest`) both use them
without either depending on the other.

>>> import polars as pl
>>> pl.select(parse_number(pl.lit(" 12.5 "))).item()
12.5
"""

from __future__ import annotations

import polars as pl

# Epoch values at or above this are milliseconds: 1e11 s would be the year 5138,
# while 1e11 ms is 1973, so the two ranges cannot be confused for real data.
_EPOCH_MS_FROM = 1e11


_EDGE_JUNK = r"^[\s\p{Cc}\p{Cf}\p{Z}]+|[\s\p{Cc}\p{Cf}\p{Z}]+$"


def normalise_id(expr: pl.Expr) -> pl.Expr:
    """Identifiers are strings: strip surrounding whitespace, empty means missing.

    Control characters and byte-order marks at either end count as whitespace (they
    are export debris). Leading zeros and case are kept: ``"007"`` and ``"7"`` differ.

    >>> pl.DataFrame({"a": [" 007 ", "", None, "A1"]}).select(normalise_id(pl.col("a")))["a"].to_list()
    ['007', None, None, 'A1']
    """
    stripped = expr.cast(pl.String).str.replace_all(_EDGE_JUNK, "")
    return pl.when(stripped.str.len_chars() > 0).then(stripped).otherwise(None)


def parse_timestamp(expr: pl.Expr, tz: str) -> pl.Expr:
    """Parse every accepted timestamp form into ``Datetime('ms', 'UTC')``.

    Accepted: ISO 8601 date or date-time with optional fraction and offset (``Z``,
    ``+08:00``, ``+0800``), ``YYYY-MM-DD HH:MM:SS``, and epoch seconds or
    milliseconds. Naive values are read in ``tz``. Anything else becomes null.
    """
    x = expr.cast(pl.String).str.strip_chars()
    x = pl.when(x.str.contains(r"^\d{4}-\d\d-\d\d \d")).then(
        x.str.replace(" ", "T", literal=True)).otherwise(x)
    x = x.str.replace(r"Z$", "+00:00")

    def aware(fmt: str) -> pl.Expr:
        return x.str.to_datetime(fmt, strict=False, time_unit="ms", time_zone="UTC")

    def naive(fmt: str) -> pl.Expr:
        return (x.str.to_datetime(fmt, strict=False, time_unit="ms")
                .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC"))

    number = x.cast(pl.Float64, strict=False)
    epoch = (
        pl.when(x.str.contains(r"^\d+(\.\d+)?$"))
        .then(pl.when(number >= _EPOCH_MS_FROM).then(number).otherwise(number * 1000))
        .cast(pl.Int64, strict=False)
        .cast(pl.Datetime("ms"))
        .dt.replace_time_zone("UTC")
    )
    return pl.coalesce(
        aware("%Y-%m-%dT%H:%M:%S%.f%:z"),
        aware("%Y-%m-%dT%H:%M:%S%.f%z"),
        naive("%Y-%m-%dT%H:%M:%S%.f"),
        naive("%Y-%m-%dT%H:%M"),
        naive("%Y-%m-%d"),
        epoch,
    )


def parse_number(expr: pl.Expr) -> pl.Expr:
    """Parse a decimal number; ``"five"`` becomes null."""
    return expr.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
