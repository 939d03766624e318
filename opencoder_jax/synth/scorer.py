"""Seed scorers for Educational-Instruct: which corpus code is worth teaching from.

OpenCoder selects educational seeds with a scorer model. Two scorers, both returning a score
in [0, 1] (None when it cannot be read, counted `score_malformed`):

  HeuristicScorer  no model: Python that parses and defines functions, is commented or
                   documented, has readable line lengths and a teachable size. The mean of
                   those five checks.
  TeacherScorer    asks the teacher (prompts/score_seed.txt) for `Score: N`, N in 1..5;
                   the score is (N - 1) / 4.
"""
from __future__ import annotations

import ast

from opencoder_jax.synth import answers
from opencoder_jax.synth.prompts import render
from opencoder_jax.synth.sampling import SamplingConfig, ask


class HeuristicScorer:
    name = "heuristic"

    def __init__(self, min_lines: int = 5, max_lines: int = 300, max_mean_line: int = 80, max_line: int = 160):
        self.min_lines, self.max_lines = min_lines, max_lines
        self.max_mean_line, self.max_line = max_mean_line, max_line

    def checks(self, text: str) -> dict[str, bool]:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))] if tree else []
        documented = any(ast.get_docstring(n) for n in defs) or sum(
            line.lstrip().startswith("#") for line in lines) >= max(1, len(lines) // 20)
        lengths = [len(line) for line in lines] or [0]
        return {
            "parses": tree is not None,
            "defines_functions": bool(defs),
            "documented": bool(documented),
            "readable_lines": sum(lengths) / len(lengths) <= self.max_mean_line and max(lengths) <= self.max_line,
            "teachable_size": self.min_lines <= len(lines) <= self.max_lines,
        }

    def score(self, seed_id: str, text: str) -> float | None:
        checks = self.checks(text)
        return sum(checks.values()) / len(checks)


class TeacherScorer:
    name = "teacher"

    def __init__(self, teacher, template, sampling: SamplingConfig | None = None):
        self.teacher, self.template = teacher, template
        self.sampling = sampling or SamplingConfig()

    def score(self, seed_id: str, text: str) -> float | None:
        answer = ask(self.teacher, self.sampling, seed_id, render(self.template, seed=text), purpose="score",
                     max_tokens=16)
        n = answers.parse_score(answer)
        return None if n is None else (n - 1) / 4
