"""One entry point for "give me a model": an Orbax checkpoint or a Hugging Face directory."""
from __future__ import annotations

from typing import Any


def load_any(checkpoint: str | None = None, hf: str | None = None, dtype: Any = None, *, mesh=None):
    """(ModelConfig, Transformer) from exactly one of `checkpoint` (an Orbax workdir, checkpoints/
    dir or step dir) or `hf` (a local Hugging Face Llama directory).

    dtype is the compute dtype: default the stored config's for Orbax, float32 for HF.
    """
    if (checkpoint is None) == (hf is None):
        raise ValueError("give exactly one of a checkpoint (--checkpoint) or a Hugging Face directory (--hf)")
    if checkpoint is not None:
        from opencoder_jax.model.orbax_io import load_model

        return load_model(checkpoint, dtype=dtype, mesh=mesh)
    from opencoder_jax.model.hf_io import load_hf_checkpoint

    return load_hf_checkpoint(hf, dtype=dtype or "float32", mesh=mesh)


def tokenizer_dir_for(checkpoint: str | None = None, hf: str | None = None) -> str | None:
    """Where the tokenizer that travelled with a model lives: WORKDIR/tokenizer/ for Orbax, the
    directory itself for HF (when it holds tokenizer files); None when there is none."""
    import os

    from opencoder_jax.model.hf_io import TOKENIZER_FILES

    if checkpoint is not None:
        from opencoder_jax.model.orbax_io import tokenizer_dir

        return tokenizer_dir(checkpoint)
    if hf is not None and any(os.path.isfile(os.path.join(hf, n)) for n in TOKENIZER_FILES[:5]):
        return hf
    return None
