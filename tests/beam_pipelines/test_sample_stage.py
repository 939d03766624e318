"""Stage `sample` in Beam: conservation, drop reason, and the same decision as the library."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.stage import StageContext
from beam_pipelines.stages import sample as sample_stage
from opencoder_jax.refinecode.sampling import LanguageSampler

LANGS = ["java", "html", "python", "unknown"]
DOCS = [{"id": f"doc-{i}", "language": LANGS[i % 4], "repo": "r", "path": f"f{i}", "text": f"t{i}", "meta": {}}
        for i in range(400)]


def test_sample_stage_matches_library_and_conserves():
    sampler = LanguageSampler()
    kept_ids = sorted(d["id"] for d in DOCS if sampler.keep(d))
    dropped = [d for d in DOCS if not sampler.keep(d)]
    assert 0 < len(dropped) < 200 and all(d["language"] in ("java", "html") for d in dropped)
    expected_metrics = {}
    for d in DOCS:
        key = f"sample/{'kept' if sampler.keep(d) else 'dropped'}/{d['language']}"
        expected_metrics[key] = expected_metrics.get(key, 0) + 1
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(DOCS) | sample_stage.make_stage(StageContext(output_dir="/tmp", temp_dir="/tmp"))
        assert_that(out["kept"] | "KeptIds" >> beam.Map(lambda d: d["id"]), equal_to(kept_ids), label="kept")
        assert_that(out["dropped"] | "Drops" >> beam.Map(lambda d: (d["reason"], d["id"], d["language"], d["head"])),
                    equal_to([("sample/downsampled", d["id"], d["language"], d["text"]) for d in dropped]),
                    label="dropped")
        assert_that(out["metrics"], equal_to(sorted(expected_metrics.items())), label="metrics")
