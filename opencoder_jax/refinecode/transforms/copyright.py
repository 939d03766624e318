"""Copyright removal: drop a LEADING comment block that is a copyright / licence notice.

OpenCoder (arXiv 2411.04905, sec. 2.1.1 "Transformation") found that more than 15% of code
files start with such a notice; it carries no signal for a code model, so it is removed.

What counts as "leading": after an optional BOM and a preamble that must survive
(a shebang on the first line, Python/Ruby encoding cookies and magic comments, Emacs
`-*- ... -*-` mode lines, a bare `<?php`, `<?xml ...?>` or `<!DOCTYPE ...>` line), the file's
comments are read as "chunks": one block comment (`/* */`, `<!-- -->`, `{- -}`, `(* *)`,
a Python docstring, ...) or one run of consecutive line comments (`#`, `//`, `--`, ...)
without a blank line. Chunks are removed from the front for as long as each one is a
notice (`is_notice`); the first chunk that is not a notice, and everything after it, stays.

Guarantees (tested byte-exact): the preamble and the text from the first kept non-blank
line onwards are byte-identical to the input (the blank lines between the removed notice
and the code are dropped with it); a comment that is not a notice is never removed; an
unterminated block comment or an unknown language leaves the text unchanged. Every step is
a forward scan with str.find / anchored regexes, so the cost is linear in the text.
"""
from __future__ import annotations

import re

from opencoder_jax.refinecode.transforms.comment_syntax import CommentSyntax, canonical_language, syntax_for

NAME = "copyright"

# A chunk is a notice when one of these strong phrases occurs in it. A lone word "license"
# is NOT enough (e.g. a docstring "Parse licence files."); each branch names an owner,
# a year, a known licence, or a legal formula.
_NOTICE_CI = re.compile(
    r"spdx-license-identifier"
    r"|\bcopyright\b[ \t]*(?:\(c\)|\u00a9|&copy;|\d{4}|[-:,][ \t]*\d{4}|(?:the[ \t]+)?(?:holders?|owners?|notice)\b|by\b)"
    r"|(?:\u00a9|\(c\)|&copy;)[ \t]*(?:\d{4}|copyright\b)"
    r"|\ball\s+rights\s+reserved\b"
    r"|\bpermission\s+is\s+hereby\s+granted\b"
    r"|\blicen[cs]ed\s+(?:under|to)\b"
    r"|\bunder\s+the\s+terms\s+of\b"
    r"|\bgeneral\s+public\s+licen[cs]e\b"
    r"|\b(?:apache|mit|bsd|isc|mozilla\s+public|eclipse\s+public|artistic|boost\s+software|creative\s+commons)"
    r"(?:[ \t]+[\w.-]{1,30}){0,2}[ \t]+licen[cs]e\b"
    r"|\bthis\s+(?:program|file|library|software|code|source\s+code|module|project|package)\s+is\s+"
    r"(?:free\s+software|licensed|distributed\s+under|released\s+under|dual[- ]licensed)"
    r"|\bredistribution\s+and\s+use\s+in\s+source\s+and\s+binary\s+forms\b"
    r"|\bwithout\s+(?:any\s+)?warrant(?:y|ies)\b"
    r"|\bdistributed\s+in\s+the\s+hope\s+that\b"
    r"|@license\b|@copyright\b|:copyright:|:license:"
    r"|(?:^|\n)[^\w\n]{0,12}licen[cs]e[ \t]*[:=]"
    r"|\bsee\s+(?:the\s+)?licen[cs]e(?:\.\w{1,4})?\s+file\b"
    r"|\b(?:released|placed|dedicated)\s+(?:in|into|to)\s+the\s+public\s+domain\b",
    re.IGNORECASE,
)
# Case-sensitive: a capitalised owner after the word or sign ("Copyright Google Inc.",
# "(c) OpenJS Foundation"), so "copyright headers" / "the (c) term" are not notices.
_NOTICE_CS = re.compile(r"\b(?:Copyright|COPYRIGHT)[ \t]+[A-Z]|(?:\([cC]\)|\u00a9)[ \t]+[A-Z][A-Za-z]")


def is_notice(comment: str) -> bool:
    """True when a comment chunk is a copyright or licence notice."""
    return bool(_NOTICE_CI.search(comment) or _NOTICE_CS.search(comment))


_MAGIC_COMMENT = re.compile(
    r"[ \t\f]*[#%;/\-\"!(*{]+.*?(?:coding[:=]|frozen_string_literal|warn_indent|"
    r"shareable_constant_value|-\*-.*-\*-)"
)
_DECLARATION = re.compile(r"[ \t]*(?:<\?php|<\?xml[^\n]*\?>|<!DOCTYPE[^\n>]*>)[ \t\r]*$", re.IGNORECASE)
_MAX_PREAMBLE_LINE = 400  # cookies and declarations are short; bounds the regex work per line
_PYTHON_STRING_PREFIX = re.compile(r"[rRuU]?(?:\"\"\"|''')")


def _line_end(text: str, pos: int) -> int:
    """Index of the newline ending the line at pos (or len(text))."""
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl


def _preamble_end(text: str, syntax: CommentSyntax) -> int:
    """End of the lines that must stay in front: BOM, shebang, cookies, declarations."""
    pos = 1 if text.startswith("\ufeff") else 0
    first = True
    while pos < len(text):
        end = _line_end(text, pos)
        line = text[pos:min(end, pos + _MAX_PREAMBLE_LINE)]
        keep = (first and line.startswith("#!") and not line.startswith("#!["))
        keep = keep or bool(_DECLARATION.match(line))
        if not keep and syntax.line and _MAGIC_COMMENT.match(line):
            stripped = line.lstrip()
            keep = any(stripped.startswith(p) for p in syntax.line) or any(
                stripped.startswith(o) and line.rstrip().endswith(c) for o, c in syntax.block)
        if not keep:
            break
        first = False
        pos = end + 1 if end < len(text) else end
    return pos


def _skip_blank_lines(text: str, pos: int) -> int:
    """From pos, skip the rest of the line if blank, then whole blank lines.

    Returns the start of the first non-blank line (its indentation kept), or, when code
    follows on the same line as pos, the first non-space character of that code.
    """
    n = len(text)
    while pos < n:
        end = _line_end(text, pos)
        if text[pos:end].strip():
            # Non-blank: keep its indentation if pos is at a line start, else skip spaces.
            if pos == 0 or text[pos - 1] == "\n":
                return pos
            while pos < end and text[pos] in " \t\r\f\v":
                pos += 1
            return pos
        pos = end + 1 if end < n else n
    return n


def _first_non_space(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n\f\v":
        pos += 1
    return pos


def _block_end(text: str, start: int, open_: str, close: str, nested: bool) -> int:
    """Index just past the closer of the block comment opened at `start`, or -1."""
    at_line_start = open_.startswith("=")  # Ruby =begin/=end, Perl POD: closer at column 0
    pos = start + len(open_)
    if at_line_start:
        found = text.find("\n" + close, pos)
        return -1 if found < 0 else _line_end(text, found + 1)
    if not nested:
        found = text.find(close, pos)
        return -1 if found < 0 else found + len(close)
    depth = 1
    while depth:
        next_close = text.find(close, pos)
        if next_close < 0:
            return -1
        next_open = text.find(open_, pos, next_close)
        if next_open >= 0:
            depth += 1
            pos = next_open + len(open_)
        else:
            depth -= 1
            pos = next_close + len(close)
    return pos


def _chunk_end(text: str, start: int, syntax: CommentSyntax) -> int:
    """End of the comment chunk starting at `start` (first non-space char), or -1 if none."""
    if syntax.docstring:
        m = _PYTHON_STRING_PREFIX.match(text, start)
        if m:
            quote = m.group()[-3:]
            close = text.find(quote, m.end())
            return -1 if close < 0 else close + 3
    for open_, close in syntax.block:
        if text.startswith(open_, start):
            if open_.startswith("=") and start > 0 and text[start - 1] != "\n":
                continue
            return _block_end(text, start, open_, close, syntax.nested)
    if not any(text.startswith(p, start) for p in syntax.line):
        return -1
    # A run of line comments: this line and every following line that is a line comment.
    end = _line_end(text, start)
    n = len(text)
    while end < n:
        nxt = end + 1
        body = nxt
        while body < n and text[body] in " \t\f\v":
            body += 1
        if not any(text.startswith(p, body) for p in syntax.line):
            break
        # A block opener that shares a line prefix (Lua "--[[") starts a new chunk.
        if any(text.startswith(o, body) for o, _ in syntax.block):
            break
        end = _line_end(text, body)
    return end


def remove_copyright(text: str, language: str | None) -> str:
    """`text` without its leading notice comments (unchanged when there is none)."""
    syntax = syntax_for(language)
    if syntax is None or not text:
        return text
    keep_until = _preamble_end(text, syntax)
    pos = _first_non_space(text, keep_until)
    removed_until = -1
    while pos < len(text):
        end = _chunk_end(text, pos, syntax)
        if end < 0 or not is_notice(text[pos:end]):
            break
        removed_until = end
        pos = _first_non_space(text, end)
    if removed_until < 0:
        return text
    return text[:keep_until] + text[_skip_blank_lines(text, removed_until):]


def supported(language: str | None) -> bool:
    return syntax_for(canonical_language(language)) is not None
