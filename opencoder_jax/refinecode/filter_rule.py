"""One filter rule as data: comparison clauses (any of them fires) and an optional probability.

No strings are evaluated at run time: a released rule such as 'lambda x: x < 2 or x > 10'
is written rule(('<', 2), ('>', 10)); 'lambda x: x > 0.5 and random.random() > 0.2' is
rule(('>', 0.5), probability=0.8), whose draw is deterministic per (seed, document id, rule).
"""
from __future__ import annotations

import dataclasses
import hashlib
import operator
from typing import Any

OPERATORS = {"<": operator.lt, ">": operator.gt, "==": operator.eq, "<=": operator.le, ">=": operator.ge}


@dataclasses.dataclass(frozen=True)
class Rule:
    clauses: tuple[tuple[str, Any], ...]
    probability: float = 1.0  # chance that a document meeting the clauses is dropped

    def __post_init__(self):
        if not self.clauses:
            raise ValueError("a rule needs at least one clause")
        for op, _ in self.clauses:
            if op not in OPERATORS:
                raise ValueError(f"unknown comparison {op!r}; use one of {sorted(OPERATORS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {self.probability}")

    def condition(self, value: Any) -> bool:
        """True when any clause holds; raises TypeError for incomparable values (released: error, no fire)."""
        return any(OPERATORS[op](value, threshold) for op, threshold in self.clauses)

    def fires(self, value: Any, draw: float) -> bool:
        """Released form `cond and random.random() > 1 - p`, with `draw` in [0, 1) for random()."""
        if not self.condition(value):
            return False
        return self.probability >= 1.0 or draw > 1.0 - self.probability

    def describe(self) -> str:
        text = " or ".join(f"x {op} {v!r}" for op, v in self.clauses)
        return text if self.probability >= 1.0 else f"({text}) with p={self.probability}"


def rule(*clauses: tuple[str, Any], probability: float = 1.0) -> Rule:
    return Rule(tuple((op, v) for op, v in clauses), probability)


def parse_rule(spec: Any) -> Rule | None:
    """A rule from a gin-friendly spec: None, a Rule, [op, value], [[op, value], ...],
    or {"clauses": [[op, value], ...], "probability": p}."""
    if spec is None or isinstance(spec, Rule):
        return spec
    if isinstance(spec, dict):
        return rule(*(tuple(c) for c in spec["clauses"]), probability=float(spec.get("probability", 1.0)))
    if isinstance(spec, (list, tuple)) and len(spec) == 2 and isinstance(spec[0], str):
        return rule(tuple(spec))
    if isinstance(spec, (list, tuple)):
        return rule(*(tuple(c) for c in spec))
    raise ValueError(f"cannot read a filter rule from {spec!r}")


def deterministic_draw(seed: int, doc_id: str, rule_name: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, document id, rule name): reproducible runs."""
    digest = hashlib.blake2b(f"{seed}\x00{doc_id}\x00{rule_name}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64
