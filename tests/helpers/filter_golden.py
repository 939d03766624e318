"""The filter's golden file (tests/refinecode/data/golden/filter_golden.jsonl.gz): real files
with the signals and decisions of OpenCoder's RELEASED implementation, written by
scripts/build_filter_golden.py (sources and licences in LICENSES.md next to it)."""
from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

GOLDEN_PATH = Path(__file__).resolve().parents[1] / "refinecode" / "data" / "golden" / "filter_golden.jsonl.gz"


@functools.lru_cache(maxsize=1)
def load_golden() -> tuple[dict, ...]:
    with gzip.open(GOLDEN_PATH, "rt", encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f)


def golden_record(source_prefix: str, path: str) -> dict:
    """The record of one file: its source starts with `source_prefix`, its path is `path`."""
    hits = [r for r in load_golden() if r["source"].startswith(source_prefix) and r["path"] == path]
    if len(hits) != 1:
        raise KeyError(f"{len(hits)} golden records for {source_prefix}*/{path}")
    return hits[0]


def as_document(record: dict, path: str | None = None) -> dict:
    """The record as a filter input document (natural language pinned to the recorded 'en')."""
    path = path or record["path"]
    return {"id": f"{record['source']}/{path}", "path": path, "text": record["text"],
            "size_bytes": record["file_size_in_byte"], "meta": {"text_lang": record["lang"]}}
