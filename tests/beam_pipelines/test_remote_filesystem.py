"""Outputs on a non-local Beam file system (the gs:// code paths), via an in-memory stand-in."""
import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.array_record_io import (ReadFromArrayRecord, WriteToArrayRecord, match_files,
                                            read_array_record_file)
from opencoder_jax import cli
from tests.helpers.memory_filesystem import FILES  # importing registers the memtest:// scheme


def test_array_record_round_trip_on_remote_fs():
    prefix = "memtest://bucket/ar/documents"
    records = [f"r{i}".encode() for i in range(50)]
    with TestPipeline(runner="FnApiRunner") as p:
        _ = p | beam.Create(records) | WriteToArrayRecord(prefix, num_shards=3)
    shards = match_files(prefix + "-*.array_record")
    assert len(shards) == 3 and not [p for p in FILES if ".tmp-" in p]
    assert sorted(r for s in shards for r in read_array_record_file(s)) == sorted(records)
    with TestPipeline(runner="FnApiRunner") as p:
        assert_that(p | ReadFromArrayRecord(prefix + "-*.array_record"), equal_to(records))


def test_refinecode_writes_to_a_remote_output(tmp_path):
    repo = tmp_path / "tree" / "r1"
    repo.mkdir(parents=True)
    (repo / "a.py").write_text("def f(x):\n    return x + 1\n")
    (repo / "b.csv").write_text("a,b\n")
    out = "memtest://bucket/run1"
    assert cli.main(["data", "refinecode", "--input", str(tmp_path / "tree"), "--output", out,
                     "--stages", "preprocess", "--num_shards", "2"]) == 0
    with FileSystems.open(out + "/stats.json") as f:
        stats = json.loads(f.read())
    assert stats["input"] == 2 and stats["kept"] == 1 and stats["conservation_ok"]
    docs = [json.loads(r) for s in match_files(out + "/documents-*.array_record") for r in read_array_record_file(s)]
    assert [d["path"] for d in docs] == ["a.py"]
    assert FileSystems.exists(out + "/config.gin") and FileSystems.exists(out + "/report.html")
    # a second run refuses to overwrite, then replaces with --overwrite
    assert cli.main(["data", "refinecode", "--input", str(tmp_path / "tree"), "--output", out,
                     "--stages", "preprocess", "--no_report"]) == 2
    assert cli.main(["data", "refinecode", "--input", str(tmp_path / "tree"), "--output", out,
                     "--stages", "preprocess", "--no_report", "--overwrite"]) == 0
