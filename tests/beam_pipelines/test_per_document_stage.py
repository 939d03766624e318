"""One wrapper for every per-document stage: routing, drop records, error handling, registry."""
import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines import stage_registry
from beam_pipelines.per_document_stage import PerDocumentStage
from beam_pipelines.refinecode import make_stage, parse_stages
from beam_pipelines.stage import StageContext
from opencoder_jax.refinecode.steps import DocumentStep, Outcome


class _ByParity(DocumentStep):
    """Keeps even sizes (rewritten), drops odd ones, raises on size 7."""

    name = "parity"

    def __init__(self):
        self.setups = 0

    def setup(self):
        self.setups += 1

    def __call__(self, doc):
        if doc["size"] == 7:
            raise KeyError("boom")
        if doc["size"] % 2:
            return Outcome.dropped("odd", [("parity/odd", 1)], size=doc["size"])
        return Outcome.kept({**doc, "text": doc["text"].upper()}, [("parity/even", 1), ("parity/bytes", doc["size"])])


DOCS = [{"id": f"d{n}", "repo": "r", "path": f"f{n}.py", "language": "python", "text": "x" * n, "size": n}
        for n in range(1, 9)]


def test_kept_dropped_metrics_and_errors_are_routed_once_each():
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(DOCS) | PerDocumentStage(_ByParity())
        assert_that(out["kept"] | "KeptIds" >> beam.Map(lambda d: (d["id"], d["text"])),
                    equal_to([(f"d{n}", "X" * n) for n in (2, 4, 6, 8)]), label="kept")
        assert_that(out["dropped"] | "Reasons" >> beam.Map(lambda d: (d["id"], d["reason"], d.get("size"), d.get("error"))),
                    equal_to([("d1", "parity/odd", 1, None), ("d3", "parity/odd", 3, None), ("d5", "parity/odd", 5, None),
                              ("d7", "parity/error/KeyError", None, "KeyError: 'boom'")]), label="dropped")
        # summed per key inside the stage: 2+4+6+8 bytes of kept documents
        assert_that(out["metrics"], equal_to([("parity/odd", 3), ("parity/even", 4), ("parity/bytes", 20)]),
                    label="metrics")


def test_drop_record_never_carries_the_full_text():
    big = [{"id": "big", "repo": "r", "path": "big.py", "language": "python", "text": "y" * 10_001, "size": 10_001}]
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(big) | PerDocumentStage(_ByParity())
        assert_that(out["dropped"] | beam.Map(lambda d: (len(d["head"]), d["bytes"])), equal_to([(400, 10_001)]))


def test_registry_lists_every_stage_in_the_papers_order():
    assert stage_registry.STAGE_ORDER == ("preprocess", "exact_dedup", "fuzzy_dedup", "transform", "filter",
                                          "decontaminate", "sample")
    ctx = StageContext(output_dir="/tmp/x", temp_dir="/tmp/x/_tmp")
    for name in ("transform", "filter", "sample", "preprocess"):
        assert isinstance(make_stage(name, ctx), PerDocumentStage)


def test_unknown_stage_names_list_near_matches():
    with pytest.raises(ValueError, match="fuzzy_dedup"):
        parse_stages("preprocess,fuzy_dedup")
    with pytest.raises(ValueError, match="decontaminate"):
        make_stage("decontaminat", StageContext(output_dir="/tmp/x", temp_dir="/tmp/x/_tmp"))
