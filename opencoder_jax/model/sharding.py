"""The device mesh and ONE table from logical axis names to mesh axes (as MaxText's
`logical_axis_rules`).

Mesh axes: `data` (pure data parallel: parameters replicated), `fsdp` (data parallel with
parameters, gradients and optimizer state sharded: ZeRO-3), `tensor` (Megatron-style: heads,
ffn and vocab split). Parameters carry logical names in their `out_sharding` metadata
(set in layers.py); everything that places arrays goes through `logical_to_mesh`.

A dimension whose size the mesh axes do not divide is replicated instead (jax needs even
shards); `replicated_fraction` measures how much of the model that leaves unsharded.

Dimension legend: B batch, L length, E embed, H heads, K kv heads, D head dim, F ffn, V vocab.
"""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

MESH_AXES = ("data", "fsdp", "tensor")

# logical name -> mesh axis (or tuple of axes, or None = replicated). The one table.
LOGICAL_AXIS_RULES: tuple[tuple[str, Any], ...] = (
    ("batch", ("data", "fsdp")),    # activations' batch dim
    ("length", None),                # sequence length (no sequence parallelism)
    ("act_embed", None),             # activations' hidden dim
    ("act_heads", "tensor"),         # activations' head dim
    ("embed", "fsdp"),               # parameters' hidden dim: the FSDP axis
    ("heads", "tensor"),
    ("kv_heads", "tensor"),
    ("head_dim", None),
    ("mlp", "tensor"),
    ("vocab", "tensor"),
    ("layers", None),                # the stacked-layer axis of scanned weights
    ("norm", None),                  # norm scales: tiny, replicated
)
_RULES = dict(LOGICAL_AXIS_RULES)
BATCH_AXES = ("data", "fsdp")


def make_mesh(shape: Sequence[int] | None = None, devices: Sequence[jax.Device] | None = None) -> Mesh:
    """(data, fsdp, tensor) mesh with Auto axis types; default: every device on `fsdp`."""
    n = len(devices) if devices is not None else jax.device_count()
    shape = (1, n, 1) if shape is None else tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise ValueError(f"mesh shape must be (data, fsdp, tensor), got {shape}")
    if math.prod(shape) != n:
        raise ValueError(f"mesh {shape} needs {math.prod(shape)} devices, {n} available")
    kwargs = {} if devices is None else {"devices": list(devices)}
    return jax.make_mesh(shape, MESH_AXES, axis_types=(jax.sharding.AxisType.Auto,) * 3, **kwargs)


def logical_to_mesh(names: Sequence[str | None] | None, shape: Sequence[int] | None = None,
                    mesh: Mesh | None = None) -> PartitionSpec:
    """Logical names -> PartitionSpec; with shape and mesh, undividable dims are replicated."""
    if not names:
        return PartitionSpec()
    used: set[str] = set()
    out = []
    for i, name in enumerate(names):
        axes = _RULES.get(name) if name is not None else None
        if name is not None and name not in _RULES:
            raise KeyError(f"logical axis {name!r} has no rule in LOGICAL_AXIS_RULES")
        if axes is not None:
            tup = (axes,) if isinstance(axes, str) else tuple(axes)
            tup = tuple(a for a in tup if a not in used)  # a mesh axis may shard one dim only
            if mesh is not None:
                tup = tuple(a for a in tup if a in mesh.shape)
            if shape is not None and mesh is not None:
                size = math.prod(mesh.shape[a] for a in tup) if tup else 1
                if size > 1 and shape[i] % size:
                    tup = ()
            used.update(tup)
            axes = None if not tup else (tup[0] if len(tup) == 1 else tup)
        out.append(axes)
    return PartitionSpec(*out)


def variable_names(variable: nnx.Variable) -> tuple[str | None, ...] | None:
    return variable.get_metadata().get("logical_axes")


def param_specs(state: nnx.State, mesh: Mesh | None = None) -> nnx.State:
    """PartitionSpec per variable, from its logical names and shape."""
    def spec(v):
        shape = getattr(v, "shape", None) or getattr(v.get_value(), "shape", None)
        return logical_to_mesh(variable_names(v), shape, mesh)

    return jax.tree.map(spec, state, is_leaf=lambda x: isinstance(x, nnx.Variable))


def param_shardings(state: nnx.State, mesh: Mesh) -> nnx.State:
    """NamedSharding per variable of `state` (a state of Variables, abstract or concrete)."""
    specs = param_specs(state, mesh)
    return jax.tree.map(lambda s: NamedSharding(mesh, s), specs, is_leaf=lambda x: isinstance(x, PartitionSpec))


def replicated_fraction(state: nnx.State, mesh: Mesh) -> float:
    """Fraction of parameter bytes that are not split across the mesh's fsdp/tensor axes."""
    total = replicated = 0
    for v in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, nnx.Variable)):
        value = v.get_value() if isinstance(v, nnx.Variable) else v
        shape = value.shape
        nbytes = math.prod(shape) * np.dtype(value.dtype).itemsize
        spec = logical_to_mesh(variable_names(v) if isinstance(v, nnx.Variable) else None, shape, mesh)
        split = 1
        for axes in spec:
            for a in (axes,) if isinstance(axes, str) else (axes or ()):
                split *= mesh.shape[a] if a != "data" else 1
        total += nbytes
        if split == 1:
            replicated += nbytes
    return replicated / max(total, 1)


def shard_activation(x: jax.Array, names: Sequence[str | None]) -> jax.Array:
    """Constrain an activation's layout when tracing under a mesh; a no-op otherwise."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or not set(MESH_AXES) <= set(mesh.axis_names):
        return x
    spec = logical_to_mesh(names, x.shape, mesh)
    return jax.lax.with_sharding_constraint(x, spec)


def maybe_initialize_distributed(coordinator: str | None = None, num_processes: int | None = None,
                                 process_id: int | None = None) -> bool:
    """`jax.distributed.initialize` when a coordinator is given by flags or the environment.

    Environment: OPENCODER_COORDINATOR, OPENCODER_NUM_PROCESSES, OPENCODER_PROCESS_ID (on
    Cloud TPU / SLURM, jax finds these itself: set OPENCODER_DISTRIBUTED=auto).
    """
    coordinator = coordinator or os.environ.get("OPENCODER_COORDINATOR")
    if os.environ.get("OPENCODER_DISTRIBUTED") == "auto" and not coordinator:
        jax.distributed.initialize()
        return True
    if not coordinator:
        return False
    num_processes = num_processes if num_processes is not None else int(os.environ["OPENCODER_NUM_PROCESSES"])
    process_id = process_id if process_id is not None else int(os.environ["OPENCODER_PROCESS_ID"])
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)
    return True
