"""A small labelled web corpus for recall tests, built from real local documents.

Positives (code-related prose): the long descriptions (READMEs) in the METADATA of the
Python packages installed next to the tests (install instructions, API examples, code).
Negatives (non-code prose): licence texts: the LICENSE/COPYING files of those packages
and, where present, Debian's /usr/share/common-licenses, cut into paragraph-sized pages.
Everything is sorted and de-duplicated, so the corpus is a function of the installation.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import sysconfig

MIN_README_CHARS = 600
MAX_PAGE_CHARS = 6000
CHUNK_CHARS = 1500
LICENSE_GLOBS = ("*.dist-info/LICEN[CS]E*", "*.dist-info/COPYING*", "*.dist-info/licenses/**/*",
                 "*.dist-info/NOTICE*")


def _site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def code_prose_texts() -> list[tuple[str, str]]:
    """(package, README text) from installed METADATA bodies, sorted, distinct."""
    out, seen = [], set()
    for path in sorted(glob.glob(os.path.join(_site_packages(), "*.dist-info", "METADATA"))):
        text = _read(path)
        if not text or "\n\n" not in text:
            continue
        body = text.split("\n\n", 1)[1].strip()
        if len(body) < MIN_README_CHARS or body[:200] in seen:
            continue
        seen.add(body[:200])
        name = os.path.basename(os.path.dirname(path)).split("-")[0].lower()
        out.append((name, body[:MAX_PAGE_CHARS]))
    return out


def _chunks(text: str) -> list[str]:
    """Paragraph-aligned pieces of about CHUNK_CHARS characters."""
    out, current = [], ""
    for para in text.replace("\r\n", "\n").split("\n\n"):
        current = f"{current}\n\n{para}" if current else para
        if len(current) >= CHUNK_CHARS:
            out.append(current.strip())
            current = ""
    if len(current.strip()) >= 300:
        out.append(current.strip())
    return out


def non_code_texts() -> list[str]:
    """Licence paragraphs (package licences, Debian's common licences), sorted, distinct."""
    paths = sorted({p for pattern in LICENSE_GLOBS for p in glob.glob(os.path.join(_site_packages(), pattern),
                                                                        recursive=True) if os.path.isfile(p)})
    paths += sorted(p for p in glob.glob("/usr/share/common-licenses/*") if os.path.isfile(p))
    out, seen = [], set()
    for path in paths:
        text = _read(path)
        if not text:
            continue
        for chunk in _chunks(text):
            key = hashlib.sha256(" ".join(chunk.split()).encode("utf-8")).hexdigest()
            if key not in seen:
                seen.add(key)
                out.append(chunk)
    return out


def _rank(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def labelled_corpus(max_negatives: int = 500) -> tuple[list[dict], list[dict]]:
    """(positives, negatives) as pages {"url", "text", "label"}; negatives capped, hash order."""
    positives = [{"url": f"https://{name}.readthedocs.example/en/latest/", "text": text, "label": True}
                 for name, text in code_prose_texts()]
    negatives = sorted(non_code_texts(), key=_rank)[:max_negatives]
    negatives = [{"url": f"https://legal-{i % 7}.example.org/licence/{i}", "text": text, "label": False}
                 for i, text in enumerate(negatives)]
    return positives, negatives


def split_by_hash(pages: list[dict], fraction: float) -> tuple[list[dict], list[dict]]:
    """(first, rest): a page is in `first` when its hash rank falls under `fraction`."""
    first, rest = [], []
    for page in pages:
        (first if int(_rank(page["text"])[:8], 16) / 16 ** 8 < fraction else rest).append(page)
    return first, rest


def write_jsonl(path: str, records, raw_lines=()) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        for line in raw_lines:
            f.write(line + b"\n")
    return path
