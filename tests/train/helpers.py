"""Small shared pieces for the training tests (a small model, a jitted step on a mesh)."""
from __future__ import annotations

SMALL_MODEL = dict(vocab_size=640, embed_dim=64, num_layers=2, num_heads=4, num_kv_heads=2, head_dim=16, mlp_dim=128,
                   dtype="float32", param_dtype="float32", max_seq_len=256)

# The same small model as gin bindings, plus a small loader for CLI runs.
SMALL_GIN = [f"ModelConfig.{k} = {v!r}" for k, v in SMALL_MODEL.items()] + [
    "LoaderConfig.global_batch_size = 4",
    "LoaderConfig.seq_len = 32",
    "LoaderConfig.worker_count = 0",
    "TrainConfig.progress_bar = False",
    "TrainConfig.plot = False",
]


def gin_args(bindings) -> list[str]:
    out = []
    for b in bindings:
        out += ["--gin_param", b]
    return out


def small_config(**kw):
    from opencoder_jax.model.config import ModelConfig

    return ModelConfig(**{**SMALL_MODEL, **kw})


def init_state(config, tx, mesh, seed=0):
    """(graphdef, state, shardings, param_shardings) for `config` on `mesh`."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from opencoder_jax.model import sharding, transformer
    from opencoder_jax.train import step as step_lib

    graphdef, abstract, _ = nnx.split(transformer.abstract_model(config), nnx.Param, ...)
    param_sh = step_lib.to_pure(sharding.param_shardings(abstract, mesh))
    abs_params = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), abstract.to_pure_dict())
    with jax.set_mesh(mesh):
        state_sh, opt_init = step_lib.state_shardings_for(tx, abs_params, param_sh, mesh)

        def init():
            with nnx.use_eager_sharding(False):
                return nnx.state(transformer.Transformer(config, rngs=nnx.Rngs(seed)), nnx.Param).to_pure_dict()

        params = jax.jit(init, out_shardings=param_sh)()
        state = {"step": jax.device_put(jnp.int32(0), state_sh["step"]), "params": params, "opt_state": opt_init(params)}
    return graphdef, state, state_sh, param_sh


def random_batch(rng, batch, length, vocab, segments=True):
    import numpy as np

    toks = rng.integers(3, vocab, (batch, length + 1)).astype(np.int32)
    seg = np.ones((batch, length), np.int32)
    pos = np.tile(np.arange(length, dtype=np.int32), (batch, 1))
    if segments:  # two documents in every row, padding at the end of odd rows
        cut = length // 2
        seg[:, cut:] = 2
        pos[:, cut:] -= cut
        seg[1::2, -3:] = 0
        pos[1::2, -3:] = 0
    w = (seg > 0).astype(np.float32)
    w[:, :2] = 0.0  # some unweighted tokens
    return {"inputs": toks[:, :-1], "targets": toks[:, 1:], "segment_ids": seg, "positions": pos, "loss_weights": w}
