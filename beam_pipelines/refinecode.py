"""The RefineCode pipeline graph: sources -> stages (in the paper's order) -> outputs.

Outputs under the output directory:
  documents-SSSSS-of-NNNNN.array_record   kept documents (UTF-8 JSON records)
  stats.json                              input = kept + dropped, funnel, languages, metrics
  drop_examples.jsonl                     a few dropped documents per reason (for the report)
  dead_letter.jsonl                       records that could not be read (broken lines, ...)
  config.gin                              the operative gin config
Stages may add side files (e.g. dedup/ samples).

Memory: documents never enter a grouping step (a local runner buffers every shuffled or
flattened PCollection): the dedup stages spool them to disk and shuffle ids and hashes
(streaming_dedup.py), the other stages are per-document maps, stats are summed where they
are made, and the sink writes sorted runs and merges them (sharded_sink.py).
"""
from __future__ import annotations

import dataclasses

import apache_beam as beam
import gin

from beam_pipelines import raw_sources, stats
from beam_pipelines.array_record_io import ReadFromArrayRecord, WriteToArrayRecordPerBundle
from beam_pipelines.embedded_corpus import EmbeddedCorpusConfig, embedded_trees
from beam_pipelines.sharded_sink import WriteToArrayRecordSortedRuns
from beam_pipelines.stage import StageContext
from beam_pipelines.stage_registry import STAGE_ORDER, STAGES
from beam_pipelines.streaming_dedup import DEDUP_STAGES, make_streaming_dedup
from opencoder_jax import document as docs
from opencoder_jax.names import check_names
from opencoder_jax.refinecode.preprocess import PreprocessConfig

STATS_PREFIX = "_stats/stats"


@gin.configurable
@dataclasses.dataclass(frozen=True)
class RefinecodeConfig:
    stages: tuple[str, ...] = STAGE_ORDER
    num_shards: int = 8
    drop_examples_per_reason: int = 5
    # "sharded": num_shards files, reproducible (sorted runs per bundle, merged per shard:
    # flat memory, beam_pipelines/sharded_sink.py); "per_bundle": each bundle streams to its
    # own file (no merge step; names and order depend on bundling).
    sink: str = "sharded"
    # "streaming": the dedup stages read ids and hashes, documents wait on disk (bounded
    # memory, beam_pipelines/streaming_dedup.py); "in_memory": the stages' own joins.
    dedup: str = "streaming"


def parse_stages(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'preprocess,filter' -> ('preprocess', 'filter'); must follow the paper's order."""
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [n for n in names if n]
    check_names("stage", names, STAGE_ORDER)  # near matches listed: 'fuzy_dedup' -> 'fuzzy_dedup'
    if len(set(names)) != len(names):
        raise ValueError(f"a stage is listed twice in {names}")
    order = [STAGE_ORDER.index(n) for n in names]
    if order != sorted(order):
        raise ValueError(f"stages {names} are out of order; the order is {', '.join(STAGE_ORDER)}")
    if not names:
        raise ValueError("no stages selected")
    return tuple(names)


def make_stage(name: str, context: StageContext) -> beam.PTransform:
    check_names("stage", [name], STAGE_ORDER)
    return STAGES[name](context)


def _read_raw(p: beam.Pipeline, inputs: list[str], max_read_bytes: int):
    """All raw inputs through one read chain -> (files, read drops, document shard inputs)."""
    tasks, documents = [], []
    for i, path in enumerate(inputs):
        kind = raw_sources.classify_input(path)
        if kind == "tree":
            tasks += raw_sources.tree_tasks(path)
        elif kind in ("jsonl", "parquet"):
            tasks += [(kind, f) for f in raw_sources.match_files(path)]
        else:
            documents.append(p | f"Input{i}_documents" >> ReadFromArrayRecord(
                path.rstrip("/") + "/documents-*.array_record"))
    if not tasks:
        return [], [], documents
    out = p | "ReadInputs" >> raw_sources.ReadSources(tasks, max_read_bytes)
    return [out["files"]], [out["drops"]], documents


def _read_embedded(p: beam.Pipeline, corpus: EmbeddedCorpusConfig, max_read_bytes: int):
    tasks = []
    for tree in embedded_trees(corpus):
        tasks += raw_sources.tree_tasks(tree.root, tree.repo_prefix, tree.exclude, tree.max_repos, tree.include)
    out = p | "ReadEmbedded" >> raw_sources.ReadSources(tasks, max_read_bytes)
    return [out["files"]], [out["drops"]]


def _flatten(p, pcolls, label):
    if not pcolls:
        return p | f"{label}Empty" >> beam.Create([])
    if len(pcolls) == 1:
        return pcolls[0]
    return pcolls | label >> beam.Flatten()


def build_refinecode(p: beam.Pipeline, inputs: list[str] | None, output_dir: str,
                     config: RefinecodeConfig, corpus: EmbeddedCorpusConfig | None = None,
                     preprocess: PreprocessConfig | None = None, progress=None) -> dict:
    """Add the whole pipeline to `p`; returns the main PCollections (for tests).

    `progress`: a `beam_pipelines.progress.LiveProgress` to count documents through each stage."""
    stages = parse_stages(config.stages)
    preprocess = preprocess or PreprocessConfig()
    max_read = preprocess.max_file_bytes + 1  # one byte more tells "too large" without reading it all
    context = StageContext(output_dir=output_dir, temp_dir=output_dir.rstrip("/") + "/_tmp",
                           num_shards=config.num_shards)
    if inputs:
        files, read_drops, doc_inputs = _read_raw(p, inputs, max_read)
    else:
        files, read_drops = _read_embedded(p, corpus or EmbeddedCorpusConfig(), max_read)
        doc_inputs = []
    if doc_inputs and files:
        raise ValueError("mixing document shards with raw inputs in one run is not supported")
    if files and stages[0] != "preprocess":
        raise ValueError("raw inputs need the 'preprocess' stage first (documents dirs may skip it)")

    entries, all_drops, all_metrics = [], [], []
    if files:
        raw = _flatten(p, files, "FlattenFiles")
        read_drops = _flatten(p, read_drops, "FlattenReadDrops")
        if progress:
            progress.count(raw, "read/files")
            progress.count(read_drops, "read/dropped")
        entries.append(raw | "CountInput" >> beam.FlatMap(stats.raw_input_entries))
        entries.append(read_drops | "CountReadDropInput" >> beam.FlatMap(stats.read_drop_input_entries))
        all_drops.append(read_drops)
        current = raw
    else:
        records = _flatten(p, doc_inputs, "FlattenDocShards")
        current = records | "DecodeDocs" >> beam.Map(docs.from_bytes)
        if progress:
            progress.count(current, "read/documents")
        entries.append(current | "CountInput" >> beam.FlatMap(stats.doc_entries("funnel", "input")))
        read_drops = None
        if stages[0] == "preprocess":
            stages = stages[1:]  # documents are already preprocessed
            if not stages:
                raise ValueError("documents inputs need at least one stage after 'preprocess'")

    if config.dedup not in ("streaming", "in_memory"):
        raise ValueError(f"RefinecodeConfig.dedup must be 'streaming' or 'in_memory', got {config.dedup!r}")
    dedup_group = tuple(n for n in stages if n in DEDUP_STAGES) if config.dedup == "streaming" else ()
    for index, name in enumerate(stages):
        if name in dedup_group:  # both dedup stages in one bounded-memory transform
            if name == dedup_group[0]:
                result = current | "StreamingDedup" >> make_streaming_dedup(dedup_group, context, index == 0)
                _count_stage(progress, "dedup", current, result)
                if progress:  # the two stages run as one transform: their drops counted apart
                    for stage in dedup_group:
                        progress.count(result["dropped"], f"{stage}/dropped",
                                       weight=lambda d, s=stage: int(d["reason"].startswith(s + "/")))
                current = result["kept"]
                all_drops.append(result["dropped"])
                all_metrics.append(result["metrics"])
                entries.append(result["entries"])  # funnel rows (+ lang_before) of its stages
            continue
        result = current | f"Stage_{name}" >> make_stage(name, context)
        _count_stage(progress, name, current, result)
        current = result["kept"]
        all_drops.append(result["dropped"])
        all_metrics.append(result["metrics"])
        entries.append(current | f"Funnel_{name}" >> beam.FlatMap(stats.doc_entries("funnel", name)))
        if index == 0:
            entries.append(current | "LangBefore" >> beam.FlatMap(stats.language_entries("lang_before")))
    entries.append(current | "LangAfter" >> beam.FlatMap(stats.language_entries("lang_after")))

    # A local runner materialises every Flatten: reduce each per-document PCollection where it
    # is made (lifted combines) and flatten only the small results.
    examples = []
    for i, drops in enumerate(all_drops):
        entries.append(drops | f"CountDrops{i}" >> beam.FlatMap(stats.drop_entries))
        examples.append(drops | f"DropExamples{i}" >> stats.SampleDropExamples(config.drop_examples_per_reason))
    for i, metrics in enumerate(all_metrics):
        entries.append(metrics | f"MetricKeys{i}" >> beam.Map(stats.metric_entry))
    summed = ([e | f"PreSum{i}" >> beam.CombinePerKey(sum) for i, e in enumerate(entries)]
              | "FlattenEntries" >> beam.Flatten()
              | "SumStats" >> beam.CombinePerKey(sum)
              | "StatsJson" >> beam.MapTuple(stats.stats_line))
    summed | "WriteStats" >> beam.io.WriteToText(
        output_dir.rstrip("/") + "/" + STATS_PREFIX, file_name_suffix=".jsonl", num_shards=1)

    (_flatten(p, examples, "FlattenDropExamples")  # top-n of the per-source top-n = top-n of all
     | "DropExamples" >> stats.SampleDropExamples(config.drop_examples_per_reason)
     | "DropExamplesJson" >> beam.Map(lambda d: _json(d))
     | "WriteDropExamples" >> beam.io.WriteToText(
         output_dir.rstrip("/") + "/drop_examples", file_name_suffix=".jsonl", shard_name_template=""))
    if read_drops is not None:
        (read_drops
         | "DeadLetterJson" >> beam.Map(lambda d: _json(d))
         | "WriteDeadLetter" >> beam.io.WriteToText(
             output_dir.rstrip("/") + "/dead_letter", file_name_suffix=".jsonl", shard_name_template=""))

    prefix = output_dir.rstrip("/") + "/documents"
    if config.sink == "sharded":  # shard by document id, taken before encoding; sorted runs, merged
        written = (current
                   | "EncodeDocs" >> beam.Map(lambda d: (d["id"], docs.to_bytes(d)))
                   | "WriteDocs" >> WriteToArrayRecordSortedRuns(prefix, config.num_shards))
    elif config.sink == "per_bundle":
        written = (current
                   | "EncodeDocs" >> beam.Map(docs.to_bytes)
                   | "WriteDocs" >> WriteToArrayRecordPerBundle(prefix))
    else:
        raise ValueError(f"RefinecodeConfig.sink must be 'sharded' or 'per_bundle', got {config.sink!r}")
    return {"kept": current, "dropped": all_drops, "metrics": all_metrics, "written": written}


def _json(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, default=str)


def _count_stage(progress, name: str, before, result: dict) -> None:
    """Live progress of one stage: documents in, kept, dropped (see beam_pipelines/progress.py)."""
    if progress:
        progress.count(before, f"{name}/in")
        progress.count(result["kept"], f"{name}/kept")
        progress.count(result["dropped"], f"{name}/dropped")
