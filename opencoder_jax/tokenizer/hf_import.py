"""Load tokenizer directories: ours, and released-style Hugging Face ones, as a `Vocabulary`.

A released OpenCoder tokenizer is a SentencePiece `tokenizer.model` (INF-34B's pieces, byte
fallback) plus `tokenizer_config.json` whose `added_tokens_decoder` appends the ChatML and
other special tokens after the model's own pieces, `add_bos_token`/`add_eos_token` false.
transformers (5.x) reads such a directory as a Llama-style tokenizer: no normalizer, a
Metaspace pre-tokenizer that turns spaces into "▁" and prepends one "▁" to the first text
segment (`add_prefix_space`, default true; to every segment when `legacy` is true), added
tokens split out of the text before anything else, BPE with byte fallback.

We reproduce those ids with SentencePiece itself: the model proto gets the added tokens
appended as CONTROL pieces (so seqio/tensorflow_text see one self-contained vocabulary),
identity normalization (transformers ignores the model's normalizer), no dummy prefix and
no whitespace collapsing; the "▁" prefix and the special-token split happen in
`Vocabulary`. tests/tokenizer/test_hf_import.py checks the ids against transformers.

Our own directories (`opencoder tokenizer train`) carry an "opencoder_jax" entry in
tokenizer_config.json; their model is already self-contained and exact.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing the vocabulary pulls in seqio/TensorFlow: only when used
    from opencoder_jax.tokenizer.vocabulary import Vocabulary

MODEL_FILE = "tokenizer.model"
CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
OUR_CONFIG_KEY = "opencoder_jax"
LLAMA_STYLE_CLASSES = ("LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast")


def _join(directory: str, name: str) -> str:
    return directory.rstrip("/") + "/" + name


def _read(path: str) -> bytes:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


def _exists(path: str) -> bool:
    import tensorflow as tf

    return tf.io.gfile.exists(path)


def token_content(value: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or {"content": ...}."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get("content")
    return str(value)


def read_tokenizer_config(directory: str) -> dict:
    path = _join(directory, CONFIG_FILE)
    if not _exists(path):
        raise FileNotFoundError(f"{path} not found (a tokenizer directory needs {MODEL_FILE} and {CONFIG_FILE})")
    config = json.loads(_read(path).decode("utf-8"))
    # special_tokens_map.json fills tokens the config leaves out (older save formats).
    map_path = _join(directory, SPECIAL_TOKENS_MAP_FILE)
    if _exists(map_path):
        for key, value in json.loads(_read(map_path).decode("utf-8")).items():
            config.setdefault(key, value)
    return config


def added_tokens(config: dict) -> dict[int, dict]:
    """id -> {"content", "lstrip", "rstrip", "special"} from added_tokens_decoder."""
    out = {}
    for key, spec in (config.get("added_tokens_decoder") or {}).items():
        spec = spec if isinstance(spec, dict) else {"content": str(spec)}
        out[int(key)] = {"content": spec["content"], "lstrip": bool(spec.get("lstrip", False)),
                         "rstrip": bool(spec.get("rstrip", False)), "special": bool(spec.get("special", True))}
    return out


def prefix_policy(config: dict) -> str:
    """transformers' Metaspace prepend scheme for a Llama-style tokenizer config."""
    add_prefix_space = config.get("add_prefix_space")
    if add_prefix_space is None:
        add_prefix_space = True  # LlamaTokenizer's default
    if not add_prefix_space:
        return "never"
    return "always" if config.get("legacy", False) else "first"


def build_hf_model_proto(sp_model: bytes, config: dict, pad_vocab_to: int | None = None) -> bytes:
    """The SentencePiece model with added tokens appended and transformers' normalization."""
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    proto = sp_pb2.ModelProto.FromString(sp_model)
    if proto.trainer_spec.model_type != sp_pb2.TrainerSpec.BPE:
        raise ValueError("only BPE SentencePiece models are supported (the released tokenizer is BPE)")
    pieces = {p.piece: i for i, p in enumerate(proto.pieces)}
    tokens = added_tokens(config)
    for token_id in sorted(tokens):
        content = tokens[token_id]["content"]
        if token_id < len(proto.pieces):
            if proto.pieces[token_id].piece != content:
                raise ValueError(f"added token {content!r} claims id {token_id}, which the model "
                                 f"holds as {proto.pieces[token_id].piece!r}")
            continue
        if content in pieces:
            raise ValueError(f"added token {content!r} (id {token_id}) is also model piece {pieces[content]}")
        while len(proto.pieces) < token_id:  # a gap in the added ids: keep later ids where they are
            _add_control(proto, f"<|opencoder_unused_{len(proto.pieces)}|>")
        _add_control(proto, content)
        pieces[content] = token_id
    if pad_vocab_to is not None:
        if pad_vocab_to < len(proto.pieces):
            raise ValueError(f"pad_vocab_to {pad_vocab_to} < vocabulary size {len(proto.pieces)}")
        while len(proto.pieces) < pad_vocab_to:
            _add_control(proto, f"<|opencoder_unused_{len(proto.pieces)}|>")
    for field in ("bos", "eos", "pad", "unk"):
        content = token_content(config.get(f"{field}_token"))
        if field == "unk":
            continue  # SentencePiece finds unk by piece type
        if content is not None and content in pieces:
            setattr(proto.trainer_spec, f"{field}_piece", content)
            setattr(proto.trainer_spec, f"{field}_id", pieces[content])
        else:
            # No such token: SentencePiece must not report one either.
            setattr(proto.trainer_spec, f"{field}_id", -1)
            setattr(proto.trainer_spec, f"{field}_piece", f"<|opencoder_no_{field}|>")
    for spec in (proto.normalizer_spec, proto.denormalizer_spec):
        spec.name = "identity"
        spec.precompiled_charsmap = b""
        spec.add_dummy_prefix = False
        spec.remove_extra_whitespaces = False
        spec.escape_whitespaces = True
    proto.trainer_spec.vocab_size = len(proto.pieces)
    return proto.SerializeToString()


def _add_control(proto, content: str) -> None:
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    proto.pieces.add(piece=content, score=0.0, type=sp_pb2.ModelProto.SentencePiece.CONTROL)


def vocabulary_from_hf(directory: str, pad_vocab_to: int | None = None,
                       allow_any_class: bool = False) -> "Vocabulary":
    """A released-style Hugging Face tokenizer directory -> Vocabulary with transformers' ids."""
    from opencoder_jax.tokenizer.vocabulary import Vocabulary

    config = read_tokenizer_config(directory)
    cls = config.get("tokenizer_class")
    if cls not in LLAMA_STYLE_CLASSES and not allow_any_class:
        raise ValueError(f"{directory}: tokenizer_class {cls!r} is not a Llama-style SentencePiece tokenizer "
                         f"({', '.join(LLAMA_STYLE_CLASSES)}); pass allow_any_class=True to assume Llama rules")
    sp_model = _read(_join(directory, MODEL_FILE))
    model = build_hf_model_proto(sp_model, config, pad_vocab_to)
    tokens = added_tokens(config)
    return Vocabulary(
        model,
        special_tokens={t["content"]: i for i, t in tokens.items()},
        strip={t["content"]: (t["lstrip"], t["rstrip"]) for t in tokens.values()},
        prefix_policy=prefix_policy(config),
        escape_meta_symbol=False,
        add_bos=bool(config.get("add_bos_token", True)),
        add_eos=bool(config.get("add_eos_token", False)),
        name=directory,
    )


def vocabulary_from_ours(directory: str, config: dict) -> "Vocabulary":
    from opencoder_jax.tokenizer.vocabulary import Vocabulary

    ours = config[OUR_CONFIG_KEY]
    tokens = added_tokens(config)
    return Vocabulary(
        _read(_join(directory, MODEL_FILE)),
        special_tokens={t["content"]: i for i, t in tokens.items()},
        prefix_policy=ours.get("prefix_policy", "never"),
        escape_meta_symbol=bool(ours.get("escape_meta_symbol", True)),
        add_bos=bool(config.get("add_bos_token", False)),
        add_eos=bool(config.get("add_eos_token", False)),
        name=directory,
    )


def load_tokenizer_dir(directory: str, pad_vocab_to: int | None = None) -> "Vocabulary":
    """Our tokenizer directory or a released-style Hugging Face one -> Vocabulary."""
    model_path = _join(directory, MODEL_FILE)
    if not _exists(model_path):
        raise FileNotFoundError(f"{model_path} not found: --vocab must be a tokenizer directory "
                                f"(from `opencoder tokenizer train`, or a released tokenizer with {MODEL_FILE})")
    config = read_tokenizer_config(directory)
    if OUR_CONFIG_KEY in config:
        return vocabulary_from_ours(directory, config)
    return vocabulary_from_hf(directory, pad_vocab_to=pad_vocab_to)
