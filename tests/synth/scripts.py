"""Scripted teacher answers (passing, failing, malformed, ...) and the seeds that ask for them.

Each seed document carries a marker ("SEED_<name>") in its code; the scripted endpoint answers
by marker, so the expected outcome of every seed is known in advance.
"""
from __future__ import annotations

import json

FENCE = "```"


def snippet_answer(code: str, tests: str) -> str:
    return f"### Function\n{FENCE}python\n{code}\n{FENCE}\n\n### Tests\n{FENCE}python\n{tests}\n{FENCE}\n"


def exercise_answer(problem: str, code: str, tests: str, explanation: str = "It loops once.") -> str:
    return (f"### Problem\n{problem}\n\n### Solution\n{FENCE}python\n{code}\n{FENCE}\n\n"
            f"### Explanation\n{explanation}\n\n### Tests\n{FENCE}python\n{tests}\n{FENCE}\n")


ADD = "def add(a, b):\n    \"\"\"Sum of a and b.\"\"\"\n    return a + b"
ADD_TESTS = "assert add(1, 2) == 3\nassert add(-1, 1) == 0\nassert add(0, 0) == 0"
MAX2 = "def second_largest(xs):\n    \"\"\"The second largest distinct value.\"\"\"\n    return sorted(set(xs))[-2]"
MAX2_TESTS = "assert second_largest([1, 2, 3]) == 2\nassert second_largest([5, 5, 1]) == 1\nassert second_largest([0, 9]) == 0"
WRONG_TESTS = "assert add(1, 2) == 3\nassert add(2, 2) == 5\nassert add(0, 0) == 0"
LOOP = "def spin(n):\n    while True:\n        n += 1"
LOOP_TESTS = "assert spin(1) == 1\nassert spin(2) == 2\nassert spin(3) == 3"
# HumanEval/0 (prompt + canonical solution), passing its own asserts: must be decontaminated.
HUMANEVAL_0 = '''from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    """
    for idx, elem in enumerate(numbers):
        for idx2, elem2 in enumerate(numbers):
            if idx != idx2:
                distance = abs(elem - elem2)
                if distance < threshold:
                    return True

    return False'''
HUMANEVAL_0_TESTS = ("assert has_close_elements([1.0, 2.0, 3.0], 0.5) is False\n"
                     "assert has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) is True\n"
                     "assert has_close_elements([], 1.0) is False")

PASS = "pass"  # expected outcome of a seed that must be kept

# marker -> (replies, expected outcome). Outcomes: "pass" or the rejection reason.
SNIPPET_SCRIPT = {
    "SEED_pass_add": ([snippet_answer(ADD, ADD_TESTS)], PASS),
    "SEED_pass_max2": ([snippet_answer(MAX2, MAX2_TESTS)], PASS),
    "SEED_retry_then_pass": ([500, 503, snippet_answer(MAX2, MAX2_TESTS)], PASS),
    "SEED_fail": ([snippet_answer(ADD, WRONG_TESTS)], "tests_failed"),
    "SEED_malformed_nofence": (["Sure! Here is a function: def add(a, b): return a + b"], "malformed"),
    "SEED_malformed_unclosed": ([f"### Function\n{FENCE}python\n{ADD}\n\n### Tests\n{FENCE}python\n{ADD_TESTS}\n"],
                                "malformed"),
    "SEED_syntax": ([snippet_answer("def add(a, b)\n    return a +", ADD_TESTS)], "syntax_error"),
    "SEED_few_tests": ([snippet_answer(ADD, "assert add(1, 2) == 3")], "too_few_tests"),
    "SEED_http_400": ([400], "endpoint_rejected"),
    "SEED_contaminated": ([snippet_answer(HUMANEVAL_0, HUMANEVAL_0_TESTS)], "decontaminate/humaneval"),
}
TIMEOUT_SCRIPT = {"SEED_timeout": ([snippet_answer(LOOP, LOOP_TESTS)], "timeout")}

EDUCATIONAL_SCRIPT = {
    "SEED_pass_add": ([exercise_answer("Write `add(a, b)` returning a + b.", ADD, ADD_TESTS)], PASS),
    "SEED_retry_then_pass": ([("retry-after", 429, 0), exercise_answer("Write `second_largest(xs)`.", MAX2, MAX2_TESTS)],
                             PASS),
    "SEED_fail": ([exercise_answer("Write `add(a, b)`.", ADD, WRONG_TESTS)], "tests_failed"),
    "SEED_no_problem": ([snippet_answer(ADD, ADD_TESTS)], "malformed"),
    "SEED_malformed_nofence": (["### Problem\nAdd.\n### Solution\nreturn a+b\n### Tests\nassert True"], "malformed"),
    "SEED_contaminated": ([exercise_answer("Write has_close_elements.", HUMANEVAL_0, HUMANEVAL_0_TESTS)],
                          "decontaminate/humaneval"),
}


def seed_code(marker: str) -> str:
    """A small documented Python module (scores well with the heuristic scorer) holding the marker."""
    return (f"# {marker}: utilities for a small exercise\n\n"
            "def mean(values):\n"
            "    \"\"\"The arithmetic mean of a non-empty list.\"\"\"\n"
            "    total = 0\n"
            "    for v in values:\n"
            "        total += v\n"
            "    return total / len(values)\n")


LOW_SCORE_TEXT = "x=1;y=2;" * 40 + "  # SEED_low_score data blob, no functions"


def write_seed_documents(path, markers, extra_texts=()) -> list[str]:
    """JSONL documents (id = marker) for `markers`, then documents with `extra_texts`."""
    ids = []
    with open(path, "w") as f:
        for m in markers:
            f.write(json.dumps({"id": m, "repo": "r", "path": f"{m}.py", "language": "python",
                                "text": seed_code(m)}) + "\n")
            ids.append(m)
        for k, text in enumerate(extra_texts):
            f.write(json.dumps({"id": f"extra_{k}", "language": "python", "text": text}) + "\n")
            ids.append(f"extra_{k}")
    return ids


def endpoint_script(script: dict) -> dict:
    return {marker: replies for marker, (replies, _) in script.items()}


def expected(script: dict) -> dict[str, str]:
    return {marker: outcome for marker, (_, outcome) in script.items()}
