"""`Vocabulary`: a seqio SentencePiece vocabulary with exact round trips and batched encoding.

It IS a `seqio.SentencePieceVocabulary` (seqio tasks and feature converters take it as is)
built from the serialized model held in memory, so a pickled vocabulary carries its own
model to Beam/Grain workers (no path that only exists on the driver).

Two modes, chosen explicitly by the caller (the rule; README "Special tokens in text"):
  encode(text)                      PLAIN TEXT, always: special-token strings are never parsed,
                                    so a document that mentions "<|im_start|>" stays text (7+
                                    pieces) and cannot inject a control token. Equal to
                                    transformers' `tokenizer.encode(text, add_special_tokens=False,
                                    split_special_tokens=True)` on the same directory.
  encode_batch(texts)               the same for many texts in one tensorflow_text call
                                    (the tokenization job's path: documents are plain text)
  encode_with_special_tokens(text)  OPT-IN: special-token strings split out first and mapped to
                                    their ids, bos/eos added as the tokenizer config says --
                                    exactly transformers' default `tokenizer.encode(text)`. For
                                    text WE build: chat renderings (chat_template.py), prompts.
One documented exception on our own directories: a literal U+2581 ("▁") is kept exact (see
below) where transformers reads it as a space piece.

Exactness. Our own tokenizers are trained with identity normalization, no whitespace
collapsing and no dummy prefix, so SentencePiece keeps every character. One character is
still ambiguous in SentencePiece: U+2581 ("▁") is how it spells a space, so a literal "▁"
would decode as " ". With `escape_meta_symbol` (on for our tokenizers) a literal U+2581
is encoded as its three UTF-8 byte-fallback pieces, which decode back to "▁".

Imported Hugging Face tokenizers (`hf_import`) instead reproduce transformers: a "▁"
prefix on the first text segment (`prefix_policy` "first"), on every segment ("always"),
or never.
"""
from __future__ import annotations

import re
import threading
from typing import Iterable, Mapping, Sequence

import numpy as np
import seqio
from seqio import vocabularies as seqio_vocabularies

META_SYMBOL = "\u2581"
PREFIX_POLICIES = ("never", "first", "always")


class Vocabulary(seqio.SentencePieceVocabulary):
    """seqio vocabulary over an in-memory SentencePiece model plus special-token metadata.

    Args:
      model_bytes: serialized SentencePiece ModelProto, special tokens included as pieces.
      special_tokens: token string -> id for `encode_with_special_tokens` (HF added tokens).
      prefix_policy: "never" | "first" | "always": where a "▁" is prepended (HF Metaspace).
      escape_meta_symbol: encode a literal U+2581 as byte pieces (exact round trips).
      add_bos / add_eos: what `encode_with_special_tokens` adds (HF add_bos/eos_token).
      strip: token -> (lstrip, rstrip) for HF added tokens that swallow adjacent spaces.
      name: a label for messages (usually the source directory).
    """

    def __init__(self, model_bytes: bytes, *, special_tokens: Mapping[str, int] | None = None,
                 prefix_policy: str = "never", escape_meta_symbol: bool = True,
                 add_bos: bool = False, add_eos: bool = False,
                 strip: Mapping[str, tuple[bool, bool]] | None = None, name: str = "<memory>"):
        if prefix_policy not in PREFIX_POLICIES:
            raise ValueError(f"prefix_policy must be one of {PREFIX_POLICIES}, got {prefix_policy!r}")
        self._model_bytes = bytes(model_bytes)
        self._special_tokens = dict(special_tokens or {})
        self._prefix_policy = prefix_policy
        self._escape_meta_symbol = escape_meta_symbol
        self._add_bos = add_bos
        self._add_eos = add_eos
        self._strip = dict(strip or {})
        self._tf_state = None  # (tokenizer, lock), built lazily per process
        super().__init__(sentencepiece_model_file=name, extra_ids=0)
        self._check_model()

    # ----- seqio plumbing -------------------------------------------------------------------
    def _model_context(self):
        if self._model is None:
            import sentencepiece as spm

            processor = spm.SentencePieceProcessor()
            processor.LoadFromSerializedProto(self._model_bytes)
            self._model = seqio_vocabularies._ModelContext(tokenizer=processor, sp_model=self._model_bytes)
        return self._model

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_tf_state", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._tf_state = None

    def _check_model(self):
        n = self.tokenizer.GetPieceSize()
        for token, i in self._special_tokens.items():
            if not 0 <= i < n:
                raise ValueError(f"special token {token!r} has id {i} outside the vocabulary (size {n})")

    @property
    def tf_tokenizer(self):
        return self._tf()[0]

    def _tf(self):
        if self._tf_state is None:
            import tensorflow_text as tf_text

            self._tf_state = (tf_text.SentencepieceTokenizer(model=self._model_bytes), threading.Lock())
        return self._tf_state

    # ----- facts ----------------------------------------------------------------------------
    @property
    def model_bytes(self) -> bytes:
        return self._model_bytes

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special_tokens)

    @property
    def prefix_policy(self) -> str:
        return self._prefix_policy

    @property
    def escape_meta_symbol(self) -> bool:
        return self._escape_meta_symbol

    def token_to_id(self, token: str) -> int:
        if token in self._special_tokens:
            return self._special_tokens[token]
        i = self.tokenizer.PieceToId(token)
        if i == self.tokenizer.unk_id() and token != self.tokenizer.IdToPiece(i):
            raise KeyError(f"{token!r} is not a piece of this vocabulary")
        return i

    def id_to_token(self, i: int) -> str:
        return self.tokenizer.IdToPiece(int(i))

    # ----- encoding -------------------------------------------------------------------------
    def _prepare(self, text: str, first_segment: bool) -> str:
        """The string handed to SentencePiece for one plain-text segment."""
        if self._prefix_policy == "always" or (self._prefix_policy == "first" and first_segment):
            # HF Metaspace prepends "▁" unless the segment already starts with one (a space).
            if text and not text.startswith((" ", META_SYMBOL)):
                text = " " + text
        return text

    def _encode_segment(self, text: str, first_segment: bool = True) -> list[int]:
        text = self._prepare(text, first_segment)
        if not text:
            return []
        sp = self.tokenizer
        if self._escape_meta_symbol and META_SYMBOL in text:
            escaped = [sp.PieceToId(f"<0x{b:02X}>") for b in META_SYMBOL.encode("utf-8")]
            out: list[int] = []
            for k, part in enumerate(text.split(META_SYMBOL)):
                if k:
                    out.extend(escaped)
                if part:
                    out.extend(sp.EncodeAsIds(part))
            return out
        return list(sp.EncodeAsIds(text))

    def _encode(self, s: str) -> list[int]:
        return self._encode_segment(s, first_segment=True)

    def encode(self, s: str) -> list[int]:
        """Plain text -> ids (no bos/eos; special-token strings stay text)."""
        if not isinstance(s, str):
            raise TypeError(f"encode takes a str, got {type(s).__name__}")
        return self._encode(s)

    def encode_batch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Many plain texts -> (flat ids int32 [T], row_splits int64 [N+1]) via tensorflow_text.

        Equal to `[encode(t) for t in texts]` (tested); texts that need the Python path
        (a literal U+2581 under `escape_meta_symbol`) are encoded there and spliced in.
        """
        texts = list(texts)
        if not texts:
            return np.zeros([0], np.int32), np.zeros([1], np.int64)
        prepared = [self._prepare(t, True) for t in texts]
        slow = [i for i, t in enumerate(prepared) if self._escape_meta_symbol and META_SYMBOL in t]
        tokenizer, lock = self._tf()
        with lock:  # the op is not documented as thread-safe; one call at a time per process
            ragged = tokenizer.tokenize([t.encode("utf-8") for t in prepared])
        flat = ragged.flat_values.numpy().astype(np.int32, copy=False)
        splits = ragged.row_splits.numpy().astype(np.int64, copy=False)
        if not slow:
            return flat, splits
        rows = [flat[splits[i]:splits[i + 1]] for i in range(len(texts))]
        for i in slow:
            rows[i] = np.asarray(self._encode(texts[i]), np.int32)
        return _concat_rows(rows)

    def encode_with_special_tokens(self, text: str, add_bos: bool | None = None,
                                   add_eos: bool | None = None) -> list[int]:
        """Text with special-token strings -> ids, as Hugging Face tokenizers do it."""
        add_bos = self._add_bos if add_bos is None else add_bos
        add_eos = self._add_eos if add_eos is None else add_eos
        ids: list[int] = [self.bos_id] if add_bos and self.bos_id >= 0 else []
        first = True
        for is_special, part in self._split_special(text):
            if is_special:
                ids.append(self._special_tokens[part])
            elif part:
                ids.extend(self._encode_segment(part, first_segment=first))
            first = False
        if add_eos and self.eos_id >= 0:
            ids.append(self.eos_id)
        return ids

    def _split_special(self, text: str) -> Iterable[tuple[bool, str]]:
        pattern = self._special_pattern()
        if pattern is None:
            yield False, text
            return
        pos = 0
        for m in pattern.finditer(text):
            token = m.group(0)
            before = text[pos:m.start()]
            lstrip, rstrip = self._strip.get(token, (False, False))
            if lstrip:  # the token swallows the whitespace on its left
                before = before.rstrip()
            yield False, before
            yield True, token
            pos = m.end()
            if rstrip:
                while pos < len(text) and text[pos].isspace():
                    pos += 1
        yield False, text[pos:]

    def _special_pattern(self):
        if not self._special_tokens:
            return None
        pattern = getattr(self, "_special_re", None)
        if pattern is None:
            # Longest first: at a position the longest special token wins (HF's leftmost-longest).
            alternatives = sorted(self._special_tokens, key=len, reverse=True)
            pattern = re.compile("|".join(re.escape(t) for t in alternatives))
            self._special_re = pattern
        return pattern

    # ----- decoding -------------------------------------------------------------------------
    def _decode(self, ids) -> str:
        ids = [int(i) for i in ids]
        text = self.tokenizer.DecodeIds(ids)
        return self._strip_added_prefix(text)

    def decode_all(self, ids: Iterable[int]) -> str:
        """Ids -> text, through eos and beyond (control tokens render as ""); inverse of encode."""
        return self._decode(list(ids))

    def decode_with_special_tokens(self, ids: Iterable[int]) -> str:
        """Ids -> text with special tokens written out; inverse of encode_with_special_tokens
        for our tokenizers (no bos/eos added, prefix policy "never")."""
        by_id = {i: t for t, i in self._special_tokens.items()}
        out: list[str] = []
        run: list[int] = []
        for i in ids:
            i = int(i)
            if i in by_id:
                if run:
                    out.append(self.tokenizer.DecodeIds(run))
                    run = []
                out.append(by_id[i])
            else:
                run.append(i)
        if run:
            out.append(self.tokenizer.DecodeIds(run))
        return self._strip_added_prefix("".join(out))

    def _strip_added_prefix(self, text: str) -> str:
        # HF's decoder strips the one space its Metaspace added (decoders.Strip left=1).
        if self._prefix_policy != "never" and text.startswith(" "):
            return text[1:]
        return text

    def __str__(self) -> str:
        return (f"opencoder Vocabulary({self.sentencepiece_model_file}, size={self.vocab_size}, "
                f"bos={self.bos_id}, eos={self.eos_id}, prefix={self._prefix_policy})")


def _concat_rows(rows: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((len(r) for r in rows), np.int64, len(rows))
    splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.concatenate(rows).astype(np.int32) if rows else np.zeros([0], np.int32)
    return flat, splits

