"""hf_io: parity with transformers' LlamaForCausalLM, export that transformers loads, bad input."""
from __future__ import annotations

import json
import os

import ml_dtypes
import numpy as np
import pytest

from opencoder_jax.model import hf_io
from opencoder_jax.model.config import ModelConfig

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

VOCAB = 96


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)


def make_hf_model(directory, *, hidden=64, heads=4, kv_heads=2, head_dim=None, layers=2, ffn=80,
                  dtype="float32", max_shard_size=None, tied=False, drop_head_dim=False, seed=0):
    """A random LlamaForCausalLM saved with save_pretrained (norm weights randomized too)."""
    kwargs = {} if head_dim is None else {"head_dim": head_dim}
    cfg = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=64, rms_norm_eps=1e-5,
        rope_theta=10000.0, tie_word_embeddings=tied, initializer_range=0.1, **kwargs)
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    model = model.to(getattr(torch, dtype))
    extra = {} if max_shard_size is None else {"max_shard_size": max_shard_size}
    model.save_pretrained(str(directory), **extra)
    if drop_head_dim:  # as in the released 1.5B's config.json
        path = os.path.join(directory, "config.json")
        data = read_json(path)
        assert data.pop("head_dim") == hidden // heads
        write_json(path, data)
    return model


def torch_logits(directory, tokens):
    ref = transformers.LlamaForCausalLM.from_pretrained(str(directory), dtype=torch.float32)
    with torch.no_grad():
        return ref(torch.tensor(tokens)).logits.numpy()


def hf_tensors(directory) -> dict[str, np.ndarray]:
    """Every tensor of an HF directory, read through the reference `safetensors` library."""
    from safetensors.torch import load_file

    out = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".safetensors"):
            for key, t in load_file(os.path.join(directory, name)).items():
                out[key] = t
    return out


CASES = {
    # name: (make_hf_model kwargs)
    "mha-fp32-single-no-head-dim": dict(heads=2, kv_heads=2, dtype="float32", drop_head_dim=True),
    "gqa-bf16-sharded": dict(heads=4, kv_heads=2, dtype="bfloat16", max_shard_size="20KB"),
    "head-dim-40-fp32-sharded": dict(heads=2, kv_heads=1, head_dim=40, dtype="float32", max_shard_size="30KB"),
    "tied-bf16": dict(heads=4, kv_heads=1, dtype="bfloat16", tied=True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers(tmp_path, case):
    import jax.numpy as jnp

    kwargs = CASES[case]
    make_hf_model(tmp_path, **kwargs)
    if kwargs.get("max_shard_size"):
        assert os.path.exists(tmp_path / hf_io.INDEX_FILE)
    config, model = hf_io.load_hf_checkpoint(str(tmp_path))
    assert config.dtype == "float32"
    assert config.param_dtype == kwargs["dtype"]  # stored dtype kept; computed in float32
    assert config.head_dim == (kwargs.get("head_dim") or 64 // kwargs["heads"])
    assert config.tie_embeddings == kwargs.get("tied", False)
    tokens = np.random.RandomState(0).randint(0, VOCAB, (2, 12))
    ours = np.asarray(model(jnp.asarray(tokens, jnp.int32)))
    theirs = torch_logits(tmp_path, tokens)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    assert np.abs(theirs).max() > 0.5  # the comparison is not trivially small


@pytest.mark.parametrize("case,out_dtype,shard", [
    ("gqa-bf16-sharded", None, "16KB"), ("head-dim-40-fp32-sharded", None, None),
    ("head-dim-40-fp32-sharded", "bfloat16", None), ("tied-bf16", None, None)])
def test_export_loads_in_transformers_with_identical_tensors(tmp_path, case, out_dtype, shard):
    kwargs = CASES[case]
    src, dst = tmp_path / "src", tmp_path / "dst"
    original = make_hf_model(src, **kwargs)
    config, model = hf_io.load_hf_checkpoint(str(src))
    extra = {} if shard is None else {"max_shard_size": shard}
    files = hf_io.save_hf_checkpoint(model, config, str(dst), dtype=out_dtype, **extra)
    assert (hf_io.INDEX_FILE in files) == (shard is not None)
    hf_config = read_json(dst / "config.json")
    want_dtype = out_dtype or kwargs["dtype"]
    assert hf_config["architectures"] == ["LlamaForCausalLM"] and hf_config["head_dim"] == config.head_dim
    assert hf_config["torch_dtype"] == want_dtype
    assert os.path.exists(dst / "generation_config.json")
    loaded = transformers.LlamaForCausalLM.from_pretrained(str(dst), dtype="auto")
    assert loaded.dtype == getattr(torch, want_dtype)
    ref = {k: v.to(getattr(torch, want_dtype)) for k, v in original.state_dict().items()}
    got = loaded.state_dict()
    assert set(got) == set(ref)
    for name in ref:
        assert got[name].dtype == ref[name].dtype, name
        assert torch.equal(got[name], ref[name]), name
    # The files themselves hold exactly the tensors of a transformers save (lm_head absent when tied).
    assert set(hf_tensors(dst)) == set(hf_tensors(src))
    # Saving again unsharded into the same directory leaves no stale shards or index behind.
    hf_io.save_hf_checkpoint(model, config, str(dst))
    assert sorted(f for f in os.listdir(dst) if "safetensors" in f) == ["model.safetensors"]


def test_safetensors_reader_and_writer_agree_with_the_reference_library(tmp_path):
    from safetensors.torch import load_file, save_file

    tensors = {"a": torch.randn(3, 4, dtype=torch.bfloat16), "b": torch.randn(5),
               "c": torch.randn(2, 2, dtype=torch.float16), "d": torch.arange(6, dtype=torch.int64).reshape(2, 3)}
    save_file(tensors, str(tmp_path / "ref.safetensors"), metadata={"format": "pt"})
    f = hf_io.SafetensorsFile(str(tmp_path / "ref.safetensors"))
    arrays = {k: f.read(k) for k in tensors}
    assert arrays["a"].dtype == np.dtype(ml_dtypes.bfloat16) and arrays["a"].shape == (3, 4)
    np.testing.assert_array_equal(arrays["b"], tensors["b"].numpy())
    hf_io.write_safetensors(str(tmp_path / "ours.safetensors"), [(k, a.dtype, a.shape) for k, a in arrays.items()],
                            arrays.__getitem__)
    back = load_file(str(tmp_path / "ours.safetensors"))
    for k, t in tensors.items():
        assert torch.equal(back[k], t), k


def test_config_mapping_round_trips_and_derives_head_dim():
    config = ModelConfig(vocab_size=96640, embed_dim=2240, num_layers=24, num_heads=14, num_kv_heads=14,
                         head_dim=160, mlp_dim=6144, max_seq_len=4096, norm_eps=1e-5)
    hf = hf_io.config_to_hf(config, "bfloat16")
    assert hf["torch_dtype"] == "bfloat16" and hf["head_dim"] == 160
    del hf["head_dim"]  # the released 1.5B's config.json has none: 2240 / 14 = 160
    back = hf_io.config_from_hf(hf, dtype="float32", param_dtype="bfloat16")
    assert back == config.replace(dtype="float32", param_dtype="bfloat16")
    assert back.num_params() == 1_905_650_880
    legacy = dict(hf, rope_theta=500000.0, rope_parameters=None, rope_scaling=None)
    assert hf_io.config_from_hf(legacy).rope_theta == 500000.0
    v5 = {k: v for k, v in hf.items() if k != "rope_theta"}
    v5["rope_parameters"] = {"rope_type": "default", "rope_theta": 123.0}
    assert hf_io.config_from_hf(v5).rope_theta == 123.0


# ----------------------------------------------------------------------------- bad input


def tiny_config(**kw) -> ModelConfig:
    base = dict(vocab_size=32, embed_dim=16, num_layers=2, num_heads=2, num_kv_heads=1, head_dim=8, mlp_dim=24,
                param_dtype="float32", dtype="float32")
    return ModelConfig(**{**base, **kw})


def write_checkpoint(directory, config=None, max_shard_size=hf_io.DEFAULT_MAX_SHARD_SIZE):
    """A valid HF directory with random weights, written by hf_io itself (no torch needed)."""
    config = config or tiny_config()
    rng = np.random.RandomState(0)
    flat = {p: rng.randn(*shape).astype(np.float32) for p, shape in hf_io.param_shapes(config).items()}
    hf_io.save_hf_params(flat, config, str(directory), max_shard_size=max_shard_size)
    return config


def rewrite(path, edit):
    """Rewrite a safetensors file after edit(dict of arrays) -> dict of arrays."""
    f = hf_io.SafetensorsFile(str(path))
    arrays = edit({k: f.read(k) for k in f.tensors})
    hf_io.write_safetensors(str(path), [(k, a.dtype, a.shape) for k, a in arrays.items()], arrays.__getitem__)


@pytest.fixture
def no_tensor_reads(monkeypatch):
    """Bad input must be caught from headers alone, before any tensor data is read."""
    def fail(self, name):
        raise AssertionError(f"read tensor {name} before validation finished")

    monkeypatch.setattr(hf_io.SafetensorsFile, "read", fail)


def edit_config(directory, **changes):
    path = os.path.join(directory, "config.json")
    data = read_json(path)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    write_json(path, data)


def test_valid_checkpoint_loads(tmp_path):
    config = write_checkpoint(tmp_path)
    ckpt = hf_io.inspect_hf_checkpoint(str(tmp_path))
    assert ckpt.config == config and ckpt.stored_dtype == np.float32


@pytest.mark.parametrize("changes,match", [
    (dict(architectures=["MistralForCausalLM"], model_type="mistral"), r"config\.json.*MistralForCausalLM.*not LlamaForCausalLM"),
    (dict(architectures=["GPT2LMHeadModel"], model_type="gpt2"), r"config\.json.*GPT2LMHeadModel"),
    (dict(rope_scaling={"rope_type": "llama3", "factor": 8.0}), r"config\.json: rope_scaling of type 'llama3'"),
    (dict(rope_parameters={"rope_type": "yarn", "factor": 4.0, "rope_theta": 1e4}), r"rope_parameters of type 'yarn'"),
    (dict(hidden_act="gelu"), r"hidden_act 'gelu'"),
    (dict(attention_bias=True), r"attention_bias"),
])
def test_unsupported_config_is_a_clear_error(tmp_path, no_tensor_reads, changes, match):
    write_checkpoint(tmp_path)
    edit_config(tmp_path, **changes)
    with pytest.raises(ValueError, match=match):
        hf_io.load_hf_checkpoint(str(tmp_path))


def test_shape_that_does_not_fit_the_config(tmp_path, no_tensor_reads):
    write_checkpoint(tmp_path)
    edit_config(tmp_path, intermediate_size=32)
    with pytest.raises(ValueError, match=r"model\.safetensors: tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' "
                                         r"has shape \[24, 16\], but .*config\.json implies \[32, 16\]"):
        hf_io.load_hf_checkpoint(str(tmp_path))
    edit_config(tmp_path, intermediate_size=24, head_dim=None)  # derived 16 // 2 = 8: fine
    hf_io.inspect_hf_checkpoint(str(tmp_path))
    edit_config(tmp_path, num_key_value_heads=2)
    with pytest.raises(ValueError, match=r"k_proj\.weight' has shape \[8, 16\].*implies \[16, 16\]"):
        hf_io.load_hf_checkpoint(str(tmp_path))


def test_missing_tensor(tmp_path, no_tensor_reads):
    write_checkpoint(tmp_path)
    edit_config(tmp_path, num_hidden_layers=3)
    with pytest.raises(ValueError, match=r"missing tensor 'model\.layers\.2\.input_layernorm\.weight' \(and 8 more\)"):
        hf_io.load_hf_checkpoint(str(tmp_path))


def load_without_reads(directory):
    """load_hf_checkpoint with tensor reads forbidden: validation must fail first."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hf_io.SafetensorsFile, "read", lambda self, name: pytest.fail(f"read {name} before validating"))
        return hf_io.load_hf_checkpoint(str(directory))


def test_missing_and_unexpected_tensors(tmp_path):
    write_checkpoint(tmp_path)
    path = tmp_path / "model.safetensors"
    rewrite(path, lambda a: {k: v for k, v in a.items() if k != "model.layers.1.mlp.up_proj.weight"})
    with pytest.raises(ValueError, match=r"model\.safetensors: missing tensor 'model\.layers\.1\.mlp\.up_proj\.weight'"):
        load_without_reads(tmp_path)
    write_checkpoint(tmp_path)
    rewrite(path, lambda a: {**a, "model.layers.2.mlp.up_proj.weight": np.zeros((24, 16), np.float32)})
    with pytest.raises(ValueError, match=r"model\.safetensors: unexpected tensor 'model\.layers\.2\.mlp\.up_proj\.weight'"):
        load_without_reads(tmp_path)
    write_checkpoint(tmp_path)  # RoPE buffers of old checkpoints are ignored
    rewrite(path, lambda a: {**a, "model.layers.0.self_attn.rotary_emb.inv_freq": np.zeros((4,), np.float32)})
    hf_io.inspect_hf_checkpoint(str(tmp_path))
    write_checkpoint(tmp_path)
    rewrite(path, lambda a: {**a, "model.norm.weight": a["model.norm.weight"].astype(np.int32)})
    with pytest.raises(ValueError, match=r"tensor 'model\.norm\.weight' has dtype I32"):
        load_without_reads(tmp_path)


@pytest.mark.parametrize("damage,match", [
    (lambda b: b[: len(b) - 100], r"corrupt or truncated safetensors file: tensor '.*' .* data_offsets"),
    (lambda b: b[:5], r"not a safetensors file \(only 5 bytes\)"),
    (lambda b: (10**12).to_bytes(8, "little") + b[8:], r"header length 1000000000000 does not fit"),
    (lambda b: b[:8] + b"\xff" * 10 + b[18:], r"corrupt safetensors header"),
    (lambda b: b"PK\x03\x04 not a safetensors file at all", r"model\.safetensors: corrupt or not a safetensors file"),
])
def test_corrupt_safetensors_file(tmp_path, no_tensor_reads, damage, match):
    write_checkpoint(tmp_path)
    path = tmp_path / "model.safetensors"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=match) as info:
        hf_io.load_hf_checkpoint(str(tmp_path))
    assert str(path) in str(info.value)


def test_sharded_index_problems(tmp_path, no_tensor_reads):
    write_checkpoint(tmp_path, max_shard_size=2000)
    index = read_json(tmp_path / hf_io.INDEX_FILE)
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 2
    hf_io.inspect_hf_checkpoint(str(tmp_path))
    # The index names a tensor in a shard that does not hold it.
    name = "model.layers.1.mlp.down_proj.weight"
    wrong = next(s for s in shards if s != index["weight_map"][name])
    write_json(tmp_path / hf_io.INDEX_FILE, {"weight_map": {**index["weight_map"], name: wrong}})
    with pytest.raises(ValueError, match=rf"{wrong}: tensor '{name}' is listed for this file by "):
        hf_io.load_hf_checkpoint(str(tmp_path))
    # A shard is missing.
    write_json(tmp_path / hf_io.INDEX_FILE, index)
    os.remove(tmp_path / shards[1])
    with pytest.raises(ValueError, match=rf"index\.json: shard {shards[1]} \(holding '"):
        hf_io.load_hf_checkpoint(str(tmp_path))


def test_no_safetensors_or_no_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(hf_io.config_to_hf(tiny_config(), "float32")))
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"no safetensors weights .* found pytorch_model\.bin"):
        hf_io.load_hf_checkpoint(str(tmp_path))
    os.remove(tmp_path / "config.json")
    with pytest.raises(FileNotFoundError, match=r"config\.json not found"):
        hf_io.load_hf_checkpoint(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        hf_io.load_hf_checkpoint(str(tmp_path))
