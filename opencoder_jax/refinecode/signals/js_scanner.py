"""Hand-written code/comment scanner for JavaScript giving EXACTLY pygments 2.18's split, or None.

Same contract as comment_scanners.py (which dispatches here): scan(text) -> list of (start, end)
comment spans (Comment.Single, Comment.Multiline, Comment.Hashbang tokens) of the PREPROCESSED
text, or None when the text holds a construct the scanner does not treat exactly as pygments'
JavascriptLexer does (the caller then lexes). tests/refinecode/test_comment_scanners.py
compares the spans with pygments' tokens (tricky snippets, a fuzz, real files).

The pygments facts this relies on (pygments.lexers.javascript.JavascriptLexer, 2.18):
- '//' (to the line end) and '/* */' (closed) are comments in every code state; an unclosed
  '/*' is no comment;
- a '/' that starts no comment is a regex literal when the lexer is in 'slashstartsregex',
  else a division operator. That state is pushed by operators, '{([;,', and the keywords
  (typeof ... new, for ... super, var ... class), and at a line start (or the text start)
  followed by whitespace or '/'; whitespace and comments keep it, any other token leaves it.
  So the state at a '/' follows from the last token before it that is not whitespace or a
  comment, which the scanner reads backwards (identifier, number, operator run, closing
  bracket, the end of a string/template/regex), bailing out on anything unusual
  (non-ASCII or '\\' next to it, '$' words holding a keyword, numbers other than digits);
- in 'slashstartsregex' a '/' that is no regex literal makes the rest of its line Error
  tokens (code, comment markers included) up to the newline, which resets to root at a
  line start;
- strings '"..."' / "'...'" may span lines (else the quote is an Error token); a template
  '`...`' holds '${' expressions lexed with the root rules up to the first '}' token;
- '<!--' and a '\\' in code (outside strings, templates, regexes, comments) bail out.
"""
from __future__ import annotations

import re
from typing import Optional

from pygments.lexers import JavascriptLexer


class _Bail(Exception):
    """The scanner met something it does not handle exactly like pygments."""


def _rule(state: str, pattern: str) -> re.Pattern:
    """The compiled rule of `state` whose pattern is exactly `pattern`, from the lexer itself."""
    for rexmatch, _action, _new in JavascriptLexer()._tokens[state]:
        if rexmatch.__self__.pattern == pattern:
            return rexmatch.__self__
    raise LookupError(f"JavascriptLexer: no rule {pattern!r} in state {state!r}")


_HASHBANG = _rule("root", r"\A#! ?/.*?$")
_REGEX_LITERAL = _rule("slashstartsregex", r"/(\\.|[^[/\\\n]|\[(\\.|[^\]\\\n])*])+/([gimuysd]+\b|\B)")
_DOUBLE = _rule("root", r'"(\\\\|\\[^\\]|[^"\\])*"')
_SINGLE = _rule("root", r"'(\\\\|\\[^\\]|[^'\\])*'")

_CODE_EVENT = re.compile(r"""[/"'`\\]""")
_INTERP_CODE_EVENT = re.compile(r"""[/"'`\\}]""")
_TEMPLATE_EVENT = re.compile(r"`|\\|\$\{")
_OPERATOR_TOKEN = re.compile(  # root rules for operator characters, in pygments' order
    r"(=>)|(\+\+|--|~|\?\?=?|\?|:|(?:<<|>>>?|==?|!=?|\*\*|\|\||&&|[-<>+*%&|^/])=?)|([{(\[;,])"
)
_OPERATOR_CHARS = frozenset("+-*%&|^<>=!~?:{([;,/")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_BOUNDARY_CHARS = frozenset(".)]}\"'` \t\n\r\x0b\x0c")
_PUSHING_WORDS = frozenset(
    "typeof instanceof in void delete new for while do break return continue switch case default "
    "if else throw try catch finally yield await async this of static export import debugger "
    "extends super var let const with function class".split()
)


def _run_start(text: str, j: int, floor: int, chars) -> int:
    s = j
    while s > floor and text[s - 1] in chars:
        s -= 1
    if s > floor and text[s - 1] not in _BOUNDARY_CHARS and text[s - 1] not in _OPERATOR_CHARS \
            and text[s - 1] not in _WORD_CHARS:
        raise _Bail  # '#', '@', '\\', non-ASCII...: a token boundary we do not model
    return s


def _word_pushes(word: str) -> bool:
    if word[0].isdigit():
        if word.isdigit():
            return False  # a number
        raise _Bail
    if "$" in word:  # keyword rules end at \b, which a '$' satisfies
        if any(k in word for k in _PUSHING_WORDS):
            raise _Bail
        return False
    return word in _PUSHING_WORDS


def _operators_push(run: str) -> bool:
    if "//" in run or "/*" in run:
        raise _Bail
    pos, pushes = 0, False
    while pos < len(run):
        m = _OPERATOR_TOKEN.match(run, pos)
        if m is None:
            raise _Bail
        pushes = m.lastindex != 1
        pos = m.end()
    return pushes


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.spans: list = []
        self.floor = 0  # a token starts here, in root state (text start, after a literal, ...)

    def regex_state(self, i: int) -> bool:
        """Whether the lexer is in 'slashstartsregex' at the '/' at i (no comment starts there)."""
        text, spans = self.text, self.spans
        if text[i - 1:i] == "\n" or i == 0:
            return True  # '^(?=\s|/)' at a line start
        floor = self.floor
        j, k = i, len(spans) - 1
        while True:
            low = max(floor, spans[k][1]) if k >= 0 else floor  # never into a comment
            while j > low and text[j - 1].isspace():
                j -= 1
            if k >= 0 and spans[k][1] == j and spans[k][0] >= floor:
                start = spans[k][0]
                if start == 0 or text[start - 1] == "\n":
                    return True  # the comment's start is a line start: '^' pushed the state
                j, k = start, k - 1
                continue
            break
        if j == floor:
            return floor == 0 or text[floor - 1] == "\n"
        clamp = max(floor, spans[k][1] if k >= 0 else 0)
        c = text[j - 1]
        if c in ".)]}\"'`":
            return False  # closing bracket, member dot, number end, Error quote
        if c in _WORD_CHARS:
            return _word_pushes(text[_run_start(text, j, clamp, _WORD_CHARS):j])
        if c in _OPERATOR_CHARS:
            return _operators_push(text[_run_start(text, j, clamp, _OPERATOR_CHARS):j])
        raise _Bail

    def template(self, pos: int) -> int:
        """From after an opening '`' -> after its closing '`' (or the text end)."""
        text = self.text
        while True:
            m = _TEMPLATE_EVENT.search(text, pos)
            if m is None:
                return len(text)
            i = m.start()
            c = text[i]
            if c == "`":
                return i + 1
            if c == "\\":
                pos = i + 2
            else:
                self.floor = i + 2
                pos = self.code(i + 2, in_interp=True)

    def code(self, pos: int, in_interp: bool) -> int:
        """Root-state code from pos -> the text end, or after the '}' closing an interpolation."""
        text, spans = self.text, self.spans
        n = len(text)
        search = (_INTERP_CODE_EVENT if in_interp else _CODE_EVENT).search
        while True:
            m = search(text, pos)
            if m is None:
                return n
            i = m.start()
            c = text[i]
            if c == "/":
                nxt = text[i + 1:i + 2]
                if nxt == "/":
                    end = text.find("\n", i)
                    end = n if end < 0 else end
                    spans.append((i, end))
                    pos = end
                    continue
                if nxt == "*":
                    close = text.find("*/", i + 2)
                    if close >= 0:
                        spans.append((i, close + 2))
                        pos = close + 2
                        continue
                if self.regex_state(i):
                    rm = _REGEX_LITERAL.match(text, i)
                    if rm:
                        pos = self.floor = rm.end()
                    else:  # 'badregex': Error tokens to the newline, then root at a line start
                        nl = text.find("\n", i)
                        if nl < 0:
                            return n
                        pos = self.floor = nl + 1
                else:
                    pos = i + 1  # division operator
            elif c == '"' or c == "'":
                sm = (_DOUBLE if c == '"' else _SINGLE).match(text, i)
                if sm:
                    pos = self.floor = sm.end()
                else:
                    pos = i + 1  # an Error token
            elif c == "`":
                pos = self.floor = self.template(i + 1)
            elif c == "}":
                return i + 1
            else:
                raise _Bail  # backslash in code


def scan_javascript(text: str) -> Optional[list]:
    """Comment spans of preprocessed JavaScript text (pygments JavascriptLexer), or None."""
    if "<!--" in text:
        return None
    scanner = _Scanner(text)
    try:
        hm = _HASHBANG.match(text)
        if hm:
            scanner.spans.append((0, hm.end()))
            scanner.floor = hm.end()
        scanner.code(scanner.floor, in_interp=False)
    except _Bail:
        return None
    return scanner.spans
