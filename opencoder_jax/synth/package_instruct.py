"""Package-Instruct (OpenCoder's SFT stage 2): questions answered with the installed API.

Seeds are the documented functions, classes and methods of installed packages (package_api.py).
For each the teacher sees the signature and docstring of the version installed here and writes
a question and an answer holding a runnable program that uses the API and asserts on its result
(prompts/package_instruct.txt). The program runs in the sandbox (which imports from this
environment's site-packages); answers whose program runs to its end become chats:

  {"messages": [{"role": "user", "content": <question>}, {"role": "assistant", "content": <answer>}],
   "meta": {"seed_id", "package", "version", "api", "teacher", "generator": "package_instruct"}}

Rejections: malformed (no Question/Answer or no code block), syntax_error, api_not_used (the
program never names the API), too_few_tests (no assert), code_failed, timeout, sandbox_error.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import re
from typing import Iterator

import gin

from opencoder_jax.synth import answers, execution
from opencoder_jax.synth.package_api import api_seeds
from opencoder_jax.synth.prompts import load_template, render
from opencoder_jax.synth.runner import Outcome
from opencoder_jax.synth.sampling import SamplingConfig, ask
from opencoder_jax.synth.seeds import Seed

DEFAULT_PACKAGES = ("json", "collections", "itertools", "functools", "re", "heapq", "bisect", "datetime")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class PackageInstructConfig:
    packages: tuple = DEFAULT_PACKAGES
    min_doc_chars: int = 40
    max_doc_chars: int = 1500
    min_asserts: int = 1


def parse_qa(answer: str) -> tuple[str | None, str | None, str | None]:
    """(question, answer text, the answer's Python code: all its blocks joined)."""
    secs = answers.sections(answer, ("Question", "Answer"))
    question, reply = secs.get("Question") or None, secs.get("Answer") or None
    blocks = answers.code_blocks(reply or "")
    return question, reply, ("\n\n".join(b.rstrip() for b in blocks) + "\n") if blocks else None


class PackageInstructGenerator:
    name = "package_instruct"
    kind = "chats"

    def __init__(self, teacher, sandbox, config: PackageInstructConfig | None = None,
                 sampling: SamplingConfig | None = None, prompt_dir: str | None = None):
        self.teacher, self.sandbox = teacher, sandbox
        self.config = config or PackageInstructConfig()
        self.sampling = sampling or SamplingConfig()
        self.template = load_template("package_instruct", prompt_dir)
        missing = [p for p in self.config.packages if importlib.util.find_spec(p.split(".")[0]) is None]
        if missing:
            raise ValueError(f"packages {missing} cannot be imported here (Package-Instruct documents the "
                             "installed API)")

    def seeds(self) -> Iterator[Seed]:
        return api_seeds(self.config.packages, min_doc_chars=self.config.min_doc_chars,
                         max_doc_chars=self.config.max_doc_chars)

    def process(self, seed: Seed) -> Outcome:
        doc = seed.payload
        prompt = render(self.template, package=doc.package, version=doc.version, api=doc.api, name=doc.name,
                        signature=doc.signature, docstring=doc.docstring)
        answer = ask(self.teacher, self.sampling, seed.id, prompt)
        question, reply, code = parse_qa(answer)
        error = ""
        if not question or not reply or not code:
            reason = "malformed"
        elif not answers.parses(code):
            reason = "syntax_error"
        elif not re.search(rf"\b{re.escape(doc.name)}\b", code):
            reason = "api_not_used"
        elif answers.count_asserts(code) < self.config.min_asserts:
            reason = "too_few_tests"
        else:
            reason, error = execution.run_program(self.sandbox, code, failed_reason="code_failed")
        if reason is not None:
            return Outcome(reason=reason, generated=True, detail=error, answer=answer)
        record = {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": reply}],
                  "meta": {"generator": self.name, "package": doc.package, "version": doc.version, "api": doc.api,
                           "teacher": self.teacher.name}}
        return Outcome(record=record, generated=True)

    def record_text(self, record: dict) -> str:
        return "\n".join(m["content"] for m in record["messages"])

    def describe(self) -> dict:
        return {**dataclasses.asdict(self.config), "sampling": dataclasses.asdict(self.sampling)}
