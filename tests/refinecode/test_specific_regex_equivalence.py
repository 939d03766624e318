"""The linear-time rewrites of the language-specific patterns find exactly what the released
patterns find.

Oracle: the released patterns (OpenCoder opc_data_filtering, utils/code/*_utils.py), run by
the same `regex` engine with its backtracking, on short random texts built from the tokens
the patterns react to (short texts keep the backtracking oracle fast). Compared: match
counts, and for Java the matched strings themselves (signals read their second character).
"""
import random

import pytest
import regex

from opencoder_jax.refinecode.signals.specific import c_family, csharp, go, java
from opencoder_jax.refinecode.signals.specific.common import CharIndex

M = regex.MULTILINE
RELEASED = {
    "c_functions": regex.compile(
        r"\b((?:[a-zA-Z_]\w*\s*(?:\*+)?\s+)+(?:\*?\s*[a-zA-Z_]\w*)\((?:[^)]*)\)\s*)"
    ),
    "c_main": regex.compile(r"\bmain\s*\([^)]*\)\s*\{"),
    "c_includes": regex.compile(r'^\s*#\s*include\s+["<][^">]+[">]', M),
    "c_classes": regex.compile(r"^\s*class\s+\w+\s*(:[^{]*)?\{", M),
    "c_simple_variables": regex.compile(
        r"^\s*(?:unsigned\s+)?(?:int|float|double|char|bool|std::string|auto)\s+\w+\s*;", M
    ),
    "c_simple_returns": regex.compile(
        r"^\s*return\s*(?:(\w+|\d+|\"(?:[^\"\\]|\\.)*\"|\'(?:[^\'\\]|\\.)*\'|true|false|nullptr)\s*)?;\s*$", M
    ),
    "c_variables": regex.compile(
        r"\b((?:\w+(?:\s+\w+)?)\s+(?:(?:\*+)?\s*[\w\[\]]+\s*(?:=\s*[^;]*)?"
        r"(?:,\s*(?:\*+)?\s*[\w\[\]]+\s*(?:=\s*[^;]*)?)*)\s*;)"
    ),
    "cs_functions": regex.compile(
        r"^\s*((?:(?:public|protected|private|internal)\s+)?(?:(?:static|virtual|override|abstract|async)\s+)?"
        r"(?:(?!\s*(?:public|private|protected|if|else)\s*)(?:<\w+>)?\s*\w+\s+)(?:\w+\s*)(?:\((?:[^\)]*)\)))", M
    ),
    "cs_usings": regex.compile(r"^\s*using\s+[a-zA-Z0-9_.]+\s*;", M),
    "cs_returns": regex.compile(r"^\s*return\b(?:\s+[^;\n]+)?\s*;", M),
    "java_functions": regex.compile(
        r"^\s*((?:(?:public|protected|private|static)\s+)*(?:(?!\s*(?:public|private|protected|else|if)\s*)"
        r"(?:<\w+>)?\s*\w+\s+)(?:\w+\s*)(?:\((?:[^\)]*)\))(?:\s*throws\s+[\w\, ]+)?)", M
    ),
    "java_imports": regex.compile(r"^\s*import\s+([\w\.\*]+)\s*;\s*$", M),
    "java_simple_variables": regex.compile(
        r"^\s*((?:(?:public|protected|private|final|static)\s+)*(?:int|float|boolean|char|double|String|"
        r"(?:[A-Z][\w<>]*))\s+(\w+)\s*;)", M
    ),
    "java_variables": regex.compile(
        r"^\s*((?:(?:public|protected|private|final|static)\s+)*(?:int|float|boolean|char|double|String|"
        r"(?:[A-Z][\w<>]*))\s+(?:\w+)\s*(?:\s*=\s*[^;]+)?;)", M
    ),
    "java_returns": regex.compile(
        r"^\s*(return(?:;|\s+(?:\w*|\"(?:[^\"\\]*(?:\\.[^\"\\]*)*)\")\s*;\s*))$", M
    ),
    "java_classes": regex.compile(
        r"^\s*((?:public\s+|protected\s+|private\s+)?(?:final\s+|abstract\s+)?class\s+([\w<>]+))", M
    ),
    "go_functions": regex.compile(
        r"(^func\s+(?:\(\s*\w+\s+\*?\w+\s*\))?\s*(?:\w+)\s*\((?:[^)]*)\)\s*(?:\([^)]+\)|[\w\[\]]+)?\s*)", M
    ),
    "go_classes": regex.compile(r"^\s*type\s+\w+\s+(struct|interface)\s*\{[^}]*\}", M | regex.DOTALL),
    "go_returns": regex.compile(r"^\s*return(?:\s+[^;\n]+)?\s*;?\s*$", M),
    "go_simple_variables": regex.compile(r"^\s*var\s+(\w+)\s+(\w+)\s*;?\s*$", M),
}


def ours(name, text):
    rparen = CharIndex(text, ")")
    return {
        "c_functions": lambda: c_family.count_functions(text, rparen),
        "c_main": lambda: c_family.count_main(text, rparen),
        "c_includes": lambda: c_family.count_includes(text, CharIndex(text, '">')),
        "c_classes": lambda: c_family.count_classes(text, CharIndex(text, "{")),
        "c_simple_variables": lambda: len(c_family._SIMPLE_VARIABLE.findall(text)),
        "c_simple_returns": lambda: len(c_family._SIMPLE_RETURN.findall(text)),
        "c_variables": lambda: c_family.has_variable(text),
        "cs_functions": lambda: csharp.count_functions(text, rparen),
        "cs_usings": lambda: len(csharp._USING.findall(text)),
        "cs_returns": lambda: csharp.count_simple_returns(text),
        "java_functions": lambda: java.find_functions(text, rparen),
        "java_imports": lambda: len(java._IMPORT.findall(text)),
        "java_simple_variables": lambda: len(java._SIMPLE_VARIABLE.findall(text)),
        "java_variables": lambda: java.find_variables(text, CharIndex(text, ";")),
        "java_returns": lambda: java.count_simple_returns(text),
        "java_classes": lambda: java._CLASS.findall(text),
        "go_functions": lambda: go.count_functions(text, rparen),
        "go_classes": lambda: go.count_classes(text, CharIndex(text, "}")),
        "go_returns": lambda: go.count_simple_returns(text),
        "go_simple_variables": lambda: go.count_simple_variables(text),
    }[name]()


def released(name, text):
    found = RELEASED[name].findall(text)
    if name == "c_variables":
        return len(found) > 0
    if name in ("java_functions", "java_variables", "java_classes"):
        return found
    return len(found)


SPACE = [" ", "  ", "\n", "\n", "\t", " \n ", ""]
# near-miss fragments per language: joined with random whitespace and single tokens they
# produce both matches and almost-matches of every pattern
FRAGMENTS = {
    "c": ["int f(x)", "int *f(", "static char **g(a, b)", "int*h(x)", "a b", "main() {", "main (x)\n{",
          '#include <a.h>', '#include "', "# include\n<b>", "class A : B {", "class A {", "class A :",
          "unsigned int x;", "auto y ;", "return x;", 'return "a\\"b";', "return 'c' ;", "return;",
          "return a + b;", "int a, *b = 1;", "x[2] = 3;", "=", ";", ")", "(", "{", "*", "9", "é"],
    "cs": ["public static void Main(string[] a)", "private int F()", "internal async Task G(x)",
           "if (x)", "else foo(y)", "<T> T Get(x)", "public Foo(int x)", "using System.Text;",
           "using a b;", "return;", "return x;", "return x\n;", "returnx;", "return x y", ")", "(", ";"],
    "java": ["public static void main(String[] a) throws E, F {", "\nimport a.b.C;\n", "int get()", "static foo(x)",
             "else bar(y)", "void f() throws  {", "import java.util.*;", "import a.b;  x",
             "private int count;", "static String s = \"x\";", "Foo x = ;", "A<B> y;", "int z =\n1;",
             "return;", "return x ;", "return \"a\\\"b\";", "return \"a\\\n\";", "return;  ",
             "public class A", "final class B<T>", "class public", ")", "(", ";", "="],
    "go": ["func f()", "func (r *T) M(a int) (int, error)", "func g() []int {", "func h(",
           "type T struct {\n X int\n}", "type I interface {", "}", "var a int", "var b int;",
           "var c int ; x", "return", "return x", "return x;", "return x; y", "return\n;", ")", "(", ";"],
}


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_rewrite_matches_released_pattern(name):
    fragments = FRAGMENTS[name.split("_")[0]]
    rng = random.Random(name)
    matched = 0
    for _ in range(400):
        parts = []
        for _ in range(rng.randint(1, 6)):
            parts.append(rng.choice(SPACE))
            parts.append(rng.choice(fragments))
        text = "".join(parts)
        expected = released(name, text)
        matched += bool(expected)
        assert ours(name, text) == expected, repr(text)
    assert matched >= 20  # the generator does exercise the pattern
