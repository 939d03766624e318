"""Shingles: the n-gram pieces of a text whose set Jaccard similarity fuzzy dedup estimates.

OpenCoder (arXiv 2411.04905, section 2.1.1) splits each file into 5-gram pieces before
MinHash. The unit of a piece is configurable:

  "word"   maximal runs of non-whitespace characters (Python's `str.split()`, so any
           Unicode whitespace separates words); pieces are joined by one space
  "token"  identifier/number runs and single punctuation characters
           (regex `\\w+|[^\\w\\s]`), so `f(x)` and `f( x )` give the same pieces
  "char"   single characters (whitespace included); pieces are joined without a separator

A shingle is the UTF-8 encoding (surrogates passed through) of n consecutive units, the
bytes that the MinHash hash function is fed (datasketch's SHA1 hashes want bytes).

Empty and short texts (documented behaviour, pinned by tests):
  * 0 units (empty or whitespace-only text under "word"/"token"): no shingles. Its
    MinHash is datasketch's "empty" signature (every value the scheme's maximum), and
    fuzzy dedup never matches such a document with anything (exact dedup already
    collapses identical empty files); the stage counts them as `fuzzy_dedup/no_shingles`.
  * 1 .. n-1 units: exactly one shingle made of all its units, so short texts still
    compare: identical short texts match, different ones do not.
"""
from __future__ import annotations

import re

SHINGLE_UNITS = ("word", "token", "char")

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def split_units(text: str, unit: str = "word") -> list[str]:
    """The text as a list of units (see the module docstring)."""
    if unit == "word":
        return text.split()
    if unit == "token":
        return _TOKEN_RE.findall(text)
    if unit == "char":
        return list(text)
    raise ValueError(f"unknown shingle unit {unit!r}; expected one of {SHINGLE_UNITS}")


def shingles(text: str, ngram_size: int = 5, unit: str = "word") -> list[bytes]:
    """The text's n-gram pieces as UTF-8 bytes, in text order (duplicates kept).

    MinHash takes the minimum over them, so duplicates do not change a signature; callers
    that need the set (Jaccard verification) de-duplicate the hashes instead.
    """
    if ngram_size < 1:
        raise ValueError(f"ngram_size must be >= 1, got {ngram_size}")
    units = split_units(text, unit)
    if not units:
        return []
    sep = "" if unit == "char" else " "
    if len(units) <= ngram_size:
        return [sep.join(units).encode("utf-8", "surrogatepass")]
    return [
        sep.join(units[i : i + ngram_size]).encode("utf-8", "surrogatepass")
        for i in range(len(units) - ngram_size + 1)
    ]
