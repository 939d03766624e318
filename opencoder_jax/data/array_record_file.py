"""One ArrayRecord file written locally, without Beam (the library's own writer).

`group_size:1` lets Grain's ArrayRecordDataSource read any record by index. Beam's sink
(`beam_pipelines/array_record_io.py`) writes every shard through `write_records` too, adding
only the upload for non-local file systems.
"""
from __future__ import annotations

import os
import uuid
from typing import Iterable

ARRAY_RECORD_OPTIONS = "group_size:1"


def write_records(path: str, records: Iterable[bytes]) -> int:
    """Write records to the local file `path` (no rename); returns the record count."""
    from array_record.python import array_record_module

    count = 0
    writer = array_record_module.ArrayRecordWriter(path, ARRAY_RECORD_OPTIONS)
    try:
        for record in records:
            writer.write(record)
            count += 1
    finally:
        writer.close()
    return count


def write_local_atomic(path: str, records: Iterable[bytes]) -> int:
    """Write to a temporary name, then rename: a reader never sees a partial file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    count = write_records(tmp, records)
    os.replace(tmp, path)
    return count


def count_records(path: str) -> int:
    """Records in one local ArrayRecord file (raises if it cannot be opened)."""
    from array_record.python.array_record_module import ArrayRecordReader

    reader = ArrayRecordReader(path)
    try:
        return int(reader.num_records())
    finally:
        reader.close()
