"""Pure sampling functions: top-k / top-p masks (hand-computed and against transformers'
warpers), sampling statistics, stop-string helpers."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from opencoder_jax.infer import sampler as S

LOGITS = np.log(np.array([[0.1, 0.5, 0.3, 0.06, 0.04]], np.float32))


@pytest.mark.parametrize("k,expected", [
    (0, [1, 1, 1, 1, 1]),
    (1, [0, 1, 0, 0, 0]),
    (2, [0, 1, 1, 0, 0]),
    (3, [1, 1, 1, 0, 0]),
    (9, [1, 1, 1, 1, 1]),
])
def test_top_k_mask_hand_computed(k, expected):
    assert np.asarray(S.top_k_mask(LOGITS, k))[0].astype(int).tolist() == expected


@pytest.mark.parametrize("p,expected", [
    # sorted probs .5 .3 .1 .06 .04; mass before each: 0 .5 .8 .9 .96; keep where < p
    (1.0, [1, 1, 1, 1, 1]),
    (0.5, [0, 1, 0, 0, 0]),
    (0.51, [0, 1, 1, 0, 0]),
    (0.79, [0, 1, 1, 0, 0]),
    (0.85, [1, 1, 1, 0, 0]),
    (0.95, [1, 1, 1, 1, 0]),
    (1e-9, [0, 1, 0, 0, 0]),  # the top token always survives
])
def test_top_p_mask_hand_computed(p, expected):
    assert np.asarray(S.top_p_mask(LOGITS, p))[0].astype(int).tolist() == expected


def test_top_k_then_top_p_renormalizes():
    # top-k 3 keeps .5 .3 .1 (renormalized .556 .333 .111); top-p .85: mass before .556 .889 -> keep 2
    assert np.asarray(S.filter_mask(LOGITS, 3, 0.85))[0].astype(int).tolist() == [0, 1, 1, 0, 0]
    # without top-k the same p keeps three
    assert np.asarray(S.filter_mask(LOGITS, 0, 0.85))[0].astype(int).tolist() == [1, 1, 1, 0, 0]


def test_per_row_parameters():
    logits = np.repeat(LOGITS, 3, axis=0)
    mask = np.asarray(S.filter_mask(logits, np.array([1, 0, 2]), np.array([1.0, 0.51, 1.0])))
    assert mask.astype(int).tolist() == [[0, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 1, 1, 0, 0]]


def test_masks_match_transformers_warpers():
    torch = pytest.importorskip("torch")
    gen = pytest.importorskip("transformers.generation.logits_process")
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((6, 50)) * 3).astype(np.float32)
    for k in (1, 5, 17, 50):
        ref = gen.TopKLogitsWarper(top_k=k)(None, torch.tensor(logits))
        np.testing.assert_array_equal(np.asarray(S.top_k_mask(logits, k)), np.isfinite(ref.numpy()))
    for p in (0.1, 0.5, 0.9, 0.99):
        ref = gen.TopPLogitsWarper(top_p=p)(None, torch.tensor(logits))
        np.testing.assert_array_equal(np.asarray(S.top_p_mask(logits, p)), np.isfinite(ref.numpy()))
    for k, p in ((10, 0.7), (3, 0.95)):
        ref = gen.TopPLogitsWarper(top_p=p)(None, gen.TopKLogitsWarper(top_k=k)(None, torch.tensor(logits)))
        np.testing.assert_array_equal(np.asarray(S.filter_mask(logits, k, p)), np.isfinite(ref.numpy()))


def test_greedy_rows_take_argmax_and_sampled_rows_follow_the_distribution():
    n = 2000
    logits = np.repeat(LOGITS, n, axis=0)
    keys = S.row_keys(jnp.zeros(n, jnp.uint32), jnp.arange(n, dtype=jnp.uint32), 0)
    temperature = jnp.full((n,), 1.0).at[0].set(0.0)
    tokens = np.asarray(S.sample_tokens(logits, keys, temperature, jnp.zeros(n, jnp.int32), jnp.full((n,), 0.85)))
    assert tokens[0] == 1  # greedy row
    freq = np.bincount(tokens[1:], minlength=5) / (n - 1)
    expected = np.array([0.1, 0.5, 0.3, 0, 0]) / 0.9  # top-p 0.85 keeps three tokens
    np.testing.assert_allclose(freq, expected, atol=0.04)
    # temperature 0.5 sharpens: p ~ probs^2
    half = np.asarray(S.sample_tokens(logits, keys, jnp.full((n,), 0.5), jnp.zeros(n, jnp.int32),
                                      jnp.ones((n,))))
    sharp = np.array([0.1, 0.5, 0.3, 0.06, 0.04]) ** 2
    np.testing.assert_allclose(np.bincount(half, minlength=5) / n, sharp / sharp.sum(), atol=0.04)


def test_sample_tokens_greedy_switch_skips_keys():
    out = S.sample_tokens(LOGITS, None, jnp.zeros(1), jnp.zeros(1, jnp.int32), jnp.ones(1), sample=False)
    assert int(out[0]) == 1


def test_row_keys_depend_on_seed_stream_and_step_only():
    a = S.row_keys(jnp.array([1, 1, 2], jnp.uint32), jnp.array([0, 1, 0], jnp.uint32), 3)
    b = S.row_keys(jnp.array([2], jnp.uint32), jnp.array([0], jnp.uint32), 3)
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[0], a[2])
    np.testing.assert_array_equal(a[2], b[0])


def test_next_pow2():
    assert [S.next_pow2(n) for n in (1, 2, 3, 4, 5, 17)] == [1, 2, 4, 4, 8, 32]
    assert S.next_pow2(3, minimum=16) == 16


def test_stop_string_cut_takes_the_earliest():
    assert S.stop_string_cut("abc\ndef x\nclass", ["\nclass", "\ndef "]) == ("abc", "\ndef ")
    assert S.stop_string_cut("abc", ["zz"]) == ("abc", None)


def test_hold_back_keeps_possible_stop_prefixes_and_partial_utf8():
    assert S.hold_back("foo\nde", ["\ndef "]) == 3
    assert S.hold_back("foo\nx", ["\ndef "]) == 5
    assert S.hold_back("foo\ufffd", []) == 3
    assert S.hold_back("", ["ab"]) == 0


def test_sampling_params_validation():
    with pytest.raises(ValueError):
        S.SamplingParams(max_new_tokens=-1)
    with pytest.raises(ValueError):
        S.SamplingParams(temperature=math.nan)
    with pytest.raises(ValueError):
        S.SamplingParams(top_p=0.0)
    with pytest.raises(ValueError):
        S.SamplingParams(top_k=-2)
    assert jax.devices()[0].platform == "cpu"
