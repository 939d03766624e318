"""The tokenization job: uint32 LE records, eos appended, bad records counted, stats conserved."""
import argparse
import glob
import json
import os

import numpy as np
import pytest
import sentencepiece as spm
from apache_beam.testing.test_pipeline import TestPipeline

from beam_pipelines import tokenize as tok_job
from beam_pipelines.array_record_io import read_array_record_file
from opencoder_jax.tokenizer import load_vocabulary
from tests.helpers.tokenizer_corpus import corpus_texts, train_small_tokenizer, write_document_shard

BAD_RECORDS = [
    b"\x00\x01 not json at all",
    json.dumps({"id": "no-text", "repo": "", "path": "", "language": "C"}).encode(),
    json.dumps({"id": "int-text", "repo": "", "path": "", "language": "C", "text": 42}).encode(),
    json.dumps({"id": "empty", "repo": "", "path": "", "language": "Go", "text": ""}).encode(),
    json.dumps({"id": "surrogate", "repo": "", "path": "", "language": "Go", "text": "a\ud800"}).encode(),
]
DOC_TEXTS = ["x = 1\n", "def f():\r\n\treturn '😀'\r\n", "  lead and trail  ", "a\u2581b", "<|im_end|> in text",
             "同じ\n" * 50, "z" * 3000]


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory):
    docs = str(tmp_path_factory.mktemp("train_docs"))
    write_document_shard(os.path.join(docs, "documents-00000-of-00001.array_record"), corpus_texts(6))
    return train_small_tokenizer(str(tmp_path_factory.mktemp("vocab")), docs)


@pytest.fixture(scope="module")
def input_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("docs"))
    write_document_shard(os.path.join(d, "documents-00000-of-00002.array_record"), DOC_TEXTS[:4],
                         extra_records=BAD_RECORDS[:3], language=["Python", "C"])
    write_document_shard(os.path.join(d, "documents-00001-of-00002.array_record"), DOC_TEXTS[4:],
                         extra_records=BAD_RECORDS[3:], language="Rust")
    return d


def _token_records(output_dir):
    records = []
    for path in sorted(glob.glob(os.path.join(output_dir, "tokens-*.array_record"))):
        records.extend(read_array_record_file(path))
    return records


def test_pipeline_writes_uint32_records_with_eos(tmp_path, vocab_dir, input_dir):
    vocab = load_vocabulary(vocab_dir)
    out = str(tmp_path / "out")
    config = tok_job.TokenizeConfig(num_shards=3, batch_size=2)
    with TestPipeline(runner="FnApiRunner") as p:
        tok_job.build_pipeline(p, tok_job.input_patterns([input_dir]), out, vocab, config)
    assert len(glob.glob(os.path.join(out, "tokens-*-of-00003.array_record"))) == 3
    records = _token_records(out)
    assert all(len(r) % 4 == 0 for r in records)
    got = sorted(np.frombuffer(r, dtype="<u4").tolist() for r in records)
    # Independent reference: stock SentencePiece on tokenizer.model (+ eos), except the
    # literal U+2581 document, which we spell as its UTF-8 byte pieces for exactness.
    sp = spm.SentencePieceProcessor(model_file=os.path.join(vocab_dir, "tokenizer.model"))
    expected = []
    for text in DOC_TEXTS:
        if "\u2581" in text:
            a, b = text.split("\u2581")
            ids = sp.encode(a) + [sp.piece_to_id(f"<0x{x:02X}>") for x in "\u2581".encode()] + sp.encode(b)
        else:
            ids = sp.encode(text)
        expected.append(ids + [sp.eos_id()])
    assert got == sorted(expected)
    assert sp.eos_id() == vocab.eos_id == 632
    assert all(seq[-1] == vocab.eos_id and vocab.eos_id not in seq[:-1] for seq in got)
    # Big-endian would differ: check one record byte by byte.
    first = records[0]
    assert int.from_bytes(first[:4], "little") == np.frombuffer(first, "<u4")[0]

    stats = tok_job.assemble_stats(tok_job.read_stats_pairs(out, tok_job.STATS_PREFIX))
    assert stats["documents"] == len(DOC_TEXTS) + len(BAD_RECORDS)
    assert stats["kept"] == len(DOC_TEXTS)
    assert stats["dropped"] == {"tokenize/corrupt_record": 3, "tokenize/empty": 1, "tokenize/invalid_unicode": 1}
    assert stats["conservation_ok"]
    assert stats["tokens"] == sum(len(s) for s in expected)
    assert sum(stats["tokens_per_language"].values()) == stats["tokens"]
    assert stats["tokens_per_language"]["Rust"] == sum(len(s) for s in expected[4:])
    assert stats["dropped_by_language"]["tokenize/empty"] == {"Go": 1}


def test_command_line_run_writes_stats_json(tmp_path, vocab_dir, input_dir):
    parser = argparse.ArgumentParser()
    tok_job.add_arguments(parser)
    out = str(tmp_path / "cli")
    args = parser.parse_args(["--input", input_dir, "--vocab", vocab_dir, "--output", out, "--num_shards", "2"])
    assert tok_job.run(args, beam_args=[]) == 0
    stats = json.load(open(os.path.join(out, "stats.json")))
    assert stats["conservation_ok"] and stats["kept"] == len(DOC_TEXTS)
    assert stats["vocabulary"]["eos_id"] == 632 and stats["vocabulary"]["size"] == 640
    assert "TokenizeConfig.num_shards = 2" in open(os.path.join(out, "config.gin")).read()
    assert len(_token_records(out)) == len(DOC_TEXTS)
    with pytest.raises(FileExistsError):  # a second run never silently mixes outputs
        tok_job.run(args, beam_args=[])


def test_missing_inputs_and_vocab_are_clear_errors(tmp_path, vocab_dir, input_dir):
    with pytest.raises(FileNotFoundError, match="no document shards"):
        tok_job.input_patterns([str(tmp_path / "nothing")])
    with pytest.raises(FileNotFoundError, match="tokenizer directory"):
        tok_job.run_tokenize([input_dir], str(tmp_path), str(tmp_path / "o"), quiet=True)


def test_encode_dofn_falls_back_per_document(vocab_dir):
    """A batch the tensorflow_text path rejects is re-encoded one document at a time."""
    vocab = load_vocabulary(vocab_dir)
    fn = tok_job.EncodeBatches(vocab, append_eos=True)
    fn.setup()

    def broken(_texts):
        raise RuntimeError("simulated op failure")

    fn._vocab.encode_batch = broken
    outputs = list(fn.process([("ab", "C", 2), ("cd", "C", 2)]))
    records = [o for o in outputs if isinstance(o, bytes)]
    assert [np.frombuffer(r, "<u4").tolist() for r in records] == [vocab.encode("ab") + [632],
                                                                  vocab.encode("cd") + [632]]
