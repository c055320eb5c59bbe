"""Pure value parsers shared by ingest, the dataset model and the Neo4j reader.

They sit on the ground floor (they import only the contract's constants), so the model
(:mod:`graphfraud.dataset`) and the loader (:mod:`graphfraud.ingest`) both use them
without either depending on the other.

>>> import polars as pl
>>> pl.select(parse_number(pl.lit(" 12.5 "))).item()
12.5
"""

from __future__ import annotations

import polars as pl

from .contract import EPOCH_UNITS

#: Milliseconds per epoch unit (the units are declared in :data:`graphfraud.contract.EPOCH_UNITS`).
_MS_PER = {"s": 1e3, "ms": 1.0, "us": 1e-3, "ns": 1e-6}
# ``auto`` boundaries. Dates from 1973 to 5138 have epoch seconds below 1e11 and epoch
# milliseconds above it; the same factor-1000 gap separates ms from us (1e14) and us
# from ns (1e17), so for any plausible date the magnitude names the unit.
_AUTO_FROM = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"))
# 10000-01-01 in epoch milliseconds: later instants are not dates any tool can print.
_MS_MAX = 253_402_300_800_000

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


def epoch_ms(number: pl.Expr, unit: str = "auto") -> pl.Expr:
    """Milliseconds since 1970 from an epoch number in ``unit`` (``auto``: from its magnitude).

    >>> pl.select(epoch_ms(pl.lit(1_709_251_200_000_000.0))).item()  # microseconds
    1709251200000
    >>> pl.select(epoch_ms(pl.lit(1_709_251_200.0), "s")).item()
    1709251200000
    """
    if unit not in EPOCH_UNITS:
        raise ValueError(f"epoch unit {unit!r}: use one of {', '.join(EPOCH_UNITS)}")
    if unit == "auto":
        scale = pl.lit(_MS_PER["s"])
        for bound, name in reversed(_AUTO_FROM):
            scale = pl.when(number >= bound).then(pl.lit(_MS_PER[name])).otherwise(scale)
    else:
        scale = pl.lit(_MS_PER[unit])
    ms = (number * scale).floor()
    return pl.when((ms >= 0) & (ms < _MS_MAX)).then(ms).otherwise(None).cast(pl.Int64)


def timestamp_text(expr: pl.Expr) -> pl.Expr:
    """The text form :func:`parse_timestamp_text` reads: trimmed, compact dates spelt out in ISO.

    >>> pl.select(timestamp_text(pl.lit(" 20240301103000 "))).item()
    '2024-03-01T10:30:00'
    """
    x = expr.cast(pl.String).str.strip_chars()
    # Compact dates become ISO; with their dashes they can no longer pass as epochs.
    x = (x.str.replace(r"^(\d{4})(\d\d)(\d\d)$", "${1}-${2}-${3}")
          .str.replace(r"^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$", "${1}-${2}-${3}T${4}:${5}:${6}"))
    x = pl.when(x.str.contains(r"^\d{4}-\d\d-\d\d \d")).then(
        x.str.replace(" ", "T", literal=True)).otherwise(x)
    return x.str.replace(r"Z$", "+00:00")


def parse_timestamp_text(x: pl.Expr, tz: str, epoch_unit: str = "auto") -> pl.Expr:
    """Parse the output of :func:`timestamp_text` (see :func:`parse_timestamp`).

    Callers with many rows materialise :func:`timestamp_text` first: this expression
    reads it once per accepted form.
    """
    def aware(fmt: str) -> pl.Expr:
        return x.str.to_datetime(fmt, strict=False, time_unit="ms", time_zone="UTC")

    def naive(fmt: str) -> pl.Expr:
        return (x.str.to_datetime(fmt, strict=False, time_unit="ms")
                .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC"))

    epoch = (
        pl.when(x.str.contains(r"^\d+(\.\d+)?$"))
        .then(epoch_ms(x.cast(pl.Float64, strict=False), epoch_unit))
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


def parse_timestamp(expr: pl.Expr, tz: str, epoch_unit: str = "auto") -> pl.Expr:
    """Parse every accepted timestamp form into ``Datetime('ms', 'UTC')``.

    Accepted: ISO 8601 date or date-time with optional fraction and offset (``Z``,
    ``+08:00``, ``+0800``), ``YYYY-MM-DD HH:MM:SS``, the compact ``YYYYMMDD`` and
    ``YYYYMMDDHHMMSS`` (always dates: an 8-digit epoch would be 1970), and epoch
    numbers in ``epoch_unit`` (``auto``: seconds, milliseconds, microseconds or
    nanoseconds, told apart by magnitude). Naive values are read in ``tz``. Anything
    else becomes null. The plausible range is checked by the caller.

    >>> s = pl.Series(["20240301", "1709251200", "1709251200000000000"])
    >>> [t.isoformat() for t in pl.select(parse_timestamp(pl.lit(s), "UTC")).to_series()]
    ['2024-03-01T00:00:00+00:00', '2024-03-01T00:00:00+00:00', '2024-03-01T00:00:00+00:00']
    """
    return parse_timestamp_text(timestamp_text(expr), tz, epoch_unit)


def parse_number(expr: pl.Expr) -> pl.Expr:
    """Parse a decimal number; ``"five"`` becomes null (``"inf"`` and ``"nan"`` stay: callers check)."""
    return expr.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


#: One character :func:`normalise_id` strips from either end.
_EDGE_CHAR = r"[\s\p{Cc}\p{Cf}\p{Z}]"
#: The contract's ``YYYY-MM-DD HH:MM:SS``, exactly: what most exports write.
_PLAIN_TIMESTAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"


def _on_subset(values: pl.Series, mask: pl.Series, expr: pl.Expr, base: pl.Series) -> pl.Series:
    """``base`` with the rows under ``mask`` replaced by ``expr`` evaluated on those rows of ``values`` only."""
    idx = mask.arg_true()
    if idx.len() == 0:
        return base
    fixed = pl.DataFrame({"x": values.gather(idx)}).select(expr.alias("x"))["x"]
    return base.scatter(idx, fixed)


def normalise_id_series(values: pl.Series) -> pl.Series:
    """:func:`normalise_id` of a whole column, with the regex replacement run only on the
    values that need it (empty, or with debris at an end): most ids are already clean, and
    rewriting millions of clean strings was the costliest part of loading a table.

    >>> normalise_id_series(pl.Series(["a", " b", "", None])).to_list()
    ['a', 'b', None, None]
    """
    s = values.cast(pl.String)
    needs = pl.select(pl.lit(s).str.contains(f"^{_EDGE_CHAR}|{_EDGE_CHAR}$") | (pl.lit(s).str.len_bytes() == 0))
    return _on_subset(s, needs.to_series().fill_null(False), normalise_id(pl.col("x")), s).alias(values.name)


def parse_timestamp_series(values: pl.Series, tz: str, epoch_unit: str = "auto") -> pl.Series:
    """:func:`parse_timestamp` of a whole column, each value parsed by the first form that
    can read it and no other.

    The expression form tries every accepted form on every value and keeps the first
    that parses; here the plain ``YYYY-MM-DD HH:MM:SS`` values (one fixed shape, which
    only the naive ISO form reads) are parsed directly, and only the others go through
    every form, one form at a time on the values still unread. Same result, a fraction
    of the work on the usual export.

    >>> s = pl.Series(["2024-03-01 08:00:00", "1709251200", "soon", None])
    >>> [str(t) for t in parse_timestamp_series(s, "Europe/Berlin")]
    ['2024-03-01 07:00:00+00:00', '2024-03-01 00:00:00+00:00', 'None', 'None']
    """
    s = values.cast(pl.String)
    x = pl.col("x")
    dtype = pl.Datetime("ms", "UTC")
    plain = pl.select(pl.lit(s).str.contains(_PLAIN_TIMESTAMP)).to_series().fill_null(False)
    out = pl.Series(values.name, [None] * s.len(), dtype=dtype)
    out = _on_subset(s, plain, x.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="ms")
                     .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
                     .dt.convert_time_zone("UTC"), out)
    rest = ~plain & s.is_not_null()
    return _on_subset(s, rest, parse_timestamp(x, tz, epoch_unit).cast(dtype), out).alias(values.name)
