"""Load a data directory: read every table, type it, check references, report rejects."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from ..contract import (
    CONTRACT,
    DEFAULT_TZ,
    ENCODINGS,
    EPOCH_UNITS,
    REQUIRED_TABLES,
    TABLE_ORDER,
    USABLE_REJECT_SHARE,
    TimeRange,
)
from ..dataset import Dataset
from ..errors import DataContractError
from ..textsafe import excerpt, neutralise_cells
from ..threads import in_threads
from .read import locate_tables, misnamed_tables, read_raw
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

    @property
    def reject_share(self) -> float:
        return self.rejected / self.read if self.read else 0.0

    @property
    def commonest_reason(self) -> tuple[str, int]:
        """The reason most rows were rejected for, and how many (ties: the last by name)."""
        return max(self.rejected_by_reason.items(), key=lambda kv: (kv[1], kv[0]), default=("", 0))


@dataclass
class LoadReport:
    """Per-table counts and every reject record; accepted + rejected == read for each table."""

    tables: list[TableReport]
    rejects: pl.DataFrame
    ignored_files: list[str] = field(default_factory=list)
    time_range: TimeRange | None = None
    #: Per file, the columns outside the contract that were not read (``contract_only``).
    unread_columns: dict[str, list[str]] = field(default_factory=dict)

    def problems(self, limit: float = USABLE_REJECT_SHARE) -> tuple[list[str], list[str]]:
        """(fatal, warnings): required tables left without rows, and tables rejecting more than ``limit``.

        >>> rep = LoadReport([TableReport("reviews", "reviews.csv", "utf-8", 10, 0, {"x": 10}),
        ...                   TableReport("orders", "orders.csv", "utf-8", 10, 8, {"x": 2}),
        ...                   TableReport("logins", "logins.csv", "utf-8", 4, 0, {"x": 4})], pl.DataFrame())
        >>> errors, warnings = rep.problems()
        >>> errors
        ['reviews: all 10 row(s) rejected']
        >>> warnings
        ['orders: 20.0% of 10 row(s) rejected', 'logins: 100.0% of 4 row(s) rejected']
        """
        fatal = [f"{t.table}: all {t.read:,} row(s) rejected" if t.read else f"{t.table}: no rows"
                 for t in self.tables if self._emptied(t)]
        warn = [f"{t.table}: {t.reject_share:.1%} of {t.read:,} row(s) rejected" for t in self.lossy(limit)]
        return fatal, warn

    def lossy(self, limit: float = USABLE_REJECT_SHARE) -> list[TableReport]:
        """The tables, not left empty, that rejected more than ``limit`` of their rows."""
        return [t for t in self.tables if not self._emptied(t) and t.reject_share > limit]

    @staticmethod
    def _emptied(t: TableReport) -> bool:
        return t.table in REQUIRED_TABLES and t.accepted == 0

    @property
    def n_rejected(self) -> int:
        return self.rejects.height

    def write_rejects(self, path: Path) -> Path:
        """Write the reject records as CSV (table, file, line, column, value, reason).

        People open this file in spreadsheets, and the values are the data's: cells that
        a spreadsheet would run as a formula get a leading apostrophe
        (:func:`graphfraud.textsafe.neutralise_cells`; :func:`~graphfraud.textsafe.restore_cells`
        undoes it).
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        neutralise_cells(self.rejects).write_csv(path)
        return path

    @classmethod
    def from_dict(cls, tables: dict[str, dict[str, Any]], rejects: pl.DataFrame) -> LoadReport:
        """The report back from :meth:`as_dict` (a run's ``manifest.json``) and its reject rows.

        >>> rep = LoadReport([TableReport("orders", "orders.csv", "utf-8", 10, 8, {"unknown account": 2})],
        ...                  pl.DataFrame())
        >>> LoadReport.from_dict(rep.as_dict(), pl.DataFrame()).problems() == rep.problems()
        True
        """
        return cls([TableReport(name, t["file"], t["encoding"], t["read"], t["accepted"], dict(t["rejected_by_reason"]))
                    for name, t in tables.items()], rejects)

    def as_dict(self) -> dict[str, Any]:
        return {t.table: {"file": t.file, "encoding": t.encoding, "read": t.read, "accepted": t.accepted,
                          "rejected": t.rejected, "rejected_by_reason": t.rejected_by_reason}
                for t in self.tables}


@dataclass
class LoadResult:
    dataset: Dataset
    report: LoadReport


def load_dataset(data_dir: str | Path, *, encoding: str = "auto", tz: str = DEFAULT_TZ,
                 epoch_unit: str = "auto", time_range: TimeRange | str | None = None,
                 progress: Callable[[str], None] | None = None, contract_only: bool = False) -> LoadResult:
    """Read, validate and type every table in ``data_dir``.

    Parameters
    ----------
    data_dir
        Directory with one file per table (``<table>.csv|.parquet|.jsonl``, optionally ``.gz``).
    encoding
        ``auto`` (UTF-8, else GB18030), or one of ``utf-8``, ``gb18030``, ``gbk``.
    tz
        IANA zone in which naive timestamps are read (default ``Asia/Shanghai``).
    epoch_unit
        Unit of numeric timestamps: ``auto`` (from the magnitude), ``s``, ``ms``, ``us`` or ``ns``.
    time_range
        Accepted timestamps (a :class:`~graphfraud.contract.TimeRange` or ``"START..END"``);
        default 2000-01-01 to one day after now. Rows outside it are rejected.
    contract_only
        Read only the contract's columns (what detection uses): Parquet and CSV skip the
        others while reading, which saves their memory and time, and the checks (such as
        the field length limit) run on the columns read. The columns skipped are named,
        per file, in :attr:`LoadReport.unread_columns`, in the file's ``sources`` entry
        and through ``progress``. Default: every column is read, checked and carried.

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
    if epoch_unit not in EPOCH_UNITS:
        raise DataContractError(f"--epoch-unit {epoch_unit!r} is not supported; use one of {', '.join(EPOCH_UNITS)}.")
    _check_tz(tz)
    if not isinstance(time_range, TimeRange):
        time_range = TimeRange.parse(time_range, now=dt.datetime.now(dt.timezone.utc))
    data_dir = Path(data_dir)
    files = locate_tables(data_dir)
    missing = [t for t in REQUIRED_TABLES if t not in files]
    if missing:
        hints = misnamed_tables(data_dir, missing)
        fixes = [f"{name} is there: rename it to {proper} (file names are lower-case)."
                 for name, proper in hints.values()]
        absent = [f"{t}.csv" for t in missing if t not in hints]
        if absent:
            fixes.append(f"Add {', '.join(absent)} (or .parquet / .jsonl, optionally .gz).")
        raise DataContractError(f"{data_dir}: missing required table(s) {', '.join(missing)}. {' '.join(fixes)}")

    names = [name for name in TABLE_ORDER if name in files]
    # Tables are read and checked two at a time (each on its own, nothing shared), the
    # largest file first and alone: two run together only while their files are no larger
    # than it, so the peak stays that of the largest table. The references between tables
    # are checked afterwards, in table order.
    read = in_threads([partial(_read_table, name, files[name], encoding, tz, epoch_unit, time_range, contract_only,
                               progress) for name in names], sizes=[_file_size(files[name]) for name in names])
    tables: dict[str, pl.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    rejects: list[pl.DataFrame] = []
    sources: dict[str, dict[str, Any]] = {}
    unread: dict[str, list[str]] = {}
    for name, one in zip(names, read):
        accepted = one.accepted
        rejects.extend(one.rejects)
        # References point at tables loaded earlier (TABLE_ORDER guarantees it).
        for fk in CONTRACT[name].foreign_keys:
            if fk.column in accepted.columns and fk.table in tables:
                accepted, bad = reference_rejects(name, one.file, accepted, fk.column, tables[fk.table][fk.target],
                                                  fk.table)
                rejects.append(bad)
        tables[name] = accepted
        reports[name] = TableReport(name, one.file, one.encoding, one.rows_read, accepted.height)
        sources[name] = {"file": one.file, "sha256": one.sha256, "encoding": one.encoding,
                         "rows_read": one.rows_read}
        if one.unread:
            unread[one.file] = list(one.unread)
            sources[name]["unread_columns"] = list(one.unread)

    # Table order first (TABLE_ORDER), then line order within a table.
    order = {t: i for i, t in enumerate(TABLE_ORDER)}
    table_rank = pl.col("table").replace_strict(order, return_dtype=pl.Int32).alias("_t")
    all_rejects = (pl.concat(rejects).with_columns(table_rank)
                   .sort("_t", "line", maintain_order=True).drop("_t") if rejects
                   else pl.DataFrame(schema=REJECT_SCHEMA))
    for (table, reason), n in Counter(zip(all_rejects["table"].to_list(), all_rejects["reason"].to_list())).items():
        reports[table].rejected_by_reason[reason] = n
    for rep in reports.values():
        assert rep.accepted + rep.rejected == rep.read, f"row accounting broke for {rep.table}"
        sources[rep.table]["rows_accepted"] = rep.accepted
    ignored = sorted(p.name for p in data_dir.iterdir() if p.is_file() and p not in files.values())
    dataset = Dataset({n: f.drop(LINE) for n, f in tables.items()}, tz=tz, sources=sources)
    return LoadResult(dataset, LoadReport(list(reports.values()), all_rejects, ignored, time_range, unread))


@dataclass(frozen=True)
class _Read:
    """One table read, typed and checked on its own (references not yet checked)."""

    accepted: pl.DataFrame
    rejects: list[pl.DataFrame]
    file: str
    encoding: str
    sha256: str
    rows_read: int
    unread: tuple[str, ...]


def _read_table(name: str, path: Path, encoding: str, tz: str, epoch_unit: str, time_range: TimeRange,
                contract_only: bool, progress: Callable[[str], None] | None) -> _Read:
    """Read ``name`` from ``path``, type it and check everything but its references."""
    spec = CONTRACT[name]
    if progress:
        progress(f"reading {path.name}")
    raw = read_raw(name, path, encoding, columns=spec.column_index if contract_only else None)
    if raw.unread and progress:
        progress(f"{raw.path.name}: not reading {len(raw.unread)} column(s) outside the contract "
                 f"({excerpt(', '.join(raw.unread))}); 'graphfraud validate' checks every column")
    absent = [c for c in spec.required_columns if c not in raw.frame.columns]
    if absent and raw.frame.height == 0 and raw.rejects.height and len(raw.header) <= 1:
        raise DataContractError(
            f"{raw.path}: no line could be read ({raw.rejects.height:,} malformed, e.g. line "
            f"{raw.rejects['line'][0]}: {raw.rejects['reason'][0]}). Check that it is a {spec.name} table.")
    if absent:
        names = list(raw.header)
        header = excerpt(", ".join(names) or "nothing")
        sep = next((f"{s!r}" for s in (";", "\t", "|") if len(names) == 1 and s in names[0]), None)
        hint = (f" The header looks {sep}-separated: graphfraud reads comma-separated CSV; "
                "re-export it with commas." if sep
                else " Rename the columns to the contract names (see README, 'Input contract').")
        raise DataContractError(
            f"{raw.path}: missing required column(s) {', '.join(absent)} (header has: {header}).{hint}")
    accepted, bad = transform_table(spec, raw.frame, raw.path.name, tz, epoch_unit=epoch_unit, time_range=time_range)
    # Only the typed table leaves: the raw strings are not held while other tables are read.
    return _Read(accepted, [raw.rejects, bad], raw.path.name, raw.encoding, raw.sha256, raw.rows_read,
                 tuple(raw.unread))


def _file_size(path: Path) -> int:
    """Bytes of ``path`` for scheduling (0 when it cannot be read: reading it says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _check_tz(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataContractError(f"unknown time zone {tz!r}; give an IANA name such as Asia/Shanghai or UTC.") from None
