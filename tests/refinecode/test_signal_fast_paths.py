"""Fast exact paths of the shared document view and of two code signals, against the
straightforward definitions they replace (released semantics): per-line normalize_line,
re.sub(r"\\s+") / re.findall(r"\\s"), sum(map(str.isalpha / str.isdigit)), and
finditer of the released encoded-data regexes over the whole text."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencoder_jax.refinecode.signals import code_signals as cs
from opencoder_jax.refinecode.signals.code_document import CodeDocument, split_lines
from opencoder_jax.refinecode.signals.text_normalize import normalize_line, normalize_lines

HEX_RELEASED = re.compile(r"(?:\b(?:0x|\\x)?[0-9a-fA-F]{2}(?:,|\b[^\S\x1c-\x1f]*)){8,}")
UNICODE_RELEASED = re.compile(r"(?:\\u[0-9a-fA-F]{4}){8,}")

PIECES = ["a", "B", "0", "9", " ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x00", "\x08", "\x1b",
          ".", "#", "_", ",", "\\", "x", "0x", "\\x", "\\u", "ab", "12", "ff,", "é", "²", "\u2028", "\u3000",
          "\uff01", "İ", "Σ", "g", "  ", "\n\n"]


def check(text: str) -> None:
    lines = split_lines(text)
    assert normalize_lines(lines, text) == tuple(normalize_line(line) for line in lines)
    doc = CodeDocument(text)
    visible = re.sub(r"\s+", "", text)
    assert doc.visible_content == visible
    assert doc.num_whitespace_chars == len(re.findall(r"\s", text))
    assert doc.num_alpha_visible == sum(map(str.isalpha, visible))
    assert doc.num_digit_visible == sum(map(str.isdigit, visible))
    assert list(cs.hex_blob_lengths(text)) == [m.end() - m.start() for m in HEX_RELEASED.finditer(text)]
    assert [m.span() for m in cs._UNICODE_ESCAPES_RE.finditer(text)] == [m.span() for m in UNICODE_RELEASED.finditer(text)]


@pytest.mark.parametrize("text", [
    "", "\n", "a", "a\n", "  A.b  \n\tC,d\r\n\n", "x\x1cy\x1fz\x00", "ends without newline  ",
    "0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08\n",
    "data = b'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08'\n",
    "de ad be ef de ad be ef ca fe_\n", "aa bb cc dd ee ff 00 11g\n",
    "s = '" + "\\u00e9" * 9 + "'\n", "Ünïcödé ² ³ line\n\u3000full\uff01width\n",
])
def test_fast_paths_equal_definitions(text):
    check(text)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60))
def test_fuzz_fast_paths(pieces):
    check("".join(pieces))


def test_hex_blob_run_boundary_sees_next_character():
    # the word character after the run decides the final \b; the blob must not end early
    text = "aa bb cc dd ee ff 00 11 22z"
    assert list(cs.hex_blob_lengths(text)) == [m.end() - m.start() for m in HEX_RELEASED.finditer(text)]
