"""ArrayRecord sink and source for Beam, over Beam's file systems (local dirs, gs://, ...).

Shards are named `<prefix>-SSSSS-of-NNNNN.array_record` and written with
`group_size:1` so Grain's ArrayRecordDataSource can read any record by index. Every shard
is written in full to a temporary name and then renamed, so a reader never sees a partial
shard, and a retried bundle simply overwrites its own temporary file.

Within a shard records are sorted, and a record's shard is a hash of its key: the output
is then a function of the set of records alone, not of input order or runner parallelism.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from typing import Iterable

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from beam_pipelines.stage import in_global_window
from opencoder_jax.data.array_record_file import write_records

_COPY_CHUNK = 16 << 20


def shard_name(prefix: str, index: int, num_shards: int) -> str:
    return f"{prefix}-{index:05d}-of-{num_shards:05d}.array_record"


def stable_shard(key: bytes | str, num_shards: int) -> int:
    if isinstance(key, str):
        key = key.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") % num_shards


def _is_local(path: str) -> bool:
    return "://" not in path


def write_array_record_file(path: str, records: Iterable[bytes]) -> int:
    """Write records to `path` (any Beam file system) atomically; returns the record count."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    if _is_local(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        local_tmp = tmp
    else:
        fd, local_tmp = tempfile.mkstemp(suffix=".array_record")
        os.close(fd)
    count = write_records(local_tmp, records)
    if _is_local(path):
        os.replace(tmp, path)
    else:
        try:
            with open(local_tmp, "rb") as src, FileSystems.create(tmp) as dst:
                shutil.copyfileobj(src, dst, _COPY_CHUNK)
            FileSystems.rename([tmp], [path])
        finally:
            os.remove(local_tmp)
    return count


class _WriteShard(beam.DoFn):
    def __init__(self, prefix: str, num_shards: int):
        self._prefix = prefix
        self._num_shards = num_shards

    def process(self, element):
        index, grouped = element
        records = sorted(grouped["records"])
        path = shard_name(self._prefix, index, self._num_shards)
        count = write_array_record_file(path, records)
        yield path, count


class WriteToArrayRecord(beam.PTransform):
    """PCollection[bytes] -> shards; outputs PCollection[(path, num_records)].

    A record's shard is a hash of the record itself, or with `keyed=True` the input is
    (key, record) pairs and the key (e.g. a document id) picks the shard. All `num_shards`
    files are written, empty ones included, so `-of-N` is always true.
    """

    def __init__(self, output_prefix: str, num_shards: int = 8, keyed: bool = False):
        super().__init__()
        if num_shards < 1:
            raise ValueError(f"num_shards must be >= 1, got {num_shards}")
        self._prefix = output_prefix
        self._num_shards = num_shards
        self._keyed = keyed

    def expand(self, records):
        n = self._num_shards
        if self._keyed:
            keyed = records | "KeyByShard" >> beam.MapTuple(lambda key, r: (stable_shard(key, n), r))
        else:
            keyed = records | "KeyByShard" >> beam.Map(lambda r: (stable_shard(r, n), r))
        shards = records.pipeline | "AllShards" >> beam.Create([(i, None) for i in range(n)])
        return (
            {"records": keyed, "shards": shards}
            | "GroupShards" >> beam.CoGroupByKey()
            | "WriteShards" >> beam.ParDo(_WriteShard(self._prefix, n))
        )


class _WritePerBundle(beam.DoFn):
    """Each bundle streams into its own shard: memory stays flat, names are not stable."""

    def __init__(self, prefix: str):
        self._prefix = prefix

    def start_bundle(self):
        self._records = None

    def process(self, record):
        if self._records is None:
            self._records = []
        self._records.append(record)
        if len(self._records) >= 50_000:  # cap what one bundle holds before it writes
            yield from self._flush()

    def finish_bundle(self):
        for item in self._flush():
            yield in_global_window(item)

    def _flush(self):
        if not self._records:
            return []
        path = f"{self._prefix}-b{uuid.uuid4().hex[:16]}.array_record"
        count = write_array_record_file(path, self._records)
        self._records = []
        return [(path, count)]


class WriteToArrayRecordPerBundle(beam.PTransform):
    """PCollection[bytes] -> `<prefix>-b<random>.array_record` shards, one or more per bundle.

    For big local runs: no shuffle of the records, so a local runner's memory does not grow
    with the corpus. Shard names and record order depend on bundling (not reproducible);
    a retried bundle can leave an extra shard on runners that retry after finish_bundle.
    """

    def __init__(self, output_prefix: str):
        super().__init__()
        self._prefix = output_prefix

    def expand(self, records):
        return records | "WritePerBundle" >> beam.ParDo(_WritePerBundle(self._prefix))


def match_files(pattern: str) -> list[str]:
    result = FileSystems.match([pattern])[0]
    return sorted(m.path for m in result.metadata_list)


def _local_copy(path: str) -> tuple[str, bool]:
    if _is_local(path):
        return path, False
    fd, local = tempfile.mkstemp(suffix=".array_record")
    with os.fdopen(fd, "wb") as dst, FileSystems.open(path) as src:
        shutil.copyfileobj(src, dst, _COPY_CHUNK)
    return local, True


def read_array_record_file(path: str) -> list[bytes]:
    """All records of one shard (for tests, small tools and the driver)."""
    from array_record.python import array_record_module

    local, is_copy = _local_copy(path)
    try:
        reader = array_record_module.ArrayRecordReader(local)
        try:
            return list(reader.read_all())
        finally:
            reader.close()
    finally:
        if is_copy:
            os.remove(local)


class _SplitIntoRanges(beam.DoFn):
    def __init__(self, records_per_range: int):
        self._per = records_per_range

    def process(self, path):
        from array_record.python import array_record_module

        local, is_copy = _local_copy(path)
        try:
            reader = array_record_module.ArrayRecordReader(local)
            n = reader.num_records()
            reader.close()
        finally:
            if is_copy:
                os.remove(local)
        for start in range(0, n, self._per):
            yield path, start, min(n, start + self._per)


class _ReadRange(beam.DoFn):
    def process(self, element):
        from array_record.python import array_record_module

        path, start, end = element
        local, is_copy = _local_copy(path)
        try:
            reader = array_record_module.ArrayRecordReader(local)
            try:
                yield from reader.read(range(start, end))
            finally:
                reader.close()
        finally:
            if is_copy:
                os.remove(local)


class ReadFromArrayRecord(beam.PTransform):
    """File pattern (or list of patterns) -> PCollection[bytes], split into record ranges."""

    def __init__(self, file_patterns: str | list[str], records_per_range: int = 4096):
        super().__init__()
        self._patterns = [file_patterns] if isinstance(file_patterns, str) else list(file_patterns)
        self._per = records_per_range

    def expand(self, pbegin):
        paths = sorted({p for pattern in self._patterns for p in match_files(pattern)})
        if not paths:
            raise FileNotFoundError(f"no ArrayRecord files match {self._patterns}")
        return (
            pbegin
            | "Paths" >> beam.Create(paths)
            | "Ranges" >> beam.ParDo(_SplitIntoRanges(self._per))
            | "Reshuffle" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(_ReadRange())
        )
