"""Run in a subprocess with 8 CPU devices: sharded loss/grads equal the single-device ones."""
import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from opencoder_jax.model import sharding  # noqa: E402
from opencoder_jax.model.config import ModelConfig  # noqa: E402
from opencoder_jax.model.transformer import create_model, create_sharded_model  # noqa: E402

CFG = ModelConfig(vocab_size=256, embed_dim=64, num_layers=2, num_heads=4, num_kv_heads=2, head_dim=16,
                  mlp_dim=128, dtype="float32")


def loss_fn(graphdef, state, batch):
    logits = nnx.merge(graphdef, state)(batch["inputs"], batch["segment_ids"], batch["positions"])
    logp = jax.nn.log_softmax(logits)
    nll = -jnp.take_along_axis(logp, batch["targets"][..., None], -1)[..., 0]
    w = (batch["segment_ids"] > 0).astype(jnp.float32)
    return jnp.sum(nll * w) / jnp.sum(w)


def replicated_bytes(state) -> float:
    """Fraction of parameter bytes held whole on every device (measured on the real arrays)."""
    leaves = jax.tree.leaves(state)
    total = sum(x.nbytes for x in leaves)
    return sum(x.nbytes for x in leaves if x.sharding.is_fully_replicated) / total


def kernel_per_shard_err() -> float:
    """Our Pallas kernel (interpret mode) run per shard under a (2,2,2) mesh vs the reference."""
    from opencoder_jax.model.attention import attention, xla_attention

    keys = jax.random.split(jax.random.key(0), 3)
    q = jax.random.normal(keys[0], (4, 96, 4, 64))
    k, v = (jax.random.normal(kk, (4, 96, 2, 64)) for kk in keys[1:])
    seg = jnp.concatenate([jnp.ones((4, 50), jnp.int32), jnp.full((4, 40), 2, jnp.int32),
                           jnp.zeros((4, 6), jnp.int32)], 1)
    with jax.set_mesh(sharding.make_mesh((2, 2, 2))):
        out = jax.jit(lambda *a: attention(*a, impl="pallas_gpu", interpret=True))(q, k, v, seg)
    diff = jnp.where((seg > 0)[..., None, None], out - xla_attention(q, k, v, seg), 0)
    return float(jnp.abs(diff).max())


def main():
    rng = np.random.default_rng(0)
    B, L = 8, 16
    toks = rng.integers(0, CFG.vocab_size, (B, L + 1))
    seg = np.ones((B, L), np.int32)
    seg[:, 10:] = 2
    seg[0, 14:] = 0
    pos = np.where(np.arange(L) < 10, np.arange(L), np.arange(L) - 10).astype(np.int32)
    batch = {"inputs": toks[:, :-1].astype(np.int32), "targets": toks[:, 1:].astype(np.int32),
             "segment_ids": seg, "positions": np.broadcast_to(pos, (B, L)).copy()}
    ref_model = create_model(CFG, seed=0)
    graphdef, state = nnx.split(ref_model)
    ref_loss, ref_grads = jax.jit(jax.value_and_grad(loss_fn, argnums=1), static_argnums=0)(graphdef, state, batch)
    out = {}
    for shape in [(8, 1, 1), (2, 2, 2), (1, 4, 2), (1, 8, 1)]:
        mesh = sharding.make_mesh(shape)
        model = create_sharded_model(CFG, mesh, seed=0)
        g, s = nnx.split(model)
        data = jax.device_put(batch, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(sharding.BATCH_AXES)))
        with jax.set_mesh(mesh):
            loss, grads = jax.jit(jax.value_and_grad(loss_fn, argnums=1), static_argnums=0)(g, s, data)
        grad_err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads)))
        param_err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves(s), jax.tree.leaves(state)))
        n_shards = [len({d.id for d in x.sharding.device_set}) for x in jax.tree.leaves(s)]
        out[str(shape)] = {"loss_err": abs(float(loss) - float(ref_loss)), "grad_err": grad_err,
                           "param_err": param_err,
                           "replicated_fraction": sharding.replicated_fraction(nnx.state(model, nnx.Param), mesh),
                           "replicated_bytes_fraction": replicated_bytes(nnx.state(model, nnx.Param)),
                           "max_devices_per_param": max(n_shards)}
    out["kernel_per_shard_err"] = kernel_per_shard_err()
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
