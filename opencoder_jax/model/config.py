"""The model's shape and numerics: one frozen, gin-bound dataclass.

Presets are gin files of plain bindings (`gin_configs/model/<name>.gin`); `preset(name)` reads
one without touching gin's global state, so tools can build a config without a gin run.

Dimension legend: V vocab, E embed, N layers, H query heads, K kv heads, D head dim, F ffn.
"""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any, Mapping

import gin

PRESET_DIR = Path(__file__).resolve().parent.parent.parent / "gin_configs" / "model"
REMAT_POLICIES = ("none", "full", "save_dots", "save_dots_no_batch", "save_qkv_proj", "save_qkv_attn_out")
ATTENTION_IMPLS = ("xla", "pallas_gpu", "splash", "cudnn")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 4096      # V
    embed_dim: int = 256        # E
    num_layers: int = 4         # N
    num_heads: int = 4          # H
    num_kv_heads: int = 2       # K (H % K == 0; K == H is plain multi-head attention)
    head_dim: int = 64          # D
    mlp_dim: int = 704          # F (SwiGLU hidden size)
    rope_theta: float = 10000.0
    max_seq_len: int = 4096
    norm_eps: float = 1e-5
    tie_embeddings: bool = False
    dtype: str = "bfloat16"         # compute dtype
    param_dtype: str = "float32"    # storage dtype of parameters
    remat_policy: str = "none"      # one of REMAT_POLICIES
    attention_impl: str = "xla"     # one of ATTENTION_IMPLS
    scan_layers: bool = True        # lax.scan over the stacked layers (False: a Python loop)

    def __post_init__(self):
        for name in ("vocab_size", "embed_dim", "num_layers", "num_heads", "num_kv_heads", "head_dim", "mlp_dim"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"ModelConfig.{name} must be positive, got {getattr(self, name)}")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads {self.num_heads} is not a multiple of num_kv_heads {self.num_kv_heads}")
        if self.remat_policy not in REMAT_POLICIES:
            raise ValueError(f"remat_policy {self.remat_policy!r} not in {REMAT_POLICIES}")
        if self.attention_impl not in ATTENTION_IMPLS:
            raise ValueError(f"attention_impl {self.attention_impl!r} not in {ATTENTION_IMPLS}")

    @property
    def num_groups(self) -> int:
        """Query heads per kv head."""
        return self.num_heads // self.num_kv_heads

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {unknown}")
        return cls(**dict(d))

    def num_params(self) -> int:
        """Parameter count computed from the shapes (embedding, layers, final norm, head)."""
        E, H, K, D, F, V = self.embed_dim, self.num_heads, self.num_kv_heads, self.head_dim, self.mlp_dim, self.vocab_size
        per_layer = 2 * E + E * H * D + 2 * E * K * D + H * D * E + 3 * E * F
        head = 0 if self.tie_embeddings else E * V
        return V * E + self.num_layers * per_layer + E + head

    def num_non_embedding_params(self) -> int:
        return self.num_params() - self.vocab_size * self.embed_dim * (1 if self.tie_embeddings else 2)


def parse_bindings(text: str, prefix: str = "ModelConfig.") -> dict[str, Any]:
    """Plain `ModelConfig.field = literal` lines of a preset file -> {field: value}."""
    out: dict[str, Any] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not line.startswith(prefix) or "=" not in line:
            raise ValueError(f"preset line {lineno}: expected '{prefix}field = value', got {raw!r}")
        key, value = (s.strip() for s in line[len(prefix):].split("=", 1))
        out[key] = ast.literal_eval(value)
    return out


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A preset by name ("tiny", "1_5b", "8b") or gin file path, with optional overrides."""
    path = Path(name) if name.endswith(".gin") else PRESET_DIR / f"{name}.gin"
    if not path.exists():
        choices = sorted(p.stem for p in PRESET_DIR.glob("*.gin"))
        raise ValueError(f"unknown model preset {name!r}; choose from {choices}")
    return ModelConfig.from_dict({**parse_bindings(path.read_text()), **overrides})
