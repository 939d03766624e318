"""Java signals (released quality_signals/code_specific/java.py, utils/code/java_utils.py).

Released quirks kept on purpose (they decide values):
  * find_functions / find_variables have ONE capture group, so `findall` yields strings and
    the released `line[1]` is the SECOND CHARACTER of the match, not a name: the "legal
    function name" check is "is that character an ASCII letter" and the "legal variable
    name" check "is it an ASCII lowercase letter".
  * find_classes has two groups (tuples): `line[1]` is the class name, and
    `'public' in line` tests tuple membership, true only when the name itself is 'public'.
"""
from __future__ import annotations

import regex

from opencoder_jax.refinecode.signals.specific.common import (
    count_heads_with_tail,
    frac_code_lines_containing,
    char_index,
    dollar_after_ws,
    is_ws,
    ratio,
    word_end,
    ws_end,
)

# Released find_functions (MULTILINE):
#   ^\s*((?:(?:public|protected|private|static)\s+)*(?:(?!\s*(?:public|private|protected|else|if)\s*)
#   (?:<\w+>)?\s*\w+\s+)(?:\w+\s*)(?:\((?:[^\)]*)\))(?:\s*throws\s+[\w\, ]+)?)
# The group can begin with \s* (no modifiers), so (?=\S) keeps it from starting on a blank
# line: the released greedy ^\s* always leaves the group at the first non-blank character.
_FUNCTION_HEAD = regex.compile(
    r"(?m)^[^\S\n]*+(?=\S)((?:(?:public|protected|private|static)\s++)*"
    r"(?!\s*(?:public|private|protected|else|if))(?:<\w++>)?\s*+\w++\s++\w++\s*+\()"
)
_THROWS_NAMES = regex.compile(r"[\w, ]++")


def _throws_end(text: str, end: int) -> int:
    """End of the released optional tail (?:\\s*throws\\s+[\\w\\, ]+)? matched at `end`.

    Written out because the regex module's match() looks for the literal 'throws' in the
    whole rest of the text first (quadratic over many candidates)."""
    w = ws_end(text, end)
    if not text.startswith("throws", w):
        return end
    after = w + len("throws")
    w2 = ws_end(text, after)
    if w2 == after:
        return end  # \s+ needs one whitespace character
    names = _THROWS_NAMES.match(text, w2)
    if names is not None:
        return names.end()
    # backtracking gives the last space of the whitespace run (not its first character)
    # to [\w, ]+
    k = text.rfind(" ", after + 1, w2)
    return k + 1 if k >= 0 else end


def find_functions(text: str, rparen) -> list[str]:
    """The strings released find_functions returns (group 1 of each match)."""
    found, pos = [], 0
    while True:
        m = _FUNCTION_HEAD.search(text, pos)
        if m is None:
            return found
        close = rparen.next_at_or_after(m.end())
        if close < 0:
            return found
        end = _throws_end(text, close + 1)
        found.append(text[m.start(1):end])
        pos = end


# Released find_imports: ^\s*import\s+([\w\.\*]+)\s*;\s*$
_IMPORT = regex.compile(r"(?m)^[^\S\n]*+import\s++[\w.*]++\s*+;\s*$")

_MODIFIERS = r"(?:(?:public|protected|private|final|static)\s++)*+"
_TYPE = r"(?:int|float|boolean|char|double|String|[A-Z][\w<>]*+)"
# Released find_simple_variables: ^\s*((?:(?:public|...|static)\s+)*(?:int|...|[A-Z][\w<>]*)\s+(\w+)\s*;)
_SIMPLE_VARIABLE = regex.compile(r"(?m)^[^\S\n]*+" + _MODIFIERS + _TYPE + r"\s++\w++\s*+;")
# Released find_variables: the same head, then \s*(?:\s*=\s*[^;]+)?;
_VARIABLE_HEAD = regex.compile(r"(?m)^[^\S\n]*+(" + _MODIFIERS + _TYPE + r"\s++\w++\s*+)[;=]")


def find_variables(text: str, semicolon) -> list[str]:
    found, pos = [], 0
    while True:
        m = _VARIABLE_HEAD.search(text, pos)
        if m is None:
            return found
        if text[m.end() - 1] == ";":
            end = m.end()
        else:  # '=' then at least one character before the next ';'
            semi = semicolon.next_at_or_after(m.end())
            if semi < 0:
                return found
            if semi == m.end():
                pos = m.start() + 1
                continue
            end = semi + 1
        found.append(text[m.start(1):end])
        pos = end


# Released find_simple_returns: ^\s*(return(?:;|\s+(?:\w*|"(?:[^"\\]*(?:\\.[^"\\]*)*)")\s*;\s*))$
_RETURN_HEAD = regex.compile(r"(?m)^[^\S\n]*+return")
_QUOTE_OR_BACKSLASH = regex.compile(r'["\\]')


def _string_close(text: str, start: int) -> int | None:
    """Index of the '"' closing the string opened at `start` ('.' does not match '\\n')."""
    pos = start + 1
    while True:
        m = _QUOTE_OR_BACKSLASH.search(text, pos)
        if m is None:
            return None
        i = m.start()
        if text[i] == '"':
            return i
        if i + 1 >= len(text) or text[i + 1] == "\n":
            return None
        pos = i + 2


def return_end(text: str, r: int) -> int | None:
    n = len(text)
    if r < n and text[r] == ";":
        return r + 1 if r + 1 == n or text[r + 1] == "\n" else None
    if r < n and is_ws(text[r]):
        u = ws_end(text, r)
        w = ws_end(text, word_end(text, u))
        if w < n and text[w] == ";":
            return dollar_after_ws(text, w + 1)
        if u < n and text[u] == '"':
            close = _string_close(text, u)
            if close is None:
                return None
            w = ws_end(text, close + 1)
            if w < n and text[w] == ";":
                return dollar_after_ws(text, w + 1)
    return None


def count_simple_returns(text: str) -> int:
    return count_heads_with_tail(text, _RETURN_HEAD, return_end)


# Released find_classes: ^\s*((?:public\s+|protected\s+|private\s+)?(?:final\s+|abstract\s+)?class\s+([\w<>]+))
_CLASS = regex.compile(
    r"(?m)^[^\S\n]*+((?:public\s++|protected\s++|private\s++)?(?:final\s++|abstract\s++)?class\s++([\w<>]++))"
)

_LEGAL_VAR_CHAR = frozenset("abcdefghijklmnopqrstuvwxyz")
_LEGAL_FUNC_CHAR = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LEGAL_CLASS_NAME = regex.compile(r"^[A-Z][a-zA-Z0-9]*$")


def _functions(doc) -> list[str]:
    text = doc.code_raw_content
    return doc.memo("java.functions", lambda d: find_functions(text, char_index(d, "java.rparen", text, ")")))


def _variables(doc) -> list[str]:
    text = doc.code_raw_content
    return doc.memo("java.variables", lambda d: find_variables(text, char_index(d, "java.semicolon", text, ";")))


def _classes(doc) -> list[tuple[str, str]]:
    return doc.memo("java.classes", lambda d: _CLASS.findall(d.code_raw_content))


def cate_var_zero(doc):
    return float(len(_variables(doc)) == 0)


def frac_lines_func_ratio(doc):
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    return ratio(len(_functions(doc)), total)


def score_lines_no_logic(doc):
    total = len(doc.code_normalized_lines)
    if total == 0:
        return None
    text = doc.code_raw_content
    count = (
        len(_functions(doc))
        + len(_IMPORT.findall(text))
        + len(_SIMPLE_VARIABLE.findall(text))
        + count_simple_returns(text)
        + len(_classes(doc))
    )
    return ratio(count, total)


def frac_words_no_modifier(doc):
    functions = _functions(doc)
    classes = _classes(doc)
    count = sum(1 for f in functions if "public" in f or "protected" in f or "private" in f)
    count += sum(1 for c in classes if "public" in c or "protected" in c or "private" in c)
    total = len(functions) + len(classes)
    if total == 0:
        return None
    return ratio(count, total)


def frac_words_legal_var_name(doc):
    variables = _variables(doc)
    if not variables:
        return None
    return ratio(sum(1 for v in variables if v[1] in _LEGAL_VAR_CHAR), len(variables))


def frac_words_legal_func_name(doc):
    functions = _functions(doc)
    if not functions:
        return None
    return ratio(sum(1 for f in functions if f[1] in _LEGAL_FUNC_CHAR), len(functions))


def frac_words_legal_class_name(doc):
    classes = _classes(doc)
    if not classes:
        return None
    return ratio(sum(1 for c in classes if _LEGAL_CLASS_NAME.match(c[1])), len(classes))


def frac_lines_print(doc):
    return frac_code_lines_containing(doc, "System.out.print")


JAVA_SIGNALS = {
    "qsc_codejava_cate_var_zero": cate_var_zero,
    "qsc_codejava_frac_lines_func_ratio": frac_lines_func_ratio,
    "qsc_codejava_score_lines_no_logic": score_lines_no_logic,
    "qsc_codejava_frac_words_no_modifier": frac_words_no_modifier,
    "qsc_codejava_frac_words_legal_var_name": frac_words_legal_var_name,
    "qsc_codejava_frac_words_legal_func_name": frac_words_legal_func_name,
    "qsc_codejava_frac_words_legal_class_name": frac_words_legal_class_name,
    "qsc_codejava_frac_lines_print": frac_lines_print,
}
