"""Text written by fraudsters, made safe for the places graphfraud puts it.

Review texts, nicknames, shop names and ids come from the data, and the data is written
by the people under investigation. Every writer that puts such text where a program
interprets it goes through one function here (pure string transforms, no I/O).

Spreadsheets: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to Excel, LibreOffice and Google Sheets. Such cells are written with
a leading apostrophe (the spreadsheet convention for "this is text"); a cell that already
starts with an apostrophe gets one more, so :func:`restore_cells` undoes it exactly.

>>> import polars as pl
>>> df = pl.DataFrame({"id": ["=HYPERLINK(1)", "'quoted", "ok", None], "n": [-1, 2, 3, 4]})
>>> safe = neutralise_cells(df)
>>> safe["id"].to_list()
["'=HYPERLINK(1)", "''quoted", 'ok', None]
>>> restore_cells(safe).equals(df)
True
"""

from __future__ import annotations

import polars as pl

#: First characters that make a spreadsheet cell a formula (plus the escape itself).
_FORMULA_START = r"^[=+\-@\t\r']"


def neutralise_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix an apostrophe to every string cell a spreadsheet would read as a formula."""
    exprs = [pl.when(pl.col(c).str.contains(_FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
             for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(exprs) if exprs else frame


def restore_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Undo :func:`neutralise_cells` (drop the one leading apostrophe it added)."""
    exprs = [pl.when(pl.col(c).str.starts_with("'")).then(pl.col(c).str.slice(1)).otherwise(pl.col(c)).alias(c)
             for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(exprs) if exprs else frame
