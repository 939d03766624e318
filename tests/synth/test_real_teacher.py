"""Generators against our real model: `opencoder serve`'s app (uvicorn, background thread) over a
tiny random Orbax checkpoint, and the same engine in process (LocalTeacher). A random model's
answers are noise, so most or all are rejected; what must hold is that every seed is counted
once (seeds = passed + rejected by reason) and that every kept record is a valid chat/document."""
from __future__ import annotations

import json
import os

import pytest

from opencoder_jax.synth import runner
from opencoder_jax.synth.package_instruct import PackageInstructConfig, PackageInstructGenerator
from opencoder_jax.synth.sampling import SamplingConfig
from opencoder_jax.synth.snippets import SnippetGenerator
from opencoder_jax.synth.teacher import EndpointTeacher, LocalTeacher
from tests.synth import scripts as S

MODEL = "tiny-synth"
SAMPLING = SamplingConfig(max_tokens=16, temperature=0.7)  # prompts ~470 tokens: one prompt bucket


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A random 2-layer model saved as an Orbax checkpoint, its tokenizer in WORKDIR/tokenizer."""
    import jax
    import numpy as np
    from flax import nnx

    from opencoder_jax.model import orbax_io
    from opencoder_jax.model.config import ModelConfig
    from opencoder_jax.model.transformer import Transformer
    from tests.infer.conftest import VOCAB, write_tiny_tokenizer

    work = str(tmp_path_factory.mktemp("synth_ckpt"))
    write_tiny_tokenizer(os.path.join(work, orbax_io.TOKENIZER_DIR))
    config = ModelConfig(vocab_size=VOCAB, embed_dim=64, num_layers=2, num_heads=4, num_kv_heads=2, head_dim=16,
                         mlp_dim=128, max_seq_len=1024, dtype="float32")
    # random parameters from the abstract model (an eager init of the scanned layers is slow on CPU)
    shapes = nnx.to_pure_dict(nnx.state(nnx.eval_shape(lambda: Transformer(config, rngs=nnx.Rngs(0))), nnx.Param))
    rng = np.random.RandomState(0)
    orbax_io.save_params(jax.tree.map(lambda s: rng.normal(0, 0.3, s.shape).astype(s.dtype), shapes), config, work)
    return work


@pytest.fixture(scope="module")
def engine(checkpoint):
    from opencoder_jax.infer.engine import Engine

    # one batch bucket and one sampling setting for both tests: the device code compiles once
    eng = Engine.load(checkpoint=checkpoint, max_batch=4, min_batch_bucket=4, name=MODEL)
    yield eng
    eng.close()


def check_run(stats, out, kind, n):
    assert stats["seeds"] == n == stats["passed"] + sum(stats["rejected"].values()) and stats["conservation_ok"]
    marked = [json.loads(line)["seed_id"] for line in open(os.path.join(out, "state", "processed.jsonl"))]
    assert len(marked) == len(set(marked)) == n
    records = [json.loads(line) for line in open(stats["output"])]
    assert len(records) == stats["passed"]
    for r in records:
        assert (r["messages"][-1]["role"] == "assistant") if kind == "chats" else isinstance(r["text"], str)


def test_package_instruct_through_opencoder_serve(engine, tmp_path, sandbox, decontaminator):
    from opencoder_jax.infer.server import BackgroundServer, ServerState, create_app

    out = str(tmp_path / "out")
    with BackgroundServer(create_app(ServerState(engine, model_name=MODEL))) as server:
        teacher = EndpointTeacher(server.url, timeout=300)  # model id discovered from /v1/models
        gen = PackageInstructGenerator(teacher, sandbox, PackageInstructConfig(packages=("heapq",)),
                                       SAMPLING)
        stats = runner.run(gen, out, max_seeds=3, concurrency=3, decontaminator=decontaminator, progress=False,
                           teacher=teacher)
    assert stats["teacher"] == f"{MODEL}@{server.url}/v1"
    assert stats["generated"] == 3  # the server answered every request (the answers are noise)
    check_run(stats, out, "chats", 3)


def test_snippets_with_the_local_teacher(engine, tmp_path, sandbox):
    seeds = tmp_path / "seeds.jsonl"
    S.write_seed_documents(seeds, ["SEED_a", "SEED_b"])
    out = str(tmp_path / "out")
    teacher = LocalTeacher(engine)
    gen = SnippetGenerator([str(seeds)], teacher, sandbox, sampling=SAMPLING)
    stats = runner.run(gen, out, concurrency=2, progress=False, teacher=teacher)
    assert stats["generated"] == 2
    check_run(stats, out, "documents", 2)


@pytest.mark.slow
def test_cli_against_an_opencoder_serve_process(checkpoint, tmp_path):
    """The two commands as a user runs them: `opencoder serve --checkpoint` in its own process,
    `opencoder synth educational --server` in another."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    server = subprocess.Popen([sys.executable, "-m", "opencoder_jax.cli", "serve", "--checkpoint", checkpoint,
                               "--port", str(port), "--model-name", MODEL, "--log-level", "warning"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 300
        while time.time() < deadline and server.poll() is None:
            try:
                if urllib.request.urlopen(url + "/health", timeout=5).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        assert server.poll() is None, server.stdout.read().decode()
        seeds = tmp_path / "seeds.jsonl"
        S.write_seed_documents(seeds, ["SEED_a", "SEED_b"], extra_texts=[S.LOW_SCORE_TEXT])
        out = str(tmp_path / "out")
        done = subprocess.run([sys.executable, "-m", "opencoder_jax.cli", "synth", "educational", "--server", url,
                               "--input", str(seeds), "--output", out, "--max_tokens", "16", "--no_progress"],
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        stats = json.loads(done.stdout)
        assert stats["rejected"].get("low_score") == 1 and stats["generated"] == 2
        check_run(stats, out, "chats", 3)
    finally:
        server.terminate()
        server.wait(timeout=30)
