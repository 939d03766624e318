"""Pack variable-length examples into fixed [B, L] batches with per-token segment ids.

Input elements (from `sources.lm_example` or `sft.sft_example`) are dicts of 1-D arrays of
one length n: `inputs`, `targets`, `loss_weights` (plus an optional `corrupt` flag). The
next-token shift has already been done per example, so packing never pairs a target with
another document's input.

Output batch (B rows of L tokens):
  inputs, targets   int32   [B, L]   0 on padding
  segment_ids       int32   [B, L]   1, 2, ... per example piece within a row; 0 = padding
  positions         int32   [B, L]   restart at 0 for every piece; 0 on padding
  loss_weights      float32 [B, L]   the example's weights; 0 on padding
  stats/*           int64   []       counts for this batch (documents, corrupt records, ...)

Attention must be restricted to equal, non-zero segment ids; that is what keeps documents
apart. Two modes:
  "concat": examples flow across row boundaries (an example is cut at the end of a row and
            continues at position 0 of the next), so only the very last batch is padded.
            The pretraining default (no compute wasted on padding).
  "whole":  an example that does not fit in the current row starts a new row; only examples
            longer than L are cut into L-sized pieces. For SFT, where a prompt and its answer
            must stay in one row.
Either way no token is dropped: a long example is split, never truncated here.

Exact resume: the iterator state is the parent iterator's state just before the example
that the next batch starts in, plus how many of its tokens earlier batches consumed.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

import grain

PACK_MODES = ("concat", "whole")
FIELDS = ("inputs", "targets", "loss_weights")
STAT_KEYS = ("documents", "corrupt_records", "empty_documents", "cuts", "tokens", "padding")


def assemble_rows(rows: list[list[tuple[dict, int, int]]], seq_len: int) -> dict[str, np.ndarray]:
    """Rows of pieces (example, start, stop) -> padded arrays [R, L] (vectorised per row set)."""
    num_rows = len(rows)
    pieces = [p for row in rows for p in row]
    lengths = np.fromiter((stop - start for _, start, stop in pieces), np.int64, len(pieces))
    row_of_piece = np.repeat(np.arange(num_rows), [len(r) for r in rows]).astype(np.int64)
    pieces_per_row = np.array([len(r) for r in rows], np.int64)
    # Where each piece starts in the flat token stream, inside its row, and its segment id.
    piece_cum = np.cumsum(lengths) - lengths
    row_tokens = np.bincount(row_of_piece, weights=lengths, minlength=num_rows).astype(np.int64)
    row_start = np.cumsum(row_tokens) - row_tokens
    offset_in_row = piece_cum - row_start[row_of_piece]
    first_piece = np.cumsum(pieces_per_row) - pieces_per_row
    segment = np.arange(len(pieces)) - first_piece[row_of_piece] + 1

    total = int(lengths.sum())
    tok_row = np.repeat(row_of_piece, lengths)
    tok_col = np.arange(total) - np.repeat(piece_cum, lengths) + np.repeat(offset_in_row, lengths)
    out = {
        "segment_ids": np.zeros((num_rows, seq_len), np.int32),
        "positions": np.zeros((num_rows, seq_len), np.int32),
    }
    out["segment_ids"][tok_row, tok_col] = np.repeat(segment, lengths)
    out["positions"][tok_row, tok_col] = np.arange(total) - np.repeat(piece_cum, lengths)
    for key, dtype in (("inputs", np.int32), ("targets", np.int32), ("loss_weights", np.float32)):
        arr = np.zeros((num_rows, seq_len), dtype)
        if pieces:
            arr[tok_row, tok_col] = np.concatenate([ex[key][start:stop] for ex, start, stop in pieces])
        out[key] = arr
    return out


class PackAndBatchIterDataset(grain.IterDataset):
    """Packs examples from `parent` into batches of `batch_size` rows of `seq_len` tokens."""

    def __init__(self, parent: grain.IterDataset, *, seq_len: int, batch_size: int, mode: str = "concat"):
        super().__init__(parent)
        if mode not in PACK_MODES:
            raise ValueError(f"pack mode must be one of {PACK_MODES}, got {mode!r}")
        if seq_len < 1 or batch_size < 1:
            raise ValueError(f"seq_len and batch_size must be positive, got {seq_len}, {batch_size}")
        self.seq_len, self.batch_size, self.mode = seq_len, batch_size, mode

    def __iter__(self) -> "PackAndBatchIterator":
        return PackAndBatchIterator(self._parent.__iter__(), self.seq_len, self.batch_size, self.mode)

    def __str__(self) -> str:
        return f"PackAndBatchIterDataset(seq_len={self.seq_len}, batch_size={self.batch_size}, mode={self.mode})"


class PackAndBatchIterator(grain.DatasetIterator):
    def __init__(self, parent: grain.DatasetIterator, seq_len: int, batch_size: int, mode: str):
        super().__init__(parent)
        self._seq_len, self._batch_size, self._split = seq_len, batch_size, mode == "concat"
        self._cur: dict | None = None      # example being consumed
        self._cur_state: Any = None        # parent state just before `_cur` was read
        self._cur_off = 0                  # tokens of `_cur` already placed in emitted batches
        self._resume_off = 0               # offset to apply to the next example read (after restore)
        self._exhausted = False

    def _fetch(self, counts: dict[str, int]) -> bool:
        """Read the next example into `_cur`; False at the end of the parent."""
        state = self._parent.get_state()
        try:
            ex = next(self._parent)
        except StopIteration:
            self._exhausted = True
            return False
        self._cur, self._cur_state = ex, state
        self._cur_off, self._resume_off = self._resume_off, 0
        if self._cur_off == 0:  # a resumed example was counted before the save
            counts["documents"] += 1
            if bool(ex.get("corrupt", False)):
                counts["corrupt_records"] += 1
            elif len(ex["inputs"]) == 0:
                counts["empty_documents"] += 1
        return True

    def __next__(self) -> dict[str, Any]:
        if self._exhausted:
            raise StopIteration
        L = self._seq_len
        counts = dict.fromkeys(STAT_KEYS, 0)
        rows: list[list[tuple[dict, int, int]]] = []
        row: list[tuple[dict, int, int]] = []
        filled = 0
        while len(rows) < self._batch_size:
            if self._cur is None and not self._fetch(counts):
                break
            ex = self._cur
            remaining = len(ex["inputs"]) - self._cur_off
            if remaining <= 0:
                self._cur = None
                continue
            space = L - filled
            if self._split or remaining <= space or filled == 0:
                take = min(remaining, space)
                row.append((ex, self._cur_off, self._cur_off + take))
                filled += take
                self._cur_off += take
                if take < remaining:
                    counts["cuts"] += 1
                else:
                    self._cur = None
            else:  # "whole" mode: the example waits for a fresh row
                space = 0
            if filled == L or space == 0:
                rows.append(row)
                row, filled = [], 0
        if row:
            rows.append(row)
        if not rows:
            raise StopIteration
        rows.extend([] for _ in range(self._batch_size - len(rows)))  # pad the last batch
        batch = assemble_rows(rows, L)
        counts["tokens"] = int(sum(stop - start for r in rows for _, start, stop in r))
        counts["padding"] = self._batch_size * L - counts["tokens"]
        batch.update({f"stats/{k}": np.int64(v) for k, v in counts.items()})
        return batch

    def get_state(self) -> dict[str, Any]:
        if self._cur is not None:
            return {"parent": self._cur_state, "offset": self._cur_off, "exhausted": self._exhausted}
        return {"parent": self._parent.get_state(), "offset": self._resume_off, "exhausted": self._exhausted}

    def set_state(self, state: dict[str, Any]) -> None:
        self._parent.set_state(state["parent"])
        self._cur, self._cur_state, self._cur_off = None, None, 0
        self._resume_off = int(state["offset"])
        self._exhausted = bool(state["exhausted"])

    def __str__(self) -> str:
        return f"PackAndBatchIterator(seq_len={self._seq_len}, batch_size={self._batch_size})"


def pack_and_batch(ds: grain.IterDataset, *, seq_len: int, batch_size: int, mode: str = "concat") -> grain.IterDataset:
    return PackAndBatchIterDataset(ds, seq_len=seq_len, batch_size=batch_size, mode=mode)


def iterate_packed(examples: list[dict], *, seq_len: int, batch_size: int, mode: str) -> Iterator[dict]:
    """Pack an in-memory list of examples (for tests and notebooks)."""
    ds = grain.MapDataset.source(examples).to_iter_dataset()
    return iter(pack_and_batch(ds, seq_len=seq_len, batch_size=batch_size, mode=mode))
