"""Event sources that grow: a file being appended, JSONL on stdin, a directory of new files.

This is the I/O half of ``graphfraud monitor`` (the state and tests are the pure
:mod:`graphfraud.stream`). Lines are cut into chunks of complete records and read with the
batch reader's own record parsers (:func:`~graphfraud.ingest.read.read_csv_records`,
:func:`~graphfraud.ingest.read.read_jsonl_records`) and typed with
:func:`~graphfraud.ingest.transform.transform_table`, so a bad row gets the same reject
record as in ``graphfraud validate`` — with its line number in the growing file — and
never stops the stream.
"""

from __future__ import annotations

import datetime as dt
import os
import select
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl

from ..contract import CONTRACT, DEFAULT_TZ, TimeRange
from ..errors import ParameterError
from ..stream import Alert, Monitor
from ..stream.monitor import EVENT_TABLES
from .read import read_csv_records, read_jsonl_records
from .transform import LINE, REJECT_SCHEMA, transform_table

#: Reject reason for a row that names no event table (part of the report format).
NO_TABLE = "row is neither an order nor a review: give order_id or review_id, a 'table' field, or --table"
#: Bytes read from a file per chunk at most (bounds one batch's memory; a backlog is read in chunks).
CHUNK_BYTES = 8 * 2**20
#: Seconds between polls of a file or directory that has not grown (tail -f polls once a second).
POLL_S = 0.2
#: Suffixes read as JSON lines (anything else as CSV with a header).
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
#: Suffixes of the files a followed directory is read from.
FOLLOWED_SUFFIXES = (".csv", *JSONL_SUFFIXES)
#: Reject reason for a file in a followed directory that is not read (part of the report format).
NOT_FOLLOWED = (f"file not followed: a directory is read from {', '.join(FOLLOWED_SUFFIXES)} files only "
                "(compressed files are not followed); rename it or decompress it")
#: The primary key column that tells an event row's table.
_KEY_OF = {t: CONTRACT[t].primary_key[0] for t in EVENT_TABLES}


@dataclass(frozen=True)
class Chunk:
    """Complete records from one source: their bytes, format, first line number and name."""

    data: bytes
    fmt: str  # "csv" or "jsonl"
    first_line: int
    name: str
    header: bytes = b""


@dataclass
class FollowStats:
    """What a follow loop has read."""

    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    files: list[str] = field(default_factory=list)


def _fmt(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in JSONL_SUFFIXES else "csv"


class _Tail:
    """Complete lines appended to one file since the last read (a partial last line waits)."""

    def __init__(self, path: Path, from_start: bool = True) -> None:
        self.path, self.fmt = path, _fmt(path)
        self.fh: BinaryIO | None = None
        self.pos, self.line, self.header, self.rest = 0, 1, b"", b""
        self.inode: int | None = None
        self.from_start = from_start

    def _open(self) -> BinaryIO | None:
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        except FileNotFoundError:
            return None
        self.fh, self.inode = fh, os.fstat(fh.fileno()).st_ino
        self.pos, self.line, self.header, self.rest = 0, 1, b"", b""
        return fh

    def read(self) -> Chunk | None:
        fh = self.fh if self.fh is not None else self._open()
        if fh is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_ino != self.inode or st.st_size < self.pos):
            # Rotated or truncated: read the new file from its start.
            fh.close()
            fh = self._open()
            if fh is None:
                return None
        fh.seek(self.pos)
        data = fh.read(CHUNK_BYTES)
        if not data:
            return None
        self.pos += len(data)
        data = self.rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self.rest = data
            return None
        data, self.rest = data[: cut + 1], data[cut + 1:]
        first = self.line
        self.line += data.count(b"\n")
        if self.fmt == "csv" and not self.header:
            end = data.index(b"\n") + 1
            self.header, data, first = data[:end], data[end:], first + 1
            if not data:
                return None
        return Chunk(data, self.fmt, first, self.path.name, self.header)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()


def _stdin_chunks(stream: BinaryIO, wait_s: float) -> Iterator[Chunk | None]:
    """JSONL from a pipe: whatever complete lines are there every ``wait_s``; ``None`` when idle."""
    line = 1
    fd = stream.fileno()
    rest = b""
    while True:
        ready, _, _ = select.select([fd], [], [], wait_s)
        if not ready:
            yield None
            continue
        data = os.read(fd, 2**20)
        if not data:
            if rest.strip():
                yield Chunk(rest + b"\n", "jsonl", line, "<stdin>")
            return
        data = rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        data, rest = data[: cut + 1], data[cut + 1:]
        yield Chunk(data, "jsonl", line, "<stdin>")
        line += data.count(b"\n")


def parse_chunk(chunk: Chunk, *, table: str | None = None, tz: str = DEFAULT_TZ, epoch_unit: str = "auto",
                time_range: TimeRange | None = None) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Typed events (with a ``table`` column) and reject records of one chunk, and its line count.

    Rows are read and typed by the batch ingest's own functions; line numbers are those
    of the source file.
    """
    path = Path(chunk.name)
    label = table or "events"
    if chunk.fmt == "csv":
        raw, rejects = read_csv_records(chunk.header + chunk.data, path, label)
        shift = chunk.first_line - 2
    else:
        raw, rejects = read_jsonl_records(chunk.data, path, label, duplicate_keys="reject")
        shift = chunk.first_line - 1
    lines = chunk.data.count(b"\n")
    raw = raw.with_columns(pl.col(LINE) + shift)
    rejects = rejects.with_columns(pl.col("line") + shift)
    if raw.height == 0:
        return pl.DataFrame(), rejects, lines
    if table is not None:
        which = pl.lit(table)
    else:
        which = pl.lit(None, pl.String)
        for t, key in reversed(_KEY_OF.items()):
            if key in raw.columns:
                which = pl.when(pl.col(key).str.strip_chars().str.len_chars() > 0).then(pl.lit(t)).otherwise(which)
        if "table" in raw.columns:
            which = pl.when(pl.col("table").is_in(list(EVENT_TABLES))).then(pl.col("table")).otherwise(which)
    raw = raw.with_columns(which.alias("__table"))
    parts, bad = [], [rejects]
    lost = raw.filter(pl.col("__table").is_null())
    if lost.height:
        bad.append(pl.DataFrame({"table": label, "file": chunk.name, "line": lost[LINE], "column": None,
                                 "value": None, "reason": NO_TABLE}, schema=REJECT_SCHEMA))
    for t in EVENT_TABLES:
        rows = raw.filter(pl.col("__table") == t).drop("__table", *(["table"] if "table" in raw.columns else []))
        if rows.height == 0:
            continue
        spec = CONTRACT[t]
        rows = rows.select([c for c in rows.columns if c in spec.column_index or c == LINE])
        # A stream has no header to refuse: an event that lacks a column is a row-level reject
        # ("missing required value") like an empty field, not a file-level error.
        absent = [c.name for c in spec.columns if c.name not in rows.columns]
        if absent:
            rows = rows.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
        ok, rej = transform_table(spec, rows, chunk.name, tz, epoch_unit=epoch_unit, time_range=time_range)
        bad.append(rej)
        if ok.height:
            parts.append(ok.with_columns(pl.lit(t).alias("table")))
    events = pl.concat(parts, how="diagonal") if parts else pl.DataFrame()
    return events, pl.concat(bad) if len(bad) > 1 else rejects, lines


def follow(source: str, monitor: Monitor, *, on_alert: Callable[[Alert], None],
           on_rejects: Callable[[pl.DataFrame], None], on_heartbeat: Callable[[FollowStats], None] | None = None,
           heartbeat_s: float = 10.0, idle_exit_s: float | None = None, table: str | None = None,
           tz: str = DEFAULT_TZ, epoch_unit: str = "auto", time_range: TimeRange | None = None,
           stdin: BinaryIO | None = None) -> FollowStats:
    """Feed ``source`` (a file, a directory or ``-`` for stdin JSONL) to ``monitor`` until it ends.

    A file or directory is followed until nothing new has arrived for ``idle_exit_s``
    seconds (``None``: forever, until interrupted); stdin ends at end of input. At the
    end the open bucket is closed, so the last alerts are raised too.
    """
    if table is not None and table not in EVENT_TABLES:
        raise ParameterError(f"--table {table!r}: the monitor reads {' or '.join(EVENT_TABLES)}.")
    if time_range is None:
        time_range = TimeRange.parse(None, now=dt.datetime.now(dt.timezone.utc))
    stats = FollowStats()
    last_data = last_beat = time.monotonic()

    def feed(chunk: Chunk) -> None:
        events, rejects, lines = parse_chunk(chunk, table=table, tz=tz, epoch_unit=epoch_unit,
                                             time_range=time_range)
        stats.lines += lines
        stats.rejected += rejects.height
        if rejects.height:
            on_rejects(rejects)
        if events.height:
            stats.accepted += events.height
            for alert in monitor.update(events):
                on_alert(alert)

    def beat() -> None:
        nonlocal last_beat
        if on_heartbeat is not None and time.monotonic() - last_beat >= heartbeat_s:
            on_heartbeat(stats)
            last_beat = time.monotonic()

    try:
        if source == "-":
            for chunk in _stdin_chunks(stdin or sys.stdin.buffer, POLL_S):
                if chunk is not None:
                    feed(chunk)
                beat()
        else:
            path = Path(source)
            if not path.exists():
                raise ParameterError(f"{source}: no such file or directory. Give a file being appended, a directory "
                                     "that receives new files, or - for JSON lines on stdin.")
            tails: dict[Path, _Tail] = {}
            passed_over: set[Path] = set()
            while True:
                files, others = [path], []
                if path.is_dir():
                    # Hidden files are skipped unreported: copy tools write a partial upload as one.
                    listed = [p for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")]
                    files = [p for p in listed if p.suffix.lower() in FOLLOWED_SUFFIXES]
                    others = [p for p in listed if p not in files and p not in passed_over]
                if others:
                    # Said once per file, so that nothing dropped into the inbox is lost unnoticed.
                    passed_over.update(others)
                    on_rejects(pl.DataFrame({"table": "events", "file": [p.name for p in others], "line": None,
                                             "column": None, "value": None, "reason": NOT_FOLLOWED},
                                            schema=REJECT_SCHEMA))
                got = False
                for p in files:
                    if p not in tails:
                        tails[p] = _Tail(p)
                        stats.files.append(p.name)
                    while (chunk := tails[p].read()) is not None:
                        got = True
                        feed(chunk)
                now = time.monotonic()
                if got:
                    last_data = now
                elif idle_exit_s is not None and now - last_data >= idle_exit_s:
                    break
                beat()
                if not got:
                    time.sleep(POLL_S)
            for t in tails.values():
                t.close()
    finally:
        for alert in monitor.flush():
            on_alert(alert)
        if on_heartbeat is not None:
            on_heartbeat(stats)
    return stats
