"""Run one stage locally on in-memory documents and read its outputs back (tests, benchmarks).

The outputs go through files (not process globals), so this works with every
FnApiRunner mode, including `direct_num_workers > 1`.
"""
from __future__ import annotations

import glob
import json
import os
from collections import Counter
from typing import Iterable, Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions


def run_stage_locally(stage: beam.PTransform, shards: Sequence[Iterable[dict]], work_dir: str,
                      num_workers: int = 1, reshuffle: bool = False) -> dict:
    """Feed `shards` (each a list of documents, one `beam.Create` each) through `stage`.

    Returns {"kept": [doc], "dropped": [drop], "metrics": {key: summed number}}.
    """
    options = {"runner": "FnApiRunner"}
    if num_workers > 1:
        options.update(direct_num_workers=num_workers, direct_running_mode="multi_threading")
    os.makedirs(work_dir, exist_ok=True)
    with beam.Pipeline(options=PipelineOptions(flags=[], **options)) as p:
        parts = [p | f"Shard{i}" >> beam.Create(list(docs), reshuffle=reshuffle) for i, docs in enumerate(shards)]
        docs = parts | "Inputs" >> beam.Flatten()
        out = docs | "Stage" >> stage
        for name in ("kept", "dropped", "metrics"):
            _ = (
                out[name]
                | f"Json{name}" >> beam.Map(lambda x: json.dumps(x, sort_keys=True, ensure_ascii=False))
                | f"Write{name}" >> beam.io.WriteToText(os.path.join(work_dir, name), file_name_suffix=".jsonl")
            )
    result = {}
    for name in ("kept", "dropped", "metrics"):
        rows = []
        for path in sorted(glob.glob(os.path.join(work_dir, f"{name}-*.jsonl"))):
            with open(path, encoding="utf-8") as f:
                rows.extend(json.loads(line) for line in f if line.strip())
        result[name] = rows
    totals: Counter = Counter()
    for key, value in result["metrics"]:
        totals[key] += value
    result["metrics"] = dict(totals)
    return result


def comparable(result: dict, out_dir: str | None = None) -> tuple:
    """A stage result (and its dedup/ sample files) in an order-free form, to compare two runs."""
    def canon(rows):
        return sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows)

    samples = {}
    if out_dir:
        for path in sorted(glob.glob(os.path.join(out_dir, "dedup", "*.jsonl"))):
            with open(path, encoding="utf-8") as f:
                samples[os.path.basename(path)] = sorted(f.read().splitlines())
    return canon(result["kept"]), canon(result["dropped"]), dict(result["metrics"]), samples
