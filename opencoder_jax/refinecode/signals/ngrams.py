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
    """Each word replaced by a small integer id (first occurrence order); int64[len(words)]."""
    index = {w: i for i, w in enumerate(dict.fromkeys(words))}
    return np.fromiter(map(index.__getitem__, words), dtype=np.int64, count=len(words))


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
        rows = np.ascontiguousarray(rows).view(np.dtype((np.void, 8 * n))).ravel()
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


def ngram_keys(ids: np.ndarray, max_n: int) -> dict[int, np.ndarray]:
    """n -> int64[len(ids)-n+1]: an id per n-gram start (equal ids <=> equal n-grams), for
    n = 1..max_n while there are at least n words. Exact, no hashing: an n-gram's id is the
    dense renumbering of the pair ((n-1)-gram id, id of its last word), which fits int64.
    Only starts whose (n-1)-gram occurs more than once can repeat, so only they are sorted;
    every other start gets an id of its own."""
    num = len(ids)
    base = int(ids.max()) + 1 if num else 1
    key = ids
    keys = {1: key}
    for n in range(2, max_n + 1):
        m = num - n + 1
        if m <= 0:
            break
        repeated = np.bincount(key)[key[:m]] > 1  # [m]: the (n-1)-gram starting here repeats
        starts = np.flatnonzero(repeated)
        if len(starts) == 0:
            key = keys[n] = np.arange(m, dtype=np.int64)
            continue
        _, inverse = np.unique(key[starts] * base + ids[starts + n - 1], return_inverse=True)
        new_key = np.empty(m, dtype=np.int64)
        new_key[starts] = inverse.ravel()
        singles = np.flatnonzero(~repeated)
        new_key[singles] = np.arange(len(starts), len(starts) + len(singles), dtype=np.int64)
        key = keys[n] = new_key
    return keys


def ngram_char_statistics(
    words: Sequence[str], top_sizes: Sequence[int], dupe_sizes: Sequence[int]
) -> tuple[dict[int, float], dict[int, float]]:
    """(top, dupe) from ONE set of n-gram ids, equal to
    top[n]  = top_ngram_char_fraction(words, word_ngrams(words, n), chars), or 0.0 when there
              are fewer than n words;
    dupe[n] = dupe_ngram_char_fractions(words, dupe_sizes)[n]."""
    num = len(words)
    top = {n: 0.0 for n in top_sizes}
    dupe = {n: 0.0 for n in dupe_sizes}
    if num == 0:
        return top, dupe
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=num)
    total_chars = int(lengths.sum())
    if total_chars == 0:
        return top, dupe
    keys = ngram_keys(word_ids(words), max((*top_sizes, *dupe_sizes)))
    for n in top_sizes:
        key = keys.get(n)
        if key is None:
            continue
        counts = np.bincount(key)
        best = int(counts.max())
        if best > 1:  # the first start holding a most frequent n-gram is its first occurrence
            first = int(np.argmax(counts[key] == best))
            top[n] = int(lengths[first:first + n].sum()) * best / total_chars
    for n in dupe_sizes:
        key = keys.get(n)
        if key is None:
            continue
        starts = np.flatnonzero(np.bincount(key)[key] > 1)  # n-grams starting here are duplicated
        cover = np.zeros(num + 1, dtype=np.int64)  # word i is covered by a start in [i-n+1, i]
        cover[starts] += 1  # starts are distinct: plain fancy-index adds are exact
        cover[starts + n] -= 1
        covered = np.cumsum(cover[:num]) > 0
        dupe[n] = float(int(lengths[covered].sum()) / total_chars)
    return top, dupe
