"""Read a Dataset back from Neo4j, so a team whose data lives there needs no files."""

from __future__ import annotations

from typing import Any

import polars as pl

from ..contract import CONTRACT, DEFAULT_TZ
from ..dataset import Dataset
from ..errors import DataContractError
from .gateway import Gateway
from .statements import SOURCE_QUERIES


def _native(value: Any) -> Any:
    """Neo4j temporal values to Python ones (polars understands those)."""
    return value.to_native() if hasattr(value, "to_native") else value


def read_dataset(gw: Gateway, tz: str = DEFAULT_TZ) -> Dataset:
    """Every contract table that Neo4j holds data for, typed like a loaded dataset."""
    frames = {}
    for table, query in SOURCE_QUERIES.items():
        rows = gw.read(query)
        if not rows:
            continue
        cols = list(rows[0].keys())
        data = {c: [_native(r[c]) for r in rows] for c in cols}
        spec = CONTRACT[table]
        frame = pl.DataFrame({c: pl.Series(c, v, dtype=pl.Float64 if spec.column_index.get(c) and
                                           spec.column_index[c].kind in ("rating", "amount") else None, strict=False)
                              for c, v in data.items()})
        frames[table] = frame
    missing = [t for t in ("accounts", "merchants", "reviews") if t not in frames]
    if missing:
        raise DataContractError(f"Neo4j holds no {', '.join(missing)}; load data first with "
                                "'graphfraud neo4j ingest DATA_DIR'.")
    return Dataset.from_frames(tz=tz, **frames)
