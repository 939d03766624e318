"""A reproducible ArrayRecord sink that never holds the corpus in memory.

Same files as `WriteToArrayRecord(prefix, num_shards, keyed=True)`: shard = hash of the
key (`stable_shard`), records sorted within a shard, all `num_shards` files written. But
instead of grouping every record by shard (a local runner then buffers the whole corpus),
each bundle sorts what it holds per shard and writes small *sorted runs*
(`<prefix>.runs/SSSSS-<random>.array_record`, flushed at `max_buffer_bytes`); only the
run paths are grouped by shard, and one merge per shard streams a k-way merge of its
runs into the final file (a few records per run in memory), then deletes the runs.
A merge of sorted runs is the sorted list, so the output depends on the record set alone.
"""
from __future__ import annotations

import heapq
import os
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from beam_pipelines.array_record_io import (
    _local_copy,
    shard_name,
    stable_shard,
    write_array_record_file,
)
from beam_pipelines.stage import in_global_window

_READ_CHUNK = 64  # records read at a time from one run during the merge


class _WriteSortedRuns(beam.DoFn):
    """(key, record) -> per shard, sorted run files; outputs (shard, run path)."""

    def __init__(self, runs_dir: str, num_shards: int, max_buffer_bytes: int):
        self._dir = runs_dir
        self._n = num_shards
        self._max = max_buffer_bytes

    def start_bundle(self):
        self._buffers: dict[int, list[bytes]] = {}
        self._bytes = 0

    def process(self, key_and_record):
        key, record = key_and_record
        self._buffers.setdefault(stable_shard(key, self._n), []).append(record)
        self._bytes += len(record)
        if self._bytes >= self._max:
            yield from self._flush()

    def finish_bundle(self):
        for item in self._flush():
            yield in_global_window(item)

    def _flush(self):
        out = []
        for shard, records in sorted(self._buffers.items()):
            records.sort()
            path = FileSystems.join(self._dir, f"{shard:05d}-{uuid.uuid4().hex}.array_record")
            write_array_record_file(path, records)
            out.append((shard, path))
        self._buffers, self._bytes = {}, 0
        return out


def _iter_run(path: str):
    """Stream one run's records, a chunk at a time."""
    from array_record.python import array_record_module

    local, is_copy = _local_copy(path)
    try:
        reader = array_record_module.ArrayRecordReader(local)
        try:
            n = reader.num_records()
            for start in range(0, n, _READ_CHUNK):
                yield from reader.read(range(start, min(n, start + _READ_CHUNK)))
        finally:
            reader.close()
    finally:
        if is_copy:
            os.remove(local)


class _MergeShard(beam.DoFn):
    def __init__(self, prefix: str, num_shards: int):
        self._prefix = prefix
        self._n = num_shards

    def process(self, shard_and_groups):
        shard, groups = shard_and_groups
        runs = sorted(groups["runs"])
        path = shard_name(self._prefix, shard, self._n)
        count = write_array_record_file(path, heapq.merge(*(_iter_run(r) for r in runs)))
        if runs:
            FileSystems.delete(runs)
        yield path, count


class WriteToArrayRecordSortedRuns(beam.PTransform):
    """PCollection[(key, bytes)] -> `num_shards` shards; outputs PCollection[(path, count)]."""

    def __init__(self, output_prefix: str, num_shards: int = 8, max_buffer_bytes: int = 64 << 20):
        super().__init__()
        if num_shards < 1:
            raise ValueError(f"num_shards must be >= 1, got {num_shards}")
        self._prefix = output_prefix
        self._n = num_shards
        self._max = max_buffer_bytes

    def expand(self, keyed_records):
        runs_dir = self._prefix + ".runs"
        runs = keyed_records | "SortedRuns" >> beam.ParDo(_WriteSortedRuns(runs_dir, self._n, self._max))
        shards = keyed_records.pipeline | "AllShards" >> beam.Create([(i, None) for i in range(self._n)])
        written = (
            {"runs": runs, "shards": shards}
            | "GroupRuns" >> beam.CoGroupByKey()
            | "MergeRuns" >> beam.ParDo(_MergeShard(self._prefix, self._n))
        )
        # the (now empty) runs folder goes once every shard is merged
        _ = (keyed_records.pipeline | "RunsDir" >> beam.Create([runs_dir])
             | "RemoveRunsDir" >> beam.Map(_remove_dir, beam.pvalue.AsList(written)))
        return written


def _remove_dir(path: str, _written) -> None:
    if "://" not in path and os.path.isdir(path):
        try:
            os.rmdir(path)
        except OSError:
            pass  # a leftover run (a retried bundle) stays for inspection
