"""Tokenizer: byte-fallback BPE SentencePiece with OpenCoder's special tokens.

  special_tokens   the token strings and their ids (released layout: eos 96539, bos 96540)
  vocabulary       `Vocabulary`, a seqio.SentencePieceVocabulary with exact round trips and
                   batched tensorflow_text encoding (imports nothing else of this package)
  train            `opencoder tokenizer train`
  hf_import        released-style Hugging Face tokenizer directories -> `Vocabulary`
  chat_template    OpenCoder's ChatML rendering (equal to the released Jinja template)

Importing this package does not import TensorFlow; `vocabulary` does (through seqio).
"""
from opencoder_jax.tokenizer import special_tokens  # noqa: F401
from opencoder_jax.tokenizer.chat_template import CHAT_TEMPLATE, render_chat  # noqa: F401


def load_vocabulary(directory: str):
    """A tokenizer directory (ours or a released Hugging Face one) -> `Vocabulary`.

    The one loader: hf_import -> vocabulary, never back (no import cycle)."""
    from opencoder_jax.tokenizer.hf_import import load_tokenizer_dir

    return load_tokenizer_dir(directory)
