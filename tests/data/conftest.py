"""Shared helpers for the data-pipeline tests: write small token shards."""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest


def write_shard(path: str, records: list[bytes]) -> str:
    from array_record.python.array_record_module import ArrayRecordWriter

    writer = ArrayRecordWriter(path, "group_size:1")
    for r in records:
        writer.write(r)
    writer.close()
    return path


def doc_tokens(doc_id: int, n: int) -> np.ndarray:
    """Token ids that name their document and position: doc_id * 10_000 + i."""
    return (doc_id * 10_000 + np.arange(n)).astype("<u4")


def write_docs(directory: str, lengths_per_shard: list[list[int]], first_doc_id: int = 1) -> list[np.ndarray]:
    """Shards tokens-00000-of-N.array_record...; returns every document's tokens in order."""
    os.makedirs(directory, exist_ok=True)
    docs, doc_id = [], first_doc_id
    for s, lengths in enumerate(lengths_per_shard):
        recs = []
        for n in lengths:
            d = doc_tokens(doc_id, n)
            docs.append(d)
            recs.append(d.tobytes())
            doc_id += 1
        write_shard(os.path.join(directory, f"tokens-{s:05d}-of-{len(lengths_per_shard):05d}.array_record"), recs)
    return docs


@pytest.fixture
def shards():
    """write_shard(path, records), write_docs(dir, lengths_per_shard), doc_tokens(doc_id, n)."""
    return SimpleNamespace(write_shard=write_shard, write_docs=write_docs, doc_tokens=doc_tokens)
