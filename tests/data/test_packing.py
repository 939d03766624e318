"""Packing: hand-made example, brute-force reference on random lengths, no document crossing."""
from __future__ import annotations

import numpy as np
import pytest

from opencoder_jax.data.packing import iterate_packed
from opencoder_jax.data.token_shards import lm_example


def docs_with_ids(lengths):
    return [(d * 10_000 + np.arange(n)).astype(np.int32) for d, n in enumerate(lengths, start=1)]


def stack(batches):
    return {k: np.concatenate([b[k] for b in batches]) for k in batches[0] if not k.startswith("stats/")}


def test_hand_made_concat():
    # docs of 4, 7, 3 tokens -> 3, 6, 2 (input, target) pairs; L = 4, B = 2.
    docs = docs_with_ids([4, 7, 3])
    out = list(iterate_packed([lm_example(d) for d in docs], seq_len=4, batch_size=2, mode="concat"))
    assert len(out) == 2
    b = stack(out)
    np.testing.assert_array_equal(b["segment_ids"], [[1, 1, 1, 2], [1, 1, 1, 1], [1, 2, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(b["positions"], [[0, 1, 2, 0], [0, 1, 2, 3], [0, 0, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(b["inputs"], [[10000, 10001, 10002, 20000], [20001, 20002, 20003, 20004],
                                                [20005, 30000, 30001, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(b["targets"], [[10001, 10002, 10003, 20001], [20002, 20003, 20004, 20005],
                                                 [20006, 30001, 30002, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(b["loss_weights"], (b["segment_ids"] > 0).astype(np.float32))
    assert [int(o["stats/cuts"]) for o in out] == [2, 0]
    assert [int(o["stats/padding"]) for o in out] == [0, 5]


def test_hand_made_whole():
    # "whole": doc 2 (6 pairs) does not fit after doc 1 -> new row, cut into 4 + 2; doc 3 joins it.
    docs = docs_with_ids([4, 7, 3])
    b = stack(list(iterate_packed([lm_example(d) for d in docs], seq_len=4, batch_size=3, mode="whole")))
    np.testing.assert_array_equal(b["segment_ids"], [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 2, 2]])
    np.testing.assert_array_equal(b["positions"], [[0, 1, 2, 0], [0, 1, 2, 3], [0, 1, 0, 1]])
    np.testing.assert_array_equal(b["targets"][2], [20005, 20006, 30001, 30002])
    assert b["loss_weights"][0, 3] == 0


def reference_pack(examples, seq_len, batch_size, mode):
    """Token-at-a-time reference: rows of (doc, pair index) slots, written independently."""
    rows, row = [], []
    for doc, ex in enumerate(examples):
        n = len(ex["inputs"])
        if n == 0:
            continue
        if mode == "whole" and row and len(row) + n > seq_len:
            rows.append(row)
            row = []
        for i in range(n):
            row.append((doc, i))
            if len(row) == seq_len:
                rows.append(row)
                row = []
    if row:
        rows.append(row)
    while len(rows) % batch_size:
        rows.append([])
    out = {k: np.zeros((len(rows), seq_len), np.int64) for k in ("inputs", "targets", "segment_ids", "positions")}
    out["loss_weights"] = np.zeros((len(rows), seq_len), np.float32)
    for r, slots in enumerate(rows):
        seg, pos, prev = 0, 0, None
        for c, (doc, i) in enumerate(slots):
            if prev is None or prev[0] != doc or prev[1] + 1 != i:
                seg, pos = seg + 1, 0
            else:
                pos += 1
            prev = (doc, i)
            ex = examples[doc]
            out["inputs"][r, c], out["targets"][r, c] = ex["inputs"][i], ex["targets"][i]
            out["segment_ids"][r, c], out["positions"][r, c] = seg, pos
            out["loss_weights"][r, c] = ex["loss_weights"][i]
    return out


@pytest.mark.parametrize("mode", ["concat", "whole"])
@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_reference(mode, seed):
    rng = np.random.default_rng(seed)
    seq_len = int(rng.integers(1, 40))
    batch_size = int(rng.integers(1, 4))
    lengths = rng.integers(0, 3 * seq_len + 2, size=int(rng.integers(1, 30)))
    examples = [lm_example(d) for d in docs_with_ids(lengths)]
    for ex in examples:  # random 0/1 weights, as SFT masks would be
        ex["loss_weights"] = rng.integers(0, 2, size=len(ex["inputs"])).astype(np.float32)
    got_batches = list(iterate_packed(examples, seq_len=seq_len, batch_size=batch_size, mode=mode))
    want = reference_pack(examples, seq_len, batch_size, mode)
    if not want["inputs"].size:
        assert got_batches == []
        return
    got = stack(got_batches)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    assert sum(int(b["stats/tokens"]) for b in got_batches) == sum(max(int(n) - 1, 0) for n in lengths)


@pytest.mark.parametrize("mode", ["concat", "whole"])
def test_never_crosses_documents_and_drops_nothing(mode):
    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 200, size=300)
    lengths[:5] = [1000, 0, 1, 513, 2]  # long docs (split, not dropped), empty and 1-token docs
    docs = docs_with_ids(lengths)
    b = stack(list(iterate_packed([lm_example(d) for d in docs], seq_len=64, batch_size=4, mode=mode)))
    seg, pos, inp, tgt = b["segment_ids"], b["positions"], b["inputs"], b["targets"]
    real = seg > 0
    # Within a segment: one document, consecutive tokens, positions counting from 0.
    for r in range(seg.shape[0]):
        for s in np.unique(seg[r][seg[r] > 0]):
            cols = np.flatnonzero(seg[r] == s)
            assert np.all(np.diff(cols) == 1)
            np.testing.assert_array_equal(pos[r, cols], np.arange(len(cols)))
            assert len(set((inp[r, cols] // 10_000).tolist())) == 1
            np.testing.assert_array_equal(np.diff(inp[r, cols]), 1)
            np.testing.assert_array_equal(tgt[r, cols], inp[r, cols] + 1)
    # Padding carries nothing and no weight.
    assert np.all(b["loss_weights"][~real] == 0) and np.all(inp[~real] == 0) and np.all(pos[~real] == 0)
    # Every target of every document appears exactly once.
    want = sorted(t for d in docs for t in d[1:].tolist())
    assert sorted(tgt[real].tolist()) == want
