"""Parity with OpenCoder's released filter, file by file, on a committed golden file.

tests/refinecode/data/golden/filter_golden.jsonl.gz holds a few hundred real files (CPython,
numpy, pyarrow, git, npm packages, Rust docs, PostgreSQL, pyenv and PyPI sdists; licences in
LICENSES.md) with what the RELEASED opc_data_filtering computed for each (its program language
and doc type, every quality signal, signal errors, every rule hit, the decision), produced by
scripts/build_filter_golden.py, which runs the released code and never imports ours. This test
recomputes everything with our filter and checks it: floats to 1e-9, the rest exactly.

Probabilistic rules ('x > 0.5 and random.random() > 0.2') were recorded with random() = 1.0,
i.e. firing exactly on their condition; we compare with the same rules at probability 1.
"""
from __future__ import annotations

import dataclasses
import math
from collections import Counter

import pytest

from opencoder_jax.refinecode.heuristic_filter import compute_signals, decide, file_facts
from opencoder_jax.refinecode.languages import detect_language
from opencoder_jax.refinecode.filter_config import FilterConfig
from tests.helpers.filter_golden import as_document, load_golden

RECORDS = load_golden()
CONFIG = FilterConfig(signal_timeout_s=0)  # no timer: a slow test machine must not change values


def _tables_firing_on_condition():
    return {table: {name: (None if r is None else dataclasses.replace(r, probability=1.0)) for name, r in rules.items()}
            for table, rules in CONFIG.tables().items()}


TABLES = _tables_firing_on_condition()


def test_golden_file_is_large_and_mixed():
    assert len(RECORDS) >= 300
    langs = Counter(r["program_lang"] for r in RECORDS)
    for lang in ("python", "c", "cpp", "go", "java", "csharp", "javascript", "html", "sql", "shell"):
        assert langs[lang] >= 3, (lang, langs)
    types = Counter(r["doc_type"] for r in RECORDS)
    assert types["code"] >= 200 and types["data"] >= 10 and types["text"] >= 10
    kept = sum(r["effective"] for r in RECORDS)
    assert 50 <= kept <= len(RECORDS) - 50  # both decisions well represented
    assert all(r["licence"] for r in RECORDS)


def _same(ours, released) -> bool:
    if released is None or ours is None:
        return ours is None and released is None
    if isinstance(released, str) or isinstance(ours, str):
        return ours == released
    if isinstance(released, float) and math.isnan(released):
        return isinstance(ours, float) and math.isnan(ours)
    return math.isclose(float(ours), float(released), rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("index", range(len(RECORDS)), ids=[f"{r['source']}/{r['path']}" for r in RECORDS])
def test_signals_and_decision_match_released(index):
    record = RECORDS[index]
    doc = as_document(record)
    info = detect_language(record["path"])
    assert (info.name, info.doc_type) == (record["program_lang"], record["doc_type"])
    facts = file_facts(doc, CONFIG)
    signals, errors = compute_signals(doc, CONFIG, facts)

    released = record["signals"] or {}
    assert list(signals) == record["signal_order"], "computed signals (names, evaluation order) differ"
    wrong = {name: (signals[name], value) for name, value in released.items() if not _same(signals[name], value)}
    assert not wrong, f"signals (ours, released): {wrong}"
    assert set(errors) == set(record["signal_errors"])

    decision = decide(doc, signals, CONFIG, facts, errors, TABLES)
    assert decision.keep == bool(record["effective"])
    fired = {name for name in decision.fired if not name.startswith("doc_type/")}
    assert fired == {name for name, hit in record["hit_map"].items() if hit}
    assert {name[len("rule:"):] for name in decision.errors if name.startswith("rule:")} == set(record["rule_errors"])
