"""RefineCode stage 1 (paper section 2.1.1): raw file -> document, or a drop with its reason.

Checks run in this order; the first that fails names the drop reason (see REASONS):

  1. unreadable        the source set raw["error"], or gave no content (and no size that
                       would make the file too_large)
  2. too_large         size > max_file_bytes (8 MiB = 8_388_608 bytes; exactly 8 MiB is kept).
                       Size is len(content), or raw["size_bytes"] when the source skipped
                       reading a file it had already stat'ed (content None), so no byte of
                       a huge file has to be read.
  3. empty             zero bytes (whitespace-only files are left to the quality filters)
  4. binary            a NUL byte within the first binary_sniff_bytes (8192) bytes -- git's
                       own heuristic. UTF-16/32 text therefore counts as binary. Other
                       binaries almost never decode as UTF-8 and fall to (5).
  5. undecodable       strict UTF-8 decoding fails (also lone surrogates in str input).
                       A UTF-8 BOM is kept in the text by default, as the released notebook's
                       ``open(path, 'r')`` keeps it (strip_utf8_bom=True removes it).
  6. unknown_language  the path maps to no language (languages.detect_language)
  7. excluded_type     the language is on OpenCoder's exclusion list (CSV, SVG, STL, ...)

Text handed on: the decoded content with newlines normalised like Python's text mode
(the released notebook reads files with ``open(path, 'r')``): "\r\n" -> "\n", then a lone
"\r" -> "\n". sha256 / size_bytes / id are computed on the ORIGINAL bytes.

The released filter drops doc_type "unknown" and "excluded" (pipeline/compute_filtering.py);
we drop them here already, so later stages never see them (both switches can turn it off).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gin

from opencoder_jax.document import Document, make_document
from opencoder_jax.refinecode.languages import detect_language

REASONS: dict[str, str] = {
    "unreadable": "the source could not read the file (raw['error'] set or no content)",
    "too_large": "file larger than max_file_bytes (paper: 8 MB)",
    "empty": "file has zero bytes",
    "binary": "NUL byte within the first binary_sniff_bytes bytes",
    "undecodable": "content is not valid UTF-8",
    "unknown_language": "neither file name nor extension is in the language table",
    "excluded_type": "language is on OpenCoder's exclusion list (e.g. csv, svg, stl)",
}

UTF8_BOM = b"\xef\xbb\xbf"


@gin.configurable
@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of the preprocess stage; defaults are the paper's / released values."""

    max_file_bytes: int = 8 * 1024 * 1024  # drop files with more bytes than this (paper: > 8 MB)
    binary_sniff_bytes: int = 8192         # how far to look for a NUL byte
    drop_unknown_language: bool = True     # released filter drops doc_type "unknown"
    drop_excluded_types: bool = True       # released filter drops doc_type "excluded"
    strip_utf8_bom: bool = False           # released reader keeps the BOM as U+FEFF
    normalize_newlines: bool = True        # released reader uses text mode (universal newlines)
    full_basename_lookup: bool = False     # opt-in deviation, see languages.py


def normalize_newlines(text: str) -> str:
    """What Python's text-mode reading does to line ends: CRLF and lone CR become LF."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _content_bytes(content: Any) -> bytes | None:
    """bytes from what a source may hand over; str is accepted (encoded strictly)."""
    if content is None:
        return None
    if isinstance(content, bytes):
        return content
    if isinstance(content, (bytearray, memoryview)):
        return bytes(content)
    if isinstance(content, str):
        return content.encode("utf-8", "surrogatepass")  # lone surrogates fail decode later
    raise TypeError(f"content of type {type(content).__name__}")


def _as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def preprocess_file(raw: dict, config: PreprocessConfig) -> tuple[Document | None, str | None]:
    """(document, None) when the file is kept, (None, reason) when it is dropped.

    raw = {"repo", "path", "content": bytes | None, "stars", "commit_date", "source",
           "error": str | None, optionally "size_bytes": int (when content is None)}.
    Never raises on any content; a malformed raw record is reported as "unreadable".
    """
    if raw.get("error"):
        return None, "unreadable"
    try:
        content = _content_bytes(raw.get("content"))
    except TypeError:
        return None, "unreadable"
    size = len(content) if content is not None else _as_int(raw.get("size_bytes"))
    if size is not None and size > config.max_file_bytes:
        return None, "too_large"
    if content is None:
        return None, "unreadable"
    if not content:
        return None, "empty"
    if b"\x00" in content[: config.binary_sniff_bytes]:
        return None, "binary"
    body = content[len(UTF8_BOM):] if config.strip_utf8_bom and content.startswith(UTF8_BOM) else content
    try:
        text = body.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return None, "undecodable"

    path = raw.get("path") if isinstance(raw.get("path"), str) else ""
    info = detect_language(path, full_basename_lookup=config.full_basename_lookup)
    if info.doc_type == "unknown" and config.drop_unknown_language:
        return None, "unknown_language"
    if info.doc_type == "excluded" and config.drop_excluded_types:
        return None, "excluded_type"

    if config.normalize_newlines:
        text = normalize_newlines(text)
    repo = raw.get("repo") if isinstance(raw.get("repo"), str) else ""
    commit_date = raw.get("commit_date")
    doc = make_document(
        repo=repo,
        path=path,
        text=text,
        content=content,
        language=info.name,
        lang_type=info.doc_type,
        stars=_as_int(raw.get("stars")),
        commit_date=commit_date if isinstance(commit_date, str) else None,
        source=raw.get("source") if isinstance(raw.get("source"), str) else "",
    )
    doc["meta"]["extension"] = info.extension
    doc["meta"]["filename"] = info.filename
    return doc, None
