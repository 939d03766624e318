"""Exact encode/decode round trips on arbitrary text, and batched == one-by-one encoding."""
import pickle

import numpy as np
import sentencepiece as spm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencoder_jax.tokenizer import special_tokens as stoks

# Any valid Unicode scalar (no lone surrogates: they have no UTF-8 spelling).
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
CODE_BITS = st.sampled_from([
    "def f(x):\n", "\treturn x\r\n", "    ", "\t\t", "\r\n", "\r", "\n\n", "  ", " ", "{", "}", "();",
    "😀", "🎉", "👩‍💻", "日本語", "ü", "é", "\u00a0", "\u2581", "\u200b", "\x00", "\ufeff", "０１",
    "ﬁ", "Å", "A\u030a", "<|im_end|>", "<|im_start|>", "<pad>", "<unk>", "<0x41>", "12345", "3.14",
    "#include <stdio.h>", "// TODO", "'''", '"""', "\\n", "$x", "@@",
])
TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=200),
    st.lists(CODE_BITS, max_size=30).map("".join),
    st.lists(st.one_of(CODE_BITS, st.text(ANY_CHAR, max_size=5)), max_size=20).map("".join),
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(text=TEXTS)
def test_round_trip_is_exact(small_vocab, text):
    ids = small_vocab.encode(text)
    assert small_vocab.decode_all(ids) == text
    # seqio's decode (stops at eos) is the same: plain text never produces eos.
    assert small_vocab.eos_id not in ids
    assert small_vocab.decode(ids) == text
    assert all(0 <= i < small_vocab.vocab_size for i in ids)


@SETTINGS
@given(texts=st.lists(TEXTS, max_size=8))
def test_batched_encoding_equals_one_by_one(small_vocab, texts):
    flat, splits = small_vocab.encode_batch(texts)
    assert flat.dtype == np.int32 and splits.dtype == np.int64 and len(splits) == len(texts) + 1
    for k, text in enumerate(texts):
        assert flat[splits[k]:splits[k + 1]].tolist() == small_vocab.encode(text)


@SETTINGS
@given(text=st.text(ANY_CHAR.filter(lambda c: c != "\u2581"), max_size=200))
def test_plain_sentencepiece_gives_the_same_ids(small_vocab, small_tokenizer_dir, text):
    """Independent reference: the stock SentencePiece processor on tokenizer.model."""
    sp = spm.SentencePieceProcessor(model_file=small_tokenizer_dir + "/tokenizer.model")
    assert small_vocab.encode(text) == sp.encode(text)
    assert sp.decode(sp.encode(text)) == text


def test_whitespace_and_newlines_survive(small_vocab):
    for text in ["", " ", "  lead", "trail  ", "\t", "a\r\nb", "a\rb", "\n\n\n", " \t \r\n ", "x" * 5000,
                 "\u2581", "a\u2581b", "\u2581\u2581 \u2581"]:
        assert small_vocab.decode_all(small_vocab.encode(text)) == text


def test_meta_symbol_is_escaped_as_bytes(small_vocab):
    ids = small_vocab.encode("\u2581")
    assert [small_vocab.id_to_token(i) for i in ids] == ["<0xE2>", "<0x96>", "<0x81>"]
    assert small_vocab.encode(" ") != ids


def test_special_token_strings_in_plain_text_stay_text(small_vocab):
    ids = small_vocab.encode("x<|im_end|>y")
    assert small_vocab.eos_id not in ids and small_vocab.bos_id not in ids
    assert small_vocab.decode_all(ids) == "x<|im_end|>y"


@SETTINGS
@given(parts=st.lists(st.one_of(st.sampled_from([stoks.IM_START, stoks.IM_END, stoks.FIM_PREFIX, stoks.FIM_MIDDLE]),
                                TEXTS), max_size=8))
def test_special_tokens_round_trip(small_vocab, parts):
    text = "".join(parts)
    ids = small_vocab.encode_with_special_tokens(text)
    assert small_vocab.decode_with_special_tokens(ids) == text
    assert ids.count(small_vocab.eos_id) == text.count(stoks.IM_END)


def test_layout_and_seqio_facts(small_vocab):
    layout = stoks.SpecialTokenLayout(640, 8)
    assert small_vocab.vocab_size == 640
    assert small_vocab.eos_id == layout.eos_id == 632
    assert small_vocab.bos_id == layout.bos_id == 633
    assert small_vocab.pad_id == 0 and small_vocab.unk_id == 1
    assert small_vocab.id_to_token(632) == "<|im_end|>" and small_vocab.id_to_token(633) == "<|im_start|>"
    assert small_vocab.special_tokens[stoks.FIM_PREFIX] == 634


def test_released_layout_ids():
    layout = stoks.SpecialTokenLayout(stoks.RELEASED_VOCAB_SIZE)
    assert (layout.eos_id, layout.bos_id) == (96539, 96540)
    assert len(layout.tail_tokens()) == 101 and layout.token_ids()[layout.tail_tokens()[-1]] == 96639


def test_pickled_vocabulary_works(small_vocab):
    clone = pickle.loads(pickle.dumps(small_vocab))
    text = "def f():\n\treturn '🎉'\r\n"
    assert clone.encode(text) == small_vocab.encode(text)
    flat, _ = clone.encode_batch([text])
    assert flat.tolist() == small_vocab.encode(text)


def test_seqio_tf_path_matches(small_vocab):
    import tensorflow as tf

    text = "for i in range(10):\n\tprint(i)  # 😀\r\n"
    ids = small_vocab.encode_tf(tf.constant(text)).numpy().tolist()
    assert ids == small_vocab.encode(text)
    assert small_vocab.decode_tf(tf.constant(ids)).numpy().decode("utf-8") == text
