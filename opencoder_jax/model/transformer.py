"""The OpenCoder decoder: Llama-style pre-norm blocks, stacked and scanned.

    tokens -> embed -> N x [x + attn(norm(x)); x + mlp(norm(x))] -> norm -> head -> logits

Layers are built once with `nnx.vmap` (every weight gets a leading N axis, logical name
"layers") and run with `jax.lax.scan` over the split layer state; we scan the state ourselves
rather than with `nnx.scan` so the remat policy and the KV cache (a carried buffer updated in
place) are plain jax. Packed rows: attention stays inside equal non-zero segment ids, RoPE
uses the given positions.

KV cache: `init_cache` allocates k/v [N,B,K,S,D] and a slot-validity mask [B,S]. `decode`
writes T new tokens at slots start..start+T-1 of every row and lets each attend to every
valid slot up to its own. Prefill is decode(T = prompt bucket, start = 0) with valid=False
on left padding; a generation step is decode(T = 1).

Dimension legend: B batch, L length, T new tokens, S cache slots, E embed, H query heads,
K kv heads, D head dim, F ffn, V vocab, N layers.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx
from jax.ad_checkpoint import checkpoint_name

from opencoder_jax.model import attention as attention_lib
from opencoder_jax.model.config import ModelConfig
from opencoder_jax.model.layers import MLP, Embedder, Projection, RMSNorm, apply_rope, rope_frequencies
from opencoder_jax.model.sharding import shard_activation


class KVCache(NamedTuple):
    k: jax.Array      # [N,B,K,S,D] (kv-head-major: contiguous per-head matmuls when decoding)
    v: jax.Array      # [N,B,K,S,D]
    valid: jax.Array  # [B,S] bool: slot holds a real token


def remat_policy(name: str):
    """Named remat policies -> (use_remat, jax checkpoint policy)."""
    p = jax.checkpoint_policies
    table = {
        "none": (False, None),
        "full": (True, None),
        "save_dots": (True, p.checkpoint_dots),
        "save_dots_no_batch": (True, p.dots_with_no_batch_dims_saveable),
        "save_qkv_proj": (True, p.save_only_these_names("query_proj", "key_proj", "value_proj")),
        "save_qkv_attn_out": (True, p.save_only_these_names("query_proj", "key_proj", "value_proj", "attn_out")),
    }
    if name not in table:
        raise ValueError(f"unknown remat policy {name!r}; choose from {sorted(table)}")
    return table[name]


class Attention(nnx.Module):
    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        E, H, K, D, pd = config.embed_dim, config.num_heads, config.num_kv_heads, config.head_dim, config.param_dtype
        self.q_proj = Projection(rngs, (E, H, D), pd, ("embed", "heads", "head_dim"))
        self.k_proj = Projection(rngs, (E, K, D), pd, ("embed", "kv_heads", "head_dim"))
        self.v_proj = Projection(rngs, (E, K, D), pd, ("embed", "kv_heads", "head_dim"))
        self.o_proj = Projection(rngs, (H, D, E), pd, ("heads", "head_dim", "embed"))
        self.impl = config.attention_impl

    def qkv(self, x: jax.Array, cos: jax.Array, sin: jax.Array):
        """x [B,L,E] -> q [B,L,H,D], k/v [B,L,K,D], RoPE applied to q and k."""
        q = checkpoint_name(self.q_proj("ble,ehd->blhd", x), "query_proj")
        k = checkpoint_name(self.k_proj("ble,ekd->blkd", x), "key_proj")
        v = checkpoint_name(self.v_proj("ble,ekd->blkd", x), "value_proj")
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v

    def output(self, o: jax.Array) -> jax.Array:
        return self.o_proj("blhd,hde->ble", checkpoint_name(o, "attn_out"))

    def __call__(self, x, segment_ids, cos, sin):
        q, k, v = self.qkv(x, cos, sin)
        q = shard_activation(q, ("batch", "length", "act_heads", None))
        o = attention_lib.attention(q, k, v, segment_ids, impl=self.impl, causal=True)
        return self.output(o)


class Block(nnx.Module):
    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        E, pd = config.embed_dim, config.param_dtype
        self.attn_norm = RMSNorm(E, eps=config.norm_eps, param_dtype=pd)
        self.attn = Attention(config, rngs=rngs)
        self.mlp_norm = RMSNorm(E, eps=config.norm_eps, param_dtype=pd)
        self.mlp = MLP(E, config.mlp_dim, param_dtype=pd, rngs=rngs)

    def __call__(self, x, segment_ids, cos, sin):
        x = x + self.attn(self.attn_norm(x), segment_ids, cos, sin)
        x = x + self.mlp(self.mlp_norm(x))
        return shard_activation(x, ("batch", "length", "act_embed"))

    def decode(self, x, cos, sin, k_all, v_all, layer, start, mask):
        """One layer over T new tokens, reading and updating the carried cache in place."""
        h = self.attn_norm(x)
        q, k, v = self.attn.qkv(h, cos, sin)
        zero = jnp.zeros((), jnp.int32)
        index = (layer, zero, zero, start, zero)
        k_all = jax.lax.dynamic_update_slice(k_all, k.transpose(0, 2, 1, 3)[None].astype(k_all.dtype), index)
        v_all = jax.lax.dynamic_update_slice(v_all, v.transpose(0, 2, 1, 3)[None].astype(v_all.dtype), index)
        k_layer = jax.lax.dynamic_index_in_dim(k_all, layer, 0, keepdims=False).astype(q.dtype)
        v_layer = jax.lax.dynamic_index_in_dim(v_all, layer, 0, keepdims=False).astype(q.dtype)
        o = attention_lib.cached_attention(q, k_layer, v_layer, mask)
        x = x + self.attn.output(o)
        x = x + self.mlp(self.mlp_norm(x))
        return x, k_all, v_all


class Transformer(nnx.Module):
    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        self.config = config
        pd = jnp.dtype(config.param_dtype)
        cfg = config.replace(param_dtype=pd)
        self.embedder = Embedder(config.vocab_size, config.embed_dim, param_dtype=pd, rngs=rngs)

        @nnx.split_rngs(splits=config.num_layers)
        @nnx.vmap(in_axes=(0,), out_axes=0, transform_metadata={nnx.PARTITION_NAME: "layers", "logical_axes": "layers"})
        def make_layers(rngs: nnx.Rngs) -> Block:
            return Block(cfg, rngs=rngs)

        self.layers = make_layers(rngs)
        self.final_norm = RMSNorm(config.embed_dim, eps=config.norm_eps, param_dtype=pd)
        if not config.tie_embeddings:
            self.lm_head = Projection(rngs, (config.embed_dim, config.vocab_size), pd, ("embed", "vocab"))

    # -- helpers -------------------------------------------------------------------------
    @property
    def dtype(self):
        return jnp.dtype(self.config.dtype)

    def _head(self, x: jax.Array) -> jax.Array:
        x = self.final_norm(x)
        if self.config.tie_embeddings:
            return self.embedder.attend(x)
        return jnp.einsum("ble,ev->blv", x, self.lm_head.kernel[...].astype(x.dtype),
                          preferred_element_type=jnp.float32)

    def _scan(self, body: Callable, carry, xs=None):
        """Run `body(carry, block, x_i) -> carry` over the N stacked layers."""
        graphdef, state = nnx.split(self.layers)

        def step(carry, inputs):
            layer_state, x_i = inputs
            return body(carry, nnx.merge(graphdef, layer_state), x_i), None

        if self.config.scan_layers:
            carry, _ = jax.lax.scan(step, carry, (state, xs))
            return carry
        for i in range(self.config.num_layers):
            carry, _ = step(carry, jax.tree.map(lambda a, i=i: a[i], (state, xs)))
        return carry

    # -- training / scoring --------------------------------------------------------------
    def __call__(self, tokens: jax.Array, segment_ids: jax.Array | None = None,
                 positions: jax.Array | None = None) -> jax.Array:
        """tokens [B,L] -> logits [B,L,V] float32."""
        B, L = tokens.shape
        if positions is None:
            positions = jnp.broadcast_to(jnp.arange(L, dtype=jnp.int32), (B, L))
        cfg = self.config
        x = shard_activation(self.embedder(tokens, self.dtype), ("batch", "length", "act_embed"))
        cos, sin = rope_frequencies(positions, cfg.head_dim, cfg.rope_theta)

        def body(x, block, _):
            return block(x, segment_ids, cos, sin)

        use_remat, policy = remat_policy(cfg.remat_policy)
        if use_remat:
            body = jax.checkpoint(body, policy=policy, prevent_cse=not cfg.scan_layers)
        x = self._scan(body, x, jnp.arange(cfg.num_layers))
        return self._head(x)

    # -- generation ----------------------------------------------------------------------
    def init_cache(self, batch_size: int, max_len: int, dtype=None) -> KVCache:
        cfg = self.config
        shape = (cfg.num_layers, batch_size, cfg.num_kv_heads, max_len, cfg.head_dim)
        dtype = jnp.dtype(dtype or cfg.dtype)
        return KVCache(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype), jnp.zeros((batch_size, max_len), bool))

    def decode(self, tokens: jax.Array, positions: jax.Array, cache: KVCache, start, valid: jax.Array | None = None,
               *, last_only: bool = False) -> tuple[jax.Array, KVCache]:
        """tokens/positions [B,T] at slots start..start+T-1 -> (logits [B,T or 1,V], cache).

        The caller keeps start + T <= S (dynamic_update_slice would clamp, not fail).
        """
        cfg = self.config
        B, T = tokens.shape
        S = cache.valid.shape[1]
        start = jnp.asarray(start, jnp.int32)
        valid = jnp.ones((B, T), bool) if valid is None else valid.astype(bool)
        slots_valid = jax.lax.dynamic_update_slice(cache.valid, valid, (jnp.zeros((), jnp.int32), start))
        own_slot = start + jnp.arange(T, dtype=jnp.int32)
        mask = slots_valid[:, None, :] & (jnp.arange(S, dtype=jnp.int32)[None, None, :] <= own_slot[None, :, None])
        mask = mask[:, None]  # [B,1,T,S]
        x = self.embedder(tokens, self.dtype)
        cos, sin = rope_frequencies(positions, cfg.head_dim, cfg.rope_theta)

        def body(carry, block, layer):
            x, k_all, v_all = carry
            return block.decode(x, cos, sin, k_all, v_all, layer, start, mask)

        x, k_all, v_all = self._scan(body, (x, cache.k, cache.v), jnp.arange(cfg.num_layers, dtype=jnp.int32))
        if last_only:
            x = x[:, -1:]
        return self._head(x), KVCache(k_all, v_all, slots_valid)


def create_model(config: ModelConfig, seed: int = 0) -> Transformer:
    """A model with unsharded parameters (no mesh needed): tests, conversion, CPU tools."""
    with nnx.use_eager_sharding(False):
        return Transformer(config, rngs=nnx.Rngs(seed))


def abstract_model(config: ModelConfig) -> Transformer:
    """Shapes and dtypes only, nothing allocated (for 1.5B/8B configs on a laptop)."""
    with nnx.use_eager_sharding(False):
        return nnx.eval_shape(lambda: Transformer(config, rngs=nnx.Rngs(0)))


def create_sharded_model(config: ModelConfig, mesh, seed: int = 0) -> Transformer:
    """Parameters created directly in their shards (jit with out_shardings): never whole on one device."""
    from opencoder_jax.model import sharding

    graphdef, abstract_state = nnx.split(abstract_model(config))
    shardings = sharding.param_shardings(abstract_state, mesh)

    @jax.jit
    def init():
        with nnx.use_eager_sharding(False):
            state = nnx.state(Transformer(config, rngs=nnx.Rngs(seed)))
        return jax.lax.with_sharding_constraint(state, shardings)

    with jax.set_mesh(mesh):
        state = init()
    return nnx.merge(graphdef, state)
