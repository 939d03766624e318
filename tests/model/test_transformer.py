"""The decoder's behaviour: parameter counts, packing, the KV cache, remat, scan, dtypes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from opencoder_jax.model.config import ModelConfig, preset
from opencoder_jax.model.transformer import abstract_model, create_model

SMALL = dict(vocab_size=384, embed_dim=64, num_layers=2, num_heads=4, num_kv_heads=2, head_dim=16, mlp_dim=96)


def count(state) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state))


@pytest.mark.parametrize("name,expected", [("1_5b", 1_905_650_880), ("8b", 7_771_262_976)])
def test_released_parameter_counts(name, expected):
    cfg = preset(name)
    assert cfg.num_params() == expected
    # The abstract model (nothing allocated) has exactly these parameters.
    assert count(nnx.state(abstract_model(cfg), nnx.Param)) == expected


def test_released_shapes():
    c15, c8 = preset("1_5b"), preset("8b")
    assert (c15.num_layers, c15.embed_dim, c15.num_heads, c15.num_kv_heads, c15.head_dim, c15.mlp_dim,
            c15.rope_theta, c15.max_seq_len, c15.vocab_size) == (24, 2240, 14, 14, 160, 6144, 10000.0, 4096, 96640)
    assert (c8.num_layers, c8.embed_dim, c8.num_heads, c8.num_kv_heads, c8.head_dim, c8.mlp_dim,
            c8.rope_theta, c8.max_seq_len, c8.vocab_size) == (32, 4096, 32, 8, 128, 14336, 500000.0, 8192, 96640)
    assert not c15.tie_embeddings and not c8.tie_embeddings


@pytest.mark.parametrize("tie", [False, True])
def test_num_params_matches_tree(tie):
    cfg = ModelConfig(**SMALL, tie_embeddings=tie)
    assert count(nnx.state(create_model(cfg), nnx.Param)) == cfg.num_params()


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="multiple"):
        ModelConfig(**{**SMALL, "num_kv_heads": 3})
    with pytest.raises(ValueError, match="remat"):
        ModelConfig(**SMALL, remat_policy="sometimes")
    with pytest.raises(ValueError, match="unknown ModelConfig"):
        ModelConfig.from_dict({**SMALL, "hidden": 3})
    with pytest.raises(ValueError, match="unknown model preset"):
        preset("13b")


@pytest.fixture(scope="module")
def model():
    return create_model(ModelConfig(**SMALL, dtype="float32"), seed=3)


def tokens(b, l, seed=0):
    return jax.random.randint(jax.random.key(seed), (b, l), 0, SMALL["vocab_size"])


def test_packed_rows_equal_documents_alone(model):
    t = tokens(1, 20)
    seg = jnp.array([[1] * 6 + [2] * 9 + [3] * 3 + [0] * 2])
    pos = jnp.array([list(range(6)) + list(range(9)) + list(range(3)) + [0, 0]])
    packed = model(t, seg, pos)
    for lo, hi in [(0, 6), (6, 15), (15, 18)]:
        alone = model(t[:, lo:hi])
        np.testing.assert_allclose(packed[0, lo:hi], alone[0], atol=1e-5)
    assert np.isfinite(np.asarray(packed)).all()  # padding rows included


def test_kv_cache_equals_full_forward(model):
    t = tokens(3, 14, seed=1)
    full = model(t)
    cache = model.init_cache(3, 16, jnp.float32)
    logits, cache = model.decode(t[:, :9], jnp.broadcast_to(jnp.arange(9), (3, 9)), cache, 0)
    steps = [logits]
    for i in range(9, 14):
        step, cache = model.decode(t[:, i:i + 1], jnp.full((3, 1), i), cache, i)
        steps.append(step)
    np.testing.assert_allclose(jnp.concatenate(steps, 1), full, atol=1e-5)


def test_left_padded_prefill_equals_unpadded(model):
    """Row 0 is a 5-token prompt left-padded to 8; its logits equal the unpadded run's."""
    t = tokens(2, 8, seed=2)
    valid = jnp.array([[False] * 3 + [True] * 5, [True] * 8])
    pos = jnp.array([[0, 0, 0, 0, 1, 2, 3, 4], list(range(8))])
    cache = model.init_cache(2, 12, jnp.float32)
    logits, cache = model.decode(t, pos, cache, 0, valid, last_only=True)
    np.testing.assert_allclose(logits[0, 0], model(t[:1, 3:])[0, -1], atol=1e-5)
    np.testing.assert_allclose(logits[1, 0], model(t[1:])[0, -1], atol=1e-5)
    nxt = jnp.array([[7], [9]])
    step, _ = model.decode(nxt, jnp.array([[5], [8]]), cache, 8)
    ref0 = model(jnp.concatenate([t[:1, 3:], nxt[:1]], 1))[0, -1]
    np.testing.assert_allclose(step[0, 0], ref0, atol=1e-5)


def loss_and_grads(m, t):
    graphdef, state = nnx.split(m)

    def loss(s):
        return jnp.mean(nnx.merge(graphdef, s)(t) ** 2)

    return jax.value_and_grad(loss)(state)


@pytest.mark.parametrize("change", [dict(remat_policy="full"), dict(remat_policy="save_dots"),
                                    dict(remat_policy="save_qkv_proj"), dict(scan_layers=False)])
def test_remat_and_loop_do_not_change_values(change):
    cfg = ModelConfig(**SMALL, dtype="float32")
    t = tokens(2, 10)
    ref_loss, ref_grads = loss_and_grads(create_model(cfg, seed=1), t)
    loss, grads = loss_and_grads(create_model(cfg.replace(**change), seed=1), t)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_bf16_compute_with_fp32_params():
    cfg = ModelConfig(**SMALL, dtype="bfloat16", param_dtype="float32")
    m = create_model(cfg, seed=1)
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(nnx.state(m, nnx.Param)))
    logits = m(tokens(2, 10))
    assert logits.dtype == jnp.float32
    ref = create_model(cfg.replace(dtype="float32"), seed=1)(tokens(2, 10))
    assert float(jnp.abs(logits - ref).max()) < 0.05
