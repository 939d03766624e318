"""Every stage file of every size parses and builds its configs, optimizer and abstract model
(1.5B/8B through abstract shapes: nothing is allocated)."""
import glob
import os

import pytest

from opencoder_jax import config as config_lib

SIZES = ("tiny", "1_5b", "8b")
STAGES = ("pretrain", "anneal", "sft_stage1", "sft_stage2")
PARAMS = {"tiny": 5_048_576, "1_5b": 1_905_650_880, "8b": 7_771_262_976}


def build(path):
    import jax
    from flax import nnx

    from opencoder_jax.data import loader, mixture, sft  # noqa: F401  (register configurables)
    from opencoder_jax.model import transformer
    from opencoder_jax.model.config import ModelConfig
    from opencoder_jax.model.sharding import make_mesh
    from opencoder_jax.train import loop, optimizer, schedules, step

    config_lib.parse_gin([path])
    tc, model, lc = loop.TrainConfig(), ModelConfig(), loader.LoaderConfig()
    sc, oc = schedules.ScheduleConfig(), optimizer.OptimizerConfig()
    sched = schedules.make_schedule(sc, total_steps=tc.steps or 1000)
    tx = optimizer.make_optimizer(oc, sched)
    step.check_batch(lc.global_batch_size, tc.num_microbatches, make_mesh((1, 1, 1), jax.devices()[:1]))
    _, abstract, rest = nnx.split(transformer.abstract_model(model), nnx.Param, ...)
    opt = jax.eval_shape(tx.init, abstract.to_pure_dict())
    assert not jax.tree.leaves(rest)
    n = sum(x.size for x in jax.tree.leaves(abstract.to_pure_dict()))
    return tc, model, lc, sc, oc, n, opt, sft.SFTConfig(), mixture.MixtureConfig()


@pytest.mark.parametrize("size", SIZES)
def test_every_stage_file_builds(size):
    for stage in STAGES:
        path = os.path.join(config_lib.GIN_CONFIG_DIR, "train", size, f"{stage}.gin")
        tc, model, lc, sc, oc, n, opt, sft_cfg, mix = build(path)
        assert tc.stage == stage
        assert n == model.num_params() == PARAMS[size]
        if stage.startswith("sft"):
            assert lc.pack_mode == "whole" and sc.kind == "cosine" and oc.weight_decay == 0.0
            assert sft_cfg.max_length == lc.seq_len  # the stage's length reaches the SFT tokenizer
        else:
            assert lc.pack_mode == "concat"
            assert sc.kind == ("wsd" if stage == "pretrain" else "exponential")
            assert set(mix.weights) == ({"raw_code", "code_web"} if stage == "pretrain" else
                                        {"refinecode", "algorithmic_corpus", "synthetic_code_snippets", "code_textbooks"})
        if size != "tiny":  # the paper's numbers
            if stage == "pretrain":
                assert (sc.warmup_steps, sc.peak_lr, sc.decay_steps) == (2000, 3e-4, 0)
                assert lc.seq_len == 4096 and lc.global_batch_size == (1024 if size == "1_5b" else 2048)
            if stage == "sft_stage1":
                assert (lc.global_batch_size, lc.seq_len, sc.peak_lr, sc.warmup_steps, lc.num_epochs) == \
                    (4096, 1216, 2e-5, 100, 1)
            if stage == "sft_stage2":
                assert (lc.global_batch_size, lc.seq_len, sc.peak_lr, sc.warmup_steps, lc.num_epochs) == \
                    (512, 1500, 5e-5, 100, 3)
        else:
            assert tc.steps == 50 and sc.warmup_steps <= 10 and lc.worker_count == 0


def test_8b_second_pretrain_phase():
    path = os.path.join(config_lib.GIN_CONFIG_DIR, "train", "8b", "pretrain_long_context.gin")
    tc, model, lc, sc, *_ = build(path)
    assert (lc.global_batch_size, lc.seq_len, tc.steps, sc.kind) == (1024, 8192, 298023, "wsd")


def test_no_stray_stage_files():
    found = {os.path.relpath(p, config_lib.GIN_CONFIG_DIR) for p in glob.glob(str(config_lib.GIN_CONFIG_DIR / "train/*/*.gin"))}
    want = {f"train/{s}/{g}.gin" for s in SIZES for g in STAGES} | {"train/8b/pretrain_long_context.gin"}
    assert found == want
