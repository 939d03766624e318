"""Train-step throughput: our jitted JAX step vs a PyTorch `transformers` LlamaForCausalLM step.

CPU (default), side by side in one run, for the tiny preset and a ~100M config: the same
architecture (Llama: RMSNorm, RoPE, GQA, SwiGLU, untied head), batch, sequence length,
AdamW (b1 0.9, b2 0.95, eps 1e-8, weight decay 0.1) and global-norm clipping 1.0, fp32
everywhere (bf16 matmuls on CPU are slower in both frameworks). One step = forward +
backward + clip + AdamW update on B x L tokens. Figures are tokens/s = B*L / median step time
over `--steps` timed steps after `--warmup` untimed ones (JAX's first step compiles). Rows
alternate JAX, torch, JAX, torch... so both see the same machine load.

    .venv/bin/python benchmarks/train_step.py [--steps 5] [--warmup 2] [--configs tiny,100m]
        [--append-results]

GPU (`--gpu`): MFU of the 1.5B config on one device over remat policies x micro-batch sizes
(MaxText FLOPs with the causal attention term / the device's peak from
opencoder_jax.train.metrics.PEAK_FLOPS), and the 8B step with FSDP over all local devices when
memory allows. Prints one JSON line per row.

    .venv/bin/python benchmarks/train_step.py --gpu [--seq 4096] [--rows 4,8,16] \
        [--remat save_dots_no_batch,save_qkv_attn_out,full] [--attention pallas_gpu]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIGS = {
    # name: (ModelConfig overrides, batch rows, sequence length)
    "tiny": (dict(), 8, 128),  # gin_configs/model/tiny.gin, the tiny stage's 8 x 128 batch
    "100m": (dict(vocab_size=16384, embed_dim=768, num_layers=12, num_heads=12, num_kv_heads=4, head_dim=64,
                  mlp_dim=2048, max_seq_len=2048), 2, 256),
}
LR, B1, B2, EPS, WD, CLIP = 1e-4, 0.9, 0.95, 1e-8, 0.1, 1.0


def model_config(name, **extra):
    from opencoder_jax.model.config import preset

    overrides, _, _ = CONFIGS[name]
    return preset("tiny", **{**overrides, "dtype": "float32", "param_dtype": "float32", **extra})


# ------------------------------------------------------------------ JAX (our trainer's step)
class JaxStep:
    def __init__(self, config, rows, seq, num_microbatches=1, mesh=None):
        import jax
        import jax.numpy as jnp
        from flax import nnx

        from opencoder_jax.model import sharding, transformer
        from opencoder_jax.train import optimizer, step as step_lib

        self.jax = jax
        self.mesh = mesh or sharding.make_mesh((1, 1, 1), jax.devices()[:1])
        tx = optimizer.make_optimizer(optimizer.OptimizerConfig(b1=B1, b2=B2, eps=EPS, weight_decay=WD, clip_norm=CLIP),
                                      lambda step: LR)
        graphdef, abstract, _ = nnx.split(transformer.abstract_model(config), nnx.Param, ...)
        param_sh = step_lib.to_pure(sharding.param_shardings(abstract, self.mesh))
        abs_params = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), abstract.to_pure_dict())
        with jax.set_mesh(self.mesh):
            state_sh, opt_init = step_lib.state_shardings_for(tx, abs_params, param_sh, self.mesh)

            def init():
                with nnx.use_eager_sharding(False):
                    return nnx.state(transformer.Transformer(config, rngs=nnx.Rngs(0)), nnx.Param).to_pure_dict()

            params = jax.jit(init, out_shardings=param_sh)()
            self.state = {"step": jax.device_put(jnp.int32(0), state_sh["step"]), "params": params,
                          "opt_state": opt_init(params)}
            fns = step_lib.jit_step_fns(graphdef, tx, lambda s: LR, mesh=self.mesh, param_shardings=param_sh,
                                        state_shardings=state_sh, num_microbatches=num_microbatches)
            t0 = time.perf_counter()
            self.step_fn = fns.train_step.lower(step_lib.abstract_state(self.state),
                                                step_lib.abstract_batch(rows, seq, fns.batch_shardings)).compile()
            self.compile_s = time.perf_counter() - t0
            self.memory = step_lib.memory_report(self.step_fn)
            rng = np.random.default_rng(0)
            toks = rng.integers(0, config.vocab_size, (rows, seq + 1)).astype(np.int32)
            batch = {"inputs": toks[:, :-1], "targets": toks[:, 1:], "segment_ids": np.ones((rows, seq), np.int32),
                     "positions": np.tile(np.arange(seq, dtype=np.int32), (rows, 1)),
                     "loss_weights": np.ones((rows, seq), np.float32)}
            self.batch = {k: jax.device_put(v, fns.batch_shardings[k]) for k, v in batch.items()}

    def __call__(self) -> float:
        with self.jax.set_mesh(self.mesh):
            self.state, m = self.step_fn(self.state, self.batch)
            return float(m["loss"])  # blocks until the step is done


# ------------------------------------------------------------------ PyTorch transformers
class TorchStep:
    def __init__(self, config, rows, seq):
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        torch.manual_seed(0)
        torch.set_num_threads(os.cpu_count() or 1)
        hf = LlamaConfig(vocab_size=config.vocab_size, hidden_size=config.embed_dim,
                         intermediate_size=config.mlp_dim, num_hidden_layers=config.num_layers,
                         num_attention_heads=config.num_heads, num_key_value_heads=config.num_kv_heads,
                         head_dim=config.head_dim, max_position_embeddings=max(config.max_seq_len, seq),
                         rms_norm_eps=config.norm_eps, rope_theta=config.rope_theta, tie_word_embeddings=False,
                         attention_bias=False, mlp_bias=False)
        hf._attn_implementation = "sdpa"
        self.torch = torch
        self.model = LlamaForCausalLM(hf).train()
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=LR, betas=(B1, B2), eps=EPS, weight_decay=WD)
        rng = np.random.default_rng(0)
        self.ids = torch.from_numpy(rng.integers(0, config.vocab_size, (rows, seq)).astype(np.int64))

    def __call__(self) -> float:
        torch = self.torch
        self.opt.zero_grad(set_to_none=True)
        loss = self.model(input_ids=self.ids, labels=self.ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.opt.step()
        return float(loss.detach())


def time_steps(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def cpu_benchmark(args) -> dict:
    import jax
    import torch
    import transformers

    results = {}
    for name in args.configs.split(","):
        config = model_config(name)
        _, rows, seq = CONFIGS[name]
        jax_step, torch_step = JaxStep(config, rows, seq), TorchStep(config, rows, seq)
        for _ in range(args.warmup):
            jax_step()
            torch_step()
        # torch at 1 thread and at every core: with other jobs on the cores, OpenMP's busy-waiting
        # can make the multi-threaded run far slower, so torch is credited with its better count.
        thread_counts = sorted({1, os.cpu_count() or 1})
        jt, tt = [], {n: [] for n in thread_counts}
        for _ in range(args.steps):  # interleaved: JAX, torch x threads, JAX, ...
            jt += time_steps(jax_step, 1)
            for n in thread_counts:
                torch.set_num_threads(n)
                tt[n] += time_steps(torch_step, 1)
        tokens = rows * seq
        j = tokens / statistics.median(jt)
        per_threads = {n: tokens / statistics.median(v) for n, v in tt.items()}
        best_threads = max(per_threads, key=per_threads.get)
        t = per_threads[best_threads]
        results[name] = {"params": config.num_params(), "batch": f"{rows} x {seq}", "jax_tokens_per_s": round(j, 1),
                         "torch_tokens_per_s": round(t, 1), "torch_threads": best_threads,
                         "torch_tokens_per_s_by_threads": {n: round(v, 1) for n, v in per_threads.items()},
                         "ratio": round(j / t, 2), "jax_compile_s": round(jax_step.compile_s, 1)}
        print(json.dumps({name: results[name]}), flush=True)
        del jax_step, torch_step
    machine = (f"{platform.machine()} {os.cpu_count()}-core CPU, {platform.python_version()}, jax {jax.__version__}, "
               f"torch {torch.__version__}, transformers {transformers.__version__}; load average after the run "
               f"{load_average()}")
    return {"machine": machine, "results": results}


def append_results(report: dict, command: str, path: str) -> None:
    lines = ["", f"### train step, {time.strftime('%Y-%m-%d %H:%M')}, {report['machine']}", "",
             f"Command: `{command}`", "",
             "| config | params | batch (rows x length) | ours, JAX (tokens/s) | transformers Llama, PyTorch (tokens/s; "
             "its better thread count) | ratio |",
             "| --- | ---: | --- | ---: | ---: | ---: |"]
    for name, r in report["results"].items():
        by = ", ".join(f"{n} thr {v:,.0f}" for n, v in r["torch_tokens_per_s_by_threads"].items())
        lines.append(f"| {name} | {r['params'] / 1e6:.1f}M | {r['batch']} | {r['jax_tokens_per_s']:,.0f} | "
                     f"{r['torch_tokens_per_s']:,.0f} ({by}) | **{r['ratio']:.2f}x** |")
    heading = "## Train step (issue 20)"
    if heading not in open(path, encoding="utf-8").read():
        lines = ["", heading] + lines
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------ GPU: MFU of 1.5B / 8B
def gpu_benchmark(args) -> None:
    import jax

    from opencoder_jax.model import sharding
    from opencoder_jax.model.config import preset
    from opencoder_jax.train import metrics

    kind = jax.devices()[0].device_kind
    peak = metrics.peak_flops_per_device(kind)
    print(json.dumps({"device": kind, "devices": jax.device_count(), "peak_flops": peak}), flush=True)
    one = sharding.make_mesh((1, 1, 1), jax.devices()[:1])
    best = None
    for remat in args.remat.split(","):
        for rows in (int(r) for r in args.rows.split(",")):
            config = preset("1_5b", dtype="bfloat16", param_dtype="float32", remat_policy=remat,
                            attention_impl=args.attention)
            row = {"config": "1_5b", "remat": remat, "rows": rows, "seq": args.seq, "attention": args.attention}
            try:
                step = JaxStep(config, rows, args.seq, mesh=one)
                for _ in range(args.warmup):
                    step()
                dt = statistics.median(time_steps(step, args.steps))
            except Exception as e:  # out of memory or an unsupported kernel: report and go on
                row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                print(json.dumps(row), flush=True)
                continue
            tps = rows * args.seq / dt
            fpt = metrics.flops_per_token(config, args.seq)["total"]
            row.update(step_s=round(dt, 4), tokens_per_s=round(tps), mfu=round(metrics.mfu(tps, fpt, peak), 4),
                       compile_s=round(step.compile_s, 1), memory=step.memory)
            print(json.dumps(row), flush=True)
            if best is None or row["mfu"] > best["mfu"]:
                best = row
            del step
    print(json.dumps({"best_1_5b": best}), flush=True)
    if not args.skip_8b:
        n = jax.device_count()
        config = preset("8b", dtype="bfloat16", param_dtype="float32", remat_policy="full",
                        attention_impl=args.attention)
        mesh = sharding.make_mesh((1, n, 1))
        row = {"config": "8b", "mesh": dict(mesh.shape), "rows": n, "seq": args.seq}
        try:
            step = JaxStep(config, n, args.seq, mesh=mesh)
            step()
            dt = statistics.median(time_steps(step, args.steps))
            tps = n * args.seq / dt
            fpt = metrics.flops_per_token(config, args.seq)["total"]
            row.update(step_s=round(dt, 4), tokens_per_s=round(tps), mfu=round(metrics.mfu(tps / n, fpt, peak), 4),
                       memory=step.memory)
        except Exception as e:
            row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        print(json.dumps(row), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default="tiny,100m")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--append-results", action="store_true", help="append a section to benchmarks/RESULTS.md")
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--seq", type=int, default=4096)
    p.add_argument("--rows", default="4,8,16")
    p.add_argument("--remat", default="save_dots_no_batch,save_qkv_attn_out,full")
    p.add_argument("--attention", default="xla")
    p.add_argument("--skip-8b", action="store_true")
    args = p.parse_args()
    if args.gpu:
        gpu_benchmark(args)
        return
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    report = cpu_benchmark(args)
    print(json.dumps(report, indent=2))
    if args.append_results:
        command = ".venv/bin/python benchmarks/train_step.py " + " ".join(a for a in sys.argv[1:])
        append_results(report, command, os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))


if __name__ == "__main__":
    main()
