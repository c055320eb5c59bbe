"""Text from the data reaches the terminal visible but inert."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphfraud.textsafe import terminal_text

#: Every bidi formatting character of Unicode's bidi algorithm (UAX #9, tables 3 and 4):
#: the implicit marks, the embeddings and overrides, and the isolates.
BIDI_CONTROLS = ["\u200e", "\u200f", "\u061c", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]


@pytest.mark.parametrize("char", BIDI_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_bidi_control_is_shown_not_obeyed(char):
    shown = terminal_text(f"shop{char}1")
    assert char not in shown and shown == f"shop\\u{ord(char):04x}1"


def test_a_byte_order_mark_inside_a_value_is_shown():
    # Zero width: an id carrying one looks like another id on the terminal but is not it.
    assert terminal_text("\ufeffU00000500") == "\\ufeffU00000500"


#: Text a fraudster writes to attack whoever opens a CSV: terminal escapes (recolour, clear,
#: set the window title), NUL, bell, C1 controls (NEL, CSI), bidi overrides, and text that
#: already looks like an escape, next to real backslashes.
HOSTILE_CELLS = ["\x1b[31mred\x1b[0m\x1b]0;title\x07", "nul\x00byte", "c1 \x85 nel \x9b31m csi", "\u202egpj.exe",
                 "\u2066isolate\u2069\u200f", "\ufeffU00000500", "typed \\x1b and \\u202e", "C:\\Users\\x1b\\",
                 "\\\x1b", "\\\\", "\\\\\\x1bz", "=HYPERLINK(1)", "\rstarts with CR", "'apostrophe",
                 "tab\tand\nnewline", "好评\\u597d", None]


def test_csv_cells_show_control_and_bidi_characters_as_escapes_and_restore_exactly(tmp_path):
    import polars as pl

    from graphfraud.textsafe import neutralise_cells, restore_cells

    frame = pl.DataFrame({"text": HOSTILE_CELLS, "n": range(len(HOSTILE_CELLS))})
    neutralise_cells(frame).write_csv(tmp_path / "cells.csv")
    raw = (tmp_path / "cells.csv").read_text("utf-8")
    assert not [ch for ch in raw if ch not in "\t\n" and terminal_text(ch) != ch]
    cells = pl.read_csv(tmp_path / "cells.csv", infer_schema=False)["text"].to_list()
    assert cells[:6] == ["\\x1b[31mred\\x1b[0m\\x1b]0;title\\x07", "nul\\x00byte", "c1 \\x85 nel \\x9b31m csi",
                         "\\u202egpj.exe", "\\u2066isolate\\u2069\\u200f", "\\ufeffU00000500"]
    assert cells[6:8] == ["typed \\\\x1b and \\\\u202e", "C:\\Users\\\\x1b\\"]  # a lone backslash stays
    assert cells[13] == "''apostrophe" and cells[12] == "\\x0dstarts with CR"
    back = restore_cells(pl.read_csv(tmp_path / "cells.csv", schema_overrides={"n": pl.Int64}, infer_schema=False))
    assert back.equals(frame)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(["\\", "x", "u", "1", "b", "e", "0", "2", "f", "'", "=", "\t", "\r",
                                                     "\x00", "\x1b", "\x85", "\u202e", "\ufeff", "好"]),
                        max_size=12) | st.none(), min_size=1, max_size=20))
def test_neutralised_cells_restore_exactly_whatever_the_backslashes(values):
    import polars as pl

    from graphfraud.textsafe import neutralise_cells, restore_cells

    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    safe = neutralise_cells(frame)
    assert all(terminal_text(v) == v for v in safe["v"].drop_nulls())
    assert restore_cells(safe).equals(frame)
