"""`opencoder synth ...` through the CLI entry point (in process): wiring, outputs, errors."""
from __future__ import annotations

import json
import os

from opencoder_jax import cli
from tests.synth import scripts as S
from tests.synth.scripted_endpoint import ScriptedEndpoint
from tests.synth.test_generators import HEAP_OK, qa


def test_algorithmic_command_with_default_decontamination(tmp_path, capsys):
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "language": "python", "text": t}) for i, t in [
        ("a", "class Solution:\n    pass\n"), ("b", "print(1)\n"), ("c", "# leetcode\n" + S.HUMANEVAL_0)]) + "\n")
    out = str(tmp_path / "out")
    assert cli.main(["synth", "algorithmic", "--input", str(path), "--output", out, "--no_progress"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["passed"] == 1 and stats["rejected"] == {"decontaminate/humaneval": 1, "no_keyword": 1}
    assert os.path.exists(os.path.join(out, "documents-00000-of-00001.array_record"))


def test_package_instruct_command_against_an_endpoint(tmp_path, capsys):
    out = str(tmp_path / "out")
    script = {"`heapq.heappush`": [qa("Push?", HEAP_OK)]}
    with ScriptedEndpoint(script, default="nothing useful") as ep:
        code = cli.main(["synth", "package-instruct", "--packages", "heapq", "--server", ep.url, "--output", out,
                         "--max_seeds", "3", "--no_decontaminate", "--no_progress", "--concurrency", "2",
                         "--max_tokens", "64", "--temperature", "0"])
    assert code == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["seeds"] == 3 and stats["passed"] == 1 and stats["rejected"] == {"malformed": 2}
    assert stats["teacher"] == f"scripted@{ep.url}/v1"
    chats = [json.loads(line) for line in open(os.path.join(out, "chats.jsonl"))]
    assert [c["meta"]["api"] for c in chats] == ["heapq.heappush"]


def test_errors_are_reported_not_raised(tmp_path, capsys):
    seeds = tmp_path / "s.jsonl"
    S.write_seed_documents(seeds, ["SEED_a"])
    args = ["synth", "snippets", "--input", str(seeds), "--output", str(tmp_path / "o"), "--no_progress",
            "--no_decontaminate"]
    assert cli.main(args) == 2
    assert "exactly one teacher" in capsys.readouterr().err
    with ScriptedEndpoint({}) as ep:
        assert cli.main(args + ["--server", ep.url, "--model", "missing"]) == 1
        assert "HTTP 404" in capsys.readouterr().err
    assert cli.main(args + ["--server", "http://127.0.0.1:9", "--retries", "0"]) == 1  # nothing listens there
    assert "Connection refused" in capsys.readouterr().err
    assert cli.main(["synth", "package-instruct", "--packages", "no_such_pkg_xyz", "--server", "http://127.0.0.1:9",
                     "--output", str(tmp_path / "p"), "--no_progress", "--no_decontaminate"]) == 2
    assert "cannot be imported" in capsys.readouterr().err
