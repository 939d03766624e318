"""Pieces both dedup stages share: units, verdicts, their application, the sample file.

A *unit* is what dedup compares: one document (level "file") or one repository's files
(level "repo"). Each unit has a keeper token (`opencoder_jax.refinecode.keeper`), so the
smallest token of a cluster is the copy to keep. The clustering part of a stage
produces *verdicts* `(unit_key, (keeper_unit_id, cluster_size))`; `ApplyVerdicts` joins
them with the documents by unit key and keeps or drops every document exactly once.
Units without a verdict are singletons (kept, cluster size 1).

Unit keys: level "file" -> the document's keeper token (unique per (id, stars, date));
level "repo" -> "repo:<name>" ("doc:<id>" for a document without a repository).
"""
from __future__ import annotations

import hashlib
import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from beam_pipelines.stage import make_drop
from opencoder_jax.document import text_bytes
from opencoder_jax.refinecode.keeper import keeper_token, unit_id_of_token


def repo_unit_id(doc: dict) -> str:
    repo = doc.get("repo") or ""
    return f"repo:{repo}" if repo else f"doc:{doc['id']}"


def file_token(doc: dict) -> str:
    return keeper_token(doc.get("stars"), doc.get("commit_date"), doc["id"])


def doc_unit_key(doc: dict, level: str) -> str:
    return file_token(doc) if level == "file" else repo_unit_id(doc)


def token_unit_key(token: str, level: str) -> str:
    """The key under which a unit's documents are joined with its verdict."""
    return token if level == "file" else unit_id_of_token(token)


def unit_id_of_key(key: str, level: str) -> str:
    return unit_id_of_token(key) if level == "file" else key


def unit_verdict(key: str, verdicts, level: str, stage: str) -> tuple[str, int, bool, tuple[str, int]]:
    """A unit's (keeper id, cluster size, is it the keeper, its metric pair) from the verdicts
    its key received (none: a unit alone in its cluster). Both dedup graphs decide with it."""
    self_id = unit_id_of_key(key, level)
    verdicts = set(verdicts)  # identical copies of a unit may each bring one
    keeper_id, size = min(verdicts) if verdicts else (self_id, 1)
    is_keeper = keeper_id == self_id
    metric = f"{stage}/cluster_size/{cluster_size_label(size)}" if is_keeper else f"{stage}/units_removed"
    return keeper_id, size, is_keeper, (metric, 1)


def cluster_size_label(n: int) -> str:
    """Histogram bucket: the size itself up to 16, then power-of-two ranges (17-32, ...)."""
    if n <= 16:
        return str(n)
    hi = 32
    while n > hi:
        hi *= 2
    return f"{hi // 2 + 1}-{hi}"


def is_valid_document(doc) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("text"), str) and isinstance(doc.get("id"), str) and bool(doc["id"])


class ValidateDocuments(beam.DoFn):
    """Documents without a string text or an id are dropped as `<stage>/invalid_document`."""

    def __init__(self, stage: str):
        self._stage = stage

    def process(self, doc):
        if is_valid_document(doc):
            yield doc
        else:
            bad = doc if isinstance(doc, dict) else {"id": "", "text": repr(doc)[:200]}
            yield beam.pvalue.TaggedOutput("dropped", make_drop(self._stage, "invalid_document", bad))


class _Decide(beam.DoFn):
    def __init__(self, stage: str, reason: str, meta_key: str, level: str):
        self._stage, self._reason, self._meta_key, self._level = stage, reason, meta_key, level

    def process(self, key_and_groups):
        key, groups = key_and_groups
        keeper_id, size, is_keeper, metric = unit_verdict(key, groups["verdict"], self._level, self._stage)
        yield beam.pvalue.TaggedOutput("metrics", metric)
        first = True
        for doc in groups["docs"]:
            # At file level several documents can share one unit key only if they are the same
            # (repo, path, content, stars, date): the first is kept, the others are its copies.
            if is_keeper and (first or self._level == "repo"):
                kept = dict(doc)
                kept["meta"] = {**(doc.get("meta") or {}), self._meta_key: size}
                yield kept
            else:
                language = doc.get("language") or "unknown"
                yield beam.pvalue.TaggedOutput(
                    "dropped", make_drop(self._stage, self._reason, doc, kept_id=keeper_id, cluster_size=size)
                )
                yield beam.pvalue.TaggedOutput("metrics", (f"{self._stage}/bytes_removed/{language}", text_bytes(doc)))
            first = False


class ApplyVerdicts(beam.PTransform):
    """(docs, verdicts) -> {"kept", "dropped", "metrics"}; every doc kept or dropped once."""

    def __init__(self, stage: str, reason: str, meta_key: str, level: str):
        super().__init__()
        self.stage, self.reason, self.meta_key, self.level = stage, reason, meta_key, level

    def expand(self, docs_and_verdicts):
        docs, verdicts = docs_and_verdicts
        level = self.level
        keyed = docs | "KeyByUnit" >> beam.Map(lambda d: (doc_unit_key(d, level), d))
        out = (
            {"docs": keyed, "verdict": verdicts}
            | "JoinVerdicts" >> beam.CoGroupByKey()
            | "Decide" >> beam.ParDo(_Decide(self.stage, self.reason, self.meta_key, level)).with_outputs(
                "dropped", "metrics", main="kept"
            )
        )
        return {"kept": out.kept, "dropped": out.dropped, "metrics": out.metrics}


class _FewestIds(beam.CombineFn):
    """Per keeper: the cluster size and the `limit` smallest removed ids (bounded memory)."""

    def __init__(self, limit: int):
        self._limit = limit

    def create_accumulator(self):
        return (0, [])

    def add_input(self, acc, size_and_id):
        size, removed_id = size_and_id
        return (max(acc[0], size), sorted(acc[1] + [removed_id])[: self._limit])

    def merge_accumulators(self, accs):
        accs = list(accs)
        ids = sorted(i for _, ids in accs for i in ids)[: self._limit]
        return (max(a[0] for a in accs), ids)

    def extract_output(self, acc):
        return acc


def _sample_record(keeper_and_acc):
    keeper_id, (size, removed) = keeper_and_acc
    line = json.dumps({"kept_id": keeper_id, "cluster_size": size, "removed_ids": removed}, ensure_ascii=False)
    # a hash spreads the sample over the corpus instead of favouring small ids
    return (hashlib.blake2b(keeper_id.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest(), line)


class WriteDuplicateSample(beam.PTransform):
    """`<output_dir>/dedup/<name>-00000-of-00001.jsonl`: up to `clusters` lines
    {"kept_id", "cluster_size", "removed_ids" (at most `removed_ids` of them)}."""

    def __init__(self, output_dir: str, name: str, level: str, clusters: int, removed_ids: int):
        super().__init__()
        self.output_dir, self.name, self.level = output_dir, name, level
        self.clusters, self.removed_ids = clusters, removed_ids

    def expand(self, verdicts):
        level = self.level

        def removed(key_and_verdict):
            key, (keeper_id, size) = key_and_verdict
            self_id = unit_id_of_key(key, level)
            if self_id != keeper_id:
                yield (keeper_id, (size, self_id))

        return (
            verdicts
            | "Removed" >> beam.FlatMap(removed)
            | "PerKeeper" >> beam.CombinePerKey(_FewestIds(self.removed_ids))
            | "Record" >> beam.Map(_sample_record)
            | "Sample" >> beam.combiners.Top.Smallest(self.clusters)
            | "Lines" >> beam.FlatMap(lambda recs: [line for _, line in recs])
            | "Write" >> beam.io.WriteToText(
                FileSystems.join(self.output_dir, "dedup", self.name), file_name_suffix=".jsonl", num_shards=1
            )
        )
