"""Stage `fuzzy_dedup`: near-duplicates by MinHash + LSH (OpenCoder, arXiv 2411.04905, 2.1.1).

Defaults: word 5-gram shingles, 2048 permutations, 16 bands x 128 rows (catches pairs
above ~0.98 Jaccard), keeper rule inside each cluster. Graph:

  docs --batch--> shingles -> MinHash (vectorised) -> band keys      [per worker]
       -> buckets of 2+ units (`lsh_buckets.py`: band keys shuffled as packed byte blocks)
       -> star edges to the smallest token per bucket
       -> Distinct -> [optional exact-Jaccard verification] -> connected components
       -> (root, member) -> GroupByKey -> verdicts -> join with the documents.

Tokens are keeper tokens (refinecode/keeper.py), so the smallest token of a bucket or a
component is the copy to keep. Only band keys and tokens cross the bucket and CC
shuffles. Exceptions, documented: level "repo" merges per-file signatures per repository
(elementwise minimum = MinHash of the union of its files' shingles; the concatenation's
few cross-file shingles are left out) through a combine; `verify_jaccard` ships each
unit's sorted shingle-hash set (4 or 8 bytes per distinct shingle) to the verification
joins, and at repo level holds a repository's whole set on one worker.
Documents without shingles (empty / whitespace-only) are never matched
(`fuzzy_dedup/no_shingles`).
"""
from __future__ import annotations

import apache_beam as beam
import numpy as np

from beam_pipelines.connected_components import connected_components
from beam_pipelines.dedup_common import (
    ApplyVerdicts,
    ValidateDocuments,
    WriteDuplicateSample,
    file_token,
    repo_unit_id,
    token_unit_key,
)
from beam_pipelines.lsh_buckets import LshBuckets
from beam_pipelines.stage import StageContext, stage_output
from opencoder_jax.refinecode.dedup_config import FuzzyDedupConfig
from opencoder_jax.refinecode.keeper import keeper_token, latest_commit_date, most_stars, unit_id_of_token
from opencoder_jax.refinecode.minhash import MinHasher, band_keys, jaccard_of_hash_sets
from opencoder_jax.refinecode.shingles import shingles

STAGE = "fuzzy_dedup"
NO_SHINGLES = f"{STAGE}/no_shingles"


class _Sketch(beam.DoFn):
    """A batch of documents -> per unit: file level (token, band keys[, hashes]);
    repo level (unit id, (signature, stars, date, hashes or None))."""

    def __init__(self, config: FuzzyDedupConfig, bands: tuple[int, int]):
        self._cfg = config
        self._bands = bands
        self._hasher = None

    def setup(self):
        c = self._cfg
        self._hasher = MinHasher(c.num_perm, c.seed, c.scheme)

    def process(self, batch):
        c = self._cfg
        hashes = [np.unique(self._hasher.hash_shingles(shingles(d["text"], c.ngram_size, c.shingle_unit))) for d in batch]
        sigs = self._hasher.signatures_from_hashes(hashes, unique=True)
        if c.level == "file":
            keys = band_keys(sigs, *self._bands)
            for doc, h, k in zip(batch, hashes, keys):
                if len(h) == 0:
                    yield beam.pvalue.TaggedOutput("metrics", (NO_SHINGLES, 1))
                    continue
                token = file_token(doc)
                yield (token, k)
                if c.verify_jaccard:
                    yield beam.pvalue.TaggedOutput("hashes", (token, h))
        else:
            for doc, h, sig in zip(batch, hashes, sigs):
                if len(h) == 0:
                    yield beam.pvalue.TaggedOutput("metrics", (NO_SHINGLES, 1))
                yield (repo_unit_id(doc), (sig, doc.get("stars"), doc.get("commit_date"),
                                           h if c.verify_jaccard else None))


class _RepoSketchCombine(beam.CombineFn):
    """Per repository: elementwise-min signature, best stars, latest date, union of hashes."""

    def create_accumulator(self):
        return None

    def add_input(self, acc, value):
        return self.merge_accumulators([acc, value])

    def merge_accumulators(self, accs):
        out = None
        for acc in accs:
            if acc is None:
                continue
            if out is None:
                out = acc
                continue
            sig = np.minimum(out[0], acc[0])
            stars = most_stars([out[1], acc[1]])
            date = latest_commit_date([out[2], acc[2]])
            hashes = None if out[3] is None else np.union1d(out[3], acc[3])
            out = (sig, stars, date, hashes)
        return out

    def extract_output(self, acc):
        return acc


class _RepoBands(beam.DoFn):
    def __init__(self, config: FuzzyDedupConfig, bands: tuple[int, int]):
        self._cfg = config
        self._bands = bands
        self._empty = None

    def process(self, unit_and_sketch):
        unit_id, (sig, stars, date, hashes) = unit_and_sketch
        if self._empty is None:
            self._empty = MinHasher(1, 1, self._cfg.scheme).max_value
        if np.all(sig == self._empty):
            return  # no shingles in any file: never matched
        token = keeper_token(stars, date, unit_id)
        yield (token, band_keys(sig[None, :], *self._bands)[0])
        if hashes is not None:
            yield beam.pvalue.TaggedOutput("hashes", (token, hashes))


def _star_edges(key_and_tokens):
    """Link every member of a bucket to its smallest token (two passes, no pair blow-up)."""
    _, tokens = key_and_tokens
    smallest = min(tokens)
    for t in tokens:
        if t != smallest:
            yield (t, smallest)


def _to_hub(member_and_groups):
    """Member side of verification: send the member's hashes to each hub it links to."""
    member, groups = member_and_groups
    hashes = next(iter(groups["hashes"]), None)
    if hashes is None:
        return
    for hub in groups["hubs"]:
        yield (hub, (member, hashes))


class _Verify(beam.DoFn):
    def __init__(self, threshold: float):
        self._threshold = threshold

    def process(self, hub_and_groups):
        hub, groups = hub_and_groups
        hub_hashes = next(iter(groups["hashes"]), None)
        if hub_hashes is None:
            return
        for member, hashes in groups["candidates"]:
            if jaccard_of_hash_sets(hub_hashes, hashes) >= self._threshold:
                yield (member, hub)
                yield beam.pvalue.TaggedOutput("metrics", (f"{STAGE}/verify_accepted", 1))
            else:
                yield beam.pvalue.TaggedOutput("metrics", (f"{STAGE}/verify_rejected", 1))


def _component_verdicts(level: str):
    def emit(root_and_members):
        root, members = root_and_members
        size = sum(1 for _ in members)
        keeper_id = unit_id_of_token(root)
        for m in members:
            yield (token_unit_key(m, level), (keeper_id, size))

    return emit


class FuzzyVerdicts(beam.PTransform):
    """Valid documents -> {"verdicts": (unit_key, (keeper_id, size)), "metrics": (key, n)}.

    Only sketches, band keys and tokens cross its shuffles (see the module docstring)."""

    def __init__(self, config: FuzzyDedupConfig, bands: tuple[int, int]):
        super().__init__()
        self.config = config
        self.bands = bands

    def expand(self, valid):
        cfg = self.config
        sketched = (
            valid
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=cfg.batch_size)
            | "Sketch" >> beam.ParDo(_Sketch(cfg, self.bands)).with_outputs("hashes", "metrics", main="units")
        )
        metrics = [sketched.metrics | "SumSketchMetrics" >> beam.CombinePerKey(sum)]
        if cfg.level == "file":
            units, hashes = sketched.units, sketched.hashes
        else:
            repo = (
                sketched.units
                | "MergeRepo" >> beam.CombinePerKey(_RepoSketchCombine())
                | "RepoBands" >> beam.ParDo(_RepoBands(cfg, self.bands)).with_outputs("hashes", main="units")
            )
            units, hashes = repo.units, repo.hashes
        edges = (
            units
            | "Buckets" >> LshBuckets()
            | "StarEdges" >> beam.FlatMap(_star_edges)
            | "DistinctEdges" >> beam.Distinct()
        )
        metrics.append(edges | "CountEdges" >> beam.combiners.Count.Globally()
                       | "EdgeMetric" >> beam.Map(lambda n: (f"{STAGE}/candidate_edges", n)))
        if cfg.verify_jaccard:
            candidates = (
                {"hubs": edges, "hashes": hashes}
                | "JoinMember" >> beam.CoGroupByKey()
                | "ToHub" >> beam.FlatMap(_to_hub)
            )
            verified = (
                {"candidates": candidates, "hashes": hashes}
                | "JoinHub" >> beam.CoGroupByKey()
                | "Verify" >> beam.ParDo(_Verify(cfg.jaccard_threshold)).with_outputs("metrics", main="edges")
            )
            edges = verified.edges
            metrics.append(verified.metrics)
        cc = edges | "Components" >> connected_components(
            cfg.cc_algorithm, cfg.cc_max_rounds, cfg.max_local_edges, f"{STAGE}/cc"
        )
        metrics.append(cc["metrics"])
        verdicts = (
            cc["labels"]
            | "ByRoot" >> beam.Map(lambda nr: (nr[1], nr[0]))
            | "GroupComponents" >> beam.GroupByKey()
            | "Verdicts" >> beam.FlatMap(_component_verdicts(cfg.level))
        )
        return {"verdicts": verdicts, "metrics": metrics | "AllMetrics" >> beam.Flatten()}


class FuzzyDedupStage(beam.PTransform):
    def __init__(self, config: FuzzyDedupConfig, output_dir: str):
        super().__init__()
        self.config = config
        self.output_dir = output_dir
        self.bands = config.bands()  # resolved in the driver (lsh_threshold may need datasketch)

    def expand(self, docs):
        cfg = self.config
        valid = docs | "Validate" >> beam.ParDo(ValidateDocuments(STAGE)).with_outputs("dropped", main="valid")
        clusters = valid.valid | "Clusters" >> FuzzyVerdicts(cfg, self.bands)
        verdicts = clusters["verdicts"]
        applied = (valid.valid, verdicts) | "Apply" >> ApplyVerdicts(
            STAGE, "near_duplicate", "near_dup_cluster_size", cfg.level
        )
        if cfg.sample_clusters > 0:
            _ = verdicts | "Sample" >> WriteDuplicateSample(
                self.output_dir, "fuzzy_duplicates", cfg.level, cfg.sample_clusters, cfg.sample_removed_ids
            )
        dropped = (valid.dropped, applied["dropped"]) | "AllDropped" >> beam.Flatten()
        all_metrics = (clusters["metrics"], applied["metrics"]) | "AllMetrics" >> beam.Flatten()
        return stage_output(applied["kept"], dropped, all_metrics)


def make_stage(context: StageContext, config: FuzzyDedupConfig | None = None) -> FuzzyDedupStage:
    return FuzzyDedupStage(config or FuzzyDedupConfig(), context.output_dir)
