"""Shared fixtures: a tiny tokenizer, a random small Llama (transformers) saved as a Hugging Face
directory with that tokenizer in it, and our model / engine loaded from that directory."""
from __future__ import annotations

import json
import os

import pytest

VOCAB = 640        # tokenizer and model vocabulary
SPECIAL_SLOTS = 8  # eos <|im_end|> = 632, bos <|im_start|> = 633
MAX_LEN = 256


def write_tiny_tokenizer(directory: str) -> str:
    """Train a 640-id tokenizer straight from a few texts (no document shards) and write it."""
    from opencoder_jax.tokenizer import hf_import
    from opencoder_jax.tokenizer.train import TokenizerTrainConfig, special_tokens_map_json, tokenizer_config_json, \
        train_model
    from tests.helpers.tokenizer_corpus import corpus_texts

    config = TokenizerTrainConfig(vocab_size=VOCAB, num_special_slots=SPECIAL_SLOTS, character_coverage=1.0,
                                  num_threads=1)
    model = train_model(corpus_texts(), config)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, hf_import.MODEL_FILE), "wb") as f:
        f.write(model)
    with open(os.path.join(directory, hf_import.CONFIG_FILE), "w") as f:
        json.dump(tokenizer_config_json(config, model_max_length=MAX_LEN), f)
    with open(os.path.join(directory, hf_import.SPECIAL_TOKENS_MAP_FILE), "w") as f:
        json.dump(special_tokens_map_json(config), f)
    return directory


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory):
    return write_tiny_tokenizer(str(tmp_path_factory.mktemp("infer_tok")))


@pytest.fixture(scope="session")
def vocab(tokenizer_dir):
    from opencoder_jax.tokenizer import load_vocabulary

    return load_vocabulary(tokenizer_dir)


@pytest.fixture(scope="session")
def hf_dir(tmp_path_factory, tokenizer_dir):
    """A random LlamaForCausalLM (fp32) saved with save_pretrained, tokenizer files beside it.

    initializer_range 0.5 makes logits peaked, so greedy choices are far from ties."""
    import shutil

    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    directory = str(tmp_path_factory.mktemp("infer_hf"))
    cfg = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=MAX_LEN, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False, initializer_range=0.5, bos_token_id=633, eos_token_id=632, pad_token_id=0)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    model.save_pretrained(directory)
    for name in os.listdir(tokenizer_dir):
        shutil.copy(os.path.join(tokenizer_dir, name), directory)
    return directory


@pytest.fixture(scope="session")
def hf_model(hf_dir):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    model = transformers.LlamaForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    model.eval()
    return model


@pytest.fixture(scope="session")
def engine(hf_dir):
    from opencoder_jax.infer.engine import Engine

    eng = Engine.load(hf=hf_dir, max_batch=8, min_batch_bucket=4, name="tiny")
    yield eng
    eng.close()

