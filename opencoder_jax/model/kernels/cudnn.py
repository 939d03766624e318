"""cuDNN fused attention through `jax.nn.dot_product_attention(implementation="cudnn")`.

GQA is native (K kv heads, H % K == 0). There are no segment ids in that API, so
packed rows (several documents in one row) are NOT supported: `segment_ids` is
accepted only when every row is one segment followed by trailing padding (id 0),
e.g. [3, 3, 3, 3, 0, 0]; the length of the segment becomes cuDNN's
`query_seq_lengths` / `key_value_seq_lengths`, and the padding rows of the output
are set to 0 (as in the other implementations). Anything else raises ValueError
when the ids are concrete; under `jit` (traced ids, which cannot be checked
eagerly) the rows that break the rule come out as NaN, so misuse is loud, never a
silently wrong result. Use `pallas_gpu` (or `xla`) for packed batches.

cuDNN wants bf16/fp16 inputs and D <= 128 (D <= 256 on Hopper and later) with
D % 8 == 0; jax raises its own error otherwise. Only runs on NVIDIA GPUs; the
`implementation` argument exists so CPU tests can check the masking logic
through jax's XLA implementation of the same API.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def single_segment_lengths(segment_ids):
    """(lengths [B] int32, ok [B] bool) for [B, L] segment ids.

    A row is ok when its non-zero ids form one prefix with a single value and the
    rest is 0 (padding); its length is the size of that prefix.
    """
    seg = jnp.asarray(segment_ids)
    nz = seg != 0
    same = jnp.all((seg == seg[:, :1]) | ~nz, axis=1)
    prefix = jnp.all(nz[:, 1:] <= nz[:, :-1], axis=1)  # no id after a 0
    lengths = jnp.sum(nz, axis=1).astype(jnp.int32)
    return lengths, same & prefix


def cudnn_attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    segment_ids: jax.Array | None = None,
    *,
    causal: bool = True,
    sm_scale: float | None = None,
    implementation: str = "cudnn",
) -> jax.Array:
    """q [B, L, H, D], k/v [B, L, K, D] -> [B, L, H, D] with cuDNN's fused kernel.

    Raises ValueError when (concrete) segment_ids hold more than one segment in a row
    or a non-zero id after padding.
    """
    if segment_ids is None:
        return jax.nn.dot_product_attention(
            q, k, v, scale=sm_scale, is_causal=causal, implementation=implementation
        )
    b, length = q.shape[:2]
    if segment_ids.shape != (b, length):
        raise ValueError(f"segment_ids shape {segment_ids.shape} != {(b, length)}")
    lengths, ok = single_segment_lengths(segment_ids)
    traced = isinstance(segment_ids, jax.core.Tracer)
    if not traced:
        bad = np.flatnonzero(~np.asarray(ok))
        if bad.size:
            raise ValueError(
                "cudnn attention has no segment ids: every row must be a single segment "
                "followed by trailing padding (id 0), but rows "
                f"{bad[:8].tolist()} are packed with several segments (or have ids after "
                "padding); use attention impl 'pallas_gpu' or 'xla' for packed batches"
            )
    # A row of padding only still gets length 1 (cuDNN with an empty row is
    # undefined); its output is zeroed below.
    seqlen = jnp.maximum(lengths, 1)
    out = jax.nn.dot_product_attention(
        q, k, v, scale=sm_scale, is_causal=causal,
        query_seq_lengths=seqlen, key_value_seq_lengths=seqlen,
        implementation=implementation,
    )
    keep = (segment_ids != 0)[:, :, None, None]
    out = jnp.where(keep, out, jnp.zeros((), out.dtype))
    if traced:
        out = jnp.where(ok[:, None, None, None], out, jnp.full((), jnp.nan, out.dtype))
    return out
