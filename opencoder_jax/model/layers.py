"""Building blocks of the decoder: embedding, RMSNorm, RoPE, SwiGLU MLP.

Weights are stored in `param_dtype` and cast to the compute `dtype` where used; norms and
RoPE run in float32 (as Hugging Face Llama does). Every parameter carries logical axis names
(`out_sharding` metadata) that sharding.py maps onto the mesh.

Dimension legend: B batch, L length, E embed, H heads, K kv heads, D head dim, F ffn, V vocab.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

INIT_STD = 0.02  # Llama's initializer_range


def normal_param(rngs: nnx.Rngs, shape, dtype, names) -> nnx.Param:
    init = nnx.initializers.normal(INIT_STD)
    return nnx.Param(init(rngs.params(), shape, dtype), logical_axes=tuple(names))


class Embedder(nnx.Module):
    def __init__(self, vocab_size: int, embed_dim: int, *, param_dtype, rngs: nnx.Rngs):
        self.embedding = normal_param(rngs, (vocab_size, embed_dim), param_dtype, ("vocab", "embed"))

    def __call__(self, tokens: jax.Array, dtype) -> jax.Array:
        """tokens [B,L] -> [B,L,E]."""
        from opencoder_jax.model.sharding import shard_activation

        # Gather the (FSDP/vocab-sharded) table whole, in the compute dtype, before the lookup:
        # XLA cannot partition a gather from a 2-D-sharded table without a full rematerialisation.
        table = shard_activation(self.embedding[...].astype(dtype), (None, None))
        return jnp.take(table, tokens, axis=0)

    def attend(self, x: jax.Array) -> jax.Array:
        """Tied output head: x [B,L,E] -> logits [B,L,V] float32."""
        return jnp.einsum("ble,ve->blv", x, self.embedding[...].astype(x.dtype), preferred_element_type=jnp.float32)


class RMSNorm(nnx.Module):
    def __init__(self, dim: int, *, eps: float, param_dtype):
        self.scale = nnx.Param(jnp.ones((dim,), param_dtype), logical_axes=("norm",))
        self.eps = eps

    def __call__(self, x: jax.Array) -> jax.Array:
        x32 = x.astype(jnp.float32)
        y = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
        return (y * self.scale[...].astype(jnp.float32)).astype(x.dtype)


def rope_frequencies(positions: jax.Array, head_dim: int, theta: float) -> tuple[jax.Array, jax.Array]:
    """positions [B,L] -> (cos, sin) [B,L,D] float32, Hugging Face Llama's rotate-half layout."""
    inv_freq = 1.0 / (theta ** (jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim))
    freqs = positions.astype(jnp.float32)[..., None] * inv_freq
    emb = jnp.concatenate([freqs, freqs], axis=-1)
    return jnp.cos(emb), jnp.sin(emb)


def apply_rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """x [B,L,H,D] rotated by cos/sin [B,L,D] (rotate_half: (-x2, x1))."""
    x32 = x.astype(jnp.float32)
    half = x.shape[-1] // 2
    rotated = jnp.concatenate([-x32[..., half:], x32[..., :half]], axis=-1)
    out = x32 * cos[:, :, None, :] + rotated * sin[:, :, None, :]
    return out.astype(x.dtype)


class MLP(nnx.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, embed_dim: int, mlp_dim: int, *, param_dtype, rngs: nnx.Rngs):
        self.gate_proj = Projection(rngs, (embed_dim, mlp_dim), param_dtype, ("embed", "mlp"))
        self.up_proj = Projection(rngs, (embed_dim, mlp_dim), param_dtype, ("embed", "mlp"))
        self.down_proj = Projection(rngs, (mlp_dim, embed_dim), param_dtype, ("mlp", "embed"))

    def __call__(self, x: jax.Array) -> jax.Array:
        gate = self.gate_proj("ble,ef->blf", x)
        up = self.up_proj("ble,ef->blf", x)
        return self.down_proj("blf,fe->ble", jax.nn.silu(gate) * up)


class Projection(nnx.Module):
    """A bias-free linear map with a kernel of any rank, applied by an einsum equation."""

    def __init__(self, rngs: nnx.Rngs, shape, param_dtype, names):
        self.kernel = normal_param(rngs, shape, param_dtype, names)

    def __call__(self, equation: str, x: jax.Array) -> jax.Array:
        return jnp.einsum(equation, x, self.kernel[...].astype(x.dtype))
