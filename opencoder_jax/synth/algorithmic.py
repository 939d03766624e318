"""Algorithmic corpus selection (OpenCoder's annealing data): no teacher, a keyword rule.

OpenCoder (Sec. 3.2, annealing data) keeps the documents of the pretraining corpus that contain
"leetcode", "def solution" or "class solution": solutions to algorithmic problems, a small,
high-quality source for the annealing stage. We match case-insensitively (LeetCode's own
templates write `class Solution`). Kept documents are written unchanged except for
`meta.algorithmic_keyword` (the first keyword found) and `meta.seed_id`; the others are
counted `rejected/no_keyword`.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Iterable, Iterator

import gin

from opencoder_jax.synth.runner import Outcome
from opencoder_jax.synth.seeds import Seed, document_seeds

KEYWORDS = ("leetcode", "def solution", "class solution")


def algorithmic_keyword(text: str, keywords: tuple[str, ...] = KEYWORDS) -> str | None:
    """The first keyword (in `keywords` order) that `text` contains, case-insensitively."""
    lowered = text.lower()
    for kw in keywords:
        if kw in lowered:
            return kw
    return None


@gin.configurable
@dataclasses.dataclass(frozen=True)
class AlgorithmicConfig:
    keywords: tuple = KEYWORDS


class AlgorithmicSelection:
    name = "algorithmic"
    kind = "documents"

    def __init__(self, inputs: Iterable[str], config: AlgorithmicConfig | None = None):
        self.inputs = list(inputs)
        self.input_stats: Counter = Counter()  # unreadable input records
        self.config = config or AlgorithmicConfig()

    def seeds(self) -> Iterator[Seed]:
        return document_seeds(self.inputs, self.input_stats)

    def process(self, seed: Seed) -> Outcome:
        doc = seed.payload
        kw = algorithmic_keyword(doc["text"], tuple(k.lower() for k in self.config.keywords))
        if kw is None:
            return Outcome(reason="no_keyword")
        out = dict(doc)
        out["meta"] = dict(doc.get("meta") or {}, algorithmic_keyword=kw)
        return Outcome(record=out)

    def record_text(self, record: dict) -> str:
        return record["text"]

    def describe(self) -> dict:
        return {"inputs": self.inputs, **dataclasses.asdict(self.config)}
