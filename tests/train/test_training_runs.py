"""End-to-end `opencoder train` runs on real token shards (built by the session fixture with the
project's own tokenizer-train and tokenize commands)."""
from __future__ import annotations

import json
import os
import signal
import socket

import numpy as np
import pytest

from tests.train.conftest import run_subprocess, train_cmd
from tests.train.helpers import SMALL_GIN, gin_args

REF_STEPS, REF_EVERY, KILL_AT = 6, 3, 4
REF_GIN = SMALL_GIN + ["LoaderConfig.shard_by_process = False", "TrainConfig.async_checkpointing = True",
                       "TrainConfig.eval_every = 3", "TrainConfig.eval_holdout_records = 2"]


def rows(workdir, key="loss"):
    """{step: value} of metrics.jsonl rows holding `key` (a later row for a step wins)."""
    out = {}
    for line in open(os.path.join(workdir, "metrics.jsonl")):
        r = json.loads(line)
        if key in r:
            out[r["step"]] = r[key]
    return out


def ref_args(workdir, corpus, *extra):
    return train_cmd(workdir, "--gin_file", "train/tiny/pretrain.gin", "--data", corpus["tokens"],
                     "--steps", str(REF_STEPS), "--checkpoint_every", str(REF_EVERY), "--log_every", "1",
                     *gin_args(REF_GIN), *extra)


@pytest.fixture(scope="session")
def reference_run(corpus, tmp_path_factory):
    """An uninterrupted small run (1 process, 1 device): per-step losses and final checkpoint."""
    workdir = str(tmp_path_factory.mktemp("reference"))
    run_subprocess(ref_args(workdir, corpus))
    return workdir


def load_params(workdir, step):
    import orbax.checkpoint as ocp

    with ocp.CheckpointManager(os.path.join(workdir, "checkpoints")) as m:
        restored = m.restore(step, args=ocp.args.Composite(params=ocp.args.StandardRestore()))
    import jax

    return jax.tree.leaves(restored["params"])


def test_tiny_config_lowers_the_loss(corpus, tmp_path):
    """The tiny stage file as shipped (only --steps shortened), in-process through the CLI."""
    from opencoder_jax import cli

    workdir = str(tmp_path / "tiny")
    assert cli.main(["train", "--gin_file", "train/tiny/pretrain.gin", "--workdir", workdir, "--data", corpus["tokens"],
                     "--steps", "24", "--log_every", "1", "--checkpoint_every", "12",
                     "--gin_param", "TrainConfig.eval_every = 12", "--gin_param", "TrainConfig.progress_bar = False"]) == 0
    losses = rows(workdir)
    assert sorted(losses) == list(range(1, 25))
    first, last = losses[1], np.mean([losses[s] for s in range(20, 25)])
    assert first > 7.5 and last < first - 2.0, (first, last)  # ln(4096) = 8.3 -> well below
    evals = rows(workdir, "eval_loss")
    assert sorted(evals) == [12, 24] and evals[24] < first - 1.5
    row = [json.loads(x) for x in open(os.path.join(workdir, "metrics.jsonl")) if '"loss"' in x][-1]
    for key in ("step", "loss", "learning_rate", "grad_norm", "tokens_per_second", "mfu"):
        assert np.isfinite(row[key]), key
    assert row["learning_rate"] == pytest.approx(3e-3) and 0 < row["mfu"] < 1
    for name in ("config.gin", "loss_curve.png", "summary.json", "tokenizer/tokenizer.model"):
        assert os.path.isfile(os.path.join(workdir, name)), name
    assert os.listdir(os.path.join(workdir, "tensorboard"))
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["12", "24"]
    assert "ScheduleConfig.warmup_steps = 10" in open(os.path.join(workdir, "config.gin")).read()
    summary = json.load(open(os.path.join(workdir, "summary.json")))
    assert summary["status"] == "completed" and summary["step"] == 24


def test_sigkill_after_checkpoint_then_resume_is_bitwise_identical(corpus, reference_run, tmp_path):
    workdir = str(tmp_path / "killed")
    proc = run_subprocess(ref_args(workdir, corpus), env_extra={"OPENCODER_TRAIN_KILL_AFTER_STEP": str(KILL_AT)},
                          check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["3"]  # nothing after the kill
    run_subprocess(ref_args(workdir, corpus))  # the same command resumes from step 3
    ref, got = rows(reference_run), rows(workdir)
    assert sorted(got) == list(range(1, REF_STEPS + 1))
    assert [got[s] for s in range(1, REF_STEPS + 1)] == [ref[s] for s in range(1, REF_STEPS + 1)]  # bitwise
    assert rows(workdir, "eval_loss") == rows(reference_run, "eval_loss")
    for a, b in zip(load_params(reference_run, REF_STEPS), load_params(workdir, REF_STEPS)):
        np.testing.assert_array_equal(a, b)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one_process(corpus, reference_run, tmp_path):
    """jax.distributed on localhost: 2 processes x 1 CPU device, the same global batch of 4."""
    import subprocess

    from tests.train.conftest import REPO

    workdir = str(tmp_path / "two")
    port = free_port()
    env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    procs = [subprocess.Popen(ref_args(workdir, corpus, "--coordinator", f"127.0.0.1:{port}", "--num_processes", "2",
                                       "--process_id", str(i)), cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-4000:]
    ref, got = rows(reference_run), rows(workdir)
    assert sorted(got) == list(range(1, REF_STEPS + 1))
    np.testing.assert_allclose([got[s] for s in sorted(got)], [ref[s] for s in sorted(ref)], rtol=1e-5)
    summary = json.load(open(os.path.join(workdir, "summary.json")))
    assert summary["processes"] == 2 and summary["devices"] == 2


def test_sharded_step_on_8_devices_equals_1_device():
    proc = run_subprocess([__import__("sys").executable, "-m", "tests.train.sharded_step_check"],
                          env_extra={"XLA_FLAGS": "--xla_force_host_platform_device_count=8"})
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["devices_per_param_eight"] == [8] or max(r["devices_per_param_eight"]) == 8
    assert r["loss_eight"] == pytest.approx(r["loss_one"], rel=1e-5)
    assert r["grad_norm_eight"] == pytest.approx(r["grad_norm_one"], rel=1e-5)
    assert r["max_param_diff"] < 2e-5  # after 2 AdamW steps of lr 1e-3


def in_process_train(workdir, *args):
    from opencoder_jax import cli

    return cli.main(["train", "--workdir", workdir, *args])


def test_nonfinite_loss_names_step_and_last_good_checkpoint(corpus, tmp_path, capsys):
    workdir = str(tmp_path / "nan")
    rc = in_process_train(workdir, "--gin_file", "train/tiny/pretrain.gin", "--data", corpus["tokens"], "--steps", "6",
                          "--checkpoint_every", "1", *gin_args(SMALL_GIN + [
                              "ScheduleConfig.peak_lr = 1e30", "ScheduleConfig.warmup_steps = 0",
                              "OptimizerConfig.weight_decay = 0.0", "TrainConfig.eval_every = 0"]))
    err = capsys.readouterr().err
    assert rc == 3, err
    assert "non-finite loss" in err and "at step 2" in err
    assert os.path.join(workdir, "checkpoints", "1") in err
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["1"]


def test_sigterm_saves_a_checkpoint_and_stops(corpus, tmp_path, monkeypatch):
    workdir = str(tmp_path / "term")
    monkeypatch.setenv("OPENCODER_TRAIN_KILL_AFTER_STEP", "2:TERM")
    rc = in_process_train(workdir, "--gin_file", "train/tiny/pretrain.gin", "--data", corpus["tokens"], "--steps", "50",
                          "--checkpoint_every", "100", *gin_args(SMALL_GIN + ["TrainConfig.eval_every = 0"]))
    assert rc == 0
    summary = json.load(open(os.path.join(workdir, "summary.json")))
    assert summary["status"] == "stopped by SIGTERM" and summary["step"] == 2
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["2"]


def test_missing_data_is_an_error_before_compiling(tmp_path, capsys):
    rc = in_process_train(str(tmp_path / "w"), "--gin_file", "train/tiny/pretrain.gin",
                          "--data", str(tmp_path / "no-such-shards"), *gin_args(SMALL_GIN))
    assert rc == 2 and "no token shards match" in capsys.readouterr().err
    rc = in_process_train(str(tmp_path / "w2"), "--gin_file", "train/tiny/pretrain.gin", *gin_args(SMALL_GIN))
    assert rc == 2 and "no training data" in capsys.readouterr().err


def test_sft_stage_from_a_pretrain_checkpoint(reference_run, tmp_path):
    """SFT stage 1 from the reference run's checkpoint: tokenizer found through --init_from,
    steps = one epoch counted from the chats, loss only on answers, runs to the end."""
    chats = tmp_path / "chats.jsonl"
    with open(chats, "w") as f:
        for i in range(14):
            f.write(json.dumps({"messages": [{"role": "user", "content": f"Write a function returning {i}."},
                                             {"role": "assistant", "content": f"def f():\n    return {i}\n"}]}) + "\n")
    workdir = str(tmp_path / "sft")
    rc = in_process_train(workdir, "--gin_file", "train/tiny/sft_stage1.gin", "--data", str(chats),
                          "--init_from", reference_run, "--log_every", "1", *gin_args(SMALL_GIN + [
                              "TrainConfig.steps = None", "LoaderConfig.num_epochs = 1", "LoaderConfig.seq_len = 128",
                              "LoaderConfig.global_batch_size = 2", "SFTConfig.max_length = 128",
                              "SFTConfig.system_prompt = ''", "TrainConfig.eval_holdout_records = 2",
                              "TrainConfig.eval_every = 2"]))
    assert rc == 0
    summary = json.load(open(os.path.join(workdir, "summary.json")))
    assert summary["status"] == "completed" and summary["data"]["chats"] == 12
    assert summary["steps"] == summary["step"] >= 2  # one epoch of 12 chats, counted before training
    assert os.path.isfile(os.path.join(workdir, "tokenizer", "tokenizer.model"))
    metrics = [json.loads(x) for x in open(os.path.join(workdir, "metrics.jsonl")) if '"loss"' in x]
    assert len(metrics) == summary["steps"] and all(np.isfinite(r["loss"]) for r in metrics)
    # loss only on answers: far fewer loss tokens than real tokens
    assert all(0 < r["loss_tokens"] < r["data/tokens"] / 2 for r in metrics)
    assert rows(workdir, "eval_loss")
    assert "SFTConfig.max_length = 128" in open(os.path.join(workdir, "config.gin")).read()
