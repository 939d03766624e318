"""Language sampling: keep each document of a language with that language's rate.

OpenCoder (arXiv 2411.04905, sec. 2.1.1 "Data Sampling") downsamples the two largest
languages of RefineCode: Java from 449 GB to 200 GB and HTML from 474 GB to 64 GB; every
other language is kept whole. We draw per document, so the expected kept size of a language
is rate x its size.

The draw is a pure function of (seed, document id) -- blake2b, not Python's salted hash --
so a document gets the same decision on every run, shard layout and worker.
"""
from __future__ import annotations

import dataclasses
import hashlib
from fractions import Fraction
from typing import Mapping

import gin

from opencoder_jax.names import check_names
from opencoder_jax.refinecode.languages import load_table
from opencoder_jax.refinecode.transforms.comment_syntax import canonical_language

PAPER_RATES = {"java": "200/449", "html": "64/474"}  # kept GB / GB after filtering (paper)
_TWO_64 = float(1 << 64)


def parse_rate(value: float | int | str) -> float:
    """A rate as a float in [0, 1]; strings may be fractions such as '200/449'."""
    rate = float(Fraction(value)) if isinstance(value, str) else float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"sampling rate {value!r} is outside [0, 1]")
    return rate


@gin.configurable
@dataclasses.dataclass(frozen=True)
class SampleConfig:
    rates: Mapping[str, float | str] = dataclasses.field(default_factory=lambda: dict(PAPER_RATES))
    default_rate: float = 1.0  # languages not listed in `rates` (and unknown ones)
    seed: int = 0

    def __post_init__(self):
        # a misspelt language would match no document and silently sample nothing
        check_names("language", [canonical_language(lang) for lang in self.rates],
                    load_table().language_to_type, where="SampleConfig.rates")

    def resolved_rates(self) -> dict[str, float]:
        return {canonical_language(lang): parse_rate(rate) for lang, rate in self.rates.items()}


def uniform_draw(seed: int, doc_id: str) -> float:
    """A deterministic number in [0, 1) from (seed, doc id)."""
    digest = hashlib.blake2b(f"{seed}\x00{doc_id}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _TWO_64


class LanguageSampler:
    """Decides keep / drop per document; build once (rates parsed once), call per doc."""

    def __init__(self, config: SampleConfig | None = None):
        config = config or SampleConfig()
        self.rates = config.resolved_rates()
        self.default_rate = parse_rate(config.default_rate)
        self.seed = config.seed

    def rate_for(self, language: str | None) -> float:
        return self.rates.get(canonical_language(language), self.default_rate)

    def keep(self, doc: Mapping) -> bool:
        rate = self.rate_for(doc.get("language"))
        if rate >= 1.0:
            return True
        if rate <= 0.0:
            return False
        return uniform_draw(self.seed, str(doc.get("id", ""))) < rate
