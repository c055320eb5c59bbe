"""Reading table files into raw string frames with their source line numbers.

This is the only ingest module that touches the file system.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..contract import CONTRACT, SUFFIXES
from ..errors import DataContractError
from .transform import LINE

ENCODINGS = ("auto", "utf-8", "gb18030", "gbk")


@dataclass(frozen=True)
class RawTable:
    """One table as read: all values as strings, plus where it came from."""

    name: str
    path: Path
    frame: pl.DataFrame
    encoding: str
    sha256: str


def locate_tables(data_dir: Path) -> dict[str, Path]:
    """Map table names to their files in ``data_dir``.

    Raises when the directory is missing or a table is given twice (e.g. both
    ``reviews.csv`` and ``reviews.parquet``), because silently picking one would hide data.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataContractError(
            f"{data_dir}: not a directory. Give the directory that holds accounts.csv, "
            "merchants.csv and reviews.csv (or .parquet/.jsonl).")
    found: dict[str, Path] = {}
    for path in sorted(data_dir.iterdir()):
        for suffix in SUFFIXES:
            table = path.name[: -len(suffix)] if path.name.endswith(suffix) else None
            if table in CONTRACT:
                if table in found:
                    raise DataContractError(
                        f"{data_dir}: table '{table}' is given twice ({found[table].name} and "
                        f"{path.name}); keep one file per table.")
                found[table] = path
    return found


def _decode(data: bytes, path: Path, encoding: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes and the encoding they were read in."""
    if encoding == "auto":
        try:
            data.decode("utf-8")
            return data, "utf-8"
        except UnicodeDecodeError:
            encoding = "gb18030"  # a superset of GBK and GB2312, which Chinese exports use
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        other = "gb18030" if encoding.replace("-", "").lower() == "utf8" else "utf-8"
        raise DataContractError(
            f"{path}: line {line} is not valid {encoding} (byte {exc.start}). "
            f"Re-run with --encoding {other}, or with --encoding auto to detect it.") from None
    except LookupError:
        raise DataContractError(f"unknown encoding '{encoding}'; use one of {', '.join(ENCODINGS)}.") from None
    return (data if encoding.replace("-", "").lower() == "utf8" else text.encode("utf-8")), encoding


def _csv_lines(frame: pl.DataFrame) -> pl.Series:
    """Line number where each CSV record starts, counting newlines inside quoted fields."""
    if frame.height == 0:
        return pl.Series(LINE, [], dtype=pl.Int64)
    inner = pl.sum_horizontal([pl.col(c).str.count_matches("\n", literal=True).fill_null(0)
                               for c in frame.columns])
    width = frame.select((inner + 1).cast(pl.Int64).alias(LINE))[LINE]
    return (width.cum_sum() - width + 2).alias(LINE)


def read_raw(name: str, path: Path, encoding: str = "auto") -> RawTable:
    """Read one table file into strings, remembering each row's line number."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataContractError(f"{path}: cannot be read ({exc.strerror}). Check the path and permissions.") from None
    sha = hashlib.sha256(data).hexdigest()
    if path.name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataContractError(f"{path}: not a valid gzip file ({exc}). Re-compress it or remove .gz.") from None
    if path.name.endswith((".csv", ".csv.gz")):
        if not data.strip():
            raise DataContractError(f"{path}: the file is empty; a CSV needs at least a header line "
                                    f"with the columns {', '.join(CONTRACT[name].required_columns)}.")
        data, used = _decode(data, path, encoding)
        try:
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=False)
        except pl.exceptions.PolarsError as exc:
            raise DataContractError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]}). "
                                    "Check quoting and that every row has the header's column count.") from None
        frame = frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
        frame = frame.with_columns(_csv_lines(frame))
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        if not data.strip():
            raise DataContractError(f"{path}: the file is empty; write one JSON object per line.")
        data, used = _decode(data, path, encoding)
        try:
            frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
        except pl.exceptions.PolarsError as exc:
            raise DataContractError(f"{path}: not valid JSON Lines ({str(exc).splitlines()[0]}). "
                                    "Each line must be one JSON object.") from None
        frame = _stringify(frame).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE))
    else:
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise DataContractError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]}).") from None
        used = "parquet"
        # Parquet has no lines: the reported "line" is the 1-based row number.
        frame = _stringify(frame).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE))
    return RawTable(name, path, frame, used, sha)


def _stringify(frame: pl.DataFrame) -> pl.DataFrame:
    """Turn typed columns into the strings the transforms expect, losing nothing."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.String:
            exprs.append(col)
        elif isinstance(dtype, pl.Datetime):
            fmt = "%Y-%m-%dT%H:%M:%S%.f%:z" if dtype.time_zone else "%Y-%m-%dT%H:%M:%S%.f"
            exprs.append(col.dt.strftime(fmt).alias(name))
        elif dtype.is_float():
            # 12.0 -> "12", so float-typed ids from spreadsheets still match.
            exprs.append(pl.when(col == col.round(0)).then(col.cast(pl.Int64, strict=False).cast(pl.String))
                         .otherwise(col.cast(pl.String)).alias(name))
        elif dtype.is_nested():
            exprs.append(col.map_elements(str, return_dtype=pl.String).alias(name))
        else:
            exprs.append(col.cast(pl.String).alias(name))
    return frame.select(exprs)
