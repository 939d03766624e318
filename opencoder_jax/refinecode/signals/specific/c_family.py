"""C and C++ signals (released quality_signals/code_specific/c.py, c_plus.py, utils/code/c_utils.py).

All counts are taken over `code_raw_content` (comments removed) and fractions over
`code_normalized_lines` (non-blank code lines), as released. Each `count_*` function gives
the number of `findall` matches of the released pattern, computed in linear time (see
common.py for how the patterns were rewritten).
"""
from __future__ import annotations

import regex

from opencoder_jax.refinecode.signals.specific.common import char_index, frac_code_lines_containing, ratio, ws_end

_ASCII_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")

# --- function declarations ------------------------------------------------------------------
# Released: \b((?:[a-zA-Z_]\w*\s*(?:\*+)?\s+)+(?:\*?\s*[a-zA-Z_]\w*)\((?:[^)]*)\)\s*)
# A match is a chain of >= 2 words (each a whole \w-run starting with an ASCII letter or '_')
# whose last word is directly followed by '(' and later by a ')'. Words in a chain are joined
# by gaps of the form  ws* [*+] ws+  ("T" gap), except the gap before the last word, which
# may also end in one extra '*' and whitespace ("F" gap). The chain that contains a given
# '(' is unique, so a '(' yields a match iff the word two before it can start one (i.e. the
# previous word and the gap qualify) at or after the end of the previous match.
_CALLEE = regex.compile(r"\b[A-Za-z_]\w*+\(")
_NON_WORD_BACK = regex.compile(r"\W*+", regex.REVERSE)
_WORD_BACK = regex.compile(r"\w++", regex.REVERSE)


def _gap_joins_final_word(gap: str) -> bool:
    """fullmatch of ws* (\\*+)? ws+ \\*? ws* (a T gap or an F gap)."""
    n = len(gap)
    a = ws_end(gap, 0)
    s = a
    while s < n and gap[s] == "*":
        s += 1
    if s == a:  # no stars: whitespace only, at least one
        return a == n and a > 0
    b = ws_end(gap, s)
    if b == n and b > s:  # ws* stars ws+
        return True
    if b > s and b < n and gap[b] == "*" and ws_end(gap, b + 1) == n:  # ws* stars ws+ * ws*
        return True
    return a > 0 and s == a + 1 and b == n  # ws+ * ws*


def count_functions(text: str, rparen) -> int:
    count, pos = 0, 0
    for m in _CALLEE.finditer(text):
        start = m.start()
        if start < pos:
            continue
        gap_start = _NON_WORD_BACK.match(text, 0, start).start()
        if gap_start == 0:
            continue
        prev = _WORD_BACK.match(text, 0, gap_start)
        if prev is None or prev.start() < pos or text[prev.start()] not in _ASCII_IDENT_START:
            continue
        if not _gap_joins_final_word(text[gap_start:start]):
            continue
        close = rparen.next_at_or_after(m.end())
        if close < 0:
            break  # no ')' left: no later '(' can match either
        count += 1
        pos = ws_end(text, close + 1)
    return count


# --- main --------------------------------------------------------------------------------
# Released: \bmain\s*\([^)]*\)\s*\{
_MAIN = regex.compile(r"\bmain\s*+\(")


def count_main(text: str, rparen) -> int:
    count, pos = 0, 0
    while True:
        m = _MAIN.search(text, pos)
        if m is None:
            return count
        close = rparen.next_at_or_after(m.end())
        if close < 0:
            return count
        brace = ws_end(text, close + 1)
        if text.startswith("{", brace):
            count += 1
            pos = brace + 1
        else:
            pos = m.start() + 1


# --- includes, classes, simple variables, simple returns -------------------------------
# Released: ^\s*#\s*include\s+["<][^">]+[">]   (MULTILINE)
_INCLUDE_HEAD = regex.compile(r'(?m)^[^\S\n]*+#\s*+include\s++["<]')


def count_includes(text: str, closer) -> int:
    count, pos = 0, 0
    while True:
        m = _INCLUDE_HEAD.search(text, pos)
        if m is None:
            return count
        close = closer.next_at_or_after(m.end())
        if close < 0:
            return count
        if close > m.end():
            count += 1
            pos = close + 1
        else:
            pos = m.start() + 1


# Released: ^\s*class\s+\w+\s*(:[^{]*)?\{   (MULTILINE)
_CLASS_HEAD = regex.compile(r"(?m)^[^\S\n]*+class\s++\w++\s*+[:{]")


def count_classes(text: str, lbrace) -> int:
    count, pos = 0, 0
    while True:
        m = _CLASS_HEAD.search(text, pos)
        if m is None:
            return count
        if text[m.end() - 1] == "{":
            count += 1
            pos = m.end()
            continue
        brace = lbrace.next_at_or_after(m.end())
        if brace < 0:
            return count
        count += 1
        pos = brace + 1


# Released: ^\s*(?:unsigned\s+)?(?:int|float|double|char|bool|std::string|auto)\s+\w+\s*;
_SIMPLE_VARIABLE = regex.compile(
    r"(?m)^[^\S\n]*+(?:unsigned\s++)?(?:int|float|double|char|bool|std::string|auto)\s++\w++\s*+;"
)

# Released: ^\s*return\s*(?:(\w+|\d+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|true|false|nullptr)\s*)?;\s*$
# (\d+, true, false, nullptr can only match where \w+ already did.)
_SIMPLE_RETURN = regex.compile(
    r"(?m)^[^\S\n]*+return\s*+"
    r"""(?:(?:\w++|"(?:[^"\\]++|\\.)*+"|'(?:[^'\\]++|\\.)*+')\s*+)?;\s*$"""
)

# Released find_variables (only "is there any match" is used): a word, whitespace, optional
# '*'s, a name (with [ ]), optional ', name' list, then ';' or '=' ... ';'.
_VARIABLE_HEAD = regex.compile(
    r"\b\w++\s++\**+\s*+[\w\[\]]++\s*+(?:,\s*+\**+\s*+[\w\[\]]++\s*+)*+[;=]"
)


def has_variable(text: str) -> bool:
    m = _VARIABLE_HEAD.search(text)
    if m is None:
        return False
    if text[m.end() - 1] == ";":
        return True
    return text.find(";", m.end()) >= 0


# Released: any of #\s*include|define|if|ifdef|ifndef|else|elif|endif|error|pragma|warning|
# undef|line, 'struct' or 'using' anywhere in the line.
_DIRECTIVE = regex.compile(
    r"#\s*+(?:include|define|if|else|elif|endif|error|pragma|warning|undef|line)|struct|using"
)
_HEADER_EXTENSIONS = ("h", "hpp", "hxx", "hh", "h++")


# --- per-document shared values ----------------------------------------------------------------
def _rparen(doc):
    return char_index(doc, "c_family.rparen", doc.code_raw_content, ")")


def _functions(doc) -> int:
    return doc.memo("c_family.functions", lambda d: count_functions(d.code_raw_content, _rparen(d)))


def _no_logic_count(doc) -> int:
    def compute(d):
        text = d.code_raw_content
        return (
            _functions(d)
            + count_includes(text, char_index(d, "c_family.quote_gt", text, '">'))
            + len(_SIMPLE_VARIABLE.findall(text))
            + len(_SIMPLE_RETURN.findall(text))
            + count_classes(text, char_index(d, "c_family.lbrace", text, "{"))
        )

    return doc.memo("c_family.no_logic", compute)


# --- signals (shared by C and C++; they differ only in print words and main's type) -----------
def frac_lines_func_ratio(doc):
    count = _functions(doc)
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    return ratio(count, total)


def cate_bitsstdc(doc):
    # lower() never shortens a character, so the first 200 lowered characters come from
    # the first 200 stripped ones
    head = doc.code_raw_content.strip()[:200].lower()[:200]
    return float("bits/stdc++.h" in head)


def nums_lines_main_c(doc):
    return count_main(doc.code_raw_content, _rparen(doc))


def nums_lines_main_cpp(doc):
    return float(count_main(doc.code_raw_content, _rparen(doc)))


def frac_lines_goto(doc):
    lines = doc.code_normalized_lines
    if not lines:
        return None
    return ratio(sum(1 for line in lines if "goto" in line), len(lines))


def cate_var_zero(doc):
    return float(not has_variable(doc.code_raw_content))


def score_lines_no_logic(doc):
    count = _no_logic_count(doc)
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    return ratio(count, total)


def frac_lines_print_c(doc):
    return frac_code_lines_containing(doc, "printf")


def frac_lines_print_cpp(doc):
    return frac_code_lines_containing(doc, "cout", "printf")


def frac_lines_preprocessor_directives(doc):
    if doc.extension in _HEADER_EXTENSIONS:
        return None
    lines = doc.code_normalized_lines
    if not lines:
        return None
    return ratio(sum(1 for line in lines if _DIRECTIVE.search(line)), len(lines))


# Released registration order (c.py registers the shared preprocessor signal under both
# names, C's first, so it comes LAST for C and FIRST for C++).
C_SIGNALS = {
    "qsc_codec_frac_lines_func_ratio": frac_lines_func_ratio,
    "qsc_codec_cate_bitsstdc": cate_bitsstdc,
    "qsc_codec_nums_lines_main": nums_lines_main_c,
    "qsc_codec_frac_lines_goto": frac_lines_goto,
    "qsc_codec_cate_var_zero": cate_var_zero,
    "qsc_codec_score_lines_no_logic": score_lines_no_logic,
    "qsc_codec_frac_lines_print": frac_lines_print_c,
    "qsc_codec_frac_lines_preprocessor_directives": frac_lines_preprocessor_directives,
}

CPP_SIGNALS = {
    "qsc_codecpp_frac_lines_preprocessor_directives": frac_lines_preprocessor_directives,
    "qsc_codecpp_frac_lines_func_ratio": frac_lines_func_ratio,
    "qsc_codecpp_cate_bitsstdc": cate_bitsstdc,
    "qsc_codecpp_nums_lines_main": nums_lines_main_cpp,
    "qsc_codecpp_frac_lines_goto": frac_lines_goto,
    "qsc_codecpp_cate_var_zero": cate_var_zero,
    "qsc_codecpp_score_lines_no_logic": score_lines_no_logic,
    "qsc_codecpp_frac_lines_print": frac_lines_print_cpp,
}
