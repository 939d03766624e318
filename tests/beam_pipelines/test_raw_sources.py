"""Raw sources: repository trees (with git dates), JSONL(.gz), Parquet, and their bad input."""
import gzip
import json
import os
import subprocess
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from beam_pipelines import raw_sources
from tests.helpers.beam_collect import collect_to, read_collected


def _run(transform):
    """Run one source; return (files, drops) as plain lists."""
    with tempfile.TemporaryDirectory() as tmp:
        with TestPipeline(runner="FnApiRunner") as p:
            result = p | transform
            for name in ("files", "drops"):
                collect_to(result[name], tmp, name)
        return read_collected(tmp, "files"), read_collected(tmp, "drops")


def test_classify_input(tmp_path):
    (tmp_path / "repo").mkdir()
    assert raw_sources.classify_input(str(tmp_path)) == "tree"
    assert raw_sources.classify_input("x/*.jsonl.gz") == "jsonl"
    assert raw_sources.classify_input("a.PARQUET") == "parquet"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "documents-00000-of-00001.array_record").write_bytes(b"")
    assert raw_sources.classify_input(str(tmp_path / "docs")) == "documents"
    with pytest.raises(ValueError):
        raw_sources.classify_input(str(tmp_path / "nothing.txt"))


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        raw_sources.check_inputs_exist([str(tmp_path / "missing" / "*.jsonl")])


def test_tree_walks_repos_and_skips_git_and_cache(tmp_path):
    (tmp_path / "alpha" / "src").mkdir(parents=True)
    (tmp_path / "alpha" / "src" / "a.py").write_text("x = 1\n")
    (tmp_path / "alpha" / "__pycache__").mkdir()
    (tmp_path / "alpha" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00")
    (tmp_path / "beta").mkdir()
    (tmp_path / "beta" / "b.go").write_text("package b\n")
    os.symlink(tmp_path / "beta" / "b.go", tmp_path / "beta" / "link.go")
    (tmp_path / "loose.c").write_text("int x;\n")
    files, drops = _run(raw_sources.ReadRepositoryTree(str(tmp_path), max_read_bytes=100))
    got = sorted((f["repo"], f["path"], f["content"]) for f in files)
    assert got == [("alpha", "src/a.py", b"x = 1\n"), ("beta", "b.go", b"package b\n"),
                   (os.path.basename(str(tmp_path)), "loose.c", b"int x;\n")]
    assert [(d["reason"], d["path"]) for d in drops] == [("read/symlink", "link.go")]


def test_tree_reads_at_most_max_read_bytes(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "big.py").write_bytes(b"a" * 1000)
    files, _ = _run(raw_sources.ReadRepositoryTree(str(tmp_path), max_read_bytes=11))
    assert files[0]["content"] == b"a" * 11


def test_tree_takes_commit_dates_from_git(tmp_path):
    repo = tmp_path / "gitrepo"
    repo.mkdir()
    (repo / "old.py").write_text("a = 1\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args, date):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                       env={**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})

    git("init", "-q", date="2020-01-01T00:00:00+00:00")
    git("add", "old.py", date="2020-01-01T00:00:00+00:00")
    git("commit", "-qm", "one", date="2020-01-01T00:00:00+00:00")
    (repo / "new.py").write_text("b = 2\n")
    git("add", "new.py", date="2021-06-01T12:00:00+00:00")
    git("commit", "-qm", "two", date="2021-06-01T12:00:00+00:00")
    files, _ = _run(raw_sources.ReadRepositoryTree(str(tmp_path), max_read_bytes=100))
    dates = {f["path"]: f["commit_date"] for f in files}
    assert dates == {"old.py": "2020-01-01T00:00:00+00:00", "new.py": "2021-06-01T12:00:00+00:00"}


def test_jsonl_and_gz_with_broken_lines(tmp_path):
    rows = [{"repo_name": "o/r", "path": "a.py", "content": "print(1)\n", "stars": 5,
             "commit_date": "2022-01-01"},
            {"repo": "o/s", "path": "b.js", "text": "var x;", "stars": "7"}]
    plain = tmp_path / "part-0.jsonl"
    plain.write_text(json.dumps(rows[0]) + "\n{broken json\n\n" + json.dumps({"path": "c.py"}) + "\n[1, 2]\n")
    with gzip.open(tmp_path / "part-1.jsonl.gz", "wt") as f:
        f.write(json.dumps(rows[1]) + "\n")
    files, drops = _run(raw_sources.ReadJsonl(str(tmp_path / "part-*")))
    got = sorted((f["repo"], f["path"], f["content"], f["stars"], f["commit_date"]) for f in files)
    assert got == [("o/r", "a.py", b"print(1)\n", 5, "2022-01-01"), ("o/s", "b.js", b"var x;", 7, None)]
    assert sorted(d["reason"] for d in drops) == ["read/broken_jsonl", "read/broken_jsonl", "read/missing_content"]
    assert any("{broken json" in d["raw"] for d in drops)


def test_truncated_gzip_is_counted_not_fatal(tmp_path):
    data = gzip.compress(b"".join(json.dumps({"repo": "r", "path": f"{i}.py", "content": "x"}).encode() + b"\n"
                                  for i in range(200)))
    (tmp_path / "bad.jsonl.gz").write_bytes(data[: len(data) // 2])
    files, drops = _run(raw_sources.ReadJsonl(str(tmp_path / "bad.jsonl.gz")))
    assert [d["reason"] for d in drops] == ["read/corrupt_file"]
    assert len(files) < 200


def test_parquet_rows_and_corrupt_file(tmp_path):
    table = pa.table({"repo_name": ["o/r", "o/r", "o/q"], "path": ["a.py", "b.py", "c.py"],
                      "content": ["x = 1\n", None, "y = 2\n"], "stars": [3, 3, None]})
    pq.write_table(table, tmp_path / "good.parquet", row_group_size=2)
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    files, drops = _run(raw_sources.ReadParquet(str(tmp_path / "*.parquet")))
    assert sorted((f["repo"], f["path"], f["stars"]) for f in files) == [("o/q", "c.py", None), ("o/r", "a.py", 3)]
    assert sorted(d["reason"] for d in drops) == ["read/corrupt_parquet_file", "read/missing_content"]


def test_record_to_raw_binary_content_and_surrogates():
    raw = raw_sources.record_to_raw({"repo_name": "r", "path": "p.py", "content": b"\x00\x01"}, "s")
    assert raw["content"] == b"\x00\x01"
    raw = raw_sources.record_to_raw({"repo_name": "r", "path": "p.py", "content": "a\ud800b"}, "s")
    assert isinstance(raw["content"], bytes)  # kept; preprocess drops it as undecodable
    assert raw_sources.record_to_raw({"repo_name": "r", "path": "p.py", "content": 3}, "s")[0] == "bad_content_type"


def test_a_git_checkout_given_directly_is_one_repository(tmp_path):
    repo = tmp_path / "myproject"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "a.py").write_text("a = 1\n")
    (repo / "setup.py").write_text("b = 2\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    files, _ = _run(raw_sources.ReadRepositoryTree(str(repo), max_read_bytes=100))
    assert sorted((f["repo"], f["path"]) for f in files) == [("myproject", "setup.py"), ("myproject", "src/a.py")]
