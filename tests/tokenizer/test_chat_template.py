"""Our Python ChatML rendering equals the released Jinja template rendered by jinja2 (as
transformers renders it), for multi-turn conversations with and without a system turn."""
import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2.sandbox import ImmutableSandboxedEnvironment

from opencoder_jax.tokenizer.chat_template import CHAT_TEMPLATE, chat_segments, render_chat, sft_prompt_and_target

# transformers compiles chat templates in this environment.
ENV = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
TEMPLATE = ENV.from_string(CHAT_TEMPLATE)

CONTENT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60) | st.sampled_from(
    ["", "\n", "  indented\n\tcode\r\n", "{{ not jinja }}", "{% raw %}", "<|im_end|>", "😀 日本語"])
ROLE = st.sampled_from(["user", "assistant", "system", "tool"])
MESSAGES = st.lists(st.fixed_dictionaries({"role": ROLE, "content": CONTENT}), max_size=7)


def jinja_render(messages, add_generation_prompt):
    return TEMPLATE.render(messages=messages, add_generation_prompt=add_generation_prompt)


def test_default_system_prompt_single_turn():
    expected = ("<|im_start|>system\nYou are OpenCoder, created by OpenCoder Team.<|im_end|>\n"
                "<|im_start|>user\nwrite a quick sort<|im_end|>\n<|im_start|>assistant\n")
    messages = [{"role": "user", "content": "write a quick sort"}]
    assert render_chat(messages, add_generation_prompt=True) == expected
    assert jinja_render(messages, True) == expected


def test_multi_turn_with_and_without_system():
    turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello\n```py\nx=1\n```"},
             {"role": "user", "content": "more"}]
    with_system = [{"role": "system", "content": "Be terse."}, *turns]
    for messages in (turns, with_system):
        for gen in (False, True):
            assert render_chat(messages, add_generation_prompt=gen) == jinja_render(messages, gen)
    assert "You are OpenCoder" not in render_chat(with_system)
    assert render_chat(turns).count("You are OpenCoder") == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=MESSAGES, add_generation_prompt=st.booleans())
def test_equals_jinja_on_random_conversations(messages, add_generation_prompt):
    assert render_chat(messages, add_generation_prompt) == jinja_render(messages, add_generation_prompt)


def test_segments_concatenate_to_rendering():
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    segments = chat_segments(messages, add_generation_prompt=True)
    assert [role for role, _ in segments] == ["system", "user", "assistant", "generation_prompt"]
    assert "".join(text for _, text in segments) == render_chat(messages, True)


def test_sft_pair_follows_the_recipe():
    prompt, target = sft_prompt_and_target("sort a list", "sorted(x)")
    assert prompt == jinja_render([{"role": "user", "content": "sort a list"}], True)
    assert target == "sorted(x)\n<|im_end|>"


def test_transformers_apply_chat_template_agrees(small_tokenizer_dir):
    """Our trained tokenizer_config.json carries the template; transformers renders it the same."""
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(small_tokenizer_dir)
    messages = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                {"role": "user", "content": "q2"}]
    for gen in (False, True):
        assert tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen) == render_chat(messages, gen)


def test_bad_message_is_a_clear_error():
    with pytest.raises(TypeError, match="message 0"):
        render_chat([{"role": "user", "content": None}])
