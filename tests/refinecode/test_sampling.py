"""Language sampling: the paper's rates, determinism, and unknown languages kept."""
from __future__ import annotations

import hashlib
import math

import gin
import pytest

from opencoder_jax.config import GIN_CONFIG_DIR
from opencoder_jax.refinecode.sampling import LanguageSampler, SampleConfig, parse_rate, uniform_draw

N = 20_000


def _docs(language: str, n: int = N) -> list[dict]:
    return [{"id": hashlib.blake2b(f"{language}-{i}".encode(), digest_size=16).hexdigest(), "language": language}
            for i in range(n)]


def test_default_rates_are_the_papers():
    sampler = LanguageSampler(SampleConfig())
    assert sampler.rates == {"java": 200 / 449, "html": 64 / 474}
    assert sampler.rate_for("python") == 1.0


@pytest.mark.parametrize("language,rate", [("java", 200 / 449), ("html", 64 / 474), ("Java", 200 / 449)])
def test_keep_rate_within_tolerance(language, rate):
    sampler = LanguageSampler()
    kept = sum(sampler.keep(d) for d in _docs(language))
    sigma = math.sqrt(N * rate * (1 - rate))
    assert abs(kept - N * rate) < 5 * sigma  # binomial, 5 sigma: fails only if the draw is biased


@pytest.mark.parametrize("language", ["python", "cpp", "unknown", "", None, "klingon"])
def test_other_and_unknown_languages_all_kept(language):
    sampler = LanguageSampler()
    assert all(sampler.keep({"id": str(i), "language": language}) for i in range(2000))


def test_deterministic_across_instances_and_order():
    docs = _docs("java", 3000)
    first = [LanguageSampler().keep(d) for d in docs]
    second = [LanguageSampler().keep(d) for d in reversed(docs)][::-1]
    assert first == second
    assert uniform_draw(0, "abc") == uniform_draw(0, "abc")
    # the seed changes the draw (so a different sample can be asked for)
    other = [LanguageSampler(SampleConfig(seed=1)).keep(d) for d in docs]
    assert other != first


def test_draw_is_blake2b_of_seed_and_id():
    digest = hashlib.blake2b(b"7\x00doc-1", digest_size=8).digest()
    assert uniform_draw(7, "doc-1") == int.from_bytes(digest, "big") / 2 ** 64


def test_rates_zero_one_and_fraction_strings():
    sampler = LanguageSampler(SampleConfig(rates={"python": 0.0, "go": "1/1", "c": "1/4"}, default_rate=0.0))
    assert not any(sampler.keep(d) for d in _docs("python", 500))
    assert all(sampler.keep(d) for d in _docs("go", 500))
    assert not any(sampler.keep(d) for d in _docs("rust", 500))
    assert parse_rate("200/449") == 200 / 449
    with pytest.raises(ValueError):
        parse_rate(1.5)


def test_gin_file_lists_the_defaults():
    gin.clear_config()
    try:
        gin.parse_config_file(str(GIN_CONFIG_DIR / "refinecode" / "sample.gin"))
        config = SampleConfig()
        assert LanguageSampler(config).rates == {"java": 200 / 449, "html": 64 / 474}
        assert config.seed == 0 and config.default_rate == 1.0
    finally:
        gin.clear_config()
