"""Go signals (released quality_signals/code_specific/go.py, utils/code/go_utils.py).

Released quirks kept on purpose:
  * qsc_codego_cate_testfile tests `filename.lower().endswith('_test.go')`; the released
    pipeline passes the file name WITHOUT its extension, so it is 0.0 unless a caller passes
    the full name (CodeDocument.filename decides).
  * qsc_codego_cate_var_zero compares a LIST with 0 (`find_variables(...) == 0`), which is
    always False: the signal is 0.0 for every Go document.
  * find_imports resets its "inside import ( ... )" flag on every line, so it counts only
    one-line `import "x"` statements and the `import (` lines.
"""
from __future__ import annotations

import regex

from opencoder_jax.refinecode.signals.specific.common import (
    count_heads_with_tail,
    frac_code_lines_containing,
    PRECISION,
    char_index,
    dollar_after_ws,
    is_ws,
    ratio,
    ws_end,
)

# Released find_functions (MULTILINE):
#   (^func\s+(?:\(\s*\w+\s+\*?\w+\s*\))?\s*(?:\w+)\s*\((?:[^)]*)\)\s*(?:\([^)]+\)|[\w\[\]]+)?\s*)
_FUNCTION_HEAD = regex.compile(r"(?m)^func\s++(?:\(\s*+\w++\s++\*?\w++\s*+\))?\s*+\w++\s*+\(")
_RESULT_WORD = regex.compile(r"[\w\[\]]++")


def count_functions(text: str, rparen) -> int:
    count, pos = 0, 0
    while True:
        m = _FUNCTION_HEAD.search(text, pos)
        if m is None:
            return count
        close = rparen.next_at_or_after(m.end())
        if close < 0:
            return count
        at = ws_end(text, close + 1)
        after = at
        if text.startswith("(", at):  # (results): at least one character, then ')'
            result_close = rparen.next_at_or_after(at + 1)
            if result_close > at + 1:
                after = result_close + 1
        else:
            word = _RESULT_WORD.match(text, at)
            if word is not None:
                after = word.end()
        count += 1
        pos = ws_end(text, after)


def find_imports(text: str) -> int:
    count = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if _IMPORT_LINE.match(stripped) or stripped == "import (":
            count += 1
    return count


_IMPORT_LINE = regex.compile(r'^import\s+"[^"]+"$')

# Released find_classes: ^\s*type\s+\w+\s+(struct|interface)\s*\{[^}]*\}   (MULTILINE|DOTALL)
_CLASS_HEAD = regex.compile(r"(?m)^[^\S\n]*+type\s++\w++\s++(?:struct|interface)\s*+\{")


def count_classes(text: str, rbrace) -> int:
    count, pos = 0, 0
    while True:
        m = _CLASS_HEAD.search(text, pos)
        if m is None:
            return count
        close = rbrace.next_at_or_after(m.end())
        if close < 0:
            return count
        count += 1
        pos = close + 1


def statement_tail_end(text: str, x: int) -> int | None:
    """Released `\\s*;?\\s*$` (MULTILINE) from x: where the backtracking engine ends it."""
    n = len(text)
    w = ws_end(text, x)
    if w < n and text[w] == ";":
        end = dollar_after_ws(text, w + 1)
        if end is not None:
            return end
    if w == n:
        return n
    nl = text.rfind("\n", x, w)
    return nl if nl >= 0 else None


# Released find_simple_returns: ^\s*return(?:\s+[^;\n]+)?\s*;?\s*$   (MULTILINE)
_RETURN_HEAD = regex.compile(r"(?m)^[^\S\n]*+return")
_SEMI_OR_NL = regex.compile(r"[;\n]")


def return_end(text: str, r: int) -> int | None:
    n = len(text)
    if r < n and is_ws(text[r]):
        u = ws_end(text, r)
        if u < n and text[u] != ";":
            stop = _SEMI_OR_NL.search(text, u)
            end = statement_tail_end(text, stop.start() if stop else n)
            if end is not None:
                return end
    # every other way the engine can match ends where the tail right after 'return' ends
    return statement_tail_end(text, r)


# Released find_simple_variables: ^\s*var\s+(\w+)\s+(\w+)\s*;?\s*$   (MULTILINE)
_SIMPLE_VARIABLE_HEAD = regex.compile(r"(?m)^[^\S\n]*+var\s++\w++\s++\w++")


def count_simple_returns(text: str) -> int:
    return count_heads_with_tail(text, _RETURN_HEAD, return_end)


def count_simple_variables(text: str) -> int:
    return count_heads_with_tail(text, _SIMPLE_VARIABLE_HEAD, statement_tail_end)


def _functions(doc) -> int:
    text = doc.code_raw_content
    return doc.memo("go.functions", lambda d: count_functions(text, char_index(d, "go.rparen", text, ")")))


def cate_testfile(doc):
    return round(float(doc.filename.lower().endswith("_test.go")), PRECISION)


def frac_lines_func_ratio(doc):
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    return ratio(_functions(doc), total)


def cate_var_zero(doc):
    return 0.0  # released compares a list with 0 (always False); see module docstring


def score_lines_no_logic(doc):
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    text = doc.code_raw_content
    count = (
        _functions(doc)
        + find_imports(text)
        + count_simple_variables(text)
        + count_simple_returns(text)
        + count_classes(text, char_index(doc, "go.rbrace", text, "}"))
    )
    return ratio(count, total)


def frac_lines_print(doc):
    return frac_code_lines_containing(doc, "fmt.Print")


GO_SIGNALS = {
    "qsc_codego_cate_testfile": cate_testfile,
    "qsc_codego_frac_lines_func_ratio": frac_lines_func_ratio,
    "qsc_codego_cate_var_zero": cate_var_zero,
    "qsc_codego_score_lines_no_logic": score_lines_no_logic,
    "qsc_codego_frac_lines_print": frac_lines_print,
}
