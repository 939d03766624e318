"""Settings of the two dedup stages (defaults = OpenCoder, arXiv 2411.04905, section 2.1.1).

Gin binds these frozen dataclasses in the driver (gin_configs/refinecode/dedup.gin lists
every default); workers only receive the built values.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import gin

from opencoder_jax.refinecode.minhash import SCHEMES
from opencoder_jax.refinecode.shingles import SHINGLE_UNITS

DEDUP_LEVELS = ("file", "repo")
CC_ALGORITHMS = ("star_rounds", "local_union_find")


def _check_common(level: str, sample_clusters: int, sample_removed_ids: int) -> None:
    if level not in DEDUP_LEVELS:
        raise ValueError(f"dedup level must be one of {DEDUP_LEVELS}, got {level!r}")
    if sample_clusters < 0 or sample_removed_ids < 0:
        raise ValueError("duplicate sample sizes must be >= 0")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class ExactDedupConfig:
    """SHA256 of the content; keep most stars, then latest commit date, then smallest id."""

    level: str = "file"  # "file" or "repo" (a repository's files, sorted by path, as one unit)
    # False: the document's `sha256` field (SHA256 of the original bytes, as the paper);
    # True: SHA256 of the current text (also merges files differing only in CRLF vs LF).
    hash_text: bool = False
    sample_clusters: int = 1000  # clusters written to dedup/exact_duplicates-*.jsonl
    sample_removed_ids: int = 20  # removed ids listed per sampled cluster

    def __post_init__(self):
        _check_common(self.level, self.sample_clusters, self.sample_removed_ids)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class FuzzyDedupConfig:
    """MinHash over n-gram shingles, LSH bands, connected components, keeper rule."""

    level: str = "file"
    ngram_size: int = 5
    shingle_unit: str = "word"  # "word", "token" or "char" (see refinecode/shingles.py)
    num_perm: int = 2048
    num_bands: int = 16
    rows_per_band: int = 128  # 16 x 128: LSH threshold (1/16)^(1/128) ~ 0.978 Jaccard
    # If set, (num_bands, rows_per_band) are replaced by datasketch's optimum for this
    # Jaccard threshold (equal false-positive / false-negative weights).
    lsh_threshold: Optional[float] = None
    seed: int = 1
    scheme: str = "affine32"  # datasketch 2.0 scheme; hash = SHA1 prefix of matching width
    verify_jaccard: bool = False  # re-check candidate pairs by exact Jaccard of shingle hashes
    jaccard_threshold: float = 0.8  # with verify_jaccard: keep an edge iff Jaccard >= this
    cc_algorithm: str = "star_rounds"  # distributed; "local_union_find" gathers all edges on one worker
    cc_max_rounds: int = 32  # large-star/small-star rounds unrolled (a 100k-long chain needs 17)
    max_local_edges: int = 50_000_000  # local_union_find refuses more edges than this
    batch_size: int = 64  # documents per vectorised signature batch
    sample_clusters: int = 1000
    sample_removed_ids: int = 20

    def __post_init__(self):
        _check_common(self.level, self.sample_clusters, self.sample_removed_ids)
        if self.shingle_unit not in SHINGLE_UNITS:
            raise ValueError(f"shingle_unit must be one of {SHINGLE_UNITS}, got {self.shingle_unit!r}")
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.cc_algorithm not in CC_ALGORITHMS:
            raise ValueError(f"cc_algorithm must be one of {CC_ALGORITHMS}, got {self.cc_algorithm!r}")
        if self.ngram_size < 1 or self.num_perm < 1 or self.batch_size < 1 or self.cc_max_rounds < 1:
            raise ValueError("ngram_size, num_perm, batch_size and cc_max_rounds must be >= 1")
        if self.lsh_threshold is None and (
            self.num_bands < 1 or self.rows_per_band < 1 or self.num_bands * self.rows_per_band > self.num_perm
        ):
            raise ValueError(
                f"{self.num_bands} bands x {self.rows_per_band} rows must be >= 1 each and fit in num_perm={self.num_perm}"
            )
        if self.lsh_threshold is not None and not 0.0 < self.lsh_threshold < 1.0:
            raise ValueError("lsh_threshold must be in (0, 1)")
        if not 0.0 <= self.jaccard_threshold <= 1.0:
            raise ValueError("jaccard_threshold must be in [0, 1]")

    def bands(self) -> tuple[int, int]:
        """(num_bands, rows_per_band) in effect."""
        if self.lsh_threshold is None:
            return self.num_bands, self.rows_per_band
        from datasketch.lsh import _optimal_param  # the (b, r) datasketch's MinHashLSH would pick

        return tuple(_optimal_param(self.lsh_threshold, self.num_perm, 0.5, 0.5))
