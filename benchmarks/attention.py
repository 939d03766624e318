"""Attention kernels: correctness everywhere, forward+backward time on a GPU (issue 14).

On CPU (no accelerator): correctness only. Our Pallas flash kernel runs in interpret
mode against the `xla` reference (values and dq/dk/dv) for packed, GQA inputs with
the 1.5B (D=160) and 8B (D=128) head dims at small lengths; max errors are printed.
Timing interpret mode would be meaningless.

On a GPU: the same correctness check with the compiled Triton kernel, then
forward+backward time (jit of the vjp w.r.t. q, k, v; bf16; median of --iters runs)
at L = 1k/2k/4k/8k for `xla`, `pallas_gpu` and `cudnn`, for
  1.5B: H=14, K=14, D=160        8B: H=32, K=8, D=128
with B = --tokens // L rows of unpacked causal attention (cudnn has no segment ids,
so the headline comparison is unpacked), plus `pallas_gpu` and `xla` on packed rows
(several documents per row, segment ids) as extra columns. Prints a markdown table
with ms, effective TFLOP/s of pallas_gpu (causal flops, see `flops`), the ratios
xla/pallas and pallas/cudnn, and the device kind.

    .venv/bin/python benchmarks/attention.py                      # CPU: correctness
    JAX_PLATFORMS=cuda .venv/bin/python benchmarks/attention.py   # GPU: + timing
    ... --lengths 1024,4096 --shapes 8b --iters 5 --pallas-blocks 128,64,64,64,64,64
    ... --sweep      # also try a few pallas block configurations, report the best
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from opencoder_jax.model.attention import attention  # noqa: E402

SHAPES = {"1_5b": dict(H=14, K=14, D=160), "8b": dict(H=32, K=8, D=128)}
# (block_q, block_k, block_q_dq, block_k_dq, block_q_dkv, block_k_dkv)
DEFAULT_BLOCKS = {128: (128, 64, 64, 64, 64, 64), 256: (64, 64, 32, 32, 32, 32)}
SWEEP = [
    (64, 64, 64, 64, 64, 64),
    (128, 64, 64, 64, 64, 64),
    (128, 128, 64, 64, 64, 64),
    (64, 32, 32, 32, 32, 32),
    (64, 64, 32, 32, 32, 32),
    (128, 64, 32, 64, 64, 32),
]


def blocks_kwargs(blocks) -> dict:
    names = ("block_q", "block_k", "block_q_dq", "block_k_dq", "block_q_dkv", "block_k_dkv")
    return dict(zip(names, blocks))


def make_inputs(b, length, h, kh, d, dtype, seed=0):
    ks = jax.random.split(jax.random.PRNGKey(seed), 4)
    q = jax.random.normal(ks[0], (b, length, h, d), jnp.float32).astype(dtype)
    k = jax.random.normal(ks[1], (b, length, kh, d), jnp.float32).astype(dtype)
    v = jax.random.normal(ks[2], (b, length, kh, d), jnp.float32).astype(dtype)
    ct = jax.random.normal(ks[3], (b, length, h, d), jnp.float32).astype(dtype)
    return q, k, v, ct


def packed_segments(b, length, seed=0, mean_doc=None):
    """Rows of several documents (lognormal lengths) and a little trailing padding."""
    rng = np.random.default_rng(seed)
    mean_doc = mean_doc or max(8, length // 4)
    seg = np.zeros((b, length), np.int32)
    for r in range(b):
        pos, sid = 0, 1
        end = length - int(rng.integers(0, max(1, length // 16)))
        while pos < end:
            n = max(1, int(rng.lognormal(np.log(mean_doc), 0.7)))
            seg[r, pos:min(end, pos + n)] = sid
            pos, sid = pos + n, sid + 1
    return jnp.asarray(seg)


def fwd_bwd_fn(impl, seg, **kw):
    def f(q, k, v, ct):
        out, vjp = jax.vjp(lambda q, k, v: attention(q, k, v, seg, impl=impl, **kw), q, k, v)
        return (out, *vjp(ct))
    return jax.jit(f)


def max_errors(a, b):
    return [float(jnp.max(jnp.abs(x.astype(jnp.float32) - y.astype(jnp.float32)))) for x, y in zip(a, b)]


def correctness(on_gpu: bool) -> list[dict]:
    """pallas_gpu (compiled on GPU, interpret on CPU) vs xla, fp32, packed + GQA."""
    rows = []
    interpret = not on_gpu
    cases = [("1_5b-like", 2, 300 if on_gpu else 130, 14, 14, 160),
             ("8b-like", 2, 300 if on_gpu else 130, 8, 2, 128),
             ("gqa7", 1, 200 if on_gpu else 100, 7, 1, 64)]
    if not on_gpu:  # keep the CPU run short: fewer heads
        cases = [(n, b, l, min(h, 4 if k == h else 2 * k), min(k, 4), d)
                 for n, b, l, h, k, d in cases]
        cases[-1] = ("gqa7", 1, 100, 7, 1, 64)
    for name, b, length, h, kh, d in cases:
        q, k, v, ct = make_inputs(b, length, h, kh, d, jnp.float32, seed=1)
        seg = packed_segments(b, length, seed=1)
        real = (seg != 0)[:, :, None, None]
        # xla's padding rows (segment 0) hold arbitrary finite values that nothing should
        # read, ours are 0: compare real rows only, and give padding rows no cotangent.
        ct = jnp.where(real, ct, 0)
        ours = fwd_bwd_fn("pallas_gpu", seg, interpret=interpret)(q, k, v, ct)
        ref = fwd_bwd_fn("xla", seg)(q, k, v, ct)
        ours = (jnp.where(real, ours[0], 0), *ours[1:])
        ref = (jnp.where(real, ref[0], 0), *ref[1:])
        errs = max_errors(ours, ref)
        rows.append(dict(case=name, B=b, L=length, H=h, K=kh, D=d, err_out=errs[0],
                         err_dq=errs[1], err_dk=errs[2], err_dv=errs[3]))
        print(f"  {name:10s} B={b} L={length} H={h} K={kh} D={d}: max|err| out {errs[0]:.2e} "
              f"dq {errs[1]:.2e} dk {errs[2]:.2e} dv {errs[3]:.2e}", flush=True)
    return rows


def time_fn(fn, args, iters: int) -> float:
    out = fn(*args)
    jax.block_until_ready(out)  # compile + warm up
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def flops(b, length, h, d) -> float:
    """Causal attention flops, fwd + bwd: fwd = 2 matmuls of 2*L*L*D*H*B, halved by the
    causal mask; bwd = 2.5x fwd (5 matmuls instead of 2)."""
    fwd = 4 * b * h * length * length * d / 2
    return 3.5 * fwd


def try_time(label, fn, args, iters):
    try:
        return time_fn(fn, args, iters)
    except Exception as e:  # OOM, unsupported config: report and go on
        msg = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        print(f"    {label}: failed: {type(e).__name__}: {msg}", flush=True)
        return float("nan")


def timing(shapes, lengths, tokens, iters, sweep, pallas_blocks) -> list[dict]:
    rows = []
    dtype = jnp.bfloat16
    for shape_name in shapes:
        s = SHAPES[shape_name]
        h, kh, d = s["H"], s["K"], s["D"]
        dp = 1 << (d - 1).bit_length()
        for length in lengths:
            b = max(1, tokens // length)
            q, k, v, ct = make_inputs(b, length, h, kh, d, dtype)
            seg = packed_segments(b, length, mean_doc=length // 4)
            args = (q, k, v, ct)
            print(f"  {shape_name} L={length} B={b}:", flush=True)
            configs = SWEEP if sweep else [pallas_blocks or DEFAULT_BLOCKS.get(dp, DEFAULT_BLOCKS[128])]
            best, best_cfg = float("nan"), None
            for cfg in configs:
                t = try_time(f"pallas {cfg}", fwd_bwd_fn("pallas_gpu", None, **blocks_kwargs(cfg)), args, iters)
                if sweep:
                    print(f"    pallas blocks {cfg}: {t * 1e3:.2f} ms", flush=True)
                if not np.isnan(t) and (np.isnan(best) or t < best):
                    best, best_cfg = t, cfg
            row = dict(shape=shape_name, B=b, L=length, H=h, K=kh, D=d,
                       pallas_blocks=best_cfg, pallas_ms=best * 1e3)
            row["xla_ms"] = try_time("xla", fwd_bwd_fn("xla", None), args, iters) * 1e3
            row["cudnn_ms"] = try_time("cudnn", fwd_bwd_fn("cudnn", None), args, iters) * 1e3
            kw = blocks_kwargs(best_cfg) if best_cfg else {}
            row["pallas_packed_ms"] = try_time(
                "pallas packed", fwd_bwd_fn("pallas_gpu", seg, **kw), args, iters) * 1e3
            row["xla_packed_ms"] = try_time("xla packed", fwd_bwd_fn("xla", seg), args, iters) * 1e3
            f = flops(b, length, h, d)
            row["pallas_tflops"] = f / (row["pallas_ms"] * 1e-3) / 1e12
            row["cudnn_tflops"] = f / (row["cudnn_ms"] * 1e-3) / 1e12
            row["xla_over_pallas"] = row["xla_ms"] / row["pallas_ms"]
            row["pallas_over_cudnn"] = row["pallas_ms"] / row["cudnn_ms"]
            print(f"    xla {row['xla_ms']:.2f} ms | pallas {row['pallas_ms']:.2f} ms "
                  f"({row['pallas_tflops']:.0f} TFLOP/s) | cudnn {row['cudnn_ms']:.2f} ms | "
                  f"xla/pallas {row['xla_over_pallas']:.2f}x | pallas/cudnn "
                  f"{row['pallas_over_cudnn']:.2f}x | packed: pallas {row['pallas_packed_ms']:.2f} "
                  f"xla {row['xla_packed_ms']:.2f} ms", flush=True)
            rows.append(row)
    return rows


def markdown(rows) -> str:
    lines = ["| shape | L | B | xla ms | pallas_gpu ms | cudnn ms | xla / pallas | pallas / cudnn "
             "| pallas TFLOP/s | packed: pallas ms | packed: xla ms | pallas blocks |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(
            f"| {r['shape']} (H={r['H']},K={r['K']},D={r['D']}) | {r['L']} | {r['B']} | "
            f"{r['xla_ms']:.2f} | {r['pallas_ms']:.2f} | {r['cudnn_ms']:.2f} | "
            f"{r['xla_over_pallas']:.2f}x | {r['pallas_over_cudnn']:.2f}x | {r['pallas_tflops']:.0f} | "
            f"{r['pallas_packed_ms']:.2f} | {r['xla_packed_ms']:.2f} | {r['pallas_blocks']} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", default="1024,2048,4096,8192")
    p.add_argument("--shapes", default="1_5b,8b")
    p.add_argument("--tokens", type=int, default=16384, help="B = tokens // L")
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--sweep", action="store_true", help="try several pallas block configs")
    p.add_argument("--pallas-blocks", default=None,
                   help="bq,bk,bq_dq,bk_dq,bq_dkv,bk_dkv for pallas_gpu (default per head dim)")
    p.add_argument("--skip-correctness", action="store_true")
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)

    dev = jax.devices()[0]
    on_gpu = dev.platform == "gpu"
    print(f"device: {dev.device_kind} ({dev.platform}, {jax.device_count()} device(s)); "
          f"jax {jax.__version__}", flush=True)
    result = dict(device=dev.device_kind, platform=dev.platform, jax=jax.__version__)
    if not args.skip_correctness:
        print("correctness: pallas_gpu" + ("" if on_gpu else " (interpret mode)")
              + " vs xla, fp32, packed segments + GQA (max abs error):", flush=True)
        t0 = time.perf_counter()
        result["correctness"] = correctness(on_gpu)
        print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
    if not on_gpu:
        print("no GPU: timing skipped (interpret-mode timings are meaningless). Run on a GPU "
              "for the fwd+bwd table.")
    else:
        blocks = tuple(int(x) for x in args.pallas_blocks.split(",")) if args.pallas_blocks else None
        print(f"fwd+bwd time, bf16, causal, tokens per batch {args.tokens}, median of {args.iters}:",
              flush=True)
        rows = timing(args.shapes.split(","), [int(x) for x in args.lengths.split(",")],
                      args.tokens, args.iters, args.sweep, blocks)
        result["timing"] = rows
        print()
        print(f"machine: {dev.device_kind}")
        print(markdown(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)


if __name__ == "__main__":
    main()
