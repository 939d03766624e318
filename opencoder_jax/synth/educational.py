"""Educational-Instruct (OpenCoder's SFT stage 2): seed code -> a tested teaching exercise.

A scorer (scorer.py) keeps seeds worth teaching from (score >= min_score, else
`rejected/low_score`). From each kept seed the teacher writes a problem, a solution, an
explanation and assert-based tests (prompts/educational.txt). Solution + tests run in the
sandbox; passing exercises become chats for `opencoder train` (SFT):

  {"messages": [{"role": "user", "content": <problem>},
                {"role": "assistant", "content": "```python\\n<solution>```\\n\\n<explanation>"}],
   "meta": {"seed_id", "tests", "score", "teacher", "generator": "educational"}}

Rejections: language (a seed document in another language), low_score, score_malformed, malformed (a section or code block missing),
syntax_error, too_few_tests, tests_failed, timeout, sandbox_error.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Iterable, Iterator

import gin

from opencoder_jax.synth import answers, execution
from opencoder_jax.synth.prompts import load_template, render
from opencoder_jax.synth.runner import Outcome
from opencoder_jax.synth.sampling import SamplingConfig, ask
from opencoder_jax.synth.scorer import HeuristicScorer, TeacherScorer
from opencoder_jax.synth.seeds import Seed, clip_code, document_seeds

SECTIONS = ("Problem", "Solution", "Explanation", "Tests")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class EducationalConfig:
    min_tests: int = 3
    max_seed_chars: int = 3000
    scorer: str = "heuristic"  # "heuristic" | "teacher"
    min_score: float = 0.8     # heuristic: 4 of its 5 checks; teacher: 4 of 5 points
    languages: tuple = ("python",)  # seed languages (documents without one are taken)


def parse_exercise(answer: str) -> dict[str, str | None]:
    secs = answers.sections(answer, SECTIONS)
    return {"problem": secs.get("Problem") or None, "solution": answers.first_code(secs.get("Solution")),
            "explanation": secs.get("Explanation") or "", "tests": answers.first_code(secs.get("Tests"))}


class EducationalGenerator:
    name = "educational"
    kind = "chats"

    def __init__(self, inputs: Iterable[str], teacher, sandbox, config: EducationalConfig | None = None,
                 sampling: SamplingConfig | None = None, prompt_dir: str | None = None):
        self.inputs = list(inputs)
        self.input_stats: Counter = Counter()  # unreadable input records
        self.teacher, self.sandbox = teacher, sandbox
        self.config = config or EducationalConfig()
        self.sampling = sampling or SamplingConfig()
        self.template = load_template("educational", prompt_dir)
        if self.config.scorer == "heuristic":
            self.scorer = HeuristicScorer()
        elif self.config.scorer == "teacher":
            self.scorer = TeacherScorer(teacher, load_template("score_seed", prompt_dir), self.sampling)
        else:
            raise ValueError(f"scorer must be 'heuristic' or 'teacher', got {self.config.scorer!r}")

    def seeds(self) -> Iterator[Seed]:
        return document_seeds(self.inputs, self.input_stats)

    def process(self, seed: Seed) -> Outcome:
        lang = seed.payload.get("language")
        if self.config.languages and lang not in (None, "") and lang not in self.config.languages:
            return Outcome(reason="language", detail=str(lang))
        code = clip_code(seed.payload["text"], self.config.max_seed_chars)
        score = self.scorer.score(seed.id, code)
        if score is None:
            return Outcome(reason="score_malformed", generated=self.scorer.name == "teacher")
        if score < self.config.min_score:
            return Outcome(reason="low_score", generated=self.scorer.name == "teacher", detail=f"score {score:.2f}")
        answer = ask(self.teacher, self.sampling, seed.id, render(self.template, seed=code,
                                                                   min_tests=self.config.min_tests))
        ex = parse_exercise(answer)
        reason = "malformed" if not ex["problem"] else answers.check_solution_and_tests(
            ex["solution"], ex["tests"], self.config.min_tests)
        error = ""
        if reason is None:
            reason, error = execution.run_program(self.sandbox, execution.program(ex["solution"], ex["tests"]))
        if reason is not None:
            return Outcome(reason=reason, generated=True, detail=error, answer=answer)
        reply = f"```python\n{ex['solution']}```"
        if ex["explanation"]:
            reply += "\n\n" + ex["explanation"]
        record = {"messages": [{"role": "user", "content": ex["problem"]}, {"role": "assistant", "content": reply}],
                  "meta": {"generator": self.name, "tests": ex["tests"], "score": round(score, 3),
                           "teacher": self.teacher.name}}
        return Outcome(record=record, generated=True)

    def record_text(self, record: dict) -> str:
        return "\n".join(m["content"] for m in record["messages"]) + "\n" + record["meta"].get("tests", "")

    def describe(self) -> dict:
        return {"inputs": self.inputs, **dataclasses.asdict(self.config), "sampling": dataclasses.asdict(self.sampling)}
