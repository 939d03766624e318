"""Beam stage `filter`: kept/dropped/metrics, conservation, optional signals in meta."""
import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.stage import StageContext
from beam_pipelines.stages import filter as filter_stage
from opencoder_jax.refinecode.signals import registry
from opencoder_jax.refinecode.filter_config import FilterConfig

GOOD_PY = ('"""Tools."""\n\n\ndef add(a, b):\n    """Sum two numbers."""\n    total = a + b\n    return total\n\n\n'
           'def scale(values, factor):\n    result = []\n    for value in values:\n        result.append(value * factor)\n'
           '    return result\n\n\nclass Counter:\n    def __init__(self):\n        self.count = 0\n\n    def bump(self):\n'
           '        self.count += 1\n        return self.count\n')
DOCS = [
    {"id": "good", "repo": "r", "path": "good.py", "language": "python", "lang_type": "code", "text": GOOD_PY, "meta": {}},
    {"id": "tiny", "repo": "r", "path": "tiny.py", "language": "python", "lang_type": "code", "text": "x = 1\n", "meta": {}},
    {"id": "csv", "repo": "r", "path": "t.csv", "language": "csv", "lang_type": "excluded", "text": "a,b\n", "meta": {}},
    {"id": "broken", "repo": "r", "path": "b.py", "language": "python", "lang_type": "code", "text": None, "meta": {}},
]


def run_stage(config):
    registry.set_specific_signals({})
    try:
        with TestPipeline(runner="FnApiRunner") as p:
            out = p | beam.Create(DOCS) | filter_stage.FilterStage(config)
            yield_ = {}
            kept_ids = out["kept"] | "KeptIds" >> beam.Map(lambda d: d["id"])
            reasons = out["dropped"] | "Reasons" >> beam.Map(lambda d: (d["id"], d["reason"]))
            metrics = out["metrics"] | "Sum" >> beam.CombinePerKey(sum)
            total = ((kept_ids, out["dropped"] | "DropIds" >> beam.Map(lambda d: d["id"]))
                     | beam.Flatten() | beam.combiners.Count.Globally())
            yield_.update(kept=kept_ids, reasons=reasons, metrics=metrics, total=total, kept_docs=out["kept"])
            yield p, yield_
    finally:
        registry.set_specific_signals(None)


# Hand-derived for the tiny document "x = 1\n" (python table, general-code tier only; released
# thresholds in released_thresholds.py): 6 characters, 1 line, normalised words "x" and "1", no
# comment, no U+FFFD. The python table's first rule (replacement symbols: 0 > 0.01) does not
# fire, its second does: the drop reason is the word count.
TINY_REASON = "filter/qsc_code_num_words"
TINY_MUST_FIRE = {
    "qsc_code_num_words",  # 2 < 30
    "qsc_code_num_chars",  # 6 < 50
    "qsc_code_num_lines",  # 1 < 10
}
TINY_MUST_NOT_FIRE = {
    "qsc_code_frac_chars_replacement_symbols",  # 0 > 0.01 is false
    "qsc_code_size_file_byte",  # 6 > 3e6 is false
    "qsc_code_num_chars_line_max",  # 6 > 1000 is false
    "qsc_code_cate_xml_start", "qsc_code_cate_autogen",  # no marker
    "qsc_code_frac_chars_comments",  # no comment: 0 > 0.8 is false
    "qsc_code_frac_lines_prompt_comments", "qsc_code_frac_lines_assert",  # no TODO, no assert
}


def test_stage_conserves_documents_and_reports_every_fired_rule():
    for _p, out in run_stage(FilterConfig()):
        assert_that(out["kept"], equal_to(["good"]), label="kept")
        assert_that(out["reasons"], equal_to([("tiny", TINY_REASON), ("csv", "filter/doc_type/excluded"),
                                              ("broken", "filter/signal_error/document")]), label="reasons")
        assert_that(out["total"], equal_to([len(DOCS)]), label="conservation")

        def check_metrics(pairs):
            m = dict(pairs)
            for rule in TINY_MUST_FIRE:
                assert m[f"filter/fired/{rule}"] == 1, rule
                assert m[f"filter/fired_by_language/python/{rule}"] == 1, rule
            for rule in TINY_MUST_NOT_FIRE:
                assert f"filter/fired/{rule}" not in m, rule
            assert not [k for k in m if k.startswith("filter/fired/qsc_codepython_")]  # tier disabled here
            assert m["filter/signal_error/document"] == 1
            assert m["filter/table/python"] == 2

        assert_that(out["metrics"], check_metrics, label="metrics")


def test_kept_documents_can_carry_their_signals():
    for _p, out in run_stage(FilterConfig(keep_signals_in_meta=True)):
        def check(docs):
            (doc,) = docs
            assert doc["meta"]["qsc"]["qsc_code_num_lines"] == float(GOOD_PY.count("\n"))

        assert_that(out["kept_docs"], check, label="meta")


def test_make_stage_reads_config_in_the_driver():
    stage = filter_stage.make_stage(StageContext(output_dir="/tmp/x", temp_dir="/tmp/y"))
    assert isinstance(stage, beam.PTransform)
