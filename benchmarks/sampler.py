"""Generation throughput: our Sampler vs transformers `generate`, same weights, same batch.

CPU (default, the issue's target): the tiny preset (gin_configs/model/tiny.gin, fp32) with
random weights, exported with hf_io.save_hf_checkpoint and loaded by transformers'
LlamaForCausalLM (fp32, torch on CPU). Both decode greedily, the same B prompts of the same
length, exactly N new tokens (no early stop: stop ids empty / min_new_tokens=N); rows are
timed alternately, best of --repeats after one warm-up each (compiles excluded). Reports
generated tokens/s (B*N / seconds, prefill included) and checks the two produce identical
tokens.

GPU (when one is lent): `--preset 1_5b --batch 1 32 --no-reference` measures our decode
tokens/s for the 1.5B shape with random bf16 weights: total time for N tokens minus the
prefill-only time (N=1), so decode tokens/s = B*(N-1) / (t_N - t_1).

  .venv/bin/python benchmarks/sampler.py [--batch 8] [--prompt-len 64] [--new-tokens 128] [--append-results]
  .venv/bin/python benchmarks/sampler.py --preset 1_5b --batch 1 32 --prompt-len 512 --new-tokens 256 \\
      --no-reference --param-dtype bfloat16
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_ours(preset: str, param_dtype: str | None, seed: int = 0):
    from opencoder_jax.model.config import preset as get_preset
    from opencoder_jax.model.transformer import create_model

    cfg = get_preset(preset)
    if param_dtype:
        cfg = cfg.replace(param_dtype=param_dtype)
    return cfg, create_model(cfg, seed=seed)


def time_ours(sampler, prompts, new_tokens: int) -> tuple[float, list[list[int]]]:
    from opencoder_jax.infer.sampler import SamplingParams

    params = SamplingParams(max_new_tokens=new_tokens)
    t, c = time.perf_counter(), time.process_time()
    res = sampler.generate(prompts, params)
    return (time.perf_counter() - t, time.process_time() - c), [r.token_ids for r in res]


def time_hf(model, prompts, new_tokens: int) -> tuple[float, list[list[int]]]:
    import torch

    ids = torch.tensor(prompts)
    with torch.no_grad():
        t, c = time.perf_counter(), time.process_time()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, pad_token_id=0, eos_token_id=None)
        dt = (time.perf_counter() - t, time.process_time() - c)
    return dt, out[:, ids.shape[1]:].tolist()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--param-dtype", dest="param_dtype", default=None, help="override the preset's param dtype")
    ap.add_argument("--batch", type=int, nargs="+", default=[8])
    ap.add_argument("--prompt-len", dest="prompt_len", type=int, default=64)
    ap.add_argument("--new-tokens", dest="new_tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-reference", dest="reference", action="store_false", help="skip transformers")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads for both sides (XLA's intra-op pool and torch); default: their own defaults")
    ap.add_argument("--append-results", dest="append_results", action="store_true",
                    help="append a section to benchmarks/RESULTS.md")
    ap.add_argument("--json", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    if args.threads:  # before jax initializes its CPU client
        flags = "--xla_cpu_multi_thread_eigen=" + ("false" if args.threads == 1 else "true")
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" {flags} "
                                   f"intra_op_parallelism_threads={args.threads}").strip()

    import jax
    import numpy as np

    from opencoder_jax.infer.sampler import Sampler

    cfg, model = build_ours(args.preset, args.param_dtype)
    device = jax.devices()[0]
    print(f"model {args.preset}: {cfg.num_params():,} params, compute {cfg.dtype}, params {cfg.param_dtype}; "
          f"device {device.platform} ({device.device_kind})", flush=True)
    hf = None
    if args.reference:
        import torch
        import transformers

        from opencoder_jax.model.hf_io import save_hf_checkpoint

        if args.threads:
            torch.set_num_threads(args.threads)
        tmp = tempfile.mkdtemp(prefix="bench_sampler_")
        save_hf_checkpoint(model, cfg, tmp, dtype="float32")
        hf = transformers.LlamaForCausalLM.from_pretrained(tmp, dtype=torch.float32).eval()

    rng = np.random.default_rng(0)
    rows = []
    for B in args.batch:
        prompts = rng.integers(2, cfg.vocab_size - 200, size=(B, args.prompt_len)).tolist()
        sampler = Sampler(model, cfg, max_batch=max(B, 1), min_gen_bucket=16)
        time_ours(sampler, prompts, args.new_tokens)  # compile
        time_ours(sampler, prompts, 1)
        if hf is not None:
            time_hf(hf, prompts, 4)  # warm-up
        ours_t, hf_t, ours_prefill = [], [], []
        same = None
        for _ in range(args.repeats):
            t, ours_ids = time_ours(sampler, prompts, args.new_tokens)
            ours_t.append(t)
            ours_prefill.append(time_ours(sampler, prompts, 1)[0])
            if hf is not None:
                t, hf_ids = time_hf(hf, prompts, args.new_tokens)
                hf_t.append(t)
                same = ours_ids == hf_ids
        n_tok = B * args.new_tokens
        wall = lambda ts: min(t[0] for t in ts)  # noqa: E731
        cpu = lambda ts: min(t[1] for t in ts)  # noqa: E731
        row = {"batch": B, "prompt_len": args.prompt_len, "new_tokens": args.new_tokens,
               "ours_s": wall(ours_t), "ours_tok_s": n_tok / wall(ours_t), "ours_cpu_s": cpu(ours_t),
               "ours_prefill_s": wall(ours_prefill),
               "ours_decode_tok_s": B * (args.new_tokens - 1) / max(wall(ours_t) - wall(ours_prefill), 1e-9)}
        if hf_t:
            row.update({"hf_s": wall(hf_t), "hf_tok_s": n_tok / wall(hf_t), "hf_cpu_s": cpu(hf_t),
                        "ratio": wall(hf_t) / wall(ours_t), "cpu_ratio": cpu(hf_t) / cpu(ours_t),
                        "identical_tokens": same})
        rows.append(row)
        print(json.dumps(row), flush=True)

    header = ("| batch | prompt | new | ours tok/s | ours decode tok/s | transformers tok/s | ratio (wall) | "
              "ratio (CPU s) | same tokens |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    lines = [header]
    for r in rows:
        lines.append(f"| {r['batch']} | {r['prompt_len']} | {r['new_tokens']} | {r['ours_tok_s']:,.0f} | "
                     f"{r['ours_decode_tok_s']:,.0f} | "
                     + (f"{r['hf_tok_s']:,.0f} | {r['ratio']:.2f}x | {r['cpu_ratio']:.2f}x | {r['identical_tokens']} |"
                        if "hf_s" in r else "- | - | - | - |"))
    table = "\n".join(lines)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"preset": args.preset, "device": str(device), "rows": rows}, f, indent=2)
    if args.append_results:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = float("nan")
        cmd = "python benchmarks/sampler.py " + " ".join(argv if argv is not None else sys.argv[1:])
        when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        text = (f"\n### sampler, {when}, {platform.machine()} {os.cpu_count()}-core, {device.platform}, "
                f"load average {load:.1f}\n\n`{cmd}`\n\n{args.preset} preset ({cfg.num_params():,} params, "
                f"{cfg.dtype}), greedy, best of {args.repeats} after warm-up, tokens/s = batch x new tokens / "
                f"seconds (prefill included); decode tok/s excludes our prefill.\n\n{table}\n")
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"), "a") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
