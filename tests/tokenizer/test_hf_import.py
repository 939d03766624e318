"""Released-style Hugging Face tokenizer directories: our ids equal transformers' ids.

The reference is transformers itself (AutoTokenizer on the same local directory). The
released OpenCoder tokenizer is a SentencePiece BPE model with special tokens added after
its pieces (tokenizer_config.json `added_tokens_decoder`), no bos/eos added; we build a
small model of that shape and wrap it the same way.
"""
import io
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencoder_jax.tokenizer import load_vocabulary
from opencoder_jax.tokenizer import special_tokens as stoks
from opencoder_jax.tokenizer.hf_import import build_hf_model_proto, prefix_policy
from tests.helpers.tokenizer_corpus import corpus_texts

transformers = pytest.importorskip("transformers")

ADDED = [stoks.IM_END, stoks.IM_START, *stoks.FIM_TOKENS]
ANY_CHAR = st.characters(blacklist_categories=("Cs",))
PIECES = st.sampled_from([
    "def f(x):\n", "\treturn x\r\n", "    ", " ", "  ", "\n", "日本語", "😀", "é", "\u2581", "ﬁ",
    "<|im_end|>", "<|im_start|>", "<|fim_prefix|>", "<s>", "</s>", "<unk>", "x", "12", " user\n", "assistant",
])
TEXTS = st.one_of(st.text(ANY_CHAR, max_size=120),
                  st.lists(st.one_of(PIECES, st.text(ANY_CHAR, max_size=4)), max_size=16).map("".join))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _released_style_sp_model() -> bytes:
    """A small BPE model trained with SentencePiece's (Llama-style) defaults: NFKC,
    whitespace collapsing and a dummy prefix, byte fallback, <unk>/<s>/</s> at 0/1/2."""
    import sentencepiece as spm

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus_texts()), model_writer=out, model_type="bpe", vocab_size=500,
        byte_fallback=True, character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        max_sentence_length=1 << 20, num_threads=1, minloglevel=2)
    return out.getvalue()


def _write_released_style_dir(path: str, sp_model: bytes, **config_overrides) -> int:
    import sentencepiece as spm

    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "tokenizer.model"), "wb") as f:
        f.write(sp_model)
    n = spm.SentencePieceProcessor(model_proto=sp_model).get_piece_size()
    decoder = {str(i): {"content": tok, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True}
               for i, tok in [(0, "<unk>"), (1, "<s>"), (2, "</s>")] + [(n + k, t) for k, t in enumerate(ADDED)]}
    config = {"tokenizer_class": "LlamaTokenizer", "add_bos_token": False, "add_eos_token": False,
              "bos_token": stoks.IM_START, "eos_token": stoks.IM_END, "unk_token": "<unk>", "pad_token": None,
              "clean_up_tokenization_spaces": False, "added_tokens_decoder": decoder, **config_overrides}
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump(config, f)
    return n


@pytest.fixture(scope="module")
def sp_model():
    return _released_style_sp_model()


VARIANTS = {
    "default": {},  # add_prefix_space unset -> "▁" before the first segment
    "no_prefix": {"add_prefix_space": False, "legacy": False},
    "legacy": {"legacy": True},  # "▁" before every segment
    "adds_bos": {"add_bos_token": True},
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def released_dir(request, tmp_path_factory, sp_model):
    path = str(tmp_path_factory.mktemp(f"hf_{request.param}"))
    _write_released_style_dir(path, sp_model, **VARIANTS[request.param])
    return path


@pytest.fixture(scope="module")
def hf_and_ours(released_dir):
    return transformers.AutoTokenizer.from_pretrained(released_dir), load_vocabulary(released_dir)


@SETTINGS
@given(text=TEXTS)
def test_ids_equal_transformers(hf_and_ours, text):
    hf, ours = hf_and_ours
    assert ours.encode_with_special_tokens(text) == hf.encode(text)


@SETTINGS
@given(text=TEXTS)
def test_plain_text_ids_equal_transformers_split_special_tokens(hf_and_ours, text):
    hf, ours = hf_and_ours
    expected = hf.encode(text, add_special_tokens=False, split_special_tokens=True)
    assert ours.encode(text) == expected


def test_special_ids_follow_the_config(hf_and_ours, sp_model):
    import sentencepiece as spm

    hf, ours = hf_and_ours
    n = spm.SentencePieceProcessor(model_proto=sp_model).get_piece_size()
    assert ours.eos_id == hf.eos_token_id == n
    assert ours.bos_id == hf.bos_token_id == n + 1
    assert ours.vocab_size == len(hf) == n + len(ADDED)
    for token in ADDED:
        assert ours.token_to_id(token) == hf.convert_tokens_to_ids(token)


def test_prefix_policy_table():
    assert prefix_policy({}) == "first"
    assert prefix_policy({"add_prefix_space": False}) == "never"
    assert prefix_policy({"legacy": True}) == "always"
    assert prefix_policy({"add_prefix_space": True, "legacy": False}) == "first"


def test_padding_to_the_model_vocabulary_keeps_ids(tmp_path, sp_model):
    """Released checkpoints have more embedding rows (96640) than tokens; padding keeps ids."""
    from opencoder_jax.tokenizer.hf_import import load_tokenizer_dir

    n = _write_released_style_dir(str(tmp_path), sp_model)
    padded = load_tokenizer_dir(str(tmp_path), pad_vocab_to=n + 64)
    plain = load_tokenizer_dir(str(tmp_path))
    assert padded.vocab_size == n + 64 and plain.vocab_size == n + len(ADDED)
    text = "<|im_start|>user\nwrite a sort<|im_end|>\n"
    assert padded.encode_with_special_tokens(text) == plain.encode_with_special_tokens(text)
    assert padded.eos_id == plain.eos_id == n


def test_conflicting_added_token_is_a_clear_error(sp_model):
    config = {"added_tokens_decoder": {"5": {"content": "<|im_end|>"}}}
    with pytest.raises(ValueError, match="claims id 5"):
        build_hf_model_proto(sp_model, config)


def test_unknown_tokenizer_class_is_refused(tmp_path, sp_model):
    _write_released_style_dir(str(tmp_path), sp_model, tokenizer_class="SomethingElseTokenizer")
    with pytest.raises(ValueError, match="not a Llama-style"):
        load_vocabulary(str(tmp_path))


# ----- our own trained directory, read by transformers -------------------------------------
@pytest.fixture(scope="module")
def ours_through_hf(small_tokenizer_dir, small_vocab):
    return transformers.AutoTokenizer.from_pretrained(small_tokenizer_dir), small_vocab


@SETTINGS
@given(text=TEXTS.filter(lambda t: "\u2581" not in t))
def test_our_tokenizer_dir_gives_transformers_the_same_ids(ours_through_hf, text):
    """Except a literal U+2581, which we spell as bytes for exactness (transformers: a space)."""
    hf, ours = ours_through_hf
    assert ours.encode_with_special_tokens(text) == hf.encode(text)


def test_our_tokenizer_dir_special_ids_in_transformers(ours_through_hf):
    hf, ours = ours_through_hf
    assert hf.eos_token_id == ours.eos_id and hf.bos_token_id == ours.bos_id and hf.pad_token_id == 0
    assert hf.encode("<|im_start|>user\nhi<|im_end|>\n")[0] == ours.bos_id
