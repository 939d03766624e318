"""Seeds of the generators: corpus documents (RefineCode shards or JSON lines).

`--input` takes RefineCode output dirs (their `documents-*.array_record`; a dir without shards
is read through its `*.jsonl` files, so a synth output dir works too), single shards, or JSONL
files of documents. Each document must have a string `text`; its seed id is its `id` (the
content-derived document id) or, without one, a hash of its text. Unreadable records are
counted in `stats["input_corrupt"]`, never fatal.
"""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
from collections import Counter
from typing import Any, Iterable, Iterator


@dataclasses.dataclass
class Seed:
    id: str
    payload: Any  # a document dict, an API description, ...


def input_files(inputs: Iterable[str]) -> list[str]:
    files: list[str] = []
    for p in inputs:
        if os.path.isdir(p):
            shards = sorted(glob.glob(os.path.join(p, "documents-*.array_record")))
            found = shards or sorted(glob.glob(os.path.join(p, "*.jsonl")))
            if not found:
                raise FileNotFoundError(f"{p} holds no documents-*.array_record or *.jsonl files")
            files.extend(found)
        elif os.path.isfile(p):
            files.append(p)
        else:
            matched = sorted(glob.glob(p))
            if not matched:
                raise FileNotFoundError(f"no such input: {p}")
            files.extend(matched)
    return files


def _raw_records(path: str) -> Iterator[bytes | str]:
    if path.endswith(".array_record") or "array_record" in os.path.basename(path):
        from array_record.python.array_record_module import ArrayRecordReader

        reader = ArrayRecordReader(path)
        try:
            for i in range(reader.num_records()):
                yield reader.read([i])[0]
        finally:
            reader.close()
    else:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                if line.strip():
                    yield line


def document_seeds(inputs: Iterable[str], stats: Counter | None = None) -> Iterator[Seed]:
    """Seeds (payload: the document dict) in file order."""
    stats = stats if stats is not None else Counter()
    for path in input_files(inputs):
        for raw in _raw_records(path):
            try:
                doc = json.loads(raw)
                if not isinstance(doc, dict) or not isinstance(doc.get("text"), str):
                    raise ValueError("not a document with a string text")
            except (ValueError, UnicodeDecodeError):
                stats["input_corrupt"] += 1
                continue
            seed_id = doc.get("id")
            if not isinstance(seed_id, str) or not seed_id:
                seed_id = hashlib.blake2b(doc["text"].encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
            yield Seed(seed_id, doc)


def clip_code(text: str, max_chars: int) -> str:
    """The first max_chars characters, cut at a line end (a prompt needs a readable piece)."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind("\n", 0, max_chars)
    return text[: cut if cut > max_chars // 2 else max_chars]
