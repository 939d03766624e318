"""Seeds, negatives and the held-out split of one round's labelled pairs.

  parse_pages_jsonl(lines)   a seed / labelled file: JSONL(.gz) lines {"text", "url"?, "label"?}
  split_holdout(pages, ...)  deterministic train / held-out split by page id
  choose_negatives(...)      the first n pages of the random pool that are not positives

The seed set (positives) grows each round with the pages that URL annotation pulls in; the
negatives are a random sample of the web corpus itself, as in DeepSeekMath (so they may hold
a few code pages, like the real web). A labelled file's `label` is true/false, 1/0, or
"code"/"other"; a seed file's lines need no label (all positive).
"""
from __future__ import annotations

import hashlib
import json
from typing import Iterable, Sequence

from opencoder_jax.recall.pages import parse_page

TRUE_LABELS = {True, "1", "code", "true", "yes", "positive"}
FALSE_LABELS = {False, "0", "other", "false", "no", "negative"}


def parse_label(value) -> bool:
    key = value.lower() if isinstance(value, str) else value
    if key in TRUE_LABELS:
        return True
    if key in FALSE_LABELS:
        return False
    raise ValueError(f"unknown label {value!r} (use true/false, 1/0 or code/other)")


def parse_pages_jsonl(lines: Iterable[bytes], source: str = "<lines>",
                      labelled: bool = False) -> tuple[list[dict], dict[str, int]]:
    """Pages of JSONL lines (url optional) and {drop reason: count} for unusable lines.

    The caller opens the file (the driver uses Beam's file systems, so gs:// works)."""
    pages, drops, seen = [], {}, set()
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            record = None
        if not isinstance(record, dict):
            drops["read/broken_jsonl"] = drops.get("read/broken_jsonl", 0) + 1
            continue
        page = parse_page(record, require_url=False)
        if isinstance(page, str):
            drops[page] = drops.get(page, 0) + 1
            continue
        if labelled:
            if "label" not in record:
                raise ValueError(f"{source}:{line_no}: labelled file line has no 'label'")
            page["label"] = parse_label(record["label"])
        if page["id"] in seen:
            drops["seed/duplicate"] = drops.get("seed/duplicate", 0) + 1
            continue
        seen.add(page["id"])
        pages.append(page)
    return pages, drops


def _fraction_rank(page_id_hex: str, seed: int) -> float:
    h = hashlib.blake2b(f"holdout:{seed}:{page_id_hex}".encode("ascii"), digest_size=8).digest()
    return int.from_bytes(h, "little") / 2.0 ** 64


def split_holdout(pages: Sequence[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, held-out): a page's side depends only on its id, so it never moves between rounds."""
    train, held = [], []
    for page in pages:
        (held if _fraction_rank(page["id"], seed) < fraction else train).append(page)
    return train, held


def choose_negatives(pool: Sequence[dict], exclude_ids: Iterable[str], n: int) -> list[dict]:
    """The first `n` pool pages (pool is in random-rank order) that are not positives."""
    excluded = set(exclude_ids)
    out = []
    for page in pool:
        if len(out) >= n:
            break
        if page["id"] not in excluded:
            out.append(page)
    return out
