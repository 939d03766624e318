"""`opencoder convert` and orbax_io: HF -> Orbax -> HF is bitwise; tokenizer files travel along;
checkpoints load from a workdir, a checkpoints/ dir or a step dir, ignoring training items."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from opencoder_jax.cli import main
from opencoder_jax.model import hf_io, loading, orbax_io

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

VOCAB = 96
TOKENIZER = {  # stand-ins: conversion copies bytes, it never parses them
    "tokenizer.model": b"\x00sentencepiece-bytes\xff",
    "tokenizer_config.json": b'{"tokenizer_class": "LlamaTokenizer", "add_bos_token": false}',
    "special_tokens_map.json": b'{"eos_token": "<|im_end|>"}',
    "generation_config.json": b'{"bos_token_id": 1, "eos_token_id": 95, "do_sample": false}',
}


def make_hf_dir(directory, *, dtype, heads=4, kv_heads=2, head_dim=None, max_shard_size=None, tokenizer=True):
    kwargs = {} if head_dim is None else {"head_dim": head_dim}
    cfg = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=80, num_hidden_layers=2, num_attention_heads=heads,
        num_key_value_heads=kv_heads, max_position_embeddings=64, rms_norm_eps=1e-5, initializer_range=0.1, **kwargs)
    torch.manual_seed(1)
    model = transformers.LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    extra = {} if max_shard_size is None else {"max_shard_size": max_shard_size}
    model.to(getattr(torch, dtype)).save_pretrained(str(directory), **extra)
    if tokenizer:
        for name, data in TOKENIZER.items():
            (directory / name).write_bytes(data)


def raw_tensors(directory) -> dict[str, tuple[str, tuple, bytes]]:
    """name -> (dtype, shape, raw bytes) of every tensor in an HF directory."""
    out = {}
    for name in os.listdir(directory):
        if name.endswith(".safetensors"):
            f = hf_io.SafetensorsFile(os.path.join(directory, name))
            for key, info in f.tensors.items():
                out[key] = (info.dtype, info.shape, f.read(key).tobytes())
    return out


def cli(*argv) -> int:
    return main(list(argv))


@pytest.mark.parametrize("dtype,shard,head_dim", [("bfloat16", "20KB", None), ("float32", None, 40)])
def test_round_trip_through_the_cli_is_bitwise(tmp_path, capsys, dtype, shard, head_dim):
    src, work, out = tmp_path / "hf", tmp_path / "work", tmp_path / "hf2"
    make_hf_dir(src, dtype=dtype, max_shard_size=shard, head_dim=head_dim, heads=2 if head_dim else 4,
                kv_heads=1 if head_dim else 2)
    assert cli("convert", "hf-to-orbax", "--hf", str(src), "--out", str(work)) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["param_dtype"] == dtype
    assert os.path.isdir(work / "checkpoints" / "0" / "params")
    for name, data in TOKENIZER.items():
        assert (work / "tokenizer" / name).read_bytes() == data
    config = orbax_io.load_config(str(work))
    assert config.param_dtype == dtype and config.head_dim == (head_dim or 16)

    args = ["convert", "orbax-to-hf", "--checkpoint", str(work), "--out", str(out)]
    if shard:
        args += ["--max_shard_size", shard]
    assert cli(*args) == 0
    assert raw_tensors(out) == raw_tensors(src)  # same names, dtypes, shapes and bytes
    assert os.path.exists(out / hf_io.INDEX_FILE) == bool(shard)
    for name, data in TOKENIZER.items():
        assert (out / name).read_bytes() == data
    hf_config = json.loads((out / "config.json").read_text())
    assert hf_config["torch_dtype"] == dtype and hf_config["eos_token_id"] == 95
    # transformers loads the result with the same weights
    a = transformers.LlamaForCausalLM.from_pretrained(str(src), dtype="auto").state_dict()
    b = transformers.LlamaForCausalLM.from_pretrained(str(out), dtype="auto").state_dict()
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_orbax_checkpoint_loads_from_any_path_and_ignores_training_items(tmp_path):
    import jax
    import jax.numpy as jnp
    import orbax.checkpoint as ocp
    from flax import nnx

    src, work = tmp_path / "hf", tmp_path / "work"
    make_hf_dir(src, dtype="float32", tokenizer=False)
    config, model = hf_io.load_hf_checkpoint(str(src))
    tokens = jnp.asarray(np.random.RandomState(0).randint(0, VOCAB, (1, 9)), jnp.int32)
    want = np.asarray(model(tokens))
    step_dir = orbax_io.save_model(model, config, str(work), step=3)
    assert step_dir == str(work / "checkpoints" / "3")
    # A later training step with optimizer state and metadata next to params/model_config.
    params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    mngr = ocp.CheckpointManager(str(work / "checkpoints"))
    mngr.save(7, args=ocp.args.Composite(
        params=ocp.args.StandardSave(params), model_config=ocp.args.JsonSave(config.to_dict()),
        opt_state=ocp.args.StandardSave({"mu": jax.tree.map(jnp.zeros_like, params), "count": jnp.int32(7)}),
        train_meta=ocp.args.JsonSave({"step": 7})))
    mngr.wait_until_finished()
    mngr.close()
    want_params = hf_io.model_params(model)
    for path, step in [(work, None), (work / "checkpoints", None), (work / "checkpoints" / "3", None), (work, 3)]:
        loaded_config, loaded = orbax_io.load_model(str(path), step=step)
        assert loaded_config == config
        got = hf_io.model_params(loaded)
        assert set(got) == set(want_params)
        for key in got:  # params equal bitwise; the latest step (7) holds the same params
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(want_params[key]))
    loaded_config, _ = orbax_io.load_model(str(work), dtype="bfloat16")
    assert loaded_config.dtype == "bfloat16" and loaded_config.param_dtype == "float32"
    # load_any dispatches to either format.
    # With a mesh, parameters land in their NamedShardings.
    from opencoder_jax.model.sharding import make_mesh

    mesh = make_mesh((1, 1, 1))
    for _, sharded in (orbax_io.load_model(str(work), mesh=mesh), hf_io.load_hf_checkpoint(str(src), mesh=mesh)):
        leaf = hf_io.model_params(sharded)[("layers", "attn", "q_proj", "kernel")]
        assert isinstance(leaf.sharding, jax.sharding.NamedSharding) and leaf.sharding.mesh.shape == mesh.shape
    _, m = loading.load_any(checkpoint=str(work))
    np.testing.assert_array_equal(np.asarray(m(tokens)), want)
    assert loading.load_any(hf=str(src))[0] == config
    with pytest.raises(ValueError, match="exactly one"):
        loading.load_any(checkpoint=str(work), hf=str(src))
    with pytest.raises(FileNotFoundError, match="no model checkpoint"):
        orbax_io.load_model(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no step 5"):
        orbax_io.load_model(str(work), step=5)


def test_param_dtype_and_export_dtype_options(tmp_path, capsys):
    src, work, out = tmp_path / "hf", tmp_path / "work", tmp_path / "hf2"
    make_hf_dir(src, dtype="bfloat16", tokenizer=False)
    assert cli("convert", "hf-to-orbax", "--hf", str(src), "--out", str(work), "--param_dtype", "float32") == 0
    assert orbax_io.load_config(str(work)).param_dtype == "float32"
    assert cli("convert", "orbax-to-hf", "--checkpoint", str(work / "checkpoints" / "0"), "--out", str(out),
               "--dtype", "bfloat16") == 0
    assert raw_tensors(out) == raw_tensors(src)  # bf16 -> fp32 -> bf16 is exact
    capsys.readouterr()


def test_bad_input_through_the_cli(tmp_path, capsys):
    src, work = tmp_path / "hf", tmp_path / "work"
    make_hf_dir(src, dtype="float32", tokenizer=False)
    config = json.loads((src / "config.json").read_text())
    (src / "config.json").write_text(json.dumps({**config, "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}))
    assert cli("convert", "hf-to-orbax", "--hf", str(src), "--out", str(work)) == 2
    err = capsys.readouterr().err
    assert "opencoder: error:" in err and "config.json" in err and "Qwen2ForCausalLM" in err
    assert not os.path.exists(work / "checkpoints")
    (src / "config.json").write_text(json.dumps(config))
    path = src / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-64])
    assert cli("convert", "hf-to-orbax", "--hf", str(src), "--out", str(work)) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "truncated" in err
    assert cli("convert", "orbax-to-hf", "--checkpoint", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")) == 2
    assert "no such checkpoint directory" in capsys.readouterr().err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    assert cli("convert", "orbax-to-hf", "--checkpoint", str(work), "--out", str(tmp_path / "busy")) == 2
    assert "is not empty" in capsys.readouterr().err
