"""Stage `transform`: copyright removal and PII reduction (rewrite, never drop).

The rules live in `opencoder_jax.refinecode.transforms`; this stage only applies them.
Every input document is kept (possibly rewritten); "dropped" is always empty.

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

import apache_beam as beam

from beam_pipelines.stage import StageContext, stage_output
from opencoder_jax.refinecode.transforms import TransformConfig, apply_transforms_with_errors


def transform_with_metrics(doc: dict, config: TransformConfig) -> tuple[dict, list[tuple[str, int]]]:
    """One document through every enabled transform, with its metric pairs."""
    result = apply_transforms_with_errors(doc, config)
    metrics = [(f"transform/error/{name}", 1) for name, _ in result.errors]
    if result.fired:
        metrics += [(f"transform/fired/{name}", 1) for name in result.fired]
        metrics += [(f"transform/replacements/{n}", c) for n, c in result.replacements.items()]
        metrics += [(f"transform/bytes_removed/{n}", b) for n, b in result.bytes_removed.items()]
        metrics += [("transform/changed_docs", 1), ("transform/bytes_removed", sum(result.bytes_removed.values()))]
    return result.doc, metrics


class _Transform(beam.DoFn):
    def __init__(self, config: TransformConfig):
        self._config = config

    def process(self, doc):
        try:
            new_doc, metrics = transform_with_metrics(doc, self._config)
        except Exception as e:  # noqa: BLE001 -- never lose a document to a transform bug
            new_doc, metrics = doc, [(f"transform/error/{type(e).__name__}", 1)]
        yield new_doc
        for pair in metrics:
            yield beam.pvalue.TaggedOutput("metrics", pair)


class TransformStage(beam.PTransform):
    def __init__(self, config: TransformConfig):
        super().__init__()
        self.config = config

    def expand(self, docs):
        out = docs | "Transform" >> beam.ParDo(_Transform(self.config)).with_outputs("metrics", main="kept")
        metrics = out.metrics | "SumMetrics" >> beam.CombinePerKey(sum)
        dropped = docs.pipeline | "NoDrops" >> beam.Create([])
        return stage_output(out.kept, dropped, metrics)


def make_stage(context: StageContext) -> TransformStage:
    return TransformStage(TransformConfig())
