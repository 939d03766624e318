"""`RecallConfig`: every knob of code-related web recall, bound by gin.

Defaults follow the published recipes:
  * fastText hyper-parameters: DeepSeekMath (arXiv 2402.03300, Sec. 2.1): vector dimension
    256, learning rate 0.1, maximum word n-gram 3, minimum word occurrences 3, 3 epochs;
    500K positives against 500K random Common Crawl pages (`negative_ratio` 1.0).
  * rounds and domain share: OpenCoder (arXiv 2411.04905, Sec. 2.1.2): three iterations; a
    domain (one base URL) is code-related when over 10% of its pages are recalled; URLs
    inside such domains annotated as code pull their pages into the next round's seed. The
    paper's published example is "all content under stackoverflow.com"; DeepSeekMath's
    (for math) is `mathoverflow.net/questions`. Add your own annotations with gin.

Not published, our choices (all configurable): the recall threshold, the fastText bucket
count (fastText's own default), the held-out fraction, the page-length cap.
"""
from __future__ import annotations

import dataclasses

import gin

# OpenCoder: "we have identified all content under stackoverflow.com as code-related".
OPENCODER_URL_PATTERNS = ("stackoverflow.com/",)
# DeepSeekMath's published example for its math recall (not a code pattern; for reference).
DEEPSEEKMATH_URL_PATTERNS = ("mathoverflow.net/questions",)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class RecallConfig:
    """Rounds of seed -> fastText -> recall -> domain discovery -> URL annotation."""

    # fastText (DeepSeekMath's published values)
    dim: int = 256
    lr: float = 0.1
    word_ngrams: int = 3
    min_count: int = 3
    epochs: int = 3
    # fastText's default hash-bucket count for word n-grams. The input matrix holds
    # (words + bucket) x dim floats: 2M x 256 is about 2 GB per model file; lower it for
    # small corpora (tests use a few thousand).
    bucket: int = 2_000_000
    train_threads: int = 1  # 1 = reproducible training; raise it for speed on big seeds
    seed: int = 0  # fastText's seed and our sampling/splitting seed
    nan_retries: int = 2  # reruns at half the lr after fastText's sporadic "Encountered NaN" (classifier.py)

    # recall
    threshold: float = 0.5  # P(code) >= threshold is recalled (not published; ours)
    rounds: int = 3
    negative_ratio: float = 1.0  # negatives per positive (DeepSeekMath: 500K / 500K)
    negative_pool_factor: float = 4.0  # pool sampled once, sized for seeds that grow
    holdout_fraction: float = 0.1  # of the labelled training pairs, kept for precision/recall
    max_chars: int = 100_000  # text classified per page (long pages: their head)

    # domain discovery and URL annotation
    domain_share: float = 0.1  # "over 10%" of a domain's pages recalled -> code-related
    min_domain_pages: int = 1
    url_patterns: tuple[str, ...] = OPENCODER_URL_PATTERNS

    # output
    num_shards: int = 8
    decontaminate: bool = True  # drop recalled pages that hold benchmark solutions/prompts

    def __post_init__(self):
        if self.rounds < 1:
            raise ValueError(f"RecallConfig.rounds must be >= 1, got {self.rounds}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"RecallConfig.threshold must be in [0, 1], got {self.threshold}")
        if not 0.0 <= self.domain_share < 1.0:
            raise ValueError(f"RecallConfig.domain_share must be in [0, 1), got {self.domain_share}")
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise ValueError(f"RecallConfig.holdout_fraction must be in [0, 1), got {self.holdout_fraction}")
        if self.negative_ratio <= 0 or self.negative_pool_factor < 1:
            raise ValueError("RecallConfig.negative_ratio must be > 0 and negative_pool_factor >= 1")
        if self.nan_retries < 0:
            raise ValueError(f"RecallConfig.nan_retries must be >= 0, got {self.nan_retries}")
        for name in ("dim", "word_ngrams", "min_count", "epochs", "bucket", "train_threads", "num_shards",
                     "max_chars", "min_domain_pages"):
            if getattr(self, name) < 1:
                raise ValueError(f"RecallConfig.{name} must be >= 1, got {getattr(self, name)}")
        object.__setattr__(self, "url_patterns", tuple(self.url_patterns))

    def fasttext_args(self) -> dict:
        """Keyword arguments of `fasttext.train_supervised`."""
        return {"dim": self.dim, "lr": self.lr, "wordNgrams": self.word_ngrams, "minCount": self.min_count,
                "epoch": self.epochs, "bucket": self.bucket, "thread": self.train_threads, "seed": self.seed,
                "loss": "softmax", "verbose": 0}
