"""Text from the data reaches the terminal visible but inert."""

from __future__ import annotations

import pytest

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
