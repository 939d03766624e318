"""Stage `exact_dedup`: identical content -> one copy (OpenCoder, arXiv 2411.04905, 2.1.1).

File level: the content key is the document's `sha256` (SHA256 of the original bytes;
`ExactDedupConfig.hash_text` hashes the current text instead). Repo level: a repository's
key is the SHA256 over its files' keys in path order (= its files concatenated in path
order, compared file by file), so a copied repository matches and one that shares a
single file does not. Among equal keys the keeper rule picks the copy to keep (most
stars, latest commit date, smallest id; at repo level the repository's best star count
and latest date over its files).

Graph (only ids/hashes are grouped except in the final join with the documents):
  docs -> (key, keeper token) -> CombinePerKey(min token, count) -> per-unit verdicts
       -> CoGroupByKey with the documents by unit -> kept / dropped.
Memory: constant per worker at file level; at repo level one repository's
(path, hash) list is held while its key is computed.
"""
from __future__ import annotations

import hashlib

import apache_beam as beam

from beam_pipelines.dedup_common import (
    ApplyVerdicts,
    ValidateDocuments,
    WriteDuplicateSample,
    file_token,
    repo_unit_id,
    token_unit_key,
)
from beam_pipelines.stage import StageContext, stage_output
from opencoder_jax.refinecode.dedup_config import ExactDedupConfig
from opencoder_jax.refinecode.keeper import keeper_token, latest_commit_date, most_stars, unit_id_of_token

STAGE = "exact_dedup"


def content_key(doc: dict, hash_text: bool) -> str:
    sha = doc.get("sha256")
    if hash_text or not isinstance(sha, str) or not sha:
        return hashlib.sha256(doc["text"].encode("utf-8", "surrogatepass")).hexdigest()
    return sha


def repo_key_and_token(unit_and_files):
    """(unit_id, [(path, key, stars, date)]) -> (repo content key, repo keeper token)."""
    unit_id, files = unit_and_files
    files = sorted(files, key=lambda f: (f[0], f[1]))
    h = hashlib.sha256()
    for _, key, _, _ in files:
        h.update(key.encode("ascii", "replace"))
        h.update(b"\n")
    token = keeper_token(most_stars(f[2] for f in files), latest_commit_date(f[3] for f in files), unit_id)
    return (h.hexdigest(), token)


class MinTokenAndCount(beam.CombineFn):
    def create_accumulator(self):
        return (None, 0)

    def add_input(self, acc, token):
        best, n = acc
        return (token if best is None or token < best else best, n + 1)

    def merge_accumulators(self, accs):
        best, total = None, 0
        for b, n in accs:
            total += n
            if b is not None and (best is None or b < best):
                best = b
        return (best, total)

    def extract_output(self, acc):
        return acc


def _verdicts(level: str):
    def emit(key_and_groups):
        _, groups = key_and_groups
        for keeper, size in groups["best"]:
            keeper_id = unit_id_of_token(keeper)
            for token in groups["units"]:
                yield (token_unit_key(token, level), (keeper_id, size))

    return emit


def exact_key_record(doc: dict, hash_text: bool) -> dict:
    """What exact dedup reads of a document (no text): its keeper fields and content key."""
    return {"id": doc["id"], "repo": doc.get("repo"), "path": doc.get("path"), "stars": doc.get("stars"),
            "commit_date": doc.get("commit_date"), "sha256": content_key(doc, hash_text)}


class ExactVerdicts(beam.PTransform):
    """Valid documents (or their `exact_key_record`s) -> verdicts (unit_key, (keeper_id, size))."""

    def __init__(self, config: ExactDedupConfig):
        super().__init__()
        self.config = config

    def expand(self, valid):
        cfg = self.config
        if cfg.level == "file":
            units = valid | "FileUnits" >> beam.Map(lambda d: (content_key(d, cfg.hash_text), file_token(d)))
        else:
            units = (
                valid
                | "RepoFiles" >> beam.Map(lambda d: (
                    repo_unit_id(d), (d.get("path") or "", content_key(d, cfg.hash_text), d.get("stars"), d.get("commit_date"))))
                | "GroupRepo" >> beam.GroupByKey()
                | "RepoUnits" >> beam.Map(repo_key_and_token)
            )
        best = units | "Best" >> beam.CombinePerKey(MinTokenAndCount())
        return {"units": units, "best": best} | "JoinBest" >> beam.CoGroupByKey() | "Verdicts" >> beam.FlatMap(
            _verdicts(cfg.level)
        )


class ExactDedupStage(beam.PTransform):
    def __init__(self, config: ExactDedupConfig, output_dir: str):
        super().__init__()
        self.config = config
        self.output_dir = output_dir

    def expand(self, docs):
        cfg = self.config
        valid = docs | "Validate" >> beam.ParDo(ValidateDocuments(STAGE)).with_outputs("dropped", main="valid")
        verdicts = valid.valid | "Clusters" >> ExactVerdicts(cfg)
        applied = (valid.valid, verdicts) | "Apply" >> ApplyVerdicts(STAGE, "duplicate", "dup_cluster_size", cfg.level)
        if cfg.sample_clusters > 0:
            _ = verdicts | "Sample" >> WriteDuplicateSample(
                self.output_dir, "exact_duplicates", cfg.level, cfg.sample_clusters, cfg.sample_removed_ids
            )
        dropped = (valid.dropped, applied["dropped"]) | "AllDropped" >> beam.Flatten()
        return stage_output(applied["kept"], dropped, applied["metrics"])


def make_stage(context: StageContext, config: ExactDedupConfig | None = None) -> ExactDedupStage:
    return ExactDedupStage(config or ExactDedupConfig(), context.output_dir)
