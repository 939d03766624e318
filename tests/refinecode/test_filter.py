"""The filter's control flow (released parity), error policy and linear-time regexes."""
import time

import pytest

from opencoder_jax.refinecode import heuristic_filter as F
from opencoder_jax.refinecode.signals import registry
from opencoder_jax.refinecode.signals import text_signals as ts
from opencoder_jax.refinecode.signals import code_signals as cs
from opencoder_jax.refinecode.signals.code_document import CodeDocument
from opencoder_jax.refinecode.filter_config import FilterConfig

GOOD_PY = '"""Tools."""\n\n\ndef add(a, b):\n    """Sum two numbers."""\n    total = a + b\n    return total\n\n\n' \
    'def scale(values, factor):\n    result = []\n    for value in values:\n        result.append(value * factor)\n' \
    '    return result\n\n\nclass Counter:\n    def __init__(self):\n        self.count = 0\n\n    def bump(self):\n' \
    '        self.count += 1\n        return self.count\n'


@pytest.fixture(autouse=True)
def no_specific_tier():
    registry.set_specific_signals({})
    yield
    registry.set_specific_signals(None)


def doc(path, text, **kw):
    return {"id": path, "repo": "r", "path": path, "text": text, **kw}


def test_good_python_is_kept():
    d = F.filter_document(doc("pkg/tools.py", GOOD_PY))
    assert d.keep, d.fired
    assert d.table == "python" and d.signals["qsc_code_num_lines"] == float(GOOD_PY.count("\n"))


def test_short_file_is_dropped_with_every_fired_rule_listed():
    d = F.filter_document(doc("a.py", "x = 1\n"))
    assert not d.keep
    assert d.reason == "qsc_code_num_words"  # first fired rule in the released table order
    assert {"qsc_code_num_words", "qsc_code_num_chars", "qsc_code_num_lines"} <= set(d.fired)


def test_unknown_and_excluded_doc_types_are_dropped():
    assert F.filter_document(doc("a.nosuchext", "hello " * 100)).fired == ["doc_type/unknown"]
    assert F.filter_document(doc("a.csv", "a,b\n" * 100)).fired == ["doc_type/excluded"]
    kept = F.filter_document(doc("a.nosuchext", "hello " * 100), FilterConfig(drop_unknown_doc_type=False))
    assert kept.keep


def test_text_documents_use_the_text_tier():
    text = ("Gardens need patient work through every season of the year.\n"
            "Rivers carry stones downstream, shaping valleys over centuries.\n"
            "Most beginners water their plants far too often in spring.\n"
            "A good compost heap balances green leaves with brown straw.\n"
            "Bees visit flowers that bloom early, before the orchards wake.\n"
            "Clay soil holds moisture, while sandy ground drains quickly.\n"
            "Prune fruit trees when they are dormant and the sap is low.\n"
            "Mulch keeps weeds down and protects roots from sudden frost.\n"
            "Tomatoes love warmth, sunlight and a sheltered southern wall.\n"
            "Rotate crops yearly so pests cannot settle into one bed.\n"
            "Seeds saved from healthy plants often adapt to local weather.\n"
            "Finally, keep notes: memory fades faster than any harvest.\n")
    d = F.filter_document(doc("docs/guide.md", text))
    assert d.table == "en" and all(k.startswith("qsc_doc_") for k in d.signals)
    assert d.keep, d.fired


def test_document_language_from_preprocess_fields_is_used():
    d = F.filter_document(doc("weird_name", GOOD_PY, language="python", lang_type="code"))
    assert d.table == "python"


def test_signal_error_skips_the_rest_of_its_group_like_the_released_code():
    def boom(view):
        raise RuntimeError("bad document")

    registry.set_specific_signals({"python": {"qsc_codepython_a": lambda v: 1.0, "qsc_codepython_boom": boom,
                                              "qsc_codepython_never": lambda v: 2.0}})
    signals, errors = F.compute_signals(doc("t.py", GOOD_PY))
    assert signals["qsc_codepython_a"] == 1.0 and signals["qsc_codepython_boom"] is None
    assert "qsc_codepython_never" not in signals
    assert "RuntimeError" in errors["qsc_codepython_boom"]
    assert F.decide(doc("t.py", GOOD_PY), signals, signal_errors=errors).keep  # released: skipped, kept
    strict = F.decide(doc("t.py", GOOD_PY), signals, FilterConfig(drop_on_signal_error=True), signal_errors=errors)
    assert strict.fired == ["signal_error/qsc_codepython_boom"]


def test_specific_tier_rules_fire_through_the_registry_hook():
    registry.set_specific_signals({"python": {"qsc_codepython_cate_ast": lambda v: v.ast is not None}})
    assert F.filter_document(doc("t.py", GOOD_PY)).keep
    d = F.filter_document(doc("t.py", GOOD_PY + "def broken(:\n"))
    assert d.fired == ["qsc_codepython_cate_ast"]


def test_probabilistic_rule_is_deterministic_per_document():
    registry.set_specific_signals({"python": {"qsc_codepython_score_lines_no_logic": lambda v: 0.9}})
    outcomes = [F.filter_document(doc(f"m{i}.py", GOOD_PY)).keep for i in range(200)]
    assert outcomes == [F.filter_document(doc(f"m{i}.py", GOOD_PY)).keep for i in range(200)]
    assert 0.1 < sum(outcomes) / 200 < 0.3  # dropped with p = 0.8


def test_unbuildable_document_is_dropped_as_signal_error():
    d = F.filter_document({"id": "x", "path": "a.py", "text": None})
    assert d.fired == ["signal_error/document"] and not d.keep


def test_rule_that_cannot_compare_is_recorded_not_fired():
    registry.set_specific_signals({"python": {"qsc_codepython_frac_lines_pass": lambda v: "text"}})
    d = F.filter_document(doc("t.py", GOOD_PY))
    assert d.keep and "rule:qsc_codepython_frac_lines_pass" in d.errors


ADVERSARIAL = ["a" * 1_000_000, "(" * 1_000_000, "<" * 1_000_000, "(http://" * 125_000, "'" * 1_000_000,
               '"' * 1_000_000, "0x" * 500_000, "= '" * 333_333, "'+'" * 333_333, "\\u00" * 250_000,
               "'''" + "x" * 1_000_000, "<a" * 500_000, "ab " * 333_333]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:6]))
def test_regex_signals_are_linear_on_1mb_runs(text):
    """Each regex-based signal finishes 1 MB of repeated characters quickly (quadratic would take hours)."""
    view = CodeDocument(text, program_lang="unknown_lang")  # line-based comment split, no lexer
    start = time.process_time()
    for fn in (ts.num_sentences, ts.frac_chars_hyperlink_html_tag, ts.frac_chars_hex_words_text,
               cs.frac_lines_long_string, cs.frac_chars_string_length, cs.frac_chars_long_word_length,
               cs.frac_lines_string_concat, cs.cate_encoded_data, cs.frac_chars_hex_words):
        fn(view)
    assert time.process_time() - start < 60  # generous: 2 shared cores; quadratic = ~1e12 steps
