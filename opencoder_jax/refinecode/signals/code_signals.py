"""General-code tier: the qsc_code_* signals of OpenCoder's released quality_signals/code.py.

Signals shared with the text tier (words, n-grams, digits, whitespace, replacement symbols)
live in text_signals.py; the registry names both. Values, rounding and None cases follow the
released code; regexes are linear-time (the string-literal pattern is the released one, which
only backtracks to the next closing quote; string concatenation is an explicit scan).
"""
from __future__ import annotations

import ast as python_ast
import io
import re
import tokenize
from collections import Counter

from opencoder_jax.refinecode.signals.code_document import CodeDocument
from opencoder_jax.refinecode.signals.rounding import round_value as _round

# The released code.py uses the `regex` module, whose \s lacks U+001C..U+001F (str.isspace has them).
_REGEX_MODULE_SPACE_RE = re.compile(r"[^\S\x1c-\x1f]+")
_FILE_SEPARATORS_RE = re.compile(r"[\x1c-\x1f]")  # whitespace to str.split(), not to the regex module
# released priority: ''' > \"\"\" > ' > \" ; lazy bodies
_STRING_ANY_RE = re.compile(r"'''(.*?)'''|\"\"\"(.*?)\"\"\"|'(.*?)'|\"(.*?)\"", re.DOTALL)
_STRING_ONE_LINE_RE = re.compile(r"'''(.*?)'''|\"\"\"(.*?)\"\"\"|'([^\n]*?)'|\"([^\n]*?)\"", re.DOTALL)
_URL_IN_WORD_RE = re.compile(r"https?://[^\s\x1c-\x1f]")
_HEX_WORD_RE = re.compile(r"\b0[xX][0-9a-fA-F]+\b")
_AUTOGEN_MARKERS = ("generate", "autogen", "do not edit")  # also covers the released regex alternatives
_PROMPT_COMMENTS = ("your code here", "fixme", "todo")
_BASE64_RE = re.compile(r"[a-zA-Z0-9+/\n=]{64,}")
_HEX_BLOB_RE = re.compile(r"(?:\b(?:0x|\\x)?[0-9a-fA-F]{2}(?:,|\b[^\S\x1c-\x1f]*)){8,}")
# A hex blob consists of these characters only and has at least 16 of them, so it lies inside
# one such maximal run; searching each run (the character after it still visible to \b) finds
# exactly the blobs _HEX_BLOB_RE.finditer finds in the whole text, without trying it everywhere.
_HEX_RUN_RE = re.compile(r"(?<![0-9a-fA-Fx\\,\s])[0-9a-fA-Fx\\,\s]{16,}")
# (?:\\u[0-9a-fA-F]{4}){8,} with a literal head, so the regex engine can skip to each '\u'
_UNICODE_ESCAPES_RE = re.compile(r"\\u[0-9a-fA-F]{4}(?:\\u[0-9a-fA-F]{4}){7,}")
_ASSIGN_QUOTE_RE = re.compile(r"=[^\S\x1c-\x1f]*[\"']")
_QUOTE_PLUS_QUOTE_RE = re.compile(r"[\"'][^\S\x1c-\x1f]*\+[^\S\x1c-\x1f]*[\"']")
_QUOTE_RE = re.compile(r"[\"']")


# -- size and lines ------------------------------------------------------------------------------
def size_file_byte(doc: CodeDocument):
    return None if doc.file_size_in_byte is None else float(doc.file_size_in_byte)


def num_lines(doc: CodeDocument):
    return float(len(doc.raw_lines))


def num_chars_line_max(doc: CodeDocument):
    lines = doc.raw_lines
    return float(max(map(len, lines))) if lines else 0.0


def num_chars_line_mean(doc: CodeDocument):
    lines = doc.raw_lines
    if not lines:
        return 0
    return _round(sum(map(len, lines)) / len(lines))


def frac_chars_alphabet(doc: CodeDocument):
    visible = doc.visible_content
    if not visible:
        return 0.0
    return _round(doc.num_alpha_visible / len(visible))


def cate_xml_start(doc: CodeDocument):
    return float("<?xml version=" in doc.raw_content[:100])


def cate_autogen(doc: CodeDocument):
    head = doc.raw_content[:200].lower()
    return float(any(marker in head for marker in _AUTOGEN_MARKERS))


def frac_lines_dupe_lines(doc: CodeDocument):
    """Share of code lines (comments removed, all whitespace removed) occurring more than once;
    lines that are '},' or a single character do not count as duplicates."""
    if not doc.raw_lines:
        return None
    lines = doc.code_normalized_lines
    if _FILE_SEPARATORS_RE.search(doc.code_raw_content) is None:
        # without \x1c-\x1f, str.split() splits on exactly the characters removed below
        counts = Counter(["".join(line.split()) for line in lines])
    else:
        counts = Counter(_REGEX_MODULE_SPACE_RE.sub("", line) for line in lines)
    total = sum(counts.values())
    if total == 0:
        return None
    dupes = sum(v for k, v in counts.items() if v != 1 and k != "}," and len(k) != 1)
    return _round(dupes / total)


# -- comments --------------------------------------------------------------------------------------
_DOCSTRING_NODE_ORDER = {python_ast.ClassDef: "Class", python_ast.FunctionDef: "Function/Method", python_ast.Module: "Module"}
# Fields holding statements (or handlers / match cases, which hold statements), per node type,
# in _fields order = ast.iter_child_nodes order. Expressions never contain statements, so a
# breadth-first walk through these fields meets the def/class nodes in ast.walk's order.
_STATEMENT_FIELDS = ("body", "handlers", "orelse", "finalbody", "cases")
_statement_fields_of: dict[type, tuple[str, ...]] = {}


def _statement_fields(node_type: type) -> tuple[str, ...]:
    fields = _statement_fields_of.get(node_type)
    if fields is None:
        fields = _statement_fields_of[node_type] = tuple(f for f in node_type._fields if f in _STATEMENT_FIELDS)
    return fields


def _walk_statements(tree):
    """ast.walk restricted to statements, except handlers and match cases (same relative order)."""
    queue = [tree]
    for node in queue:  # appending while iterating: a breadth-first walk
        for field in _statement_fields(type(node)):
            children = getattr(node, field, None)
            if children:
                queue.extend(children)
        yield node


def python_docstrings(tree) -> str:
    """Docstrings of the module, classes and (non-async) functions, cleaned, sorted by kind
    and name, joined with '\\n' (released get_docstrings)."""
    found = []
    for node in _walk_statements(tree):
        kind = _DOCSTRING_NODE_ORDER.get(type(node))
        if kind is not None:
            found.append((kind, getattr(node, "name", None), python_ast.get_docstring(node)))
    found.sort(key=lambda x: (x[0], x[1]))
    return "\n".join(d for _, _, d in found if d)


# In source that compiles, every quote outside strings and comments opens a string and every
# '#' outside strings opens a comment, so one left-to-right regex scan finds tokenize's
# COMMENT tokens (prefixes need no care: r"\"" still does not end at the escaped quote).
_PY_STRING_OR_COMMENT_RE = re.compile(
    r"'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"
    r'|"""[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'
    r"|'[^'\\\n]*(?:\\[\s\S][^'\\\n]*)*'"
    r'|"[^"\\\n]*(?:\\[\s\S][^"\\\n]*)*"'
    r"|(#[^\r\n]*)"
)


def python_comments_tokenize(source: str) -> str:
    """All '#' comments concatenated with every '#' removed; '' when tokenize fails anywhere."""
    if "#" not in source:
        return ""
    try:
        parts = [tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT]
    except Exception:  # noqa: BLE001 - released: any tokenize failure -> no comments
        return ""
    return "".join(parts).replace("#", "")


def python_comments(source: str, compiles: bool = False) -> str:
    """python_comments_tokenize(source); `compiles` (ast.parse succeeded) allows the exact
    regex scan, except with '\\r' in the text (tokenize strips '\\r' runs before line ends)."""
    if "#" not in source:
        return ""
    if not compiles or "\r" in source:
        return python_comments_tokenize(source)
    parts = [c for c in _PY_STRING_OR_COMMENT_RE.findall(source) if c]
    return "".join(parts).replace("#", "")


def python_natural_text(doc: CodeDocument) -> str:
    """Released get_text_python: docstrings + '\\n' + comments, stripped."""
    tree = doc.ast
    try:
        docstrings = python_docstrings(tree) if tree is not None else ""
    except Exception:  # noqa: BLE001
        docstrings = ""
    return (docstrings + "\n" + python_comments(doc.raw_content, tree is not None)).strip()


def frac_chars_comments(doc: CodeDocument):
    text = doc.raw_content
    if not text:
        return None
    if doc.program_lang == "python":
        return _round(len(python_natural_text(doc)) / len(text))
    return _round(len(doc.comment_raw_content) / len(text))


def frac_lines_prompt_comments(doc: CodeDocument):
    total = len(doc.raw_lines)
    if total == 0:
        return None
    count = 0
    for line in doc.comment_normalized_lines:
        lowered = line.lower()
        if any(p in lowered for p in _PROMPT_COMMENTS):
            count += 1
    return _round(count / total)


# -- strings -----------------------------------------------------------------------------------------
def _string_groups(doc: CodeDocument, pattern: re.Pattern, key: str) -> list[str]:
    def find(d: CodeDocument) -> list[str]:
        return [g for groups in pattern.findall(d.code_raw_content) for g in groups if g]

    return doc.memo(key, find)


def frac_lines_long_string(doc: CodeDocument):
    """Lines of string literals (multi-line ones split at '\\n') with more than 20 words,
    per non-blank code line."""
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    count = 0
    for literal in _string_groups(doc, _STRING_ANY_RE, "strings_any"):
        for piece in literal.split("\n"):
            if len(piece) > 20 and len(doc.tokenize(piece)) > 20:  # >20 words needs >20 chars
                count += 1
    return _round(count / total)


def frac_chars_string_length(doc: CodeDocument):
    total = len(doc.code_raw_content)
    if total == 0:
        return None
    return _round(sum(map(len, _string_groups(doc, _STRING_ONE_LINE_RE, "strings_one_line"))) / total)


def frac_chars_long_word_length(doc: CodeDocument):
    """Characters of words longer than 20 inside string literals, URLs excepted, per code char."""
    total = len(doc.code_raw_content)
    if total == 0:
        return None
    length = 0
    for literal in _string_groups(doc, _STRING_ONE_LINE_RE, "strings_one_line"):
        for word in literal.split():
            if len(word) > 20 and _URL_IN_WORD_RE.search(word) is None:
                length += len(word)
    return _round(length / total)


def has_string_concat(line: str) -> bool:
    """re.search(r'\\s*=\\s*["\\'].+?["\\']\\s*\\+\\s*["\\'].+?["\\'].*', line) for one line, in
    linear time: the earliest `= "` then the earliest `" + "` at least two characters later,
    then any quote at least two characters after that."""
    first = _ASSIGN_QUOTE_RE.search(line)
    if first is None:
        return False
    join = _QUOTE_PLUS_QUOTE_RE.search(line, first.end() + 1)
    if join is None:
        return False
    return _QUOTE_RE.search(line, join.end() + 1) is not None


def frac_lines_string_concat(doc: CodeDocument):
    lines = doc.code_normalized_lines
    if not lines:
        return None
    return _round(sum(1 for line in lines if has_string_concat(line)) / len(lines))


# -- encoded data, hex, asserts -----------------------------------------------------------------------
def hex_blob_lengths(text: str):
    """Lengths of the matches of _HEX_BLOB_RE.finditer(text), run by run."""
    size = len(text)
    for run in _HEX_RUN_RE.finditer(text):
        pos, end = run.start(), min(run.end() + 1, size)
        while True:
            m = _HEX_BLOB_RE.search(text, pos, end)
            if m is None:
                break
            yield m.end() - m.start()
            pos = m.end()


def cate_encoded_data(doc: CodeDocument):
    """Released: base64, hex and unicode-escape blobs; any longer than 1024 characters, or all
    together more than half of the text, make it 1.0."""
    text = doc.raw_content
    score = 0.0
    matched = 0
    lengths = [m.end() - m.start() for m in _BASE64_RE.finditer(text)]
    lengths += hex_blob_lengths(text)
    lengths += [m.end() - m.start() for m in _UNICODE_ESCAPES_RE.finditer(text)]
    for n in lengths:
        if n > 1024:
            score = 1.0
        matched += n
    if text and matched / len(text) > 0.5:
        score = 1.0
    return score


def frac_chars_hex_words(doc: CodeDocument):
    code = doc.code_raw_content
    if not code:
        return None
    return _round(sum(len(m) for m in _HEX_WORD_RE.findall(code)) / len(code))


def frac_lines_assert(doc: CodeDocument):
    lines = doc.code_normalized_lines
    if not lines:
        return None
    return _round(sum(1 for line in lines if "assert" in line.lower()) / len(lines))
