"""OpenCoder's chat format: ChatML with a default system prompt.

`CHAT_TEMPLATE` is the Jinja template shipped in the released instruct models'
tokenizer_config.json (data, kept verbatim so `tokenizer_config.json` files we write render
the same in transformers). `render_chat` is the same function in plain Python, with no Jinja
at run time; tests/tokenizer/test_chat_template.py checks them equal.

  <|im_start|>system\nYou are OpenCoder, created by OpenCoder Team.<|im_end|>\n   (only if
                                              the first message is not a system message)
  <|im_start|>{role}\n{content}<|im_end|>\n   per message
  <|im_start|>assistant\n                     with add_generation_prompt

The SFT recipe (OpenCoder-llm sft/tools/finetune.py) trains on prompt =
render_chat([user], add_generation_prompt=True) and target = response + "\n<|im_end|>";
`sft_prompt_and_target` builds exactly that pair.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from opencoder_jax.tokenizer.special_tokens import DEFAULT_SYSTEM_PROMPT, IM_END, IM_START

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are OpenCoder, created by OpenCoder Team.<|im_end|>\\n' }}"
    "{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

Message = Mapping[str, str]


def _turn(role: str, content: str) -> str:
    return f"{IM_START}{role}\n{content}{IM_END}\n"


def chat_segments(messages: Sequence[Message], add_generation_prompt: bool = False,
                  system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> list[tuple[str, str]]:
    """(role, rendered text) pieces whose concatenation is `render_chat(...)`.

    The default system turn is reported with role "system"; the generation prompt with role
    "generation_prompt". Useful for loss masks (which tokens belong to assistant turns).
    """
    out: list[tuple[str, str]] = []
    for k, message in enumerate(messages):
        role, content = message["role"], message["content"]
        if not isinstance(role, str) or not isinstance(content, str):
            raise TypeError(f"message {k}: role and content must be strings, got {message!r}")
        if k == 0 and role != "system":
            out.append(("system", _turn("system", system_prompt)))
        out.append((role, _turn(role, content)))
    if add_generation_prompt:
        out.append(("generation_prompt", f"{IM_START}assistant\n"))
    return out


def render_chat(messages: Sequence[Message], add_generation_prompt: bool = False,
                system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> str:
    """The released template's rendering (with `system_prompt` as the default system turn)."""
    return "".join(text for _, text in chat_segments(messages, add_generation_prompt, system_prompt))


def sft_prompt_and_target(instruction: str, response: str) -> tuple[str, str]:
    """OpenCoder's SFT pair: the loss covers only `target` (response + "\\n<|im_end|>")."""
    prompt = render_chat([{"role": "user", "content": instruction}], add_generation_prompt=True)
    return prompt, f"{response}\n{IM_END}"
