"""Load a data directory: read every table, type it, check references, report rejects."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import polars as pl

from ..contract import CONTRACT, DEFAULT_TZ, REQUIRED_TABLES, TABLE_ORDER
from ..dataset import Dataset
from ..errors import DataContractError
from .read import ENCODINGS, locate_tables, read_raw
from .transform import LINE, REJECT_SCHEMA, reference_rejects, transform_table



@dataclass
class TableReport:
    """What happened to one table: rows read, accepted, and rejected by reason."""

    table: str
    file: str
    encoding: str
    read: int
    accepted: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


@dataclass
class LoadReport:
    """Per-table counts and every reject record; accepted + rejected == read for each table."""

    tables: list[TableReport]
    rejects: pl.DataFrame
    ignored_files: list[str] = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        return self.rejects.height

    def write_rejects(self, path: Path) -> Path:
        """Write the reject records as CSV (table, file, line, column, value, reason)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rejects.write_csv(path)
        return path

    def as_dict(self) -> dict:
        return {t.table: {"file": t.file, "encoding": t.encoding, "read": t.read, "accepted": t.accepted,
                          "rejected": t.rejected, "rejected_by_reason": t.rejected_by_reason}
                for t in self.tables}


@dataclass
class LoadResult:
    dataset: Dataset
    report: LoadReport


def load_dataset(data_dir: str | Path, *, encoding: str = "auto", tz: str = DEFAULT_TZ,
                 progress: Callable[[str], None] | None = None) -> LoadResult:
    """Read, validate and type every table in ``data_dir``.

    Parameters
    ----------
    data_dir
        Directory with one file per table (``<table>.csv|.parquet|.jsonl``, optionally ``.gz``).
    encoding
        ``auto`` (UTF-8, else GB18030), or one of ``utf-8``, ``gb18030``, ``gbk``.
    tz
        IANA zone in which naive timestamps are read (default ``Asia/Shanghai``).

    Returns
    -------
    LoadResult
        The dataset of accepted rows and the report of every rejected row.

    Raises
    ------
    DataContractError
        When the data is unusable: a required table or column is missing, a file cannot
        be read or decoded.
    """
    if encoding not in ENCODINGS:
        raise DataContractError(f"--encoding {encoding!r} is not supported; use one of {', '.join(ENCODINGS)}.")
    _check_tz(tz)
    data_dir = Path(data_dir)
    files = locate_tables(data_dir)
    missing = [t for t in REQUIRED_TABLES if t not in files]
    if missing:
        raise DataContractError(
            f"{data_dir}: missing required table(s) {', '.join(missing)}. Add "
            + ", ".join(f"{t}.csv" for t in missing) + " (or .parquet / .jsonl, optionally .gz).")

    tables: dict[str, pl.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    rejects: list[pl.DataFrame] = []
    sources: dict[str, dict] = {}
    for name in TABLE_ORDER:
        if name not in files:
            continue
        spec = CONTRACT[name]
        if progress:
            progress(f"reading {files[name].name}")
        raw = read_raw(name, files[name], encoding)
        absent = [c for c in spec.required_columns if c not in raw.frame.columns]
        if absent:
            raise DataContractError(
                f"{raw.path}: missing required column(s) {', '.join(absent)} (header has: "
                f"{', '.join(c for c in raw.frame.columns if c != LINE) or 'nothing'}). "
                "Rename the columns to the contract names (see README, 'Input contract').")
        accepted, bad = transform_table(spec, raw.frame, raw.path.name, tz)
        rejects.append(bad)
        # References point at tables loaded earlier (TABLE_ORDER guarantees it).
        for fk in spec.foreign_keys:
            if fk.column in accepted.columns and fk.table in tables:
                accepted, bad = reference_rejects(name, raw.path.name, accepted, fk.column,
                                                  tables[fk.table][fk.target], fk.table)
                rejects.append(bad)
        tables[name] = accepted
        reports[name] = TableReport(name, raw.path.name, raw.encoding, raw.frame.height, accepted.height)
        sources[name] = {"file": raw.path.name, "sha256": raw.sha256, "encoding": raw.encoding,
                         "rows_read": raw.frame.height}

    all_rejects = pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECT_SCHEMA)
    for (table, reason), n in Counter(zip(all_rejects["table"].to_list(), all_rejects["reason"].to_list())).items():
        reports[table].rejected_by_reason[reason] = n
    for rep in reports.values():
        assert rep.accepted + rep.rejected == rep.read, f"row accounting broke for {rep.table}"
        sources[rep.table]["rows_accepted"] = rep.accepted
    ignored = sorted(p.name for p in data_dir.iterdir() if p.is_file() and p not in files.values())
    dataset = Dataset({n: f.drop(LINE) for n, f in tables.items()}, tz=tz, sources=sources)
    return LoadResult(dataset, LoadReport(list(reports.values()), all_rejects, ignored))


def _check_tz(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataContractError(f"unknown time zone {tz!r}; give an IANA name such as Asia/Shanghai or UTC.") from None
