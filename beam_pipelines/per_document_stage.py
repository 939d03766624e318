"""One Beam wrapper for every per-document stage (`opencoder_jax/refinecode/steps.py`).

The step decides; this file only routes: kept documents to "kept", one drop record per
dropped input to "dropped" (`<stage>/<reason>`), metric pairs (summed per key where they are
made) to "metrics". An exception a step did not handle drops that input as
`<stage>/error/<ExceptionType>`: a rule bug is counted and reported, never a crashed run.
"""
from __future__ import annotations

import apache_beam as beam

from beam_pipelines.stage import make_drop, stage_output
from opencoder_jax.refinecode.steps import DocumentStep, Outcome


class ApplyStep(beam.DoFn):
    def __init__(self, step: DocumentStep, drop_record):
        self._step = step
        self._drop_record = drop_record
        self._ready = False

    def setup(self):
        self._step.setup()
        self._ready = True

    def process(self, item):
        if not self._ready:  # runners that skip setup (direct calls in tests)
            self.setup()
        try:
            outcome = self._step(item)
        except Exception as exc:  # noqa: BLE001 - counted and reported, never a crashed run
            outcome = Outcome.dropped(f"error/{type(exc).__name__}", error=f"{type(exc).__name__}: {exc}"[:500])
        for pair in outcome.metrics:
            yield beam.pvalue.TaggedOutput("metrics", pair)
        if outcome.reason is None:
            yield outcome.doc
        else:
            yield beam.pvalue.TaggedOutput("dropped", self._drop_record(
                self._step.name, outcome.reason, item, **outcome.drop_fields))


class PerDocumentStage(beam.PTransform):
    """A `DocumentStep` as a stage: {"kept", "dropped", "metrics"} (see beam_pipelines/stage.py).

    `drop_record(stage, reason, item, **fields) -> dict` builds the drop record (default
    `stage.make_drop`; preprocess passes its own, its inputs are raw files).
    """

    def __init__(self, step: DocumentStep, drop_record=None):
        super().__init__()
        self.step = step
        self._drop_record = drop_record or make_drop

    def expand(self, items):
        out = items | "Apply" >> beam.ParDo(ApplyStep(self.step, self._drop_record)).with_outputs(
            "dropped", "metrics", main="kept")
        metrics = out.metrics | "SumMetrics" >> beam.CombinePerKey(sum)
        return stage_output(out.kept, out.dropped, metrics)
