"""Web pages: validation of input records, stable ids, and the document a recalled page becomes.

A page is {"id", "url", "domain", "text"}. Input records (JSONL lines, Parquet rows, e.g.
FineWeb) need a `url` and a `text`; anything else is a counted drop, by reason:

  page/no_url        url missing, not a string, or empty
  page/bad_url       a url without a scheme (http://...) or a host
  page/no_text       text missing, not a string/bytes, or only whitespace
  page/invalid_utf8  text bytes that are not UTF-8, or text with lone surrogates

Recalled pages become documents (opencoder_jax/document.py) with `source: "web"`, repo =
domain, path = url, language "web", lang_type "text": `opencoder data tokenize` reads them
as it reads RefineCode's output, and they form the `code_web` mixture component.
"""
from __future__ import annotations

import hashlib

from opencoder_jax.document import Document, make_document
from opencoder_jax.recall.domains import domain_of

WEB_SOURCE = "web"
WEB_LANGUAGE = "web"
URL_FIELDS = ("url", "URL", "uri")
TEXT_FIELDS = ("text", "content", "raw_content")


def _first(record: dict, names: tuple[str, ...]):
    for name in names:
        if record.get(name) is not None:
            return record[name]
    return None


def page_id(url: str, text: str) -> str:
    """Stable id from where the page lives and what it says (as a document's id)."""
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    h = hashlib.blake2b(digest_size=16)
    for part in (domain_of(url), url, sha):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def parse_page(record: dict, require_url: bool = True) -> dict | str:
    """An input record -> page dict, or the drop reason (a str)."""
    url = _first(record, URL_FIELDS)
    if url is None or not isinstance(url, str) or not url.strip():
        if require_url:
            return "page/no_url"
        url = ""
    url = url.strip()
    domain = domain_of(url) if url else ""
    if url and ("://" not in url or not domain):
        return "page/bad_url"
    text = _first(record, TEXT_FIELDS)
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            return "page/invalid_utf8"
    if not isinstance(text, str) or not text.strip():
        return "page/no_text"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "page/invalid_utf8"
    return {"id": page_id(url, text), "url": url, "domain": domain, "text": text}


def sample_rank(page_id_hex: str, seed: int) -> int:
    """A pseudo-random rank: the k smallest ranks are a uniform, reproducible sample."""
    h = hashlib.blake2b(f"{seed}:{page_id_hex}".encode("ascii"), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def to_document(page: dict, score: float, round_index: int, input_path: str = "") -> Document:
    text = page["text"]
    doc = make_document(repo=page["domain"], path=page["url"], text=text, content=text.encode("utf-8"),
                        language=WEB_LANGUAGE, lang_type="text", source=WEB_SOURCE)
    doc["meta"] = {"url": page["url"], "domain": page["domain"], "recall_score": round(float(score), 6),
                   "recall_round": round_index, "input": input_path}
    return doc
