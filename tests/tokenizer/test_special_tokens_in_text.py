"""Special-token strings inside text: the rule, checked against transformers on OUR directory.

The rule (README "Special tokens in text"): `Vocabulary.encode(text)` is plain text, always --
a document that mentions "<|im_start|>" cannot inject a control token -- and equals
transformers' `encode(text, add_special_tokens=False, split_special_tokens=True)`;
`encode_with_special_tokens(text)` is the explicit opt-in that equals transformers' default
`encode(text)` (the chat template's path). Reference: transformers' AutoTokenizer on the
directory `opencoder tokenizer train` wrote (issue 19: the two used to be confused).
"""
import ast
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencoder_jax.tokenizer import render_chat
from opencoder_jax.tokenizer import special_tokens as stoks

transformers = pytest.importorskip("transformers")
ROOT = pathlib.Path(__file__).resolve().parents[2]

SPECIALS = [stoks.IM_START, stoks.IM_END, stoks.FIM_PREFIX, stoks.FIM_SUFFIX]
POSITIONED = [
    "<|im_start|>",                                   # alone
    "<|im_start|>user\nhi",                           # at the start
    "print('<|im_end|>')\n",                          # inside code, in the middle
    "x = 1\n<|im_end|>",                              # at the end
    "<|im_start|><|im_end|><|fim_prefix|>",           # adjacent
    "a <|im_start|> b  <|im_end|>\n\n",               # with spaces around
    "<|im_start|<|im_end|>|>",                        # a broken one next to a real one
    "tok = '<|fim_prefix|>' + src + '<|fim_suffix|>'",
]
PIECES = st.sampled_from(["def f(x):\n", "    ", " ", "\n", "日本語", "é", "x", "12", "user\n", *SPECIALS, "<|", "|>"])
TEXTS = st.lists(PIECES, max_size=12).map("".join)


@pytest.fixture(scope="module")
def pair(small_tokenizer_dir, small_vocab):
    return transformers.AutoTokenizer.from_pretrained(small_tokenizer_dir), small_vocab


@pytest.mark.parametrize("text", POSITIONED)
def test_plain_encode_keeps_special_strings_as_text_like_split_special_tokens(pair, text):
    hf, ours = pair
    ids = ours.encode(text)
    assert not set(ids) & set(ours.special_tokens.values())  # no control id from document text
    assert ids == hf.encode(text, add_special_tokens=False, split_special_tokens=True)
    assert ours.decode_all(ids) == text


@pytest.mark.parametrize("text", POSITIONED)
def test_opt_in_parses_special_strings_like_transformers_default(pair, text):
    hf, ours = pair
    ids = ours.encode_with_special_tokens(text)
    assert ids == hf.encode(text)
    assert ours.special_tokens[stoks.IM_START] in ids or stoks.IM_START not in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS)
def test_both_modes_equal_transformers_on_mixed_text(pair, text):
    hf, ours = pair
    assert ours.encode(text) == hf.encode(text, add_special_tokens=False, split_special_tokens=True)
    assert ours.encode_with_special_tokens(text) == hf.encode(text)


def test_chat_template_produces_control_ids_through_the_opt_in(pair):
    hf, ours = pair
    messages = [{"role": "user", "content": "Write hello world."}, {"role": "assistant", "content": "print(1)"},
                {"role": "user", "content": "Again"}]
    expected = hf.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    expected = list(expected["input_ids"] if hasattr(expected, "keys") else expected)
    ids = ours.encode_with_special_tokens(render_chat(messages, add_generation_prompt=True))
    assert ids == expected
    assert ids.count(ours.special_tokens[stoks.IM_START]) == 5  # system, 3 turns, generation prompt


def test_literal_meta_symbol_is_the_one_documented_difference(pair):
    """Our directories keep a literal U+2581 exact (byte pieces); transformers reads it as a space."""
    hf, ours = pair
    text = "a\u2581b"
    assert ours.decode_all(ours.encode(text)) == text
    assert ours.encode(text) != hf.encode(text, add_special_tokens=False, split_special_tokens=True)
    assert hf.decode(hf.encode(text, add_special_tokens=False)) != text


def test_vocabulary_does_not_import_hf_import():
    """One direction only: hf_import builds Vocabulary objects; vocabulary never loads directories."""
    tree = ast.parse((ROOT / "opencoder_jax/tokenizer/vocabulary.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith("opencoder_jax.tokenizer") for m in imported), imported


def test_readme_states_the_rule():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Special tokens in text" in readme
    assert "split_special_tokens=True" in readme and "encode_with_special_tokens" in readme
