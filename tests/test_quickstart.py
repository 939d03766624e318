"""The quickstart end to end on a tiny slice of the embedded corpus (every step wired)."""
import glob
import json
import os

from opencoder_jax import cli


def test_quickstart_tiny(tmp_path):
    out = str(tmp_path / "qs")
    rc = cli.main(["quickstart", "--output", out, "--loader_batches", "3", "--workers", "1",
                   "--gin_param", "EmbeddedCorpusConfig.include_stdlib = False",
                   "--gin_param", "EmbeddedCorpusConfig.packages = ['gin', 'datasketch']",
                   "--gin_param", "TokenizerTrainConfig.vocab_size = 600",
                   "--gin_param", "LoaderConfig.seq_len = 128"])
    assert rc == 0
    summary = json.load(open(os.path.join(out, "quickstart.json")))
    assert summary["refinecode"]["conservation_ok"]
    assert summary["refinecode"]["kept"] > 20
    assert summary["tokenize"]["kept"] == summary["refinecode"]["kept"]
    assert summary["loader"]["batch_shape"] == [8, 128]
    assert os.path.exists(os.path.join(out, "corpus", "report.html"))
    assert os.path.exists(os.path.join(out, "tokenizer", "tokenizer.model"))
    assert glob.glob(os.path.join(out, "tokens", "tokens-*.array_record"))
    stats = json.load(open(os.path.join(out, "corpus", "stats.json")))
    langs = set(stats["per_language"])
    assert "python" in langs
