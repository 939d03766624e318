"""Token shards say which tokenizer made them (tokens.json); the loader and the trainer refuse
shards of another tokenizer, a mix of tokenizers, and documents given in place of token ids.
`opencoder tokenizer train` refuses to replace a tokenizer without --overwrite."""
import json
import logging
import os
import shutil

import pytest

from beam_pipelines import tokenize as tok_job
from opencoder_jax import cli
from opencoder_jax.data import loader, token_shards
from opencoder_jax.tokenizer.fingerprint import tokenizer_sha256
from opencoder_jax.train import inputs
from tests.helpers.tokenizer_corpus import corpus_texts, train_small_tokenizer, write_document_shard

CONFIG = loader.LoaderConfig(global_batch_size=2, seq_len=16, worker_count=0, shard_by_process=False)


@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("docs"))
    write_document_shard(os.path.join(d, "documents-00000-of-00001.array_record"), corpus_texts(6))
    return d


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory, docs_dir):
    return train_small_tokenizer(str(tmp_path_factory.mktemp("vocab")), docs_dir)


@pytest.fixture(scope="module")
def other_vocab_dir(tmp_path_factory, vocab_dir):
    """Another tokenizer: same files except one piece's score (ids of some texts may differ)."""
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    d = str(tmp_path_factory.mktemp("other_vocab"))
    shutil.copytree(vocab_dir, d, dirs_exist_ok=True)
    proto = sp_pb2.ModelProto.FromString(open(os.path.join(d, "tokenizer.model"), "rb").read())
    proto.pieces[300].score += 1.0
    open(os.path.join(d, "tokenizer.model"), "wb").write(proto.SerializeToString())
    return d


@pytest.fixture(scope="module")
def tokens_run(tmp_path_factory, docs_dir, vocab_dir):
    """(token dir, stderr of the run): the job run once, with progress lines every 0.05 s."""
    out = str(tmp_path_factory.mktemp("tokens") / "out")
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        stats = tok_job.run_tokenize([docs_dir], vocab_dir, out, config=tok_job.TokenizeConfig(num_shards=2),
                                     quiet=False, progress_interval_s=0.05)
    return out, err.getvalue(), stats


def test_tokens_json_names_the_tokenizer(tokens_run, vocab_dir, other_vocab_dir):
    out, _, stats = tokens_run
    meta = json.load(open(os.path.join(out, "tokens.json")))
    assert meta["tokenizer_sha256"] == tokenizer_sha256(vocab_dir) != tokenizer_sha256(other_vocab_dir)
    assert meta["tokenizer_dir"] == vocab_dir and meta["vocab_size"] == stats["vocabulary"]["size"]


def test_fingerprint_ignores_the_chat_template_only(tmp_path, vocab_dir):
    d = tmp_path / "t"
    shutil.copytree(vocab_dir, d)
    config = json.loads((d / "tokenizer_config.json").read_text())
    config["chat_template"] = "{{ messages }}"
    (d / "tokenizer_config.json").write_text(json.dumps(config))
    assert tokenizer_sha256(str(d)) == tokenizer_sha256(vocab_dir)
    config["eos_token"] = "<other>"
    (d / "tokenizer_config.json").write_text(json.dumps(config))
    assert tokenizer_sha256(str(d)) != tokenizer_sha256(vocab_dir)


def test_tokenize_prints_progress(tokens_run):
    _, err, stats = tokens_run
    lines = [line for line in err.splitlines() if line.startswith("[tokenize ")]
    assert lines, err[-2000:]
    assert (f"documents {stats['documents']:,} read {stats['kept']:,} kept {stats['dropped_total']:,} dropped"
            f" | tokens {stats['tokens']:,} written") in lines[-1]


def test_loader_refuses_shards_of_another_tokenizer(tokens_run, vocab_dir, other_vocab_dir):
    out = tokens_run[0]
    assert len(token_shards.open_token_shards(out, tokenizer_sha256=tokenizer_sha256(vocab_dir))) > 0
    with pytest.raises(ValueError, match="made by tokenizer"):
        loader.token_shard_dataset(CONFIG, out, tokenizer_sha256=tokenizer_sha256(other_vocab_dir))


def test_trainer_refuses_shards_of_another_tokenizer(tmp_path, tokens_run, vocab_dir, other_vocab_dir):
    out = tokens_run[0]
    spec = inputs.DataSpec(globs=(out,))
    train, _, report = inputs.pretrain_datasets(spec, CONFIG, eval_data=None, eval_holdout=0, tokenizer_dir=vocab_dir)
    assert report["data"]["records"] > 0
    with pytest.raises(ValueError, match="not by this run's tokenizer"):
        inputs.pretrain_datasets(spec, CONFIG, eval_data=None, eval_holdout=0, tokenizer_dir=other_vocab_dir)
    other = tmp_path / "eval"  # held-out shards of another tokenizer: refused too
    shutil.copytree(out, other)
    meta = json.loads((other / "tokens.json").read_text())
    (other / "tokens.json").write_text(json.dumps(dict(meta, tokenizer_sha256="0" * 64)))
    with pytest.raises(ValueError, match="made by tokenizer 000000000000"):
        inputs.pretrain_datasets(spec, CONFIG, eval_data=str(other), eval_holdout=0, tokenizer_dir=vocab_dir)


def test_shards_of_two_tokenizers_are_not_mixed(tmp_path, tokens_run):
    out = tokens_run[0]
    other = tmp_path / "other"
    shutil.copytree(out, other)
    meta = json.loads((other / "tokens.json").read_text())
    meta["tokenizer_sha256"] = "0" * 64
    (other / "tokens.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="2 different tokenizers"):
        token_shards.check_shard_tokenizer(token_shards.list_token_shards([out, str(other)]))
    from opencoder_jax.data.mixture import MixtureConfig

    mix = MixtureConfig(weights={"a": 0.5, "b": 0.5}, sources={"a": out, "b": str(other)})
    with pytest.raises(ValueError, match="different tokenizers"):
        loader.pretrain_dataset(CONFIG, mix)


def test_shards_without_metadata_load_with_a_warning(tmp_path, tokens_run, vocab_dir, caplog):
    old = tmp_path / "old"
    shutil.copytree(tokens_run[0], old)
    os.remove(old / "tokens.json")
    with caplog.at_level(logging.WARNING):
        src = token_shards.open_token_shards(str(old), tokenizer_sha256=tokenizer_sha256(vocab_dir))
    assert len(src) > 0
    assert "no tokens.json" in caplog.text


def test_documents_in_place_of_token_shards_are_refused(tmp_path, docs_dir):
    with pytest.raises(ValueError, match="holds documents"):
        token_shards.open_token_shards(docs_dir)
    with pytest.raises(ValueError, match="document shard"):
        loader.token_shard_dataset(CONFIG, os.path.join(docs_dir, "documents-*.array_record"))
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    shutil.copy(os.path.join(docs_dir, "documents-00000-of-00001.array_record"),
                renamed / "tokens-00000-of-00001.array_record")
    with pytest.raises(ValueError, match="JSON documents, not token ids"):
        token_shards.open_token_shards(str(renamed))


def test_tokenizer_train_refuses_to_overwrite(tmp_path, capsys, docs_dir, vocab_dir):
    out = tmp_path / "tok"
    shutil.copytree(vocab_dir, out)
    before = (out / "tokenizer.model").read_bytes()
    rc = cli.main(["tokenizer", "train", "--input", docs_dir, "--output", str(out), "--vocab_size", "640"])
    err = capsys.readouterr().err
    assert rc == 2 and "already holds a tokenizer" in err and "--overwrite" in err
    assert (out / "tokenizer.model").read_bytes() == before


def test_tokenizer_train_overwrite_and_progress(tmp_path, capsys, docs_dir, vocab_dir):
    from opencoder_jax.tokenizer.train import TokenizerTrainConfig, train_tokenizer

    out = tmp_path / "tok"
    shutil.copytree(vocab_dir, out)
    (out / "tokenizer.model").write_bytes(b"stale")
    config = TokenizerTrainConfig(vocab_size=640, num_special_slots=8, sample_documents=1000,
                                  character_coverage=1.0, num_threads=1)
    result = train_tokenizer([docs_dir], str(out), config, overwrite=True, progress_interval_s=0.01)
    err = capsys.readouterr().err
    assert (out / "tokenizer.model").read_bytes() != b"stale"
    assert f"read {result['records']:,} documents from 1/1 shards" in err
    assert f"training BPE (640 ids) on {result['sampled']:,} documents" in err
    assert all(line.startswith("[tokenizer train ") for line in err.splitlines() if line.strip())
