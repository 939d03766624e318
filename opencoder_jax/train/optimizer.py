"""AdamW with global-norm gradient clipping and a weight-decay mask.

    optax.chain(clip_by_global_norm(clip_norm), adamw(schedule, b1, b2, eps, weight_decay, mask))

Weight decay applies to the matrices of the blocks and the LM head only: parameters whose
path names a norm (`*_norm.scale`, `final_norm.scale`) or the token embedding
(`embedder.embedding`) are not decayed. Decaying a norm's gain pulls it toward 0 (not its
init 1) and the embedding rows of rare tokens get few gradient updates to balance the decay;
Megatron-LM (which OpenCoder pretrained with) likewise skips norms and biases. Set
`OptimizerConfig.decay_embeddings=True` to decay the embedding too. With scanned layers a
norm's scale is [N, E], so the mask goes by name, not by rank.

Defaults (gin-overridable, stated in each stage file): pretraining AdamW b1 0.9, b2 0.95,
eps 1e-8, weight decay 0.1, clip 1.0 — the paper gives none of these, so they are the
common Megatron/Llama values; SFT uses Hugging Face `TrainingArguments` defaults (b2 0.999,
weight decay 0.0, clip 1.0) because OpenCoder's SFT scripts set none of them.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import gin
import jax
import optax

NO_DECAY_KEYS = ("norm",)
EMBEDDING_KEYS = ("embedder", "embedding")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    b1: float = 0.9
    b2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    clip_norm: float | None = 1.0  # None or 0: no clipping
    decay_embeddings: bool = False


def _path_names(path) -> list[str]:
    names = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                names.append(str(getattr(k, attr)))
                break
        else:
            names.append(str(k))
    return names


def decays(path_names: list[str], decay_embeddings: bool = False) -> bool:
    """Whether the parameter at this path gets weight decay."""
    lowered = [n.lower() for n in path_names]
    if any(key in n for n in lowered for key in NO_DECAY_KEYS):
        return False
    if not decay_embeddings and any(n in EMBEDDING_KEYS for n in lowered):
        return False
    return True


def decay_mask(params: Any, decay_embeddings: bool = False) -> Any:
    """A pytree of bools with params' structure: True where weight decay applies."""
    return jax.tree_util.tree_map_with_path(lambda p, _: decays(_path_names(p), decay_embeddings), params)


def make_optimizer(config: OptimizerConfig, schedule) -> optax.GradientTransformation:
    """AdamW (decoupled weight decay, scaled by the learning rate as in PyTorch) + clipping."""
    adamw = optax.adamw(schedule, b1=config.b1, b2=config.b2, eps=config.eps,
                        weight_decay=config.weight_decay,
                        mask=lambda params: decay_mask(params, config.decay_embeddings))
    if config.clip_norm:
        return optax.chain(optax.clip_by_global_norm(config.clip_norm), adamw)
    return adamw
