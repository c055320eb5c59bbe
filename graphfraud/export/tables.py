"""Write contract tables and ground truth to a directory."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import ParameterError

FORMATS = ("csv", "parquet", "jsonl")


def write_table(frame: pl.DataFrame, path: Path) -> Path:
    """Write one frame; the format follows the file name (.csv, .parquet, .jsonl)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".jsonl":
        frame.write_ndjson(path)
    else:
        raise ParameterError(f"{path}: unknown table format; use one of {', '.join(FORMATS)}.")
    return path


def write_tables(tables: dict[str, pl.DataFrame], out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Write every table as ``<out_dir>/<table>.<fmt>``."""
    if fmt not in FORMATS:
        raise ParameterError(f"--format {fmt!r} is not supported; use one of {', '.join(FORMATS)}.")
    return [write_table(frame, Path(out_dir) / f"{name}.{fmt}") for name, frame in tables.items()]
