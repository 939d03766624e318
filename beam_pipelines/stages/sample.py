"""Stage `sample`: per-language downsampling (Java 200/449, HTML 64/474 by default).

The decision lives in `opencoder_jax.refinecode.sampling` (`steps.SampleStep`); dropped
documents get the reason `sample/downsampled`. Metrics: sample/kept/<language> and
sample/dropped/<language> document counts.
"""
from __future__ import annotations

from beam_pipelines.per_document_stage import PerDocumentStage
from beam_pipelines.stage import StageContext
from opencoder_jax.refinecode.sampling import SampleConfig
from opencoder_jax.refinecode.steps import SampleStep


def make_stage(context: StageContext, config: SampleConfig | None = None) -> PerDocumentStage:
    del context  # sampling writes no side files
    return PerDocumentStage(SampleStep(config if config is not None else SampleConfig()))
