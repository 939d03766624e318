"""Stage `transform`: copyright removal and PII reduction (rewrite, never drop).

The rules live in `opencoder_jax.refinecode.transforms`; the step (`steps.TransformStep`)
applies them. Every input document is kept (possibly rewritten); "dropped" is always empty.

Metrics (summed per key into stats.json["metrics"]):
  transform/fired/<name>          documents that <name> changed
  transform/replacements/<name>   placeholders a PII transform inserted
  transform/bytes_removed/<name>  UTF-8 bytes <name> removed (net: placeholders count)
  transform/changed_docs          documents changed by any transform
  transform/bytes_removed         net UTF-8 bytes removed by all transforms
  transform/error/<name>          documents on which <name> raised (that transform skipped,
                                  the document kept)
"""
from __future__ import annotations

from beam_pipelines.per_document_stage import PerDocumentStage
from beam_pipelines.stage import StageContext
from opencoder_jax.refinecode.steps import TransformStep
from opencoder_jax.refinecode.transforms import TransformConfig


def make_stage(context: StageContext, config: TransformConfig | None = None) -> PerDocumentStage:
    del context  # the transform writes no side files
    return PerDocumentStage(TransformStep(config if config is not None else TransformConfig()))
