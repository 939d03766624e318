"""Per-host numpy batches -> global jax Arrays sharded over a mesh's data axes.

Each host holds B_host = B / process_count rows; `jax.make_array_from_process_local_data`
assembles the global [B, L] array whose batch dimension is split over `batch_axes` (e.g.
("data",) or ("data", "fsdp")) and whose sequence dimension is replicated.

Dimension legend: B global batch, B_host rows on this host, L sequence length.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def make_mesh(shape: Sequence[int] | None = None, axis_names: Sequence[str] = ("data",)) -> Mesh:
    """A mesh with Auto axis types (sharding propagated by jit); default: all devices on 'data'."""
    shape = (jax.device_count(),) if shape is None else tuple(shape)
    return jax.make_mesh(tuple(shape), tuple(axis_names),
                         axis_types=(jax.sharding.AxisType.Auto,) * len(shape))


def batch_sharding(mesh: Mesh, batch_axes: Sequence[str] = ("data",)) -> NamedSharding:
    """Batch dim over `batch_axes`, everything else replicated."""
    return NamedSharding(mesh, PartitionSpec(tuple(batch_axes)))


def to_global_batch(batch: Mapping[str, np.ndarray], mesh: Mesh,
                    batch_axes: Sequence[str] = ("data",)) -> dict[str, jax.Array]:
    """Host-local arrays [B_host, ...] -> global jax Arrays [B, ...]; `stats/*` counters are skipped."""
    sharding = batch_sharding(mesh, batch_axes)
    out = {}
    for key, local in batch.items():
        if key.startswith("stats/"):
            continue
        local = np.asarray(local)
        global_shape = (local.shape[0] * jax.process_count(),) + local.shape[1:]
        out[key] = jax.make_array_from_process_local_data(sharding, local, global_shape)
    return out
