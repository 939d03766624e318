"""Split source text into code and comments, as OpenCoder's released filter does.

One pygments pass (lexer = get_lexer_by_name(program_lang)); tokens of the five comment-like
types are comments, everything else is code. For the languages of comment_scanners.py a
hand-written scanner gives the same split without lexing every token (it returns None on
anything it is not sure of, and pygments runs). Languages pygments does not know fall back to
the released line-based heuristics (a generic one, and one for Perl's POD).
"""
from __future__ import annotations

from typing import Sequence

import pygments.util
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, String

from opencoder_jax.refinecode.signals.comment_scanners import split_with_scanner
from opencoder_jax.refinecode.signals.fast_lexer import split_by_token_type

COMMENT_TOKEN_TYPES = frozenset(
    {Comment.Multiline, Comment.Single, String.Doc, Comment.Hashbang, Comment.Special}
)

_LEXERS: dict[str, object] = {}
_NO_LEXER = object()


def _lexer(program_lang: str):
    lexer = _LEXERS.get(program_lang)
    if lexer is None:
        try:
            lexer = get_lexer_by_name(program_lang)
        except pygments.util.ClassNotFound:
            lexer = _NO_LEXER
        _LEXERS[program_lang] = lexer
    return lexer


def split_code_and_comments(text: str, program_lang: str, raw_lines: Sequence[str]) -> tuple[str, str]:
    """(code, comments): two strings whose concatenation (pygments case) is the lexed text."""
    if program_lang == "perl":
        return _split_perl(raw_lines)
    lexer = _lexer(program_lang)
    if lexer is _NO_LEXER:
        return _split_by_hand(raw_lines)
    split = split_with_scanner(lexer, program_lang, text)  # exact, or None: then lex
    if split is not None:
        return split
    return split_by_token_type(lexer, text, COMMENT_TOKEN_TYPES)


def _split_by_hand(raw_lines: Sequence[str]) -> tuple[str, str]:
    """Released get_comment_by_hand, quirks included: a line starting with '#', '//' or '--'
    switches into 'comment' mode, which only a line starting or ending with '\"\"\"', '/*' or
    '*/' toggles back."""
    code: list[str] = []
    comments: list[str] = []
    in_comment = False
    for line in raw_lines:
        stripped = line.strip()
        if stripped.startswith(('"""', "/*")) or stripped.endswith(('"""', "*/")):
            in_comment = not in_comment
            comments.append(line)
            continue
        if stripped.startswith(("#", "//", "--")) or in_comment:
            in_comment = True
            comments.append(line)
            continue
        code.append(line)
    return "".join(code), "".join(comments)


def _split_perl(raw_lines: Sequence[str]) -> tuple[str, str]:
    """Released get_perl_comment: POD blocks ('=...' to '=cut') and '#' lines are comments."""
    code: list[str] = []
    comments: list[str] = []
    in_pod = False
    for line in raw_lines:
        stripped = line.strip()
        if stripped.startswith("=cut"):
            in_pod = False
            comments.append(line)
        elif stripped.startswith("="):
            in_pod = True
            comments.append(line)
        elif stripped.startswith("#") or in_pod:
            comments.append(line)
        else:
            code.append(line)
    return "".join(code), "".join(comments)
