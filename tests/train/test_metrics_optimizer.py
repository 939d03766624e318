"""FLOPs/MFU accounting, the TensorBoard event writer, the loss curve, the weight-decay mask."""
import json
import struct

import numpy as np
import pytest

from opencoder_jax.model.config import ModelConfig
from opencoder_jax.train import metrics, optimizer


def test_flops_per_token_counts_matmul_weights_and_causal_attention():
    cfg = ModelConfig(vocab_size=5, embed_dim=4, num_layers=1, num_heads=2, num_kv_heads=1, head_dim=2, mlp_dim=3)
    f = metrics.flops_per_token(cfg, seq_len=8)
    matmul_params = 4 * 2 * 2 + 2 * 4 * 1 * 2 + 2 * 2 * 4 + 3 * 4 * 3 + 4 * 5   # q, k+v, o, SwiGLU, lm head
    assert f["weights"] == 6 * matmul_params
    assert f["attention"] == 6 * 1 * 8 * 2 * 2  # 6 N L H D: half of 12 N L H D (causal)
    assert f["total"] == f["weights"] + f["attention"]
    # 1.5B at 4096: the weight term is 6 x (non-embedding params - norms + lm head).
    big = ModelConfig(vocab_size=96640, embed_dim=2240, num_layers=24, num_heads=14, num_kv_heads=14, head_dim=160,
                      mlp_dim=6144)
    norms = 2 * 24 * 2240 + 2240
    assert metrics.flops_per_token(big, 4096)["weights"] == 6 * (big.num_params() - 96640 * 2240 - norms)


def test_peak_table_and_mfu():
    assert metrics.peak_flops_per_device("NVIDIA H100 80GB HBM3") == 989.5e12
    assert metrics.peak_flops_per_device("NVIDIA H200") == 989.5e12
    assert metrics.peak_flops_per_device("TPU v4") == 275e12
    assert metrics.peak_flops_per_device("TPU v5 lite") == 197e12
    assert metrics.peak_flops_per_device("TPU v5p") == 459e12
    assert metrics.peak_flops_per_device("cpu") == metrics.cpu_peak_flops()
    with pytest.raises(ValueError, match="peak"):
        metrics.peak_flops_per_device("Mystery Accelerator 9000")
    assert metrics.mfu(1000.0, 1e9, 2e12) == pytest.approx(0.5)


def test_tensorboard_events_are_valid_tfrecords(tmp_path):
    w = metrics.MetricsWriter(str(tmp_path))
    w.write({"step": 3, "loss": 2.5, "learning_rate": 1e-3, "note": "skipped"})
    w.write({"step": 4, "eval_loss": float("nan")})  # non-finite: kept in jsonl, not in TB
    w.close()
    rows = metrics.read_metrics(str(tmp_path / "metrics.jsonl"))
    assert rows[0] == {"step": 3, "loss": 2.5, "learning_rate": 1e-3, "note": "skipped"} and rows[1]["step"] == 4
    records = metrics.read_tfrecords(w._tb.path)  # CRCs checked
    assert len(records) == 2  # file_version + one scalar event
    assert b"brain.Event:2" in records[0]
    ev = records[1]
    assert b"loss" in ev and b"learning_rate" in ev and b"note" not in ev
    assert struct.pack("<f", 2.5) in ev


def test_crc32c_known_vector():
    assert metrics._crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def test_loss_curve_png(tmp_path):
    rows = [{"step": i, "loss": 5.0 - 0.1 * i} for i in range(1, 6)] + [{"step": 5, "eval_loss": 4.7}]
    path = metrics.plot_loss_curve(rows, str(tmp_path / "curve.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert metrics.plot_loss_curve([], str(tmp_path / "none.png")) is None


def test_weight_decay_mask_skips_norms_and_embeddings():
    params = {"embedder": {"embedding": np.zeros((4, 2))}, "final_norm": {"scale": np.zeros(2)},
              "layers": {"attn_norm": {"scale": np.zeros((3, 2))}, "mlp": {"up_proj": {"kernel": np.zeros((3, 2, 4))}}},
              "lm_head": {"kernel": np.zeros((2, 4))}}
    mask = optimizer.decay_mask(params)
    assert mask == {"embedder": {"embedding": False}, "final_norm": {"scale": False},
                    "layers": {"attn_norm": {"scale": False}, "mlp": {"up_proj": {"kernel": True}}},
                    "lm_head": {"kernel": True}}
    assert optimizer.decay_mask(params, decay_embeddings=True)["embedder"]["embedding"] is True


def test_adamw_decays_only_masked_parameters():
    import jax.numpy as jnp
    import optax

    tx = optimizer.make_optimizer(optimizer.OptimizerConfig(weight_decay=0.5, clip_norm=1.0), lambda step: 0.1)
    params = {"final_norm": {"scale": jnp.ones(2)}, "lm_head": {"kernel": jnp.ones((2, 2))}}
    zeros = {"final_norm": {"scale": jnp.zeros(2)}, "lm_head": {"kernel": jnp.zeros((2, 2))}}
    updates, _ = tx.update(zeros, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(new["final_norm"]["scale"], 1.0)          # no decay
    np.testing.assert_allclose(new["lm_head"]["kernel"], 1.0 - 0.1 * 0.5)  # decoupled: lr * wd * w
    json.dumps(optimizer.OptimizerConfig().__dict__)
