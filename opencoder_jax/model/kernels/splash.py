"""TPU attention: a thin wrapper over jax's Pallas `splash_attention` kernel.

The kernel itself (`jax.experimental.pallas.ops.tpu.splash_attention`) is jax's, well
kept and not ours to rewrite; this module only adapts our layout and conventions:

- layout: ours is q [B, L, H, D], k/v [B, L, K, D]; splash takes one sequence at a time
  as q [H, L, D], k/v [K, L, D], so we transpose and `vmap` over the batch.
- GQA: splash's "MHA" kernel accepts K kv heads with H % K == 0 and maps query head h
  to kv head h // (H // K) itself, so K/V are not repeated.
- masks: a static causal (or full) `MultiHeadMask` built at trace time for the padded
  length, plus `SegmentIds` for packed rows. Splash allows attention wherever the ids
  are equal, so padding tokens (id 0) would attend among themselves; we zero the
  output rows of id 0 afterwards (which also zeroes their gradient), matching the
  other implementations (padding rows give 0).
- scale: splash computes q.k without scaling, so q is multiplied by sm_scale first.
- padding: L is padded to a multiple of the block size (splash needs blocks that are
  multiples of 128 and lengths that are multiples of the blocks); padded tokens get
  segment id 0. D is padded with zeros to a multiple of 128 (TPU lane width) when it
  is not one already (160 -> 256 for OpenCoder-1.5B).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental.pallas.ops.tpu import splash_attention as sa

LANES = 128


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def padded_length(length: int, block: int = 512) -> tuple[int, int]:
    """(padded length, block size) for a sequence of `length` tokens.

    The block is at most `block`, a multiple of 128, and no longer than needed.
    """
    blk = min(_round_up(block, LANES), _round_up(length, LANES))
    return _round_up(length, blk), blk


def build_mask(num_heads: int, length: int, causal: bool) -> sa.MultiHeadMask:
    """The static splash mask for `num_heads` query heads at (padded) `length`."""
    shape = (length, length)
    head = sa.CausalMask(shape) if causal else sa.FullMask(shape)
    return sa.MultiHeadMask([head] * num_heads)


def to_splash_layout(x: jax.Array) -> jax.Array:
    """[B, L, H, D] -> [B, H, L, D] (splash's per-sequence [H, L, D] under vmap)."""
    return jnp.transpose(x, (0, 2, 1, 3))


def from_splash_layout(x: jax.Array) -> jax.Array:
    """[B, H, L, D] -> [B, L, H, D]."""
    return jnp.transpose(x, (0, 2, 1, 3))


def prepare_inputs(q, k, v, segment_ids, *, causal: bool, sm_scale: float | None, block: int):
    """Pad, scale and transpose inputs; returns (q, k, v, seg, lp, block, has_seg).

    q/k/v come back as [B, H|K, Lp, Dp]; seg as [B, Lp] int32 or None.
    """
    b, length, h, d = q.shape
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(d)
    lp, blk = padded_length(length, block)
    dp = _round_up(d, LANES)
    seg = None
    if segment_ids is not None:
        seg = segment_ids.astype(jnp.int32)
    elif lp != length and not causal:
        seg = jnp.ones((b, length), jnp.int32)  # padded keys must be hidden
    if seg is not None and lp != length:
        seg = jnp.pad(seg, ((0, 0), (0, lp - length)))

    def pad(x):
        return jnp.pad(x, ((0, 0), (0, lp - length), (0, 0), (0, dp - d)))

    q = (q * jnp.asarray(sm_scale, q.dtype)) if sm_scale != 1.0 else q
    return (to_splash_layout(pad(q)), to_splash_layout(pad(k)), to_splash_layout(pad(v)),
            seg, lp, blk)


@functools.lru_cache(maxsize=64)
def _kernel(num_heads: int, lp: int, causal: bool, block: int, interpret: bool):
    sizes = sa.BlockSizes(
        block_q=block, block_kv=block, block_kv_compute=block,
        block_q_dkv=block, block_kv_dkv=block, block_kv_dkv_compute=block,
        block_q_dq=block, block_kv_dq=block,
    )
    return sa.make_splash_mha_single_device(
        build_mask(num_heads, lp, causal), block_sizes=sizes, interpret=interpret
    )


def splash_attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    segment_ids: jax.Array | None = None,
    *,
    causal: bool = True,
    sm_scale: float | None = None,
    block: int = 512,
    interpret: bool = False,
) -> jax.Array:
    """Splash attention on [B, L, H, D] / [B, L, K, D] inputs (GQA, segment ids).

    Segment id 0 marks padding: those output rows are 0. Differentiable (splash's
    own custom_vjp). `interpret=True` runs the Pallas TPU interpreter (slow; CPU tests).
    """
    b, length, h, d = q.shape
    kh = k.shape[2]
    if not interpret and jax.default_backend() != "tpu":
        raise ValueError(
            f"splash attention is a TPU kernel; the default backend is {jax.default_backend()!r}. "
            "Pass interpret=True to run the Pallas TPU interpreter (slow)."
        )
    if h % kh:
        raise ValueError(f"num_heads {h} is not a multiple of num_kv_heads {kh}")
    if segment_ids is not None and segment_ids.shape != (b, length):
        raise ValueError(f"segment_ids shape {segment_ids.shape} != {(b, length)}")
    qs, ks, vs, seg, lp, blk = prepare_inputs(
        q, k, v, segment_ids, causal=causal, sm_scale=sm_scale, block=block
    )
    kernel = _kernel(h, lp, bool(causal), blk, bool(interpret))
    if seg is None:
        out = jax.vmap(kernel)(qs, ks, vs)
    else:
        out = jax.vmap(lambda q_, k_, v_, s_: kernel(q_, k_, v_, segment_ids=sa.SegmentIds(s_, s_)))(
            qs, ks, vs, seg
        )
    out = from_splash_layout(out)[:, :length, :, :d].astype(q.dtype)
    if segment_ids is not None:
        out = jnp.where((segment_ids != 0)[:, :, None, None], out, jnp.zeros((), out.dtype))
    return out


def reference_mask(segment_ids: np.ndarray | None, length: int, causal: bool) -> np.ndarray:
    """[B or 1, L, L] bool mask splash applies (before zeroing padding rows); for tests."""
    mask = np.tril(np.ones((length, length), bool)) if causal else np.ones((length, length), bool)
    mask = mask[None]
    if segment_ids is not None:
        s = np.asarray(segment_ids)
        mask = mask & (s[:, :, None] == s[:, None, :])
    return mask
