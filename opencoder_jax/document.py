"""The document record that flows through every corpus stage.

A document is a plain JSON-able dict (so Beam's default coders and ArrayRecord shards
carry it as UTF-8 JSON). Fields:

  id           stable content-derived id: hex blake2b of (repo, path, sha256(content)).
               Independent of sharding and input order.
  repo, path   repository name and path inside it ("" when unknown)
  language     OpenCoder's program_lang name from the language table (e.g. "python", "cpp")
  lang_type    OpenCoder's doc type: "code", "data" or "text"
  text         UTF-8 decoded content (rewritten by the transform stage)
  sha256       hex SHA256 of the original content bytes (exact dedup key)
  size_bytes   size of the original content in bytes
  stars        int or None
  commit_date  ISO-8601 string or None
  source       where it came from (input path / glob)
  meta         dict of stage annotations (e.g. "dup_cluster_size", "transforms")
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

Document = dict[str, Any]

REQUIRED_FIELDS = ("id", "repo", "path", "language", "text")


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def make_id(repo: str, path: str, sha256_hex: str) -> str:
    """Stable id from where the file lives and what it holds (not from shard or order)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repo.encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update(path.encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update(sha256_hex.encode("ascii"))
    return h.hexdigest()


def make_document(
    *,
    repo: str,
    path: str,
    text: str,
    content: bytes,
    language: str,
    lang_type: str,
    stars: int | None = None,
    commit_date: str | None = None,
    source: str = "",
) -> Document:
    sha = content_sha256(content)
    return {
        "id": make_id(repo, path, sha),
        "repo": repo,
        "path": path,
        "language": language,
        "lang_type": lang_type,
        "text": text,
        "sha256": sha,
        "size_bytes": len(content),
        "stars": stars,
        "commit_date": commit_date,
        "source": source,
        "meta": {},
    }


def to_bytes(doc: Document) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def from_bytes(data: bytes) -> Document:
    doc = json.loads(data.decode("utf-8"))
    missing = [f for f in REQUIRED_FIELDS if f not in doc]
    if missing:
        raise ValueError(f"document record lacks fields {missing}")
    return doc


def text_bytes(doc: Document) -> int:
    """Current size of the text in UTF-8 bytes (what 'bytes' means in stats)."""
    return len(doc["text"].encode("utf-8", "surrogatepass"))
