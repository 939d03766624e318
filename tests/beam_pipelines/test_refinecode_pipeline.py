"""The RefineCode graph end to end (preprocess stage): conservation, outputs, ids, errors."""
import glob
import gzip
import json
import os

import grain
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_pipelines.array_record_io import read_array_record_file
from beam_pipelines.refinecode import parse_stages
from beam_pipelines.refinecode_main import check_output_writable
from opencoder_jax import cli
from opencoder_jax.document import make_id


def _make_inputs(root):
    tree = root / "tree"
    (tree / "repo1" / "pkg").mkdir(parents=True)
    (tree / "repo1" / "pkg" / "mod.py").write_text("def f():\n    return 1\n")
    (tree / "repo1" / "data.csv").write_text("a,b\n1,2\n")             # excluded type
    (tree / "repo1" / "notes.qqq").write_text("hello")                 # unknown language
    (tree / "repo2").mkdir()
    (tree / "repo2" / "main.c").write_text("int main(void){return 0;}\n")
    (tree / "repo2" / "img.py").write_bytes(b"abc\x00def")             # binary
    (tree / "repo2" / "latin1.py").write_bytes(b"s = '\xe9'\n")         # undecodable
    (tree / "repo2" / "empty.py").write_bytes(b"")                      # empty
    (tree / "repo2" / "huge.js").write_bytes(b"x" * (8 * 1024 * 1024 + 1))  # too large
    jsonl = root / "rows.jsonl.gz"
    with gzip.open(jsonl, "wt") as f:
        f.write(json.dumps({"repo_name": "o/j", "path": "x.go", "content": "package x\n", "stars": 2}) + "\n")
        f.write("{not json\n")
    pq.write_table(pa.table({"repo_name": ["o/p"], "path": ["y.rs"], "content": ["fn main() {}\n"]}),
                   root / "rows.parquet")
    return [str(tree), str(jsonl), str(root / "rows.parquet")]


def _docs(out):
    records = []
    for path in sorted(glob.glob(os.path.join(out, "documents-*.array_record"))):
        records.extend(read_array_record_file(path))
    return [json.loads(r) for r in records]


def test_preprocess_end_to_end(tmp_path):
    inputs = _make_inputs(tmp_path)
    out = str(tmp_path / "out")
    rc = cli.main(["data", "refinecode", "--input", *inputs, "--output", out, "--stages", "preprocess",
                   "--num_shards", "3", "--no_report"])
    assert rc == 0
    stats = json.load(open(os.path.join(out, "stats.json")))
    assert stats["input"] == 11
    assert stats["kept"] == 4
    assert stats["conservation_ok"] and stats["input"] == stats["kept"] + sum(stats["dropped"].values())
    assert stats["dropped"] == {
        "preprocess/excluded_type": 1, "preprocess/unknown_language": 1, "preprocess/binary": 1,
        "preprocess/undecodable": 1, "preprocess/empty": 1, "preprocess/too_large": 1, "read/broken_jsonl": 1}
    assert stats["per_language"]["python"]["documents"] == 1
    assert set(stats["per_language"]) == {"python", "c", "go", "rust"}
    docs = _docs(out)
    by_path = {d["path"]: d for d in docs}
    assert set(by_path) == {"pkg/mod.py", "main.c", "x.go", "y.rs"}
    assert by_path["x.go"]["stars"] == 2 and by_path["x.go"]["repo"] == "o/j"
    assert by_path["pkg/mod.py"]["repo"] == "repo1"
    d = by_path["main.c"]
    assert d["id"] == make_id("repo2", "main.c", d["sha256"])
    # Grain can read the shards by index.
    src = grain.sources.ArrayRecordDataSource(sorted(glob.glob(os.path.join(out, "documents-*.array_record"))))
    assert len(src) == 4
    # The broken line is inspectable in the dead-letter output, examples per reason exist.
    dead = [json.loads(line) for line in open(os.path.join(out, "dead_letter.jsonl"))]
    assert [x["reason"] for x in dead] == ["read/broken_jsonl"] and "{not json" in dead[0]["raw"]
    examples = [json.loads(line) for line in open(os.path.join(out, "drop_examples.jsonl"))]
    assert {e["reason"] for e in examples} == set(stats["dropped"])
    assert "RefinecodeConfig.num_shards = 3" in open(os.path.join(out, "config.gin")).read()


def test_ids_and_content_independent_of_sharding(tmp_path):
    rows = [{"repo_name": f"o/r{i % 5}", "path": f"f{i}.py", "content": f"x = {i}\n"} for i in range(60)]
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for part in range(4):
        (b / f"part{part}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reversed(rows[part::4])))
    outs = []
    for name, pattern, shards in (("oa", str(a / "*.jsonl"), 2), ("ob", str(b / "*.jsonl"), 5)):
        out = str(tmp_path / name)
        assert cli.main(["data", "refinecode", "--input", pattern, "--output", out, "--stages", "preprocess",
                         "--num_shards", str(shards), "--no_report"]) == 0
        outs.append(sorted((d["id"], d["path"], d["text"]) for d in _docs(out)))
    assert outs[0] == outs[1] and len(outs[0]) == 60


def test_clear_errors_before_work(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert cli.main(["data", "refinecode", "--input", str(tmp_path / "nope.jsonl"), "--output", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PermissionError, match="not writable"):
        check_output_writable(str(blocker / "sub"), overwrite=False)
    os.makedirs(out)
    open(os.path.join(out, "stats.json"), "w").write("{}")
    with pytest.raises(FileExistsError, match="--overwrite"):
        check_output_writable(out, overwrite=False)
    check_output_writable(out, overwrite=True)
    assert not os.path.exists(os.path.join(out, "stats.json"))


def test_parse_stages():
    assert parse_stages("preprocess,filter") == ("preprocess", "filter")
    with pytest.raises(ValueError, match="out of order"):
        parse_stages("filter,preprocess")
    with pytest.raises(ValueError, match="unknown stage"):
        parse_stages("preprocess,bogus")
