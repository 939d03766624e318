"""High-quality code snippets (OpenCoder's annealing data): seed code -> a tested function.

From an algorithmic seed (`opencoder synth algorithmic` output, or any documents) the teacher
writes one self-contained Python function and assert-based tests (prompts/snippet.txt). The
pair is run in the sandbox; only passing pairs are kept, as RefineCode documents whose text is
the function followed by its tests (`repo` "synth/snippets", `language` "python").

Rejections: malformed (no Function/Tests code blocks), syntax_error, too_few_tests
(< min_tests asserts), tests_failed, timeout, sandbox_error.
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
from opencoder_jax.synth.seeds import Seed, clip_code, document_seeds


@gin.configurable
@dataclasses.dataclass(frozen=True)
class SnippetConfig:
    min_tests: int = 3
    max_seed_chars: int = 3000  # of seed code shown to the teacher (cut at a line end)


def parse_function_and_tests(answer: str) -> tuple[str | None, str | None]:
    """(function code, tests code) from "### Function" / "### Tests" sections; without those
    headings, the first and the last of two or more Python blocks."""
    secs = answers.sections(answer, ("Function", "Tests"))
    code, tests = answers.first_code(secs.get("Function")), answers.first_code(secs.get("Tests"))
    if code is None or tests is None:
        blocks = answers.code_blocks(answer)
        if len(blocks) >= 2:
            code, tests = blocks[0], blocks[-1]
    return code, tests


class SnippetGenerator:
    name = "snippets"
    kind = "documents"

    def __init__(self, inputs: Iterable[str], teacher, sandbox, config: SnippetConfig | None = None,
                 sampling: SamplingConfig | None = None, prompt_dir: str | None = None):
        self.inputs = list(inputs)
        self.input_stats: Counter = Counter()  # unreadable input records
        self.teacher, self.sandbox = teacher, sandbox
        self.config = config or SnippetConfig()
        self.sampling = sampling or SamplingConfig()
        self.template = load_template("snippet", prompt_dir)

    def seeds(self) -> Iterator[Seed]:
        return document_seeds(self.inputs, self.input_stats)

    def process(self, seed: Seed) -> Outcome:
        from opencoder_jax.document import make_document

        prompt = render(self.template, seed=clip_code(seed.payload["text"], self.config.max_seed_chars),
                        min_tests=self.config.min_tests)
        answer = ask(self.teacher, self.sampling, seed.id, prompt)
        code, tests = parse_function_and_tests(answer)
        reason = answers.check_solution_and_tests(code, tests, self.config.min_tests)
        if reason is None:
            reason, error = execution.run_program(self.sandbox, execution.program(code, tests))
        else:
            error = ""
        if reason is not None:
            return Outcome(reason=reason, generated=True, detail=error, answer=answer)
        text = execution.program(code, tests)
        doc = make_document(repo="synth/snippets", path=f"{seed.id}.py", text=text, content=text.encode("utf-8", "surrogatepass"),
                            language="python", lang_type="code", source="synth/snippets")
        doc["meta"] = {"tests": answers.count_asserts(tests), "teacher": self.teacher.name,
                       "seed_repo": seed.payload.get("repo", ""), "seed_path": seed.payload.get("path", "")}
        return Outcome(record=doc, generated=True)

    def record_text(self, record: dict) -> str:
        return record["text"]

    def describe(self) -> dict:
        return {"inputs": self.inputs, **dataclasses.asdict(self.config), "sampling": dataclasses.asdict(self.sampling)}
