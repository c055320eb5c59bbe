"""Text written by fraudsters, made safe for the places graphfraud puts it.

Review texts, nicknames, shop names and ids come from the data, and the data is written
by the people under investigation. Every writer that puts such text where a program
interprets it goes through one function here (pure string transforms, no I/O):

=====================  ===========================  ====================================
where                  function                     what it neutralises
=====================  ===========================  ====================================
CSV for spreadsheets   :func:`neutralise_cells`     formulas (``=``, ``+``, ``-``, ``@``...)
inline JSON in HTML    :func:`html_safe_json`       ``</script>``, ``<!--``, U+2028/2029
Markdown               :func:`markdown_text`        raw HTML, emphasis, links, tables
terminal               :func:`terminal_text`        ANSI escapes, control and bidi codes
XML (GraphML)          :func:`xml_text`             characters XML 1.0 forbids
error messages         :func:`excerpt`              megabyte values, line breaks
=====================  ===========================  ====================================

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

import json
import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # polars is imported where frames are handled: the CLI's start-up imports this module
    import polars as pl

#: First characters that make a spreadsheet cell a formula (plus the escape itself).
_FORMULA_START = r"^[=+\-@\t\r']"


def neutralise_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix an apostrophe to every string cell a spreadsheet would read as a formula."""
    import polars as pl

    exprs = [pl.when(pl.col(c).str.contains(_FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
             for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(exprs) if exprs else frame


def restore_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Undo :func:`neutralise_cells` (drop the one leading apostrophe it added)."""
    import polars as pl

    exprs = [pl.when(pl.col(c).str.starts_with("'")).then(pl.col(c).str.slice(1)).otherwise(pl.col(c)).alias(c)
             for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(exprs) if exprs else frame


# ------------------------------------------------------------------ HTML
#: Characters that may end or re-open an HTML script element, or end a JS string.
_HTML_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                            "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _finite(value: Any) -> Any:
    """Replace NaN and infinities (not JSON) by ``None``, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def html_safe_json(value: Any) -> str:
    """JSON that is inert inside any HTML context, including a ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026`` (the same string to
    ``JSON.parse``), so no data can write ``</script>`` or ``<!--``; U+2028/2029 are
    escaped for old JavaScript parsers; NaN and infinities become ``null`` (``JSON.parse``
    rejects them, which would blank the page).

    >>> html_safe_json({"t": "<!--<script>", "x": float("nan")})
    '{"t": "\\\\u003c!--\\\\u003cscript\\\\u003e", "x": null}'
    >>> json.loads(html_safe_json({"t": "</script>&\u2028"}))["t"] == "</script>&\u2028"
    True
    """
    return json.dumps(_finite(value), ensure_ascii=False, default=str, allow_nan=False).translate(_HTML_JSON)


# ------------------------------------------------------------------ Markdown
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping
#: all of them is the only rule that holds whatever position the text lands in.
_MD_PUNCT = re.compile(r"""([!"#$%'()*+,\-./:;=?@\[\\\]^_`{|}~])""")


def markdown_text(value: Any) -> str:
    """Text that renders as itself in CommonMark/GFM: no HTML, link, emphasis or table cell break.

    Line breaks become spaces (a value must not start a heading or a new table row) and
    control or bidi-override characters become visible escapes.

    >>> markdown_text("<script>alert(1)</script> *x* | [a](javascript:1)")
    '&lt;script&gt;alert\\\\(1\\\\)&lt;\\\\/script&gt; \\\\*x\\\\* \\\\| \\\\[a\\\\]\\\\(javascript\\\\:1\\\\)'
    >>> markdown_text("第一行\\n# 第二行")
    '第一行 \\\\# 第二行'
    """
    text = re.sub(r"\r\n|[\r\n\u2028\u2029]", " ", "" if value is None else str(value))
    text = _visible_controls(text)
    text = _MD_PUNCT.sub(r"\\\1", text)
    return "".join(_MD_ENTITIES.get(ch, ch) for ch in text) if any(ch in text for ch in "&<>") else text


# ------------------------------------------------------------------ terminal
#: C0 controls but tab and newline, DEL, C1 controls, every bidi formatting character of
#: UAX #9 (the marks LRM, RLM and ALM, the embeddings, overrides and isolates), which
#: reorder what a terminal shows, and the zero-width byte-order mark, which makes an id
#: look like another one.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _visible_controls(text: str) -> str:
    return _CONTROLS.sub(_escape_char, text)


def terminal_text(value: Any) -> str:
    """Text that cannot move the cursor, recolour or reorder a terminal.

    ANSI escape sequences, other control characters and bidi overrides become visible
    ``\\xNN`` / ``\\uNNNN`` escapes (so a message still shows that something was there);
    tab and newline are kept.

    >>> terminal_text("ok\\x1b[31mred\\u202eevil\\r")
    'ok\\\\x1b[31mred\\\\u202eevil\\\\x0d'
    """
    return _visible_controls("" if value is None else str(value))


# ------------------------------------------------------------------ XML
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: Any) -> str:
    """Text every XML 1.0 parser accepts: forbidden characters (NUL, ESC, ...) become visible escapes.

    Markup characters are left to the XML writer, which escapes them.

    >>> xml_text("a\\x00b\\x1b[1m")
    'a\\\\x00b\\\\x1b[1m'
    """
    return _XML_ILLEGAL.sub(_escape_char, "" if value is None else str(value))


# ------------------------------------------------------------------ messages
#: Characters of a value an error message quotes at most.
EXCERPT_CHARS = 200


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``value`` for a one-line message, with the full length.

    >>> excerpt("x" * 1000, 5)
    'xxxxx… (1,000 characters)'
    >>> excerpt("a\\nb")
    'a\\\\nb'
    """
    text = "" if value is None else str(value)
    cut = text[:limit].replace("\r", "\\r").replace("\n", "\\n")
    return cut if len(text) <= limit else f"{cut}… ({len(text):,} characters)"
