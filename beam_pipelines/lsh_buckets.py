"""LSH buckets through a compact shuffle: (token, band keys) -> (bucket key, token) for the
members of every bucket that holds two or more units.

A plain `(band key, token)` GroupByKey moves 16 small elements per document; a local runner
buffers each one as its own Python objects (~250 bytes apiece, ~1.2 GB of the runner at
200k files). Here each bundle packs its units' band keys into one byte block per band
(16-byte band digest + 16-byte token id per row), so the shuffle holds ~32 bytes per
(unit, band); per band, a sort of the rows finds the colliding digests, and only those
members are joined back to their tokens. Token ids are 16-byte BLAKE2b digests of the
tokens (a 2^-128 chance of two tokens sharing one, as for the band keys themselves).
Blocks are keyed by (band, first digest byte mod `partitions_per_band`), so a distributed
runner sorts 16 x 16 groups in parallel by default, and equal digests always meet.
"""
from __future__ import annotations

import hashlib

import apache_beam as beam
import numpy as np

from beam_pipelines.stage import in_global_window

_ID = 16  # bytes of a token id
_DIGEST = 16  # bytes of a band digest (a band key is 2 bytes of band index + this)
_ROW = _DIGEST + _ID


def token_id(token: str) -> bytes:
    return hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=_ID).digest()


class _BandBlocks(beam.DoFn):
    """(token, band keys) -> main: (band prefix + partition byte, block of rows);
    "tokens": (token id, token)."""

    def __init__(self, max_units: int, partitions: int):
        self._max = max_units
        self._partitions = partitions

    def start_bundle(self):
        self._rows: dict[bytes, list[bytes]] = {}
        self._units = 0

    def process(self, unit):
        token, keys = unit
        tid = token_id(token)
        yield beam.pvalue.TaggedOutput("tokens", (tid, token))
        for key in keys:
            if len(key) != 2 + _DIGEST:
                raise ValueError(f"band key of {len(key)} bytes, expected {2 + _DIGEST}")
            group = key[:2] + bytes([key[2] % self._partitions])
            self._rows.setdefault(group, []).append(key[2:] + tid)
        self._units += 1
        if self._units >= self._max:
            yield from self._flush()

    def finish_bundle(self):
        for item in self._flush():
            yield in_global_window(item)

    def _flush(self):
        out = [(band, b"".join(rows)) for band, rows in sorted(self._rows.items())]
        self._rows, self._units = {}, 0
        return out


def _colliding_members(band_and_blocks):
    """One band partition's blocks -> (token id, band key) for every row whose digest is shared."""
    group, blocks = band_and_blocks
    band = group[:2]
    rows = np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(-1, _ROW)
    if len(rows) < 2:
        return
    digests = np.ascontiguousarray(rows[:, :_DIGEST]).view(f"V{_DIGEST}").ravel()
    order = np.argsort(digests, kind="stable")
    ordered = digests[order]
    same_as_next = ordered[1:] == ordered[:-1]
    shared = np.zeros(len(ordered), dtype=bool)
    shared[1:] |= same_as_next
    shared[:-1] |= same_as_next
    for i in order[shared]:
        row = rows[i].tobytes()
        yield row[_DIGEST:], band + row[:_DIGEST]


def _bucket_of_token(tid_and_groups):
    _, groups = tid_and_groups
    buckets = list(groups["buckets"])
    if not buckets:
        return
    for token in set(groups["tokens"]):
        for bucket in buckets:
            yield bucket, token


class LshBuckets(beam.PTransform):
    """PCollection[(token, band keys)] -> PCollection[(band key, iterable of tokens)] for the
    buckets of two or more rows (what a GroupByKey of (band key, token) would give for them)."""

    def __init__(self, max_units_per_block: int = 4096, partitions_per_band: int = 16):
        super().__init__()
        if not 1 <= partitions_per_band <= 256:
            raise ValueError(f"partitions_per_band must be in 1..256, got {partitions_per_band}")
        self._max = max_units_per_block
        self._partitions = partitions_per_band

    def expand(self, units):
        packed = units | "BandBlocks" >> beam.ParDo(_BandBlocks(self._max, self._partitions)).with_outputs(
            "tokens", main="blocks")
        members = (packed.blocks
                   | "GroupBandPartitions" >> beam.GroupByKey()
                   | "CollidingMembers" >> beam.FlatMap(_colliding_members))
        return ({"buckets": members, "tokens": packed.tokens}
                | "JoinTokens" >> beam.CoGroupByKey()
                | "BucketOfToken" >> beam.FlatMap(_bucket_of_token)
                | "Buckets" >> beam.GroupByKey())
