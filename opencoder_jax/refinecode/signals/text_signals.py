"""Natural-language tier: the qsc_doc_* signals (and the qsc_code_* ones that share a definition).

Each signal is `fn(doc: CodeDocument) -> float | int | None`, with the value, rounding
(8 decimals) and None cases of OpenCoder's released quality_signals/doc.py (which builds on
RedPajama-v2's signals). None means "not defined for this document" and never fires a rule.
A signal that raises stops the rest of its group, as released (see filter.py).

Regexes are linear-time: the two that backtrack quadratically in the released code
(hyperlinks, HTML tags) are computed by explicit scans with the same match semantics.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from functools import lru_cache
from importlib import resources

from opencoder_jax.refinecode.signals.code_document import CodeDocument
from opencoder_jax.refinecode.signals.ngrams import ngram_char_statistics
from opencoder_jax.refinecode.signals.rounding import round_value as _round

BULLETS = (
    "\u2022", "\u2023", "\u2043", "\u204C", "\u204D", "\u2219", "\u25A0", "\u25A1", "\u25A2",
    "\u25A3", "\u25A4", "\u25A5", "\u25A6", "\u25A7", "\u25A8", "\u25A9", "\u25AA", "\u25AB",
    "\u25AC", "\u25AD", "\u25AE", "\u25AF", "\u25CB", "\u25CF", "\u25E6", "\u25C6", "\u25C7",
    "\u25C8", "\u25C9", "\u25CA", "\u25D0", "\u25D1", "\u25D2", "\u25D3", "\u25D4", "\u25D5",
    "\u25D6", "\u25D8", "\u25D9", "\u25E2", "\u25E3", "\u25E4", "\u25E5", "\u25EF", "\u2611",
    "\u2612", "\u2B1B", "\u2B1C", "\u2B24", "\u2B1E", "\u2B1F", "\u29BE",
)
READMORE_SUFFIXES = (
    "...", "…", "全文", "详情", "详细", "更多", "المزيد", "تفاصيل", "اقرأ المزيد", "もっと", "詳細", "もっと読む",
)
CODE_RELATED_FILE_NAMES = ("readme", "notes", "todo", "description", "cmakelists")
STOP_WORD_LANGUAGES = ("en", "fr", "es", "it", "de")

_SENTENCE_RE = re.compile(r"\b[^.!?。！？؟]+[.!?。！？؟]*")
_SENTENCE_SPLIT_RE = re.compile(r"\.|\?|\!|\n")
_HEX_WORD_RE = re.compile(r"\b0[xX][0-9a-fA-F]+\b")
_LINK_START_RE = re.compile(r"\(https?://")
_SPACE_RE = re.compile(r"\s")


@lru_cache(maxsize=None)
def stop_words(lang: str) -> frozenset[str]:
    """RedPajama's stop-word list (stopwords-json); only 'en' is shipped, others are empty."""
    if lang != "en":
        return frozenset()
    with resources.files("opencoder_jax.refinecode").joinpath("data/opc_en_stop_words.json").open() as f:
        return frozenset(json.load(f))


# -- counts -------------------------------------------------------------------------------------
def num_chars(doc: CodeDocument):
    return float(len(doc))


def num_words(doc: CodeDocument):
    return doc.num_normalized_words  # an int, as released


def num_lines(doc: CodeDocument):
    return float(len(doc.raw_lines))


def num_sentences(doc: CodeDocument):
    return float(len(_SENTENCE_RE.findall(doc.raw_content)))


def num_chars_sentence_length_mean(doc: CodeDocument):
    pieces = _SENTENCE_SPLIT_RE.split(doc.raw_content)
    return _round(sum(map(len, pieces)) / len(pieces))


# -- words ---------------------------------------------------------------------------------------
def mean_word_length(doc: CodeDocument):
    words = doc.normalized_words
    if not words:
        return None
    return _round(float(sum(map(len, words))) / len(words))


def frac_words_unique(doc: CodeDocument):
    words = doc.normalized_words
    if not words:
        return None
    return _round(float(len(set(words))) / len(words))


def entropy_unigram(doc: CodeDocument):
    words = doc.normalized_words
    if not words:
        return None
    total = len(words)
    entropy = sum(-c / total * math.log(c / total) for c in Counter(words).values())
    return _round(entropy)


def frac_words_all_caps(doc: CodeDocument):
    words = doc.raw_words
    if not words:
        return None
    return _round(float(sum(map(str.isupper, words))) / len(words))


def frac_words_full_bracket(doc: CodeDocument):
    words = doc.raw_words
    if not words:
        return None
    return _round(sum(1 for w in words if w == "【" or w == "】") / len(words))


def frac_words_redpajama_stop(doc: CodeDocument):
    if doc.lang not in STOP_WORD_LANGUAGES:
        return None
    if not doc.normalized_words:
        return 0.0
    words = stop_words(doc.lang)
    return _round(float(sum(1 for w in doc.raw_words if w in words)) / len(doc.raw_words))


# -- lines ---------------------------------------------------------------------------------------
def frac_lines_end_with_readmore(doc: CodeDocument):
    lines = doc.raw_lines
    if not lines:
        return None
    hits = sum(1 for line in lines if line.rstrip().rstrip("]】)>》").endswith(READMORE_SUFFIXES))
    return _round(float(hits) / len(lines))


def frac_lines_start_with_bullet(doc: CodeDocument):
    lines = doc.raw_lines
    if not lines:
        return None
    hits = sum(1 for line in lines if line.lstrip().startswith(BULLETS))
    return _round(float(hits) / len(lines))


def frac_lines_dupe_lines(doc: CodeDocument):
    """Share of non-blank lines (stripped) whose text occurs more than once."""
    if not doc.raw_lines:
        return None
    counts = Counter(s for s in (line.strip() for line in doc.raw_lines) if s)
    total = sum(counts.values())
    if total == 0:
        return None
    return _round(sum(v for v in counts.values() if v != 1) / total)


def frac_chars_dupe_lines(doc: CodeDocument):
    """Share of characters (stripped lines, blank ones included) in lines occurring more than once."""
    if not doc.raw_lines:
        return None
    counts = Counter(line.strip() for line in doc.raw_lines)
    total = sum(len(k) * v for k, v in counts.items())
    if total == 0:
        return None
    return _round(sum(len(k) * v for k, v in counts.items() if v != 1) / total)


# -- n-gram repetition ------------------------------------------------------------------------------
TOP_NGRAM_SIZES = (2, 3, 4)
DUPE_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)


def _ngram_statistics(doc: CodeDocument):
    """(top, dupe) fractions of the normalised words, all n at once (see ngrams.py)."""
    return doc.memo("ngram_statistics", lambda d: ngram_char_statistics(d.normalized_words, TOP_NGRAM_SIZES, DUPE_NGRAM_SIZES))


def _top_ngram(n: int):
    def signal(doc: CodeDocument):
        return _round(_ngram_statistics(doc)[0][n])

    signal.__name__ = f"frac_chars_top_{n}grams"
    return signal


frac_chars_top_2grams = _top_ngram(2)
frac_chars_top_3grams = _top_ngram(3)
frac_chars_top_4grams = _top_ngram(4)

def _dupe_ngram(n: int):
    def signal(doc: CodeDocument):
        return _round(_ngram_statistics(doc)[1][n])

    signal.__name__ = f"frac_chars_dupe_{n}grams"
    return signal


frac_chars_dupe_5grams = _dupe_ngram(5)
frac_chars_dupe_6grams = _dupe_ngram(6)
frac_chars_dupe_7grams = _dupe_ngram(7)
frac_chars_dupe_8grams = _dupe_ngram(8)
frac_chars_dupe_9grams = _dupe_ngram(9)
frac_chars_dupe_10grams = _dupe_ngram(10)


# -- characters ----------------------------------------------------------------------------------
def frac_chars_curly_bracket(doc: CodeDocument):
    text = doc.raw_content
    if not text:
        return 0.0
    count = text.count("{") + text.count("}")
    return _round(float(count) / len(text)) if count else 0.0


def frac_chars_replacement_symbols(doc: CodeDocument):
    text = doc.raw_content
    if not text:
        return None
    return _round(text.count("\ufffd") / len(text))


def frac_chars_alphabet_text(doc: CodeDocument):
    """qsc_doc_ version: 0.0 when nothing is visible, None for non-English documents."""
    visible = doc.visible_content
    if not visible:
        return 0.0
    if doc.lang != "en":
        return None
    return _round(doc.num_alpha_visible / len(visible))


def frac_chars_digital(doc: CodeDocument):
    visible = doc.visible_content
    if not visible:
        return 1.0
    return _round(doc.num_digit_visible / len(visible))


def frac_chars_whitespace(doc: CodeDocument):
    text = doc.raw_content
    if not text:
        return 1.0
    return _round(doc.num_whitespace_chars / len(text))  # = len(re.findall(r"\s", text))


def frac_chars_hex_words_text(doc: CodeDocument):
    text = doc.raw_content
    if not text:
        return None
    return _round(sum(len(m) for m in _HEX_WORD_RE.findall(text)) / len(text))


def cate_code_related_file_name(doc: CodeDocument):
    name = doc.filename.split(".")[0].lower()
    return float("requirement" in name or name in CODE_RELATED_FILE_NAMES or name == "read.me")


def link_chars(text: str) -> int:
    """Total length of re.findall(r'\\(https?://\\S+\\)', text), in linear time.

    A match runs from '(' to the LAST ')' of the same non-space run (greedy \\S+ backtracking),
    with at least one character between the '://' and that ')'."""
    total = 0
    pos = 0
    run_key = -1  # end of the whitespace-free run last examined, and its last ')'
    run_last_paren = -1
    for m in _LINK_START_RE.finditer(text):
        start, body = m.start(), m.end()
        if start < pos:
            continue
        if body >= run_key:  # a new run: find where it ends and its last ')'
            space = _SPACE_RE.search(text, body)
            run_key = space.start() if space else len(text)
            run_last_paren = text.rfind(")", body, run_key)
        if run_last_paren >= body + 1:
            total += run_last_paren + 1 - start
            pos = run_last_paren + 1
    return total


def html_tag_chars(text: str) -> int:
    """Total length of re.findall(r'<.*?>', text) (no DOTALL), in linear time."""
    total = 0
    pos = 0
    next_gt = -2  # cached text.find('>', ...) result valid while > current '<'
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            return total
        if next_gt != -1 and next_gt <= lt:
            next_gt = text.find(">", lt + 1)
        if next_gt == -1:
            return total
        newline = text.find("\n", lt + 1, next_gt)
        if newline == -1:
            total += next_gt + 1 - lt
            pos = next_gt + 1
        else:  # every '<' before this newline fails the same way
            pos = newline + 1


def frac_chars_hyperlink_html_tag(doc: CodeDocument):
    text = doc.raw_content
    if not text:
        return None
    return _round((link_chars(text) + html_tag_chars(text)) / len(text))
