"""Benchmarks: reference solutions pass, stubs fail, splits and prompt formats, EvalPlus files."""
import gzip
import json

import pytest

from opencoder_jax.eval import benchmarks as bm
from opencoder_jax.eval.sandbox import Limits, Sandbox

MBPP_DIR = bm.BUNDLED_MBPP_DIR  # the package's own copy (same files as ../shared/data/mbpp)


@pytest.fixture(scope="module")
def sandbox():
    # Generous wall clock: Mbpp/123's reference needs ~5 CPU-seconds and the cores are shared.
    with Sandbox(Limits(timeout=60.0, cpu_seconds=30), workers=16) as sb:
        yield sb


@pytest.fixture(scope="module")
def humaneval():
    return bm.HumanEval()


def test_humaneval_canonical_pass_and_stubs_fail(sandbox, humaneval):
    assert len(humaneval) == 164
    probs = humaneval.problems
    canonical = sandbox.run_many([humaneval.reference_program(p) for p in probs])
    assert [p.task_id for p, r in zip(probs, canonical) if not r.passed] == []
    stubs = sandbox.run_many([humaneval.program(p, bm.stub_prompt(p.prompt)) for p in probs])
    assert [p.task_id for p, r in zip(probs, stubs) if r.status != "failed"] == []


def test_mbpp_references(sandbox):
    full = bm.MBPP(MBPP_DIR, all_tasks=True)
    san = bm.MBPP(MBPP_DIR, sanitized=True, all_tasks=True)
    assert (len(full), len(san)) == (974, 427)
    res = sandbox.run_many([full.reference_program(p) for p in full.problems] +
                           [san.reference_program(p) for p in san.problems])
    full_res, san_res = res[:974], res[974:]
    failed = {p.task_id: r.error for p, r in zip(full.problems, full_res) if not r.passed}
    # As shipped, 367 and 927 test a `Node` class that their reference code never defines.
    assert sorted(failed) == ["Mbpp/367", "Mbpp/927"]
    assert all("NameError: name 'Node'" in e for e in failed.values())
    assert sum(r.passed for r in full_res) == 972
    assert [p.task_id for p, r in zip(san.problems, san_res) if not r.passed] == []


def test_mbpp_splits_and_prompts():
    std = bm.MBPP(MBPP_DIR)
    oc = bm.MBPP(MBPP_DIR, split="opencoder")
    assert (len(std), std.problems[0].task_id, std.problems[-1].task_id) == (500, "Mbpp/11", "Mbpp/510")
    assert (len(oc), oc.problems[0].task_id, oc.problems[-1].task_id) == (500, "Mbpp/10", "Mbpp/509")
    assert std.fewshot_ids == [2, 3, 4] and oc.fewshot_ids == [1, 2, 3]
    p = std.problems[0]
    assert p.prompt.count("You are an expert Python programmer, and here is your task:") == 4
    assert p.prompt.endswith("```python\n") and p.prompt.count("```python\n") == 4
    assert "def similar_elements" in p.prompt and "def min_cost" not in p.prompt  # shot 2, not 1
    assert p.entry_point == "remove_Occ"
    san = bm.MBPP(MBPP_DIR, sanitized=True)
    assert all(11 <= int(q.task_id.split("/")[1]) <= 510 for q in san.problems) and len(san) == 257
    # a base model's continuation: code, then the closing fence and the next few-shot block
    sol = std.solution(p, "def remove_Occ(s, ch):\n    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]\n"
                          "```\n\nYou are an expert Python programmer", chat=False)
    assert sol.startswith("def remove_Occ") and "```" not in sol


def test_humaneval_prompt_formats(humaneval):
    p = humaneval.problems[0]
    assert p.instruction.startswith(bm.INSTRUCTION_PREFIX + "\n```python\n")
    assert p.prompt.strip() in p.instruction and p.instruction.endswith("\n```\n")
    from opencoder_jax.tokenizer import render_chat
    rendered = render_chat(humaneval.chat_messages(p), add_generation_prompt=True)
    assert "<|im_start|>user\n" + bm.INSTRUCTION_PREFIX in rendered
    assert rendered.endswith("<|im_start|>assistant\n")
    # base completion: body, then the model wanders into a new function -> cut
    sol = humaneval.solution(p, "    return any(abs(a - b) < threshold for i, a in enumerate(numbers)"
                                " for j, b in enumerate(numbers) if i != j)\n\n\ndef main():\n    pass\n",
                             chat=False)
    assert sol.startswith(p.prompt) and "def main" not in sol
    assert set(humaneval.stop_sequences(False)) >= {"\ndef ", "\nclass ", "\nif __name__"}


# A few rows in EvalPlus' own release format (HumanEvalPlus / MbppPlus jsonl.gz).
HE_PLUS = [
    {"task_id": "HumanEval/0", "prompt": "def add(a: float, b: float) -> float:\n    \"\"\"Sum.\"\"\"\n",
     "entry_point": "add", "canonical_solution": "    return a + b\n", "contract": "", "test": "",
     "base_input": [[1.0, 2.0], [0.1, 0.2]], "plus_input": [[1e10, 1e-10], [-3.5, 3.5]], "atol": 0},
    {"task_id": "HumanEval/32", "prompt": "import math\n\ndef find_zero(xs: list):\n    \"\"\"Zero.\"\"\"\n",
     "entry_point": "find_zero", "canonical_solution": "    return -xs[0] / xs[1]\n", "contract": "",
     "test": "", "base_input": [[[1, 2]]], "plus_input": [[[-6, 3]]], "atol": 1e-6},
]
MBPP_PLUS = [
    {"task_id": "Mbpp/2", "prompt": "\"\"\"\nWrite a function to find the shared elements from the given two "
     "lists.\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n\"\"\"\n",
     "entry_point": "similar_elements", "canonical_solution": "\ndef similar_elements(a, b):\n"
     "    return tuple(set(a) & set(b))\n", "contract": "", "test": "", "assertion": "",
     "base_input": [[[3, 4, 5, 6], [5, 7, 4, 10]]], "plus_input": [[[1, 2], [2, 1]], [[], [1]]], "atol": 0},
    {"task_id": "Mbpp/17", "prompt": "\"\"\"\nWrite a function that returns the perimeter of a square.\n\"\"\"\n",
     "entry_point": "square_perimeter", "canonical_solution": "def square_perimeter(a):\n    return 4 * a\n",
     "contract": "", "test": "", "assertion": "", "base_input": [[10], [5]], "plus_input": [[2.5], [1e9]],
     "atol": 0},
]


def _write_gz(path, rows):
    with gzip.open(path, "wt") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def test_evalplus_format(tmp_path):
    _write_gz(tmp_path / "HumanEvalPlus-v0.1.10.jsonl.gz", HE_PLUS)
    _write_gz(tmp_path / "MbppPlus-v0.2.0.jsonl.gz", MBPP_PLUS)
    he = bm.load_benchmark("humaneval_plus", plus_path=str(tmp_path))
    mb = bm.load_benchmark("mbpp_plus", plus_path=str(tmp_path / "MbppPlus-v0.2.0.jsonl.gz"))
    assert mb.problems[0].data["inputs"][0] == [(3, 4, 5, 6), (5, 7, 4, 10)]  # evalplus' tuple rule
    with Sandbox(Limits(timeout=30), workers=4) as sb:
        assert he.prepare(sb) == [] and mb.prepare(sb) == []
        cases = [
            (he, 0, he.problems[0].reference, True, True),
            (he, 0, he.problems[0].prompt + "    return a + b + 1e-9\n", True, True),  # float: within 1e-6
            (he, 0, he.problems[0].prompt + "    return a + b if abs(a) < 1e9 else 0.0\n", False, True),
            (he, 1, he.problems[1].prompt + "    return -xs[0] / xs[1] + 1e-9\n", True, True),  # oracle
            (he, 1, he.problems[1].prompt + "    return 0.0\n", False, False),
            (mb, 0, "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))\n",
             True, True),  # compared as sets
            (mb, 1, "def square_perimeter(a):\n    return a * 4 if a < 1e6 else 0\n", False, True),
            (mb, 1, "def square_perimeter(a):\n    return a + a\n", False, False),
        ]
        res = sb.run_many([b.program(b.problems[i], sol) for b, i, sol, _, _ in cases])
    for (_b, _i, sol, ok, base_ok), r in zip(cases, res):
        assert r.passed == ok, (sol, r)
        assert (r.passed or "@@BASE_PASSED@@" in r.stdout) == base_ok, (sol, r)
    # chat answers for MBPP+ are plain extracted code; HumanEval+ gets the prompt stub first
    sol = mb.solution(mb.problems[1], "```python\ndef square_perimeter(a):\n    return 4*a\n```", chat=True)
    assert sol == "def square_perimeter(a):\n    return 4*a"


def test_unknown_benchmark_and_missing_paths():
    with pytest.raises(ValueError):
        bm.load_benchmark("apps")
    assert len(bm.load_benchmark("mbpp")) == 500  # the bundled copy, standard split
    with pytest.raises((ValueError, FileNotFoundError)):
        bm.load_benchmark("mbpp", mbpp_path="/nonexistent/mbpp")
    with pytest.raises(ValueError):
        bm.load_benchmark("humaneval_plus")
