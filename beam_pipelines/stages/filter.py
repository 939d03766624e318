"""Beam stage `filter`: the three-tier heuristic filter (rules in opencoder_jax.refinecode.heuristic_filter,
the step in `steps.FilterStep`).

kept     documents no active rule drops (with doc["meta"]["qsc"] = their signals when
         FilterConfig.keep_signals_in_meta)
dropped  one record per dropped document, reason 'filter/<first fired rule>' (or
         'filter/doc_type/<type>', 'filter/signal_error/<name>'), plus the full list of fired
         rules in the record's "fired" field
metrics  ('filter/fired/<rule>', 1) for EVERY fired rule (a per-rule histogram; a document
         fired by several rules still counts once toward the conservation law),
         ('filter/fired_by_language/<language>/<rule>', 1), ('filter/signal_error/<name>', 1),
         ('filter/table/<table>', 1) for the threshold table used
"""
from __future__ import annotations

from beam_pipelines.per_document_stage import PerDocumentStage
from beam_pipelines.stage import StageContext
from opencoder_jax.refinecode.steps import FilterStep
from opencoder_jax.refinecode.filter_config import FilterConfig

STAGE = "filter"


def FilterStage(config: FilterConfig) -> PerDocumentStage:  # noqa: N802 - the stage's name in graphs and tests
    return PerDocumentStage(FilterStep(config))


def make_stage(context: StageContext, config: FilterConfig | None = None) -> PerDocumentStage:
    """Build the stage in the driver: the gin-bound FilterConfig is read here, so workers need no gin."""
    del context  # the filter writes no side files
    return FilterStage(config if config is not None else FilterConfig())
