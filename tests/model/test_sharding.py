"""Sharding over an 8-device CPU mesh (a subprocess: XLA_FLAGS must precede jax's import)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jax.sharding import PartitionSpec

from opencoder_jax.model import sharding


def test_logical_rules_map_names_and_replicate_undividable_dims():
    class FakeMesh:
        shape = {"data": 2, "fsdp": 4, "tensor": 2}

    assert sharding.logical_to_mesh(("embed", "mlp")) == PartitionSpec("fsdp", "tensor")
    assert sharding.logical_to_mesh(("batch", "length")) == PartitionSpec(("data", "fsdp"), None)
    assert sharding.logical_to_mesh(("layers", "embed", "heads", "head_dim")) == PartitionSpec(None, "fsdp", "tensor", None)
    # 14 heads do not split over 4 tensor shards: that dim is replicated instead of failing.
    mesh = FakeMesh()
    mesh.shape = {"data": 1, "fsdp": 2, "tensor": 4}
    assert sharding.logical_to_mesh(("embed", "heads"), (2240, 14), mesh) == PartitionSpec("fsdp", None)
    with pytest.raises(KeyError):
        sharding.logical_to_mesh(("sequence_parallel",))


@pytest.fixture(scope="module")
def sharded_results():
    script = Path(__file__).with_name("sharding_check.py")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("shape", ["(8, 1, 1)", "(2, 2, 2)", "(1, 4, 2)", "(1, 8, 1)"])
def test_sharded_loss_and_grads_equal_single_device(sharded_results, shape):
    r = sharded_results[shape]
    assert r["param_err"] < 1e-6  # the same initial parameters, created directly in shards
    assert r["loss_err"] < 1e-5
    assert r["grad_err"] < 1e-5


@pytest.mark.parametrize("shape", ["(1, 8, 1)", "(1, 4, 2)", "(2, 2, 2)"])
def test_fsdp_replicates_almost_nothing(sharded_results, shape):
    r = sharded_results[shape]
    assert r["replicated_fraction"] < 0.02  # only the norm scales
    assert r["replicated_bytes_fraction"] < 0.02


def test_kernel_runs_per_shard_under_a_mesh(sharded_results):
    assert sharded_results["kernel_per_shard_err"] < 1e-5
