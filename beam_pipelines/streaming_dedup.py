"""The dedup stages in bounded memory: documents cross them on disk, only ids and hashes shuffle.

Same decisions as `stages/exact_dedup.py` + `stages/fuzzy_dedup.py` run back to back (the
same keeper rule, clusters, drops, metrics and samples), but the documents never enter a
grouping step, so a local runner (which buffers every shuffled PCollection in memory)
holds ids and hashes, not text. Graph:

  docs --Spool--> spool shards  <temp>/dedup_spool/spool-<fid>.array_record (pickled docs)
        \\-> per document (loc = "<fid>:<index>", exact key record: id, repo, path, stars,
            date, content key)                                      [exact_dedup]
  key records -> ExactVerdicts (the stage's own clustering) -> decisions per loc
  spool -> read -> skip exact drops -> FuzzyVerdicts (sketch, LSH, components)
            -> decisions per loc                                    [fuzzy_dedup]
  spool -> read -> apply all decisions (side input: loc -> decisions, clustered units only)
        -> kept documents stream on to the next stage; drops, metrics, funnel entries.

The decisions side input holds one entry per document that is dropped or kept as the
keeper of a cluster of two or more (singletons are the default), i.e. ids, not text.
On a distributed runner the same graph works and skips the document shuffle altogether.
The spool is deleted once the apply pass has read it.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from beam_pipelines import stats
from beam_pipelines.array_record_io import (
    _local_copy,
    _SplitIntoRanges,
    write_array_record_file,
)
from beam_pipelines.dedup_common import (
    WriteDuplicateSample,
    doc_unit_key,
    is_valid_document,
    unit_verdict,
)
from beam_pipelines.stage import StageContext, in_global_window, make_drop
from opencoder_jax.document import text_bytes
from opencoder_jax.refinecode.dedup_config import ExactDedupConfig, FuzzyDedupConfig

DEDUP_STAGES = ("exact_dedup", "fuzzy_dedup")
# stage -> (drop reason, meta key of the cluster size on kept documents)
STAGE_META = {"exact_dedup": ("duplicate", "dup_cluster_size"),
              "fuzzy_dedup": ("near_duplicate", "near_dup_cluster_size")}
_SPOOL_PREFIX, _SPOOL_SUFFIX = "spool-", ".array_record"
_RECORDS_PER_RANGE = 2048  # records per read task (parallelism); read `_READ_CHUNK` at a time
_READ_CHUNK = 16


class _Spool(beam.DoFn):
    """Valid documents -> spool shards (main output: their paths); invalid ones -> drops;
    with exact dedup, per document (loc, exact key record) on "keys"."""

    def __init__(self, spool_dir: str, first_stage: str, exact: ExactDedupConfig | None,
                 max_bytes: int = 64 << 20, max_records: int = 20_000):
        self._dir, self._first, self._exact = spool_dir, first_stage, exact
        self._max_bytes, self._max_records = max_bytes, max_records

    def start_bundle(self):
        self._records, self._keys, self._bytes = [], [], 0

    def process(self, doc):
        if not is_valid_document(doc):
            bad = doc if isinstance(doc, dict) else {"id": "", "text": repr(doc)[:200]}
            yield beam.pvalue.TaggedOutput("dropped", make_drop(self._first, "invalid_document", bad))
            return
        from beam_pipelines.stages.exact_dedup import exact_key_record

        record = pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL)
        self._records.append(record)
        self._keys.append(exact_key_record(doc, self._exact.hash_text) if self._exact else None)
        self._bytes += len(record)
        if self._bytes >= self._max_bytes or len(self._records) >= self._max_records:
            for tag, value in self._flush():
                yield value if tag is None else beam.pvalue.TaggedOutput(tag, value)

    def finish_bundle(self):
        for tag, value in self._flush():
            yield in_global_window(value) if tag is None else beam.pvalue.TaggedOutput(tag, in_global_window(value))

    def _flush(self):
        if not self._records:
            return []
        fid = uuid.uuid4().hex
        path = FileSystems.join(self._dir, f"{_SPOOL_PREFIX}{fid}{_SPOOL_SUFFIX}")
        write_array_record_file(path, self._records)
        out = [(None, path)]
        out += [("keys", (f"{fid}:{i}", key)) for i, key in enumerate(self._keys) if key is not None]
        self._records, self._keys, self._bytes = [], [], 0
        return out


class _ReadSpoolRange(beam.DoFn):
    """(path, start, end) -> (loc, document), a few records in memory at a time."""

    def process(self, element):
        from array_record.python import array_record_module

        path, start, end = element
        fid = os.path.basename(path)[len(_SPOOL_PREFIX):-len(_SPOOL_SUFFIX)]
        local, is_copy = _local_copy(path)
        try:
            reader = array_record_module.ArrayRecordReader(local)
            try:
                for lo in range(start, end, _READ_CHUNK):
                    hi = min(end, lo + _READ_CHUNK)
                    for i, record in zip(range(lo, hi), reader.read(range(lo, hi))):
                        yield f"{fid}:{i}", pickle.loads(record)
            finally:
                reader.close()
        finally:
            if is_copy:
                os.remove(local)


class ReadSpool(beam.PTransform):
    def expand(self, paths):
        return (paths
                | "Ranges" >> beam.ParDo(_SplitIntoRanges(_RECORDS_PER_RANGE))
                | "Reshuffle" >> beam.Reshuffle()
                | "Read" >> beam.ParDo(_ReadSpoolRange()))


class _DecideLocs(beam.DoFn):
    """Per unit: its documents' locs + its verdict -> (loc, (stage, kept, keeper_id, size)) for
    every document that is dropped or keeps a cluster of 2+; metrics as the stages report them."""

    def __init__(self, stage: str, level: str):
        self._stage, self._level = stage, level

    def process(self, key_and_groups):
        key, groups = key_and_groups
        keeper_id, size, is_keeper, metric = unit_verdict(key, groups["verdict"], self._level, self._stage)
        yield beam.pvalue.TaggedOutput("metrics", metric)
        # several documents under one file-level key are the same (repo, path, content, stars,
        # date): the first (smallest loc) is kept, the others are its copies (as ApplyVerdicts)
        for i, loc in enumerate(sorted(groups["locs"])):
            if is_keeper and (i == 0 or self._level == "repo"):
                if size != 1:
                    yield loc, (self._stage, True, keeper_id, size)
            else:
                yield loc, (self._stage, False, keeper_id, size)


class _ToDict(beam.CombineFn):
    """(loc, decision) pairs -> {loc: (decision, ...)}."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, item):
        loc, decision = item
        acc[loc] = acc.get(loc, ()) + (decision,)
        return acc

    def merge_accumulators(self, accs):
        out = {}
        for acc in accs:
            for loc, decisions in acc.items():
                out[loc] = out.get(loc, ()) + decisions
        return out

    def extract_output(self, acc):
        return acc


class _ApplyDecisions(beam.DoFn):
    """(loc, doc) -> the kept doc (cluster sizes in meta) or one drop; metrics; funnel entries."""

    def __init__(self, stages: tuple[str, ...], lang_before: bool):
        self._stages, self._lang_before = stages, lang_before

    def process(self, loc_and_doc, decisions):
        loc, doc = loc_and_doc
        found = {d[0]: d for d in decisions.get(loc, ())}
        for index, stage in enumerate(self._stages):
            reason, meta_key = STAGE_META[stage]
            decision = found.get(stage)
            if decision is not None and not decision[1]:
                _, _, keeper_id, size = decision
                yield beam.pvalue.TaggedOutput(
                    "dropped", make_drop(stage, reason, doc, kept_id=keeper_id, cluster_size=size))
                language = doc.get("language") or "unknown"
                yield beam.pvalue.TaggedOutput("metrics", (f"{stage}/bytes_removed/{language}", text_bytes(doc)))
                return
            doc = dict(doc)
            doc["meta"] = {**(doc.get("meta") or {}), meta_key: decision[3] if decision else 1}
            for entry in stats.doc_entries("funnel", stage)(doc):
                yield beam.pvalue.TaggedOutput("entries", entry)
            if index == 0 and self._lang_before:
                for entry in stats.language_entries("lang_before")(doc):
                    yield beam.pvalue.TaggedOutput("entries", entry)
        yield doc


def _delete_spool(path: str, _done) -> str:
    FileSystems.delete([path])
    return path


def _remove_empty_dirs(path: str, _deleted) -> None:
    """The run's spool folder and `dedup_spool/` above it, where empty (local file systems)."""
    for folder in (path, os.path.dirname(path)):
        if "://" not in folder and os.path.isdir(folder):
            try:
                os.rmdir(folder)
            except OSError:
                return  # not empty: another run's spool, or a leftover kept for inspection


class StreamingDedup(beam.PTransform):
    """docs -> {"kept", "dropped", "metrics", "entries"} for exact and/or fuzzy dedup.

    "entries" are the funnel rows of each dedup stage (and "lang_before" after the first
    one if `lang_before`), already summed per key, for stats.json."""

    def __init__(self, stages: tuple[str, ...], context: StageContext,
                 exact: ExactDedupConfig | None = None, fuzzy: FuzzyDedupConfig | None = None,
                 lang_before: bool = False, spool_buffer_bytes: int = 64 << 20):
        super().__init__()
        unknown = [s for s in stages if s not in DEDUP_STAGES]
        if unknown or not stages or list(stages) != sorted(stages, key=DEDUP_STAGES.index):
            raise ValueError(f"StreamingDedup runs {DEDUP_STAGES} (a non-empty subset, in order), got {stages}")
        self.stages = tuple(stages)
        self.output_dir = context.output_dir
        self.spool_dir = FileSystems.join(context.temp_dir, "dedup_spool", uuid.uuid4().hex[:12])
        self.exact = (exact or ExactDedupConfig()) if "exact_dedup" in stages else None
        self.fuzzy = (fuzzy or FuzzyDedupConfig()) if "fuzzy_dedup" in stages else None
        self.bands = self.fuzzy.bands() if self.fuzzy else None  # resolved in the driver
        self.lang_before = lang_before
        self.spool_buffer_bytes = spool_buffer_bytes  # per worker, before a spool shard is written

    def expand(self, docs):
        from beam_pipelines.stages.exact_dedup import ExactVerdicts
        from beam_pipelines.stages.fuzzy_dedup import FuzzyVerdicts

        spooled = docs | "Spool" >> beam.ParDo(_Spool(
            self.spool_dir, self.stages[0], self.exact, self.spool_buffer_bytes)).with_outputs(
            "keys", "dropped", main="paths")
        paths = spooled.paths
        decisions, metrics = [], []
        exact_dropped = None
        if self.exact:
            cfg = self.exact
            keys = spooled["keys"]
            # key records carry the content key in "sha256": no text needed any more
            verdicts = (keys | "ExactKeyRecords" >> beam.Values()
                        | "ExactClusters" >> ExactVerdicts(dataclasses.replace(cfg, hash_text=False)))
            level = cfg.level
            locs = keys | "ExactUnitLocs" >> beam.Map(lambda lk: (doc_unit_key(lk[1], level), lk[0]))
            decided = ({"locs": locs, "verdict": verdicts} | "ExactJoin" >> beam.CoGroupByKey()
                       | "ExactDecide" >> beam.ParDo(_DecideLocs("exact_dedup", level)).with_outputs(
                           "metrics", main="decisions"))
            decisions.append(decided.decisions)
            metrics.append(decided.metrics | "SumExactMetrics" >> beam.CombinePerKey(sum))
            if cfg.sample_clusters > 0:
                _ = verdicts | "ExactSample" >> WriteDuplicateSample(
                    self.output_dir, "exact_duplicates", level, cfg.sample_clusters, cfg.sample_removed_ids)
            exact_dropped = (decided.decisions
                             | "ExactDroppedLocs" >> beam.FlatMap(lambda ld: [(ld[0], ld[1])] if not ld[1][1] else [])
                             | "ExactDroppedSet" >> beam.CombineGlobally(_ToDict()))
        if self.fuzzy:
            cfg = self.fuzzy
            level = cfg.level
            located = paths | "ReadForFuzzy" >> ReadSpool()
            if exact_dropped is not None:
                located = located | "SkipExactDrops" >> beam.Filter(
                    lambda ld, dropped: ld[0] not in dropped, beam.pvalue.AsSingleton(exact_dropped))
            clusters = located | "FuzzyDocs" >> beam.Values() | "FuzzyClusters" >> FuzzyVerdicts(cfg, self.bands)
            locs = located | "FuzzyUnitLocs" >> beam.Map(lambda ld: (doc_unit_key(ld[1], level), ld[0]))
            decided = ({"locs": locs, "verdict": clusters["verdicts"]} | "FuzzyJoin" >> beam.CoGroupByKey()
                       | "FuzzyDecide" >> beam.ParDo(_DecideLocs("fuzzy_dedup", level)).with_outputs(
                           "metrics", main="decisions"))
            decisions.append(decided.decisions)
            metrics += [clusters["metrics"], decided.metrics | "SumFuzzyMetrics" >> beam.CombinePerKey(sum)]
            if cfg.sample_clusters > 0:
                _ = clusters["verdicts"] | "FuzzySample" >> WriteDuplicateSample(
                    self.output_dir, "fuzzy_duplicates", level, cfg.sample_clusters, cfg.sample_removed_ids)
        table = (decisions | "AllDecisions" >> beam.Flatten()
                 | "DecisionTable" >> beam.CombineGlobally(_ToDict()))
        applied = (paths
                   | "ReadForApply" >> ReadSpool()
                   | "Apply" >> beam.ParDo(_ApplyDecisions(self.stages, self.lang_before),
                                           beam.pvalue.AsSingleton(table)).with_outputs(
                       "dropped", "metrics", "entries", main="kept"))
        metrics.append(applied.metrics | "SumApplyMetrics" >> beam.CombinePerKey(sum))
        entries = applied.entries | "SumEntries" >> beam.CombinePerKey(sum)
        done = applied.kept | "CountKept" >> beam.combiners.Count.Globally()
        deleted = paths | "DeleteSpool" >> beam.Map(_delete_spool, beam.pvalue.AsSingleton(done))
        _ = (paths.pipeline | "SpoolDir" >> beam.Create([self.spool_dir])
             | "RemoveSpoolDir" >> beam.Map(_remove_empty_dirs, beam.pvalue.AsList(deleted)))
        return {
            "kept": applied.kept,
            "dropped": (spooled.dropped, applied.dropped) | "AllDropped" >> beam.Flatten(),
            "metrics": metrics | "AllMetrics" >> beam.Flatten(),
            "entries": entries,
        }


def make_streaming_dedup(stages: tuple[str, ...], context: StageContext, lang_before: bool = False) -> StreamingDedup:
    """The gin-bound dedup configs, read in the driver (workers receive plain values)."""
    return StreamingDedup(stages, context, ExactDedupConfig(), FuzzyDedupConfig(), lang_before)
