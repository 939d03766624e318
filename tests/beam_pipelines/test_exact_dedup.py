"""Stage exact_dedup: planted copies, the keeper rule, repo level, bad input, stats,
and identical results across shardings and runner parallelism."""
import glob
import json
import random

import pytest

from beam_pipelines.stage import StageContext
from beam_pipelines.stage_testing import comparable, run_stage_locally
from beam_pipelines.streaming_dedup import StreamingDedup
from beam_pipelines.stages import exact_dedup
from opencoder_jax.document import make_document
from opencoder_jax.refinecode.dedup_config import ExactDedupConfig


def doc(repo, path, text, stars=None, date=None, language="Python"):
    return make_document(repo=repo, path=path, text=text, content=text.encode("utf-8"), language=language,
                         lang_type="programming", stars=stars, commit_date=date)


def run(tmp_path, docs, config=ExactDedupConfig(), name="run", **kwargs):
    out_dir = str(tmp_path / name)
    stage = exact_dedup.make_stage(StageContext(output_dir=out_dir, temp_dir=out_dir), config)
    shards = kwargs.pop("shards", None) or [docs]
    result = run_stage_locally(stage, shards, out_dir + "/work", **kwargs)
    # the bounded-memory graph (documents on disk, ids through the shuffles) decides the same
    s_dir = out_dir + "_streaming"
    streaming = StreamingDedup(("exact_dedup",), StageContext(output_dir=s_dir, temp_dir=s_dir + "/_tmp"), exact=config)
    s_result = run_stage_locally(streaming, shards, s_dir + "/work", **kwargs)
    assert comparable(s_result, s_dir) == comparable(result, out_dir)
    assert not glob.glob(s_dir + "/_tmp/dedup_spool")  # the spool is gone
    ids_in = sorted(d["id"] for d in docs)
    ids_out = sorted([d["id"] for d in result["kept"]] + [d["id"] for d in result["dropped"]])
    assert ids_out == ids_in  # conservation: every input kept or dropped exactly once
    result["out_dir"] = out_dir
    return result


def test_planted_copies_keep_most_stars_then_latest_date_then_smallest_id(tmp_path):
    a = [doc("r1/a", "x.py", "A = 1\n", stars=5), doc("r2/a", "x.py", "A = 1\n", stars=10),
         doc("r3/a", "y.py", "A = 1\n", stars=7)]
    b = [doc("r1/b", "b.py", "B = 2\n", stars=4, date="2020-06-01T00:00:00Z"),
         doc("r2/b", "b.py", "B = 2\n", stars=4, date="2022-01-01"),
         doc("r3/b", "b.py", "B = 2\n", stars=4)]
    c = [doc(f"r{i}/c", "c.py", "C = 3\n", stars=1, date="2021-01-01") for i in range(4)]
    d = [doc("r1/d", "d.js", "let d;\n", stars=None, language="JavaScript"),
         doc("r2/d", "d.js", "let d;\n", stars=0, language="JavaScript")]
    singles = [doc("r9/s", f"s{i}.py", f"S = {i}\n", stars=i) for i in range(3)]
    docs = a + b + c + d + singles
    random.Random(0).shuffle(docs)
    result = run(tmp_path, docs)

    keepers = {a[1]["id"]: 3, b[1]["id"]: 3, min(x["id"] for x in c): 4, d[1]["id"]: 2}
    keepers.update({s["id"]: 1 for s in singles})
    assert {k["id"]: k["meta"]["dup_cluster_size"] for k in result["kept"]} == keepers
    cluster_of = {x["id"]: group for group in (a, b, c, d) for x in group}
    for drop in result["dropped"]:
        assert drop["reason"] == "exact_dedup/duplicate"
        group = cluster_of[drop["id"]]
        assert drop["kept_id"] in keepers and cluster_of[drop["kept_id"]] is group
        assert drop["cluster_size"] == len(group)
    assert len(result["dropped"]) == 2 + 2 + 3 + 1
    m = result["metrics"]
    assert m["exact_dedup/cluster_size/1"] == 3 and m["exact_dedup/cluster_size/2"] == 1
    assert m["exact_dedup/cluster_size/3"] == 2 and m["exact_dedup/cluster_size/4"] == 1
    assert m["exact_dedup/bytes_removed/Python"] == 2 * 6 + 2 * 6 + 3 * 6
    assert m["exact_dedup/bytes_removed/JavaScript"] == 7

    (sample_file,) = glob.glob(result["out_dir"] + "/dedup/exact_duplicates-*.jsonl")
    with open(sample_file) as f:
        sample = [json.loads(line) for line in f]
    assert {s["kept_id"] for s in sample} == {a[1]["id"], b[1]["id"], min(x["id"] for x in c), d[1]["id"]}
    for s in sample:
        assert sorted(s["removed_ids"]) == sorted(x["id"] for x in cluster_of[s["kept_id"]] if x["id"] != s["kept_id"])


def test_empty_short_and_invalid_documents(tmp_path):
    docs = [doc("r1", "e.py", ""), doc("r2", "e.py", "", stars=3), doc("r3", "w.py", "  \n"),
            doc("r4", "s.py", "x"), doc("r5", "s.py", "x")]
    bad = dict(doc("r6", "bad.py", "y"), text=None)
    result = run(tmp_path, docs + [bad])
    short_keeper, short_copy = sorted(docs[3:], key=lambda d: d["id"])  # full tie: smallest id
    assert sorted(k["repo"] for k in result["kept"]) == sorted(["r2", "r3", short_keeper["repo"]])
    reasons = sorted((d["repo"], d["reason"]) for d in result["dropped"])
    assert reasons == sorted([("r1", "exact_dedup/duplicate"), (short_copy["repo"], "exact_dedup/duplicate"),
                              ("r6", "exact_dedup/invalid_document")])


def test_hash_text_merges_what_the_sha256_field_keeps_apart(tmp_path):
    # same text, different original bytes (e.g. CRLF turned into LF by preprocess)
    d1 = make_document(repo="r1", path="a.py", text="x = 1\n", content=b"x = 1\r\n", language="Python",
                       lang_type="programming")
    d2 = doc("r2", "a.py", "x = 1\n")
    assert len(run(tmp_path, [d1, d2], name="field")["kept"]) == 2
    assert len(run(tmp_path, [d1, d2], ExactDedupConfig(hash_text=True), name="text")["kept"]) == 1


def repo(name, files, stars=None, date=None):
    return [doc(name, path, text, stars=stars, date=date) for path, text in files]


def test_repo_level_removes_a_copied_repository_and_keeps_one_sharing_a_file(tmp_path):
    files = [("src/a.py", "import os\n"), ("src/b.py", "def f():\n    return 1\n"), ("README.md", "# A\n")]
    original = repo("org/original", files, stars=50)
    fork = repo("someone/fork", files, stars=2)
    sharing = repo("other/project", [("src/a.py", "import os\n"), ("main.py", "print('hi')\n")], stars=1)
    config = ExactDedupConfig(level="repo")
    result = run(tmp_path, original + fork + sharing, config)
    assert sorted({k["repo"] for k in result["kept"]}) == ["org/original", "other/project"]
    assert sorted(d["repo"] for d in result["dropped"]) == ["someone/fork"] * 3  # every file of the copy
    assert {d["kept_id"] for d in result["dropped"]} == {"repo:org/original"}
    assert {k["meta"]["dup_cluster_size"] for k in result["kept"] if k["repo"] == "org/original"} == {2}
    assert result["metrics"]["exact_dedup/units_removed"] == 1
    # file order inside a repository does not matter; file level would drop the shared file
    file_level = run(tmp_path, original + fork[::-1] + sharing, name="file")
    assert "other/project" in {d["repo"] for d in file_level["dropped"]}


def random_corpus(seed):
    """Repositories sharing files, plus copies of some whole repositories."""
    rng = random.Random(seed)
    texts = [f"v = {i}\n" * (i % 5 + 1) for i in range(20)]
    dates = [None, "2020-01-01", "2021-06-01T12:00:00Z", "2023-02-02"]
    repos = {f"repo{r}": [(f"f{i}.py", rng.choice(texts)) for i in range(rng.randrange(1, 6))] for r in range(12)}
    for r in range(4):
        repos[f"copy{r}"] = list(repos[f"repo{r}"])
    return [doc(name, path, text, stars=rng.choice([None, 0, 1, 5]), date=rng.choice(dates))
            for name, files in repos.items() for path, text in files]


def summary(result):
    return (sorted((k["id"], k["meta"]["dup_cluster_size"]) for k in result["kept"]),
            sorted((d["id"], d["kept_id"], d["reason"]) for d in result["dropped"]),
            result["metrics"])


@pytest.mark.parametrize("level", ["file", "repo"])
def test_identical_results_across_shardings_and_parallelism(tmp_path, level):
    docs = random_corpus(1)
    config = ExactDedupConfig(level=level, sample_clusters=0)
    base = summary(run(tmp_path, docs, config, name="one"))
    rev = docs[::-1]
    shards = [rev[0::3], rev[1::3], rev[2::3]]
    other = summary(run(tmp_path, docs, config, name="many", shards=shards, num_workers=2, reshuffle=True))
    assert other == base
    assert len(base[1]) >= 8  # the corpus really has duplicates
