"""Stage `transform` in Beam: every doc kept, rewritten docs carry meta, metrics summed."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.stage import StageContext
from beam_pipelines.stages import transform as transform_stage
from opencoder_jax.refinecode.transforms import pii

DOCS = [
    {"id": "a", "language": "python", "meta": {},
     "text": "# Copyright 2020 Jane Roe\n# SPDX-License-Identifier: MIT\n\nx = 'jane@corp.io'\n"},
    {"id": "b", "language": "c", "meta": {}, "text": "int main(void) { return 0; }\n"},
    {"id": "c", "language": "go", "meta": {}, "text": "package x // see 93.184.216.34 and bob@corp.io\n"},
    {"id": "d", "language": "python", "meta": {}, "text": None},  # bad input: kept, counted
]


def test_transform_stage_keeps_all_and_counts():
    expected_texts = {"a": "x = '<email>'\n", "b": DOCS[1]["text"],
                      "c": "package x // see <ip_address> and <email>\n", "d": None}
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(DOCS) | transform_stage.make_stage(StageContext(output_dir="/tmp", temp_dir="/tmp"))
        assert_that(out["kept"] | "Texts" >> beam.Map(lambda d: (d["id"], d["text"], tuple(d["meta"].get("transforms", [])))),
                    equal_to([("a", expected_texts["a"], ("copyright", "pii_email")),
                              ("b", expected_texts["b"], ()),
                              ("c", expected_texts["c"], ("pii_email", "pii_ip_address")),
                              ("d", None, ())]), label="kept")
        assert_that(out["dropped"], equal_to([]), label="dropped")
        removed_a = len(DOCS[0]["text"]) - len(expected_texts["a"])
        email_delta_c = len("bob@corp.io") - len("<email>")
        ip_delta_c = len("93.184.216.34") - len("<ip_address>")
        assert_that(out["metrics"], equal_to([
            ("transform/fired/copyright", 1), ("transform/fired/pii_email", 2), ("transform/fired/pii_ip_address", 1),
            ("transform/replacements/pii_email", 2), ("transform/replacements/pii_ip_address", 1),
            ("transform/bytes_removed/copyright", len("# Copyright 2020 Jane Roe\n# SPDX-License-Identifier: MIT\n\n")),
            ("transform/bytes_removed/pii_email", len("jane@corp.io") - len("<email>") + email_delta_c),
            ("transform/bytes_removed/pii_ip_address", ip_delta_c),
            ("transform/changed_docs", 2), ("transform/bytes_removed", removed_a + email_delta_c + ip_delta_c),
            ("transform/error/input", 1),
        ]), label="metrics")


def test_transform_error_is_counted_and_doc_kept(monkeypatch):
    def boom(*_a, **_k):
        raise RecursionError("deep")
    monkeypatch.setattr(pii, "redact_emails", boom)
    docs = [{"id": "e", "language": "python", "meta": {}, "text": "x = 'jane@corp.io'\n"}]
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(docs) | transform_stage.make_stage(StageContext(output_dir="/tmp", temp_dir="/tmp"))
        assert_that(out["kept"], equal_to(docs), label="kept")
        assert_that(out["metrics"], equal_to([("transform/error/pii_email", 1)]), label="metrics")
