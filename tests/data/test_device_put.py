"""Host batches -> global jax Arrays on an 8-device CPU mesh (fresh process for XLA_FLAGS)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np, jax
    from opencoder_jax.data import device_put
    assert jax.device_count() == 8, jax.devices()
    batch = {"inputs": np.arange(8 * 6, dtype=np.int32).reshape(8, 6),
             "loss_weights": np.ones((8, 6), np.float32), "stats/tokens": np.int64(48)}
    for shape, axes, batch_axes in [((8,), ("data",), ("data",)),
                                    ((4, 2), ("data", "fsdp"), ("data", "fsdp")),
                                    ((4, 2), ("data", "model"), ("data",))]:
        mesh = device_put.make_mesh(shape, axes)
        assert all(t == jax.sharding.AxisType.Auto for t in mesh.axis_types)
        out = device_put.to_global_batch(batch, mesh, batch_axes)
        assert set(out) == {"inputs", "loss_weights"}
        x = out["inputs"]
        assert x.shape == (8, 6) and x.dtype == np.int32
        np.testing.assert_array_equal(np.asarray(x), batch["inputs"])
        rows_per_shard = 8 // int(np.prod([mesh.shape[a] for a in batch_axes]))
        for shard in x.addressable_shards:
            assert shard.data.shape == (rows_per_shard, 6)
            np.testing.assert_array_equal(np.asarray(shard.data), batch["inputs"][shard.index])
        total = jax.jit(lambda b: (b["inputs"] * b["loss_weights"]).sum())(out)
        assert float(total) == float(batch["inputs"].sum())
    print("OK")
""")


def test_global_batch_on_eight_cpu_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]
