"""Chat messages -> token ids with loss only on the assistant's answers (OpenCoder's SFT recipe).

OpenCoder's `sft/tools/finetune.py`: the prompt is the ChatML rendering of the user turn
with the generation prompt (`<|im_start|>assistant\\n`), the target is
`response + "\\n<|im_end|>"` (`<|im_end|>` is the end-of-turn token; no eos/bos added), the
concatenation is truncated on the right to `model_max_length` (1216 in stage 1, 1500 in
stage 2), and every prompt token gets label -100. We generalise to multi-turn chats: every
assistant turn is a target, everything else (system, user, role headers, separators) is
masked.

Token ids: finetune.py tokenizes prompt+target as one string and masks the first
len(tokenize(prompt)) tokens, which is off by a token when the tokenizer merges across the
boundary. For our tokenizers (no "▁" prefix policy) we tokenize the masked and target pieces
separately, so the mask covers exactly the answer's tokens. A tokenizer that prefixes "▁" to
a text's first segment (imported HF tokenizers, `prefix_policy` "first"/"always") would get a
prefix on every piece that way, so for those we do what finetune.py does: one encoding of the
whole chat, each mask boundary at len(encode(text before it)). The two agree whenever no merge
crosses a boundary (tested).

Special-token strings in the rendering (<|im_start|>, <|im_end|>) must become their ids: we
call `encode_with_special_tokens(text, add_bos=False, add_eos=False)` when the tokenizer has
it (`tokenizer.Vocabulary`), else `encode(text)`.

Dimension legend: N tokens of one chat; after the shift N-1.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Protocol, Sequence

import gin
import numpy as np

from opencoder_jax.tokenizer.special_tokens import DEFAULT_SYSTEM_PROMPT, IM_END, IM_START

ROLES = ("system", "user", "assistant")


class TextEncoder(Protocol):
    """What SFT needs from a tokenizer: text -> ids, special tokens recognised, nothing added.

    Optional: `encode_with_special_tokens(text, add_bos, add_eos)` (preferred when present) and
    `prefix_policy` ("never" unless it prefixes "▁" to a text's first segment).
    """

    def encode(self, text: str) -> Sequence[int]: ...


def _encoder(tokenizer: TextEncoder):
    if hasattr(tokenizer, "encode_with_special_tokens"):
        return lambda text: list(tokenizer.encode_with_special_tokens(text, add_bos=False, add_eos=False))
    return lambda text: list(tokenizer.encode(text))


@gin.configurable
@dataclasses.dataclass(frozen=True)
class SFTConfig:
    max_length: int = 1216  # model_max_length of OpenCoder stage 1 (stage 2: 1500)
    system_prompt: str = DEFAULT_SYSTEM_PROMPT  # inserted when a chat has no system turn
    target_suffix: str = "\n" + IM_END          # appended to every assistant answer


def chat_segments(messages: Sequence[Mapping[str, str]], config: SFTConfig | None = None) -> list[tuple[str, bool]]:
    """ChatML text as (piece, is_target) pieces; adjacent masked pieces are merged.

    `config=None` means `SFTConfig()` built at call time (so gin bindings apply).
    """
    config = SFTConfig() if config is None else config
    if not messages:
        raise ValueError("empty chat")
    pieces: list[tuple[str, bool]] = []

    def add(text: str, target: bool):
        if pieces and not target and not pieces[-1][1]:
            pieces[-1] = (pieces[-1][0] + text, False)
        else:
            pieces.append((text, target))

    if messages[0]["role"] != "system" and config.system_prompt:
        add(f"{IM_START}system\n{config.system_prompt}{IM_END}\n", False)
    for i, m in enumerate(messages):
        role, content = m["role"], m["content"]
        if role not in ROLES:
            raise ValueError(f"unknown chat role {role!r}")
        if role == "assistant":
            add(f"{IM_START}assistant\n", False)
            add(content + config.target_suffix, True)
            if i + 1 < len(messages):
                add("\n", False)
        else:
            add(f"{IM_START}{role}\n{content}{IM_END}\n", False)
    return pieces


def messages_of(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """A chat from either `{"messages": [...]}` or OpenCoder's `{"instruction", "output"}` rows."""
    if "messages" in record:
        return [{"role": m["role"], "content": m["content"]} for m in record["messages"]]
    return [{"role": "user", "content": record["instruction"]},
            {"role": "assistant", "content": record["output"]}]


def tokenize_chat(messages: Sequence[Mapping[str, str]], tokenizer: TextEncoder,
                  config: SFTConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Token ids [N] and a 0/1 loss mask [N] (1 exactly on assistant-answer tokens), truncated.

    `config=None` means `SFTConfig()` built at call time (so gin bindings apply).
    """
    config = SFTConfig() if config is None else config
    encode = _encoder(tokenizer)
    pieces = chat_segments(messages, config)
    ids: list[int] = []
    mask: list[int] = []
    if getattr(tokenizer, "prefix_policy", "never") == "never":
        for text, target in pieces:
            piece = encode(text)
            ids.extend(piece)
            mask.extend([int(target)] * len(piece))
    else:  # finetune.py's way: boundaries at the token counts of the text before them
        ids = encode("".join(t for t, _ in pieces))
        prefix, start = "", 0
        for text, target in pieces:
            prefix += text
            stop = min(len(encode(prefix)), len(ids))
            mask.extend([int(target)] * max(stop - start, 0))
            start = max(start, stop)
        mask.extend([0] * (len(ids) - len(mask)))
    ids_arr = np.asarray(ids[: config.max_length], np.int32)
    return ids_arr, np.asarray(mask[: config.max_length], np.float32)


def sft_example(ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Shifted example for packing: predict ids[1:] from ids[:-1], weighted by mask[1:]."""
    if len(ids) < 2 or not mask[1:].any():  # nothing to learn (e.g. prompt truncated away)
        empty = np.zeros((0,), np.int32)
        return {"inputs": empty, "targets": empty, "loss_weights": np.zeros((0,), np.float32),
                "corrupt": np.bool_(False)}
    return {"inputs": ids[:-1], "targets": ids[1:], "loss_weights": mask[1:],
            "corrupt": np.bool_(False)}


@dataclasses.dataclass(frozen=True)
class SFTExampleFn:
    """Grain map: a raw record (JSON str/bytes or dict) -> packed-ready example.

    A record that is not a readable chat becomes an empty example flagged `corrupt` (counted
    in the batch stats, never fatal); a chat with no trainable token left after truncation
    becomes an empty example (counted as `empty_documents`).
    """

    tokenizer: TextEncoder
    config: SFTConfig | None = None  # None: SFTConfig() built at construction (gin applies)

    def __post_init__(self):
        if self.config is None:
            object.__setattr__(self, "config", SFTConfig())

    def __call__(self, record: Any) -> dict[str, np.ndarray]:
        try:
            if isinstance(record, (bytes, str)):
                record = json.loads(record)
            ids, mask = tokenize_chat(messages_of(record), self.tokenizer, self.config)
        except (ValueError, KeyError, TypeError, AttributeError):
            empty = np.zeros((0,), np.int32)
            return {"inputs": empty, "targets": empty, "loss_weights": np.zeros((0,), np.float32),
                    "corrupt": np.bool_(True)}
        return sft_example(ids, mask)


class SentencePieceEncoder:
    """Minimal picklable `TextEncoder` over a SentencePiece model file (loaded lazily per process).

    Stand-in until callers pass the project's `tokenizer.Vocabulary`; any object with
    `encode(str) -> list[int]` works.
    """

    def __init__(self, model_path: str):
        self.model_path = model_path
        self._sp = None

    def _processor(self):
        if self._sp is None:
            import sentencepiece as spm

            self._sp = spm.SentencePieceProcessor(model_file=self.model_path)
        return self._sp

    def encode(self, text: str) -> list[int]:
        return self._processor().encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self._processor().decode(list(ids))

    def __getstate__(self):
        return {"model_path": self.model_path, "_sp": None}


def load_sft_records(paths: Sequence[str]) -> list[str]:
    """JSONL files -> list of raw JSON lines (kept as strings; parsed in the map)."""
    records: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            records.extend(line for line in f if line.strip())
    return records
