"""Reading teacher answers: fences, headings, asserts, scores; malformed input gives None/reasons."""
from __future__ import annotations

from opencoder_jax.synth import answers as A
from opencoder_jax.synth.package_instruct import parse_qa
from opencoder_jax.synth.snippets import parse_function_and_tests

F = "```"


def test_code_blocks_closed_python_only():
    text = f"intro\n{F}python\nx = 1\n{F}\n{F}bash\nls\n{F}\n{F}\ny = 2\n{F}\n~~~py\nz = 3\n~~~\n{F}python\nunclosed = 1\n"
    assert A.code_blocks(text) == ["x = 1\n", "y = 2\n", "z = 3\n"]
    assert A.code_blocks(text, python_only=False) == ["x = 1\n", "ls\n", "y = 2\n", "z = 3\n"]
    assert A.code_blocks("") == [] and A.code_blocks(f"{F}python\n{F}\n") == []  # empty block


def test_sections_heading_styles():
    text = "### Problem\nDo X.\n\n**Solution**\ncode\nTests:\nasserts\n## problem\nignored second one"
    assert A.sections(text, ("Problem", "Solution", "Tests")) == {"Problem": "Do X.", "Solution": "code",
                                                                  "Tests": "asserts"}
    assert A.sections("no headings here", ("Problem",)) == {}


def test_function_and_tests_with_and_without_headings():
    with_headings = f"### Function\n{F}python\ndef f(): return 1\n{F}\n### Tests\n{F}python\nassert f() == 1\n{F}"
    assert parse_function_and_tests(with_headings) == ("def f(): return 1\n", "assert f() == 1\n")
    bare = f"{F}python\ndef f(): return 1\n{F}\ntext\n{F}python\nassert f() == 1\n{F}"
    assert parse_function_and_tests(bare) == ("def f(): return 1\n", "assert f() == 1\n")
    assert parse_function_and_tests(f"{F}python\ndef f(): return 1\n{F}") == (None, None)


def test_check_solution_and_tests_reasons():
    ok = "def f(x):\n    return x\n"
    tests3 = "assert f(1) == 1\nassert f(2) == 2\nfor i in range(3):\n    assert f(i) == i\n"
    assert A.check_solution_and_tests(ok, tests3, 3) is None
    assert A.check_solution_and_tests(None, tests3, 3) == "malformed"
    assert A.check_solution_and_tests("x = 1\n", tests3, 3) == "malformed"  # nothing defined
    assert A.check_solution_and_tests("def f(:\n", tests3, 3) == "syntax_error"
    assert A.check_solution_and_tests(ok, "assert f(1) == 1\n", 3) == "too_few_tests"


def test_parse_score_and_qa():
    assert A.parse_score("Score: 4") == 4 and A.parse_score("**Score**: 5") == 5 and A.parse_score("3") == 3
    assert A.parse_score("Score: 9") is None and A.parse_score("great code") is None
    q, a, code = parse_qa(f"### Question\nHow?\n### Answer\nLike this:\n{F}python\nx = 1\n{F}\nand\n{F}\ny = 2\n{F}")
    assert (q, code) == ("How?", "x = 1\n\ny = 2\n") and a.startswith("Like this:")
    assert parse_qa("### Question\nHow?\n### Answer\nno code") == ("How?", "no code", None)
