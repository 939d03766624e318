"""Line normalisation and word tokenisation used by the quality signals.

Both reproduce what OpenCoder's released filter (opc_data_filtering) does, step by step:

normalize_line(line):
  1. drop ASCII control characters (U+0000-0007, 000E-001A, 001C-001F) and U+202C;
     U+2009 / U+200B become a space (TAB, LF, VT, FF, CR and ESC are kept);
  2. full-width punctuation becomes its half-width form (U+FF01-FF5E punctuation, and
     。、《》【】「」“”‘’ ￥);
  3. every ASCII punctuation character (string.punctuation) becomes a space;
  4. lower-case;
  5. strip, and collapse whitespace runs to one space;
  6. Unicode NFKC.
  Steps 1-3 are per-character maps, so they are composed into ONE str.translate table.

tokenize_words(text): nltk's wordpunct tokenizer, i.e. the regex  \\w+|[^\\w\\s]+ .
"""
from __future__ import annotations

import re
import string
import unicodedata

# step 1: control characters (the released table keeps TAB..CR and ESC)
_CONTROL_TO_NORM: dict[str, str] = {chr(c): "" for c in [*range(0x00, 0x08), *range(0x0E, 0x1B), *range(0x1C, 0x20)]}
_CONTROL_TO_NORM.update({"\u2009": " ", "\u200b": " ", "\u202c": ""})

# step 2: full-width -> half-width punctuation
_FULL_TO_HALF: dict[str, str] = {
    "。": ".", "、": ",", "《": '"', "》": '"', "【": "[", "】": "]", "「": "'", "」": "'",
    "“": '"', "”": '"', "￥": "¥", "‘": "'", "’": "'",
}
_FULL_TO_HALF.update({chr(ord(c) + 0xFEE0): c for c in string.punctuation})

_PUNCT = frozenset(string.punctuation)


def _compose_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for c in set(_CONTROL_TO_NORM) | set(_FULL_TO_HALF) | _PUNCT:
        out = _CONTROL_TO_NORM.get(c, c)
        out = "".join(_FULL_TO_HALF.get(x, x) for x in out)
        out = "".join(" " if x in _PUNCT else x for x in out)
        if out != c:
            table[ord(c)] = out
    return table


NORMALIZE_TABLE = _compose_table()

WORDPUNCT_RE = re.compile(r"\w+|[^\w\s]+")


def normalize_line(line: str) -> str:
    """One line (with or without its newline) normalised as the released filter does."""
    text = line.translate(NORMALIZE_TABLE).lower()
    text = " ".join(text.split())  # == re.sub(r"\s+", " ", text.strip()): both use str.isspace
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text


# NORMALIZE_TABLE restricted to ASCII, for bytes.translate: (256-byte map, bytes to delete)
_ASCII_MAP = bytes(ord(NORMALIZE_TABLE.get(c, chr(c))) if len(NORMALIZE_TABLE.get(c, chr(c))) == 1 else c
                   for c in range(256))
_ASCII_DELETE = bytes(c for c in range(128) if NORMALIZE_TABLE.get(c, chr(c)) == "")
assert all(len(NORMALIZE_TABLE.get(c, chr(c))) <= 1 for c in range(128))


def normalize_lines(lines: tuple[str, ...], text: str) -> tuple[str, ...]:
    """tuple(normalize_line(l) for l in lines), where lines = code_document.split_lines(text).
    On ASCII text the character map and lower() are per character and keep every '\\n', so
    they run once over the whole text (bytes.translate); no NFKC is needed."""
    if not lines:
        return ()
    if not text.isascii():
        return tuple(normalize_line(line) for line in lines)
    mapped = text.encode("ascii").translate(_ASCII_MAP, _ASCII_DELETE).lower().decode("ascii")
    parts = [" ".join(line.split()) for line in mapped.split("\n")]
    if text.endswith("\n"):
        parts.pop()  # split_lines has no empty line after the final '\n'
    return tuple(parts)


def tokenize_words(text: str) -> list[str]:
    """nltk.wordpunct_tokenize: alphanumeric runs and runs of other non-space characters."""
    return WORDPUNCT_RE.findall(text)


_HAN_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")


def tokenize_words_zh(text: str) -> list[str]:
    """Chinese word segmentation: jieba when installed (as released), else a documented fallback.

    Fallback (jieba is not a dependency of this project): every Han character is one word and
    the rest is tokenised with the wordpunct rule. Mean word lengths of Chinese text are then
    about 1.0 instead of jieba's ~1.5, so the 'zh' thresholds are only approximated.
    """
    try:
        import jieba  # type: ignore
    except ImportError:
        words: list[str] = []
        for tok in WORDPUNCT_RE.findall(text):
            if _HAN_RE.search(tok):
                pos = 0
                for m in _HAN_RE.finditer(tok):
                    if m.start() > pos:
                        words.append(tok[pos:m.start()])
                    words.append(m.group())
                    pos = m.end()
                if pos < len(tok):
                    words.append(tok[pos:])
            else:
                words.append(tok)
        return words
    return [w for w in jieba.lcut(text) if w.strip()]


def to_simplified_chinese(text: str) -> str:
    """zhconv's zh-cn conversion when installed (as released); identity otherwise."""
    try:
        import zhconv  # type: ignore
    except ImportError:
        return text
    return zhconv.convert(text, "zh-cn")
