"""Tokenizer training: deterministic sample and model, released layout, exact settings, bad input."""
import argparse
import hashlib
import json
import os

import pytest
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from opencoder_jax.tokenizer import train as train_mod
from opencoder_jax.tokenizer.train import TokenizerTrainConfig, chunk_text, sample_documents
from tests.helpers.tokenizer_corpus import SMALL_SLOTS, SMALL_VOCAB, corpus_texts, train_small_tokenizer, \
    write_document_shard


def _model(directory):
    with open(os.path.join(directory, "tokenizer.model"), "rb") as f:
        return f.read()


def test_outputs_and_settings(small_tokenizer_dir):
    names = set(os.listdir(small_tokenizer_dir))
    assert {"tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "train_stats.json"} <= names
    proto = sp_pb2.ModelProto.FromString(_model(small_tokenizer_dir))
    assert len(proto.pieces) == SMALL_VOCAB
    assert proto.trainer_spec.model_type == sp_pb2.TrainerSpec.BPE and proto.trainer_spec.byte_fallback
    # Exactness settings: nothing normalized away.
    assert proto.normalizer_spec.name == "identity"
    assert not proto.normalizer_spec.add_dummy_prefix and not proto.normalizer_spec.remove_extra_whitespaces
    pieces = [p.piece for p in proto.pieces]
    assert pieces[:2] == ["<pad>", "<unk>"]
    assert all(f"<0x{b:02X}>" in pieces for b in range(256))
    tail = pieces[SMALL_VOCAB - SMALL_SLOTS:]
    assert tail[:6] == ["<|im_end|>", "<|im_start|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                        "<|fim_pad|>"]
    assert all(p.type == sp_pb2.ModelProto.SentencePiece.CONTROL for p in proto.pieces[SMALL_VOCAB - SMALL_SLOTS:])
    config = json.load(open(os.path.join(small_tokenizer_dir, "tokenizer_config.json")))
    assert config["add_bos_token"] is False and config["add_eos_token"] is False
    assert config["eos_token"] == "<|im_end|>" and config["added_tokens_decoder"][str(SMALL_VOCAB - SMALL_SLOTS)][
        "content"] == "<|im_end|>"
    stats = json.load(open(os.path.join(small_tokenizer_dir, "train_stats.json")))
    assert stats["eos_id"] == SMALL_VOCAB - SMALL_SLOTS and stats["round_trip_checked"] == stats["sampled"]


def test_training_is_deterministic_and_independent_of_shard_layout(tmp_path, small_tokenizer_dir):
    texts = corpus_texts()
    # The same documents split over three shards in another order.
    split = str(tmp_path / "split")
    for k in range(3):
        write_document_shard(os.path.join(split, f"documents-0000{k}-of-00003.array_record"), texts[k::3][::-1])
    again = train_small_tokenizer(str(tmp_path / "again"), split)
    assert _model(again) == _model(small_tokenizer_dir)


def test_sample_is_bottom_k_of_blake2b_keys(tmp_path):
    """Independent reference: rank the documents by blake2b(seed, id) ourselves."""
    texts = [f"document number {i}\n" * (i + 1) for i in range(40)]
    shard = str(tmp_path / "documents-00000-of-00001.array_record")
    docs = write_document_shard(shard, texts)
    config = TokenizerTrainConfig(sample_documents=7, seed=3)
    got = sample_documents([shard], config)

    def key(doc):
        return hashlib.blake2b(f"3\x00{doc['id']}".encode(), digest_size=16).digest()

    expected = [d["text"] for d in sorted(docs, key=key)[:7]]
    assert got == expected
    assert sample_documents([shard], TokenizerTrainConfig(sample_documents=7, seed=4)) != expected


def test_bad_records_are_counted_not_fatal(tmp_path):
    bad = [b"\xff\xfe not json", json.dumps({"id": "x"}).encode(),  # no text
           json.dumps({"id": "e", "repo": "", "path": "", "language": "C", "text": ""}).encode(),
           json.dumps({"id": "s", "repo": "", "path": "", "language": "C", "text": "a\ud800b"}).encode()]
    shard = str(tmp_path / "documents-00000-of-00001.array_record")
    write_document_shard(shard, ["good one\n", "good two\n"], extra_records=bad)
    (tmp_path / "documents-00001-of-00002.array_record").write_bytes(b"this is not an array record file")
    stats = train_mod.SampleStats()
    texts = sample_documents(train_mod.list_document_shards([str(tmp_path)]), TokenizerTrainConfig(), stats)
    assert sorted(texts) == ["good one\n", "good two\n"]
    assert (stats.records, stats.corrupt_records, stats.empty, stats.invalid_unicode) == (6, 2, 1, 1)
    assert stats.unreadable_shards == 1


def test_long_documents_are_truncated_and_chunked(tmp_path):
    text = "".join(f"line {i} é😀\n" for i in range(3000)) + "x" * 20000
    shard = str(tmp_path / "documents-00000-of-00001.array_record")
    write_document_shard(shard, [text])
    stats = train_mod.SampleStats()
    [sampled] = sample_documents([shard], TokenizerTrainConfig(max_document_bytes=10_000), stats)
    assert stats.truncated == 1 and len(sampled.encode()) <= 10_000 and text.startswith(sampled)
    chunks = list(chunk_text(text, 1000))
    assert "".join(chunks) == text
    assert all(len(c.encode()) <= 1000 for c in chunks)
    assert all(c.endswith("\n") for c in chunks[:-21])  # cut at line ends until the long line


def test_vocabulary_too_large_for_the_sample_is_a_clear_error(tmp_path):
    shard = str(tmp_path / "documents-00000-of-00001.array_record")
    write_document_shard(shard, ["tiny corpus\n"])
    config = TokenizerTrainConfig(vocab_size=4000, num_special_slots=8, character_coverage=1.0)
    with pytest.raises(ValueError, match="too small for vocab_size 4000"):
        train_mod.train_tokenizer([str(tmp_path)], str(tmp_path / "out"), config, quiet=True)


def test_layout_validation():
    with pytest.raises(ValueError, match="no room"):
        train_mod.st.SpecialTokenLayout(300, 101)
    with pytest.raises(ValueError, match="num_special_slots"):
        train_mod.st.SpecialTokenLayout(1000, 3)


def test_command_line_run_writes_config_gin(tmp_path, docs_dir):
    parser = argparse.ArgumentParser()
    train_mod.add_arguments(parser)
    out = str(tmp_path / "tok")
    args = parser.parse_args(["--input", docs_dir, "--output", out, "--vocab_size", "600",
                              "--gin_file", "tokenizer/tiny.gin",
                              "--gin_param", "TokenizerTrainConfig.num_special_slots = 8",
                              "--gin_param", "TokenizerTrainConfig.character_coverage = 1.0"])
    assert train_mod.run(args) == 0
    gin_text = open(os.path.join(out, "config.gin")).read()
    assert "TokenizerTrainConfig.vocab_size = 600" in gin_text
    assert len(sp_pb2.ModelProto.FromString(_model(out)).pieces) == 600
