"""Beam stage `decontaminate`: drop documents that leak HumanEval / MBPP items.

The rules live in `opencoder_jax.refinecode.decontam` (the step: `steps.DecontaminateStep`) (signature + body match, 10-word
n-grams over every benchmark prompt, reference solution and test).

kept     documents with no hit (and documents without a text, which this stage cannot judge;
         counted as decontaminate/no_text)
dropped  one record per leaking document, reason 'decontaminate/<benchmark>' (the first hit:
         signature hits before n-gram hits, benchmarks in DecontamConfig order), with "task_ids"
         and "kind" of that hit and "hits" listing all of them
metrics  ('decontaminate/hit/<benchmark>/<task_id>', 1) per leaking document and item it matched,
         ('decontaminate/kind/<kind>', 1) per dropped document (its first hit's kind),
         ('decontaminate/documents/<benchmark>', 1) per leaking document and benchmark it hit,
         ('decontaminate/error/<exception>', 1) if a check raised (the document is kept)
side file  <output_dir>/decontamination.json: every task id hit, with its benchmark, the
         number of documents and a few of their paths, plus totals (written by Beam, so it
         works on local and gs:// outputs and on every runner)
"""
from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from beam_pipelines.per_document_stage import PerDocumentStage
from beam_pipelines.stage import StageContext
from opencoder_jax.refinecode.decontam import DecontamConfig
from opencoder_jax.refinecode.steps import DecontaminateStep, shared_decontaminator

STAGE = "decontaminate"
REPORT_NAME = "decontamination.json"
EXAMPLES_PER_TASK = 5  # document paths listed per task id in decontamination.json


def _task_records(drop: dict):
    """A dropped document's drop record -> one record per (benchmark, task id) it hit."""
    tasks: dict[tuple[str, str], set] = {}
    for h in drop.get("hits") or []:
        for task in h["task_ids"]:
            tasks.setdefault((h["benchmark"], task), set()).add(h["kind"])
    path = "/".join(p for p in (drop.get("repo", ""), drop.get("path", "")) if p) or drop.get("id", "")
    for (bench, task), kinds in tasks.items():
        yield {"benchmark": bench, "task_id": task, "kinds": sorted(kinds), "path": path}


class _TaskSummary(beam.CombineFn):
    """(benchmark, task id) records -> {task: {benchmark, documents, kinds, examples}}."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, rec):
        row = acc.setdefault(rec["task_id"], {"benchmark": rec["benchmark"], "documents": 0, "kinds": {},
                                              "examples": []})
        row["documents"] += 1
        for kind in rec["kinds"]:
            row["kinds"][kind] = row["kinds"].get(kind, 0) + 1
        row["examples"] = sorted(set(row["examples"]) | {rec["path"]})[:EXAMPLES_PER_TASK]
        return acc

    def merge_accumulators(self, accs):
        out = {}
        for acc in accs:
            for task, row in acc.items():
                mine = out.setdefault(task, {"benchmark": row["benchmark"], "documents": 0, "kinds": {},
                                             "examples": []})
                mine["documents"] += row["documents"]
                for kind, n in row["kinds"].items():
                    mine["kinds"][kind] = mine["kinds"].get(kind, 0) + n
                mine["examples"] = sorted(set(mine["examples"]) | set(row["examples"]))[:EXAMPLES_PER_TASK]
        return out

    def extract_output(self, acc):
        return acc


def report_json(tasks: dict, checked: int, dropped: dict, config: DecontamConfig, items: dict) -> str:
    """decontamination.json's text: totals first, then every task id hit (most documents first)."""
    by_benchmark = {b: {"items": items.get(b, 0), "items_hit": 0, "documents_dropped": dropped.get(b, 0)}
                    for b in config.benchmarks}
    for row in tasks.values():
        by_benchmark.setdefault(row["benchmark"], {"items": 0, "items_hit": 0, "documents_dropped": 0})
        by_benchmark[row["benchmark"]]["items_hit"] += 1
    ordered = sorted(tasks.items(), key=lambda kv: (-kv[1]["documents"], kv[0]))
    return json.dumps({
        "ngram_words": config.ngram_words,
        "benchmarks": list(config.benchmarks),
        "documents_checked": checked,
        "documents_dropped": sum(dropped.values()),
        "by_benchmark": by_benchmark,
        "tasks": {task: row for task, row in ordered},
    }, indent=2, ensure_ascii=False)


class DecontaminateStage(beam.PTransform):
    def __init__(self, config: DecontamConfig, output_dir: str | None):
        super().__init__()
        self._config = config
        self._output_dir = output_dir
        items = shared_decontaminator(config).items  # fail in the driver on a bad path or benchmark name
        self._item_counts = {b: sum(1 for i in items if i.benchmark == b) for b in config.benchmarks}

    def expand(self, docs):
        out = docs | "Check" >> PerDocumentStage(DecontaminateStep(self._config))
        if self._output_dir:
            self._write_report(docs, out["dropped"])
        return out

    def _write_report(self, docs, dropped_docs) -> None:
        config, item_counts = self._config, self._item_counts
        checked = docs | "CountChecked" >> beam.combiners.Count.Globally()
        dropped = (dropped_docs
                   | "DroppedBenchmark" >> beam.Map(lambda d: d["reason"].split("/", 1)[1])
                   | "CountPerBenchmark" >> beam.combiners.Count.PerElement()
                   | "AsDict" >> beam.combiners.ToDict())
        tasks = (dropped_docs
                 | "TaskRecords" >> beam.FlatMap(_task_records)
                 | "SummariseTasks" >> beam.CombineGlobally(_TaskSummary()))
        (tasks
         | "ReportJson" >> beam.Map(
             lambda t, n, d: report_json(t, n, d, config, item_counts),
             beam.pvalue.AsSingleton(checked), beam.pvalue.AsSingleton(dropped))
         | "WriteReport" >> beam.io.WriteToText(
             FileSystems.join(self._output_dir, REPORT_NAME.rsplit(".", 1)[0]),
             file_name_suffix=".json", num_shards=1, shard_name_template=""))


def make_stage(context: StageContext, config: DecontamConfig | None = None) -> DecontaminateStage:
    """Build the stage in the driver: the gin-bound DecontamConfig is read here."""
    return DecontaminateStage(config if config is not None else DecontamConfig(), context.output_dir)

