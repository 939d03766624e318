"""One training run: mesh, model, optimizer, data, resume, the step loop, checkpoints, metrics.

    run(workdir, RunOptions) -> summary dict

Order of work (everything that can fail on user input fails before compiling):
  1. configs from gin (TrainConfig, ModelConfig, LoaderConfig, ScheduleConfig, OptimizerConfig)
  2. mesh; batch vs mesh / micro-batches / processes checked
  3. data found and opened (missing data is an error here), tokenizer resolved and copied
  4. abstract model -> shardings -> compiled train step (memory analysis printed)
  5. parameters: resume from WORKDIR/checkpoints (latest), else --init_from, else random init
  6. steps: per step one global batch; metrics fetched one step late (the host never waits on
     the step it just dispatched); checkpoints every N steps, at the end, and on SIGTERM/SIGINT
  7. end: final checkpoint, metrics.jsonl, TensorBoard, loss_curve.png, summary.json

A non-finite loss stops the run with an error naming the step and the last good checkpoint
(the one about to be written at that step is not written).

Multi-host: each process runs this same function after `jax.distributed.initialize` (done by
main.py from --coordinator flags or OPENCODER_COORDINATOR env). With
`LoaderConfig.shard_by_process=True` (default) each host reads its own slice of the data;
with False every host reads the full global batch and keeps its rows, so the global batch is
the same for any process count (used by the two-process test).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import time
from typing import Any

import gin
import numpy as np

from opencoder_jax.train import inputs as inputs_lib

log = logging.getLogger(__name__)
# Tests only: "N" sends SIGKILL to this process after step N (once any checkpoint of step <= N is
# on disk); "N:TERM" / "N:INT" sends that signal instead (the run then saves and stops).
KILL_AFTER_STEP_ENV = "OPENCODER_TRAIN_KILL_AFTER_STEP"


@gin.configurable
@dataclasses.dataclass(frozen=True)
class TrainConfig:
    stage: str = "pretrain"                 # pretrain | anneal | sft_stage1 | sft_stage2
    steps: int | None = None                # None: SFT counts its epochs' batches; pretrain must set it
    num_microbatches: int = 1               # gradient accumulation: micro-batches per global batch
    checkpoint_every: int = 1000
    keep_checkpoints: int | None = 3        # None: keep every checkpoint
    async_checkpointing: bool = True
    log_every: int = 10
    eval_every: int = 0                     # 0: no eval
    eval_batches: int = 2
    eval_data: str | None = None
    eval_holdout_records: int = 0           # records of the training data held out for eval
    mesh_shape: tuple | None = None         # (data, fsdp, tensor); None: every device on fsdp
    seed: int = 0                           # parameter init (the data seed is LoaderConfig.seed)
    data: str | None = None                 # default for --data
    tokenizer_dir: str | None = None
    init_from: str | None = None            # default for --init_from
    peak_flops_per_device: float | None = None  # None: metrics.PEAK_FLOPS by device kind
    progress_bar: bool = True
    plot: bool = True

    def __post_init__(self):
        if self.stage not in inputs_lib.STAGES:
            raise ValueError(f"TrainConfig.stage must be one of {inputs_lib.STAGES}, got {self.stage!r}")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Command-line overrides (None: the gin value)."""

    data: str | None = None
    steps: int | None = None
    checkpoint_every: int | None = None
    log_every: int | None = None
    init_from: str | None = None
    tokenizer: str | None = None
    eval_data: str | None = None


class NonFiniteLoss(FloatingPointError):
    pass


def _p0() -> bool:
    import jax

    return jax.process_index() == 0


def _say(msg: str) -> None:
    if _p0():
        from tqdm import tqdm

        tqdm.write(msg, file=sys.stderr)


def _any_process(flag: bool) -> bool:
    import jax

    if jax.process_count() == 1:
        return flag
    from jax.experimental import multihost_utils

    return bool(np.asarray(multihost_utils.process_allgather(np.int32(flag))).any())


def _min_over_processes(n: int) -> int:
    import jax

    if jax.process_count() == 1:
        return n
    from jax.experimental import multihost_utils

    return int(np.asarray(multihost_utils.process_allgather(np.int64(n))).min())


def _local_rows(arrays: dict, loader_config) -> dict:
    """Replicated-input mode: every host read the whole global batch; keep this host's rows."""
    import jax

    if loader_config.shard_by_process or jax.process_count() == 1:
        return arrays
    p, n = jax.process_index(), jax.process_count()
    b = next(iter(arrays.values())).shape[0] // n
    return {k: v[p * b:(p + 1) * b] for k, v in arrays.items()}


def count_batches(dataset) -> int:
    n = 0
    for _ in dataset:
        n += 1
    return n


def write_text(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def load_init_params(path: str, abstract_params: Any, mesh) -> tuple[Any, Any]:
    """Params (pure dict) from an Orbax workdir/step dir or an HF directory, on our shardings."""
    import jax
    from flax import nnx

    from opencoder_jax.model.loading import load_any

    is_hf = os.path.isfile(os.path.join(path, "config.json")) and not os.path.isdir(os.path.join(path, "checkpoints")) \
        and not os.path.isdir(os.path.join(path, "model_config"))
    config, model = load_any(hf=path, mesh=mesh) if is_hf else load_any(checkpoint=path, mesh=mesh)
    params = nnx.state(model, nnx.Param).to_pure_dict()
    have = jax.tree.map(lambda x: (tuple(x.shape), str(x.dtype)), params)
    want = jax.tree.map(lambda x: (tuple(x.shape), str(x.dtype)), abstract_params)
    if have != want:
        raise ValueError(f"--init_from {path}: its parameters do not match the stage's model config "
                         f"(stored config: {config.to_dict()})")
    return params, config


def build_eval_batches(eval_ds, n: int) -> list[dict]:
    from opencoder_jax.data import loader

    if eval_ds is None or n <= 0:
        return []
    out = []
    it = iter(eval_ds)
    for _ in range(n):
        try:
            arrays, _ = loader.split_stats(next(it))
        except StopIteration:
            break
        out.append(arrays)
    k = _min_over_processes(len(out))
    return out[:k]


def run(workdir: str, options: RunOptions = RunOptions()) -> dict:
    """The whole run (gin must already be parsed). Returns the summary written to summary.json."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from opencoder_jax.data import device_put, loader
    from opencoder_jax.model import sharding, transformer
    from opencoder_jax.model.config import ModelConfig
    from opencoder_jax.train import checkpoint as ckpt_lib
    from opencoder_jax.train import metrics as metrics_lib
    from opencoder_jax.train import optimizer as opt_lib
    from opencoder_jax.train import schedules, step as step_lib

    t_start = time.time()
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    tc = TrainConfig()
    tc = dataclasses.replace(
        tc,
        steps=options.steps if options.steps is not None else tc.steps,
        checkpoint_every=options.checkpoint_every or tc.checkpoint_every,
        log_every=options.log_every or tc.log_every,
        init_from=options.init_from or tc.init_from,
        tokenizer_dir=options.tokenizer or tc.tokenizer_dir,
        eval_data=options.eval_data or tc.eval_data,
    )
    model_config = ModelConfig()
    loader_config = loader.LoaderConfig()
    sft = tc.stage in inputs_lib.SFT_STAGES

    # 2. mesh and batch layout
    mesh = sharding.make_mesh(tc.mesh_shape)
    step_lib.check_batch(loader_config.global_batch_size, tc.num_microbatches, mesh, jax.process_count())
    if loader_config.seq_len > model_config.max_seq_len:
        log.warning("seq_len %d exceeds the model's max_seq_len %d", loader_config.seq_len, model_config.max_seq_len)

    # 3. data and tokenizer (before compiling)
    spec = inputs_lib.parse_data_flag(options.data or tc.data)
    tok_dir = inputs_lib.resolve_tokenizer(workdir, tc.tokenizer_dir, tc.init_from, spec.globs)
    if sft:
        if tok_dir is None:
            raise FileNotFoundError("SFT needs a tokenizer: set --tokenizer DIR or TrainConfig.tokenizer_dir, or "
                                    "--init_from a model whose directory carries one")
        from opencoder_jax.tokenizer import load_vocabulary

        tokenizer = load_vocabulary(tok_dir)
        if tokenizer.vocab_size > model_config.vocab_size:
            raise ValueError(f"tokenizer {tok_dir} has {tokenizer.vocab_size} ids > model vocab {model_config.vocab_size}")
        train_ds, eval_ds, data_report = inputs_lib.sft_datasets(spec, loader_config, tokenizer, eval_data=tc.eval_data,
                                                                 eval_holdout=tc.eval_holdout_records)
    else:
        train_ds, eval_ds, data_report = inputs_lib.pretrain_datasets(spec, loader_config, eval_data=tc.eval_data,
                                                                      eval_holdout=tc.eval_holdout_records,
                                                                      tokenizer_dir=tok_dir)
    if _p0():
        inputs_lib.copy_tokenizer(tok_dir, workdir)
    steps = tc.steps
    if steps is None:
        if not sft or loader_config.num_epochs is None:
            raise ValueError("the number of steps is unknown: pass --steps N (or TrainConfig.steps)")
        count_cfg = dataclasses.replace(loader_config, worker_count=0)
        count_ds = inputs_lib.sft_datasets(spec, count_cfg, tokenizer, eval_data=tc.eval_data,
                                           eval_holdout=tc.eval_holdout_records)[0]
        steps = _min_over_processes(count_batches(count_ds))
        _say(f"{loader_config.num_epochs} epoch(s) of SFT data = {steps} steps of {loader_config.global_batch_size} rows")
    if steps <= 0:
        raise ValueError(f"nothing to train: {steps} steps" + (" (no chat has an answer token left after "
                         "truncation to SFTConfig.max_length?)" if sft and tc.steps is None else ""))

    schedule = schedules.make_schedule(schedules.ScheduleConfig(), total_steps=steps)
    tx = opt_lib.make_optimizer(opt_lib.OptimizerConfig(), schedule)

    # 4. abstract model, shardings, compiled step
    graphdef, abs_params_state, rest = nnx.split(transformer.abstract_model(model_config), nnx.Param, ...)
    with jax.set_mesh(mesh):
        if jax.tree.leaves(rest):
            raise RuntimeError("the model has non-Param state; the train step carries parameters only")
        param_shardings = step_lib.to_pure(sharding.param_shardings(abs_params_state, mesh))
        abs_params = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype),
                                  step_lib.to_pure(abs_params_state))
        state_shardings, opt_init = step_lib.state_shardings_for(tx, abs_params, param_shardings, mesh)
        fns = step_lib.jit_step_fns(graphdef, tx, schedule, mesh=mesh, param_shardings=param_shardings,
                                    state_shardings=state_shardings, num_microbatches=tc.num_microbatches)
        abs_state = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                                 {"step": jax.ShapeDtypeStruct((), jnp.int32), "params": abs_params,
                                  "opt_state": jax.eval_shape(tx.init, abs_params)}, state_shardings)
        abs_batch = step_lib.abstract_batch(loader_config.global_batch_size, loader_config.seq_len, fns.batch_shardings)
        t0 = time.time()
        train_step = fns.train_step.lower(abs_state, abs_batch).compile()
        eval_step = fns.eval_step.lower(abs_state["params"], abs_batch).compile() if (tc.eval_every and eval_ds) else None
        compile_s = time.time() - t0
    n_params = model_config.num_params()
    _say(f"model {n_params / 1e6:.2f}M params, mesh {dict(mesh.shape)}, global batch {loader_config.global_batch_size} x "
         f"{loader_config.seq_len}, {tc.num_microbatches} micro-batch(es); compiled in {compile_s:.1f}s")
    mem = step_lib.memory_report(train_step)
    if mem:
        _say(mem)

    # 5. parameters: resume > init_from > random
    manager = ckpt_lib.make_manager(workdir, tc.keep_checkpoints, tc.async_checkpointing)
    iterator = iter(train_ds)
    start_step, tokens_seen = 0, 0
    latest = manager.latest_step()
    init_params = None
    if latest is None and tc.init_from:  # loaded outside the mesh context (abstract shapes carry logical names)
        init_params, _ = load_init_params(tc.init_from, abs_params, mesh)
    with jax.set_mesh(mesh):
        if latest is not None:
            saved = ckpt_lib.read_meta(manager, latest)
            same_shape = (saved.get("global_batch_size"), saved.get("seq_len")) == \
                (loader_config.global_batch_size, loader_config.seq_len)
            if not same_shape:  # e.g. 8B phase 2 (2048 x 4096 -> 1024 x 8192): the data restarts
                _say(f"batch shape changed since step {latest} ({saved.get('global_batch_size')} x "
                     f"{saved.get('seq_len')} -> {loader_config.global_batch_size} x {loader_config.seq_len}): "
                     "parameters, optimizer and step resume; the data pipeline starts afresh")
            restored = ckpt_lib.restore(manager, latest, abstract_params=abs_state["params"],
                                        abstract_opt_state=abs_state["opt_state"],
                                        iterator=iterator if same_shape else None)
            meta = restored[ckpt_lib.TRAIN_META]
            start_step, tokens_seen = int(meta["step"]), int(meta.get("tokens_seen", 0))
            state = {"step": jax.device_put(jnp.int32(start_step), state_shardings["step"]),
                     "params": restored[ckpt_lib.PARAMS], "opt_state": restored[ckpt_lib.OPT_STATE]}
            if meta.get("worker_count") not in (None, loader_config.resolved_worker_count()):
                log.warning("resuming with worker_count %s (saved with %s): batches will differ from an "
                            "uninterrupted run", loader_config.resolved_worker_count(), meta.get("worker_count"))
            _say(f"resumed from {ckpt_lib.checkpoint_dir(workdir)}/{latest} (step {start_step})")
        else:
            if init_params is not None:
                params = jax.device_put(init_params, param_shardings)
                del init_params
                _say(f"initialised parameters from {tc.init_from} (optimizer fresh)")
            else:
                if tc.stage != "pretrain":
                    log.warning("stage %s starts from random parameters (no --init_from)", tc.stage)

                def init():
                    with nnx.use_eager_sharding(False):
                        return nnx.state(transformer.Transformer(model_config, rngs=nnx.Rngs(tc.seed)),
                                         nnx.Param).to_pure_dict()
                params = jax.jit(init, out_shardings=param_shardings)()
            state = {"step": jax.device_put(jnp.int32(0), state_shardings["step"]), "params": params,
                     "opt_state": opt_init(params)}
    if start_step >= steps:
        _say(f"already at step {start_step} >= {steps}: nothing to do")

    # operative config (every binding used by now)
    if _p0():
        write_text(os.path.join(workdir, "config.gin"), gin.operative_config_str())

    # 6. the loop
    eval_batches = build_eval_batches(eval_ds, tc.eval_batches) if eval_step is not None else []
    peak = tc.peak_flops_per_device or metrics_lib.peak_flops_per_device(jax.devices()[0].device_kind)
    fpt = metrics_lib.flops_per_token(model_config, loader_config.seq_len)["total"]
    tokens_per_step = loader_config.global_batch_size * loader_config.seq_len
    writer = metrics_lib.MetricsWriter(workdir, enabled=_p0())
    model_config_dict = model_config.to_dict()
    kill_spec = (os.environ.get(KILL_AFTER_STEP_ENV, "") or "0").split(":")
    kill_after, kill_signal = int(kill_spec[0]), (kill_spec[1] if len(kill_spec) > 1 else "KILL")
    last_saved: int | None = latest
    last_loss = last_eval = None
    pending: list = []
    window = {"t": time.time(), "steps": 0}
    from tqdm import tqdm

    bar = tqdm(total=steps, initial=start_step, disable=not (_p0() and tc.progress_bar), unit="step",
               dynamic_ncols=True, file=sys.stderr)

    def meta(step: int) -> dict:
        return {"step": step, "tokens_seen": tokens_seen, "stage": tc.stage, "process_count": jax.process_count(),
                "worker_count": loader_config.resolved_worker_count(), "global_batch_size": loader_config.global_batch_size,
                "seq_len": loader_config.seq_len}

    def save(step: int, force: bool = False) -> None:
        nonlocal last_saved
        if last_saved == step:
            return
        ckpt_lib.save(manager, step, params=state["params"], opt_state=state["opt_state"],
                      model_config=model_config_dict, train_meta=meta(step), iterator=iterator, force=force)
        last_saved = step

    def last_good() -> str:
        if last_saved is None:
            return "none (no checkpoint written yet)"
        return os.path.join(ckpt_lib.checkpoint_dir(workdir), str(last_saved))

    def flush() -> None:
        """Fetch the pending step's metrics; log them; stop on a non-finite loss."""
        nonlocal last_loss
        while pending:
            s, m, stats = pending.pop(0)
            m = {k: float(v) for k, v in jax.device_get(m).items()}
            if not math.isfinite(m["loss"]):
                raise NonFiniteLoss(f"non-finite loss ({m['loss']}) at step {s}; last good checkpoint: {last_good()}")
            last_loss = m["loss"]
            window["steps"] += 1
            bar.update(1)
            bar.set_postfix(loss=f"{m['loss']:.4f}", refresh=False)
            if s % tc.log_every == 0 or s == steps:
                now = time.time()
                dt = max(now - window["t"], 1e-9)
                tps = window["steps"] * tokens_per_step / dt
                row = {"step": s, "loss": m["loss"], "learning_rate": m["learning_rate"], "grad_norm": m["grad_norm"],
                       "tokens_per_second": tps, "mfu": metrics_lib.mfu(tps / jax.device_count(), fpt, peak),
                       "step_time_s": dt / max(window["steps"], 1), "tokens_seen": tokens_seen,
                       "loss_tokens": m["loss_weight"], **{f"data/{k}": v for k, v in stats.items()}}
                writer.write(row)
                window.update(t=now, steps=0)

    def evaluate(s: int) -> float | None:
        if not eval_batches:
            return None
        total = weight = 0.0
        with jax.set_mesh(mesh):
            for arrays in eval_batches:
                gb = device_put.to_global_batch(_local_rows(arrays, loader_config), mesh, step_lib.batch_axes(mesh))
                ls, w = eval_step(state["params"], gb)
                total, weight = total + float(ls), weight + float(w)
        value = total / max(weight, 1.0)
        writer.write({"step": s, "eval_loss": value, "eval_tokens": weight})
        _say(f"step {s}: eval loss {value:.4f}")
        return value

    status = "completed"
    try:
        with ckpt_lib.PreemptionFlag() as preempt, jax.set_mesh(mesh):
            for s in range(start_step + 1, steps + 1):
                if _any_process(preempt.requested):
                    status = f"stopped by {preempt.signal_name or 'a signal'}"
                    break
                try:
                    raw = next(iterator)
                except StopIteration:
                    status = "data exhausted"
                    break
                arrays, stats = loader.split_stats(raw)
                gb = device_put.to_global_batch(_local_rows(arrays, loader_config), mesh, step_lib.batch_axes(mesh))
                state, m = train_step(state, gb)
                tokens_seen += tokens_per_step
                flush()  # the previous step's metrics (this step keeps running meanwhile)
                pending.append((s, m, stats))
                if s % tc.checkpoint_every == 0:
                    flush()
                    save(s)
                if tc.eval_every and s % tc.eval_every == 0:
                    flush()
                    last_eval = evaluate(s)
                if kill_after and s == kill_after:
                    import signal

                    flush()
                    if kill_signal == "KILL":
                        manager.wait_until_finished()
                    os.kill(os.getpid(), getattr(signal, f"SIG{kill_signal}"))
            flush()
            final = int(jax.device_get(state["step"]))
            if final > 0:
                save(final, force=True)
            if tc.eval_every and final % tc.eval_every and final > start_step:
                last_eval = evaluate(final)
    except NonFiniteLoss:
        pending.clear()
        raise
    finally:
        bar.close()
        manager.wait_until_finished()
        manager.close()
        writer.close()
        if hasattr(iterator, "close"):
            iterator.close()

    # 7. summary and curve
    final_step = int(jax.device_get(state["step"]))
    summary = {"status": status, "stage": tc.stage, "step": final_step, "steps": steps, "loss": last_loss,
               "eval_loss": last_eval, "tokens_seen": tokens_seen, "params": n_params,
               "checkpoint": last_good(), "compile_s": round(compile_s, 2),
               "wall_s": round(time.time() - t_start, 2), "flops_per_token": fpt,
               "peak_flops_per_device": peak, "device_kind": jax.devices()[0].device_kind,
               "devices": jax.device_count(), "processes": jax.process_count(), **data_report}
    if _p0():
        rows = metrics_lib.read_metrics(os.path.join(workdir, "metrics.jsonl"))
        if tc.plot:
            summary["loss_curve"] = metrics_lib.plot_loss_curve(rows, os.path.join(workdir, "loss_curve.png"))
        write_text(os.path.join(workdir, "summary.json"), json.dumps(summary, indent=2, default=str))
    _say(f"{status} at step {final_step}: loss {last_loss}, checkpoint {last_good()}")
    return summary
