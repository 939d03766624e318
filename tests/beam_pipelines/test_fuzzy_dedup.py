"""Stage fuzzy_dedup: planted near-duplicates at the paper's settings, chains, repo level,
Jaccard verification, empty/short texts, and identical results across shardings."""
import glob
import json
import random

import pytest

from beam_pipelines.stage import StageContext
from beam_pipelines.stage_testing import comparable, run_stage_locally
from beam_pipelines.streaming_dedup import StreamingDedup
from beam_pipelines.stages import fuzzy_dedup
from opencoder_jax.document import make_document
from opencoder_jax.refinecode.dedup_config import FuzzyDedupConfig
from opencoder_jax.refinecode.minhash import MinHasher, band_keys
from opencoder_jax.refinecode.shingles import shingles


def doc(repo, path, text, stars=None, date=None):
    return make_document(repo=repo, path=path, text=text, content=text.encode("utf-8"), language="Python",
                         lang_type="programming", stars=stars, commit_date=date)


def run(tmp_path, docs, config, name="run", **kwargs):
    out_dir = str(tmp_path / name)
    stage = fuzzy_dedup.make_stage(StageContext(output_dir=out_dir, temp_dir=out_dir), config)
    shards = kwargs.pop("shards", None) or [docs]
    result = run_stage_locally(stage, shards, out_dir + "/work", **kwargs)
    # the bounded-memory graph (documents on disk, ids through the shuffles) decides the same
    s_dir = out_dir + "_streaming"
    streaming = StreamingDedup(("fuzzy_dedup",), StageContext(output_dir=s_dir, temp_dir=s_dir + "/_tmp"), fuzzy=config)
    s_result = run_stage_locally(streaming, shards, s_dir + "/work", **kwargs)
    assert comparable(s_result, s_dir) == comparable(result, out_dir)
    assert not glob.glob(s_dir + "/_tmp/dedup_spool")  # the spool is gone
    ids_out = sorted([d["id"] for d in result["kept"]] + [d["id"] for d in result["dropped"]])
    assert ids_out == sorted(d["id"] for d in docs)  # conservation
    result["out_dir"] = out_dir
    return result


def words(rng, n):
    return [f"w{rng.randrange(10**9)}" for _ in range(n)]


def replace(ws, positions, rng):
    out = list(ws)
    for i in positions:
        out[i] = f"x{rng.randrange(10**9)}"
    return out


def jaccard(a, b):
    sa, sb = set(shingles(a)), set(shingles(b))
    return len(sa & sb) / len(sa | sb)


def test_planted_near_duplicates_at_paper_settings(tmp_path):
    """2048 permutations, 16 x 128: pairs at J ~ 0.995 merge (keeper by stars, then date,
    then id), pairs at J < 0.7 never do; empty texts are never matched, short ones only
    when identical."""
    rng = random.Random(0)
    near, far, expected_kept = [], [], set()
    for i in range(12):
        base = words(rng, 2000)
        a, b = " ".join(base), " ".join(replace(base, [1000], rng))
        assert jaccard(a, b) >= 0.99
        if i % 3 == 0:  # stars decide
            pair = [doc(f"n{i}a", "m.py", a, stars=3), doc(f"n{i}b", "m.py", b, stars=8)]
            expected_kept.add(pair[1]["id"])
        elif i % 3 == 1:  # date decides
            pair = [doc(f"n{i}a", "m.py", a, stars=2, date="2023-01-01"), doc(f"n{i}b", "m.py", b, stars=2, date="2019-01-01")]
            expected_kept.add(pair[0]["id"])
        else:  # id decides
            pair = [doc(f"n{i}a", "m.py", a), doc(f"n{i}b", "m.py", b)]
            expected_kept.add(min(p["id"] for p in pair))
        near += pair
    for i in range(8):
        base = words(rng, 600)
        copy = replace(base, range(10, 600, 20), rng)  # every 20th word: J ~ 0.6
        a, b = " ".join(base), " ".join(copy)
        assert 0.5 < jaccard(a, b) < 0.7
        far += [doc(f"f{i}a", "m.py", a), doc(f"f{i}b", "m.py", b)]
    edge = [doc("e1", "e.py", ""), doc("e2", "e.py", "   \n"), doc("s1", "s.py", "x = 1"),
            doc("s2", "s.py", "x = 1", stars=1), doc("s3", "s.py", "x = 2")]
    docs = near + far + edge
    random.Random(1).shuffle(docs)
    result = run(tmp_path, docs, FuzzyDedupConfig(cc_max_rounds=3))

    expected_kept |= {d["id"] for d in far} | {edge[i]["id"] for i in (0, 1, 3, 4)}
    assert {k["id"] for k in result["kept"]} == expected_kept
    dropped = {d["id"]: d for d in result["dropped"]}
    assert set(dropped) == {d["id"] for d in near if d["id"] not in expected_kept} | {edge[2]["id"]}
    pair_of = {d["id"]: near[2 * (i // 2) + 1 - i % 2]["id"] for i, d in enumerate(near)}
    for drop in dropped.values():
        assert drop["reason"] == "fuzzy_dedup/near_duplicate" and drop["cluster_size"] == 2
        assert drop["kept_id"] == pair_of.get(drop["id"], edge[3]["id"])
    sizes = {k["id"]: k["meta"]["near_dup_cluster_size"] for k in result["kept"]}
    assert all(sizes[i] == 2 for i in expected_kept if i in pair_of)
    m = result["metrics"]
    assert m["fuzzy_dedup/no_shingles"] == 2
    assert m["fuzzy_dedup/cluster_size/2"] == 13 and m["fuzzy_dedup/cluster_size/1"] == 16 + 3
    assert m["fuzzy_dedup/bytes_removed/Python"] == sum(len(d["text"]) for d in near + edge if d["id"] in dropped)
    (sample_file,) = glob.glob(result["out_dir"] + "/dedup/fuzzy_duplicates-*.jsonl")
    with open(sample_file) as f:
        assert len([json.loads(line) for line in f]) == 13


def chain_docs(rng, length, num_words=200):
    """Each document replaces one more word of the previous one (at a new position)."""
    current = words(rng, num_words)
    texts = [" ".join(current)]
    for step in range(1, length):
        current = replace(current, [(step * 7) % num_words], rng)
        texts.append(" ".join(current))
    return [doc(f"chain{i}", "c.py", t, stars=i % 4) for i, t in enumerate(texts)]


LOOSE = dict(num_perm=256, num_bands=32, rows_per_band=8)  # LSH threshold ~0.65


@pytest.mark.parametrize("algorithm", ["star_rounds", "local_union_find"])
def test_chain_of_near_duplicates_collapses_to_one_cluster(tmp_path, algorithm):
    rng = random.Random(2)
    chain = chain_docs(rng, 30)
    hasher = MinHasher(256, 1)
    ends = band_keys(hasher.signatures([shingles(chain[0]["text"]), shingles(chain[-1]["text"])]), 32, 8)
    assert not set(ends[0]) & set(ends[1])  # the ends only connect through the chain
    singles = [doc(f"s{i}", "s.py", " ".join(words(rng, 200))) for i in range(5)]
    config = FuzzyDedupConfig(cc_algorithm=algorithm, cc_max_rounds=8, **LOOSE)
    result = run(tmp_path, chain + singles, config)
    keeper = min((d for d in chain if d["stars"] == 3), key=lambda d: d["id"])  # most stars, no dates, smallest id
    assert {k["id"] for k in result["kept"]} == {keeper["id"]} | {s["id"] for s in singles}
    assert {d["kept_id"] for d in result["dropped"]} == {keeper["id"]}
    assert result["metrics"]["fuzzy_dedup/cluster_size/17-32"] == 1
    assert result["metrics"].get("fuzzy_dedup/cc/unconverged_nodes", 0) == 0


def test_repo_level_removes_a_near_copied_repository_and_keeps_one_sharing_a_file(tmp_path):
    rng = random.Random(3)
    files = [(f"src/f{i}.py", words(rng, 1000)) for i in range(3)]
    original = [doc("org/original", p, " ".join(w), stars=40) for p, w in files]
    # the copy edits one word of one file
    copy = [doc("someone/copy", p, " ".join(replace(w, [500], rng) if i == 1 else w), stars=1)
            for i, (p, w) in enumerate(files)]
    sharing = [doc("other/project", "src/f0.py", " ".join(files[0][1]), stars=5),
               doc("other/project", "main.py", " ".join(words(rng, 1000))),
               doc("other/project", "util.py", " ".join(words(rng, 1000)))]
    result = run(tmp_path, original + copy + sharing, FuzzyDedupConfig(level="repo", cc_max_rounds=3))
    assert sorted({k["repo"] for k in result["kept"]}) == ["org/original", "other/project"]
    assert sorted(d["repo"] for d in result["dropped"]) == ["someone/copy"] * 3
    assert {d["kept_id"] for d in result["dropped"]} == {"repo:org/original"}
    assert result["metrics"]["fuzzy_dedup/units_removed"] == 1


def test_jaccard_verification_rejects_lsh_false_positives(tmp_path):
    rng = random.Random(4)
    docs, true_pairs = [], []
    for i in range(6):
        base = words(rng, 300)
        every = 20 if i % 2 else 100  # J ~ 0.6 (candidates only under loose LSH) or J ~ 0.9
        copy = replace(base, range(5, 300, every), rng)
        pair = [doc(f"p{i}a", "m.py", " ".join(base)), doc(f"p{i}b", "m.py", " ".join(copy))]
        docs += pair
        if jaccard(pair[0]["text"], pair[1]["text"]) >= 0.8:
            true_pairs.append(pair)
    assert len(true_pairs) == 3
    loose = dict(num_perm=128, num_bands=32, rows_per_band=4)  # threshold ~0.42: J ~ 0.6 pairs collide
    plain = run(tmp_path, docs, FuzzyDedupConfig(cc_max_rounds=2, **loose), name="plain")
    assert len(plain["dropped"]) == 6
    checked = run(tmp_path, docs, FuzzyDedupConfig(cc_max_rounds=2, verify_jaccard=True, jaccard_threshold=0.8,
                                                   **loose), name="verified")
    assert {d["id"] for d in checked["dropped"]} == {max(p, key=lambda d: d["id"])["id"] for p in true_pairs}
    assert checked["metrics"]["fuzzy_dedup/verify_rejected"] == 3
    assert checked["metrics"]["fuzzy_dedup/verify_accepted"] == 3


def summary(result):
    return (sorted((k["id"], k["meta"]["near_dup_cluster_size"]) for k in result["kept"]),
            sorted((d["id"], d["kept_id"]) for d in result["dropped"]),
            result["metrics"])


def test_identical_results_across_shardings_and_parallelism(tmp_path):
    rng = random.Random(5)
    docs = chain_docs(rng, 12)
    for i in range(10):
        base = words(rng, 200)
        docs += [doc(f"c{i}{j}", "m.py", " ".join(replace(base, [50 * j], rng)), stars=j) for j in range(i % 3 + 1)]
    config = FuzzyDedupConfig(cc_max_rounds=5, verify_jaccard=True, jaccard_threshold=0.5, batch_size=7,
                              sample_clusters=0, **LOOSE)
    base = summary(run(tmp_path, docs, config, name="one"))
    rev = docs[::-1]
    other = summary(run(tmp_path, docs, config, name="many", shards=[rev[0::3], rev[1::3], rev[2::3]],
                        num_workers=2, reshuffle=True))
    assert other == base
    assert len(base[1]) == 11 + 9  # the chain and the small clusters (sizes 1-3) were found
