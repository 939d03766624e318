"""Attention kernels against an einsum reference.

On CPU the Pallas kernels run in interpret mode (`interpret=True`), which executes
the same kernel bodies, tiling, loop bounds and masking as the GPU/TPU builds. Tests
marked `gpu` compile the real Triton kernels / call cuDNN and are skipped without a GPU.

Tolerances: fp32 1e-5 (abs and rel) in interpret mode (the kernels use fp32 IEEE dots
and an fp32 online softmax, the reference fp32 HIGHEST-precision einsums; observed
errors are ~1e-6). bf16: inputs are rounded to bf16 for both sides, the kernel feeds
bf16 probabilities to its p@v / dS@K dots (as every flash kernel does), so we allow
3e-2 abs. GPU fp32 allows 1e-4 (hardware exp2/log2 approximations).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from opencoder_jax.model.kernels import cudnn as cudnn_k
from opencoder_jax.model.kernels import pallas_gpu
from opencoder_jax.model.kernels import splash as splash_k


def _has_gpu() -> bool:
    try:
        return jax.default_backend() == "gpu"
    except RuntimeError:
        return False


gpu_only = pytest.mark.skipif(not _has_gpu(), reason="needs a GPU (run with JAX_PLATFORMS unset)")


# --------------------------------------------------------------------------- reference


def reference_attention(q, k, v, segment_ids=None, *, causal=True, sm_scale=None):
    """fp32 einsum attention; GQA by grouping; empty (padding) rows give 0."""
    b, length, h, d = q.shape
    kh = k.shape[2]
    g = h // kh
    scale = 1.0 / math.sqrt(d) if sm_scale is None else sm_scale
    qf = q.astype(jnp.float32).reshape(b, length, kh, g, d)
    s = jnp.einsum("blkgd,bmkd->bkglm", qf, k.astype(jnp.float32), precision="highest") * scale
    mask = jnp.ones((1, 1, 1, length, length), bool)
    if causal:
        mask = mask & jnp.tril(jnp.ones((length, length), bool))
    if segment_ids is not None:
        seg = segment_ids
        same = (seg[:, :, None] == seg[:, None, :]) & (seg[:, :, None] != 0)
        mask = mask & same[:, None, None]
    s = jnp.where(mask, s, -jnp.inf)
    m = jnp.max(s, axis=-1, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    p = jnp.exp(s - m)
    denom = jnp.sum(p, axis=-1, keepdims=True)
    p = p / jnp.where(denom == 0, 1.0, denom)
    o = jnp.einsum("bkglm,bmkd->blkgd", p, v.astype(jnp.float32), precision="highest")
    return o.reshape(b, length, h, d)


def make_inputs(b, length, h, kh, d, dtype=jnp.float32, seed=0):
    ks = jax.random.split(jax.random.PRNGKey(seed), 4)
    q = jax.random.normal(ks[0], (b, length, h, d), jnp.float32).astype(dtype)
    k = jax.random.normal(ks[1], (b, length, kh, d), jnp.float32).astype(dtype)
    v = jax.random.normal(ks[2], (b, length, kh, d), jnp.float32).astype(dtype)
    ct = jax.random.normal(ks[3], (b, length, h, d), jnp.float32)
    return q, k, v, ct


def packed_segments(b, length, seed=0):
    """Rows with several documents of random lengths and trailing padding (id 0)."""
    rng = np.random.default_rng(seed)
    seg = np.zeros((b, length), np.int32)
    for row in range(b):
        pos, sid = 0, 1
        end = length - int(rng.integers(1, max(2, length // 8)))  # trailing padding
        while pos < end:
            n = int(rng.integers(1, max(2, length // 3)))
            seg[row, pos:min(end, pos + n)] = sid + 10 * row  # ids need not be 1..n
            pos += n
            sid += 1
    return jnp.asarray(seg)


def value_and_grads(fn, q, k, v, ct):
    """fn(q, k, v) and the cotangent-weighted gradients, as one jitted computation."""

    @jax.jit
    def run(q, k, v, ct):
        out, vjp = jax.vjp(fn, q, k, v)
        return out, vjp(ct.astype(out.dtype))

    return run(q, k, v, ct)


def assert_close(actual, expected, atol, rtol, what=""):
    np.testing.assert_allclose(
        np.asarray(actual, np.float32), np.asarray(expected, np.float32), atol=atol, rtol=rtol,
        err_msg=what,
    )


# --------------------------------------------------------------------------- pallas_gpu

CASES = [
    # name, B, L, H, K, D, segments, causal, kwargs
    ("causal_mha_d64", 1, 100, 2, 2, 64, False, True, {}),
    ("causal_gqa2_d128", 2, 130, 4, 2, 128, False, True, {}),
    ("packed_gqa7_d160", 2, 150, 7, 1, 160, True, True, {}),
    ("packed_gqa2_noncausal", 2, 77, 4, 2, 64, True, False, {"sm_scale": 0.3}),
    ("full_padded_len", 1, 90, 2, 1, 64, False, False, {}),
    ("packed_odd_blocks", 1, 200, 4, 2, 64, True, True,
     {"block_q": 32, "block_k": 16, "block_q_dq": 16, "block_k_dq": 32,
      "block_q_dkv": 64, "block_k_dkv": 16}),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_flash_attention_fp32_matches_reference(case):
    _, b, length, h, kh, d, use_seg, causal, kw = case
    q, k, v, ct = make_inputs(b, length, h, kh, d)
    seg = packed_segments(b, length) if use_seg else None
    sm_scale = kw.get("sm_scale")
    out, grads = value_and_grads(
        lambda q, k, v: pallas_gpu.flash_attention(
            q, k, v, seg, causal=causal, interpret=True, **kw), q, k, v, ct)
    ref, ref_grads = value_and_grads(
        lambda q, k, v: reference_attention(q, k, v, seg, causal=causal, sm_scale=sm_scale),
        q, k, v, ct)
    assert out.shape == q.shape and out.dtype == q.dtype
    assert_close(out, ref, 1e-5, 1e-5, "out")
    for name, g, rg in zip("qkv", grads, ref_grads):
        assert g.shape == rg.shape and g.dtype == rg.dtype
        assert_close(g, rg, 1e-5, 1e-5, f"d{name}")


def test_flash_attention_bf16():
    b, length, h, kh, d = 2, 120, 4, 2, 128
    q, k, v, ct = make_inputs(b, length, h, kh, d, dtype=jnp.bfloat16, seed=1)
    seg = packed_segments(b, length, seed=1)
    out, grads = value_and_grads(
        lambda q, k, v: pallas_gpu.flash_attention(q, k, v, seg, interpret=True), q, k, v, ct)
    f32 = [x.astype(jnp.float32) for x in (q, k, v)]
    ref, ref_grads = value_and_grads(lambda q, k, v: reference_attention(q, k, v, seg), *f32, ct)
    assert out.dtype == jnp.bfloat16 and all(g.dtype == jnp.bfloat16 for g in grads)
    assert_close(out, ref, 3e-2, 2e-2, "out")
    for name, g, rg in zip("qkv", grads, ref_grads):
        assert_close(g, rg, 3e-2, 2e-2, f"d{name}")


def test_flash_attention_padding_rows_are_zero_with_zero_grads():
    b, length, h, kh, d = 1, 70, 2, 1, 64
    q, k, v, ct = make_inputs(b, length, h, kh, d, seed=2)
    seg = jnp.asarray(np.r_[np.ones(30), np.full(25, 2), np.zeros(15)].astype(np.int32)[None])
    pad = np.asarray(seg[0] == 0)
    out, grads = value_and_grads(
        lambda q, k, v: pallas_gpu.flash_attention(q, k, v, seg, interpret=True), q, k, v, ct)
    assert np.all(np.isfinite(np.asarray(out)))
    assert np.all(np.asarray(out)[0, pad] == 0.0)
    for g in grads:
        g = np.asarray(g)
        assert np.all(np.isfinite(g))
        assert np.all(g[0, pad] == 0.0)
        assert np.any(g[0, ~pad] != 0.0)


def test_flash_attention_2k_fwd_bwd():
    """One long case: 32 q blocks x 32 kv blocks, packed, GQA 2."""
    b, length, h, kh, d = 1, 2048, 2, 1, 64
    q, k, v, ct = make_inputs(b, length, h, kh, d, seed=3)
    seg = jnp.asarray(((np.arange(length) >= 700).astype(np.int32) + 1)
                      * (np.arange(length) < 2000))[None]
    out, grads = value_and_grads(
        lambda q, k, v: pallas_gpu.flash_attention(q, k, v, seg, interpret=True), q, k, v, ct)
    ref, ref_grads = value_and_grads(lambda q, k, v: reference_attention(q, k, v, seg), q, k, v, ct)
    assert_close(out, ref, 1e-5, 1e-5, "out")
    for name, g, rg in zip("qkv", grads, ref_grads):
        assert_close(g, rg, 1e-5, 1e-5, f"d{name}")


def test_flash_attention_jit_and_bad_shapes():
    q, k, v, _ = make_inputs(1, 40, 4, 2, 64)
    seg = jnp.ones((1, 40), jnp.int32)
    jitted = jax.jit(lambda q, k, v, s: pallas_gpu.flash_attention(q, k, v, s, interpret=True))
    assert_close(jitted(q, k, v, seg), reference_attention(q, k, v, seg), 1e-5, 1e-5)
    with pytest.raises(ValueError, match="multiple"):
        pallas_gpu.flash_attention(q, k[:, :, :1].repeat(3, axis=2), v[:, :, :1].repeat(3, axis=2),
                                   interpret=True)
    with pytest.raises(ValueError, match="segment_ids"):
        pallas_gpu.flash_attention(q, k, v, seg[:, :20], interpret=True)
    if not _has_gpu():
        with pytest.raises(ValueError, match="interpret=True"):
            pallas_gpu.flash_attention(q, k, v, seg)
        with pytest.raises(ValueError, match="interpret=True"):
            splash_k.splash_attention(q, k, v, seg)


def test_flash_attention_matches_coordinator_xla_attention():
    attention = pytest.importorskip("opencoder_jax.model.attention")
    if not hasattr(attention, "xla_attention"):
        pytest.skip("opencoder_jax.model.attention.xla_attention not written yet")
    q, k, v, _ = make_inputs(2, 96, 4, 2, 64, seed=4)
    seg = packed_segments(2, 96, seed=4)
    real = np.asarray(seg != 0)
    out = pallas_gpu.flash_attention(q, k, v, seg, interpret=True)
    ref = attention.xla_attention(q, k, v, seg)
    assert_close(np.asarray(out)[real], np.asarray(ref)[real], 1e-5, 1e-5)


@pytest.mark.gpu
@gpu_only
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("shape", [(2, 300, 4, 2, 64), (1, 256, 7, 1, 160), (1, 200, 4, 4, 128)])
def test_flash_attention_triton_on_gpu(shape, dtype):
    b, length, h, kh, d = shape
    dt = jnp.dtype(dtype)
    q, k, v, ct = make_inputs(b, length, h, kh, d, dtype=dt, seed=5)
    seg = packed_segments(b, length, seed=5)
    out, grads = value_and_grads(
        lambda q, k, v: pallas_gpu.flash_attention(q, k, v, seg), q, k, v, ct)
    f32 = [x.astype(jnp.float32) for x in (q, k, v)]
    ref, ref_grads = value_and_grads(lambda q, k, v: reference_attention(q, k, v, seg), *f32, ct)
    tol = 1e-4 if dt == jnp.float32 else 3e-2
    assert_close(out, ref, tol, tol, "out")
    for name, g, rg in zip("qkv", grads, ref_grads):
        assert_close(g, rg, tol, tol, f"d{name}")


# --------------------------------------------------------------------------- splash


def test_splash_layout_and_mask_helpers():
    x = jnp.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    y = splash_k.to_splash_layout(x)
    assert y.shape == (2, 4, 3, 5)
    np.testing.assert_array_equal(splash_k.from_splash_layout(y), x)
    assert splash_k.padded_length(200, 512) == (256, 256)
    assert splash_k.padded_length(1000, 512) == (1024, 512)
    assert splash_k.padded_length(4096, 512) == (4096, 512)
    mask = splash_k.build_mask(3, 256, causal=True)
    assert mask.shape == (3, 256, 256)
    np.testing.assert_array_equal(mask[0, :4, :4], np.tril(np.ones((4, 4), bool)))
    assert splash_k.build_mask(1, 128, causal=False)[0, :2, :2].all() is not False
    seg = np.array([[1, 1, 2, 0]])
    m = splash_k.reference_mask(seg, 4, causal=True)
    np.testing.assert_array_equal(m[0], [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])


def test_splash_attention_interpret_packed_gqa():
    b, length, h, kh, d = 2, 200, 4, 2, 64
    q, k, v, ct = make_inputs(b, length, h, kh, d, seed=6)
    seg = packed_segments(b, length, seed=6)
    out, grads = value_and_grads(
        lambda q, k, v: splash_k.splash_attention(q, k, v, seg, block=128, interpret=True),
        q, k, v, ct)
    ref, ref_grads = value_and_grads(lambda q, k, v: reference_attention(q, k, v, seg), q, k, v, ct)
    assert_close(out, ref, 1e-5, 1e-5, "out")
    # splash's backward accumulates in a different order; observed ~1e-5 abs.
    for name, g, rg in zip("qkv", grads, ref_grads):
        assert_close(g, rg, 5e-5, 1e-5, f"d{name}")


def test_splash_attention_interpret_noncausal_d160_padded_length():
    b, length, h, kh, d = 1, 130, 2, 1, 160
    q, k, v, _ = make_inputs(b, length, h, kh, d, seed=7)
    out = splash_k.splash_attention(q, k, v, None, causal=False, block=128, interpret=True)
    assert_close(out, reference_attention(q, k, v, None, causal=False), 1e-5, 1e-5)


# --------------------------------------------------------------------------- cudnn


def test_cudnn_single_segment_lengths():
    seg = jnp.asarray([[1, 1, 1, 0], [5, 5, 5, 5], [1, 2, 2, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    lengths, ok = cudnn_k.single_segment_lengths(seg)
    np.testing.assert_array_equal(lengths, [3, 4, 3, 2, 0])
    np.testing.assert_array_equal(ok, [True, True, False, False, True])


def test_cudnn_wrapper_masking_via_xla_implementation():
    """The wrapper's lengths/zeroing logic, run through jax's XLA implementation."""
    b, length, h, kh, d = 3, 48, 4, 2, 64
    q, k, v, _ = make_inputs(b, length, h, kh, d, seed=8)
    seg = np.zeros((b, length), np.int32)
    seg[0, :48] = 1
    seg[1, :30] = 7
    seg[2, :5] = 2
    seg = jnp.asarray(seg)
    out = cudnn_k.cudnn_attention(q, k, v, seg, implementation="xla")
    assert_close(out, reference_attention(q, k, v, seg), 1e-5, 1e-5)
    out = cudnn_k.cudnn_attention(q, k, v, None, causal=False, implementation="xla")
    assert_close(out, reference_attention(q, k, v, None, causal=False), 1e-5, 1e-5)


def test_cudnn_rejects_packed_rows():
    q, k, v, _ = make_inputs(2, 16, 2, 1, 64)
    seg = jnp.asarray([[1] * 16, [1] * 8 + [2] * 8])
    with pytest.raises(ValueError, match="single segment"):
        cudnn_k.cudnn_attention(q, k, v, seg, implementation="xla")
    # Under jit the ids cannot be checked eagerly: the offending row becomes NaN.
    out = jax.jit(lambda s: cudnn_k.cudnn_attention(q, k, v, s, implementation="xla"))(seg)
    assert np.all(np.isfinite(np.asarray(out[0])))
    assert np.all(np.isnan(np.asarray(out[1])))


@pytest.mark.gpu
@gpu_only
def test_cudnn_on_gpu():
    b, length, h, kh, d = 2, 256, 8, 2, 128
    q, k, v, ct = make_inputs(b, length, h, kh, d, dtype=jnp.bfloat16, seed=9)
    seg = jnp.asarray(np.stack([np.ones(length), np.r_[np.ones(200), np.zeros(56)]]).astype(np.int32))
    out, grads = value_and_grads(lambda q, k, v: cudnn_k.cudnn_attention(q, k, v, seg), q, k, v, ct)
    f32 = [x.astype(jnp.float32) for x in (q, k, v)]
    ref, ref_grads = value_and_grads(lambda q, k, v: reference_attention(q, k, v, seg), *f32, ct)
    assert_close(out, ref, 3e-2, 3e-2, "out")
    for name, g, rg in zip("qkv", grads, ref_grads):
        assert_close(g, rg, 3e-2, 3e-2, f"d{name}")
