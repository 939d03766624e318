"""Flash attention for GPUs written with `jax.experimental.pallas` (Triton backend).

Our own kernel, with both features that jax's two stock GPU kernels have only one
of each: grouped-query attention (GQA, as `attention_mgpu`) and packed segment ids
(as `ops/gpu/attention.mha`). It runs on CPU with `interpret=True`, which is how
the tests check it against the einsum reference.

Layout: q [B, L, H, D], k/v [B, L, K, D] with H % K == 0, G = H // K query heads
per kv head. Query head h reads kv head h // G straight from the BlockSpec index
map, so K/V are never repeated in memory.

Masking: position i attends to j when (not causal or j <= i) and, with segment
ids, when seg[i] == seg[j] != 0. Segment id 0 marks padding: such a query row has
no key to attend to; its output is exactly 0 and it contributes no gradient
(the online softmax is written so that an empty row stays finite).

Kernels (all tiled, online softmax in the log2 domain, fp32 accumulation):
- forward: grid (q blocks, B, H); loops over kv blocks, skipping the blocks
  entirely above the causal diagonal and masking only the blocks that straddle
  it (when there are no segment ids). It also writes the log-sum-exp (log2).
- dq: grid (q blocks, B, H); same loop as the forward.
- dk/dv: grid (kv blocks, B, K); for one kv block, loops over the G query heads
  of its group and over the q blocks at or below the diagonal, so dk/dv of a kv
  head are summed over its query-head group inside the kernel and written once,
  in [B, L, K, D] (nothing of size H is materialised for them).
- delta = rowsum(o * do) is a cheap fused XLA reduction.

Shapes the Triton backend cannot take directly are padded here, not in the caller:
- L that is not a multiple of the block sizes is padded (with segment id 0 when
  masking is needed) and the result sliced back;
- D that is not a power of two (160 in OpenCoder-1.5B) is zero-padded to the next
  power of two (256): Triton tiles must have power-of-two sizes. The zero columns
  change neither q.k nor the output; the cost is the padded dot products (1.6x
  the flops of D=160 for the 1.5B shape) plus a copy of q/k/v/o.
Block sizes must be powers of two >= 16 on GPU (any positive size in interpret mode);
they are clamped to the padded length so short inputs do not pad to a whole block.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as plgpu

_LOG2E = math.log2(math.e)
_NEG_INF = float("-inf")


@dataclasses.dataclass(frozen=True)
class _Cfg:
    """Static parameters of one call (hashable: a nondiff argument of the custom_vjp)."""

    sm_scale: float
    causal: bool
    block_q: int
    block_k: int
    block_q_dq: int
    block_k_dq: int
    block_q_dkv: int
    block_k_dkv: int
    num_warps: int | None
    num_stages: int
    interpret: bool
    has_segments: bool


def _next_pow2(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


def _precision(dtype):
    # fp32 inputs: full IEEE fp32 dots (Triton would otherwise use tf32). bf16/fp16
    # inputs: native tensor-core dots with fp32 accumulation.
    return lax.Precision.HIGHEST if jnp.dtype(dtype) == jnp.float32 else None


def _mask(q_pos, k_pos, q_seg, k_seg, causal: bool):
    """[bq, bk] bool: may query q_pos[i] attend to key k_pos[j]?"""
    mask = None
    if q_seg is not None:
        mask = (q_seg[:, None] == k_seg[None, :]) & (q_seg[:, None] != 0)
    if causal:
        c = q_pos[:, None] >= k_pos[None, :]
        mask = c if mask is None else mask & c
    return mask


def _compiler_params(cfg: _Cfg, head_dim_padded: int):
    num_warps = cfg.num_warps
    if num_warps is None:
        num_warps = 4 if head_dim_padded <= 64 else 8
    return plgpu.CompilerParams(num_warps=num_warps, num_stages=cfg.num_stages)


# ---------------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------------


def _over_kv_blocks(body, carry, num_k_blocks, qi, q_start, bq: int, bk: int, cfg):
    """Run `body(j, carry, masked=...)` over the kv blocks a query block needs.

    Causal: blocks past the diagonal are skipped; blocks wholly below it need no mask (unless
    segment ids are given, which every block must check). Shared by the forward and dq kernels.
    """
    if not cfg.causal:
        return lax.fori_loop(0, num_k_blocks, functools.partial(body, masked=cfg.has_segments), carry)
    upper = lax.div((qi + 1) * bq + bk - 1, bk)
    if cfg.has_segments:
        return lax.fori_loop(0, upper, functools.partial(body, masked=True), carry)
    n_full = lax.div(q_start + 1, bk)
    carry = lax.fori_loop(0, n_full, functools.partial(body, masked=False), carry)
    return lax.fori_loop(n_full, upper, functools.partial(body, masked=True), carry)


def _fwd_kernel(q_ref, k_ref, v_ref, seg_ref, o_ref, lse_ref, *, cfg: _Cfg, num_q_blocks: int):
    bq, bk = cfg.block_q, cfg.block_k
    # Heaviest (last) q blocks first: under a causal mask they have the most work.
    qi = num_q_blocks - 1 - pl.program_id(0)
    q = q_ref[...]
    prec = _precision(q.dtype)
    qk_scale = cfg.sm_scale * _LOG2E
    q_start = qi * bq
    q_pos = q_start + jnp.arange(bq, dtype=jnp.int32)
    q_seg = seg_ref[pl.ds(q_start, bq)] if seg_ref is not None else None
    dp = q_ref.shape[-1]

    def body(j, carry, masked: bool):
        acc, m_prev, l_prev = carry
        ks = pl.ds(j * bk, bk)
        k = k_ref[ks, :]
        v = v_ref[ks, :]
        s = pl.dot(q, k, trans_b=True, precision=prec) * qk_scale
        if masked:
            k_pos = j * bk + jnp.arange(bk, dtype=jnp.int32)
            k_seg = seg_ref[ks] if seg_ref is not None else None
            s = jnp.where(_mask(q_pos, k_pos, q_seg, k_seg, cfg.causal), s, _NEG_INF)
        m_new = jnp.maximum(m_prev, jnp.max(s, axis=1))
        # A row with no visible key so far keeps m = -inf: subtract 0 instead so
        # exp2(-inf - 0) = 0 rather than exp2(-inf + inf) = nan.
        m_use = jnp.where(m_new == _NEG_INF, 0.0, m_new)
        alpha = jnp.exp2(m_prev - m_use)
        p = jnp.exp2(s - m_use[:, None])
        l_new = alpha * l_prev + jnp.sum(p, axis=1)
        acc = acc * alpha[:, None] + pl.dot(p.astype(v.dtype), v, precision=prec)
        return acc, m_new, l_new

    carry = (
        jnp.zeros((bq, dp), jnp.float32),
        jnp.full((bq,), _NEG_INF, jnp.float32),
        jnp.zeros((bq,), jnp.float32),
    )
    carry = _over_kv_blocks(body, carry, k_ref.shape[0] // bk, qi, q_start, bq, bk, cfg)
    acc, m, l = carry
    empty = l == 0.0
    o = acc / jnp.where(empty, 1.0, l)[:, None]
    o_ref[...] = o.astype(o_ref.dtype)
    # +inf for an empty row: exp2(s - lse) is then 0 for every key in the backward.
    lse_ref[...] = jnp.where(empty, jnp.inf, m + jnp.log2(jnp.where(empty, 1.0, l)))


def _forward(q, k, v, seg, cfg: _Cfg):
    b, lp, h, dp = q.shape
    kh = k.shape[2]
    g = h // kh
    bq = cfg.block_q
    nq = lp // bq
    rev = lambda i: nq - 1 - i  # noqa: E731  (matches the kernel's qi)
    in_specs = [
        pl.BlockSpec((None, bq, None, dp), lambda i, bi, hi: (bi, rev(i), hi, 0)),
        pl.BlockSpec((None, lp, None, dp), lambda i, bi, hi: (bi, 0, hi // g, 0)),
        pl.BlockSpec((None, lp, None, dp), lambda i, bi, hi: (bi, 0, hi // g, 0)),
        None if seg is None else pl.BlockSpec((None, lp), lambda i, bi, hi: (bi, 0)),
    ]
    out_specs = [
        pl.BlockSpec((None, bq, None, dp), lambda i, bi, hi: (bi, rev(i), hi, 0)),
        pl.BlockSpec((None, None, bq), lambda i, bi, hi: (bi, hi, rev(i))),
    ]
    out_shape = [
        jax.ShapeDtypeStruct(q.shape, q.dtype),
        jax.ShapeDtypeStruct((b, h, lp), jnp.float32),
    ]
    o, lse = pl.pallas_call(
        functools.partial(_fwd_kernel, cfg=cfg, num_q_blocks=nq),
        grid=(nq, b, h),
        in_specs=in_specs,
        out_specs=out_specs,
        out_shape=out_shape,
        compiler_params=_compiler_params(cfg, dp),
        interpret=cfg.interpret,
        name="opencoder_flash_fwd",
    )(q, k, v, seg)
    return o, lse


# ---------------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------------


def _dq_kernel(q_ref, k_ref, v_ref, seg_ref, do_ref, lse_ref, delta_ref, dq_ref, *, cfg: _Cfg,
               num_q_blocks: int):
    bq, bk = cfg.block_q_dq, cfg.block_k_dq
    qi = num_q_blocks - 1 - pl.program_id(0)
    q = q_ref[...]
    do = do_ref[...]
    lse = lse_ref[...]
    delta = delta_ref[...]
    prec = _precision(q.dtype)
    qk_scale = cfg.sm_scale * _LOG2E
    q_start = qi * bq
    q_pos = q_start + jnp.arange(bq, dtype=jnp.int32)
    q_seg = seg_ref[pl.ds(q_start, bq)] if seg_ref is not None else None
    dp = q_ref.shape[-1]

    def body(j, dq, masked: bool):
        ks = pl.ds(j * bk, bk)
        k = k_ref[ks, :]
        v = v_ref[ks, :]
        s = pl.dot(q, k, trans_b=True, precision=prec) * qk_scale
        if masked:
            k_pos = j * bk + jnp.arange(bk, dtype=jnp.int32)
            k_seg = seg_ref[ks] if seg_ref is not None else None
            s = jnp.where(_mask(q_pos, k_pos, q_seg, k_seg, cfg.causal), s, _NEG_INF)
        p = jnp.exp2(s - lse[:, None])
        dpv = pl.dot(do, v, trans_b=True, precision=prec)
        ds = p * (dpv - delta[:, None])
        return dq + pl.dot(ds.astype(k.dtype), k, precision=prec)

    dq = jnp.zeros((bq, dp), jnp.float32)
    dq = _over_kv_blocks(body, dq, k_ref.shape[0] // bk, qi, q_start, bq, bk, cfg)
    dq_ref[...] = (dq * cfg.sm_scale).astype(dq_ref.dtype)


def _dkv_kernel(q_ref, k_ref, v_ref, seg_ref, do_ref, lse_ref, delta_ref, dk_ref, dv_ref, *,
                cfg: _Cfg, group: int):
    bq, bk = cfg.block_q_dkv, cfg.block_k_dkv
    kj = pl.program_id(0)
    k = k_ref[...]
    v = v_ref[...]
    prec = _precision(k.dtype)
    qk_scale = cfg.sm_scale * _LOG2E
    k_start = kj * bk
    k_pos = k_start + jnp.arange(bk, dtype=jnp.int32)
    k_seg = seg_ref[pl.ds(k_start, bk)] if seg_ref is not None else None
    lp = q_ref.shape[0]
    num_q_blocks = lp // bq
    dp = k_ref.shape[-1]

    def body(i, carry, g, masked: bool):
        dk, dv = carry
        qs = pl.ds(i * bq, bq)
        q = q_ref[qs, g, :]
        do = do_ref[qs, g, :]
        lse = lse_ref[g, qs]
        delta = delta_ref[g, qs]
        s = pl.dot(q, k, trans_b=True, precision=prec) * qk_scale
        if masked:
            q_pos = i * bq + jnp.arange(bq, dtype=jnp.int32)
            q_seg = seg_ref[qs] if seg_ref is not None else None
            s = jnp.where(_mask(q_pos, k_pos, q_seg, k_seg, cfg.causal), s, _NEG_INF)
        p = jnp.exp2(s - lse[:, None])  # [bq, bk]
        dv = dv + pl.dot(p.astype(do.dtype), do, trans_a=True, precision=prec)
        dpv = pl.dot(do, v, trans_b=True, precision=prec)
        ds = p * (dpv - delta[:, None])
        dk = dk + pl.dot(ds.astype(q.dtype), q, trans_a=True, precision=prec)
        return dk, dv

    if cfg.causal:
        # q blocks above the diagonal see none of this kv block; q blocks wholly
        # below it see all of it and need no mask (without segment ids).
        lower = lax.div(k_start, bq)
        i_full = lax.div(k_start + bk - 1 + bq - 1, bq)
    else:
        lower = 0

    def group_body(g, carry):
        if cfg.causal and not cfg.has_segments:
            carry = lax.fori_loop(lower, i_full, functools.partial(body, g=g, masked=True), carry)
            return lax.fori_loop(
                i_full, num_q_blocks, functools.partial(body, g=g, masked=False), carry
            )
        masked = cfg.causal or cfg.has_segments
        return lax.fori_loop(lower, num_q_blocks, functools.partial(body, g=g, masked=masked), carry)

    carry = (jnp.zeros((bk, dp), jnp.float32), jnp.zeros((bk, dp), jnp.float32))
    dk, dv = lax.fori_loop(0, group, group_body, carry)
    dk_ref[...] = (dk * cfg.sm_scale).astype(dk_ref.dtype)
    dv_ref[...] = dv.astype(dv_ref.dtype)


def _backward_impl(q, k, v, seg, o, lse, do, cfg: _Cfg):
    b, lp, h, dp = q.shape
    kh = k.shape[2]
    g = h // kh
    # delta_i = sum_d o_id * do_id, [B, H, Lp] fp32 (one fused XLA reduction).
    delta = jnp.einsum(
        "blhd,blhd->bhl", o.astype(jnp.float32), do.astype(jnp.float32),
        precision=lax.Precision.HIGHEST,
    )
    params = _compiler_params(cfg, dp)

    # dq: grid over (q blocks, batch, query heads).
    bq, bk = cfg.block_q_dq, cfg.block_k_dq
    nq = lp // bq
    rev = lambda i: nq - 1 - i  # noqa: E731
    dq = pl.pallas_call(
        functools.partial(_dq_kernel, cfg=cfg, num_q_blocks=nq),
        grid=(nq, b, h),
        in_specs=[
            pl.BlockSpec((None, bq, None, dp), lambda i, bi, hi: (bi, rev(i), hi, 0)),
            pl.BlockSpec((None, lp, None, dp), lambda i, bi, hi: (bi, 0, hi // g, 0)),
            pl.BlockSpec((None, lp, None, dp), lambda i, bi, hi: (bi, 0, hi // g, 0)),
            None if seg is None else pl.BlockSpec((None, lp), lambda i, bi, hi: (bi, 0)),
            pl.BlockSpec((None, bq, None, dp), lambda i, bi, hi: (bi, rev(i), hi, 0)),
            pl.BlockSpec((None, None, bq), lambda i, bi, hi: (bi, hi, rev(i))),
            pl.BlockSpec((None, None, bq), lambda i, bi, hi: (bi, hi, rev(i))),
        ],
        out_specs=pl.BlockSpec((None, bq, None, dp), lambda i, bi, hi: (bi, rev(i), hi, 0)),
        out_shape=jax.ShapeDtypeStruct(q.shape, q.dtype),
        compiler_params=params,
        interpret=cfg.interpret,
        name="opencoder_flash_bwd_dq",
    )(q, k, v, seg, do, lse, delta)

    # dk, dv: grid over (kv blocks, batch, kv heads); the kernel loops over the G
    # query heads of the group (heads kv*G .. kv*G+G-1 = the kv-th block of size G).
    bq, bk = cfg.block_q_dkv, cfg.block_k_dkv
    nk = lp // bk
    dk, dv = pl.pallas_call(
        functools.partial(_dkv_kernel, cfg=cfg, group=g),
        grid=(nk, b, kh),
        in_specs=[
            pl.BlockSpec((None, lp, g, dp), lambda j, bi, ki: (bi, 0, ki, 0)),
            pl.BlockSpec((None, bk, None, dp), lambda j, bi, ki: (bi, j, ki, 0)),
            pl.BlockSpec((None, bk, None, dp), lambda j, bi, ki: (bi, j, ki, 0)),
            None if seg is None else pl.BlockSpec((None, lp), lambda j, bi, ki: (bi, 0)),
            pl.BlockSpec((None, lp, g, dp), lambda j, bi, ki: (bi, 0, ki, 0)),
            pl.BlockSpec((None, g, lp), lambda j, bi, ki: (bi, ki, 0)),
            pl.BlockSpec((None, g, lp), lambda j, bi, ki: (bi, ki, 0)),
        ],
        out_specs=[
            pl.BlockSpec((None, bk, None, dp), lambda j, bi, ki: (bi, j, ki, 0)),
            pl.BlockSpec((None, bk, None, dp), lambda j, bi, ki: (bi, j, ki, 0)),
        ],
        out_shape=[
            jax.ShapeDtypeStruct(k.shape, k.dtype),
            jax.ShapeDtypeStruct(v.shape, v.dtype),
        ],
        compiler_params=params,
        interpret=cfg.interpret,
        name="opencoder_flash_bwd_dkv",
    )(q, k, v, seg, do, lse, delta)
    return dq, dk, dv


# ---------------------------------------------------------------------------------
# custom_vjp on padded inputs
# ---------------------------------------------------------------------------------


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _flash(q, k, v, seg, cfg: _Cfg):
    return _forward(q, k, v, seg, cfg)[0]


def _flash_fwd(q, k, v, seg, cfg: _Cfg):
    o, lse = _forward(q, k, v, seg, cfg)
    return o, (q, k, v, seg, o, lse)


def _flash_bwd(cfg: _Cfg, res, do):
    q, k, v, seg, o, lse = res
    dq, dk, dv = _backward_impl(q, k, v, seg, o, lse, do, cfg)
    return dq, dk, dv, None


_flash.defvjp(_flash_fwd, _flash_bwd)


# ---------------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------------


def _clamp_block(block: int, length: int) -> int:
    if block <= 0:
        raise ValueError(f"block sizes must be positive, got {block}")
    # Do not pad a short sequence up to a big block (Triton dots need >= 16).
    return min(block, max(16, _next_pow2(length)))


@functools.partial(
    jax.jit,
    static_argnames=(
        "causal", "sm_scale", "block_q", "block_k", "num_warps", "num_stages", "interpret",
        "block_q_dq", "block_k_dq", "block_q_dkv", "block_k_dkv",
    ),
)
def flash_attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    segment_ids: jax.Array | None = None,
    *,
    causal: bool = True,
    sm_scale: float | None = None,
    block_q: int = 64,
    block_k: int = 64,
    num_warps: int | None = None,
    num_stages: int = 2,
    interpret: bool = False,
    block_q_dq: int | None = None,
    block_k_dq: int | None = None,
    block_q_dkv: int | None = None,
    block_k_dkv: int | None = None,
) -> jax.Array:
    """Flash attention with causal + segment masking and GQA; differentiable.

    Args:
      q: [B, L, H, D] queries.
      k, v: [B, L, K, D] keys/values, H % K == 0 (query head h uses kv head h // (H//K)).
      segment_ids: optional [B, L] int; tokens attend only within equal non-zero ids;
        id 0 is padding (its output rows are 0 and it gets/passes no gradient).
      causal: causal mask (within segments).
      sm_scale: logit scale, default 1/sqrt(D).
      block_q, block_k: forward tile sizes (powers of two >= 16 on GPU).
      num_warps, num_stages: Triton launch parameters (num_warps defaults to 4 for
        D <= 64, else 8).
      interpret: run the Pallas interpreter (CPU testing).
      block_q_dq, block_k_dq, block_q_dkv, block_k_dkv: backward tile sizes of the dq
        and dk/dv kernels (default: block_q, block_k; capped at 32 when the padded head
        dim exceeds 128).
    Raises:
      ValueError: bad shapes, or interpret=False while the default backend is not a GPU.
    Returns:
      [B, L, H, D] in q's dtype.
    """
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"expected q [B,L,H,D], k/v [B,L,K,D]; got {q.shape}, {k.shape}, {v.shape}")
    b, length, h, d = q.shape
    if k.shape != v.shape or k.shape[0] != b or k.shape[1] != length or k.shape[3] != d:
        raise ValueError(f"k/v shapes {k.shape}, {v.shape} do not match q {q.shape}")
    kh = k.shape[2]
    if h % kh:
        raise ValueError(f"num_heads {h} is not a multiple of num_kv_heads {kh}")
    if segment_ids is not None and segment_ids.shape != (b, length):
        raise ValueError(f"segment_ids shape {segment_ids.shape} != {(b, length)}")
    if sm_scale is None:
        sm_scale = 1.0 / math.sqrt(d)

    if not interpret and jax.default_backend() != "gpu":
        raise ValueError(
            f"pallas_gpu flash attention compiles with Triton for GPUs; the default backend is "
            f"{jax.default_backend()!r}. Pass interpret=True to run the Pallas interpreter."
        )
    dp = _next_pow2(d)
    # Backward kernels hold more tiles than the forward (q, do, k, v plus two fp32
    # accumulators); with padded head dims above 128 the default stays at 32 to keep
    # their shared memory and registers within an SM's budget.
    bwd_cap = block_q if dp <= 128 else 32
    bwd_cap_k = block_k if dp <= 128 else 32
    blocks = [
        block_q, block_k,
        min(block_q, bwd_cap) if block_q_dq is None else block_q_dq,
        min(block_k, bwd_cap_k) if block_k_dq is None else block_k_dq,
        min(block_q, bwd_cap) if block_q_dkv is None else block_q_dkv,
        min(block_k, bwd_cap_k) if block_k_dkv is None else block_k_dkv,
    ]
    blocks = [_clamp_block(x, length) for x in blocks]
    multiple = math.lcm(*blocks)
    lp = -(-length // multiple) * multiple

    seg = None
    if segment_ids is not None:
        seg = segment_ids.astype(jnp.int32)
        if lp != length:
            seg = jnp.pad(seg, ((0, 0), (0, lp - length)))
    elif lp != length and not causal:
        # Padded keys must be hidden from real queries. (Causal needs nothing: padded
        # keys lie after every real query, and padded query rows are sliced off, their
        # zero cotangent giving them no gradient contribution.)
        seg = jnp.broadcast_to((jnp.arange(lp) < length).astype(jnp.int32), (b, lp))

    def pad(x):
        if lp == length and dp == d:
            return x
        return jnp.pad(x, ((0, 0), (0, lp - length), (0, 0), (0, dp - d)))

    cfg = _Cfg(
        sm_scale=float(sm_scale), causal=bool(causal),
        block_q=blocks[0], block_k=blocks[1], block_q_dq=blocks[2], block_k_dq=blocks[3],
        block_q_dkv=blocks[4], block_k_dkv=blocks[5],
        num_warps=num_warps, num_stages=int(num_stages), interpret=bool(interpret),
        has_segments=seg is not None,
    )
    o = _flash(pad(q), pad(k), pad(v), seg, cfg)
    if lp != length or dp != d:
        o = o[:, :length, :, :d]
    return o
