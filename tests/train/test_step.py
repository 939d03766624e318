"""The jitted train step: gradient accumulation is exact, SFT prompt labels do not matter,
batches that do not fit the mesh are rejected before compiling."""
import numpy as np
import pytest

from tests.train.helpers import init_state, random_batch, small_config


_RUNNERS = {}


def one_step(config, batch, num_microbatches, tx):
    """One jitted step from the same initial state (compiled once per micro-batch count and tx)."""
    import jax

    from opencoder_jax.model import sharding
    from opencoder_jax.train import step as step_lib

    key = (config, num_microbatches, id(tx))
    if key not in _RUNNERS:
        mesh = sharding.make_mesh((1, 1, 1), jax.devices()[:1])
        graphdef, state, state_sh, param_sh = init_state(config, tx, mesh)
        fns = step_lib.jit_step_fns(graphdef, tx, lambda s: 0.1, mesh=mesh, param_shardings=param_sh,
                                    state_shardings=state_sh, num_microbatches=num_microbatches)
        _RUNNERS[key] = (mesh, fns, jax.device_get(state), state_sh)
    mesh, fns, host_state, state_sh = _RUNNERS[key]
    with jax.set_mesh(mesh):
        state = jax.device_put(host_state, state_sh)  # fresh: the step donates its state
        gb = {k: jax.device_put(v, fns.batch_shardings[k]) for k, v in batch.items()}
        new_state, metrics = fns.train_step(state, gb)
    return jax.device_get(new_state), {k: float(v) for k, v in metrics.items()}


SGD = __import__("optax").sgd(0.1)  # params move by 0.1 x gradient: compares gradients directly


def test_four_microbatches_equal_one_big_batch():
    import jax

    config = small_config()
    batch = random_batch(np.random.default_rng(0), 8, 16, config.vocab_size)
    tx = SGD
    big_state, big = one_step(config, batch, 1, tx)
    acc_state, acc = one_step(config, batch, 4, tx)
    assert acc["loss"] == pytest.approx(big["loss"], rel=1e-5)
    assert acc["grad_norm"] == pytest.approx(big["grad_norm"], rel=1e-5)
    assert acc["loss_weight"] == big["loss_weight"] == batch["loss_weights"].sum()
    for a, b in zip(jax.tree.leaves(acc_state["params"]), jax.tree.leaves(big_state["params"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # and the loss is the weighted mean over the whole batch: sum(ce * w) / sum(w)
    assert big["loss"] == pytest.approx(reference_loss(config, batch), rel=1e-5)


def reference_loss(config, batch):
    """Independent loss: the same initial model's logits, float64 numpy log-softmax."""
    import jax
    from flax import nnx

    from opencoder_jax.model import transformer

    @jax.jit
    def logits_fn(inputs, segment_ids, positions):
        with nnx.use_eager_sharding(False):
            model = transformer.Transformer(config, rngs=nnx.Rngs(0))
        return model(inputs, segment_ids=segment_ids, positions=positions)

    logits = np.asarray(logits_fn(batch["inputs"], batch["segment_ids"], batch["positions"]), np.float64)
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(-1, keepdims=True)
    ce = -np.take_along_axis(logp, batch["targets"][..., None], -1)[..., 0]
    return float((ce * batch["loss_weights"]).sum() / batch["loss_weights"].sum())


class CharEncoder:
    """A tiny tokenizer for the SFT pipeline: ChatML specials -> 1, 2; characters -> 8 + ord % 600."""

    def encode_with_special_tokens(self, text, add_bos=False, add_eos=False):
        out, i = [], 0
        while i < len(text):
            for tok, tid in (("<|im_start|>", 1), ("<|im_end|>", 2)):
                if text.startswith(tok, i):
                    out.append(tid)
                    i += len(tok)
                    break
            else:
                out.append(8 + ord(text[i]) % 600)
                i += 1
        return out

    def encode(self, text):
        return self.encode_with_special_tokens(text)


def sft_batch():
    from opencoder_jax.data import packing, sft

    chats = [[{"role": "user", "content": "Write add(a, b)."}, {"role": "assistant", "content": "def add(a, b): return a + b"}],
             [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
              {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Bye."}]]
    fn = sft.SFTExampleFn(CharEncoder(), sft.SFTConfig(max_length=128, system_prompt="sys"))
    examples = [fn(__import__("json").dumps({"messages": c})) for c in chats]
    return next(packing.iterate_packed(examples, seq_len=128, batch_size=2, mode="whole"))


def test_sft_loss_ignores_prompt_tokens():
    config = small_config()
    batch = {k: v for k, v in sft_batch().items() if not k.startswith("stats/")}
    w = batch["loss_weights"]
    assert 0 < w.sum() < (batch["segment_ids"] > 0).sum()  # some tokens are prompt, some answer
    tx = SGD
    base_state, base = one_step(config, batch, 1, tx)

    prompt_changed = {k: v.copy() for k, v in batch.items()}
    prompt_pos = np.argwhere((w == 0) & (batch["segment_ids"] > 0))
    for r, c in prompt_pos[::3]:  # relabel every third prompt token
        prompt_changed["targets"][r, c] = (prompt_changed["targets"][r, c] + 7) % config.vocab_size
    state2, m2 = one_step(config, prompt_changed, 1, tx)
    assert m2["loss"] == base["loss"] and m2["grad_norm"] == base["grad_norm"]

    answer_changed = {k: v.copy() for k, v in batch.items()}
    r, c = np.argwhere(w > 0)[0]
    answer_changed["targets"][r, c] = (answer_changed["targets"][r, c] + 7) % config.vocab_size
    _, m3 = one_step(config, answer_changed, 1, tx)
    assert m3["loss"] != base["loss"]


def test_sft_mask_covers_exactly_the_answers():
    from opencoder_jax.data import sft

    enc = CharEncoder()
    ids, mask = sft.tokenize_chat([{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A!"}], enc,
                                  sft.SFTConfig(max_length=64, system_prompt="s"))
    answer = enc.encode("A!\n<|im_end|>")
    assert ids[mask == 1].tolist() == answer
    assert mask.sum() == len(answer) and mask[-len(answer):].all()


def test_batch_that_does_not_divide_the_mesh_is_rejected():
    import jax

    from opencoder_jax.model import sharding
    from opencoder_jax.train import step as step_lib

    mesh = sharding.make_mesh((1, 1, 1), jax.devices()[:1])
    step_lib.check_batch(8, 4, mesh)
    with pytest.raises(ValueError, match="micro-batches"):
        step_lib.check_batch(10, 4, mesh)
    with pytest.raises(ValueError, match="processes"):
        step_lib.check_batch(9, 1, mesh, process_count=2)


class FakeMesh:
    shape = {"data": 2, "fsdp": 4, "tensor": 2}


def test_micro_batch_must_split_over_data_parallel_devices():
    from opencoder_jax.train import step as step_lib

    step_lib.check_batch(64, 8, FakeMesh())  # 8 rows over 8 data-parallel devices
    with pytest.raises(ValueError, match="8 data-parallel devices"):
        step_lib.check_batch(32, 8, FakeMesh())
