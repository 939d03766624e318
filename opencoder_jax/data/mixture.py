"""Weighted mixtures of token-shard sources (pretraining 90/10, annealing per Table 3).

A mixture names its components and gives each a weight; the user binds where each
component's token shards live (`MixtureConfig.sources`). Weights are shares of TOKENS by
default (how the paper states its mixtures): each component's document sampling rate is
weight / mean-tokens-per-document, the mean estimated from a deterministic sample of its
records. `unit="documents"` uses the weights as document shares directly.

Every component is shuffled globally with its own seed (derived from the loader seed) and
repeated for `num_epochs` (None: forever) before mixing, so proportions hold across epochs
and each epoch sees a new order. The interleaving (Grain `MapDataset.mix`) is deterministic.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import gin
import numpy as np

import grain

from opencoder_jax.data import token_shards
from opencoder_jax.names import check_names

# Paper defaults. Pretraining: 90% raw code / 10% code-related web (OpenCoder README and
# paper Sec. 3). Annealing: Table 3 token counts, 84.21B RefineCode (original distribution),
# 12.44B algorithmic corpus, 2.71B synthetic high-quality code snippets, 0.91B code textbooks.
PRETRAIN_WEIGHTS = {"raw_code": 0.9, "code_web": 0.1}
ANNEAL_WEIGHTS = {"refinecode": 84.21, "algorithmic_corpus": 12.44,
                  "synthetic_code_snippets": 2.71, "code_textbooks": 0.91}
MIXTURE_UNITS = ("tokens", "documents")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class MixtureConfig:
    """Components by name: weight (any positive scale; normalised) and token-shard location."""

    weights: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(PRETRAIN_WEIGHTS))
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)  # name -> dir / glob
    unit: str = "tokens"
    length_sample_size: int = 1000  # records read per component to estimate mean length

    def __post_init__(self):
        if self.unit not in MIXTURE_UNITS:
            raise ValueError(f"MixtureConfig.unit must be one of {MIXTURE_UNITS}, got {self.unit!r}")
        bad = {k: w for k, w in self.weights.items() if not w > 0}
        if bad:
            raise ValueError(f"mixture weights must be positive (drop a component instead): {bad}")
        # a source under a name the weights lack would be silently left out of the mixture
        check_names("mixture component", self.sources, self.weights, where="MixtureConfig.sources")
        missing = sorted(set(self.weights) - set(self.sources))
        if missing and self.sources:
            raise ValueError(f"no token shards bound for mixture components {missing}; "
                             f"set MixtureConfig.sources = {{name: dir_or_glob}}")

    def normalized_weights(self) -> dict[str, float]:
        total = float(sum(self.weights.values()))
        return {k: float(w) / total for k, w in self.weights.items()}


def document_rates(token_weights: Mapping[str, float], mean_lengths: Mapping[str, float]) -> dict[str, float]:
    """Token shares -> document sampling shares (normalised): w_i / mean_len_i."""
    raw = {k: token_weights[k] / mean_lengths[k] for k in token_weights}
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


def component_seed(seed: int, index: int) -> int:
    """An independent shuffle seed per component (stable under adding later components)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def shuffled_repeated(ds: grain.MapDataset, *, seed: int, shuffle: bool, num_epochs: int | None) -> grain.MapDataset:
    if shuffle:
        ds = ds.shuffle(seed=seed)  # reseeded per epoch by `repeat`
    return ds.repeat(num_epochs)


def mix_datasets(datasets: Mapping[str, grain.MapDataset], weights: Mapping[str, float]) -> grain.MapDataset:
    names = list(weights)
    if len(names) == 1:
        return datasets[names[0]]
    return grain.MapDataset.mix([datasets[n] for n in names], [weights[n] for n in names])


def build_mixture(config: MixtureConfig, *, seed: int, shuffle: bool = True,
                  num_epochs: int | None = None) -> tuple[grain.MapDataset, dict]:
    """Mixed MapDataset of raw records (bytes | None) and a report of what was mixed.

    With finite `num_epochs` and several components, the mixture ends when the first
    component runs out (Grain's rule), so bind None for step-limited training.
    """
    if not config.sources:
        raise ValueError("MixtureConfig.sources is empty: bind {component: token-shard dir/glob}")
    token_weights = config.normalized_weights()
    srcs, datasets, report = {}, {}, {"components": {}}
    for i, name in enumerate(token_weights):
        src = token_shards.open_token_shards(config.sources[name])
        if len(src) == 0:
            raise ValueError(f"mixture component {name!r} has no records in {config.sources[name]!r} "
                             f"(unreadable shards: {list(src.report.unreadable)})")
        srcs[name] = src
        datasets[name] = shuffled_repeated(grain.MapDataset.source(src), seed=component_seed(seed, i),
                                           shuffle=shuffle, num_epochs=num_epochs)
    if config.unit == "tokens":
        mean_len = {n: token_shards.mean_tokens_per_document(s, config.length_sample_size) for n, s in srcs.items()}
        doc_weights = document_rates(token_weights, mean_len)
    else:
        mean_len = {}
        doc_weights = token_weights
    for name, src in srcs.items():
        report["components"][name] = {
            "token_weight": token_weights[name] if config.unit == "tokens" else None,
            "document_weight": doc_weights[name],
            "mean_tokens_per_document": mean_len.get(name),
            "records": len(src),
            "shards": len(src.report.readable),
            "unreadable_shards": [list(u) for u in src.report.unreadable],
        }
    return mix_datasets(datasets, doc_weights), report
