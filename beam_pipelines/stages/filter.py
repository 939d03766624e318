"""Beam stage `filter`: the three-tier heuristic filter (rules in opencoder_jax.refinecode.filter).

kept     documents no active rule drops (with doc["meta"]["qsc"] = their signals when
         FilterConfig.keep_signals_in_meta)
dropped  one record per dropped document, reason 'filter/<first fired rule>', plus the full
         list of fired rules in the record's "fired" field
metrics  ('filter/fired/<rule>', 1) for EVERY fired rule (a per-rule histogram; a document
         fired by several rules still counts once toward the conservation law),
         ('filter/fired_by_language/<language>/<rule>', 1), ('filter/signal_error/<name>', 1),
         ('filter/table/<table>', 1) for the threshold table used
"""
from __future__ import annotations

import copy

import apache_beam as beam

from beam_pipelines.stage import StageContext, make_drop, stage_output
from opencoder_jax.refinecode.filter import FilterDecision, filter_document
from opencoder_jax.refinecode.thresholds import FilterConfig

STAGE = "filter"


class FilterDoFn(beam.DoFn):
    def __init__(self, config: FilterConfig):
        self._config = config
        self._tables = None

    def setup(self):
        self._tables = self._config.tables()

    def process(self, doc):
        if self._tables is None:
            self.setup()
        try:
            decision = filter_document(doc, self._config, self._tables)
        except Exception as exc:  # noqa: BLE001 - never crash the run; count and drop
            decision = FilterDecision(False, ["signal_error:internal"], {"internal": f"{type(exc).__name__}: {exc}"})
        language = doc.get("language") or "unknown"
        for name in decision.errors:
            yield beam.pvalue.TaggedOutput("metrics", (f"{STAGE}/signal_error/{name}", 1))
        if decision.table:
            yield beam.pvalue.TaggedOutput("metrics", (f"{STAGE}/table/{decision.table}", 1))
        for rule in decision.fired:
            yield beam.pvalue.TaggedOutput("metrics", (f"{STAGE}/fired/{rule}", 1))
            yield beam.pvalue.TaggedOutput("metrics", (f"{STAGE}/fired_by_language/{language}/{rule}", 1))
        if decision.keep:
            if self._config.keep_signals_in_meta:
                doc = copy.copy(doc)
                doc["meta"] = {**(doc.get("meta") or {}), "qsc": decision.signals}
            yield doc
        else:
            yield beam.pvalue.TaggedOutput("dropped", make_drop(STAGE, decision.reason, doc, fired=decision.fired))


class FilterStage(beam.PTransform):
    def __init__(self, config: FilterConfig):
        super().__init__()
        self._config = config

    def expand(self, docs):
        out = docs | "ApplyFilter" >> beam.ParDo(FilterDoFn(self._config)).with_outputs("dropped", "metrics", main="kept")
        return stage_output(out.kept, out.dropped, out.metrics)


def make_stage(context: StageContext, config: FilterConfig | None = None) -> beam.PTransform:
    """Build the stage in the driver: the gin-bound FilterConfig is read here, so workers need no gin."""
    del context  # the filter writes no side files
    return FilterStage(config if config is not None else FilterConfig())
