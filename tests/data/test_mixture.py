"""Mixture proportions within 1% of the weights over 10k examples; gin files carry the paper's numbers."""
from __future__ import annotations

import gin
import numpy as np
import pytest

from opencoder_jax.config import parse_gin
from opencoder_jax.data import mixture


def component_dirs(tmp_path, shards, spec):
    """spec: name -> (component number, doc length, number of docs)."""
    dirs = {}
    for name, (comp, length, count) in spec.items():
        dirs[name] = str(tmp_path / name)
        shards.write_docs(dirs[name], [[length] * count], first_doc_id=comp * 100_000)
    return dirs


def component_of(record: bytes) -> int:
    return int(np.frombuffer(record, "<u4")[0]) // 10_000 // 100_000


def test_pretrain_document_shares(tmp_path, shards):
    dirs = component_dirs(tmp_path, shards, {"raw_code": (1, 8, 300), "code_web": (2, 8, 50)})
    cfg = mixture.MixtureConfig(weights={"raw_code": 0.9, "code_web": 0.1}, sources=dirs, unit="documents")
    ds, report = mixture.build_mixture(cfg, seed=0)
    comps = np.array([component_of(ds[i]) for i in range(10_000)])
    assert abs(np.mean(comps == 1) - 0.9) < 0.01 and abs(np.mean(comps == 2) - 0.1) < 0.01
    assert report["components"]["raw_code"]["records"] == 300


def test_anneal_token_shares_with_unequal_document_lengths(tmp_path, shards):
    # Mean lengths differ 16x, so document rates must differ from the token weights.
    spec = {"refinecode": (1, 40, 400), "algorithmic_corpus": (2, 10, 200),
            "synthetic_code_snippets": (3, 20, 100), "code_textbooks": (4, 160, 30)}
    dirs = component_dirs(tmp_path, shards, spec)
    cfg = mixture.MixtureConfig(weights=dict(mixture.ANNEAL_WEIGHTS), sources=dirs, unit="tokens")
    ds, report = mixture.build_mixture(cfg, seed=1)
    lengths = {spec[n][0]: spec[n][1] for n in spec}
    comps = np.array([component_of(ds[i]) for i in range(10_000)])
    tokens = np.array([lengths[c] for c in comps], np.float64)
    want = cfg.normalized_weights()
    for name, (comp, _, _) in spec.items():
        share = tokens[comps == comp].sum() / tokens.sum()
        assert abs(share - want[name]) < 0.01, (name, share, want[name])
        assert report["components"][name]["mean_tokens_per_document"] == spec[name][1]


def test_each_component_is_shuffled_and_fully_visited(tmp_path, shards):
    dirs = component_dirs(tmp_path, shards, {"a": (1, 4, 50), "b": (2, 4, 50)})
    cfg = mixture.MixtureConfig(weights={"a": 1, "b": 1}, sources=dirs, unit="documents")
    ds, _ = mixture.build_mixture(cfg, seed=5)
    first = [int(np.frombuffer(ds[i], "<u4")[0]) for i in range(100)]
    assert len(set(first)) == 100  # 50 + 50 draws at equal weights: one epoch of each, no repeats
    a_order = [x for x in first if x // 10_000 < 200_000]
    assert a_order != sorted(a_order)


def test_missing_source_is_a_clear_error(tmp_path, shards):
    with pytest.raises(ValueError, match="code_web"):
        mixture.MixtureConfig(weights={"raw_code": 0.9, "code_web": 0.1}, sources={"raw_code": str(tmp_path)})
    with pytest.raises(ValueError, match="positive"):
        mixture.MixtureConfig(weights={"raw_code": 0.0})


def test_gin_files_carry_the_paper_mixtures():
    parse_gin(files=["data/pretrain_mixture.gin"])
    cfg = mixture.MixtureConfig()
    assert cfg.normalized_weights() == pytest.approx({"raw_code": 0.9, "code_web": 0.1})
    parse_gin(files=["data/anneal_mixture.gin"])
    w = mixture.MixtureConfig().normalized_weights()
    assert w == pytest.approx({"refinecode": 0.8398, "algorithmic_corpus": 0.1241,
                               "synthetic_code_snippets": 0.0270, "code_textbooks": 0.0091}, abs=5e-4)
    gin.clear_config()


def test_pretrain_dataset_end_to_end(tmp_path, shards):
    from opencoder_jax.data import loader

    dirs = component_dirs(tmp_path, shards, {"raw_code": (1, 30, 200), "code_web": (2, 30, 40)})
    cfg = loader.LoaderConfig(global_batch_size=4, seq_len=64, worker_count=0, shard_by_process=False)
    ds, report = loader.pretrain_dataset(cfg, mixture.MixtureConfig(sources=dirs))
    it = iter(ds)
    batches = [next(it) for _ in range(40)]  # 40 * 256 tokens, ~350 documents of 29 targets
    comps = np.concatenate([b["inputs"][b["segment_ids"] > 0] // 10_000 // 100_000 for b in batches])
    assert abs(np.mean(comps == 2) - 0.1) < 0.03  # token share of the web component (equal lengths)
    assert set(report["components"]) == {"raw_code", "code_web"}
    assert batches[0]["inputs"].shape == (4, 64) and int(batches[0]["stats/padding"]) == 0
