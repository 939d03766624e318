"""specific/python.py tree_facts (one iterative pass with node-shape tables and leaf shortcuts)
against a plain reference walk over ast.iter_child_nodes that visits every node."""
import ast
import inspect

import pytest

from opencoder_jax.refinecode.signals.specific import python as py_signals


def reference_facts(tree):
    """Visitor-by-visitor definition: frames = 2 per visited node (visit + generic_visit), 3 for a
    node whose own visit_<Type> recurses, +1 for the iter_fields generator at the deepest."""
    out = dict(functions=0, classes=0, simple_functions=0, has_variables=False, class_members=0)
    deepest = dict(f=0, v=0, c=0, m=0)

    def walk(node, f, v, c, m):
        is_func, is_class = type(node) is ast.FunctionDef, type(node) is ast.ClassDef
        f += 3 if is_func else 2
        c += 3 if is_class else 2
        deepest["f"], deepest["c"] = max(deepest["f"], f), max(deepest["c"], c)
        if is_func:
            out["functions"] += 1
            out["simple_functions"] += len(node.body) == 1 and isinstance(node.body[0], ast.Return)
        if is_class:
            out["classes"] += 1
        if v is not None:
            v += 3 if (is_func or type(node) is ast.For) else 2
            deepest["v"] = max(deepest["v"], v)
            if type(node) is ast.Assign:
                out["has_variables"] |= any(isinstance(t, ast.Name) for t in node.targets)
            if type(node) is ast.For and isinstance(node.target, ast.Name):
                out["has_variables"] = True
            if is_func and node.args.args:
                out["has_variables"] = True
        if m is not None:
            m += 2
            deepest["m"] = max(deepest["m"], m)
            if is_class:
                for item in node.body:
                    if type(item) is ast.Assign:
                        out["class_members"] += sum(isinstance(t, ast.Name) for t in item.targets)
                    elif type(item) is ast.AnnAssign and isinstance(item.target, ast.Name):
                        out["class_members"] += 1
        for child in ast.iter_child_nodes(node):
            walk(child, f, None if type(node) is ast.Assign else v, c, None if is_class else m)

    walk(tree, 0, 0, 0, 0)
    return py_signals.PythonTreeFacts(
        **out, frames_functions=deepest["f"] + 1, frames_variables=deepest["v"] + 1,
        frames_classes=deepest["c"] + 1, frames_members=deepest["m"] + 1)


SNIPPETS = [
    "",
    "x",
    "x = 1\n",
    "a, b = c\n",
    "a.b = c[d] = e\n",
    "def f(a, *args, b=None, **kw):\n    return a\n",
    "async def f(x):\n    await x\n    return x\n",
    "class A(B, metaclass=M):\n    x = 1\n    y: int = 2\n    z.q = 3\n    def m(self):\n        pass\n",
    "class A:\n    class B:\n        x = 1\n    y = 2\n",
    "def f():\n    class C:\n        u = v = 1\n    return C\n",
    "for i in range(3):\n    for a, b in x:\n        print(i)\nelse:\n    pass\n",
    "async def g():\n    async for i in x:\n        async with a as b, c:\n            yield i\n",
    "while x:\n    break\n    continue\n",
    "try:\n    pass\nexcept (A, B) as e:\n    raise C from e\nelse:\n    x = 1\nfinally:\n    del x\n",
    "try:\n    pass\nexcept* E:\n    pass\n",
    "with open(p) as f, g():\n    pass\n",
    "import a.b as c\nfrom . import d\nfrom ..e import (f, g as h)\n",
    "global x\nnonlocal y\n" if False else "def f():\n    global x\n    def g():\n        nonlocal y\n",
    "x = [i for i in y if i if not i]\ny = {k: v for k, v in z}\nz = {*a, *b}\nw = (i async for i in q)\n",
    "d = {**a, 'b': 1, None: 2}\n",
    "def f(a, /, b, *, c=1, d):\n    return lambda x, *y, z=2, **w: x\n",
    "x = f'{a!r:>{width}.{prec}} {b=}' + b'' + ...\n",
    "x = a if b else c\ny = (z := 5)\nz = not -~+a\n",
    "x = a < b <= c is not d in e not in f\n",
    "x = a and b or c and not d\n",
    "x = a[1:2, ::3, ...][b][c:]\ny = a @ b // c ** d % e << f >> g | h ^ i & j\n",
    "x += 1\ny: list[int]\nz: int = 3\n",
    "@dec\n@dec2(x)\ndef f() -> int:\n    'doc'\n    return 1\n",
    "assert x, 'm'\n",
    "def f():\n    yield\n    yield from x\n    return\n",
    "match p:\n    case [1, *rest]:\n        pass\n    case {'k': v, **kw}:\n        pass\n"
    "    case Point(x=0, y=_) | None:\n        pass\n    case str() as s if s:\n        pass\n    case -1 | 1.5j | True:\n        pass\n",
    "x = " + "+".join(["a"] * 300) + "\n",
    "x = " + "-" * 300 + "a\n",
    "if a:\n    pass\n" + "".join(f"elif b{i}:\n    x = {i}\n" for i in range(200)),
    "def f():\n" + "".join("    " * i + "def f():\n" for i in range(1, 40)) + "    " * 40 + "return 1\n",
    "class A:\n" + "".join("    " * i + "class A:\n" for i in range(1, 40)) + "    " * 40 + "x = 1\n",
    "for a in b:\n" + "".join("    " * i + f"for a{i} in b:\n" for i in range(1, 40)) + "    " * 40 + "y = 1\n",
    "x = f(" * 100 + "1" + ")" * 100 + "\n",
    "x = a" + ".b" * 300 + "\n",
]


@pytest.mark.parametrize("source", SNIPPETS)
def test_tree_facts_match_reference_walk(source):
    tree = ast.parse(source)
    assert py_signals.tree_facts(tree) == reference_facts(tree)


@pytest.mark.parametrize("module", [ast, inspect, pytest])
def test_tree_facts_match_reference_walk_on_real_modules(module):
    tree = ast.parse(inspect.getsource(module))
    assert py_signals.tree_facts(tree) == reference_facts(tree)


def test_every_node_class_ast_parse_makes_has_a_shape():
    abstract = {ast.mod, ast.stmt, ast.expr, ast.expr_context, ast.boolop, ast.operator,
                ast.unaryop, ast.cmpop, ast.excepthandler, ast.pattern, ast.type_ignore}
    for cls in py_signals._node_classes(ast.AST):
        if cls not in abstract:
            assert cls in py_signals._LEAVES or cls in py_signals._SHAPES, cls.__name__
    # a few shapes by hand from the ASDL grammar
    assert ast.Load in py_signals._LEAVES and ast.Constant in py_signals._LEAVES
    assert ast.alias in py_signals._LEAVES and ast.Name not in py_signals._LEAVES
    assert py_signals._SHAPES[ast.Name] == ((), (), True, ())
    assert py_signals._SHAPES[ast.Compare] == (("left",), ("comparators",), False, ("ops",))
    assert py_signals._SHAPES[ast.Dict] == ((), ("keys", "values"), False, ())
