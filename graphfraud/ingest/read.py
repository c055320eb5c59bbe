"""Reading table files into raw string frames with their source line numbers.

This is the only ingest module that touches the file system. What it refuses, and why:

* anything but a regular file (a FIFO or a device may never end; a symlink loop never
  resolves): checked on the open file descriptor, so a file swapped in between a check
  and the read cannot slip through;
* gzip that inflates past :data:`GZIP_MAX_RATIO` times its size (and past
  :data:`GZIP_MIN_ALLOWANCE`): a decompression bomb is stopped while it inflates;
* a CSV header longer than :data:`~graphfraud.contract.MAX_HEADER_BYTES` or with a
  column name given twice;
* a JSON line that gives one key twice (``{"account_id": "a1", "account_id": "a2"}``):
  JSON leaves such an object's meaning open, and readers disagree (polars keeps the
  first value, Python's ``json`` the last), so neither value is taken.

Malformed records do not sink the table: a ragged CSV row, an unclosed quote or a
broken JSON line becomes one reject record with its line number, and every other row
is read. Well-formed files take the vectorised path (polars, numpy); only files that fail
its structure check are re-read record by record.
"""

from __future__ import annotations

import csv
import errno
import gzip
import hashlib
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from ..contract import CONTRACT, MAX_HEADER_BYTES, SUFFIXES
from ..errors import DataContractError
from ..textsafe import EXCERPT_CHARS, excerpt
from .transform import LINE, REJECT_SCHEMA, number_text

#: Encodings tried when telling the user which ones decode a file.
_CANDIDATES = ("utf-8", "gb18030", "gbk")
#: A gzip member may inflate to this many times its compressed size...
GZIP_MAX_RATIO = 100
#: ...or to this many bytes, whichever is larger (small files compress well).
GZIP_MIN_ALLOWANCE = 256 * 2**20
#: Physical lines a quoted CSV field may span before its quote counts as unclosed.
MAX_RECORD_LINES = 10_000

# Reason strings of structural rejects (part of the report format: keep them stable).
RAGGED = "row has {got} field(s), the header has {want}"
UNCLOSED_QUOTE = "unclosed quote: no closing \" before the end of the record"
BAD_QUOTING = "malformed CSV quoting ({detail})"
BAD_JSON = "not valid JSON ({detail})"
NOT_OBJECT = "not a JSON object"
DUPLICATE_KEY = "the key {key!r} is given twice in this JSON object"


@dataclass(frozen=True)
class RawTable:
    """One table as read: all values as strings, plus where it came from.

    ``rejects`` holds records that could not even be split into fields (ragged rows,
    broken quoting, broken JSON lines); ``frame`` holds every other record. ``header``
    is every column the file has, in its order; ``unread`` the ones left out of
    ``frame`` because the reader was asked for other columns only.
    """

    name: str
    path: Path
    frame: pl.DataFrame
    encoding: str
    sha256: str
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECT_SCHEMA))
    header: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()

    @property
    def rows_read(self) -> int:
        return self.frame.height + self.rejects.height


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


def misnamed_tables(data_dir: Path, tables: Collection[str]) -> dict[str, tuple[str, str]]:
    """Files in ``data_dir`` that would be one of ``tables`` in lower case: by table, the
    file's name and the name it should have.

    Table file names are case-sensitive (``Reviews.CSV`` is not read), which a Windows
    export does not make visible; the errors and notes about unread files point at them.
    """
    near: dict[str, tuple[str, str]] = {}
    for path in sorted(Path(data_dir).iterdir()):
        lower = path.name.lower()
        for suffix in SUFFIXES:
            table = lower[: -len(suffix)] if lower.endswith(suffix) else ""
            if table in tables and path.name != f"{table}{suffix}":
                near.setdefault(table, (path.name, f"{table}{suffix}"))
    return near


# ------------------------------------------------------------------ bytes
_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file (after symlinks); a clear error otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is then
        # checked on the descriptor actually read.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataContractError(f"{path}: a symbolic link loop; point the link at a real file.") from None
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise DataContractError(f"{path}: a broken symbolic link (its target does not exist).") from None
        raise DataContractError(f"{path}: cannot be read ({exc.strerror}). Check the path and permissions.") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise DataContractError(
                f"{path}: is {kind}, not a regular file. graphfraud reads only regular files (a pipe or a "
                "device may never end); copy the data into a file first.")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        try:
            return f.read()
        except OSError as exc:
            raise DataContractError(f"{path}: cannot be read ({exc.strerror}).") from None


def gunzip_bounded(data: bytes, path: Path) -> bytes:
    """Decompress gzip ``data``, stopping a decompression bomb while it inflates."""
    allowance = max(GZIP_MIN_ALLOWANCE, GZIP_MAX_RATIO * len(data))
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(allowance + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataContractError(
            f"{path}: not a valid gzip file ({excerpt(exc, 120)}). Re-compress it or remove .gz.") from None
    if len(out) > allowance:
        raise DataContractError(
            f"{path}: inflates to more than {allowance:,} bytes from {len(data):,} (limit: {GZIP_MAX_RATIO}x its size "
            f"or {GZIP_MIN_ALLOWANCE:,} bytes); this looks like a decompression bomb. "
            "Decompress it yourself if it is real.")
    return out


def _first_bad_line(data: bytes, encoding: str) -> int | None:
    try:
        data.decode(encoding)
        return None
    except UnicodeDecodeError as exc:
        return data[: exc.start].count(b"\n") + 1


_BINARY_SIGNATURES = ((b"PK\x03\x04", "a ZIP archive (an .xlsx workbook?)"),
                      (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) file"), (b"PAR1", "a Parquet file"),
                      (b"\x1f\x8b", "gzip data"), (b"%PDF", "a PDF"))


def _binary(data: bytes) -> str | None:
    """What ``data`` is when it is plainly not text, else None."""
    for magic, what in _BINARY_SIGNATURES:
        if data.startswith(magic):
            return what
    head = data[:65_536]
    controls = sum(head.count(bytes([b])) for b in (*range(0, 9), *range(14, 32)))
    return "binary data" if head and controls / len(head) > 0.01 else None


def _decode(data: bytes, path: Path, encoding: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes and the encoding they were read in."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataContractError(f"{path}: is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8.")
    tried = ("utf-8", "gb18030") if encoding == "auto" else (encoding,)
    for enc in tried:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return (data if enc == "utf-8" or enc.replace("-", "").lower() == "utf8" else text.encode("utf-8")), enc
    what = _binary(data)
    if what:
        raise DataContractError(f"{path}: is not a text table but {what}. Export the table as CSV (UTF-8), "
                                "Parquet or JSON Lines, with the file name saying which.")
    # Say where each candidate breaks and which (if any) would work.
    fails = {enc: _first_bad_line(data, enc) for enc in _CANDIDATES}
    works = [enc for enc, line in fails.items() if line is None and enc not in tried]
    first = fails.get(tried[0]) or _first_bad_line(data, tried[0])
    where = f"line {first} is not valid {' or '.join(tried)}"
    if works:
        advice = f"Re-run with --encoding {works[0]}" + (f" (or {', '.join(works[1:])})" if works[1:] else "") + "."
    elif len(set(fails.values())) == 1:
        advice = (f"No supported encoding ({', '.join(_CANDIDATES)}) decodes that line: fix or remove it, "
                  "or re-save the file as UTF-8.")
    else:
        advice = ("No supported encoding decodes the whole file (" +
                  ", ".join(f"{enc} fails at line {line}" for enc, line in fails.items()) +
                  "): it mixes encodings. Re-save it in one encoding (UTF-8), e.g. fix or drop those lines.")
    raise DataContractError(f"{path}: {where}. {advice}")


def read_raw(name: str, path: Path, encoding: str = "auto", columns: Collection[str] | None = None) -> RawTable:
    """Read one table file into strings, remembering each row's line number.

    Parameters
    ----------
    name, path, encoding
        The table, its file, and ``auto`` or the encoding of a text file.
    columns
        Read only these columns (``None``: all). Parquet and CSV skip the others while
        reading (Parquet never decodes them, CSV never builds them); they are listed in
        :attr:`RawTable.unread`. Parquet numbers stay numbers (see :func:`_stringify`).
    """
    path = Path(path)
    data = read_regular_file(path)
    sha = hashlib.sha256(data).hexdigest()
    if path.name.endswith(".gz"):
        data = gunzip_bounded(data, path)
    if path.name.endswith((".csv", ".csv.gz")):
        if not data.strip():
            raise DataContractError(f"{path}: the file is empty; a CSV needs at least a header line "
                                    f"with the columns {', '.join(CONTRACT[name].required_columns)}.")
        data, used = _decode(data, path, encoding)
        frame, rejects, header = _read_csv(data, path, name, columns)
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        if not data.strip():
            raise DataContractError(f"{path}: the file is empty; write one JSON object per line.")
        data, used = _decode(data, path, encoding)
        frame, rejects = read_jsonl_records(data, path, name)
        header = tuple(c for c in frame.columns if c != LINE)
        if columns is not None:
            frame = frame.select([c for c in header if c in columns] + [LINE])
    else:
        try:
            source = io.BytesIO(data)
            schema = pl.read_parquet_schema(source)
            header = tuple(schema)
            source.seek(0)
            frame = _one_chunk(pl.read_parquet(source, columns=[c for c in header if columns is None or c in columns]))
        except Exception as exc:  # polars, arrow and OS errors alike: the file is unusable
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataContractError(f"{path}: not a readable Parquet file ({excerpt(first, 160)}). Export the "
                                   "table again (a file cut short by a copy is the usual cause), or as CSV.") from None
        _refuse_nested(name, path, schema)
        used = "parquet"
        # Parquet has no lines: the reported "line" is the 1-based row number.
        frame = _stringify(frame, numbers=_number_columns(name)).with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE))
        rejects = pl.DataFrame(schema=REJECT_SCHEMA)
    unread = tuple(c for c in header if c not in frame.columns)
    return RawTable(name, path, frame, used, sha, rejects, header, unread)


def _one_chunk(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every column in one chunk, copied one column at a time.

    A Parquet table comes in one chunk per row group, and the columns the transforms add
    come in one: every expression mixing them first copied the whole table into one
    chunk, several times per table (orders at 1M accounts: 2.6 GB above the table). Each
    original column is released as soon as its copy is made, so this costs one column.
    """
    columns = frame.get_columns()
    del frame
    out = []
    while columns:
        out.append(columns.pop(0).rechunk())
    return pl.DataFrame(out)


#: What a Parquet column of each kind may hold (one value per row).
_SCALARS = {"id": "text or an integer", "timestamp": "a timestamp, a date, an integer epoch or text",
            "rating": "a number or text", "amount": "a number or text"}


def _refuse_nested(table: str, path: Path, schema: dict[str, Any]) -> None:
    """Stop on a contract column (other than free text) that Parquet stores as a list or struct.

    Each row would otherwise be rejected with the printed list or struct as its value, and
    the fix, one value per row, is the same for every row.
    """
    for column in CONTRACT[table].columns:
        dtype = schema.get(column.name)
        if column.kind in _SCALARS and dtype is not None and dtype.is_nested():
            what = {pl.List: "a list", pl.Array: "an array", pl.Struct: "a struct"}.get(dtype.base_type(), "nested")
            pick = (f"pl.col({column.name!r}).struct.field(...)" if dtype.base_type() == pl.Struct
                    else f"pl.col({column.name!r}).list.first()")
            raise DataContractError(
                f"{path}: column {column.name!r} is of type {excerpt(dtype, 120)}, {what} per row, but "
                f"{column.kind} values must be {_SCALARS[column.kind]}, one per row. Write the one value each row "
                f"means (e.g. {pick} in polars) and export the table again.")


def _number_columns(table: str) -> frozenset[str]:
    """Columns of ``table`` the contract reads as numbers (ratings, amounts)."""
    return frozenset(c.name for c in CONTRACT[table].columns if c.kind in ("rating", "amount"))


# ------------------------------------------------------------------ CSV
_HEADER_JUNK = re.compile(r"^[\s\ufeff\u200b\x00-\x1f\x7f]+|[\s\ufeff\u200b\x00-\x1f\x7f]+$")


def _normalise_newlines(data: bytes) -> bytes:
    # Lone CR (old Mac exports) and CRLF both end a line; after this only LF does.
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    return data.replace(b"\r", b"\n") if b"\r" in data else data


#: Bytes examined at once by the structure check (bounds its working memory to a few times this).
_CHUNK = 1 << 23


@dataclass
class _Structure:
    """Record boundaries of a CSV, found without parsing it (quote parity)."""

    starts: np.ndarray  # byte offset of each record
    ends: np.ndarray  # byte offset of its terminating newline (or end of data)
    fields: np.ndarray  # fields per record
    lines: np.ndarray  # physical line where it starts (1-based)
    balanced: bool  # every quote closed by the end of the data


def _structure(data: bytes) -> _Structure:
    """Where records start and end, and their field counts, in chunks of :data:`_CHUNK` bytes.

    A newline or comma separates only outside quotes; inside/outside is the parity of the
    quotes before it (RFC 4180's doubled quote keeps the parity), carried across chunks.
    """
    arr = np.frombuffer(data, np.uint8)
    quoted = b'"' in data
    ends, commas_to_end, lines_to_end = [], [], []
    inside_carry, commas_before, newlines_before = False, 0, 0
    for lo in range(0, arr.size, _CHUNK):
        chunk = arr[lo: lo + _CHUNK]
        newlines = np.flatnonzero(chunk == ord("\n"))
        commas = chunk == ord(",")
        bound = newlines
        if quoted:
            inside = np.logical_xor.accumulate(chunk == ord('"'))
            if inside_carry:
                np.logical_not(inside, out=inside)
            inside_carry = bool(inside[-1])
            bound = newlines[~inside[newlines]]
            commas &= ~inside
        comma_pos = np.flatnonzero(commas)
        ends.append(bound + lo)
        commas_to_end.append(commas_before + np.searchsorted(comma_pos, bound))
        lines_to_end.append(newlines_before + np.searchsorted(newlines, bound) + 1)
        commas_before += comma_pos.size
        newlines_before += newlines.size
    end = np.concatenate([*ends, [arr.size]])
    del ends
    start = np.empty_like(end)
    start[0], start[1:] = 0, end[:-1] + 1
    fields = np.diff(np.concatenate([[0], *commas_to_end, [commas_before]])).astype(np.int32) + 1
    line = np.concatenate([[1], *lines_to_end])
    line[1:] += 1
    # A final newline opens no record (slices, not copies: these arrays are per record).
    n = end.size - 1 if start[-1] == arr.size else end.size
    return _Structure(start[:n], end[:n], fields[:n], line[:n], not inside_carry)


def _header(data: bytes, st: _Structure, path: Path) -> list[str]:
    size = int(st.ends[0] - st.starts[0])
    if size > MAX_HEADER_BYTES:
        head = data[: 4 * EXCERPT_CHARS].decode("utf-8", "replace")[:EXCERPT_CHARS]
        raise DataContractError(
            f"{path}: the header line is {size:,} bytes long (limit {MAX_HEADER_BYTES:,}); this is not a CSV header. "
            f"It starts: {excerpt(head)!r}…")
    text = data[: size].decode("utf-8")
    try:
        [names] = list(csv.reader(io.StringIO(text), strict=True)) or [[]]
    except (csv.Error, ValueError) as exc:
        raise DataContractError(f"{path}: the header line cannot be read as CSV ({exc}): {excerpt(text)!r}. "
                                "Check its quotes: every opening \" needs a closing one.") from None
    names = [_HEADER_JUNK.sub("", n) or f"_column_{i}" for i, n in enumerate(names, 1)]
    seen: dict[str, int] = {}
    for i, n in enumerate(names, 1):
        if n in seen:
            raise DataContractError(
                f"{path}: column {excerpt(n)!r} appears twice in the header (columns {seen[n]} and {i}). Rename or "
                "remove one: graphfraud will not guess which of the two holds the data.")
        seen[n] = i
    return names


def _record_rejects(table: str, path: Path, lines: list[int], values: list[str], reasons: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"table": table, "file": path.name, "line": pl.Series(lines, dtype=pl.Int64),
                         "column": pl.Series([None] * len(lines), dtype=pl.String),
                         "value": [excerpt(v) for v in values], "reason": reasons}, schema=REJECT_SCHEMA)


def read_csv_records(data: bytes, path: Path, table: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split UTF-8 CSV ``data`` into a string frame (with ``_line``) and record-level rejects."""
    frame, rejects, _ = _read_csv(data, path, table, None)
    return frame, rejects


def _read_csv(data: bytes, path: Path, table: str,
              columns: Collection[str] | None) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...]]:
    """:func:`read_csv_records` of the header's columns in ``columns`` (``None``: all), and the header."""
    data = _normalise_newlines(data)
    st = _structure(data)
    names = _header(data, st, path)
    # Ragged rows are told by the field count of the whole record, so reading fewer
    # columns rejects exactly the rows reading all of them would.
    # A frame needs a column to hold rows; a file with none of the wanted columns is
    # stopped by the caller anyway (every table has required columns).
    wanted = [i for i, n in enumerate(names) if columns is None or n in columns] or [0]
    if st.balanced:
        fast = _csv_fast(data, st, names, wanted, path, table)
        if fast is not None:
            return (*fast, tuple(names))
    return (*_csv_slow(data.decode("utf-8"), names, wanted, path, table), tuple(names))


def _csv_fast(data: bytes, st: _Structure, names: list[str], wanted: list[int], path: Path,
              table: str) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Polars reads the ``wanted`` columns (positions in ``names``); the structure says which
    rows are blank or ragged. None: use the slow path."""
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=True,
                            quote_char='"', has_header=True, columns=wanted)
    except pl.exceptions.PolarsError:
        return None
    if frame.width != len(wanted) or frame.height != st.starts.size - 1:
        return None  # polars split the file differently than the quote parity did
    frame = frame.rename(dict(zip(frame.columns, [names[i] for i in wanted])))
    body = slice(1, None)
    lengths = st.ends[body] - st.starts[body]
    fields, lines = st.fields[body], st.lines[body]
    blank = lengths == 0
    ragged = ~blank & (fields != len(names))
    frame = frame.with_columns(pl.Series(LINE, lines, dtype=pl.Int64))
    rejects = pl.DataFrame(schema=REJECT_SCHEMA)
    if ragged.any():
        idx = np.flatnonzero(ragged)
        raw = [data[st.starts[i + 1]: st.ends[i + 1]].decode("utf-8") for i in idx[:10_000]]
        raw += [""] * (idx.size - len(raw))  # quoting every one of millions of bad rows helps nobody
        rejects = _record_rejects(table, path, lines[idx].tolist(), raw,
                                  [RAGGED.format(got=int(f), want=len(names)) for f in fields[idx]])
    keep = ~blank & ~ragged
    # Filtering copies every column: only when there is something to drop.
    return (frame if keep.all() else frame.filter(pl.Series(keep))), rejects


def _csv_slow(text: str, names: list[str], wanted: list[int], path: Path,
              table: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Record-by-record recovery for files the fast path cannot split.

    Each physical line is tried on its own first (a lone ``"`` inside a field is data);
    a line whose quote is still open at its end takes the following lines until the
    quote count is even again. If that record does not have the header's field count,
    or no closing quote comes, only the first line is rejected and reading resumes on
    the next line, so one stray quote costs one row, not the rest of the file.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    width = len(names)
    rows: list[list[str]] = []
    row_lines: list[int] = []
    bad_lines: list[int] = []
    bad_values: list[str] = []
    bad_reasons: list[str] = []

    def parse(chunk: str) -> list[list[str]] | str:
        try:
            return list(csv.reader(io.StringIO(chunk), strict=True))
        except csv.Error as exc:
            return str(exc)

    # The header is one record; find where it ends (it may hold quoted newlines).
    i, header_lines = 0, 1
    while header_lines <= len(lines) and "\n".join(lines[:header_lines]).count('"') % 2:
        header_lines += 1
    i = header_lines
    while i < len(lines):
        line = lines[i]
        if line == "":
            i += 1
            continue
        got = parse(line)
        if isinstance(got, list) and len(got) == 1 and len(got[0]) == width:
            rows.append(got[0])
            row_lines.append(i + 1)
            i += 1
            continue
        reason: str
        if got == "unexpected end of data" or (isinstance(got, str) and line.count('"') % 2):
            j, quotes = i, line.count('"')
            while quotes % 2 and j + 1 < len(lines) and j - i < MAX_RECORD_LINES:
                j += 1
                quotes += lines[j].count('"')
            joined = parse("\n".join(lines[i:j + 1])) if quotes % 2 == 0 else None
            if isinstance(joined, list) and len(joined) == 1 and len(joined[0]) == width:
                rows.append(joined[0])
                row_lines.append(i + 1)
                i = j + 1
                continue
            reason = UNCLOSED_QUOTE
        elif isinstance(got, str):
            reason = BAD_QUOTING.format(detail=got)
        else:
            reason = RAGGED.format(got=sum(len(r) for r in got), want=width)
        bad_lines.append(i + 1)
        bad_values.append(line)
        bad_reasons.append(reason)
        i += 1
    columns = list(zip(*rows)) if rows else [()] * width
    frame = pl.DataFrame({names[i]: pl.Series(names[i], [v if v != "" else None for v in columns[i]], dtype=pl.String)
                          for i in wanted})
    frame = frame.with_columns(pl.Series(LINE, row_lines, dtype=pl.Int64))
    return frame, _record_rejects(table, path, bad_lines, bad_values, bad_reasons)


# ------------------------------------------------------------------ JSON Lines
def _line_spans(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) byte offsets of every physical line."""
    arr = np.frombuffer(data, np.uint8)
    nl = np.flatnonzero(arr == ord("\n"))
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [arr.size]))
    return starts, ends


def read_jsonl_records(data: bytes, path: Path, table: str,
                       duplicate_keys: Literal["raise", "reject"] = "raise") -> tuple[pl.DataFrame, pl.DataFrame]:
    """One JSON object per line into a string frame (with ``_line``) and per-line rejects.

    A line that gives one key twice raises :class:`~graphfraud.errors.DataContractError`
    naming the first such line and key; with ``duplicate_keys="reject"`` (a stream, which
    must go on) that line is a reject record instead.
    """
    data = _normalise_newlines(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = b"   " + data[3:]  # the BOM's bytes become blanks: offsets and line numbers stay
    starts, ends = _line_spans(data)
    arr = np.frombuffer(data, np.uint8)
    printable = ~np.isin(arr, np.frombuffer(b" \t\n\x0c\x0b", np.uint8))
    # A line is blank when it holds no printable byte (reduceat over non-empty spans only).
    nonempty = ends > starts
    content = np.zeros(starts.size, dtype=bool)
    if nonempty.any():
        # Each sum runs to the next non-empty line's start; what lies between is newlines.
        content[nonempty] = np.add.reduceat(printable, starts[nonempty], dtype=np.int64) > 0
    line_numbers = np.flatnonzero(content) + 1
    try:
        frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
    except Exception:  # polars raises several types; the slow path says which line is bad
        frame = None
    if frame is not None and frame.height == line_numbers.size:
        duplicate = _first_duplicate_key(data, starts, ends, frame)
        if duplicate is None:
            return (_stringify(frame).with_columns(pl.Series(LINE, line_numbers, dtype=pl.Int64)),
                    pl.DataFrame(schema=REJECT_SCHEMA))
        if duplicate_keys == "raise":
            raise _duplicate_key_error(path, *duplicate)
    return _jsonl_slow(data, starts, ends, line_numbers, path, table, duplicate_keys)


def _duplicate_key_error(path: Path, line: int, key: str) -> DataContractError:
    """The one error both JSON Lines paths raise for a key given twice."""
    return DataContractError(
        f"{path}: line {line} gives the key {excerpt(key)!r} twice in one JSON object. Keep one of the two and read "
        "the file again: graphfraud will not guess which value is meant (JSON readers disagree, some take the "
        "first and some the last).")


def _load_object(raw: str) -> tuple[Any, str | None]:
    """``raw`` parsed as JSON, and the first key its outermost object gives twice (or None)."""
    outer: list[list[tuple[str, Any]]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        outer[:] = [pairs]  # objects are built inside out: the last call is the outermost
        return dict(pairs)

    obj = json.loads(raw.lstrip("\ufeff"), object_pairs_hook=pairs_hook)  # a BOM where two exports were joined
    if isinstance(obj, dict) and outer and len(outer[0]) > len(obj):
        seen: set[str] = set()
        for key, _ in outer[0]:
            if key in seen:
                return obj, key
            seen.add(key)
    return obj, None


#: A key written with an escape that may spell another key's name (``"account_\u0069d":``,
#: ``"a\/b":``): the escape, the rest of the key, its closing quote and the colon. JSON
#: spells ``"``, ``\`` and control characters in other ways only with ``\u`` as well.
_ESCAPED_KEY = r'\\[u/](?:[^"\\]|\\.)*"\s*:'


def _first_duplicate_key(data: bytes, starts: np.ndarray, ends: np.ndarray,
                         frame: pl.DataFrame) -> tuple[int, str] | None:
    """The first line of well-formed JSON Lines ``data`` that gives a key twice, and that key.

    ``frame`` is what polars read from ``data``; its columns are every top-level key. A line
    can give key ``k`` twice only if the literal ``"k"`` occurs twice in it, or if it spells
    a key with an ``\\u`` or ``\\/`` escape. Such lines, usually none, are found by counting
    literals per line (one vectorised pass per column) and then parsed one by one.
    """
    tokens = [json.dumps(name, ensure_ascii=False) for name in frame.columns]
    line = pl.col("line").str
    tests = [line.count_matches(token, literal=True) > 1 for token in tokens]
    if b"\\u" in data or b"\\/" in data:
        tests.append(line.contains(_ESCAPED_KEY))
    if not tests:
        return None
    import pyarrow as pa  # only here: CSV and Parquet reads need not import it

    # The lines as one string column over ``data`` itself (each with its newline), no copy per line.
    offsets = np.append(starts, len(data)).astype(np.int64)
    column = pa.Array.from_buffers(pa.large_binary(), starts.size, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    lines = pl.DataFrame({"line": pl.from_arrow(column)}).with_columns(pl.col("line").cast(pl.String))
    suspect = lines.select(pl.any_horizontal(tests)).to_series().to_numpy()
    for i in np.flatnonzero(suspect).tolist():
        _, key = _load_object(data[starts[i]: ends[i]].decode("utf-8"))
        if key is not None:
            return i + 1, key
    return None


def _json_string(value: Any) -> str | None:
    """The string a JSON value becomes in a raw frame (as the fast path's :func:`_stringify`)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _jsonl_slow(data: bytes, starts: np.ndarray, ends: np.ndarray, line_numbers: np.ndarray, path: Path,
                table: str, duplicate_keys: Literal["raise", "reject"] = "raise") -> tuple[pl.DataFrame, pl.DataFrame]:
    records: list[dict[str, str | None]] = []
    good: list[int] = []
    bad_lines: list[int] = []
    bad_values: list[str] = []
    bad_reasons: list[str] = []
    for n in line_numbers.tolist():
        raw = data[starts[n - 1]: ends[n - 1]].decode("utf-8")
        try:
            obj, duplicate = _load_object(raw)
        except (json.JSONDecodeError, RecursionError) as exc:
            bad_lines.append(n)
            bad_values.append(raw)
            bad_reasons.append(BAD_JSON.format(detail=getattr(exc, "msg", "nested too deeply")))
            continue
        if not isinstance(obj, dict):
            bad_lines.append(n)
            bad_values.append(raw)
            bad_reasons.append(NOT_OBJECT)
            continue
        if duplicate is not None:
            if duplicate_keys == "raise":
                raise _duplicate_key_error(path, n, duplicate)
            bad_lines.append(n)
            bad_values.append(raw)
            bad_reasons.append(DUPLICATE_KEY.format(key=excerpt(duplicate)))
            continue
        records.append({k: _json_string(v) for k, v in obj.items()})
        good.append(n)
    columns = list(dict.fromkeys(k for r in records for k in r))
    frame = pl.DataFrame({c: pl.Series(c, [r.get(c) for r in records], dtype=pl.String) for c in columns})
    frame = frame.with_columns(pl.Series(LINE, good, dtype=pl.Int64))
    return frame, _record_rejects(table, path, bad_lines, bad_values, bad_reasons)


# ------------------------------------------------------------------ typed columns
def _json_text(value: Any) -> str:
    """A nested value as JSON text; polars hands a list or array over as a Series."""
    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value, ensure_ascii=False, default=str)


def _stringify(frame: pl.DataFrame, numbers: Collection[str] = ()) -> pl.DataFrame:
    """Turn typed columns into the strings the transforms expect, losing nothing.

    Integer and float columns named in ``numbers`` stay as they are: the transforms read
    those as numbers, and a round trip through text would only cost time.
    """
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        # Float32 stays text: its shortest text reads back as a different Float64.
        if dtype == pl.String or (name in numbers and (dtype == pl.Float64 or dtype.is_integer())):
            exprs.append(col)
        elif isinstance(dtype, pl.Datetime) or dtype == pl.Date:
            # Instants no date library can print (year 10000+) are kept as a marker the
            # timestamp parser rejects, instead of crashing the formatter.
            printable = col.dt.year().is_between(1, 9999)
            safe = pl.when(printable).then(col)
            if isinstance(dtype, pl.Datetime):
                text = safe.dt.strftime("%Y-%m-%dT%H:%M:%S%.f%:z" if dtype.time_zone else "%Y-%m-%dT%H:%M:%S%.f")
            else:
                text = safe.dt.strftime("%Y-%m-%d")
            exprs.append(pl.when(col.is_not_null() & ~printable).then(pl.lit("datetime beyond year 9999"))
                         .otherwise(text).alias(name))
        elif dtype.is_float():
            exprs.append(number_text(col).alias(name))
        elif dtype.is_nested() or isinstance(dtype, pl.Object):
            # Rare (free text or extra columns only, see _refuse_nested): per value is fine.
            exprs.append(col.map_elements(_json_text, return_dtype=pl.String, skip_nulls=True).alias(name))
        else:
            try:  # most types cast; some (durations, binary, objects) do not, and are printed instead
                frame.head(1).select(col.cast(pl.String))
                exprs.append(col.cast(pl.String).alias(name))
            except pl.exceptions.PolarsError:
                exprs.append(col.map_elements(str, return_dtype=pl.String, skip_nulls=True).alias(name))
    return frame.select(exprs)
