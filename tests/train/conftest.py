"""Session fixtures for the training tests: real token shards built with the project's own
commands (documents -> `opencoder tokenizer train` -> `opencoder data tokenize`) from the
Python sources of a few stdlib packages, and small helpers to run training."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STDLIB_PACKAGES = ("json", "email", "logging", "http")
VOCAB_SIZE = 640


def stdlib_texts(chunk_chars: int = 4000) -> list[str]:
    """The packages' .py files cut at line ends into ~4 KB documents (many short documents mix
    better in a batch than 33 long ones: a smoother loss curve)."""
    texts = []
    for name in STDLIB_PACKAGES:
        module = __import__(name)
        for path in sorted(glob.glob(os.path.join(os.path.dirname(module.__file__), "*.py"))):
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines(keepends=True)
            doc = ""
            for line in lines:
                doc += line
                if len(doc) >= chunk_chars:
                    texts.append(doc)
                    doc = ""
            if doc.strip():
                texts.append(doc)
    return texts


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """{'docs': document shards, 'tokenizer': tokenizer dir, 'tokens': token-shard dir}."""
    from opencoder_jax import cli
    from tests.helpers.tokenizer_corpus import write_document_shard

    root = tmp_path_factory.mktemp("train_corpus")
    docs = root / "docs"
    write_document_shard(str(docs / "documents-00000-of-00001.array_record"), stdlib_texts())
    tok, tokens = str(root / "tokenizer"), str(root / "tokens")
    assert cli.main(["tokenizer", "train", "--input", str(docs), "--output", tok, "--vocab_size", str(VOCAB_SIZE),
                     "--gin_param", "TokenizerTrainConfig.num_special_slots = 8",
                     "--gin_param", "TokenizerTrainConfig.num_threads = 1"]) == 0
    assert cli.main(["data", "tokenize", "--input", str(docs), "--vocab", tok, "--output", tokens,
                     "--num_shards", "2"]) == 0
    stats = json.load(open(os.path.join(tokens, "stats.json")))
    assert stats["tokens"] > 100_000, stats["tokens"]  # enough for ~100 steps of 1,024 tokens
    return {"docs": str(docs), "tokenizer": tok, "tokens": tokens, "stats": stats}


def train_cmd(workdir: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "opencoder_jax.cli", "train", "--workdir", workdir, *args]


def run_subprocess(cmd: list[str], env_extra: dict | None = None, timeout: int = 300, check: bool = True):
    env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    env.update(env_extra or {})
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc
