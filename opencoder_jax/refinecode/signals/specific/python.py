"""Python signals (released quality_signals/code_specific/python.py, utils/code/python_utils.py).

The tree is CodeDocument.ast (ast.parse of the raw text; None when it does not parse). The
released code walks it with recursive ast.NodeVisitor subclasses; we walk it once,
iteratively, and record what each released visitor would find and how many interpreter
frames its recursion would need (visit + generic_visit per level, one more for a
visit_<Type> that recurses). Past the released budget (recursion limit 10000) the released
visitor raises RecursionError; we raise SignalInputTooComplex there instead, except where the
released code catches it (cate_var_zero returns 1.0).

Released quirks kept: `pass` / `import` / `print` are substring tests on whole code lines
('password' counts as a pass line); frac_lines_simplefunc is not rounded; only FunctionDef
(not AsyncFunctionDef) is a function; the variable visitor records Assign/For targets that
are plain names and the positional parameters of FunctionDef; the class-member visitor does
not look inside a class that is itself inside a visited class.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import regex

from opencoder_jax.refinecode.signals.specific.common import (
    RELEASED_FRAME_BUDGET,
    SignalInputTooComplex,
    ensure_recursion_limit,
    ratio,
)

# The released module raises the limit at import; ast.parse's C-level conversion limit
# scales with it, so deep expressions parse (or not) exactly as released.
ensure_recursion_limit()

# Released find_simple_return: ^\s*return(\s+.+)?\s*$   (MULTILINE) on code_raw_content
_SIMPLE_RETURN = regex.compile(r"(?m)^[^\S\n]*+return(\s+.+)?\s*$")


@dataclass(frozen=True)
class PythonTreeFacts:
    functions: int  # FunctionDef nodes (find_functions)
    classes: int  # ClassDef nodes (find_class)
    simple_functions: int  # FunctionDef whose body is a single Return
    has_variables: bool  # find_variables non-empty
    class_members: int  # find_simple_variable
    frames_functions: int  # deepest recursion of each released visitor
    frames_variables: int
    frames_classes: int
    frames_members: int


def tree_facts(tree: ast.AST) -> PythonTreeFacts:
    functions = classes = simple = members = 0
    has_vars = False
    max_f = max_v = max_c = max_m = 0
    # (node, frames of: functions/simplefunc visitor, variable visitor (None = not visited),
    #  class counter, class-member visitor (None = not visited))
    stack = [(tree, 0, 0, 0, 0)]
    while stack:
        node, f, v, c, m = stack.pop()
        is_func = type(node) is ast.FunctionDef
        is_class = type(node) is ast.ClassDef
        f += 3 if is_func else 2
        c += 3 if is_class else 2
        descend_v = descend_m = True
        if v is not None:
            if type(node) is ast.Assign:
                v += 2
                descend_v = False
                if any(isinstance(t, ast.Name) for t in node.targets):
                    has_vars = True
            elif type(node) is ast.For or is_func:
                v += 3
                if (type(node) is ast.For and isinstance(node.target, ast.Name)) or (
                    is_func and node.args.args
                ):
                    has_vars = True
            else:
                v += 2
            max_v = max(max_v, v)
        if m is not None:
            m += 2
            max_m = max(max_m, m)
            if is_class:
                descend_m = False
                for item in node.body:
                    if type(item) is ast.Assign:
                        members += sum(1 for t in item.targets if isinstance(t, ast.Name))
                    elif type(item) is ast.AnnAssign and isinstance(item.target, ast.Name):
                        members += 1
        max_f, max_c = max(max_f, f), max(max_c, c)
        if is_func:
            functions += 1
            if len(node.body) == 1 and isinstance(node.body[0], ast.Return):
                simple += 1
        elif is_class:
            classes += 1
        child_v = v if descend_v else None
        child_m = m if descend_m else None
        for child in ast.iter_child_nodes(node):
            stack.append((child, f, child_v, c, child_m))
    # +1: the generator frame of ast.iter_fields inside the deepest generic_visit
    return PythonTreeFacts(functions, classes, simple, has_vars, members,
                           max_f + 1, max_v + 1, max_c + 1, max_m + 1)


def _facts(doc) -> PythonTreeFacts:
    return doc.memo("python.tree_facts", lambda d: tree_facts(d.ast))


def _check_frames(frames: int, what: str) -> None:
    if frames > RELEASED_FRAME_BUDGET:
        raise SignalInputTooComplex(
            f"python AST too deep for the released recursive {what} visitor "
            f"({frames} frames > {RELEASED_FRAME_BUDGET})"
        )


def cate_ast(doc):
    return float(doc.ast is not None)


def frac_lines_func_ratio(doc):
    if doc.ast is None or doc.valid_lines_len == 0:
        return None
    facts = _facts(doc)
    _check_frames(facts.frames_functions, "function")
    return ratio(facts.functions, doc.valid_lines_len)


def cate_var_zero(doc):
    if doc.ast is None:
        return None
    facts = _facts(doc)
    if facts.frames_variables > RELEASED_FRAME_BUDGET:
        return 1.0  # released: bare `except: return float(True)` around the visitor
    return not facts.has_variables  # released returns a bool here


def frac_lines_pass(doc):
    lines = doc.code_normalized_lines
    if not lines:
        return 0.0
    return ratio(sum(1 for line in lines if "pass" in line.lower()), len(lines))


def frac_lines_import(doc):
    lines = doc.code_normalized_lines
    if not lines:
        return 0.0
    return ratio(sum(1 for line in lines if "import" in line.lower()), len(lines))


def frac_lines_simplefunc(doc):
    if doc.ast is None or doc.valid_lines_len == 0:
        return None
    facts = _facts(doc)
    _check_frames(facts.frames_functions, "simple-function")
    return facts.simple_functions / doc.valid_lines_len  # released: not rounded


def score_lines_no_logic(doc):
    if doc.ast is None or doc.valid_lines_len == 0:
        return None
    facts = _facts(doc)
    _check_frames(facts.frames_functions, "function")
    imports = sum(1 for line in doc.code_normalized_lines if "import" in line.strip().lower())
    _check_frames(facts.frames_classes, "class")
    returns = len(_SIMPLE_RETURN.findall(doc.code_raw_content))
    _check_frames(facts.frames_members, "class-member")
    count = facts.functions + imports + facts.classes + returns + facts.class_members
    return ratio(count, doc.valid_lines_len)


def frac_lines_print(doc):
    lines = doc.code_normalized_lines
    if not lines:
        return None
    return ratio(sum(1 for line in lines if "print" in line), len(lines))


PYTHON_SIGNALS = {
    "qsc_codepython_cate_ast": cate_ast,
    "qsc_codepython_frac_lines_func_ratio": frac_lines_func_ratio,
    "qsc_codepython_cate_var_zero": cate_var_zero,
    "qsc_codepython_frac_lines_pass": frac_lines_pass,
    "qsc_codepython_frac_lines_import": frac_lines_import,
    "qsc_codepython_frac_lines_simplefunc": frac_lines_simplefunc,
    "qsc_codepython_score_lines_no_logic": score_lines_no_logic,
    "qsc_codepython_frac_lines_print": frac_lines_print,
}
