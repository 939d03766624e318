"""The pure, jitted train step: NNX split/merge + `jax.jit` over the mesh.

State is a plain pytree, so `jax.jit` (not `nnx.jit`: ~0.13 ms vs ~1 ms of Python per step)
compiles one function of arrays:

    TrainState = {"step": int32 [], "params": pure dict (nnx.Param state), "opt_state": optax state}
    batch      = {"inputs", "targets", "segment_ids", "positions": int32 [B, L],
                  "loss_weights": float32 [B, L]}

The graph definition of the model is static (closed over); `nnx.merge(graphdef, params)`
rebuilds the module inside the trace.

Loss: sum(ce * loss_weights) / sum(loss_weights) over the WHOLE global batch. With M
micro-batches the denominator is computed once from the full batch and every micro-batch
contributes sum(ce * w) / total_w, so the accumulated loss and gradient equal the big-batch
ones exactly (up to float summation order): 4 micro-batches == 1 batch of 4x the rows.
Micro-batch m takes rows m, m+M, m+2M, ... so that, with rows sharded contiguously over the
data axes, each micro-batch stays spread over every device (no data movement).

Shardings: parameters by the logical rules (`model.sharding.param_shardings`), optimizer
state as XLA lays out `optimizer.init` of those parameters, batch rows over ("data",
"fsdp"). The state argument is donated: the old parameters' memory holds the new ones.

Dimension legend: B global batch, M micro-batches, L sequence length, V vocab.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

BATCH_KEYS = ("inputs", "targets", "segment_ids", "positions", "loss_weights")


def to_pure(tree: Any) -> Any:
    """An nnx.State (of Variables or raw leaves) -> nested dict of leaves; dicts pass through."""
    if isinstance(tree, nnx.State):
        return tree.to_pure_dict()
    return tree


def batch_axes(mesh: Mesh) -> tuple[str, ...]:
    from opencoder_jax.model.sharding import BATCH_AXES

    return tuple(a for a in BATCH_AXES if a in mesh.shape)


def batch_shardings(mesh: Mesh) -> dict[str, NamedSharding]:
    s = NamedSharding(mesh, PartitionSpec(batch_axes(mesh)))
    return {k: s for k in BATCH_KEYS}


def data_parallel_size(mesh: Mesh) -> int:
    n = 1
    for a in batch_axes(mesh):
        n *= mesh.shape[a]
    return n


def check_batch(global_batch: int, num_microbatches: int, mesh: Mesh, process_count: int = 1) -> None:
    """Reject, before compiling, a batch that does not split over micro-batches, hosts and devices."""
    dp = data_parallel_size(mesh)
    if num_microbatches < 1:
        raise ValueError(f"num_microbatches must be >= 1, got {num_microbatches}")
    if global_batch % num_microbatches:
        raise ValueError(f"global batch {global_batch} is not divisible by {num_microbatches} micro-batches")
    micro = global_batch // num_microbatches
    if micro % dp:
        raise ValueError(f"micro-batch of {micro} rows (global batch {global_batch} / {num_microbatches}) does not "
                         f"divide over the mesh's {dp} data-parallel devices (data x fsdp of {dict(mesh.shape)})")
    if global_batch % process_count:
        raise ValueError(f"global batch {global_batch} is not divisible by {process_count} processes")


def cross_entropy_sum(logits: jax.Array, targets: jax.Array, weights: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(sum(ce * w), sum(w)) in float32; logits [B, L, V], targets/weights [B, L]."""
    ce = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
    w = weights.astype(jnp.float32)
    return jnp.sum(ce * w), jnp.sum(w)


def model_loss_sum(graphdef, params, batch) -> tuple[jax.Array, jax.Array]:
    """Forward pass of the merged model; (sum(ce * w), sum(w))."""
    model = nnx.merge(graphdef, nnx.State(params))
    logits = model(batch["inputs"], segment_ids=batch["segment_ids"], positions=batch["positions"])
    return cross_entropy_sum(logits, batch["targets"], batch["loss_weights"])


def split_microbatches(batch: dict, num_microbatches: int, mesh: Mesh | None) -> dict:
    """[B, ...] -> [M, B/M, ...], micro-batch m = rows m, m+M, ... (stays spread over devices)."""
    def one(x):
        b = x.shape[0]
        y = x.reshape((b // num_microbatches, num_microbatches) + x.shape[1:]).swapaxes(0, 1)
        if mesh is not None:
            y = jax.lax.with_sharding_constraint(y, NamedSharding(mesh, PartitionSpec(None, batch_axes(mesh))))
        return y
    return {k: one(v) for k, v in batch.items()}


@dataclasses.dataclass(frozen=True)
class StepFns:
    """The jitted functions of one run and the shardings they were built with."""

    train_step: Callable     # (state, batch) -> (state, metrics)
    eval_step: Callable      # (params, batch) -> (sum ce*w, sum w)
    state_shardings: Any
    batch_shardings: dict


def make_train_step(graphdef, tx: optax.GradientTransformation, schedule: Callable, *,
                    num_microbatches: int = 1, mesh: Mesh | None = None, param_shardings: Any = None):
    """The un-jitted step function (state, batch) -> (new_state, metrics)."""

    def constrain_like_params(tree):
        if mesh is None or param_shardings is None:
            return tree
        return jax.lax.with_sharding_constraint(tree, param_shardings)

    def loss_fn(params, micro, total_w):
        loss_sum, _ = model_loss_sum(graphdef, params, micro)
        return loss_sum / total_w

    grad_fn = jax.value_and_grad(loss_fn)

    def train_step(state, batch):
        params = state["params"]
        total_w = jnp.maximum(jnp.sum(batch["loss_weights"].astype(jnp.float32)), 1.0)
        if num_microbatches == 1:
            loss, grads = grad_fn(params, batch, total_w)
        else:
            micro = split_microbatches(batch, num_microbatches, mesh)

            def body(carry, mb):
                loss_acc, grad_acc = carry
                loss, grads = grad_fn(params, mb, total_w)
                grad_acc = jax.tree.map(jnp.add, grad_acc, grads)
                return (loss_acc + loss, constrain_like_params(grad_acc)), None

            zeros = constrain_like_params(jax.tree.map(jnp.zeros_like, params))
            (loss, grads), _ = jax.lax.scan(body, (jnp.zeros((), jnp.float32), zeros), micro)
        grad_norm = optax.global_norm(grads)
        updates, opt_state = tx.update(grads, state["opt_state"], params)
        new_params = optax.apply_updates(params, updates)
        metrics = {
            "loss": loss,
            "grad_norm": grad_norm,
            "learning_rate": jnp.asarray(schedule(state["step"]), jnp.float32),
            "loss_weight": total_w,
        }
        return {"step": state["step"] + 1, "params": new_params, "opt_state": opt_state}, metrics

    return train_step


def make_eval_step(graphdef):
    def eval_step(params, batch):
        return model_loss_sum(graphdef, params, batch)
    return eval_step


def state_shardings_for(tx: optax.GradientTransformation, abstract_params: Any, param_shardings: Any, mesh: Mesh):
    """Shardings of the whole TrainState: params by the rules, optimizer state as XLA lays out
    `tx.init` of sharded params (moments follow their parameter; counters replicated)."""
    replicated = NamedSharding(mesh, PartitionSpec())
    abs_in = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract_params, param_shardings)
    compiled = jax.jit(tx.init).lower(abs_in).compile()
    opt_shardings = compiled.output_shardings
    return {"step": replicated, "params": param_shardings, "opt_state": opt_shardings}, compiled


def jit_step_fns(graphdef, tx, schedule, *, mesh: Mesh, param_shardings: Any, state_shardings: Any,
                 num_microbatches: int = 1, donate: bool = True) -> StepFns:
    """`jax.jit` the train and eval steps with explicit in/out shardings and state donation."""
    replicated = NamedSharding(mesh, PartitionSpec())
    b_shard = batch_shardings(mesh)
    train = make_train_step(graphdef, tx, schedule, num_microbatches=num_microbatches, mesh=mesh,
                            param_shardings=param_shardings)
    metric_shardings = {k: replicated for k in ("loss", "grad_norm", "learning_rate", "loss_weight")}
    train_jit = jax.jit(train, in_shardings=(state_shardings, b_shard), out_shardings=(state_shardings, metric_shardings),
                        donate_argnums=(0,) if donate else ())
    eval_jit = jax.jit(make_eval_step(graphdef), in_shardings=(param_shardings, b_shard),
                       out_shardings=(replicated, replicated))
    return StepFns(train_jit, eval_jit, state_shardings, b_shard)


def abstract_batch(global_batch: int, seq_len: int, shardings: dict) -> dict:
    dtypes = {"loss_weights": jnp.float32}
    return {k: jax.ShapeDtypeStruct((global_batch, seq_len), dtypes.get(k, jnp.int32), sharding=s)
            for k, s in shardings.items()}


def abstract_state(state: Any) -> Any:
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)


def memory_report(compiled) -> str:
    """One line from XLA's memory analysis of a compiled step ('' when the backend has none)."""
    try:
        m = compiled.memory_analysis()
    except Exception:  # some backends do not implement it
        return ""
    if m is None:
        return ""

    def gib(n):
        return f"{n / 2**30:.3f} GiB"

    fields = [("arguments", "argument_size_in_bytes"), ("outputs", "output_size_in_bytes"),
              ("temporaries", "temp_size_in_bytes"), ("aliased", "alias_size_in_bytes"),
              ("generated code", "generated_code_size_in_bytes")]
    parts = [f"{name} {gib(getattr(m, attr))}" for name, attr in fields if hasattr(m, attr)]
    peak = getattr(m, "peak_memory_in_bytes", None)
    if peak:
        parts.append(f"peak {gib(peak)}")
    return "compiled train step memory per device: " + ", ".join(parts)
