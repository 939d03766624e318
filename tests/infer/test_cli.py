"""`opencoder generate` (in process) and `opencoder serve` (a real subprocess, slow)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from opencoder_jax import cli


def test_generate_jsonl_in_and_out(hf_dir, engine, tmp_path):
    inp = tmp_path / "prompts.jsonl"
    inp.write_text(json.dumps({"task_id": "t/0", "prompt": "def add(a, b):\n"}) + "\n"
                   + json.dumps({"task_id": "t/1", "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    out = tmp_path / "out.jsonl"
    rc = cli.main(["generate", "--hf", hf_dir, "--input", str(inp), "--output", str(out), "--max-new-tokens", "8",
                   "--n", "2", "--max-batch", "4"])
    assert rc == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["task_id"], x["sample_index"]) for x in lines] == [("t/0", 0), ("t/0", 1), ("t/1", 0), ("t/1", 1)]
    expected = engine.generate(["def add(a, b):\n"], max_new_tokens=8)[0][0]
    assert lines[0]["completion"] == expected.text == lines[1]["completion"]  # greedy: samples agree
    assert lines[0]["completion_tokens"] == len(expected.token_ids)


def test_generate_argument_errors(hf_dir, tmp_path, capsys):
    assert cli.main(["generate", "--hf", hf_dir]) == 2  # no prompts
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{\"nope\": 1}\n")
    assert cli.main(["generate", "--hf", hf_dir, "--input", str(bad)]) == 2
    assert cli.main(["generate", "--prompt", "x"]) == 2  # no model
    assert "error" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_subprocess_answers_the_openai_client(hf_dir):
    openai = pytest.importorskip("openai")
    port = _free_port()
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen([sys.executable, "-m", "opencoder_jax.cli", "serve", "--hf", hf_dir, "--port", str(port),
                             "--model-name", "tiny", "--log-level", "warning"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 240
        status = None
        while time.time() < deadline and proc.poll() is None:
            try:
                status = httpx.get(url + "/health").status_code
                if status == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert status == 200, proc.stdout.read().decode() if proc.poll() is not None else status
        client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        r = client.completions.create(model="tiny", prompt="def f():", max_tokens=4, temperature=0)
        assert r.choices[0].finish_reason in ("stop", "length")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
