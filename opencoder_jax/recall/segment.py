"""BPE segmentation of page text into fastText's space-separated words.

OpenCoder segments its seed corpus with a BPE tokenizer before training fastText: the
vocabulary stays bounded and scripts without spaces (Chinese) still split into words. We use
our own tokenizer's SentencePiece pieces. fastText splits words on whitespace and reads one
example per line, so whitespace INSIDE a piece (a newline, an indent) is spelled with a
visible stand-in: a piece stays one word and code's layout stays a feature.

A `Segmenter` holds the serialized model bytes (pickles to Beam workers; the SentencePiece
processor is rebuilt lazily per process) and never imports TensorFlow.
"""
from __future__ import annotations

# fastText word separators (src/dictionary.cc readWord) -> visible stand-ins
_WHITESPACE_STANDINS = str.maketrans({"\n": "\u21b5", "\r": "\u240d", "\t": "\u21e5", "\v": "\u240b",
                                      "\f": "\u240c", "\x00": "\u2400", " ": "\u2581"})


class Segmenter:
    def __init__(self, model_bytes: bytes, name: str = "<memory>"):
        self._model_bytes = bytes(model_bytes)
        self.name = name
        self._processor = None

    @classmethod
    def from_vocabulary(cls, vocabulary) -> "Segmenter":
        """Our `opencoder_jax.tokenizer` Vocabulary (or anything with `model_bytes`)."""
        return cls(vocabulary.model_bytes, name=getattr(vocabulary, "_sentencepiece_model_file", "<vocabulary>"))

    @classmethod
    def from_dir(cls, tokenizer_dir: str) -> "Segmenter":
        """A tokenizer directory (`opencoder tokenizer train` output or a released one)."""
        from opencoder_jax.tokenizer import load_vocabulary

        return cls(load_vocabulary(tokenizer_dir).model_bytes, name=tokenizer_dir)

    @property
    def model_bytes(self) -> bytes:
        return self._model_bytes

    def __getstate__(self):
        return {"_model_bytes": self._model_bytes, "name": self.name, "_processor": None}

    def _sp(self):
        if self._processor is None:
            import sentencepiece as spm

            processor = spm.SentencePieceProcessor()
            processor.LoadFromSerializedProto(self._model_bytes)
            self._processor = processor
        return self._processor

    def pieces(self, text: str) -> list[str]:
        return list(self._sp().EncodeAsPieces(text))

    def segment(self, text: str, max_chars: int | None = None) -> str:
        """Text -> one line of space-joined pieces (no newline: what fastText predicts on)."""
        if max_chars is not None:
            text = text[:max_chars]
        pieces = (p.translate(_WHITESPACE_STANDINS) for p in self._sp().EncodeAsPieces(text))
        return " ".join(p for p in pieces if p)
