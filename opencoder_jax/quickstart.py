"""`opencoder quickstart`: the whole cookbook on the embedded default corpus, raw code to report.

Stages (each writes under OUT, logs to OUT/logs/<stage>.log, and marks itself done in
OUT/stages/<stage>.json with its timing and headline numbers):

  refinecode  RefineCode (Beam) over this Python installation's own sources  -> OUT/corpus
  tokenizer   a small byte-fallback BPE tokenizer on that corpus            -> OUT/tokenizer
  tokenize    the Beam tokenization job                                     -> OUT/tokens
              + the held-out split: OUT/data/train/ and OUT/data/heldout/ (the last shard)
  sft_data    documented Python functions of the corpus -> chats            -> OUT/sft_data
              (+ the same functions as "synthetic code snippets" token shards for annealing)
  pretrain    the tiny model, WSD schedule, on OUT/data/train               -> OUT/pretrain
  anneal      from pretrain, exponential LR decay, corpus + snippets mixture -> OUT/anneal
  sft         from anneal, on the extracted chats (loss on answers only)    -> OUT/sft
  eval        HumanEval (instruct prompts, greedy) in the sandbox           -> OUT/eval/humaneval
              + held-out loss of every checkpoint on OUT/data/heldout       -> OUT/eval/heldout.json
  report      one page: OUT/report.html (always redrawn)

Re-running skips every stage that is done (an interrupted training stage resumes from its
last checkpoint). `--force STAGE[,STAGE]` redoes a stage AND every stage that consumes its
outputs (e.g. `--force pretrain` redoes pretrain, anneal, sft, eval); `--force all` redoes
everything. `--stages a,b` runs only those (their inputs must be done). A failing stage
stops the run with a message naming the stage and its log file.

Settings: gin_configs/quickstart_corpus.gin + gin_configs/quickstart.gin (data stages and
`QuickstartConfig`: the training gin files, step counts and evaluation settings), then any
--gin_file/--gin_param. `--gin_param` bindings of the training configurables (ModelConfig,
TrainConfig, ScheduleConfig, OptimizerConfig, LoaderConfig, SFTConfig, MixtureConfig) are also
passed to every training stage. Writes OUT/quickstart.json with every stage's numbers.
"""
from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import os
import shutil
import sys
import time
from typing import Callable

import gin

from opencoder_jax import config as gin_config
from opencoder_jax.data.array_record_file import count_records
from opencoder_jax.names import check_names
from opencoder_jax.report.quickstart_report import TRAIN_STAGES, stage_headline
from opencoder_jax.stage_log import logged as _logged, opencoder_command, run_logged, say as _say
from opencoder_jax.train.metrics import read_metrics
from opencoder_jax.stage_log import tail as _tail

QUICKSTART_GIN = ("quickstart_corpus.gin", "quickstart.gin")
STAGES = ("refinecode", "tokenizer", "tokenize", "sft_data", "pretrain", "anneal", "sft", "eval", "report")
# stage -> the stages whose outputs it reads (report reads whatever exists and always runs).
DEPENDS = {
    "refinecode": (),
    "tokenizer": ("refinecode",),
    "tokenize": ("refinecode", "tokenizer"),
    "sft_data": ("refinecode", "tokenizer"),
    "pretrain": ("tokenize",),
    "anneal": ("pretrain", "tokenize", "sft_data"),
    "sft": ("anneal", "sft_data"),
    "eval": ("sft", "tokenize"),
    "report": (),
}
DESCRIPTIONS = {
    "refinecode": "RefineCode on the embedded corpus",
    "tokenizer": "tokenizer training",
    "tokenize": "token shards + held-out split",
    "sft_data": "SFT chats extracted from the corpus",
    "pretrain": "pretraining (WSD)",
    "anneal": "annealing (exponential decay, corpus + snippets)",
    "sft": "supervised fine-tuning on the extracted chats",
    "eval": "HumanEval in the sandbox + held-out loss",
    "report": "report.html",
}
# Configurables of the training stages: user --gin_param bindings of these go to `opencoder train`.
TRAIN_CONFIGURABLES = ("ModelConfig", "TrainConfig", "ScheduleConfig", "OptimizerConfig", "LoaderConfig",
                       "SFTConfig", "MixtureConfig")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class QuickstartConfig:
    """What the model half of the quickstart runs (bound in gin_configs/quickstart.gin)."""

    pretrain_gin: str = "train/tiny/pretrain.gin"
    anneal_gin: str = "train/tiny/anneal.gin"
    sft_gin: str = "train/tiny/sft_stage1.gin"
    pretrain_steps: int = 500
    anneal_steps: int = 100
    sft_steps: int = 120
    train_params: tuple = ()        # gin bindings passed to every training stage
    pretrain_params: tuple = ()
    anneal_params: tuple = ()
    sft_params: tuple = ()
    heldout_shards: int = 1         # token shards (the last ones) held out of training
    sft_heldout_chats: int = 16     # chats held out of SFT for its eval loss (at most a fifth of them)
    eval_benchmarks: tuple = ("humaneval",)
    eval_mode: str = "instruct"     # the SFT model gets chat prompts
    eval_limit: int | None = None   # None: every problem
    eval_max_new_tokens: int = 160
    eval_timeout_s: float = 10.0
    heldout_batches: int = 16       # batches of the held-out shard for held-out loss
    heldout_batch_size: int = 8
    heldout_seq_len: int = 128

    def __post_init__(self):
        # checked at the start, not after an hour of training when the eval stage runs
        from opencoder_jax.eval.benchmarks import BENCHMARKS
        check_names("benchmark", self.eval_benchmarks, BENCHMARKS, where="QuickstartConfig.eval_benchmarks")


class StageFailed(RuntimeError):
    def __init__(self, stage: str, log_path: str, error: BaseException | str):
        self.stage, self.log_path, self.error = stage, log_path, error
        super().__init__(f"stage '{stage}' failed: {error} (log: {log_path})")


def add_arguments(parser) -> None:
    parser.add_argument("--output", default="runs/quickstart", help="output directory")
    parser.add_argument("--runner", default="FnApiRunner", help="Beam runner")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="local Beam worker processes for the corpus pipeline (default: all cores)")
    parser.add_argument("--stages", default=None,
                        help=f"comma-separated subset of {','.join(STAGES)} (default: all; done ones are skipped)")
    parser.add_argument("--force", action="append", default=[],
                        help="redo STAGE (comma-separated or repeated; 'all' for every stage) and every "
                             "stage that consumes its outputs")
    gin_config.add_gin_flags(parser)


# ------------------------------------------------------------------ stage bookkeeping ------
def downstream(stages: set[str]) -> set[str]:
    """`stages` plus every stage that (transitively) reads their outputs."""
    out = set(stages)
    changed = True
    while changed:
        changed = False
        for s, deps in DEPENDS.items():
            if s not in out and any(d in out for d in deps):
                out.add(s)
                changed = True
    return out


def parse_stage_list(values: list[str] | str | None, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    names = [s.strip() for v in values for s in v.split(",") if s.strip()]
    if "all" in names:
        return list(STAGES)
    check_names("quickstart stage", names, STAGES, where=what)
    return [s for s in STAGES if s in names]


@dataclasses.dataclass
class Context:
    out: str
    runner: str
    workers: int
    beam_args: list[str]
    config: QuickstartConfig
    train_user_params: list[str]
    data_settings: dict = dataclasses.field(default_factory=dict)

    def path(self, *parts: str) -> str:
        return os.path.join(self.out, *parts)

    def marker(self, stage: str) -> str:
        return self.path("stages", f"{stage}.json")

    def log(self, stage: str) -> str:
        return self.path("logs", f"{stage}.log")

    def done(self, stage: str) -> dict | None:
        try:
            with open(self.marker(stage), encoding="utf-8") as f:
                record = json.load(f)
            return record if record.get("status") == "done" else None
        except (OSError, ValueError):
            return None


def _train_heartbeat(workdir: str, total: int) -> Callable[[], str | None]:
    def beat() -> str | None:
        rows = [r for r in read_metrics(os.path.join(workdir, "metrics.jsonl")) if "loss" in r]
        if not rows:
            return "compiling / starting"
        r = rows[-1]
        return f"step {r.get('step')}/{total}: loss {r['loss']:.3f}"
    return beat


# ------------------------------------------------------------------ stages -----------------
def stage_refinecode(ctx: Context) -> dict:
    from beam_pipelines.refinecode_main import local_worker_args, run_refinecode

    stats = run_refinecode(None, ctx.path("corpus"), ctx.runner,
                           local_worker_args(ctx.runner, ctx.workers, ctx.beam_args), overwrite=True)
    out = {k: stats[k] for k in ("input", "kept", "dropped_total", "conservation_ok")}
    out["report"] = stats.get("report")
    if not stats["kept"]:
        raise ValueError("RefineCode kept no documents")
    return out


def stage_tokenizer(ctx: Context) -> dict:
    from opencoder_jax.tokenizer.train import TokenizerTrainConfig, train_tokenizer

    result = train_tokenizer([ctx.path("corpus")], ctx.path("tokenizer"), TokenizerTrainConfig(), overwrite=True)
    return {k: result[k] for k in ("vocab_size", "sampled", "train_seconds")}


def split_token_shards(tokens_dir: str, data_dir: str, heldout_shards: int) -> dict:
    """OUT/data/train/ and OUT/data/heldout/: symlinks to the token shards (the last
    `heldout_shards` non-empty shards are held out)."""
    shards = sorted(glob.glob(os.path.join(tokens_dir, "tokens-*.array_record")))
    counts = {p: count_records(p) for p in shards}
    nonempty = [p for p in shards if counts[p] > 0]
    if len(nonempty) < 2:
        raise ValueError(f"need at least 2 non-empty token shards for a held-out split, got {len(nonempty)} "
                         f"(raise TokenizeConfig.num_shards or the corpus size)")
    k = max(1, min(heldout_shards, len(nonempty) - 1))
    heldout = nonempty[-k:]
    train = [p for p in nonempty if p not in heldout]
    for name, paths in (("train", train), ("heldout", heldout)):
        d = os.path.join(data_dir, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for p in [*paths, os.path.join(tokens_dir, "tokens.json")]:  # tokens.json: which tokenizer made them
            if os.path.exists(p):
                os.symlink(os.path.relpath(p, d), os.path.join(d, os.path.basename(p)))
    return {"train_shards": len(train), "train_documents": sum(counts[p] for p in train),
            "heldout_shards": len(heldout), "heldout_documents": sum(counts[p] for p in heldout)}


def stage_tokenize(ctx: Context) -> dict:
    from beam_pipelines.tokenize import run_tokenize

    result = run_tokenize([ctx.path("corpus")], ctx.path("tokenizer"), ctx.path("tokens"), ctx.runner,
                          ctx.beam_args, overwrite=True)
    out = {k: result[k] for k in ("documents", "kept", "tokens")}
    out.update(split_token_shards(ctx.path("tokens"), ctx.path("data"), ctx.config.heldout_shards))
    return out


def stage_sft_data(ctx: Context) -> dict:
    from beam_pipelines.tokenize import TokenizeConfig, run_tokenize
    from opencoder_jax.synth.sft_extract import SFTExtractConfig, run_extract

    out_dir = ctx.path("sft_data")
    stats = run_extract([ctx.path("corpus")], out_dir, SFTExtractConfig())
    tok = run_tokenize([stats["snippets"]], ctx.path("tokenizer"), os.path.join(out_dir, "snippet_tokens"),
                       ctx.runner, ctx.beam_args, overwrite=True,
                       config=dataclasses.replace(TokenizeConfig(), num_shards=1))
    return {"functions_seen": stats["functions_seen"], "chats": stats["kept"], "dropped": stats["dropped"],
            "templates": stats["templates"], "snippet_tokens": tok["tokens"]}


def _vocab_size(ctx: Context) -> int:
    from opencoder_jax.tokenizer import load_vocabulary

    return int(load_vocabulary(ctx.path("tokenizer")).vocab_size)


def _train(ctx: Context, stage: str, gin_file: str, steps: int, data: str, extra: list[str],
           stage_params: tuple) -> dict:
    workdir = ctx.path(stage)
    params = [f"ModelConfig.vocab_size = {_vocab_size(ctx)}", "TrainConfig.progress_bar = False",
              *ctx.config.train_params, *stage_params, *ctx.train_user_params]
    argv = opencoder_command("train", "--gin_file", gin_file, "--workdir", workdir, "--data", data,
                             "--steps", str(steps), *extra)
    for p in params:
        argv += ["--gin_param", p]
    run_logged(argv, ctx.log(stage), heartbeat=_train_heartbeat(workdir, steps))
    try:
        with open(os.path.join(workdir, "summary.json"), encoding="utf-8") as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        raise RuntimeError(f"training finished without {workdir}/summary.json ({e})") from None
    if summary.get("status") != "completed":
        raise RuntimeError(f"training stopped early: {summary.get('status')} at step {summary.get('step')}")
    rows = [r for r in read_metrics(os.path.join(workdir, "metrics.jsonl")) if "loss" in r]
    keys = ("step", "loss", "eval_loss", "tokens_seen", "params", "wall_s", "compile_s")
    out = {k: summary.get(k) for k in keys}
    out["first_loss"] = rows[0]["loss"] if rows else None
    if rows and rows[-1].get("tokens_per_second"):
        out["tokens_per_second"] = rows[-1]["tokens_per_second"]
    out["workdir"] = workdir
    return out


def stage_pretrain(ctx: Context) -> dict:
    c = ctx.config
    return _train(ctx, "pretrain", c.pretrain_gin, c.pretrain_steps, ctx.path("data", "train"),
                  ["--eval_data", ctx.path("data", "heldout")], c.pretrain_params)


def stage_anneal(ctx: Context) -> dict:
    c = ctx.config
    data = f"refinecode={ctx.path('data', 'train')},synthetic_code_snippets={ctx.path('sft_data', 'snippet_tokens')}"
    return _train(ctx, "anneal", c.anneal_gin, c.anneal_steps, data,
                  ["--init_from", ctx.path("pretrain"), "--eval_data", ctx.path("data", "heldout")], c.anneal_params)


def stage_sft(ctx: Context) -> dict:
    c = ctx.config
    chats = ctx.path("sft_data", "sft_chats.jsonl")
    with open(chats, encoding="utf-8") as f:
        n = sum(1 for line in f if line.strip())
    holdout = max(1, min(c.sft_heldout_chats, n // 5))
    if n - holdout < 1:
        raise ValueError(f"{chats} holds {n} chats: too few for SFT (raise the corpus size)")
    return _train(ctx, "sft", c.sft_gin, c.sft_steps, chats,
                  ["--init_from", ctx.path("anneal"), "--tokenizer", ctx.path("tokenizer")],
                  (f"TrainConfig.eval_holdout_records = {holdout}", *c.sft_params))


def heldout_loss(checkpoint: str, data: str, *, batches: int, batch_size: int, seq_len: int, seed: int = 0) -> dict:
    """Mean next-token loss (nats/token) of a checkpoint on token shards: `batches` batches of
    a fixed (seeded) shuffle of the documents, packed; the same batches for any checkpoint."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from opencoder_jax.data import loader
    from opencoder_jax.model.orbax_io import load_model

    config, model = load_model(checkpoint)
    graphdef, state = nnx.split(model)

    @jax.jit
    def step(state, inputs, targets, segment_ids, positions, weights):
        m = nnx.merge(graphdef, state)
        logits = m(inputs, segment_ids=segment_ids, positions=positions).astype(jnp.float32)
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
        return jnp.sum(nll * weights), jnp.sum(weights)

    # A fixed shuffle: the batches sample many documents (not the first few long ones), the same
    # batches for every checkpoint.
    lc = dataclasses.replace(loader.LoaderConfig(), global_batch_size=batch_size, seq_len=seq_len, shuffle=True,
                             seed=seed, num_epochs=1, worker_count=0, pack_mode="concat")
    ds = loader.token_shard_dataset(lc, data)
    total = weight = 0.0
    n = 0
    for raw in ds:
        arrays, _ = loader.split_stats(raw)
        w = arrays.get("loss_weights", (arrays["segment_ids"] > 0).astype(np.float32))
        ls, ws = step(state, *(jnp.asarray(arrays[k]) for k in ("inputs", "targets", "segment_ids", "positions")),
                      jnp.asarray(w, jnp.float32))
        total, weight, n = total + float(ls), weight + float(ws), n + 1
        if n >= batches:
            break
    return {"loss": total / max(weight, 1.0), "tokens": int(weight), "batches": n}


def stage_eval(ctx: Context) -> dict:
    c = ctx.config
    out: dict = {"benchmarks": {}}
    for bench in c.eval_benchmarks:
        bench_dir = ctx.path("eval", bench)
        argv = opencoder_command("eval", "--benchmark", bench, "--mode", c.eval_mode,
                                 "--checkpoint", ctx.path("sft"), "--tokenizer", ctx.path("tokenizer"),
                                 "--output", bench_dir, "--max_new_tokens", str(c.eval_max_new_tokens),
                                 "--temperature", "0", "--n", "1", "--timeout", str(c.eval_timeout_s), "--plot")
        if c.eval_limit:
            argv += ["--limit", str(c.eval_limit)]
        run_logged(argv, ctx.log("eval"))
        with open(os.path.join(bench_dir, "results.json"), encoding="utf-8") as f:
            results = json.load(f)
        out["benchmarks"][bench] = {k: results.get(k) for k in
                                    ("pass@1", "num_problems", "status_counts", "mode", "generation_seconds",
                                     "execution_seconds")}
        print(f"{bench}: pass@1 {results.get('pass@1')} on {results.get('num_problems')} problems")
    losses = {}
    for stage in ("pretrain", "anneal", "sft"):
        if os.path.isdir(ctx.path(stage, "checkpoints")):
            losses[stage] = heldout_loss(ctx.path(stage), ctx.path("data", "heldout"), batches=c.heldout_batches,
                                         batch_size=c.heldout_batch_size, seq_len=c.heldout_seq_len)
            print(f"held-out loss after {stage}: {losses[stage]['loss']:.4f} ({losses[stage]['tokens']} tokens)")
    with open(ctx.path("eval", "heldout.json"), "w", encoding="utf-8") as f:
        json.dump(losses, f, indent=2)
    out["heldout_loss"] = {k: round(v["loss"], 4) for k, v in losses.items()}
    return out


def stage_report(ctx: Context) -> dict:
    from opencoder_jax.report.quickstart_report import write_quickstart_report

    return {"report": write_quickstart_report(ctx.out)}


STAGE_FUNCTIONS = {
    "refinecode": stage_refinecode, "tokenizer": stage_tokenizer, "tokenize": stage_tokenize,
    "sft_data": stage_sft_data, "pretrain": stage_pretrain, "anneal": stage_anneal, "sft": stage_sft,
    "eval": stage_eval, "report": stage_report,
}
# What a forced (or never finished) stage removes before it runs; training stages keep their
# workdir when merely unfinished, so an interrupted run resumes from its last checkpoint.
STAGE_OUTPUTS = {
    "refinecode": ("corpus",), "tokenizer": ("tokenizer",), "tokenize": ("tokens", "data"),
    "sft_data": ("sft_data",), "pretrain": ("pretrain",), "anneal": ("anneal",), "sft": ("sft",),
    "eval": ("eval",), "report": (),
}
DATA_STAGES = ("refinecode", "tokenizer", "tokenize", "sft_data")


def _settings(ctx: Context, stage: str) -> dict:
    c = dataclasses.asdict(ctx.config)
    if stage in TRAIN_STAGES:
        keys = ("train_params", f"{stage}_params", f"{stage}_steps", f"{stage}_gin")
        return {"config": {k: c[k] for k in keys}, "gin_params": ctx.train_user_params}
    if stage == "eval":
        return {"config": {k: v for k, v in c.items() if k.startswith(("eval_", "heldout_"))}}
    return dict(ctx.data_settings) if stage in ("refinecode", "tokenizer", "tokenize", "sft_data") else {}


def _run_stage(ctx: Context, stage: str, index: int, total: int, fresh: bool) -> dict:
    log_path = ctx.log(stage)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    if fresh:
        for d in STAGE_OUTPUTS[stage]:
            shutil.rmtree(ctx.path(d), ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.remove(log_path)
    _say(f"[quickstart {index}/{total}] {stage}: {DESCRIPTIONS[stage]} (log: {log_path})")
    with open(log_path, "a", encoding="utf-8") as f:
        f.write(f"=== {stage} started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    start = time.time()
    try:
        with _logged(log_path):
            summary = STAGE_FUNCTIONS[stage](ctx)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 - any failure stops the run, named and logged
        with open(log_path, "a", encoding="utf-8") as f:
            import traceback

            f.write(f"=== {stage} FAILED after {time.time() - start:.1f}s\n")
            traceback.print_exception(e, file=f)
        raise StageFailed(stage, log_path, e) from e
    seconds = round(time.time() - start, 1)
    record = {"stage": stage, "status": "done", "seconds": seconds,
              "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "summary": summary,
              "settings": _settings(ctx, stage)}
    os.makedirs(os.path.dirname(ctx.marker(stage)), exist_ok=True)
    tmp = ctx.marker(stage) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, default=str)
    os.replace(tmp, ctx.marker(stage))
    _say(f"  done in {seconds}s: {stage_headline(stage, summary)}")
    return record


def _import_configurables() -> None:
    import beam_pipelines.stage_registry  # noqa: F401 - every stage's gin configurables
    import beam_pipelines.tokenize  # noqa: F401 - TokenizeConfig
    import opencoder_jax.synth.sft_extract  # noqa: F401 - SFTExtractConfig
    import opencoder_jax.tokenizer.train  # noqa: F401 - TokenizerTrainConfig
    from opencoder_jax.data import loader, mixture, sft  # noqa: F401
    from opencoder_jax.model import config as model_config  # noqa: F401
    with contextlib.suppress(ImportError):  # the training configurables (so --gin_param can name them)
        from opencoder_jax.train import loop, optimizer, schedules  # noqa: F401


def train_gin_params(params: list[str]) -> list[str]:
    """The user's bindings that configure training (passed on to every `opencoder train`)."""
    out = []
    for p in params:
        name = p.strip().split("=", 1)[0].strip()
        configurable = name.rsplit(".", 1)[0].split("/")[-1] if "." in name else ""
        if configurable in TRAIN_CONFIGURABLES:
            out.append(p)
    return out


def run(args, beam_args: list[str] | None = None) -> int:
    stages = parse_stage_list(args.stages, "--stages") or list(STAGES)
    forced = set(parse_stage_list(args.force, "--force"))
    _import_configurables()
    defaults = [*_data_default_gin(), *QUICKSTART_GIN]
    gin_config.parse_gin(args.gin_file, args.gin_param, defaults=defaults)
    out = args.output.rstrip("/") or "."
    os.makedirs(out, exist_ok=True)
    ctx = Context(out=out, runner=args.runner, workers=args.workers, beam_args=list(beam_args or []),
                  config=QuickstartConfig(), train_user_params=train_gin_params(args.gin_param),
                  data_settings={"gin_files": list(args.gin_file),
                                 "gin_params": [p for p in args.gin_param if p not in train_gin_params(args.gin_param)]})
    redo = downstream(forced) if forced else set()
    for s in redo:
        with contextlib.suppress(FileNotFoundError):
            os.remove(ctx.marker(s))
    start = time.time()
    ran, skipped = [], []
    todo = [s for s in STAGES if s in stages]
    for i, stage in enumerate(todo, 1):
        done = ctx.done(stage)
        if done and stage != "report":
            _say(f"[quickstart {i}/{len(todo)}] {stage}: done ({done.get('seconds')}s, {done.get('finished_at')}); "
                 f"skipped (--force {stage} to redo)")
            changed = done.get("settings") != json.loads(json.dumps(_settings(ctx, stage), default=str))
            if changed:
                _say(f"  note: {stage} was done with other settings; --force {stage} redoes it and what follows")
            skipped.append(stage)
            continue
        missing = [d for d in DEPENDS[stage] if not ctx.done(d)]
        if missing:
            print(f"opencoder quickstart: stage '{stage}' needs {missing} done first "
                  f"(run without --stages, or include them)", file=sys.stderr)
            return 1
        fresh = stage in redo or stage not in TRAIN_STAGES
        try:
            _run_stage(ctx, stage, i, len(todo), fresh=fresh)
        except StageFailed as e:
            print(f"\nopencoder quickstart: stage '{e.stage}' failed: {type(e.error).__name__}: {e.error}\n"
                  f"  log: {e.log_path}\n  last lines:\n{_tail(e.log_path)}\n"
                  f"  finished stages are kept; fix the cause and re-run to continue from '{e.stage}'",
                  file=sys.stderr, flush=True)
            _write_summary(ctx, ran, skipped, time.time() - start, failed=e.stage)
            return 1
        ran.append(stage)
        if stage in DATA_STAGES:  # training/eval stages write their own config.gin
            with contextlib.suppress(OSError):
                os.makedirs(ctx.path("configs"), exist_ok=True)
                gin_config.write_operative_config(ctx.path("configs"), f"{stage}.gin")
    summary = _write_summary(ctx, ran, skipped, time.time() - start)
    _say(f"\n[quickstart] done in {summary['elapsed_s']}s (ran {len(ran)}, skipped {len(skipped)} stages); "
         f"summary: {out}/quickstart.json" + (f"; report: {out}/report.html" if "report" in ran else ""))
    return 0


def _data_default_gin() -> list[str]:
    from beam_pipelines.refinecode_main import default_gin_files

    return [*default_gin_files(), "tokenizer/opencoder.gin", "tokenizer/tokenize.gin"]


def _write_summary(ctx: Context, ran: list[str], skipped: list[str], elapsed: float, failed: str | None = None) -> dict:
    summary: dict = {"output": ctx.out, "ran": ran, "skipped": skipped, "failed": failed,
                     "elapsed_s": round(elapsed, 1), "stage_seconds": {}}
    for stage in STAGES:
        done = ctx.done(stage)
        if done:
            summary[stage] = done.get("summary")
            summary["stage_seconds"][stage] = done.get("seconds")
    with open(ctx.path("quickstart.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, default=str)
    return summary
