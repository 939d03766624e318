"""`opencoder eval` end to end: --samples, --server (a stub OpenAI endpoint), the engine path."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from opencoder_jax import cli
from opencoder_jax.eval import benchmarks as bm


@pytest.fixture(scope="module")
def humaneval():
    return bm.HumanEval()


def _run(argv):
    return cli.main(["eval"] + argv)


def test_samples_file(tmp_path, humaneval, capsys):
    rows = []
    for i, p in enumerate(humaneval.problems[:5]):
        body = p.data["canonical_solution"] if i < 3 else "    return None\n"
        rows.append({"task_id": p.task_id, "completion": body})
        rows.append({"task_id": p.task_id, "completion": p.data["canonical_solution"] if i == 0 else "    x = (\n"})
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    assert _run(["--benchmark", "humaneval", "--samples", str(tmp_path / "s.jsonl"), "--limit", "5",
                 "--output", str(out), "--plot", "--workers", "4"]) == 0
    res = json.loads((out / "results.json").read_text())
    # problem 0: 2/2; problems 1-2: 1/2; problems 3-4: 0/2 -> pass@1 = (1 + .5 + .5) / 5
    assert res["pass@1"] == pytest.approx(0.4)
    assert "pass@10" not in res and res["num_problems"] == 5 and res["n"] == 1
    statuses = [r["status"] for prob in res["problems"] for r in prob["results"]]
    assert statuses.count("passed") == 4 and statuses.count("error") == 4  # "x = (" never compiles
    assert res["status_counts"] == {"passed": 4, "failed": 2, "timeout": 0, "error": 4}
    errs = [r["error"] for r in res["problems"][3]["results"]]
    assert errs[0].startswith("AssertionError") and errs[1].startswith("SyntaxError")
    assert res["sandbox"]["mode"] in ("full", "userns", "process-group")
    assert (out / "summary.md").read_text().startswith("| metric")
    assert (out / "summary.png").stat().st_size > 1000
    assert len((out / "samples.jsonl").read_text().splitlines()) == 10
    assert "pass@1" in capsys.readouterr().out


class _Stub(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint answering HumanEval problems with canonical code."""
    answers: dict = {}
    seen: list = []

    def log_message(self, *a):
        pass

    def _send(self, obj, code=200):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send({"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, body))
        n = body.get("n", 1)
        if self.path == "/v1/chat/completions":
            text = self.answers[body["messages"][0]["content"]]
            self._send({"choices": [{"index": i, "message": {"role": "assistant", "content": text},
                                     "finish_reason": "stop"} for i in range(n)]})
        else:
            text = self.answers[body["prompt"]]
            self._send({"choices": [{"index": i, "text": text, "finish_reason": "stop"} for i in range(n)]})


def test_server_backend_chat_and_base(tmp_path, humaneval):
    probs = humaneval.problems[:3]
    for p in probs:
        full = p.prompt + p.data["canonical_solution"]
        _Stub.answers[p.instruction] = f"Sure, here it is:\n```python\n{full}\n```\nHope that helps!"
        _Stub.answers[p.prompt] = p.data["canonical_solution"] + "\n\ndef check_it():\n    assert False\n"
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        for mode in ("instruct", "base"):
            out = tmp_path / mode
            assert _run(["--benchmark", "humaneval", "--server", url, "--mode", mode, "--limit", "3",
                         "--n", "2", "--temperature", "0.8", "--output", str(out), "--workers", "4"]) == 0
            res = json.loads((out / "results.json").read_text())
            assert res["pass@1"] == 1.0 and res["problems"][0]["n"] == 2, res
    finally:
        srv.shutdown()
    paths = {p for p, _ in _Stub.seen}
    assert paths == {"/v1/chat/completions", "/v1/completions"}
    chat_body = next(b for p, b in _Stub.seen if p == "/v1/chat/completions")
    assert chat_body["model"] == "stub-model" and chat_body["temperature"] == 0.8 and chat_body["n"] == 2
    assert chat_body["messages"][0]["content"].startswith(bm.INSTRUCTION_PREFIX)


def test_engine_backend(monkeypatch, tmp_path, humaneval):
    """The --checkpoint/--hf path through `Engine.load`/`generate`/`chat` (a stand-in engine:
    the real one is tested in tests/infer)."""
    from opencoder_jax.infer import engine as engine_mod

    class Completion:
        def __init__(self, text):
            self.text = text

    calls = {}

    class FakeEngine:
        @classmethod
        def load(cls, checkpoint=None, hf=None, tokenizer=None, **kw):
            calls["load"] = (checkpoint, hf, tokenizer)
            return cls()

        def generate(self, prompts, *, n=1, **kw):
            calls["generate"] = (len(prompts), n, kw)
            by_prompt = {p.prompt: p.data["canonical_solution"] for p in humaneval.problems}
            return [[Completion(by_prompt[p])] * n for p in prompts]

        def chat(self, conversations, *, n=1, **kw):
            calls["chat"] = (len(conversations), n)
            by_instr = {p.instruction: p.prompt + p.data["canonical_solution"] for p in humaneval.problems}
            return [[Completion("```python\n" + by_instr[c[0]["content"]] + "```")] * n for c in conversations]

        def close(self):
            calls["close"] = True

    monkeypatch.setattr(engine_mod, "Engine", FakeEngine)
    assert _run(["--benchmark", "humaneval", "--hf", "/models/x", "--limit", "2", "--output",
                 str(tmp_path / "a"), "--workers", "2", "--max_new_tokens", "64"]) == 0
    assert calls["load"] == (None, "/models/x", None) and calls["generate"][:2] == (2, 1)
    assert calls["generate"][2]["max_new_tokens"] == 64 and "\ndef " in calls["generate"][2]["stop"]
    assert _run(["--benchmark", "humaneval", "--checkpoint", "/ck", "--tokenizer", "/tok", "--mode", "instruct",
                 "--limit", "2", "--output", str(tmp_path / "b"), "--workers", "2"]) == 0
    assert calls["load"] == ("/ck", None, "/tok") and calls["chat"] == (2, 1) and calls["close"]
    for sub in "ab":
        assert json.loads((tmp_path / sub / "results.json").read_text())["pass@1"] == 1.0


def test_bad_arguments(tmp_path):
    assert _run(["--benchmark", "mbpp", "--samples", str(tmp_path / "none.jsonl")]) == 2  # no samples file
    with pytest.raises(SystemExit):
        _run(["--benchmark", "humaneval"])  # no source


def test_plus_benchmark_from_samples(tmp_path):
    from tests.eval.test_benchmarks import HE_PLUS, _write_gz

    _write_gz(tmp_path / "HumanEvalPlus-v0.1.10.jsonl.gz", HE_PLUS)
    rows = [{"task_id": "HumanEval/0", "solution": HE_PLUS[0]["prompt"] + "    return a + b\n"},
            {"task_id": "HumanEval/0", "solution": HE_PLUS[0]["prompt"] + "    return a + b if a < 1e9 else 0.0\n"},
            {"task_id": "HumanEval/32", "completion": "    return 0.0\n"},
            {"task_id": "HumanEval/32", "completion": "    return -xs[0] / xs[1]\n"}]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    assert _run(["--benchmark", "humaneval_plus", "--plus_path", str(tmp_path), "--samples",
                 str(tmp_path / "s.jsonl"), "--output", str(out), "--workers", "4"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["pass@1"] == pytest.approx(0.5)  # (1/2 + 1/2) / 2
    assert res["base_pass@1"] == pytest.approx(0.75)  # (2/2 + 1/2) / 2
    assert [p["base_passed"] for p in res["problems"]] == [2, 1]
