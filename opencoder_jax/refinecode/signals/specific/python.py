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
import re
from dataclasses import dataclass

import regex

from opencoder_jax.refinecode.signals.specific.common import (
    frac_code_lines_containing,
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


# -- node shapes, read from the ASDL signature each node class carries in its docstring --------
# ("BinOp(expr left, operator op, expr right)"). A LEAF class has no field that can hold a node
# (contexts, operators, Constant, alias, Pass, ...); the walk does not push leaves, it only
# notes that one hangs below the current node (every leaf is one plain visit deeper).
_BUILTIN_FIELD_TYPES = frozenset({"identifier", "string", "constant", "int"})
_SIGNATURE = re.compile(r"^(\w+)\((.*)\)$")
_FIELD = re.compile(r"^(\w+)([*?]?) (\w+)$")


def _asdl_fields(cls) -> list[tuple[str, str, str]] | None:
    """[(field, type, '' | '*' | '?')] of a concrete node class; None when not readable."""
    doc = (cls.__doc__ or "").strip()
    if not cls._fields:
        return [] if doc == cls.__name__ else None
    match = _SIGNATURE.match(doc)
    if match is None or match.group(1) != cls.__name__:
        return None
    fields = []
    for part in match.group(2).split(", "):
        field = _FIELD.match(part)
        if field is None:
            return None
        fields.append((field.group(3), field.group(1), field.group(2)))
    return fields if tuple(f[0] for f in fields) == cls._fields else None


def _node_classes(cls) -> list[type]:
    """cls's subclasses, recursively, without the deprecated ones ast.parse never makes.

    Only the `ast` module's own classes: libraries such as gast (imported by TensorFlow)
    subclass ast.AST too, and ast.parse never makes theirs.
    """
    found = []
    for sub in cls.__subclasses__():
        if sub.__module__ == "ast" and not (sub.__doc__ or "").startswith("Deprecated AST node class"):
            found.append(sub)
            found.extend(_node_classes(sub))
    return found


def _node_shapes():
    """(leaf classes, {class: (node fields, node-list fields, has a leaf child, leaf-list fields)}).

    Classes missing from both (abstract bases, unreadable signatures) are walked with
    ast.iter_child_nodes.
    """
    fields = {cls: _asdl_fields(cls) for cls in _node_classes(ast.AST)}
    leaves = {cls for cls, fs in fields.items()
              if fs is not None and all(t in _BUILTIN_FIELD_TYPES for _, t, _ in fs)}

    def only_leaves(type_name: str) -> bool:
        base = getattr(ast, type_name, None)
        if not (isinstance(base, type) and issubclass(base, ast.AST)):
            return False
        if fields.get(base) is not None:  # product type (alias, arguments, ...)
            return base in leaves
        concrete = [cls for cls in _node_classes(base) if not _node_classes(cls)]
        return bool(concrete) and all(cls in leaves for cls in concrete)

    shapes = {}
    for cls, fs in fields.items():
        if fs is None or cls in leaves:
            continue
        nodes, lists, leaf_lists, has_leaf = [], [], [], False
        for name, type_name, mark in fs:
            if type_name in _BUILTIN_FIELD_TYPES:
                continue
            if mark == "*":
                (leaf_lists if only_leaves(type_name) else lists).append(name)
            elif mark == "" and only_leaves(type_name):
                has_leaf = True  # e.g. Name.ctx, BinOp.op: always one leaf child
            else:
                nodes.append(name)
        shapes[cls] = (tuple(nodes), tuple(lists), has_leaf, tuple(leaf_lists))
    return frozenset(leaves), shapes


_LEAVES, _SHAPES = _node_shapes()


def tree_facts(tree: ast.AST) -> PythonTreeFacts:
    """All Python facts in one iterative pass (see the module docstring for the frames).

    Node order does not matter (counts, an any() and maxima), so children go on a stack
    straight from their fields; leaf children and Name children (whose only child is its
    context leaf) are not pushed, their depth is accounted at the parent.
    """
    functions = classes = simple = members = 0
    has_vars = False
    max_f = max_v = max_c = max_m = 0
    leaves, shapes = _LEAVES, _SHAPES
    FunctionDef, ClassDef, Assign, For = ast.FunctionDef, ast.ClassDef, ast.Assign, ast.For
    AnnAssign, Name, Return = ast.AnnAssign, ast.Name, ast.Return
    # (node, frames so far of: functions/simplefunc visitor, variable visitor (None = not
    #  visited), class counter, class-member visitor (None = not visited))
    stack = [(tree, 0, 0, 0, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node, f, v, c, m = pop()
        kind = type(node)
        if kind is FunctionDef:
            functions += 1
            if len(node.body) == 1 and isinstance(node.body[0], Return):
                simple += 1
            f += 3
            c += 2
            if v is not None:
                v += 3
                if node.args.args:
                    has_vars = True
        elif kind is ClassDef:
            classes += 1
            f += 2
            c += 3
            if v is not None:
                v += 2
        else:
            f += 2
            c += 2
            if v is not None:
                if kind is For:
                    v += 3
                    if isinstance(node.target, Name):
                        has_vars = True
                else:
                    v += 2
        if f > max_f:
            max_f = f
        if c > max_c:
            max_c = c
        child_v = child_m = None
        if v is not None:
            if v > max_v:
                max_v = v
            if kind is Assign:  # the variable visitor does not go below an Assign
                if any(isinstance(t, Name) for t in node.targets):
                    has_vars = True
            else:
                child_v = v
        if m is not None:
            m += 2
            if m > max_m:
                max_m = m
            if kind is ClassDef:  # the member visitor does not go below a class
                for item in node.body:
                    if type(item) is Assign:
                        members += sum(1 for t in item.targets if isinstance(t, Name))
                    elif type(item) is AnnAssign and isinstance(item.target, Name):
                        members += 1
            else:
                child_m = m
        shape = shapes.get(kind)
        name_child = False
        if shape is None:
            if kind in leaves:
                continue
            has_leaf = False
            for child in ast.iter_child_nodes(node):
                if type(child) in leaves:
                    has_leaf = True
                else:
                    push((child, f, child_v, c, child_m))
        else:
            node_fields, list_fields, has_leaf, leaf_lists = shape
            for field in node_fields:
                child = getattr(node, field)
                if child is not None:
                    child_kind = type(child)
                    if child_kind is Name:
                        name_child = True
                    elif child_kind in leaves:
                        has_leaf = True
                    else:
                        push((child, f, child_v, c, child_m))
            for field in list_fields:
                for child in getattr(node, field):
                    if child is not None:  # Dict.keys, arguments.kw_defaults hold None
                        child_kind = type(child)
                        if child_kind is Name:
                            name_child = True
                        elif child_kind in leaves:
                            has_leaf = True
                        else:
                            push((child, f, child_v, c, child_m))
            if not has_leaf:
                for field in leaf_lists:
                    if getattr(node, field):
                        has_leaf = True
                        break
        # a leaf child is one plain visit (+2 frames) deeper; a Name child's context two
        depth = 4 if name_child else 2 if has_leaf else 0
        if depth:
            if f + depth > max_f:
                max_f = f + depth
            if c + depth > max_c:
                max_c = c + depth
            if child_v is not None and child_v + depth > max_v:
                max_v = child_v + depth
            if child_m is not None and child_m + depth > max_m:
                max_m = child_m + depth
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
    return frac_code_lines_containing(doc, "print")


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
