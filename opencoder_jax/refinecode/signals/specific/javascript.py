"""JavaScript signals (released quality_signals/code_specific/javascript.py, utils/code/js_utils.py).

Parsing is the released one: esprima 4.0.1, module mode first when the text contains
'import' or 'export' (falling back to script mode), script mode otherwise; an esprima.Error
means "does not parse" (None); any other exception (e.g. RecursionError on deep nesting)
propagates, as released.

The released code walks the tree with six recursive walks (two frames per level); we make
one iterative pass collecting all six lists (in the same pre-order) and the frame depth the
recursion would need, raising SignalInputTooComplex past the released budget.
"""
from __future__ import annotations

from dataclasses import dataclass

import esprima
import esprima.nodes as js_nodes
import regex

from opencoder_jax.refinecode.signals.specific.common import (
    frac_code_lines_containing,
    RELEASED_FRAME_BUDGET,
    SignalInputTooComplex,
    ensure_recursion_limit,
    ratio,
)

ensure_recursion_limit()  # released: sys.setrecursionlimit(10000) at import

_SIMPLE_TYPES = ("Literal", "Identifier", "UnaryExpression")
_FUNCTION_TYPES = ("FunctionExpression", "ArrowFunctionExpression")


def parse_js(text: str):
    ensure_recursion_limit()
    try:
        if "import" in text or "export" in text:
            try:
                return esprima.parseModule(text)
            except esprima.Error:
                return esprima.parseScript(text)
        return esprima.parseScript(text)
    except esprima.Error:
        return None
    except RecursionError as e:  # released: propagates (limit 10000); same, with a clear type
        raise SignalInputTooComplex("javascript nesting too deep for esprima (released: RecursionError)") from e


@dataclass(frozen=True)
class JsTreeFacts:
    variables: list
    simple_variables: list
    functions: list
    classes: list
    simple_returns: int
    imports: int
    frames: int  # deepest frame count of the released recursive walk


def _module_exports_name(node):
    """node.left.property.name when node is `module.exports.<name> = ...`, else None."""
    left = node.left
    if (
        left.type == "MemberExpression"
        and left.object.type == "MemberExpression"
        and left.object.object.name == "module"
        and left.object.property.name == "exports"
    ):
        return left.property.name, True
    return None, False


def tree_facts(tree) -> JsTreeFacts:
    variables, simple_variables, functions, classes = [], [], [], []
    simple_returns = imports = 0
    max_frames = 0
    Node = js_nodes.Node
    FunctionExpression = js_nodes.FunctionExpression
    stack = [(tree, 2)]
    while stack:
        node, frames = stack.pop()
        if frames > max_frames:
            max_frames = frames
        kind = node.type
        if kind == "VariableDeclaration":
            for d in node.declarations:
                init = d.init
                is_function = isinstance(init, FunctionExpression)
                if d and d.id.name and not is_function:
                    variables.append(d.id.name)
                if d and not is_function and (init is None or init.type in _SIMPLE_TYPES):
                    simple_variables.append(d.id.name)
                if is_function and d.id and d.id.name:
                    functions.append(d.id.name)
        elif kind == "FunctionDeclaration":
            if node.id and node.id.name:
                functions.append(node.id.name)
        elif kind == "AssignmentExpression":
            name, exported = _module_exports_name(node)
            if exported and name:
                right = node.right.type
                if right not in _FUNCTION_TYPES:
                    variables.append(name)
                    if right in _SIMPLE_TYPES:
                        simple_variables.append(name)
                else:
                    functions.append(name)
        elif kind == "ReturnStatement":
            if node.argument is None or node.argument.type in _SIMPLE_TYPES:
                simple_returns += 1
        elif kind == "ImportDeclaration":
            imports += 1
        if isinstance(node, js_nodes.ClassDeclaration) and node.id and node.id.name:
            classes.append(node.id.name)
        children = []
        for value in vars(node).values():
            if isinstance(value, Node):
                children.append(value)
            elif isinstance(value, list):
                children.extend(item for item in value if isinstance(item, Node))
        for child in reversed(children):  # pre-order, left to right
            stack.append((child, frames + 2))
    return JsTreeFacts(variables, simple_variables, functions, classes, simple_returns, imports, max_frames)


def _facts(doc) -> JsTreeFacts:
    facts = doc.memo("javascript.tree_facts", lambda d: tree_facts(d.ast))
    if facts.frames > RELEASED_FRAME_BUDGET:
        raise SignalInputTooComplex(
            f"javascript AST too deep for the released recursive walk "
            f"({facts.frames} frames > {RELEASED_FRAME_BUDGET})"
        )
    return facts


_LEGAL_VAR = regex.compile(r"^[a-z\$][a-zA-Z0-9]*$")
_LEGAL_FUNC = regex.compile(r"^[a-zA-Z\$][a-zA-Z0-9]*$")
_LEGAL_CLASS = regex.compile(r"^[A-Z][a-zA-Z0-9]*$")


def _legal_fraction(names, pattern):
    if not names:
        return None
    return ratio(sum(1 for name in names if pattern.match(name)), len(names))


def cate_ast(doc):
    return float(bool(doc.ast))


def cate_var_zero(doc):
    if doc.ast is None:
        return None
    return float(len(_facts(doc).variables) == 0)


def frac_lines_func_ratio(doc):
    total = len(doc.code_normalized_lines)
    if total == 0 or doc.ast is None:
        return None
    return ratio(len(_facts(doc).functions), total)


def num_statement_line(doc):
    total = len(doc.code_normalized_lines)
    if total == 0 or doc.ast is None:
        return None
    return ratio(len(doc.ast.body), total)


def score_lines_no_logic(doc):
    total = len(doc.code_normalized_lines)
    if total == 0 or doc.ast is None:
        return None
    f = _facts(doc)
    count = len(f.functions) + f.imports + len(f.simple_variables) + f.simple_returns + len(f.classes)
    return ratio(count, total)


def frac_words_legal_var_name(doc):
    if doc.ast is None:
        return None
    return _legal_fraction(_facts(doc).variables, _LEGAL_VAR)


def frac_words_legal_func_name(doc):
    if doc.ast is None:
        return None
    return _legal_fraction(_facts(doc).functions, _LEGAL_FUNC)


def frac_words_legal_class_name(doc):
    if doc.ast is None:
        return None
    return _legal_fraction(_facts(doc).classes, _LEGAL_CLASS)


def frac_lines_print(doc):
    return frac_code_lines_containing(doc, "console.log")


JAVASCRIPT_SIGNALS = {
    "qsc_codejavascript_cate_ast": cate_ast,
    "qsc_codejavascript_cate_var_zero": cate_var_zero,
    "qsc_codejavascript_frac_lines_func_ratio": frac_lines_func_ratio,
    "qsc_codejavascript_num_statement_line": num_statement_line,
    "qsc_codejavascript_score_lines_no_logic": score_lines_no_logic,
    "qsc_codejavascript_frac_words_legal_var_name": frac_words_legal_var_name,
    "qsc_codejavascript_frac_words_legal_func_name": frac_words_legal_func_name,
    "qsc_codejavascript_frac_words_legal_class_name": frac_words_legal_class_name,
    "qsc_codejavascript_frac_lines_print": frac_lines_print,
}
