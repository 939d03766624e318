"""How generators ask the teacher: sampling settings and a per-seed request seed.

The request seed is a hash of the run's seed and the seed id, so asking again for the same
seed (a resumed run, a retry) gets the same answer from a deterministic teacher.
"""
from __future__ import annotations

import dataclasses
import hashlib

import gin


@gin.configurable
@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    max_tokens: int = 1024
    temperature: float = 0.2
    top_p: float = 0.95
    seed: int = 0


def request_seed(base: int, seed_id: str, purpose: str = "") -> int:
    h = hashlib.blake2b(f"{base}\x00{purpose}\x00{seed_id}".encode("utf-8", "surrogatepass"), digest_size=4)
    return int.from_bytes(h.digest(), "big") & 0x7FFFFFFF


def ask(teacher, sampling: SamplingConfig, seed_id: str, prompt: str, purpose: str = "",
        max_tokens: int | None = None) -> str:
    """One user turn -> the teacher's answer text."""
    return teacher.complete([{"role": "user", "content": prompt}],
                            max_tokens=max_tokens or sampling.max_tokens, temperature=sampling.temperature,
                            top_p=sampling.top_p, seed=request_seed(sampling.seed, seed_id, purpose))
