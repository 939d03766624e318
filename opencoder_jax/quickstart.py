"""`opencoder quickstart`: the main job on the embedded default corpus.

The data half of the cookbook, end to end, on a laptop:
  1. RefineCode (Beam) over this Python installation's own source files (the standard
     library and a slice of the installed packages: real code in several languages by
     other people)                                   -> OUT/corpus   (+ report.html)
  2. a small byte-fallback BPE tokenizer on that corpus -> OUT/tokenizer
  3. the Beam tokenization job                         -> OUT/tokens
  4. the Grain loader: a few packed batches, checked and timed
Settings: gin_configs/quickstart.gin (any --gin_file/--gin_param on top). Writes
OUT/quickstart.json with every stage's headline numbers.
"""
from __future__ import annotations

import json
import os
import time

from opencoder_jax import config as gin_config

QUICKSTART_GIN = ("quickstart_corpus.gin", "quickstart.gin")
ALL_STEPS = ("refinecode", "tokenizer", "tokenize", "loader")


def add_arguments(parser) -> None:
    parser.add_argument("--output", default="runs/quickstart", help="output directory")
    parser.add_argument("--runner", default="FnApiRunner", help="Beam runner")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="local Beam worker processes for the corpus pipeline (default: all cores)")
    parser.add_argument("--steps", default=",".join(ALL_STEPS),
                        help=f"comma-separated subset of {','.join(ALL_STEPS)}")
    parser.add_argument("--loader_batches", type=int, default=20, help="batches drawn in the loader check")
    gin_config.add_gin_flags(parser)


def _loader_check(tokens_dir: str, num_batches: int) -> dict:
    import numpy as np

    from opencoder_jax.data import loader

    config = loader.LoaderConfig()
    ds = loader.token_shard_dataset(config, tokens_dir.rstrip("/") + "/tokens-*.array_record")
    it = iter(ds)
    start = time.time()
    tokens = real = 0
    for _ in range(num_batches):
        arrays, _counters = loader.split_stats(next(it))
        seg, pos = arrays["segment_ids"], arrays["positions"]
        # Positions restart at 0 wherever a new segment starts: documents never mix.
        starts = np.concatenate([np.ones_like(seg[:, :1], bool), seg[:, 1:] != seg[:, :-1]], axis=1)
        if not np.all(pos[starts & (seg > 0)] == 0):
            raise AssertionError("packing produced a segment whose positions do not start at 0")
        tokens += seg.size
        real += int((seg > 0).sum())
    elapsed = time.time() - start
    return {"batches": num_batches, "batch_shape": list(arrays["inputs"].shape), "tokens": tokens,
            "padding_fraction": round(1 - real / max(tokens, 1), 4),
            "tokens_per_s": round(tokens / max(elapsed, 1e-9))}


def run(args, beam_args: list[str] | None = None) -> int:
    from beam_pipelines.refinecode import import_stage_modules
    from beam_pipelines.refinecode_main import default_gin_files, local_worker_args, run_refinecode

    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(ALL_STEPS))
    if unknown:
        raise ValueError(f"unknown quickstart steps {unknown}; steps are {','.join(ALL_STEPS)}")
    import_stage_modules()
    import beam_pipelines.tokenize  # noqa: F401 - registers TokenizeConfig with gin
    import opencoder_jax.data.loader  # noqa: F401
    import opencoder_jax.tokenizer.train  # noqa: F401

    defaults = [*default_gin_files(), "tokenizer/opencoder.gin", "tokenizer/tokenize.gin", *QUICKSTART_GIN]
    gin_config.parse_gin(args.gin_file, args.gin_param, defaults=defaults)
    out = args.output.rstrip("/")
    corpus, tok_dir, tokens = f"{out}/corpus", f"{out}/tokenizer", f"{out}/tokens"
    summary: dict = {"output": out, "steps": steps}
    start = time.time()
    if "refinecode" in steps:
        print(f"[quickstart 1/4] RefineCode on the embedded corpus -> {corpus}")
        stats = run_refinecode(None, corpus, args.runner, local_worker_args(args.runner, args.workers, beam_args),
                               overwrite=True)
        summary["refinecode"] = {k: stats[k] for k in ("input", "kept", "dropped_total", "conservation_ok")}
        summary["refinecode"]["report"] = stats.get("report")
    if "tokenizer" in steps:
        from opencoder_jax.tokenizer.train import TokenizerTrainConfig, train_tokenizer

        print(f"\n[quickstart 2/4] tokenizer on {corpus} -> {tok_dir}")
        result = train_tokenizer([corpus], tok_dir, TokenizerTrainConfig())
        summary["tokenizer"] = {k: result[k] for k in ("vocab_size", "sampled", "train_seconds")}
    if "tokenize" in steps:
        from beam_pipelines.tokenize import run_tokenize

        print(f"\n[quickstart 3/4] token shards -> {tokens}")
        result = run_tokenize([corpus], tok_dir, tokens, args.runner, beam_args, overwrite=True)
        summary["tokenize"] = {k: result[k] for k in ("documents", "kept", "tokens")}
    if "loader" in steps:
        print(f"\n[quickstart 4/4] Grain loader over {tokens}")
        summary["loader"] = _loader_check(tokens, args.loader_batches)
        print(f"  {summary['loader']}")
    summary["elapsed_s"] = round(time.time() - start, 1)
    gin_config.write_operative_config(out, "config.gin") if os.path.isdir(out) else None
    with open(f"{out}/quickstart.json", "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\n[quickstart] done in {summary['elapsed_s']}s; summary: {out}/quickstart.json")
    return 0
