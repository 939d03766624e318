"""Helpers shared by the language-specific signals (qsc_code<lang>_*).

Why the `regex` module: OpenCoder's released signals use it (`import regex as re`), and its
Unicode \\w, \\s and \\b differ from the standard `re` on some characters; using the same
engine keeps the character classes identical.

Linear time: the released patterns are run by a backtracking engine and several of them are
quadratic or worse on adversarial text (e.g. `^\\s*` under MULTILINE rescans a long blank
region from every line start; `[^)]*\\)` rescans to the end of the text from every
candidate). Every pattern here is rewritten so that it finds the SAME matches (same start
line, same end, same groups, same count) in linear time:
  * `^\\s*X` (MULTILINE) -> `^[^\\S\\n]*+X`: X must then start at the first non-blank character
    after the LAST line start before it instead of the first one; the set of X positions and
    the matches are unchanged (X never starts with whitespace in these patterns);
  * quantifiers whose backtracking can never produce another match are made possessive;
  * unbounded scans to a closing character use a precomputed sorted index (bisect) instead.
Each rewrite is checked against the released pattern by differential tests on random text.

Deep input: the released code raises the interpreter recursion limit to 10000 and lets a
RecursionError of a recursive AST walk abort the signal. Our walks are iterative and instead
count the frames the released recursion would need, raising SignalInputTooComplex when that
exceeds RELEASED_FRAME_BUDGET, so the caller can count the document as a signal error,
deterministically, without touching the interpreter stack.
"""
from __future__ import annotations

import bisect
import sys

import regex

from opencoder_jax.refinecode.signals.rounding import PRECISION

# Released: sys.setrecursionlimit(10000); a recursive visitor fails past that depth.
RELEASED_RECURSION_LIMIT = 10000
# Frames the released call chain already uses below a visitor (pipeline, signal, helper).
RELEASED_BASE_FRAMES = 40
RELEASED_FRAME_BUDGET = RELEASED_RECURSION_LIMIT - RELEASED_BASE_FRAMES


class SignalInputTooComplex(RuntimeError):
    """The released implementation would fail on this document (e.g. RecursionError)."""


def ensure_recursion_limit(limit: int = RELEASED_RECURSION_LIMIT) -> None:
    """Raise (never lower) the interpreter recursion limit to the released value.

    ast.parse (its C-level AST conversion scales with this limit) and esprima (a recursive
    descent parser in Python) then accept exactly the nesting the released code accepted.
    Monotone, so concurrent threads can call it safely.
    """
    if sys.getrecursionlimit() < limit:
        sys.setrecursionlimit(limit)


def ratio(count: float, total: int) -> float:
    return round(count / total, PRECISION)


_WS_RUN = regex.compile(r"\s*+")
_WORD_RUN = regex.compile(r"\w*+")


def frac_code_lines_containing(doc, *markers: str) -> float | None:
    """Fraction of normalised code lines holding any marker (the released print-line rules)."""
    lines = doc.code_normalized_lines
    if not lines:
        return None
    return ratio(sum(1 for line in lines if any(m in line for m in markers)), len(lines))


def count_heads_with_tail(text: str, head, tail) -> int:
    """Count `head` matches whose statement `tail(text, end_of_head)` completes; a counted
    match resumes the search after its tail, an uncounted one one character later."""
    count, pos = 0, 0
    while True:
        m = head.search(text, pos)
        if m is None:
            return count
        end = tail(text, m.end())
        if end is None:
            pos = m.start() + 1
        else:
            count += 1
            pos = end


def ws_end(text: str, pos: int) -> int:
    """End of the run of (regex-module) whitespace starting at pos."""
    return _WS_RUN.match(text, pos).end()


def word_end(text: str, pos: int) -> int:
    """End of the run of (regex-module) word characters starting at pos."""
    return _WORD_RUN.match(text, pos).end()


def is_ws(ch: str) -> bool:
    return _WS_RUN.match(ch).end() == 1


def dollar_after_ws(text: str, pos: int) -> int | None:
    """Released `\\s*$` (MULTILINE) at pos: the largest p in [pos, ws_end(pos)] where `$`
    holds (p == len(text) or text[p] == '\\n'); None when there is none."""
    end = ws_end(text, pos)
    if end == len(text):
        return end
    nl = text.rfind("\n", pos, end)
    return nl if nl >= 0 else None


class CharIndex:
    """Sorted positions of a set of characters, for O(log n) 'next occurrence' queries."""

    __slots__ = ("positions",)

    def __init__(self, text: str, chars: str):
        pattern = regex.compile("[" + regex.escape(chars) + "]")
        self.positions = [m.start() for m in pattern.finditer(text)]

    def next_at_or_after(self, pos: int) -> int:
        """Smallest position >= pos, or -1."""
        i = bisect.bisect_left(self.positions, pos)
        return self.positions[i] if i < len(self.positions) else -1


def char_index(doc, key: str, text: str, chars: str) -> CharIndex:
    """CharIndex of `chars` in `text`, memoised on the document under `key`."""
    return doc.memo(key, lambda _doc: CharIndex(text, chars))

