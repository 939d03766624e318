"""Filter configuration: the released threshold tables, gin overrides, and table selection.

Tables (released_thresholds.py, released values): text 'zh' / 'en'; code 'others', 'data',
'shell', 'sql', 'python', 'cpp', 'c', 'csharp', 'go', 'html', 'java', 'javascript'.
Selection (released compute_filtering.py): text documents use 'zh' when their language is
'zh' and 'en' otherwise; code/data documents use their program language's table when it has
one, else 'data' for data files and 'others' for code.

Override any rule with gin, e.g.
    FilterConfig.overrides = {"python": {"qsc_code_num_chars": None},
                              "*": {"qsc_code_num_lines": [["<", 5]]}}
("*" applies to every table; a spec is None, [op, value], [[op, value], ...] or
{"clauses": [...], "probability": p}; a signal absent from a table is appended to it).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import gin

from opencoder_jax.names import check_names
from opencoder_jax.refinecode.signals.registry import signal_groups, specific_signals
from opencoder_jax.refinecode.filter_quirks import RELEASED, FilterQuirks
from opencoder_jax.refinecode.released_thresholds import CODE_THRESHOLDS, TEXT_THRESHOLDS
from opencoder_jax.refinecode.filter_rule import Rule, parse_rule

# program languages with their own code table (released support_program_langs)
LANGUAGE_TABLES = ("cpp", "csharp", "c", "go", "html", "java", "javascript", "python", "shell", "sql")
ALL_TABLES = (*TEXT_THRESHOLDS, *CODE_THRESHOLDS)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class FilterConfig:
    """Heuristic filter settings; defaults reproduce OpenCoder's released filter."""

    overrides: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    seed: int = 0  # seed of the per-document draws of probabilistic rules
    signal_timeout_s: float = 10.0  # per signal, as released (main thread only; 0 = off)
    drop_unknown_doc_type: bool = True  # released: doc types 'unknown'/'excluded' are dropped
    drop_on_signal_error: bool = False  # True: any failing signal drops the doc (released: skip)
    zh_han_fraction: float = 0.3  # text language substitute: Han share of visible chars for 'zh'
    keep_signals_in_meta: bool = False  # kept docs carry their signals in doc["meta"]["qsc"]
    quirks: FilterQuirks = RELEASED  # released quirks on/off (filter_quirks.py; filter_fixed.gin)

    def __post_init__(self):
        specific_signals()  # a missing parser package fails here, at the run's start (registry.py)
        overrides = dict(self.overrides)
        check_names("table", overrides, (*ALL_TABLES, "*"), where="FilterConfig.overrides")
        for table, rules in overrides.items():
            # a typo would match nothing and silently change nothing: an error with near matches
            check_names("rule", dict(rules), known_rules(table), where=table)
            for spec in dict(rules).values():
                parse_rule(spec)  # fail in the driver, not on a worker

    def tables(self) -> dict[str, dict[str, Rule | None]]:
        """Every table with overrides applied (table -> signal -> Rule or None), in order."""
        resolved = {name: dict(rules) for name, rules in {**TEXT_THRESHOLDS, **CODE_THRESHOLDS}.items()}
        overrides = dict(self.overrides)
        for table in resolved:
            for source in ("*", table):
                for name, spec in dict(overrides.get(source, {})).items():
                    if source == "*" and name not in resolved[table]:
                        continue  # '*' only changes rules a table already has
                    resolved[table][name] = parse_rule(spec)
        return resolved


def known_rules(table: str) -> set[str]:
    """Signal names an override of `table` may name: its rules plus every signal computed for
    the documents it judges ('*': every table's rules, as '*' only changes existing rules)."""
    tables = {**TEXT_THRESHOLDS, **CODE_THRESHOLDS}
    if table == "*":
        return {name for rules in tables.values() for name in rules}
    doc_type = "text" if table in TEXT_THRESHOLDS else "code"
    computed = {name for _tier, group in signal_groups(doc_type, table) for name in group}
    return set(tables[table]) | computed


def table_name(doc_type: str, lang: str, program_lang: str) -> str | None:
    """Which table judges a document (None for doc types the released filter drops)."""
    if doc_type == "text":
        return "zh" if lang == "zh" else "en"
    if doc_type in ("code", "data"):
        if program_lang in LANGUAGE_TABLES:
            return program_lang
        return "data" if doc_type == "data" else "others"
    return None
