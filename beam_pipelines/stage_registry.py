"""Every RefineCode stage by name, in the paper's order: the one place a stage is found.

An explicit table (not an import by name): a missing or broken stage module fails loudly at
import, and importing this module registers every stage's gin configurables before gin files
are parsed.
"""
from __future__ import annotations

from typing import Callable

import apache_beam as beam

from beam_pipelines.stage import StageContext
from beam_pipelines.stages import decontaminate, exact_dedup, filter, fuzzy_dedup, preprocess, sample, transform

StageFactory = Callable[[StageContext], beam.PTransform]

STAGES: dict[str, StageFactory] = {
    "preprocess": preprocess.make_stage,
    "exact_dedup": exact_dedup.make_stage,
    "fuzzy_dedup": fuzzy_dedup.make_stage,
    "transform": transform.make_stage,
    "filter": filter.make_stage,
    "decontaminate": decontaminate.make_stage,
    "sample": sample.make_stage,
}
STAGE_ORDER = tuple(STAGES)
