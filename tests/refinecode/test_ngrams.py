"""ngram_char_statistics (one pass of exact n-gram ids) against the direct definitions:
Counter over word tuples for the top n-gram, np.unique over word-id rows for duplicates."""
from hypothesis import given, settings
from hypothesis import strategies as st

from opencoder_jax.refinecode.signals.ngrams import (
    dupe_ngram_char_fractions,
    ngram_char_statistics,
    top_ngram_char_fraction,
    word_ngrams,
)

TOP = (2, 3, 4)
DUPE = (5, 6, 7, 8, 9, 10)


def _reference(words):
    total = sum(map(len, words))
    top = {n: (top_ngram_char_fraction(words, word_ngrams(words, n), total) if word_ngrams(words, n) else 0.0) for n in TOP}
    return top, dupe_ngram_char_fractions(words, DUPE)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "ccc", "a b", "dddd", "é", "x1"]), max_size=60))
def test_matches_direct_definitions_on_repetitive_sequences(words):
    assert ngram_char_statistics(words, TOP, DUPE) == _reference(words)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=4), max_size=40))
def test_matches_direct_definitions_on_arbitrary_words(words):
    assert ngram_char_statistics(words, TOP, DUPE) == _reference(words)


def test_ties_go_to_the_first_seen_ngram():
    words = "aa b aa b cccc d cccc d".split()
    top, _ = ngram_char_statistics(words, TOP, DUPE)
    assert top[2] == 3 * 2 / 16  # ("aa", "b"): 3 chars, twice


def test_overlapping_duplicates_cover_each_word_once():
    words = "a b c d e a b c d e x".split()
    _, dupe = ngram_char_statistics(words, TOP, DUPE)
    assert dupe[5] == 10 / 11 and dupe[6] == 0.0


def test_short_and_empty_sequences():
    assert ngram_char_statistics([], TOP, DUPE) == ({n: 0.0 for n in TOP}, {n: 0.0 for n in DUPE})
    assert ngram_char_statistics(["a", "a"], TOP, DUPE) == ({2: 0.0, 3: 0.0, 4: 0.0}, {n: 0.0 for n in DUPE})
