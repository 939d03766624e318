"""Which tokenizer made a set of token shards: a hash of the tokenizer's files.

`opencoder data tokenize` writes it into `tokens.json` next to its shards; the loader and the
trainer compare it with the tokenizer they were given and refuse shards of another one
(their ids would be silently wrong). Only what decides the ids is hashed: tokenizer.model,
tokenizer.json, and tokenizer_config.json without its chat template (editing how chats are
rendered changes no token id of the shards).
"""
from __future__ import annotations

import hashlib
import json

ID_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json")
NOT_ID_KEYS = ("chat_template",)


def _read(path: str) -> bytes | None:
    if "://" in path:  # gs:// etc.: through TensorFlow's file systems, like the tokenizer loader
        import tensorflow as tf

        if not tf.io.gfile.exists(path):
            return None
        with tf.io.gfile.GFile(path, "rb") as f:
            return f.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _canonical_config(data: bytes) -> bytes:
    try:
        config = json.loads(data)
    except ValueError:
        return data
    if not isinstance(config, dict):
        return data
    kept = {k: v for k, v in config.items() if k not in NOT_ID_KEYS}
    return json.dumps(kept, sort_keys=True, ensure_ascii=False).encode("utf-8")


def tokenizer_sha256(tokenizer_dir: str) -> str:
    """sha256 over the id-deciding files of a tokenizer directory (name + content of each)."""
    digest = hashlib.sha256()
    found = []
    for name in ID_FILES:
        data = _read(tokenizer_dir.rstrip("/") + "/" + name)
        if data is None:
            continue
        if name == "tokenizer_config.json":
            data = _canonical_config(data)
        found.append(name)
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    if not found:
        raise FileNotFoundError(f"{tokenizer_dir!r} holds none of the tokenizer files {ID_FILES}")
    return digest.hexdigest()
