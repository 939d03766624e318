"""Word n-grams and the repetition statistics built on them (RedPajama-v2 definitions)."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np


def word_ngrams(words: Sequence[str], n: int) -> tuple[tuple[str, ...], ...]:
    """All contiguous n-grams, in order; () when there are fewer than n words."""
    if n <= 0 or len(words) < n:
        return ()
    return tuple(zip(*(words[i:] for i in range(n))))


def word_ids(words: Sequence[str]) -> np.ndarray:
    """Each word replaced by a small integer id (first occurrence order); int32[len(words)]."""
    ids: dict[str, int] = {}
    setdefault = ids.setdefault
    return np.fromiter((setdefault(w, len(ids)) for w in words), dtype=np.int32, count=len(words))


def top_ngram_char_fraction(words: Sequence[str], ngrams: Sequence[tuple[str, ...]], total_chars: int) -> float | None:
    """Characters of the most frequent n-gram times its count / all word characters.

    Ties go to the n-gram seen first (Counter.most_common(1) semantics). 0.0 when the top
    n-gram occurs once or there are no n-grams. None means "divide by zero" (cannot happen for
    non-empty tokens)."""
    if not ngrams:
        return 0.0
    counts = Counter(ngrams)
    ngram, count = max(counts.items(), key=lambda kv: kv[1])  # first max in insertion order
    if count <= 1:
        return 0.0
    return sum(len(w) for w in ngram) * count / total_chars


def dupe_ngram_char_fractions(words: Sequence[str], sizes: Sequence[int]) -> dict[int, float]:
    """For each n: characters of words covered by any n-gram occurring >= 2 times / all chars.

    Exact (no hashing): n-grams are rows of word ids, grouped with np.unique on the rows.
    Returns 0.0 when there are fewer than n words or no characters."""
    num = len(words)
    out: dict[int, float] = {}
    if num == 0:
        return {n: 0.0 for n in sizes}
    ids = word_ids(words)
    lengths = np.fromiter((len(w) for w in words), dtype=np.int64, count=num)
    total_chars = int(lengths.sum())
    for n in sizes:
        if num < n or total_chars == 0:
            out[n] = 0.0
            continue
        rows = np.lib.stride_tricks.sliding_window_view(ids, n)  # [num-n+1, n]
        rows = np.ascontiguousarray(rows).view(np.dtype((np.void, 4 * n))).ravel()
        _, inverse, counts = np.unique(rows, return_inverse=True, return_counts=True)
        dup_start = counts[inverse.ravel()] > 1  # [num-n+1]: n-gram starting here is duplicated
        # word i is covered if any n-gram starting in [i-n+1, i] is duplicated
        cover = np.zeros(num + 1, dtype=np.int64)
        starts = np.flatnonzero(dup_start)
        np.add.at(cover, starts, 1)
        np.add.at(cover, starts + n, -1)
        covered = np.cumsum(cover[:num]) > 0
        out[n] = float(int(lengths[covered].sum()) / total_chars)
    return out
