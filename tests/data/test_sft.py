"""SFT: loss masks cover exactly the assistant answers (+ "\\n<|im_end|>"), per OpenCoder's recipe."""
from __future__ import annotations

import json

import jinja2
import numpy as np
import pytest

from opencoder_jax.data import loader, sft

# ChatML with OpenCoder's default system prompt (the reference rendering).
CHATML = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are OpenCoder, created by OpenCoder Team.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

CHAT = [
    {"role": "user", "content": "Write a function that adds two numbers."},
    {"role": "assistant", "content": "def add(a, b):\n    return a + b"},
    {"role": "user", "content": "Now 三 numbers, please 🙂"},
    {"role": "assistant", "content": "def add3(a, b, c):\n\treturn a + b + c\r\n"},
]


def render(messages, add_generation_prompt=False):
    return jinja2.Template(CHATML).render(messages=messages, add_generation_prompt=add_generation_prompt)


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    import sentencepiece as spm

    d = tmp_path_factory.mktemp("spm")
    corpus = d / "corpus.txt"
    lines = [render(CHAT)] * 3 + ["def f(x):\n    return x * 2\n", "for i in range(10): print(i)"] * 20
    corpus.write_text("\n".join(lines), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(d / "m"), vocab_size=400, model_type="bpe",
        byte_fallback=True, add_dummy_prefix=False, remove_extra_whitespaces=False,
        normalization_rule_name="identity", user_defined_symbols=["<|im_start|>", "<|im_end|>"],
        bos_id=-1, eos_id=1, unk_id=0, pad_id=-1, split_by_whitespace=False, minloglevel=2)
    return sft.SentencePieceEncoder(str(d / "m.model"))


def runs(mask):
    """Contiguous [start, stop) runs of mask == 1."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def test_segments_are_the_chatml_rendering():
    # With the template's own suffix the pieces concatenate to the Jinja rendering
    # (minus the newline after the final turn, which training never sees).
    cfg = sft.SFTConfig(target_suffix="<|im_end|>")
    assert "".join(t for t, _ in sft.chat_segments(CHAT, cfg)) == render(CHAT)[:-1]
    from opencoder_jax.tokenizer.chat_template import render_chat
    assert render_chat(CHAT) == render(CHAT)  # the project's renderer agrees with this reference
    # The masked text before the first answer is the generation prompt, as in finetune.py.
    first = sft.chat_segments(CHAT[:2])
    assert first[0] == (render(CHAT[:1], add_generation_prompt=True), False)
    assert first[1] == (CHAT[1]["content"] + "\n<|im_end|>", True)


def test_mask_covers_exactly_the_assistant_tokens(tok):
    ids, mask = sft.tokenize_chat(CHAT, tok, sft.SFTConfig(max_length=10_000))
    answers = [m["content"] + "\n<|im_end|>" for m in CHAT if m["role"] == "assistant"]
    target_runs = runs(mask)
    assert [tok.decode(ids[a:b].tolist()) for a, b in target_runs] == answers
    prompt_text = "".join(tok.decode(ids[a:b].tolist()) for a, b in runs(1 - mask))
    full = "".join(t for t, _ in sft.chat_segments(CHAT))
    assert tok.decode(ids.tolist()) == full
    assert len(prompt_text) + sum(map(len, answers)) == len(full)
    im_end = tok.encode("<|im_end|>")
    assert len(im_end) == 1 and ids[target_runs[0][1] - 1] == im_end[0]  # each answer ends in EOT


def test_single_turn_matches_opencoder_recipe(tok):
    # finetune.py: tokenize(source + target), labels = -100 on the first len(tokenize(source)).
    inst, out = "Reverse a string in Python.", "s[::-1]"
    source = render([{"role": "user", "content": inst}], add_generation_prompt=True)
    target = f"{out}\n<|im_end|>"
    want_ids = tok.encode(source + target)
    want_mask = np.ones(len(want_ids), np.float32)
    want_mask[: len(tok.encode(source))] = 0
    ids, mask = sft.tokenize_chat(sft.messages_of({"instruction": inst, "output": out}), tok)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(mask, want_mask)


class PrefixingEncoder:
    """The tiny tokenizer seen as an imported HF one (prefix policy "first")."""

    prefix_policy = "first"

    def __init__(self, inner):
        self.inner = inner

    def encode(self, text):
        return self.inner.encode(text)


def test_whole_text_path_agrees_with_piecewise(tok):
    cfg = sft.SFTConfig(max_length=10_000)
    ids_a, mask_a = sft.tokenize_chat(CHAT, tok, cfg)
    ids_b, mask_b = sft.tokenize_chat(CHAT, PrefixingEncoder(tok), cfg)
    np.testing.assert_array_equal(ids_a, ids_b)
    np.testing.assert_array_equal(mask_a, mask_b)


def test_project_vocabulary_gives_the_same_ids(tok):
    from opencoder_jax.tokenizer.vocabulary import Vocabulary

    sp = tok._processor()
    specials = {t: sp.PieceToId(t) for t in ("<|im_start|>", "<|im_end|>")}
    vocab = Vocabulary(sp.serialized_model_proto(), special_tokens=specials)
    for cfg in (sft.SFTConfig(max_length=10_000), sft.SFTConfig(max_length=30)):
        ids_a, mask_a = sft.tokenize_chat(CHAT, tok, cfg)
        ids_b, mask_b = sft.tokenize_chat(CHAT, vocab, cfg)
        np.testing.assert_array_equal(ids_a, ids_b)
        np.testing.assert_array_equal(mask_a, mask_b)


def test_truncation_and_examples(tok):
    ids, mask = sft.tokenize_chat(CHAT, tok, sft.SFTConfig(max_length=25))
    assert len(ids) == len(mask) == 25
    ex = sft.sft_example(ids, mask)
    assert not mask.any() and len(ex["inputs"]) == 0  # the prompt alone fills 25 tokens: nothing to learn
    fn = sft.SFTExampleFn(tok, sft.SFTConfig(max_length=1216))
    ok = fn(json.dumps({"instruction": "hi", "output": "hello"}))
    assert not ok["corrupt"] and ok["loss_weights"].sum() > 0
    np.testing.assert_array_equal(ok["targets"][:-1], ok["inputs"][1:])
    assert bool(fn(b"{not json")["corrupt"]) and bool(fn({"messages": [{"role": "robot", "content": "x"}]})["corrupt"])


def test_packed_sft_batches_keep_chats_whole(tok):
    records = [json.dumps({"messages": CHAT})] * 3 + [json.dumps({"instruction": "hi", "output": "hello"})] * 5
    cfg = loader.LoaderConfig(global_batch_size=2, seq_len=128, shuffle=False, num_epochs=1, pack_mode="whole",
                              worker_count=0, shard_by_process=False)
    batches = list(loader.sft_dataset(cfg, records, tok, sft.SFTConfig(max_length=128)))
    per_chat = [sft.tokenize_chat(sft.messages_of(json.loads(r)), tok, sft.SFTConfig(max_length=128)) for r in records]
    assert sum(b["loss_weights"].sum() for b in batches) == sum(m.sum() for _, m in per_chat)
    assert sum(int(b["stats/cuts"]) for b in batches) == 0
    for b in batches:  # weights only where a segment is
        assert np.all(b["loss_weights"][b["segment_ids"] == 0] == 0)
