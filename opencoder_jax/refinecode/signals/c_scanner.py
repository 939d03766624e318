"""Hand-written code/comment scanner for C and C++ giving EXACTLY pygments 2.18's split, or None.

Same contract as comment_scanners.py (which dispatches here): scan(text) -> list of (start, end)
comment spans (tokens Comment.Single / Comment.Multiline) of the PREPROCESSED text, or None
when the text holds a construct the scanner does not treat exactly as pygments' CLexer /
CppLexer does (the caller then lexes). tests/refinecode/test_comment_scanners.py compares the
spans with pygments' tokens (tricky snippets, a fuzz, real headers and sources).

The pygments facts this relies on (pygments.lexers.c_cpp.CFamilyLexer, 2.18):
- every state that code can be in (root, statement, function, case-value, namespace, ...)
  includes 'whitespace' and 'statements': '//' comments (to and WITH the newline, continued by
  a backslash-newline), '/* */' comments (open to the end of the text when unterminated),
  strings ('"' to '"' or to a bare newline, which resets the lexer), char literals (one char or
  escape between quotes, else the quote is an Error token); C++ raw strings bail (a state
  that takes a name, e.g. after 'struct' or 'case', eats the R prefix and they are rare);
- a '#' at a line start (after whitespace and at most one one-line '/* */' comment) enters
  'macro': there quotes mean nothing, '/* */' (shortest) and '//' (to the newline, which ends
  the macro) are comments, a backslash-newline continues it, and at every token start the
  `include "file"` / `include <file>` rules are tried first: what follows the file on its line
  is a Comment.Single token;
- '#if 0' enters 'if0', where comment markers are plain code: the scanner bails there;
- the function-definition rules of the root state cut a signature at its first ')' and re-lex
  the pieces on their own: where that ')' could fall inside a comment or a macro line (an
  unclosed '(' before it), the pieces could lex differently, so the scanner bails.
Digit separators (1'000), '\\' outside strings other than a line continuation, and
'/\\<newline>*' comment openers also bail.
"""
from __future__ import annotations

import re
from typing import Optional

import regex
from pygments.lexers import CLexer, CppLexer


class _Bail(Exception):
    """The scanner met something it does not handle exactly like pygments."""


def _rule(lexer_cls, state: str, pattern: str) -> re.Pattern:
    """The compiled rule of `state` whose pattern is exactly `pattern`, from the lexer itself."""
    for rexmatch, _action, _new in lexer_cls()._tokens[state]:
        if rexmatch.__self__.pattern == pattern:
            return rexmatch.__self__
    raise LookupError(f"{lexer_cls.__name__}: no rule {pattern!r} in state {state!r}")


_WS1 = r"\s*(?:/[*].*?[*]/\s*)?"
_SINGLE = _rule(CLexer, "whitespace", r"//(?:.|(?<=\\)\n)*\n")
_MULTI = _rule(CLexer, "whitespace", r"/(?:\\\n)?[*](?:[^*]|[*](?!(?:\\\n)?/))*[*](?:\\\n)?/")
_CHAR = _rule(CLexer, "statements", r"([LuU]|u8)?(')(\\.|\\[0-7]{1,3}|\\x[a-fA-F0-9]{1,2}|[^\\\'\n])(')")
_RAW = _rule(CppLexer, "statements", r'((?:[LuU]|u8)?R)(")([^\\()\s]{,16})(\()((?:.|\n)*?)(\)\3)(")')
_INCLUDES = (
    _rule(CLexer, "macro", "(" + _WS1 + r')(include)(' + _WS1 + r')("[^"]+")([^\n]*)'),
    _rule(CLexer, "macro", "(" + _WS1 + r")(include)(" + _WS1 + r")(<[^>]+>)([^\n]*)"),
)
_MACRO_MULTI = _rule(CLexer, "macro", r"/[*](.|\n)*?[*]/")
_MACRO_SINGLE = _rule(CLexer, "macro", r"//.*?\n")
_IF0 = re.compile(r"#if\s+0")
_LINE_START_WS1 = re.compile(r"\s*(?:/[*].*?[*]/\s*)?\Z")  # the '^(ws1)(#)' prefix, whole
_COMMENT_IN_WS1 = re.compile(r"/[*].*?[*]/")

_CODE_EVENT = re.compile(r"""[/"'#\\]""")
_STRING_EVENT = re.compile(r'["\\\n]')
_MACRO_EVENT = re.compile(r"[/\n]")
_WORD_BACK = regex.compile(r"[\w$]+", regex.REVERSE)
_SIG_BARRIER_BACK = regex.compile(r"""[;"')]""", regex.REVERSE)  # what a signature's [^;"')] cannot cross
_TAIL_STOP_BACK = regex.compile(r"""[;{/"')]""", regex.REVERSE)  # what ends its [^;{/"']
_POSSIBLE_COMMENTS = r"\s*(?:(?:(?:" + _SINGLE.pattern + r")|(?:" + _MULTI.pattern + r"))\s*)*"
_AFTER_SIGNATURE = re.compile(_POSSIBLE_COMMENTS + r"""(?:[^;{/"']*\{|[^;/"']*;)""", re.M)
_RAW_PREFIXES = frozenset({"R", "LR", "uR", "UR", "u8R"})


def _nearest_back(pattern, text: str, pos: int) -> str:
    m = pattern.search(text, 0, pos)
    return m.group() if m else ""


def _signature_could_end_at(text: str, start: int, q: int) -> bool:
    """Whether a root-state function rule could end its signature `\\([^;"')]*?\\)` at the
    ')' at q (inside the comment or macro line starting at `start`) and still match: an
    unclosed '(' before `start` with no ';"\')' up to q, then what the rule wants after it."""
    stop = _SIG_BARRIER_BACK.search(text, 0, q)
    if text.find("(", stop.end() if stop else 0, start) < 0:
        return False
    return _AFTER_SIGNATURE.match(text, q + 1) is not None


def _check_comment(text: str, start: int, end: int) -> None:
    """Bail when a function rule could cut this comment (it would be re-lexed in pieces).
    A closed '/* */' is never cut: after a ')' inside it the rule's next groups cannot
    consume the closing '*/' (no '/' allowed there)."""
    q = text.find(")", start, end)
    if q < 0:
        return
    if text.startswith("/*", start) and text.endswith("*/", start, end) and end - start >= 4:
        return
    if _signature_could_end_at(text, start, q):
        raise _Bail


def _check_macro(text: str, start: int, end: int) -> None:
    """Bail when a function rule could cut this macro line: its signature could end at the
    line's first ')' or the text after a signature (`[^;{/"']*`, possibly after comments)
    could end at its first '{'; the rest of the line would then be lexed as code, not as
    macro, which differs only where it holds quotes, a '/', a backslash or an include."""
    segment = text[start:end]
    if not (any(ch in segment for ch in "\"'\\/") or "include" in segment):
        return
    q = text.find(")", start, end)
    if q >= 0 and _signature_could_end_at(text, start, q):
        raise _Bail
    if "{" in segment and _nearest_back(_TAIL_STOP_BACK, text, start) in (")", "/"):
        raise _Bail


def _string_end(text: str, pos: int) -> int:
    """End of a '"' string whose body starts at pos (a bare newline ends it, code)."""
    search = _STRING_EVENT.search
    while True:
        m = search(text, pos)
        if m is None:
            return len(text)
        i = m.start()
        c = text[i]
        if c != "\\":
            return i + 1
        pos = i + 2 if text[i + 1:i + 2] in ("\\", '"', "\n") else i + 1


def _macro(text: str, pos: int, spans: list) -> int:
    """Scan the 'macro' state from pos (just after '#') -> where the lexer leaves it."""
    n = len(text)
    while True:
        for include in _INCLUDES:
            im = include.match(text, pos)
            if im:
                for group in (1, 3):  # the ws1 groups are re-lexed: their comment is a comment
                    cm = _COMMENT_IN_WS1.search(im.group(group))
                    if cm:
                        spans.append((im.start(group) + cm.start(), im.start(group) + cm.end()))
                if im.end(5) > im.start(5):
                    spans.append((im.start(5), im.end(5)))
                pos = im.end()
                break
        else:
            m = _MACRO_EVENT.search(text, pos)
            if m is None:
                return n
            i = m.start()
            if i > pos:  # a [^/\n]+ token; the next token starts at i
                pos = i
                continue
            if text[i] == "\n":
                if i > 0 and text[i - 1] == "\\":
                    pos = i + 1
                    continue
                return i + 1
            if text.startswith("//", i):
                cm = _MACRO_SINGLE.match(text, i)
                if cm is None:
                    raise _Bail
                spans.append((i, cm.end()))
                return cm.end()
            cm = _MACRO_MULTI.match(text, i) if text.startswith("/*", i) else None
            if cm:
                spans.append((i, cm.end()))
                pos = cm.end()
            else:
                pos = i + 1


def _scan(text: str, cpp: bool) -> list:
    if "/\\\n" in text or "\\\n/" in text:
        raise _Bail
    spans: list = []
    n = len(text)
    pos = 0
    search = _CODE_EVENT.search
    while True:
        m = search(text, pos)
        if m is None:
            return spans
        i = m.start()
        c = text[i]
        if c == "/":
            nxt = text[i + 1:i + 2]
            if nxt == "/":
                cm = _SINGLE.match(text, i)
                end = cm.end() if cm else n
            elif nxt == "*":
                cm = _MULTI.match(text, i)
                end = cm.end() if cm else n  # unterminated: to the end of the text
            else:
                pos = i + 1
                continue
            _check_comment(text, i, end)
            spans.append((i, end))
            pos = end
        elif c == '"':
            if cpp and i > 0 and text[i - 1] == "R":
                word = _WORD_BACK.match(text, 0, i)
                if word.group() in _RAW_PREFIXES:
                    if _RAW.match(text, word.start()):
                        raise _Bail  # a raw string, unless a state that takes a name ate the prefix
                elif word.group()[0].isdigit() or "$" in word.group():
                    raise _Bail  # a token may start inside the word
            pos = _string_end(text, i + 1)
        elif c == "'":
            word = _WORD_BACK.match(text, 0, i)
            if word and (word.group()[0].isdigit() or "$" in word.group()):
                raise _Bail  # digit separator, or a token boundary inside the word
            cm = _CHAR.match(text, i)
            pos = cm.end() if cm else i + 1  # else an Error token
        elif c == "#":
            line_start = text.rfind("\n", 0, i) + 1
            at_line_start = _LINE_START_WS1.match(text, line_start, i) is not None
            if at_line_start and spans and spans[-1][0] < line_start < spans[-1][1]:
                at_line_start = False  # the line starts inside a comment: not a token start
            if not at_line_start:
                pos = i + 1  # an Error token
                continue
            if _IF0.match(text, i):
                raise _Bail
            first = len(spans)
            end = _macro(text, i + 1, spans)
            _check_macro(text, i, end)
            for start, stop in spans[first:]:
                _check_comment(text, start, stop)
            pos = end
        else:  # backslash: only a line continuation is a plain token here
            if text[i + 1:i + 2] != "\n":
                raise _Bail
            pos = i + 2


def scan_c(text: str) -> Optional[list]:
    """Comment spans of preprocessed C text (pygments CLexer), or None."""
    try:
        return _scan(text, cpp=False)
    except _Bail:
        return None


def scan_cpp(text: str) -> Optional[list]:
    """Comment spans of preprocessed C++ text (pygments CppLexer), or None."""
    try:
        return _scan(text, cpp=True)
    except _Bail:
        return None
