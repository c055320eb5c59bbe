"""Text written by fraudsters, made safe for the places graphfraud puts it.

Review texts, nicknames, shop names and ids come from the data, and the data is written
by the people under investigation. Every writer that puts such text where a program
interprets it goes through one function here (pure string transforms, no I/O):

=====================  ===========================  ====================================
where                  function                     what it neutralises
=====================  ===========================  ====================================
CSV for spreadsheets   :func:`neutralise_cells`     formulas, control and bidi codes
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
Control and bidi characters (ESC, NUL, RLO...) become the visible ``\\x1b``, ``\\u202e``
escapes the terminal shows, so a cell cannot recolour a terminal that prints the CSV or
reorder a spreadsheet row; a backslash that would read as the start of such an escape
is doubled, so this too is undone exactly.

>>> import polars as pl
>>> df = pl.DataFrame({"id": ["=HYPERLINK(1)", "'quoted", "ok", None, "a\\x1b[2Jb", "\\\\x1b"], "n": range(6)})
>>> safe = neutralise_cells(df)
>>> safe["id"].to_list()
["'=HYPERLINK(1)", "''quoted", 'ok', None, 'a\\\\x1b[2Jb', '\\\\\\\\x1b']
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
    """Make every string cell inert in a spreadsheet or terminal; :func:`restore_cells` undoes it.

    Control and bidi characters become the ``\\xNN`` / ``\\uNNNN`` escapes of
    :func:`terminal_text` (tab and newline stay: CSV quoting holds them). A run of
    backslashes before something that reads as an escape (``\\x1b`` typed as text, or a
    control character) is doubled, and a longer run elsewhere gets one backslash more per
    backslash after its first, which is what lets :func:`restore_cells` tell the two
    apart; a lone backslash (``C:\\Users``) is kept. Then a cell that starts like a formula
    gets a leading apostrophe.
    """
    import polars as pl

    strings = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    if not strings:
        return frame
    # Escaping is the costly step: only columns with a backslash or control character pay
    # it (ids rarely have one). Two steps, as the escaped text is tested and then used.
    found = frame.select(pl.col(strings).str.contains(_CELL_SUSPECT).any()).row(0)
    frame = frame.with_columns(pl.col([c for c, hit in zip(strings, found) if hit])
                               .str.replace_all(_CELL_BACKSLASHES, "${1}${1}${2}${3}${4}${4}")
                               .str.replace_many(_CELL_ESCAPES))
    return frame.with_columns(pl.when(pl.col(c).str.contains(_FORMULA_START)).then(pl.lit("'") + pl.col(c))
                              .otherwise(pl.col(c)).alias(c) for c in strings)


def restore_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Undo :func:`neutralise_cells`: drop the one leading apostrophe it added, then read its escapes."""
    import polars as pl

    strings = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    if not strings:
        return frame
    frame = frame.with_columns(pl.when(pl.col(c).str.starts_with("'")).then(pl.col(c).str.slice(1))
                               .otherwise(pl.col(c)).alias(c) for c in strings)
    # One left-to-right pass: "\\\\" is a backslash, an escape its character.
    found = frame.select(pl.col(strings).str.contains("\\", literal=True).any()).row(0)
    return frame.with_columns(pl.col([c for c, hit in zip(strings, found) if hit]).str.replace_many(_CELL_UNESCAPES))


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
#: look like another one. As (first, last) code points: the terminal, Markdown and CSV
#: escapes are all made from this one list.
_CONTROL_RANGES = ((0x00, 0x08), (0x0b, 0x1f), (0x7f, 0x9f), (0x061c, 0x061c), (0x200e, 0x200f), (0x202a, 0x202e),
                   (0x2066, 0x2069), (0xfeff, 0xfeff))
_CONTROLS = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CONTROL_RANGES) + "]")


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _escape_char(match: re.Match[str]) -> str:
    return _escape(match.group())


# The CSV form of the escapes (polars expressions: literal replacements and a regex in
# the syntax of Rust's regex crate, which has no look-ahead, hence the two alternatives).
_CELL_ESCAPES = {chr(code): _escape(chr(code)) for lo, hi in _CONTROL_RANGES for code in range(lo, hi + 1)}
_CELL_UNESCAPES = {"\\\\": "\\", **{escaped: char for char, escaped in _CELL_ESCAPES.items()}}
_CELL_CONTROLS = "[" + "".join(f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in _CONTROL_RANGES) + "]"
_CELL_SUSPECT = _CELL_CONTROLS + r"|\\"
_CELL_BACKSLASHES = r"(\\+)(x[0-9a-f]{2}|u[0-9a-f]{4}|" + _CELL_CONTROLS + r")|(\\)(\\+)"


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
