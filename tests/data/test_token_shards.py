"""Bad input: empty shard, zero-length document, corrupt record, unreadable shard."""
from __future__ import annotations

import os

import numpy as np

from opencoder_jax.data import loader, token_shards


def test_decode_roundtrip_and_corrupt_lengths():
    toks = np.array([0, 1, 96539, 2**31 - 1], "<u4")
    np.testing.assert_array_equal(token_shards.decode_tokens(toks.tobytes()), toks.astype(np.int32))
    assert token_shards.decode_tokens(b"\x01\x02\x03") is None  # not a multiple of 4 bytes
    assert token_shards.decode_tokens(None) is None
    assert len(token_shards.decode_tokens(b"")) == 0
    ex = token_shards.decode_lm_example(b"\x01\x02\x03\x04\x05")
    assert bool(ex["corrupt"]) and len(ex["inputs"]) == 0


def test_bad_shards_are_reported_not_fatal(tmp_path, shards):
    d = str(tmp_path)
    docs = shards.write_docs(d, [[5, 0, 9], [], [3]])  # shard 1 is empty; one zero-length doc
    shards.write_shard(os.path.join(d, "tokens-00003-of-00005.array_record"), [b"\x00" * 7])  # corrupt record
    with open(os.path.join(d, "tokens-00004-of-00005.array_record"), "wb") as f:
        f.write(b"this is not an array record file")
    src = token_shards.open_token_shards(d)
    assert len(src) == 5
    assert [os.path.basename(p) for p, _ in src.report.unreadable] == ["tokens-00004-of-00005.array_record"]
    assert [n for _, n in src.report.readable] == [3, 0, 1, 1]

    cfg = loader.LoaderConfig(global_batch_size=2, seq_len=6, shuffle=False, num_epochs=1,
                              worker_count=0, shard_by_process=False)
    batches = [loader.split_stats(b) for b in loader.token_shard_dataset(cfg, d)]
    stats = {k: sum(s[k] for _, s in batches) for k in batches[0][1]}
    assert stats["documents"] == 5
    assert stats["corrupt_records"] == 1
    assert stats["empty_documents"] == 1
    tgt = np.concatenate([a["targets"][a["segment_ids"] > 0] for a, _ in batches])
    assert sorted(tgt.tolist()) == sorted(t for doc in docs for t in doc[1:].tolist())
    assert stats["tokens"] == sum(len(doc) - 1 for doc in docs if len(doc))


def test_unreadable_record_becomes_corrupt(monkeypatch, tmp_path, shards):
    shards.write_docs(str(tmp_path), [[4, 4]])
    src = token_shards.open_token_shards(str(tmp_path))
    inner = src._ensure_source()

    class Failing:
        def __getitem__(self, i):
            if i == 1:
                raise RuntimeError("DATA_LOSS: chunk checksum mismatch")
            return inner[i]

    src._source = Failing()
    assert src[0] is not None and src[1] is None
    assert bool(token_shards.decode_lm_example(src[1])["corrupt"])


def test_mean_tokens_per_document(tmp_path, shards):
    shards.write_docs(str(tmp_path), [[10, 20], [30, 40]])
    assert token_shards.mean_tokens_per_document(token_shards.open_token_shards(str(tmp_path))) == 25.0
