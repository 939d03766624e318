"""Each generator end to end against a scripted local endpoint: it keeps exactly the seeds whose
scripted answer passes (after retries), rejects the rest by the expected reason, writes what the
SFT loader / the tokenizer read, and its counts add up."""
from __future__ import annotations

import json
import os
from collections import Counter

import numpy as np

from opencoder_jax.synth import runner
from opencoder_jax.synth.algorithmic import AlgorithmicSelection, algorithmic_keyword
from opencoder_jax.synth.educational import EducationalConfig, EducationalGenerator
from opencoder_jax.synth.package_instruct import PackageInstructConfig, PackageInstructGenerator
from opencoder_jax.synth.snippets import SnippetGenerator
from opencoder_jax.synth.teacher import EndpointTeacher
from tests.synth import scripts as S
from tests.synth.scripted_endpoint import ScriptedEndpoint


def teacher(ep):
    return EndpointTeacher(ep.url, backoff_s=0.01, max_backoff_s=0.05)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def assert_counts(stats, expected: dict[str, str]):
    """passed/rejected of stats.json are exactly the expected outcomes' tallies."""
    want = Counter(expected.values())
    assert stats["passed"] == want.pop(S.PASS, 0)
    assert stats["rejected"] == dict(want)
    assert stats["seeds"] == len(expected) == stats["passed"] + sum(stats["rejected"].values())
    assert stats["conservation_ok"]


def assert_processed_once(out, expected):
    rows = read_jsonl(os.path.join(out, "state", "processed.jsonl"))
    assert sorted(r["seed_id"] for r in rows) == sorted(expected)
    for r in rows:
        want = expected[r["seed_id"]]
        assert r["status"] == (runner.PASSED if want == S.PASS else f"rejected/{want}"), r


class CharEncoder:
    """Stand-in tokenizer for the SFT loader: one id per character, special tokens as one id."""

    def encode(self, text):
        return [ord(c) % 5000 for c in text]


def assert_sft_loads(path, n):
    from opencoder_jax.data import sft
    from opencoder_jax.train.inputs import load_chat_records

    records = load_chat_records([path])
    assert len(records) == n
    fn = sft.SFTExampleFn(CharEncoder(), sft.SFTConfig(max_length=4096))
    for raw in records:
        ex = fn(raw)
        assert not bool(ex["corrupt"]) and ex["loss_weights"].sum() > 0
        # the trained tokens are exactly the assistant's answer (+ "\n<|im_end|>")
        answer = json.loads(raw)["messages"][-1]["content"]
        assert int(np.sum(ex["loss_weights"])) == len(answer) + len("\n<|im_end|>")


def test_snippets_keep_exactly_the_passing_answers(tmp_path, sandbox, decontaminator):
    script = {**S.SNIPPET_SCRIPT, **S.TIMEOUT_SCRIPT}
    expected = S.expected(script)
    seeds = tmp_path / "seeds.jsonl"
    S.write_seed_documents(seeds, list(script))
    out = str(tmp_path / "out")
    with ScriptedEndpoint(S.endpoint_script(script)) as ep:
        gen = SnippetGenerator([str(seeds)], teacher(ep), sandbox)
        stats = runner.run(gen, out, concurrency=4, decontaminator=decontaminator, progress=False,
                           teacher=gen.teacher)
        assert ep.calls["SEED_retry_then_pass"] == 3  # 500, 503, then the answer
    assert_counts(stats, expected)
    assert stats["retried_requests"] == 2 and stats["generated"] == len(expected) - 1  # all but the 400
    docs = read_jsonl(os.path.join(out, "documents.jsonl"))
    kept = {m for m, o in expected.items() if o == S.PASS}
    assert sorted(d["meta"]["seed_id"] for d in docs) == sorted(kept)
    by_seed = {d["meta"]["seed_id"]: d for d in docs}
    assert by_seed["SEED_pass_add"]["text"] == S.ADD + "\n\n\n" + S.ADD_TESTS + "\n"
    assert by_seed["SEED_pass_add"]["language"] == "python" and by_seed["SEED_pass_add"]["meta"]["tests"] == 3
    # the ArrayRecord shard holds the same documents, in the corpus format tokenize reads
    from opencoder_jax.document import from_bytes
    from opencoder_jax.synth.sft_extract import read_documents

    shard_docs = list(read_documents([out]))
    assert sorted(d["meta"]["seed_id"] for d in shard_docs) == sorted(kept)
    assert all(from_bytes(json.dumps(d).encode()) for d in shard_docs)
    assert_processed_once(out, expected)
    rejected = read_jsonl(os.path.join(out, "state", "rejected.jsonl"))
    assert {r["seed_id"]: r["reason"] for r in rejected} == {m: o for m, o in expected.items() if o != S.PASS}
    assert json.load(open(os.path.join(out, "stats.json")))["passed"] == len(kept)


def test_educational_keeps_passing_exercises_as_sft_chats(tmp_path, sandbox, decontaminator):
    script = S.EDUCATIONAL_SCRIPT
    expected = S.expected(script)
    seeds = tmp_path / "seeds.jsonl"
    S.write_seed_documents(seeds, list(script), extra_texts=[S.LOW_SCORE_TEXT])
    with open(seeds, "a") as f:  # a seed in another language, and a corrupt line
        f.write(json.dumps({"id": "java_doc", "language": "java", "text": "class A {}"}) + "\n{not json\n")
    expected.update({"extra_0": "low_score", "java_doc": "language"})
    out = str(tmp_path / "out")
    with ScriptedEndpoint(S.endpoint_script(script)) as ep:
        gen = EducationalGenerator([str(seeds)], teacher(ep), sandbox)
        stats = runner.run(gen, out, concurrency=3, decontaminator=decontaminator, progress=False,
                           teacher=gen.teacher)
        assert None not in ep.calls  # the low-score and java seeds never reached the teacher
    assert_counts(stats, expected)
    assert stats["input"] == {"input_corrupt": 1}
    chats = read_jsonl(os.path.join(out, "chats.jsonl"))
    assert sorted(c["meta"]["seed_id"] for c in chats) == ["SEED_pass_add", "SEED_retry_then_pass"]
    add = next(c for c in chats if c["meta"]["seed_id"] == "SEED_pass_add")
    assert add["messages"] == [
        {"role": "user", "content": "Write `add(a, b)` returning a + b."},
        {"role": "assistant", "content": f"```python\n{S.ADD}\n```\n\nIt loops once."}]
    assert add["meta"]["tests"] == S.ADD_TESTS + "\n"
    assert_processed_once(out, expected)
    assert_sft_loads(os.path.join(out, "chats.jsonl"), 2)


def test_educational_teacher_scorer(tmp_path, sandbox):
    rate = "Rate the educational value"
    script = {(rate, "SEED_a"): ["Score: 5"], (rate, "SEED_b"): ["Score: 2"], (rate, "SEED_c"): ["I like it"],
              "SEED_a": [S.exercise_answer("Write add.", S.ADD, S.ADD_TESTS)]}
    seeds = tmp_path / "seeds.jsonl"
    S.write_seed_documents(seeds, ["SEED_a", "SEED_b", "SEED_c"])
    with ScriptedEndpoint(script) as ep:
        gen = EducationalGenerator([str(seeds)], teacher(ep), sandbox, EducationalConfig(scorer="teacher"))
        stats = runner.run(gen, str(tmp_path / "out"), concurrency=1, progress=False)
    assert stats["passed"] == 1 and stats["rejected"] == {"low_score": 1, "score_malformed": 1}
    assert stats["generated"] == 3  # the teacher answered every scoring request


HEAP_OK = "import heapq\nh = []\nheapq.heappush(h, 3)\nheapq.heappush(h, 1)\nassert h[0] == 1\n"


def qa(question, program, lead="Use it like this:"):
    return f"### Question\n{question}\n\n### Answer\n{lead}\n\n```python\n{program}```\n"


PACKAGE_SCRIPT = {
    "`heapq.heappush`": ([qa("How do I push onto a heap?", HEAP_OK)], S.PASS),
    "`heapq.heapreplace`": ([qa("Replace the top?", "import heapq\nh = [1, 5]\nassert heapq.heapreplace(h, 9) == 1\n")],
                            S.PASS),
    "`heapq.merge`": ([503, qa("Merge sorted lists?", "import heapq\nassert list(heapq.merge([1, 3], [2])) == [1, 2, 3]\n")],
                      S.PASS),
    "`heapq.heappop`": ([qa("Pop?", "import heapq\nh = [1, 2]\nassert heapq.heappop(h) == 2\n")], "code_failed"),
    "`heapq.heapify`": (["Just call heapify on your list."], "malformed"),
    "`heapq.nlargest`": ([qa("Largest?", "xs = [3, 1, 2]\nassert sorted(xs)[-1] == 3\n")], "api_not_used"),
    "`heapq.nsmallest`": ([qa("Smallest?", "import heapq\nprint(heapq.nsmallest(1, [3, 1]))\n")], "too_few_tests"),
    "`heapq.heappushpop`": ([qa("Push-pop?", "import heapq\nheapq.heappushpop(h 1)\n")], "syntax_error"),
}


def test_package_instruct_keeps_answers_whose_code_runs(tmp_path, sandbox, decontaminator):
    out = str(tmp_path / "out")
    with ScriptedEndpoint(S.endpoint_script(PACKAGE_SCRIPT)) as ep:
        gen = PackageInstructGenerator(teacher(ep), sandbox, PackageInstructConfig(packages=("heapq",)))
        seeds = list(gen.seeds())
        by_api = {s.payload.api: s.id for s in seeds}
        assert sorted(by_api) == sorted(k.strip("`") for k in PACKAGE_SCRIPT)  # heapq's 8 documented functions
        expected = {by_api[k.strip("`")]: o for k, (_, o) in PACKAGE_SCRIPT.items()}
        stats = runner.run(gen, out, concurrency=4, decontaminator=decontaminator, progress=False,
                           teacher=gen.teacher)
    assert_counts(stats, expected)
    chats = read_jsonl(os.path.join(out, "chats.jsonl"))
    assert sorted(c["meta"]["api"] for c in chats) == ["heapq.heappush", "heapq.heapreplace", "heapq.merge"]
    push = next(c for c in chats if c["meta"]["api"] == "heapq.heappush")
    assert push["messages"][0] == {"role": "user", "content": "How do I push onto a heap?"}
    assert push["messages"][1]["content"].endswith(f"```python\n{HEAP_OK}```")
    assert push["meta"]["version"].startswith("python-3.")
    assert_processed_once(out, expected)
    assert_sft_loads(os.path.join(out, "chats.jsonl"), 3)


def test_algorithmic_selection_by_the_paper_keywords(tmp_path, decontaminator):
    assert algorithmic_keyword("# LeetCode 1. Two Sum") == "leetcode"
    assert algorithmic_keyword("class Solution:\n    def twoSum(self):") == "class solution"
    assert algorithmic_keyword("def solution(xs):\n    return 1") == "def solution"
    assert algorithmic_keyword("def solve(xs):  # solution below") is None
    docs = [("lc", "# leetcode 704\ndef search(nums, target):\n    return -1\n"),
            ("cls", "class Solution:\n    def f(self):\n        return 1\n"),
            ("plain", "def solve():\n    return 2\n"),
            ("leak", "# leetcode style\n" + S.HUMANEVAL_0 + "\n")]
    path = tmp_path / "docs.jsonl"
    with open(path, "w") as f:
        for i, text in docs:
            f.write(json.dumps({"id": i, "repo": "r", "path": f"{i}.py", "language": "python", "text": text,
                                "meta": {"stage": 1}}) + "\n")
    out = str(tmp_path / "out")
    stats = runner.run(AlgorithmicSelection([str(path)]), out, concurrency=1, decontaminator=decontaminator,
                       progress=False)
    assert_counts(stats, {"lc": S.PASS, "cls": S.PASS, "plain": "no_keyword", "leak": "decontaminate/humaneval"})
    from opencoder_jax.synth.sft_extract import read_documents

    kept = {d["id"]: d for d in read_documents([out])}
    assert sorted(kept) == ["cls", "lc"]
    assert kept["cls"]["text"] == docs[1][1]  # unchanged text
    assert kept["cls"]["meta"] == {"stage": 1, "algorithmic_keyword": "class solution", "seed_id": "cls"}
