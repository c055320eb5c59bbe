"""The validated tables every later stage works on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .contract import CONTRACT, DEFAULT_TZ, REQUIRED_TABLES
from .errors import DataContractError
from .parse import parse_timestamp


@dataclass
class Dataset:
    """Validated, typed tables keyed by contract name.

    IDs are strings, timestamps ``Datetime('ms', 'UTC')``, ratings and amounts floats.
    Optional tables may be absent; ask with :meth:`has` or :meth:`get`.

    >>> import polars as pl
    >>> ds = Dataset.from_frames(
    ...     accounts=pl.DataFrame({"account_id": ["a1"]}),
    ...     merchants=pl.DataFrame({"merchant_id": ["m1"]}),
    ...     reviews=pl.DataFrame({"review_id": ["r1"], "account_id": ["a1"], "merchant_id": ["m1"],
    ...                           "rating": [5.0], "created_at": [0]}))
    >>> ds.has("orders"), ds.n_rows()["reviews"]
    (False, 1)
    """

    tables: dict[str, pl.DataFrame]
    tz: str = DEFAULT_TZ
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Row counts of the tables :meth:`release` dropped.
    released: dict[str, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        missing = [t for t in REQUIRED_TABLES if t not in self.tables]
        if missing:
            raise DataContractError(
                f"missing required table(s): {', '.join(missing)}. Provide "
                + ", ".join(f"{t}.csv" for t in missing) + " (or .parquet/.jsonl).")
        unknown = [t for t in self.tables if t not in CONTRACT]
        if unknown:
            raise DataContractError(f"unknown table(s) {unknown}; known tables: {', '.join(CONTRACT)}.")

    @classmethod
    def from_frames(cls, tz: str = DEFAULT_TZ, **frames: pl.DataFrame) -> Dataset:
        """Build a dataset from in-memory frames, coercing to contract types.

        Integer timestamps are read as epoch seconds; strings are parsed like files are.
        Invalid rows raise instead of being rejected: use :func:`graphfraud.load_dataset`
        for untrusted data.
        """
        tables = {}
        for name, frame in frames.items():
            spec = CONTRACT.get(name)
            if spec is None:
                raise DataContractError(f"unknown table '{name}'; known tables: {', '.join(CONTRACT)}.")
            exprs = []
            for col in spec.columns:
                if col.name not in frame.columns:
                    continue
                dtype = frame.schema[col.name]
                if col.kind == "timestamp":
                    if dtype.is_integer():
                        exprs.append((pl.col(col.name) * 1000).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"))
                    elif isinstance(dtype, pl.Datetime):
                        e = pl.col(col.name).dt.cast_time_unit("ms")
                        exprs.append(e.dt.convert_time_zone("UTC") if dtype.time_zone
                                     else e.dt.replace_time_zone(tz).dt.convert_time_zone("UTC"))
                    else:
                        exprs.append(parse_timestamp(pl.col(col.name), tz))
                elif col.kind in ("rating", "amount"):
                    exprs.append(pl.col(col.name).cast(pl.Float64))
                else:
                    exprs.append(pl.col(col.name).cast(pl.String))
            tables[name] = frame.with_columns(exprs)
        return cls(tables, tz=tz)

    def has(self, name: str) -> bool:
        return name in self.tables and self.tables[name].height > 0

    def get(self, name: str) -> pl.DataFrame | None:
        return self.tables.get(name)

    def __getitem__(self, name: str) -> pl.DataFrame:
        try:
            return self.tables[name]
        except KeyError:
            raise DataContractError(f"the dataset has no '{name}' table; this step needs it.") from None

    def canonical(self) -> Dataset:
        """The same tables with their rows in one order, whatever order the source gave.

        Codes, graph node order and Leiden's result follow row order; files keep theirs and
        Neo4j returns rows in store order, so without this one dataset read from two places
        (or one export re-sorted) could give different rings.

        >>> ds = Dataset.from_frames(
        ...     accounts=pl.DataFrame({"account_id": ["b", "a"]}), merchants=pl.DataFrame({"merchant_id": ["m"]}),
        ...     reviews=pl.DataFrame({"review_id": ["r2", "r1"], "account_id": ["a", "b"], "merchant_id": ["m", "m"],
        ...                           "rating": [5.0, 4.0], "created_at": [0, 60]}))
        >>> ds.canonical()["accounts"]["account_id"].to_list(), ds.canonical()["reviews"]["review_id"].to_list()
        (['a', 'b'], ['r1', 'r2'])
        """
        tables = {}
        for name, frame in self.tables.items():
            by = [c for c in CONTRACT[name].canonical_order if c in frame.columns]
            tables[name] = frame.sort(by, nulls_last=True, maintain_order=True) if by and frame.height > 1 else frame
        return Dataset(tables, tz=self.tz, sources=self.sources)

    def n_rows(self) -> dict[str, int]:
        if self.released is not None:
            return dict(self.released)
        return {name: frame.height for name, frame in self.tables.items()}

    def release(self) -> None:
        """Drop the tables, keeping their row counts, sources and time zone.

        For an owner that needs only what was computed from them (a detection run, once
        its tables are coded), so that the memory the coded tables do not share is freed
        for the rest of the run.

        >>> ds = Dataset.from_frames(accounts=pl.DataFrame({"account_id": ["a1"]}),
        ...     merchants=pl.DataFrame({"merchant_id": ["m1"]}),
        ...     reviews=pl.DataFrame({"review_id": ["r1"], "account_id": ["a1"], "merchant_id": ["m1"],
        ...                           "rating": [5.0], "created_at": [0]}))
        >>> ds.release(); ds.n_rows()["reviews"], ds.has("reviews")
        (1, False)
        """
        self.released = self.n_rows()
        self.tables = {}
