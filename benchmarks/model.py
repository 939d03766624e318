"""Forward+backward tokens/s: our Flax decoder (jitted) vs transformers' PyTorch Llama, same
config, same batch, fp32, CPU, measured side by side (alternating rounds) in one process.

    .venv/bin/python benchmarks/model.py [--configs tiny,100m] [--rounds 3] [--steps 5]

Target (issue 14): ours >= 1.5x transformers. The loss is mean next-token cross-entropy.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from flax import nnx  # noqa: E402

from opencoder_jax.model.config import ModelConfig, preset  # noqa: E402
from opencoder_jax.model.transformer import create_model  # noqa: E402

CONFIGS = {
    "tiny": (preset("tiny"), 8, 512),
    # ~134M parameters (85M without embeddings): GPT-2-small-like width and depth.
    "100m": (ModelConfig(vocab_size=32000, embed_dim=768, num_layers=12, num_heads=12, num_kv_heads=12,
                         head_dim=64, mlp_dim=2048, dtype="float32"), 4, 512),
}


def hf_model(cfg: ModelConfig):
    from transformers import LlamaConfig, LlamaForCausalLM

    hf_cfg = LlamaConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.embed_dim, intermediate_size=cfg.mlp_dim,
                         num_hidden_layers=cfg.num_layers, num_attention_heads=cfg.num_heads,
                         num_key_value_heads=cfg.num_kv_heads, head_dim=cfg.head_dim, rms_norm_eps=cfg.norm_eps,
                         rope_theta=cfg.rope_theta, max_position_embeddings=cfg.max_seq_len,
                         tie_word_embeddings=cfg.tie_embeddings, attn_implementation="sdpa")
    return LlamaForCausalLM(hf_cfg).float()


def jax_step(cfg: ModelConfig):
    model = create_model(cfg.replace(dtype="float32"))
    graphdef, state = nnx.split(model)

    def loss_fn(state, tokens):
        logits = nnx.merge(graphdef, state)(tokens[:, :-1])
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, tokens[:, 1:, None], -1))

    grad_fn = jax.jit(jax.value_and_grad(loss_fn))
    return lambda tokens: jax.block_until_ready(grad_fn(state, tokens))


def torch_step(cfg: ModelConfig):
    model = hf_model(cfg)

    def step(tokens):
        model.zero_grad(set_to_none=True)
        out = model(input_ids=tokens[:, :-1], labels=tokens[:, :-1].clone())
        out.loss.backward()
        return out.loss.item()

    return step


def timed(fn, arg, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        fn(arg)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="tiny,100m")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    results = {}
    for name in args.configs.split(","):
        cfg, B, L = CONFIGS[name]
        tokens = np.random.default_rng(0).integers(0, cfg.vocab_size, (B, L + 1))
        ours, theirs = jax_step(cfg), torch_step(cfg)
        jt, tt = jnp.asarray(tokens, jnp.int32), torch.from_numpy(tokens)
        ours(jt), theirs(tt)  # compile / warm up
        t_ours, t_theirs = [], []
        for _ in range(args.rounds):  # alternate so machine noise hits both
            t_ours.append(timed(ours, jt, args.steps))
            t_theirs.append(timed(theirs, tt, args.steps))
        tok = B * L * args.steps
        ours_tps, theirs_tps = tok / min(t_ours), tok / min(t_theirs)
        results[name] = {"params": cfg.num_params(), "batch": [B, L], "ours_tokens_per_s": round(ours_tps),
                         "transformers_tokens_per_s": round(theirs_tps), "ratio": round(ours_tps / theirs_tps, 2)}
        print(f"{name:5s} params={cfg.num_params():,} B={B} L={L}: ours {ours_tps:,.0f} tok/s, "
              f"transformers {theirs_tps:,.0f} tok/s -> {ours_tps / theirs_tps:.2f}x", flush=True)
    print(json.dumps({"machine": f"{platform.machine()} {os.cpu_count()} cores", "jax": jax.__version__,
                      "torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
