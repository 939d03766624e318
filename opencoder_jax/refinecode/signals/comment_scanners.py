"""Hand-written code/comment scanners that give EXACTLY pygments 2.18's split, or None.

The filter's comment split (comment_split.py) is "tokens of types Comment.Multiline,
Comment.Single, String.Doc, Comment.Hashbang, Comment.Special are comments, the rest code",
from a full pygments pass. Lexing every token in Python is most of the filter's time, yet
only the boundaries of comments (and of the strings that hide comment markers) matter. A
scanner here jumps with C-level regex searches from one such boundary to the next, mirroring
the pygments lexer's states and rule order for exactly those boundaries.

Scanners: Python here; C and C++ in c_scanner.py, JavaScript in js_scanner.py, HTML (with the
JavaScript of its <script> elements) in html_scanner.py; SCANNERS maps program_lang to them.

Contract: scan(text) -> list of (start, end) comment spans of the PREPROCESSED text (what
pygments lexes: see `preprocess`), or None when the text holds a construct the scanner is not
sure to treat as pygments does (the caller then runs pygments). Correctness over coverage:
every unusual case bails out. tests/refinecode/test_comment_scanners.py checks the spans
against pygments token for token (hand-written tricky snippets, a fuzz, real files).

Python (pygments.lexers.python.PythonLexer), the facts this relies on:
- comments: '#' to end of line in the root state only ('#' inside an f-string expression is
  an Error token, i.e. code); the hashbang rule is also a comment;
- String.Doc: in the root state at a line start, `\\s*`, a prefix of at most 2 of [rRuUbB],
  then a triple-quoted string up to the FIRST closing triple quote (no escapes); the
  whitespace and prefix are code;
- every other string is code, but where it ends decides what follows: escapes, the
  '{...}' / '%' interpolation rules (whose `[^\\]]+` may run past a quote or a newline), a
  single-quoted string ended by a newline (the lexer resets to root), f-string expressions
  (their own bracket states, newlines allowed, nested strings);
- a string's prefix is only a prefix when the lexer starts a token there: identifiers are
  consumed greedily, `def`/`class`/`import`/`from` enter states that consume the following
  names, '@name' is a decorator token; runs starting with a digit, non-ASCII neighbours and
  state keywords followed by a newline bail out;
- `match`/`case` soft keywords at a line start enter a state that sub-lexes part of the line
  with a fresh lexer: handled only when that part holds no '#' or quote.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from pygments.lexers import PythonLexer

Spans = list  # list[tuple[int, int]]

_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_PY_PREFIXES = {  # lower-cased prefix -> (raw, f-string, escapes: 'str' | 'bytes' | 'raw')
    "": (False, False, "str"), "u": (False, False, "str"), "b": (False, False, "bytes"),
    "r": (True, False, "raw"), "rb": (True, False, "raw"), "br": (True, False, "raw"),
    "f": (False, True, "str"), "rf": (True, True, "raw"), "fr": (True, True, "raw"),
}
_DOC_PREFIX_CHARS = frozenset("rRuUbB")


class _Bail(Exception):
    """The scanner met something it does not handle exactly like pygments."""


def _pygments_rule(lexer_cls, state: str, needle: str) -> re.Pattern:
    """The compiled regex of the first rule of `state` whose pattern contains `needle`, taken
    from the lexer itself so that it is exactly the one pygments runs."""
    lexer = lexer_cls()
    for rexmatch, _action, _new in lexer._tokens[state]:
        if needle in rexmatch.__self__.pattern:
            return rexmatch.__self__
    raise LookupError(f"{lexer_cls.__name__}: no rule with {needle!r} in state {state!r}")


def preprocess(lexer, text: str) -> str:
    """The text pygments actually lexes (BOM dropped, newlines normalised, stripped, final '\\n')."""
    return lexer._preprocess_lexer_input(text)


# -- Python ------------------------------------------------------------------------------------------
_PY_SOFT_KEYWORD = _pygments_rule(PythonLexer, "root", "(match|case)")
_PY_SOFT_INNER = _pygments_rule(PythonLexer, "soft-keywords-inner", "[^\\n_]")
_PY_FORMAT_INTERPOL = _pygments_rule(PythonLexer, "strings-double", "\\{((\\w+)")
_PY_NAMED_ESCAPE = re.compile(r"\\N\{.*?\}")
_PY_ROOT_EVENT = re.compile(r"""["'#]|^[ \t]*(?:match|case)\b|(?<![A-Za-z_])(?:def|class|import|from)\b""", re.M)
_PY_STATE_SPACE = re.compile(r"(?:\s|\\\s)+")
_PY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PY_IMPORT_STATE = re.compile(r"(?:\s+as\s+|\.|[A-Za-z_][A-Za-z0-9_]*|\s*,\s*)*")
_PY_FROMIMPORT_STATE = re.compile(r"(?:\.|(?!None\b)[A-Za-z_][A-Za-z0-9_]*)*(?:\s+import\b|None\b)?")
_PY_FEXPR_EVENT = re.compile(r"""[{}()\[\]:=!"']""")
_PY_FEXPR_POP = re.compile(r"(=\s*)?(\![sraf])?[}:]")
_PY_SPECIALS = {  # (quote, triple, fstring) -> characters where something may happen
    (q, triple, fstr): re.compile("[" + re.escape(q) + r"\\{" + ("}" if fstr else "") + ("" if triple else r"\n") + "]")
    for q in "\"'" for triple in (False, True) for fstr in (False, True)
}


def _py_string_kind(text: str, quote_pos: int, lo: int):
    """(raw, fstring, escapes) of the string whose quote is at quote_pos, given that a token
    is known to start at or after `lo`; raises _Bail when unsure."""
    start = quote_pos
    while start > lo and text[start - 1] in _ASCII_WORD:
        start -= 1
    if start > lo:
        before = text[start - 1]
        if before == "@" or ord(before) > 127:
            raise _Bail
    run = text[start:quote_pos]
    if not run:
        return _PY_PREFIXES[""]
    if run[0].isdigit():
        raise _Bail  # a number token then maybe a prefix
    kind = _PY_PREFIXES.get(run.lower()) if len(run) <= 2 else None
    return kind if kind is not None else _PY_PREFIXES[""]  # else a name swallowed the letters


def _py_string(text: str, pos: int, quote: str, triple: bool, fstring: bool, raw: bool, escapes: str):
    """Scan a string body from `pos` (after the opening quotes) -> (end, reset): `end` is where
    the lexer is next, `reset` is True when a newline ended it (lexer back in root)."""
    special = _PY_SPECIALS[(quote, triple, fstring)].search
    n = len(text)
    while True:
        m = special(text, pos)
        if m is None:
            return n, False
        i = m.start()
        c = text[i]
        if c == quote:
            if not triple:
                return i + 1, False
            if text.startswith(quote * 3, i):
                return i + 3, False
            pos = i + 1
        elif c == "\n":
            return i + 1, True
        elif c == "{":
            if fstring:
                if text.startswith("{{", i):
                    pos = i + 2
                else:
                    pos, reset = _py_fstring_expr(text, i + 1)
                    if reset:
                        return pos, True
            else:
                im = _PY_FORMAT_INTERPOL.match(text, i)
                pos = im.end() if im else (i + 2 if text.startswith("{{", i) else i + 1)
        elif c == "}":  # f-strings only: '}}' escape or a lone '}'
            pos = i + 2 if text.startswith("}}", i) else i + 1
        else:  # backslash
            if escapes == "str" and text.startswith("\\N{", i):
                em = _PY_NAMED_ESCAPE.match(text, i)
                if em:
                    pos = em.end()
                    continue
            nxt = text[i + 1] if i + 1 < n else ""
            if escapes != "raw":  # bytes escapes: \\ \" \' \<newline> (and others that hide nothing)
                pos = i + 2 if nxt in ("\\", '"', "'", "\n") else i + 1
            elif not triple:  # raw single-line: \\\\ | \\<quote> | \\<newline>
                pos = i + 2 if nxt in ("\\", quote, "\n") else i + 1
            else:  # raw triple: a lone backslash
                pos = i + 1


def _py_fstring_expr(text: str, pos: int):
    """The 'expr-inside-fstring' state (and its bracket sub-states) from `pos` -> (end, reset)."""
    depth = 0
    lo = pos
    n = len(text)
    search = _PY_FEXPR_EVENT.search
    while True:
        m = search(text, pos)
        if m is None:
            return n, False
        i = m.start()
        c = text[i]
        if c in "\"'":
            raw, fstr, escapes = _py_string_kind(text, i, lo)
            triple = text.startswith(c * 3, i)
            pos, reset = _py_string(text, i + (3 if triple else 1), c, triple, fstr, raw, escapes)
            if reset:
                return pos, True
            lo = pos
        elif c in "{([":
            depth += 1
            pos = lo = i + 1
        elif c in ")]}":
            if depth:
                depth -= 1
            elif c == "}":
                return i + 1, False
            pos = lo = i + 1
        elif depth == 0 and c == ":":
            return i + 1, False
        elif depth == 0:  # '=' or '!': maybe the debug / conversion end of the expression
            pm = _PY_FEXPR_POP.match(text, i)
            if pm:
                return pm.end(), False
            pos = lo = i + 1
        else:
            pos = lo = i + 1


def _py_keyword_state(text: str, i: int, word: str) -> int:
    """`def`/`class`/`import`/`from` at i (a token start) -> where the lexer is back in the
    root state with a token starting there."""
    sm = _PY_STATE_SPACE.match(text, i + len(word))
    if sm is None:  # not followed by whitespace: just a name
        return i + len(word)
    if "\n" in sm.group():
        raise _Bail
    pos = sm.end()
    if word in ("def", "class"):
        nm = _PY_NAME.match(text, pos)
        if nm is None:
            if word == "class" or (pos < len(text) and ord(text[pos]) > 127):
                raise _Bail  # 'classname' has no default: Error tokens until a name
            return pos
        end = nm.end()
    else:
        sm2 = (_PY_IMPORT_STATE if word == "import" else _PY_FROMIMPORT_STATE).match(text, pos)
        end = sm2.end()
        if "\n" in sm2.group():
            raise _Bail
    if end < len(text) and ord(text[end]) > 127:
        raise _Bail
    return end


def scan_python(text: str) -> Optional[Spans]:
    """Comment spans (String.Doc and '#' comments) of preprocessed Python text, or None."""
    try:
        return _scan_python(text)
    except _Bail:
        return None


def _scan_python(text: str) -> Spans:
    spans: Spans = []
    n = len(text)
    pos = 0
    lo = 0  # a token is known to start at or after lo (for string prefixes)
    search = _PY_ROOT_EVENT.search
    while True:
        m = search(text, pos)
        if m is None:
            return spans
        i = m.start()
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            spans.append((i, end))
            pos = lo = end
        elif c in "\"'":
            raw, fstr, escapes = _py_string_kind(text, i, lo)
            triple = text.startswith(c * 3, i)
            if triple:
                # String.Doc: line start in root, whitespace, <= 2 of [rRuUbB], triple quote
                start = i
                while start > lo and text[start - 1] in _ASCII_WORD:
                    start -= 1
                line_start = text.rfind("\n", 0, start) + 1
                if (i - start <= 2 and all(ch in _DOC_PREFIX_CHARS for ch in text[start:i])
                        and (line_start == start or text[line_start:start].isspace())):
                    close = text.find(c * 3, i + 3)
                    if close >= 0:
                        spans.append((i, close + 3))
                        pos = lo = close + 3
                        continue
            pos, _reset = _py_string(text, i + (3 if triple else 1), c, triple, fstr, raw, escapes)
            lo = pos
        elif c in "dcif" and m.group() in ("def", "class", "import", "from"):
            word = m.group()
            run = i
            while run > 0 and text[run - 1] in _ASCII_WORD:
                run -= 1
            if run > 0 and ord(text[run - 1]) > 127:
                raise _Bail
            if run > 0 and text[run - 1] == "@":  # '@name' is one decorator token
                pos = m.end()
                continue
            if run < i:  # inside an identifier run: a name, unless it starts with a digit
                if text[run].isdigit():
                    raise _Bail
                pos = m.end()
                continue
            if word == "from" and text[max(0, i - 6):i] == "yield ":
                before = text[i - 7] if i >= 7 else ""
                if before and (before in _ASCII_WORD or ord(before) > 127):
                    raise _Bail
                pos = m.end()  # the keyword 'yield from'
                continue
            pos = lo = _py_keyword_state(text, i, word)
        else:  # `match` / `case` at a line start
            sm = _PY_SOFT_KEYWORD.match(text, i)
            if sm is None:
                pos = m.end()
                continue
            pos = sm.end()
            while True:
                im = _PY_SOFT_INNER.match(text, pos)
                if im is None:
                    break
                if "\n" in im.group(1) or any(ch in im.group(2) for ch in "#\"'"):
                    raise _Bail
                pos = im.end()
            lo = pos


# -- dispatch -----------------------------------------------------------------------------------------
from opencoder_jax.refinecode.signals.c_scanner import scan_c, scan_cpp  # noqa: E402
from opencoder_jax.refinecode.signals.html_scanner import scan_html  # noqa: E402
from opencoder_jax.refinecode.signals.js_scanner import scan_javascript  # noqa: E402

SCANNERS: dict[str, Callable[[str], Optional[Spans]]] = {
    "python": scan_python,
    "c": scan_c,
    "cpp": scan_cpp,
    "javascript": scan_javascript,
    "html": scan_html,
}


def split_with_scanner(lexer, program_lang: str, text: str) -> Optional[tuple[str, str]]:
    """(code, comments) exactly as the pygments split, or None (no scanner, or it bailed)."""
    scanner = SCANNERS.get(program_lang)
    if scanner is None:
        return None
    text = preprocess(lexer, text)
    spans = scanner(text)
    if spans is None:
        return None
    code: list[str] = []
    comments: list[str] = []
    pos = 0
    for start, end in spans:
        if start > pos:
            code.append(text[pos:start])
        comments.append(text[start:end])
        pos = end
    code.append(text[pos:])
    return "".join(code), "".join(comments)
