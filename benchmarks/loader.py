"""Input pipeline throughput vs what the tiny training config consumes (issue 5).

Side by side, in one run, on this machine:
  A. our loader (token shards -> shuffle -> decode -> pack + batch), 2 prefetch worker processes;
  B. the same loader in-process (worker_count 0), packer alone;
  C. Grain's own FirstFitPackIterDataset + batch in place of our packer (what a user would pick
     instead), in-process, same source, map and shapes;
  D. consumption: a tiny decoder (pure JAX, segment-masked causal attention) forward + backward +
     SGD step on this CPU at the tiny loader's shape (B=8, L=512). There is no trainer yet,
     so D stands in for the tiny training config; its size is stated in the output.
Reports tokens/s (non-padding tokens delivered; D counts B*L per step) and the ratio A / D.

    .venv/bin/python benchmarks/loader.py [--seconds 6] [--docs 20000]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grain  # noqa: E402

from opencoder_jax.data import loader, token_shards  # noqa: E402

B, L = 8, 512  # gin_configs/data/loader_tiny.gin
TINY = dict(vocab=4096, layers=2, embed=128, heads=4, ffn=512)


def write_corpus(directory: str, num_docs: int, seed: int = 0) -> int:
    from array_record.python.array_record_module import ArrayRecordWriter

    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(mean=5.5, sigma=1.0, size=num_docs), 1, 20_000).astype(np.int64)
    per_shard = (num_docs + 7) // 8
    for s in range(8):
        w = ArrayRecordWriter(os.path.join(directory, f"tokens-{s:05d}-of-00008.array_record"), "group_size:1")
        for n in lengths[s * per_shard:(s + 1) * per_shard]:
            w.write(rng.integers(0, 96_640, size=n, dtype=np.uint32).astype("<u4").tobytes())
        w.close()
    return int(lengths.sum())


def measure(batches, seconds: float, warmup: int = 3) -> tuple[float, int]:
    it = iter(batches)
    for _ in range(warmup):
        next(it)
    tokens, n, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        b = next(it)
        tokens += int((b["segment_ids"] > 0).sum())
        n += 1
    dt = time.perf_counter() - t0
    if hasattr(it, "close"):
        it.close()
    return tokens / dt, n


def grain_firstfit(spec: str, seed: int) -> grain.IterDataset:
    src = token_shards.open_token_shards(spec)
    ds = grain.MapDataset.source(src).shuffle(seed=seed).repeat(None)
    ds = ds.map(lambda r: {k: v for k, v in token_shards.decode_lm_example(r).items() if k != "corrupt"})
    ds = ds.map(lambda e: {k: v[:L] for k, v in e.items()})  # FirstFit truncates; keep shapes equal
    ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=4, prefetch_buffer_size=256))
    ds = grain.experimental.FirstFitPackIterDataset(ds, length_struct={"inputs": L, "targets": L, "loss_weights": L},
                                                    num_packing_bins=B, shuffle_bins=False)
    ds = ds.batch(B, drop_remainder=True)
    return ds.map(lambda b: {**b, "segment_ids": b["inputs_segment_ids"]})


def tiny_train_tokens_per_s(seconds: float) -> float:
    import jax
    import jax.numpy as jnp

    V, NL, E, H, F = (TINY[k] for k in ("vocab", "layers", "embed", "heads", "ffn"))
    D = E // H
    k = iter(jax.random.split(jax.random.PRNGKey(0), 4 + 6 * NL))
    init = lambda shape: jax.random.normal(next(k), shape, jnp.float32) * 0.02  # noqa: E731
    params = {"embed": init((V, E)), "out": init((E, V)),
              "layers": [{"qkv": init((E, 3 * E)), "o": init((E, E)), "up": init((E, F)), "down": init((F, E)),
                          "n1": jnp.ones((E,)), "n2": jnp.ones((E,))} for _ in range(NL)]}

    def rms(x, g):
        return x * jax.lax.rsqrt((x * x).mean(-1, keepdims=True) + 1e-6) * g

    def loss_fn(p, batch):
        x = p["embed"][batch["inputs"]]                                   # [B, L, E]
        seg, pos = batch["segment_ids"], batch["positions"]
        mask = (seg[:, :, None] == seg[:, None, :]) & (pos[:, :, None] >= pos[:, None, :])
        for lp in p["layers"]:
            q, kk, v = jnp.split(rms(x, lp["n1"]) @ lp["qkv"], 3, axis=-1)
            q, kk, v = (t.reshape(B, L, H, D) for t in (q, kk, v))
            att = jnp.einsum("bqhd,bkhd->bhqk", q, kk) / np.sqrt(D)
            att = jnp.where(mask[:, None], att, -1e9)
            x = x + jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(att, -1), v).reshape(B, L, E) @ lp["o"]
            x = x + jax.nn.gelu(rms(x, lp["n2"]) @ lp["up"]) @ lp["down"]
        logits = x @ p["out"]
        ll = jnp.take_along_axis(jax.nn.log_softmax(logits), batch["targets"][..., None], -1)[..., 0]
        w = batch["loss_weights"]
        return -(ll * w).sum() / jnp.maximum(w.sum(), 1)

    @jax.jit
    def step(p, batch):
        loss, g = jax.value_and_grad(loss_fn)(p, batch)
        return jax.tree.map(lambda a, b: a - 1e-3 * b, p, g), loss

    rng = np.random.default_rng(0)
    batch = {"inputs": rng.integers(0, V, (B, L)).astype(np.int32), "targets": rng.integers(0, V, (B, L)).astype(np.int32),
             "segment_ids": np.ones((B, L), np.int32), "positions": np.tile(np.arange(L, dtype=np.int32), (B, 1)),
             "loss_weights": np.ones((B, L), np.float32)}
    for _ in range(2):
        params, loss = step(params, batch)
    loss.block_until_ready()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        params, loss = step(params, batch)
        loss.block_until_ready()
        n += 1
    return n * B * L / (time.perf_counter() - t0)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as d:
        total = write_corpus(d, args.docs)
        base = dict(global_batch_size=B, seq_len=L, seed=0, num_epochs=None, shard_by_process=False)
        results = {"corpus_tokens": total, "docs": args.docs, "batch": B, "seq_len": L}
        results["loader_2_workers"], _ = measure(
            loader.token_shard_dataset(loader.LoaderConfig(worker_count=2, **base), d), args.seconds)
        results["loader_in_process"], _ = measure(
            loader.token_shard_dataset(loader.LoaderConfig(worker_count=0, **base), d), args.seconds)
        results["grain_firstfit_in_process"], _ = measure(grain_firstfit(d, 0), args.seconds)
    results["tiny_train_step"] = tiny_train_tokens_per_s(args.seconds)
    results["tiny_model"] = TINY
    results["ratio_loader_2w_over_train"] = results["loader_2_workers"] / results["tiny_train_step"]
    results["ratio_ours_over_grain_firstfit_in_process"] = results["loader_in_process"] / results["grain_firstfit_in_process"]
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPU cores (shared)"
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
