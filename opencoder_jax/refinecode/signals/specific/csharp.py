"""C# signals (released quality_signals/code_specific/c_sharp.py, utils/code/csharp_utils.py).

Counts are over `code_raw_content`, fractions over `code_normalized_lines`, as released.
"""
from __future__ import annotations

import regex

from opencoder_jax.refinecode.signals.specific.common import (
    char_index,
    count_heads_with_tail,
    frac_code_lines_containing,
    is_ws,
    ratio,
    ws_end,
)

# Released find_functions (MULTILINE):
#   ^\s*((?:(?:public|protected|private|internal)\s+)?(?:(?:static|virtual|override|abstract|async)\s+)?
#   (?:(?!\s*(?:public|private|protected|if|else)\s*)(?:<\w+>)?\s*\w+\s+)(?:\w+\s*)(?:\((?:[^\)]*)\)))
# Everything up to '(' is matched here (same backtracking over the optional modifiers); the
# parameter list only needs a later ')', looked up in an index.
_FUNCTION_HEAD = regex.compile(
    r"(?m)^[^\S\n]*+(?=\S)(?:(?:public|protected|private|internal)\s++)?"
    r"(?:(?:static|virtual|override|abstract|async)\s++)?"
    r"(?!\s*(?:public|private|protected|if|else))(?:<\w++>)?\s*+\w++\s++\w++\s*+\("
)


def count_functions(text: str, rparen) -> int:
    count, pos = 0, 0
    while True:
        m = _FUNCTION_HEAD.search(text, pos)
        if m is None:
            return count
        close = rparen.next_at_or_after(m.end())
        if close < 0:
            return count
        count += 1
        pos = close + 1


# Released: ^\s*using\s+[a-zA-Z0-9_.]+\s*;
_USING = regex.compile(r"(?m)^[^\S\n]*+using\s++[a-zA-Z0-9_.]++\s*+;")
# Released (already linear): \b(?:public|...|sealed)?\s*class\s+\w+
_CLASS = regex.compile(r"\b(?:public|private|protected|internal|static|abstract|sealed)?\s*class\s++\w++")
# Released: \b(?:int|float|...|decimal)\s+\w+\s*;
_SIMPLE_VARIABLE = regex.compile(
    r"\b(?:int|float|double|char|string|bool|byte|sbyte|short|ushort|uint|long|ulong|decimal)"
    r"\s++\w++\s*+;"
)
# Released: ^\s*return\b(?:\s+[^;\n]+)?\s*;
_RETURN_HEAD = regex.compile(r"(?m)^[^\S\n]*+return\b")
_SEMI_OR_NL = regex.compile(r"[;\n]")


def return_end(text: str, r: int) -> int | None:
    """End of the released return pattern whose 'return' ends at r, or None (no match)."""
    n = len(text)
    if r < n and is_ws(text[r]):
        u = ws_end(text, r)
        if u == n:
            return None
        if text[u] == ";":
            return u + 1
        stop = _SEMI_OR_NL.search(text, u)
        w = ws_end(text, stop.start()) if stop else n
        return w + 1 if w < n and text[w] == ";" else None
    if r < n and text[r] == ";":
        return r + 1
    return None


def count_simple_returns(text: str) -> int:
    return count_heads_with_tail(text, _RETURN_HEAD, return_end)


def _functions(doc) -> int:
    return doc.memo(
        "csharp.functions",
        lambda d: count_functions(d.code_raw_content, char_index(d, "csharp.rparen", d.code_raw_content, ")")),
    )


def frac_lines_func_ratio(doc):
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    return ratio(_functions(doc), total)


def cate_var_zero(doc):
    # Released: `count = find_variables(...); float(count == 0)` compares a LIST with 0,
    # which is always False: the signal is 0.0 for every C# document.
    return 0.0


def score_lines_no_logic(doc):
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    text = doc.code_raw_content
    count = (
        _functions(doc)
        + len(_USING.findall(text))
        + len(_SIMPLE_VARIABLE.findall(text))
        + count_simple_returns(text)
        + len(_CLASS.findall(text))
    )
    return ratio(count, total)


def frac_lines_print(doc):
    return frac_code_lines_containing(doc, "Console.WriteLine")


CSHARP_SIGNALS = {
    "qsc_codecsharp_frac_lines_func_ratio": frac_lines_func_ratio,
    "qsc_codecsharp_cate_var_zero": cate_var_zero,
    "qsc_codecsharp_score_lines_no_logic": score_lines_no_logic,
    "qsc_codecsharp_frac_lines_print": frac_lines_print,
}
