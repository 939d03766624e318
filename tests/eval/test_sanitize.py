"""Sanitizer cases shaped like real chat-model answers and base-model completions."""
from opencoder_jax.eval import sanitize as san
from opencoder_jax.eval.benchmarks import HumanEval

# An instruct model's typical HumanEval/0 answer: prose, a fenced solution with a usage
# example, an explanation after the fence.
CHAT_HE0 = '''Here is a Python function that checks whether any two numbers in the list are closer \
to each other than the given threshold:

```python
from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold."""
    for i, a in enumerate(numbers):
        for j, b in enumerate(numbers):
            if i != j and abs(a - b) < threshold:
                return True
    return False


# Example usage:
print(has_close_elements([1.0, 2.0, 3.0], 0.5))  # Output: False
print(has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3))  # Output: True
```

### Explanation:
1. The function iterates over every pair of numbers.
2. If the absolute difference is below `threshold`, it returns `True`.
'''


def test_chat_answer_fenced_with_usage_and_prose():
    code = san.extract_code(CHAT_HE0, "has_close_elements")
    assert code.startswith("from typing import List\ndef has_close_elements(")
    assert "print(" not in code and "Explanation" not in code and "```" not in code
    assert code.rstrip().endswith("return False")


def test_chat_answer_passes_in_sandbox():
    from opencoder_jax.eval.sandbox import Limits, Sandbox

    bench = HumanEval()
    problem = bench.problems[0]
    with Sandbox(Limits(timeout=20), workers=2) as sb:
        good = sb.run(bench.program(problem, bench.solution(problem, CHAT_HE0, chat=True)))
        bad = sb.run(bench.program(problem, bench.solution(problem, CHAT_HE0.replace("< threshold", "> threshold"),
                                                           chat=True)))
    assert good.status == "passed", good
    assert bad.status == "failed" and bad.error.startswith("AssertionError")


def test_main_guard_and_input_loop_dropped():
    answer = '''Sure! Here's the implementation:

```python
import math

def is_not_prime(n):
    if n < 2:
        return True
    for i in range(2, int(math.sqrt(n)) + 1):
        if n % i == 0:
            return True
    return False

if __name__ == "__main__":
    n = int(input("Enter a number: "))
    print(is_not_prime(n))
```'''
    code = san.extract_code(answer, "is_not_prime")
    assert "input(" not in code and "__main__" not in code
    assert code.startswith("import math\ndef is_not_prime(n):")


def test_helper_in_other_block_and_non_python_blocks_skipped():
    answer = '''First install nothing, it is pure Python:

```bash
pip install nothing
```

A helper:

```python
def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a
```

And the solution:

```python
def lcm(a, b):
    return a * b // _gcd(a, b)

assert lcm(4, 6) == 12
```

Output:
```
12
```'''
    code = san.extract_code(answer, "lcm")
    assert "pip install" not in code and "assert" not in code
    assert "def _gcd(a, b):" in code and "def lcm(a, b):" in code


def test_no_fences_longest_valid_span():
    answer = '''Here is some python code generated
import numpy as np
Sorry, I made a mistake, let me try again
from numpy import sin, cos, tan

def f(x):
    return tan(x)
As you can observe from above
'''
    assert san.extract_code(answer) == "from numpy import sin, cos, tan\ndef f(x):\n    return tan(x)"


def test_unclosed_fence_truncated_answer():
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n\n# Test\nprint(add(1,"
    assert san.extract_code(answer, "add") == "def add(a, b):\n    return a + b"


def test_later_definition_wins_and_dependencies_kept():
    answer = '''My first attempt:
```python
def fib(n):
    return fib(n - 1) + fib(n - 2) if n > 1 else n
```
Here's a more efficient version using memoization:
```python
from functools import lru_cache

LIMIT = 10 ** 6

@lru_cache(maxsize=None)
def fib(n):
    assert n < LIMIT
    return _fib(n)

def _fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

def unrelated():
    return 42
```'''
    code = san.extract_code(answer, "fib")
    assert code.count("def fib") == 1 and "@lru_cache(maxsize=None)\ndef fib(n):" in code
    assert "LIMIT = 10 ** 6" in code and "def _fib" in code and "unrelated" not in code
    assert "from functools import lru_cache" in code


def test_try_import_kept_and_class_entry_dependencies():
    answer = '''```python
try:
    from math import gcd
except ImportError:
    gcd = None

class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

def max_chain_length(arr, n):
    return len(arr) if gcd else 0

p = Pair(1, 2)
print(max_chain_length([p], 1))
```'''
    code = san.extract_code(answer, "max_chain_length")
    assert code.startswith("try:\n    from math import gcd")
    assert "print(" not in code and "p = Pair" not in code


def test_doctest_transcript():
    answer = "```pycon\n>>> def square(x):\n...     return x * x\n...\n>>> square(3)\n9\n```"
    assert san.extract_code(answer, "square") == "def square(x):\n    return x * x"


def test_crlf_and_ansi():
    answer = "\x1b[32m```python\r\ndef one():\r\n    return 1\r\n```\x1b[0m\r\n"
    assert san.extract_code(answer, "one") == "def one():\n    return 1"


def test_entry_point_missing_keeps_code():
    answer = "```python\ndef other():\n    return 1\n```"
    assert san.extract_code(answer, "wanted") == "def other():\n    return 1"
    assert san.extract_code("no code here at all.") == ""


def test_stop_at_top_level_base_completion():
    body = "    return sorted(set(l))\n\n\ndef main():\n    print(unique([1, 1]))\n"
    assert san.stop_at_top_level(body) == "    return sorted(set(l))\n"
    body = "    total = 0\n# running sum\n    for x in xs:\n        total += x\n    return total\nprint(f([1]))\n"
    assert san.stop_at_top_level(body) == "    total = 0\n# running sum\n    for x in xs:\n        total += x\n    return total\n"
    body = "    return foo(\n        1,\n)\n\nif __name__ == '__main__':\n    pass"
    assert san.stop_at_top_level(body) == "    return foo(\n        1,\n)\n"


def test_truncate_at_stop_and_entry_point_from_tests():
    text = "def f(a):\n    return a\n```\n\nYou are an expert Python programmer"
    assert san.truncate_at_stop(text, ["\n```", "\nassert "]) == "def f(a):\n    return a"
    assert san.entry_point_from_tests(["assert set(similar_elements((3, 4), (4, 5))) == set((4,))"]) \
        == "similar_elements"
    assert san.entry_point_from_tests(["assert math.isclose(area(2), 12.56, rel_tol=0.001)"]) == "area"


def test_stop_at_top_level_after_a_complete_prompt_line():
    # HumanEval prompts end with a newline: a column-0 first line is already something else
    assert san.stop_at_top_level("garbage here\n    return 1\n", prompt_ends_line=True) == "\n"
    assert san.stop_at_top_level("    return 1\nprint(2)\n", prompt_ends_line=True) == "    return 1\n"


def test_fenced_references_round_trip():
    """Every HumanEval reference, wrapped the way chat models answer, comes back as code that
    defines its entry point and runs nothing at top level (the sandbox run of the same round
    trip, 164/164, is in the benchmark tests' spirit but too slow to repeat here)."""
    import ast

    bench = HumanEval()
    for p in bench.problems:
        answer = (f"Sure! Here is the function:\n\n```python\n{p.prompt}{p.data['canonical_solution']}\n\n"
                  f"# Example\nprint({p.entry_point}.__name__)\n```\n\nIt works as follows: ...")
        code = san.extract_code(answer, p.entry_point)
        tree = ast.parse(code)
        names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert p.entry_point in names, p.task_id
        assert not any(isinstance(n, ast.Expr) and not isinstance(getattr(n, "value", None), ast.Constant)
                       for n in tree.body), p.task_id
