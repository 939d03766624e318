"""The fast exact paths of the released get_text_python (frac_chars_comments for Python).

References, independent of the code under test: `tokenize.generate_tokens` (released
get_comments: COMMENT tokens, '#' removed, '' on any tokenize error) and `ast.walk`
(released parse_docstrings order). The regex comment scan may only be used when the source
compiles; it must then give tokenize's comments exactly.
"""
import ast
import io
import os
import sysconfig
import tokenize

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencoder_jax.refinecode.signals import code_signals as cs


def tokenize_comments(source: str) -> str:
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except Exception:  # noqa: BLE001
        return ""
    return "".join(t.string for t in toks if t.type == tokenize.COMMENT).replace("#", "")


def walk_docstrings(tree) -> str:
    kinds = {ast.ClassDef: "Class", ast.FunctionDef: "Function/Method", ast.Module: "Module"}
    found = [(kinds[type(n)], getattr(n, "name", None), ast.get_docstring(n)) for n in ast.walk(tree) if type(n) in kinds]
    found.sort(key=lambda x: (x[0], x[1]))
    return "\n".join(d for _, _, d in found if d)


def compiles(source: str) -> bool:
    try:
        ast.parse(source)
        return True
    except BaseException:  # noqa: BLE001
        return False


SNIPPETS = [
    "x = 1  # one\n# two\n",
    "s = '# not'  # yes\n",
    's = "a \\" # not"  # yes\n',
    "s = r'\\' # not'  # yes\n",
    's = """\n# not\n"""  # yes\n',
    "s = '''a\\''' # not'''  # yes\n",
    "s = 'a\\\n# not'  # yes\n",
    'f = f"{x!r:#>10}"  # yes\n',
    "f = f'{d[\"k\"]}'  # yes #twice\n",
    "x = (1,  # a\n     2)  # b\n",
    "s = ('a'  # between\n     'b')\n",
    "if x:\n    pass\n  # dedented comment\n",
    "\tif x:\n\t\tpass # tab\n" if False else "if x:\n\tpass # tab\n",
    "x = 1 # no newline at end",
    "x = 1\x0c# form feed\n",
    "x = 1  # carriage\r\n# return\r\n",  # '\r' -> tokenize path
    "def f(:\n  # broken\n",  # does not compile -> tokenize path
    "s = '''unterminated\n# c\n",  # tokenize fails -> ''
    "x = 'é'  # ünïcode\n",
    "# only\n",
    "no comments at all\n",
]


@pytest.mark.parametrize("source", SNIPPETS)
def test_comments_equal_tokenize(source):
    assert cs.python_comments(source, compiles(source)) == tokenize_comments(source)


def test_comment_shortcut_needs_compiling_source():
    source = "s = '''unterminated\n# c\n"
    assert not compiles(source)
    assert cs.python_comments(source, False) == ""  # tokenize raises: released gives ''


DOC_SOURCES = [
    '"""M."""\nclass B:\n    """B."""\n    def f(self):\n        """Bf."""\nclass A:\n    def f(self):\n        """Af."""\n',
    "def f():\n    try:\n        pass\n    except E:\n        def g():\n            'g1'\n    else:\n        def g():\n            'g2'\n"
    "    finally:\n        def g():\n            'g3'\n    def g():\n        'g0'\n",
    "match x:\n    case 1:\n        def h():\n            'h1'\n    case _:\n        class C:\n            'c'\n"
    "for a in b:\n    def h():\n        'h2'\nelse:\n    def h():\n        'h3'\n",
    "with x:\n    if y:\n        def k(): 'k1'\n    else:\n        def k(): 'k2'\nwhile 1:\n    async def k(): 'async: not counted'\n",
    "try:\n    def t(): 't1'\nexcept* E:\n    def t(): 't2'\n",
]


@pytest.mark.parametrize("source", DOC_SOURCES)
def test_docstrings_equal_ast_walk_order(source):
    tree = ast.parse(source)
    assert cs.python_docstrings(tree) == walk_docstrings(tree)


PIECES = ["x", " ", "\n", "#", "'", '"', "'''", '"""', "\\", "r", "f", "b", "(", ")", "{", "}", ":",
          "    ", "\t", "=", "1", "if x:\n", "def f():\n", "  pass\n", "# c\n", "\\\n", "é", "\x0c"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_fuzz_comments_equal_tokenize(pieces):
    source = "".join(pieces)
    ok = compiles(source)
    assert cs.python_comments(source, ok) == tokenize_comments(source)
    if ok:
        tree = ast.parse(source)
        assert cs.python_docstrings(tree) == walk_docstrings(tree)


@pytest.mark.slow
def test_real_python_files():
    root = sysconfig.get_paths()["stdlib"]
    checked = 0
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__"))
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            try:
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    source = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            try:
                tree = ast.parse(source)
            except BaseException:  # noqa: BLE001
                tree = None
            assert cs.python_comments(source, tree is not None) == tokenize_comments(source), name
            if tree is not None:
                assert cs.python_docstrings(tree) == walk_docstrings(tree), name
            checked += 1
    assert checked > 500
