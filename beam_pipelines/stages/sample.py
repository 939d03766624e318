"""Stage `sample`: per-language downsampling (Java 200/449, HTML 64/474 by default).

The decision lives in `opencoder_jax.refinecode.sampling`; dropped documents get the
reason `sample/downsampled`. Metrics: sample/kept/<language> and sample/dropped/<language>
document counts.
"""
from __future__ import annotations

import apache_beam as beam

from beam_pipelines.stage import StageContext, make_drop, stage_output
from opencoder_jax.refinecode.sampling import LanguageSampler, SampleConfig
from opencoder_jax.refinecode.transforms.comment_syntax import canonical_language


class _Sample(beam.DoFn):
    def __init__(self, config: SampleConfig):
        self._config = config
        self._sampler = None

    def setup(self):
        self._sampler = LanguageSampler(self._config)

    def process(self, doc):
        language = canonical_language(doc.get("language")) or "unknown"
        if self._sampler.keep(doc):
            yield doc
            yield beam.pvalue.TaggedOutput("metrics", (f"sample/kept/{language}", 1))
        else:
            yield beam.pvalue.TaggedOutput("dropped", make_drop("sample", "downsampled", doc))
            yield beam.pvalue.TaggedOutput("metrics", (f"sample/dropped/{language}", 1))


class SampleStage(beam.PTransform):
    def __init__(self, config: SampleConfig):
        super().__init__()
        LanguageSampler(config)  # fail in the driver on a bad rate, not on a worker
        self.config = config

    def expand(self, docs):
        out = docs | "Sample" >> beam.ParDo(_Sample(self.config)).with_outputs("dropped", "metrics", main="kept")
        metrics = out.metrics | "SumMetrics" >> beam.CombinePerKey(sum)
        return stage_output(out.kept, out.dropped, metrics)


def make_stage(context: StageContext) -> SampleStage:
    return SampleStage(SampleConfig())
