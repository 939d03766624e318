"""qsc_doc_* signals on small documents, expected values computed by hand."""
import math

import pytest

from opencoder_jax.refinecode.signals import text_signals as ts
from opencoder_jax.refinecode.signals.code_document import CodeDocument, split_lines
from opencoder_jax.refinecode.signals.text_normalize import normalize_line, tokenize_words

TEXT = "Hello world.\nHello world.\n\nFoo BAR 0x1F!\n"  # 41 chars, 4 lines, 8 whitespace chars


@pytest.fixture
def doc():
    return CodeDocument(TEXT, filename="README", extension="md", program_lang="markdown", doc_type="text")


def test_lines_keep_newlines_and_no_trailing_empty_line():
    assert split_lines("a\n\nb") == ("a\n", "\n", "b")
    assert split_lines("a\n") == ("a\n",)
    assert split_lines("") == ()
    assert split_lines("a\rb\n") == ("a\rb\n",)  # only '\n' separates lines


def test_normalisation_and_words():
    assert normalize_line("  Foo, BAR!\tbaz\n") == "foo bar baz"
    assert normalize_line("【Ｈｉ】。") == "hi"  # full-width punctuation -> half -> removed; NFKC letters
    assert normalize_line("a\x00b\u200bc") == "ab c"  # control removed, zero-width space -> space
    assert tokenize_words("can't stop-now 3.5") == ["can", "'", "t", "stop", "-", "now", "3", ".", "5"]


def test_document_view(doc):
    assert len(doc) == 41
    assert doc.raw_lines == ("Hello world.\n", "Hello world.\n", "\n", "Foo BAR 0x1F!\n")
    assert doc.normalized_lines == ("hello world", "hello world", "", "foo bar 0x1f")
    assert doc.raw_words == ("Hello", "world", ".", "Hello", "world", ".", "Foo", "BAR", "0x1F", "!")
    assert doc.normalized_words == ("hello", "world", "hello", "world", "foo", "bar", "0x1f")


def test_counts(doc):
    assert ts.num_chars(doc) == 41.0
    assert ts.num_lines(doc) == 4.0
    assert ts.num_words(doc) == 7
    assert ts.num_sentences(doc) == 3.0


def test_word_statistics(doc):
    assert ts.mean_word_length(doc) == round(30 / 7, 8)
    assert ts.frac_words_unique(doc) == round(5 / 7, 8)
    expected_entropy = -(2 * (2 / 7) * math.log(2 / 7) + 3 * (1 / 7) * math.log(1 / 7))
    assert ts.entropy_unigram(doc) == round(expected_entropy, 8)
    assert ts.frac_words_all_caps(doc) == 0.1  # only 'BAR'
    assert ts.frac_words_full_bracket(doc) == 0.0


def test_line_statistics(doc):
    assert ts.frac_lines_dupe_lines(doc) == round(2 / 3, 8)
    assert ts.frac_chars_dupe_lines(doc) == round(24 / 37, 8)
    assert ts.frac_lines_end_with_readmore(doc) == 0.0
    assert ts.frac_lines_start_with_bullet(doc) == 0.0


def test_ngram_repetition(doc):
    assert ts.frac_chars_top_2grams(doc) == round(20 / 30, 8)  # ('hello','world') twice
    assert ts.frac_chars_top_3grams(doc) == 0.0
    assert ts.frac_chars_dupe_5grams(doc) == 0.0


def test_dupe_ngrams_count_overlapping_words_once():
    d = CodeDocument("a b c d e a b c d e x")
    # every 5-gram 'a b c d e' occurs twice: words 0-4 and 5-9 covered, 'x' not
    assert ts.frac_chars_dupe_5grams(d) == round(10 / 11, 8)
    assert ts.frac_chars_dupe_6grams(d) == 0.0


def test_top_ngram_ties_go_to_the_first_seen():
    d = CodeDocument("aa b aa b cccc d cccc d")
    # ("aa","b") and ("cccc","d") both occur twice; the first seen wins: 3 chars * 2 / 16 chars
    assert ts.frac_chars_top_2grams(d) == round(6 / 16, 8)


def test_character_fractions(doc):
    assert ts.frac_chars_whitespace(doc) == round(8 / 41, 8)
    assert ts.frac_chars_digital(doc) == round(2 / 33, 8)
    assert ts.frac_chars_alphabet_text(doc) == round(28 / 33, 8)
    assert ts.frac_chars_hex_words_text(doc) == round(4 / 41, 8)
    assert ts.frac_chars_replacement_symbols(doc) == 0.0
    assert ts.frac_chars_curly_bracket(doc) == 0.0
    assert ts.cate_code_related_file_name(doc) == 1.0


def test_empty_document_edge_values():
    d = CodeDocument("")
    assert ts.mean_word_length(d) is None and ts.frac_lines_dupe_lines(d) is None
    assert ts.frac_chars_digital(d) == 1.0 and ts.frac_chars_whitespace(d) == 1.0
    assert ts.frac_chars_alphabet_text(d) == 0.0 and ts.frac_chars_replacement_symbols(d) is None
    assert ts.frac_chars_top_2grams(d) == 0.0


def test_alphabet_fraction_is_undefined_for_chinese():
    assert ts.frac_chars_alphabet_text(CodeDocument("中文 text", lang="zh")) is None


def test_readmore_bullets_replacement():
    d = CodeDocument("read more...\n\u2022 item\nok\ufffd\n")
    assert ts.frac_lines_end_with_readmore(d) == round(1 / 3, 8)
    assert ts.frac_lines_start_with_bullet(d) == round(1 / 3, 8)
    assert ts.frac_chars_replacement_symbols(d) == round(1 / len(d.raw_content), 8)


def test_links_and_tags_match_the_released_regexes():
    import re

    samples = ["see (https://a.b/c) and <b>x</b>", "((http://x)) (http://y", "<a\n>", "(https://a)(https://b) <<b>"]
    for s in samples:
        want = sum(map(len, re.findall(r"\(https?://\S+\)", s))) + sum(map(len, re.findall(r"<.*?>", s)))
        assert ts.link_chars(s) + ts.html_tag_chars(s) == want, s
