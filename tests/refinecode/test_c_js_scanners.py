"""The C, C++, JavaScript and HTML comment scanners against pygments 2.18, token for token.

Reference: pygments' own token stream (lexer.get_tokens), split into the five comment-like
types vs the rest. A scanner must give exactly that split, or None (then pygments runs).
"""
import sysconfig

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.lexers import get_lexer_by_name

from opencoder_jax.refinecode.signals import comment_scanners as S
from tests.helpers.pygments_reference import pygments_split, real_files


def check(lang: str, text: str) -> bool:
    """True when the scanner handled the text (and then equals pygments); False when it bailed."""
    ours = S.split_with_scanner(get_lexer_by_name(lang), lang, text)
    if ours is None:
        return False
    assert ours == pygments_split(lang, text), text
    return True


C_HANDLED = [
    "int x; // c\nint y; /* block\n comment */ int z;\n",
    'char *s = "not // a comment /* either */";  // but this is\n',
    "char c = '\"'; /* after a char */ char d = '\\''; // c\n",
    "x = 'ab'; // multi-char: Error quotes, then a comment\n",
    's = "unterminated\n// comment again\n',
    '#include "a.h" // the rest of an include line is a comment\n#include <b.h>   trailing\n',
    "#define URL \"http://x\" /* macro comment */\nint a;\n",
    "#define M(a) \\\n  do { /* c */ } while (0)\nint b; // c\n",
    "  /* lead */ #define X 1 // c\n",
    "/* a\n b */ #define X 1 // '#' after a multi-line comment is no macro\n",
    "// continued \\\n comment\nint z;\n",
    "#define A // macro comment ends the macro\nint w; /* c */\n",
    "x = a / b; /* unterminated\n",
    "int f(int a /* (unused) */, int b) { return a; }\n",
    "#if 1\n/* c */\n#endif\n",
    "# include /* c */ \"x.h\" rest\n",
]

C_BAIL_OR_MATCH = [
    "#if 0\n/* not a comment */\n#endif\n",
    "int f(int a, // the (a)\n int b) { }\n",
    "int x = 1'000; // c\n",
    'auto s = R"(// raw)"; // c\n',
    "struct R\"(x)\" y;\n",
    "a = b \\ c; // c\n",
    "/\\\n* odd opener */\n",
]

JS_HANDLED = [
    "var x = 1; // c\nvar y = /* block */ 2;\n",
    'var s = "// not a comment"; // but this is\n',
    "var r = /\\/\\/ not a comment/g; // c\n",
    "var q = a / b; // division, then a comment\n",
    "if (x) /[/*]/.test(y); // regex after ')' is division in pygments\n",
    "return /a*/ // regex after return\n",
    "x = y\n/re/g // line start: regex state\n",
    "x = a ? /q/ : b; /* c */\n",
    "f(/ bad regex\n// comment after the bad-regex line\n",
    "t = `a ${ b /* in expr */ } // not comment ${ `nested ${ c } // no` } end` // yes\n",
    "t = `${ {a: 1} }` // the first '}' ends the interpolation\n",
    "#!/usr/bin/env node\nvar x; // c\n",
    "s = 'multi\\\nline'; /* c */\n",
    "x = y.return / 2 // keyword after a dot still pushes the regex state\n",
    "x = this / 2 / 3 // c\n",
    "x = 1.5 / 2 // c\n",
    "a = b\n  /* c */\n/x/.test(a)\n",
    "q = '\n// an unterminated quote is an Error token\n",
    "var x = 1 /*/ still comment */ / 2;\n",
]

JS_BAIL_OR_MATCH = [
    "<!-- html comment -->\nx = 1;\n",
    "x = a \\\n / b // c\n",
    "x = 0x1F / 2 // c\n",
    "x = é / 2 // c\n",
    "x = $return / 2 // c\n",
    "#priv / 2 // c\n",
]


HTML_HANDLED = [
    "<p>text <!-- a comment --> more</p>\n",
    '<a href="x<!--y-->">attribute values hide comment markers</a>\n',
    "&x<!--y-->; an entity runs to its ';'\n",
    "<script>var a = 1; // js comment\n/* block */</script><p>x</p>\n",
    "<SCRIPT type='t'>var s = '</scr' + 'ipt>'; // c\n</SCRIPT >\n",
    "<style>/* css comments are plain Comment: code */ p { }</style>\n",
    "<script>var a; // no close tag\nmore <!-- c -->\n",
    "<![CDATA[ <!-- not a comment --> ]]><?php /* no */ ?>\n",
    "<!DOCTYPE html><scripts>x // c</scripts>\n",
]
HTML_BAIL_OR_MATCH = [
    '<a "b"><!-- c -->\n',
    "<a x= >\n<!-- c -->\n",
    "<script><!-- old-style hiding --></script>\n",
]


@pytest.mark.parametrize("text", HTML_HANDLED)
def test_html_tricky_snippets_match_pygments(text):
    assert check("html", text), "expected the scanner to handle this snippet"


@pytest.mark.parametrize("text", HTML_BAIL_OR_MATCH)
def test_html_unusual_constructs_bail_out_or_match(text):
    check("html", text)


HTML_PIECES = [
    "x", " ", "\n", "<", ">", "</", "/>", "<a", '<a href="x">', "<b c='d'>", "<p x=y>", "</p>", "<!--", "-->",
    "<![CDATA[", "]]>", "<?p", "?>", "<!DOCTYPE html>", "&amp;", "&", ";", "<script>", "</script>", "< / script >",
    "<style>", "</style>", "/* c */", "// c", "var a = 1;", "'", '"', "=", "a=", "`", "/x/", "é", '<a "b">',
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(HTML_PIECES), max_size=30))
def test_html_fuzz_of_tricky_pieces(pieces):
    check("html", "".join(pieces))


@pytest.mark.parametrize("lang", ["c", "cpp"])
@pytest.mark.parametrize("text", C_HANDLED)
def test_c_tricky_snippets_match_pygments(text, lang):
    assert check(lang, text), "expected the scanner to handle this snippet"


@pytest.mark.parametrize("lang", ["c", "cpp"])
@pytest.mark.parametrize("text", C_BAIL_OR_MATCH)
def test_c_unusual_constructs_bail_out_or_match(text, lang):
    check(lang, text)


@pytest.mark.parametrize("text", JS_HANDLED)
def test_js_tricky_snippets_match_pygments(text):
    assert check("javascript", text), "expected the scanner to handle this snippet"


@pytest.mark.parametrize("text", JS_BAIL_OR_MATCH)
def test_js_unusual_constructs_bail_out_or_match(text):
    check("javascript", text)


def test_c_scanner_bails_where_a_function_rule_cuts_a_comment():
    # pygments cuts the signature at the ')' inside the '//' comment and re-lexes the pieces
    text = "void f(int a, // see (b)\n int b) { }\n"
    assert S.split_with_scanner(get_lexer_by_name("c"), "c", text) is None


C_PIECES = [
    "x", " ", "\n", "//", "/*", "*/", "/", "*", '"', "'", "\\", "\\\n", "#", "# ", "#if 0", "#if 1", "#endif",
    "#include <a.h>", '#include "b.h"', "include", "#define X ", "{", "}", "(", ")", ";", "int ", "f", ":",
    "'a'", "'\\''", 'R"(', ')"', "u8", "L", "case ", "struct ", "1'0", "1", "\t", "$", "é", "<", ">", ",", "=",
    "void ", "main", "::", "&", "namespace ", "class ", "default:", "label:", "R", "// (a)\n", "f(int a, ", ") {",
]
JS_PIECES = [
    "x", " ", "\n", "//", "/*", "*/", "/", "*", '"', "'", "`", "${", "}", "{", "(", ")", "[", "]", ";", ",", "=",
    "=>", "+", "++", "!", "?", ":", ".", "a", "return ", "typeof ", "in", "of", "this", "x$", "$", "1", "1.5",
    "0x1", "\\", "\\n", "/x/", "/[/]/g", "g", "#!/bin/node\n", "#", "@", "é", "\t", "<", ">", "&&", "/=",
    "case ", "function", "var ", "'a'", '"b"', "`t`", "\n/", "\n  ",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(C_PIECES), max_size=35), st.sampled_from(["c", "cpp"]))
def test_c_fuzz_of_tricky_pieces(pieces, lang):
    check(lang, "".join(pieces))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(JS_PIECES), max_size=30))
def test_js_fuzz_of_tricky_pieces(pieces):
    check("javascript", "".join(pieces))


JS_ROOTS = [sysconfig.get_paths()["purelib"], "/usr/share/javascript", "/usr/share/doc", "/usr/lib/node_modules"]


def _check_real(lang, paths, min_handled):
    handled = 0
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            handled += check(lang, f.read())
    assert handled >= min_handled * len(paths)


def test_real_c_headers_match_pygments():
    paths = real_files(["/usr/include"], [".h"], 25, max_bytes=30_000)
    assert paths, "no C headers on this machine"
    _check_real("c", paths, 0.6)


@pytest.mark.slow
def test_many_real_c_and_cpp_files_match_pygments():
    _check_real("c", real_files(["/usr/include"], [".h"], 300, max_bytes=150_000), 0.8)
    cpp = real_files(["/usr/include", sysconfig.get_paths()["purelib"]], [".hpp", ".cpp", ".cc"], 200, max_bytes=150_000)
    _check_real("cpp", cpp, 0.8)


@pytest.mark.slow
def test_real_html_files_match_pygments():
    paths = real_files(["/usr/share/doc", sysconfig.get_paths()["purelib"]], [".html"], 200, max_bytes=150_000)
    assert paths, "no HTML files on this machine"
    _check_real("html", paths, 0.9)


@pytest.mark.slow
def test_real_js_files_match_pygments():
    paths = real_files(JS_ROOTS, [".js"], 300, max_bytes=150_000)
    assert paths, "no JavaScript files on this machine"
    _check_real("javascript", paths, 0.9)
