"""LshBuckets (packed band-key blocks) gives the buckets a plain GroupByKey of
(band key, token) gives, for every bucket of two or more rows."""
from __future__ import annotations

import random

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from beam_pipelines.lsh_buckets import LshBuckets, _colliding_members


def _key(band: int, digest: bytes) -> bytes:
    return band.to_bytes(2, "big") + digest


def _units(seed: int, n: int, bands: int) -> list[tuple[str, list[bytes]]]:
    """Random units; ~1/3 copy some bands of an earlier unit (bucket collisions), a few
    repeat an earlier unit's token (two documents with one token)."""
    rng = random.Random(seed)
    units = []
    for i in range(n):
        token = f"{rng.randrange(10**6):020d}|repo{i % 7}/file_{i}.py"
        keys = [_key(b, rng.randbytes(16)) for b in range(bands)]
        if units and rng.random() < 0.35:
            _, other = rng.choice(units)
            for b in rng.sample(range(bands), rng.randint(1, bands)):
                keys[b] = other[b]
        if units and rng.random() < 0.05:
            token = rng.choice(units)[0]
        units.append((token, keys))
    return units


def _reference(units):
    buckets: dict[bytes, list[str]] = {}
    for token, keys in units:
        for key in keys:
            buckets.setdefault(key, []).append(token)
    return sorted((k, sorted(v)) for k, v in buckets.items() if len(v) >= 2)


@pytest.mark.parametrize("seed,block,partitions", [(0, 4096, 16), (1, 3, 1), (2, 1, 256)])
def test_buckets_equal_a_plain_group_by_key(seed, block, partitions):
    units = _units(seed, 300, 16)
    expected = _reference(units)
    assert len(expected) > 50  # the corpus has collisions to find
    with TestPipeline(runner="FnApiRunner") as p:
        got = (p | beam.Create(units) | LshBuckets(max_units_per_block=block, partitions_per_band=partitions)
               | beam.MapTuple(lambda k, tokens: (k, sorted(tokens))))
        assert_that(got, equal_to(expected))


def test_no_collisions_no_buckets_and_empty_input():
    units = _units(3, 50, 4)
    units = [(t, [_key(b, bytes([i]) * 16) for b in range(4)]) for i, (t, _) in enumerate(units)]
    with TestPipeline(runner="FnApiRunner") as p:
        got = p | beam.Create(units) | LshBuckets()
        assert_that(got, equal_to([]))
    with TestPipeline(runner="FnApiRunner") as p:
        got = p | beam.Create([]) | LshBuckets()
        assert_that(got, equal_to([]))


def test_colliding_members_of_one_band_by_hand():
    row = lambda digest, tid: bytes([digest]) * 16 + bytes([tid]) * 16  # noqa: E731
    blocks = [row(1, 10) + row(2, 11), row(1, 12) + row(3, 13) + row(2, 14)]
    got = sorted(_colliding_members((b"\x00\x05\x03", blocks)))
    band = b"\x00\x05"
    assert got == sorted([(bytes([10]) * 16, band + bytes([1]) * 16), (bytes([12]) * 16, band + bytes([1]) * 16),
                          (bytes([11]) * 16, band + bytes([2]) * 16), (bytes([14]) * 16, band + bytes([2]) * 16)])


def test_partitions_out_of_range_are_an_error():
    for bad in (0, 257):
        with pytest.raises(ValueError, match="partitions_per_band"):
            LshBuckets(partitions_per_band=bad)


def test_a_malformed_band_key_is_an_error():
    with pytest.raises(Exception, match="band key of 5 bytes"):
        with TestPipeline(runner="FnApiRunner") as p:
            _ = p | beam.Create([("t", [b"short"])]) | LshBuckets()
