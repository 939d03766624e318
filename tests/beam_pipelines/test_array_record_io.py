"""ArrayRecord sink/source: round trip, sharding, determinism, Grain readability."""
import glob
import os

import apache_beam as beam
import grain
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.array_record_io import (ReadFromArrayRecord, WriteToArrayRecord, read_array_record_file,
                                            shard_name, stable_shard, write_array_record_file)


def _records(n):
    return [f"record-{i}-{'x' * (i % 7)}".encode() for i in range(n)]


def test_shard_name_and_stable_shard():
    assert shard_name("/a/documents", 3, 8) == "/a/documents-00003-of-00008.array_record"
    assert stable_shard(b"abc", 8) == stable_shard("abc", 8)
    assert {stable_shard(str(i), 4) for i in range(100)} == {0, 1, 2, 3}


def test_write_file_is_atomic_and_readable(tmp_path):
    path = str(tmp_path / "x.array_record")
    assert write_array_record_file(path, [b"a", b"", b"\x00\xff"]) == 3
    assert read_array_record_file(path) == [b"a", b"", b"\x00\xff"]
    assert not glob.glob(str(tmp_path / "*.tmp-*"))  # no temp leftovers


def test_beam_round_trip_and_grain(tmp_path):
    records = _records(200)
    prefix = str(tmp_path / "documents")
    with TestPipeline(runner="FnApiRunner") as p:
        written = p | beam.Create(records) | WriteToArrayRecord(prefix, num_shards=4)
        assert_that(written | beam.Map(lambda kv: kv[1]) | beam.CombineGlobally(sum), equal_to([200]))
    files = sorted(glob.glob(prefix + "-*.array_record"))
    assert [os.path.basename(f) for f in files] == [f"documents-0000{i}-of-00004.array_record" for i in range(4)]
    source = grain.sources.ArrayRecordDataSource(files)
    assert len(source) == 200
    assert sorted(source[i] for i in range(len(source))) == sorted(records)
    with TestPipeline(runner="FnApiRunner") as p:
        read = p | ReadFromArrayRecord(prefix + "-*.array_record", records_per_range=7)
        assert_that(read, equal_to(records))


def test_empty_shards_are_written(tmp_path):
    prefix = str(tmp_path / "documents")
    with TestPipeline(runner="FnApiRunner") as p:
        _ = p | beam.Create([b"only"]) | WriteToArrayRecord(prefix, num_shards=3)
    files = sorted(glob.glob(prefix + "-*.array_record"))
    assert len(files) == 3
    assert sum(len(read_array_record_file(f)) for f in files) == 1


def test_output_independent_of_input_order(tmp_path):
    records = _records(100)
    outputs = []
    for name, order in (("a", records), ("b", list(reversed(records)))):
        prefix = str(tmp_path / name / "documents")
        with TestPipeline(runner="FnApiRunner") as p:
            _ = p | beam.Create(order) | beam.Reshuffle() | WriteToArrayRecord(prefix, num_shards=3)
        outputs.append([read_array_record_file(f) for f in sorted(glob.glob(prefix + "-*.array_record"))])
    assert outputs[0] == outputs[1]


def test_per_bundle_sink_writes_every_record(tmp_path):
    from beam_pipelines.array_record_io import WriteToArrayRecordPerBundle

    records = _records(300)
    prefix = str(tmp_path / "documents")
    with TestPipeline(runner="FnApiRunner") as p:
        written = p | beam.Create(records) | WriteToArrayRecordPerBundle(prefix)
        assert_that(written | beam.Map(lambda kv: kv[1]) | beam.CombineGlobally(sum), equal_to([300]))
    files = glob.glob(prefix + "-b*.array_record")
    assert files
    got = [r for f in files for r in read_array_record_file(f)]
    assert sorted(got) == sorted(records)
