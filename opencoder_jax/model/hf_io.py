"""Hugging Face `LlamaForCausalLM` checkpoints <-> our Transformer, tensor by tensor.

A local HF directory holds config.json and safetensors weights: one `model.safetensors`, or
shards listed by `model.safetensors.index.json`. Conversion is rename + transpose + head
reshape; there is no RoPE permutation (HF Llama rotates halves, as we do):

  HF tensor (shape)                                   ours (N = stacked layer axis)
  model.embed_tokens.weight            [V, E]         embedder.embedding            [V, E]
  model.layers.{i}.input_layernorm.weight [E]         layers.attn_norm.scale        [N, E]
  model.layers.{i}.self_attn.q_proj.weight [H*D, E]   layers.attn.q_proj.kernel     [N, E, H, D]
  model.layers.{i}.self_attn.k_proj.weight [K*D, E]   layers.attn.k_proj.kernel     [N, E, K, D]
  model.layers.{i}.self_attn.v_proj.weight [K*D, E]   layers.attn.v_proj.kernel     [N, E, K, D]
  model.layers.{i}.self_attn.o_proj.weight [E, H*D]   layers.attn.o_proj.kernel     [N, H, D, E]
  model.layers.{i}.post_attention_layernorm.weight    layers.mlp_norm.scale         [N, E]
  model.layers.{i}.mlp.gate_proj.weight [F, E]        layers.mlp.gate_proj.kernel   [N, E, F]
  model.layers.{i}.mlp.up_proj.weight   [F, E]        layers.mlp.up_proj.kernel     [N, E, F]
  model.layers.{i}.mlp.down_proj.weight [E, F]        layers.mlp.down_proj.kernel   [N, F, E]
  model.norm.weight                    [E]            final_norm.scale              [E]
  lm_head.weight                       [V, E]         lm_head.kernel                [E, V] (untied only)

Reading validates everything it can from headers alone (config.json, the index, every
shard's header: names, shapes, dtypes, offsets) before reading any tensor data, and then
streams: each tensor is read, transformed and written into its slot of a stacked array
preallocated in the target dtype, so the model is never held twice. Writing plans every
shard from shapes first, then produces and writes one tensor at a time.

The safetensors format itself is read and written by `safetensors_io.py` (no extra dependency).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from typing import Any, Callable, Iterable

import numpy as np

from opencoder_jax.model.safetensors_io import (
    FLOAT_CODES, HF_DTYPE_NAMES, SafetensorsFile, as_np_dtype, dtype_name, write_safetensors)

CONFIG_FILE = "config.json"
GENERATION_CONFIG_FILE = "generation_config.json"
SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
# Files that travel with a conversion (tokenizer, chat template, generation defaults).
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json",
                   "added_tokens.json", "chat_template.jinja", "chat_template.json", GENERATION_CONFIG_FILE)
DEFAULT_MAX_SHARD_SIZE = 5 * 10**9  # bytes per safetensors shard when writing
# Old checkpoints carry RoPE buffers as tensors; they are derived, never weights.
IGNORED_TENSORS = re.compile(r"^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$|^model\.rotary_emb\.inv_freq$")


# ----------------------------------------------------------------------------- config


def _hf_rope_type(value: Any) -> str | None:
    if not value:
        return None
    if not isinstance(value, dict):
        return str(value)
    rope_type = value.get("rope_type", value.get("type", "default"))
    return None if rope_type in (None, "default") else str(rope_type)


def config_from_hf(hf: dict, *, dtype: str = "float32", param_dtype: str = "float32", source: str = CONFIG_FILE):
    """A Llama config.json dict -> ModelConfig; ValueError naming `source` when it is not one we run."""
    from opencoder_jax.model.config import ModelConfig

    archs = hf.get("architectures") or []
    if "LlamaForCausalLM" not in archs and not (hf.get("model_type") == "llama" and not archs):
        raise ValueError(f"{source}: architectures {archs or None} / model_type {hf.get('model_type')!r} is not "
                         "LlamaForCausalLM (only Llama-architecture checkpoints, like OpenCoder's, convert)")
    if hf.get("model_type", "llama") != "llama":
        raise ValueError(f"{source}: model_type {hf.get('model_type')!r} is not 'llama'")
    for key in ("rope_scaling", "rope_parameters"):
        rope_type = _hf_rope_type(hf.get(key))
        if rope_type is not None:
            raise ValueError(f"{source}: {key} of type {rope_type!r} is not supported (only plain RoPE)")
    act = hf.get("hidden_act", "silu")
    if act != "silu":
        raise ValueError(f"{source}: hidden_act {act!r} is not supported (SwiGLU with silu only)")
    for key in ("attention_bias", "mlp_bias"):
        if hf.get(key):
            raise ValueError(f"{source}: {key}=true is not supported (the model has no biases)")
    required = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    missing = [k for k in required if hf.get(k) is None]
    if missing:
        raise ValueError(f"{source}: missing {', '.join(missing)}")
    hidden, heads = int(hf["hidden_size"]), int(hf["num_attention_heads"])
    kv_heads = int(hf.get("num_key_value_heads") or heads)
    head_dim = hf.get("head_dim")
    if head_dim is None:
        if hidden % heads:
            raise ValueError(f"{source}: no head_dim, and hidden_size {hidden} is not a multiple of "
                             f"num_attention_heads {heads}")
        head_dim = hidden // heads
    if heads % kv_heads:
        raise ValueError(f"{source}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}")
    rope = hf.get("rope_parameters") if isinstance(hf.get("rope_parameters"), dict) else {}
    theta = rope.get("rope_theta") or hf.get("rope_theta") or 10000.0  # transformers 5 prefers rope_parameters
    return ModelConfig(
        vocab_size=int(hf["vocab_size"]), embed_dim=hidden, num_layers=int(hf["num_hidden_layers"]),
        num_heads=heads, num_kv_heads=kv_heads, head_dim=int(head_dim), mlp_dim=int(hf["intermediate_size"]),
        rope_theta=float(theta), max_seq_len=int(hf.get("max_position_embeddings") or 4096),
        norm_eps=float(hf.get("rms_norm_eps", 1e-6)), tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
        dtype=dtype_name(dtype), param_dtype=dtype_name(param_dtype), scan_layers=True)


def config_to_hf(config, dtype: Any, extra: dict | None = None) -> dict:
    """ModelConfig -> a LlamaForCausalLM config.json dict (readable by transformers 4.x and 5.x)."""
    name = dtype_name(dtype)
    out = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": config.vocab_size, "hidden_size": config.embed_dim,
        "intermediate_size": config.mlp_dim, "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads, "num_key_value_heads": config.num_kv_heads,
        "head_dim": config.head_dim, "hidden_act": "silu", "max_position_embeddings": config.max_seq_len,
        "rms_norm_eps": config.norm_eps, "rope_theta": config.rope_theta, "rope_scaling": None,
        "rope_parameters": {"rope_type": "default", "rope_theta": config.rope_theta},
        "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False, "pretraining_tp": 1,
        "initializer_range": 0.02, "use_cache": True, "tie_word_embeddings": bool(config.tie_embeddings),
        "torch_dtype": name, "dtype": name,
    }
    out.update(extra or {})
    return out


# ----------------------------------------------------------------------------- name map


def _split_heads(n: int, d: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda w: w.T.reshape(w.shape[1], n, d)          # [n*d, E] -> [E, n, d]


def _merge_heads(n: int, d: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda w: w.reshape(w.shape[0], n * d).T         # [E, n, d] -> [n*d, E]


def _transpose(w: np.ndarray) -> np.ndarray:
    return w.T


def _same(w: np.ndarray) -> np.ndarray:
    return w


@dataclasses.dataclass(frozen=True)
class TensorMap:
    hf_name: str
    hf_shape: tuple[int, ...]
    path: tuple[str, ...]           # our nnx.Param path
    layer: int | None               # index along the stacked layer axis, or None
    shape: tuple[int, ...]          # our shape of this tensor (per layer)
    to_ours: Callable[[np.ndarray], np.ndarray]
    to_hf: Callable[[np.ndarray], np.ndarray]


def tensor_maps(config) -> list[TensorMap]:
    """Every HF tensor of a config, in HF's order, with its place and transform in our tree."""
    V, E, N, F = config.vocab_size, config.embed_dim, config.num_layers, config.mlp_dim
    H, K, D = config.num_heads, config.num_kv_heads, config.head_dim
    maps = [TensorMap("model.embed_tokens.weight", (V, E), ("embedder", "embedding"), None, (V, E), _same, _same)]
    for i in range(N):
        p = f"model.layers.{i}."
        maps += [
            TensorMap(p + "input_layernorm.weight", (E,), ("layers", "attn_norm", "scale"), i, (E,), _same, _same),
            TensorMap(p + "self_attn.q_proj.weight", (H * D, E), ("layers", "attn", "q_proj", "kernel"), i,
                      (E, H, D), _split_heads(H, D), _merge_heads(H, D)),
            TensorMap(p + "self_attn.k_proj.weight", (K * D, E), ("layers", "attn", "k_proj", "kernel"), i,
                      (E, K, D), _split_heads(K, D), _merge_heads(K, D)),
            TensorMap(p + "self_attn.v_proj.weight", (K * D, E), ("layers", "attn", "v_proj", "kernel"), i,
                      (E, K, D), _split_heads(K, D), _merge_heads(K, D)),
            TensorMap(p + "self_attn.o_proj.weight", (E, H * D), ("layers", "attn", "o_proj", "kernel"), i,
                      (H, D, E), lambda w: w.T.reshape(H, D, E), lambda w: w.reshape(H * D, E).T),
            TensorMap(p + "post_attention_layernorm.weight", (E,), ("layers", "mlp_norm", "scale"), i, (E,),
                      _same, _same),
            TensorMap(p + "mlp.gate_proj.weight", (F, E), ("layers", "mlp", "gate_proj", "kernel"), i, (E, F),
                      _transpose, _transpose),
            TensorMap(p + "mlp.up_proj.weight", (F, E), ("layers", "mlp", "up_proj", "kernel"), i, (E, F),
                      _transpose, _transpose),
            TensorMap(p + "mlp.down_proj.weight", (E, F), ("layers", "mlp", "down_proj", "kernel"), i, (F, E),
                      _transpose, _transpose),
        ]
    maps.append(TensorMap("model.norm.weight", (E,), ("final_norm", "scale"), None, (E,), _same, _same))
    if not config.tie_embeddings:
        maps.append(TensorMap("lm_head.weight", (V, E), ("lm_head", "kernel"), None, (E, V), _transpose, _transpose))
    return maps


def param_shapes(config) -> dict[tuple[str, ...], tuple[int, ...]]:
    """Our param path -> full (stacked) shape, from the name map."""
    out: dict[tuple[str, ...], tuple[int, ...]] = {}
    for m in tensor_maps(config):
        out[m.path] = ((config.num_layers,) if m.layer is not None else ()) + m.shape
    return out


def flatten(tree: dict, prefix: tuple = ()) -> dict[tuple, Any]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, prefix + (key,)))
        else:
            out[prefix + (key,)] = value
    return out


def unflatten(flat: dict[tuple, Any]) -> dict:
    out: dict = {}
    for path, value in flat.items():
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out


# ----------------------------------------------------------------------------- reading


@dataclasses.dataclass
class HFCheckpoint:
    """A validated HF directory: its config, and where each expected tensor lives."""
    path: str
    hf_config: dict
    config: Any  # ModelConfig
    files: dict[str, SafetensorsFile]           # file name -> opened header
    location: dict[str, str]                    # hf tensor name -> file name
    stored_dtype: np.dtype                      # the weights' dtype (torch_dtype when mixed)


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def inspect_hf_checkpoint(path: str, *, dtype: str = "float32", param_dtype: Any = None) -> HFCheckpoint:
    """Read and check config.json, the index and every safetensors header; no tensor data is read.

    Raises ValueError naming the file and tensor for: another architecture, missing tensors,
    unexpected tensors, a shape that does not fit the config, a non-float dtype, a corrupt file.
    """
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: no such Hugging Face model directory")
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{config_path} not found (a Hugging Face model directory needs config.json)")
    hf_config = _read_json(config_path)
    config = config_from_hf(hf_config, dtype=dtype, source=config_path)

    index_path = os.path.join(path, INDEX_FILE)
    if os.path.exists(index_path):
        weight_map = _read_json(index_path).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ValueError(f"{index_path}: no weight_map")
        file_names = sorted(set(weight_map.values()))
        for name in file_names:
            if not os.path.exists(os.path.join(path, name)):
                tensors = sorted(t for t, f in weight_map.items() if f == name)
                raise ValueError(f"{index_path}: shard {name} (holding {tensors[0]!r}"
                                 f"{f' and {len(tensors) - 1} more' if len(tensors) > 1 else ''}) is missing")
    elif os.path.exists(os.path.join(path, SINGLE_FILE)):
        weight_map, file_names = None, [SINGLE_FILE]
    else:
        found = sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))
        if not found:
            others = sorted(f for f in os.listdir(path) if f.endswith((".bin", ".pt", ".pth", ".h5", ".msgpack")))
            raise ValueError(f"{path}: no safetensors weights ({SINGLE_FILE} or {INDEX_FILE})"
                             + (f"; found {', '.join(others)}: only safetensors checkpoints are read" if others else ""))
        weight_map, file_names = None, found
    files = {name: SafetensorsFile(os.path.join(path, name)) for name in file_names}

    location: dict[str, str] = {}
    for name, f in files.items():
        for tensor in f.tensors:
            if tensor in location:
                raise ValueError(f"{f.path}: tensor {tensor!r} also appears in {location[tensor]}")
            location[tensor] = name
    if weight_map is not None:
        for tensor, name in weight_map.items():
            if tensor not in files[name]:
                raise ValueError(f"{files[name].path}: tensor {tensor!r} is listed for this file by {INDEX_FILE} "
                                 "but the file does not contain it")
        for tensor, name in location.items():
            if weight_map.get(tensor) not in (None, name):
                raise ValueError(f"{files[name].path}: tensor {tensor!r} is here but {INDEX_FILE} places it in "
                                 f"{weight_map[tensor]}")

    maps = tensor_maps(config)
    expected = {m.hf_name: m for m in maps}
    missing = [m.hf_name for m in maps if m.hf_name not in location]
    if missing:
        where = INDEX_FILE if weight_map is not None else ", ".join(file_names)
        raise ValueError(f"{os.path.join(path, where)}: missing tensor {missing[0]!r}"
                         f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''} required by {config_path} "
                         f"({config.num_layers} layers, tie_word_embeddings={config.tie_embeddings})")
    for tensor, name in location.items():
        if tensor in expected or IGNORED_TENSORS.match(tensor):
            continue
        if tensor == "lm_head.weight" and config.tie_embeddings:
            continue  # a redundant copy of the tied embedding
        raise ValueError(f"{files[name].path}: unexpected tensor {tensor!r} (not part of a Llama model with "
                         f"{config.num_layers} layers per {config_path})")
    dtypes = set()
    for m in maps:
        info = files[location[m.hf_name]].tensors[m.hf_name]
        if info.shape != m.hf_shape:
            raise ValueError(f"{files[location[m.hf_name]].path}: tensor {m.hf_name!r} has shape {list(info.shape)}, "
                             f"but {config_path} implies {list(m.hf_shape)} (vocab {config.vocab_size}, hidden "
                             f"{config.embed_dim}, heads {config.num_heads}/{config.num_kv_heads} x head_dim "
                             f"{config.head_dim}, intermediate {config.mlp_dim})")
        if info.dtype not in FLOAT_CODES:
            raise ValueError(f"{files[location[m.hf_name]].path}: tensor {m.hf_name!r} has dtype {info.dtype}, "
                             "expected a floating-point dtype")
        dtypes.add(info.np_dtype)
    if len(dtypes) == 1:
        stored = dtypes.pop()
    else:
        declared = hf_config.get("torch_dtype") or hf_config.get("dtype")
        stored = as_np_dtype(declared) if declared in HF_DTYPE_NAMES else np.dtype(np.float32)
    target = stored if param_dtype is None else as_np_dtype(param_dtype)
    config = config.replace(param_dtype=dtype_name(target))
    return HFCheckpoint(path, hf_config, config, files, location, stored)


def read_hf_params(ckpt: HFCheckpoint, param_dtype: Any = None) -> dict[tuple[str, ...], np.ndarray]:
    """Stream every tensor into stacked numpy arrays in param_dtype (default: config.param_dtype)."""
    config = ckpt.config
    target = as_np_dtype(param_dtype or config.param_dtype)
    out = {path: np.empty(shape, dtype=target) for path, shape in param_shapes(config).items()}
    maps = tensor_maps(config)
    # Read file by file in data order: sequential I/O.
    maps.sort(key=lambda m: (ckpt.location[m.hf_name], ckpt.files[ckpt.location[m.hf_name]].tensors[m.hf_name].begin))
    for m in maps:
        w = ckpt.files[ckpt.location[m.hf_name]].read(m.hf_name)
        value = m.to_ours(w)
        if m.layer is None:
            out[m.path][...] = value  # casts into the target dtype
        else:
            out[m.path][m.layer] = value
        del w, value
    return out


# ----------------------------------------------------------------------------- models


def abstract_split(config):
    """The Transformer's graphdef and abstract Param state (and the rest), allocating nothing."""
    from flax import nnx

    from opencoder_jax.model.transformer import abstract_model

    return nnx.split(abstract_model(config), nnx.Param, ...)


def flat_shardings(abstract_params, mesh) -> dict[tuple[str, ...], Any]:
    """Flat {path: Sharding} for the params: the mesh's layout, or the default device."""
    import jax
    from flax import nnx

    if mesh is None:
        device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
        return {path: device for path in flatten(nnx.to_pure_dict(abstract_params))}
    from opencoder_jax.model.sharding import param_shardings

    return flatten(nnx.to_pure_dict(param_shardings(abstract_params, mesh)))


def check_layout(config, abstract_params) -> None:
    """Our name map must describe the model's Param tree exactly (a code-consistency check)."""
    from flax import nnx

    have = {path: tuple(leaf.shape) for path, leaf in flatten(nnx.to_pure_dict(abstract_params)).items()}
    want = param_shapes(config)
    if have != want:
        diff = sorted(set(have.items()) ^ set(want.items()), key=str)
        raise RuntimeError(f"the Transformer's parameter tree does not match hf_io's name map: {diff[:4]}")


def model_from_params(config, flat: dict[tuple[str, ...], Any], mesh=None):
    """Build a Transformer from a flat {path: array} dict, placing (and freeing) one leaf at a time.

    `flat` is emptied as its arrays move to the devices (the mesh's layout when one is given).
    """
    import jax
    from flax import nnx

    graphdef, params, rest = abstract_split(config)
    check_layout(config, params)
    shardings = flat_shardings(params, mesh)
    placed = {}
    for path in list(flat):
        value = flat.pop(path)
        placed[path] = jax.device_put(value, shardings[path])
        del value
    nnx.replace_by_pure_dict(params, unflatten(placed))
    if jax.tree.leaves(rest):
        raise RuntimeError("the Transformer holds non-Param state; hf_io cannot build it abstractly")
    return nnx.merge(graphdef, params, rest)


def load_hf_checkpoint(path: str, dtype: str = "float32", *, param_dtype: Any = None, mesh=None):
    """A local HF Llama directory -> (ModelConfig, Transformer).

    The model computes in `dtype` (float32 by default, for tight parity); its parameters keep
    the checkpoint's dtype unless param_dtype is given. All validation happens before any
    tensor data is read.
    """
    ckpt = inspect_hf_checkpoint(path, dtype=dtype, param_dtype=param_dtype)
    flat = read_hf_params(ckpt)
    return ckpt.config, model_from_params(ckpt.config, flat, mesh)


# ----------------------------------------------------------------------------- writing


def parse_size(value: int | str) -> int:
    """5000000, '5GB', '500MB', '2GiB' -> bytes."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)?\s*", str(value), re.IGNORECASE)
    if not m:
        raise ValueError(f"bad shard size {value!r} (e.g. 5GB, 500MB, 1000000)")
    unit = (m.group(2) or "B").upper()
    scale = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
             "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}[unit]
    return int(float(m.group(1)) * scale)


def model_params(model) -> dict[tuple[str, ...], Any]:
    """A Transformer's Param leaves as a flat {path: jax.Array} dict (no copies)."""
    from flax import nnx

    return flatten(nnx.to_pure_dict(nnx.state(model, nnx.Param)))


def save_hf_params(flat: dict[tuple[str, ...], Any], config, path: str, dtype: Any = None, *,
                   max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE, extra_config: dict | None = None,
                   generation_config: dict | None = None) -> list[str]:
    """Write flat params as an HF directory, one tensor at a time; returns the files written."""
    import jax

    maps = tensor_maps(config)
    want = param_shapes(config)
    for p, shape in want.items():
        if p not in flat:
            raise ValueError(f"parameter {'.'.join(p)} is missing from the model")
        if tuple(flat[p].shape) != shape:
            raise ValueError(f"parameter {'.'.join(p)} has shape {list(flat[p].shape)}, config implies {list(shape)}")
    if dtype is None:
        dtypes = {np.dtype(flat[p].dtype) for p in want}
        out_dtype = dtypes.pop() if len(dtypes) == 1 else as_np_dtype(config.param_dtype)
    else:
        out_dtype = as_np_dtype(dtype)
    dtype_name(out_dtype)  # validates
    limit = parse_size(max_shard_size)

    shards: list[list[TensorMap]] = [[]]
    size = 0
    for m in maps:
        nbytes = math.prod(m.hf_shape) * out_dtype.itemsize
        if shards[-1] and size + nbytes > limit:
            shards.append([])
            size = 0
        shards[-1].append(m)
        size += nbytes
    os.makedirs(path, exist_ok=True)
    names = ([SINGLE_FILE] if len(shards) == 1 else
             [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))])
    by_name = {m.hf_name: m for m in maps}

    def produce(hf_name: str) -> np.ndarray:
        m = by_name[hf_name]
        leaf = flat[m.path]
        part = leaf[m.layer] if m.layer is not None else leaf
        value = np.asarray(jax.device_get(part))
        return np.ascontiguousarray(m.to_hf(value)).astype(out_dtype, copy=False)

    total = 0
    weight_map = {}
    for name, shard in zip(names, shards):
        specs = [(m.hf_name, out_dtype, m.hf_shape) for m in shard]
        total += write_safetensors(os.path.join(path, name), specs, produce, {"format": "pt"})
        weight_map.update({m.hf_name: name for m in shard})
    for stale in os.listdir(path):  # weights of an earlier save that this one does not replace
        if stale not in names and re.fullmatch(r"model(-\d+-of-\d+)?\.safetensors", stale):
            os.remove(os.path.join(path, stale))
    index_path = os.path.join(path, INDEX_FILE)
    if len(shards) > 1:
        with open(index_path, "w", encoding="utf-8") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
            f.write("\n")
    elif os.path.exists(index_path):
        os.remove(index_path)  # a stale index would shadow model.safetensors
    gen = dict(generation_config or {})
    token_ids = {k: gen[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id") if gen.get(k) is not None}
    with open(os.path.join(path, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(config_to_hf(config, out_dtype, {**token_ids, **(extra_config or {})}), f, indent=2)
        f.write("\n")
    with open(os.path.join(path, GENERATION_CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(gen or {"_from_model_config": True}, f, indent=2)
        f.write("\n")
    return names + ([INDEX_FILE] if len(shards) > 1 else []) + [CONFIG_FILE, GENERATION_CONFIG_FILE]


def save_hf_checkpoint(model, config, path: str, dtype: Any = None, *,
                       max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE, extra_config: dict | None = None,
                       generation_config: dict | None = None) -> list[str]:
    """Write a Transformer as a LlamaForCausalLM directory transformers loads.

    dtype None keeps the parameters' dtype. Shards hold at most max_shard_size bytes (a single
    tensor larger than that gets a shard of its own); more than one shard gets an index.
    """
    return save_hf_params(model_params(model), config, path, dtype, max_shard_size=max_shard_size,
                          extra_config=extra_config, generation_config=generation_config)


def copy_tokenizer_files(src: str, dst: str, names: Iterable[str] = TOKENIZER_FILES) -> list[str]:
    """Copy the tokenizer (and generation-config) files present in src into dst."""
    import shutil

    copied = []
    for name in names:
        source = os.path.join(src, name)
        if os.path.isfile(source):
            os.makedirs(dst, exist_ok=True)
            shutil.copyfile(source, os.path.join(dst, name))
            copied.append(name)
    return copied
