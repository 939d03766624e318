"""Hand-written comment scanners against pygments 2.18, token for token.

Reference: pygments' own token stream (lexer.get_tokens), split into the five comment-like
types vs the rest. A scanner must give exactly that split, or None (then pygments runs).
Also checks the fast_lexer driver (joined rules, skip regexes, bygroups/using replay) on the
same inputs, since the filter falls back to it.
"""
import sysconfig

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.lexers import get_lexer_by_name

from opencoder_jax.refinecode.signals import comment_scanners as S
from opencoder_jax.refinecode.signals import fast_lexer
from opencoder_jax.refinecode.signals.comment_split import COMMENT_TOKEN_TYPES, split_code_and_comments
from tests.helpers.pygments_reference import pygments_split, real_files


def check(lang: str, text: str) -> bool:
    """True when the scanner handled the text (and then equals pygments); False when it bailed."""
    reference = pygments_split(lang, text)
    lexer = get_lexer_by_name(lang)
    assert fast_lexer.split_by_token_type(lexer, text, COMMENT_TOKEN_TYPES) == reference
    assert split_code_and_comments(text, lang, text.splitlines(True)) == reference
    ours = S.split_with_scanner(lexer, lang, text)
    if ours is None:
        return False
    assert ours == reference, text
    return True


PY_HANDLED = [
    '#!/usr/bin/env python\n"""Module doc."""\nx = 1  # trailing\n',
    'def f():\n    """Doc with # hash and \'quotes\'."""\n    return "# not a comment"\n',
    "x = '''not a doc'''  # c\n    r'''doc? no: not at line start'''\n",
    '\n\n   u"""doc after blank lines"""\n',
    'rb"""raw bytes doc"""\nbu"""bu is a doc prefix"""\nub"""so is ub"""\n',
    'f"""f is no doc prefix"""\n# c\n',
    's = "unterminated\n# this is a comment again\n',
    's = "esc \\" # still string"\n# c\n',
    's = r"raw \\" # still string"  # c\n',
    'x = """abc\\""""  # pygments doc ends at first triple\n',
    '"""doc\\""" + "tail # s"\n',
    'x = "{a[" + y + "]}" # interpol swallows quotes\n',
    "x = '{{a[' + y + ']}' # c\n",
    'x = "\\N{DASH" # x}" # c\n',
    'x = b"\\N{DASH" # x}" # c\n',
    'x = f"{a!r} {b:>10} {c=} {d[\'k\']}"  # c\n',
    'x = f"{ {1: 2}[1] }"  # c\n',
    'x = f"{x:{width}}"  # c\n',
    'x = f"""{\n  a  # in expr: Error token\n}"""  # c\n',
    "x = f'{\"#\"}'  # c\n",
    'x = rf"{a}\\{b}"  # c\n',
    'x = 1 \\\n  # c\n"""doc after continuation"""\n',
    'class A:\n    """doc"""\n    def __init__(self):  # c\n        pass\n',
    'import os, sys  # c\nfrom x import (a,\n  b)  # c\n',
    'yield from r"x"  # c\n',
    'match x:\n    case [a, *_]:  # c\n        pass\n    case _:\n        pass\n',
    'match = re.match("#", s)  # c\n',
    'def r(): pass\nr"raw # not comment"\n',
    "d = {'a': 1, \"b\": '#'}  # c\n",
    "\ufeff# bom\r\nx = 1\r\n",
    "",
    "\n\n\n",
]

PY_BAIL_OR_MATCH = [
    "@r\"decorator-ish\"\n",
    "1r'x' # c\n",
    "x = é'unicode before quote' # c\n",
    "def\n'''x'''\n",
    "import a,\n    '''x'''\n",
    "class 'x' # c\n",
    "    case '_x' | _: # c\n",
    "from\n'''x'''\n",
    "x.import r'a' # c\n",
    "@import class [\"if} # c\n",
]


@pytest.mark.parametrize("text", PY_HANDLED)
def test_python_tricky_snippets_match_pygments(text):
    assert check("python", text), "expected the scanner to handle this snippet"


@pytest.mark.parametrize("text", PY_BAIL_OR_MATCH)
def test_python_unusual_constructs_bail_out_or_match(text):
    check("python", text)  # asserts equality whenever the scanner answers


def test_unknown_language_has_no_scanner():
    assert S.split_with_scanner(get_lexer_by_name("ruby"), "ruby", "# x\n") is None


PY_PIECES = [
    "x", " ", "\n", "    ", "#", "# c", "'", '"', "'''", '"""', "\\", "\\\n", "r", "b", "f", "u", "rb", "fR",
    "{", "}", "{{", "[", "]", "(", ")", ":", "=", "!r", "%s", "\\N{", "def ", "class ", "import ",
    "from ", " as ", ",", ".", "@", "1", "_", "match ", "case ", "yield ", "if", "é", "\t", ";",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PY_PIECES), max_size=40))
def test_python_fuzz_of_tricky_pieces(pieces):
    check("python", "".join(pieces))


C_LIKE_PIECES = [
    "x", " ", "\n", "//", "/*", "*/", "/", "*", '"', "'", "\\", "\\\n", "#", "#if 0", "#endif", "#include <a.h>",
    "{", "}", "(", ")", ";", "int ", "f", ":", "a'b'", "R\"(", ")\"", "case ", "struct ", "0x1'2", "`", "${",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(C_LIKE_PIECES), max_size=30), st.sampled_from(["c", "cpp", "javascript", "html"]))
def test_fast_lexer_fuzz_c_like(pieces, lang):
    check(lang, "".join(pieces))


@pytest.mark.slow
def test_real_python_files_match_pygments():
    files = real_files([sysconfig.get_paths()["stdlib"]], [".py"], 400, max_bytes=200_000)
    handled = 0
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            handled += check("python", f.read())
    assert handled >= 0.95 * len(files)


@pytest.mark.slow
def test_real_c_headers_through_fast_lexer_match_pygments():
    for path in real_files(["/usr/include"], [".h"], 150, max_bytes=200_000):
        with open(path, encoding="utf-8", errors="replace") as f:
            check("c", f.read())
