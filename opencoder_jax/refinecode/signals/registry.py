"""Signal registry: name -> function, grouped by tier, in the released evaluation order.

The order matters for parity: OpenCoder evaluates a group's signals in registration order
and an exception in one of them skips the rest of that group (see filter.compute_signals).

Tiers:
  text      qsc_doc_*   natural-language tier, for doc_type 'text'
  code      qsc_code_*  general-code tier, for doc_type 'code' and 'data'
  specific  qsc_code<lang>_*, per program_lang, provided by signals/specific (SPECIFIC_SIGNALS)
"""
from __future__ import annotations

from typing import Any, Callable

from opencoder_jax.refinecode.signals import code_signals as cs
from opencoder_jax.refinecode.signals import text_signals as ts
from opencoder_jax.refinecode.signals.code_document import CodeDocument

Signal = Callable[[CodeDocument], Any]

TEXT_SIGNALS: dict[str, Signal] = {
    "qsc_doc_frac_chars_curly_bracket": ts.frac_chars_curly_bracket,
    "qsc_doc_frac_words_redpajama_stop": ts.frac_words_redpajama_stop,
    "qsc_doc_num_sentences": ts.num_sentences,
    "qsc_doc_num_words": ts.num_words,
    "qsc_doc_num_chars": ts.num_chars,
    "qsc_doc_num_lines": ts.num_lines,
    "qsc_doc_mean_word_length": ts.mean_word_length,
    "qsc_doc_frac_words_full_bracket": ts.frac_words_full_bracket,
    "qsc_doc_frac_lines_end_with_readmore": ts.frac_lines_end_with_readmore,
    "qsc_doc_frac_lines_start_with_bullet": ts.frac_lines_start_with_bullet,
    "qsc_doc_frac_words_unique": ts.frac_words_unique,
    "qsc_doc_entropy_unigram": ts.entropy_unigram,
    "qsc_doc_frac_words_all_caps": ts.frac_words_all_caps,
    "qsc_doc_frac_lines_dupe_lines": ts.frac_lines_dupe_lines,
    "qsc_doc_frac_chars_dupe_lines": ts.frac_chars_dupe_lines,
    "qsc_doc_frac_chars_top_2grams": ts.frac_chars_top_2grams,
    "qsc_doc_frac_chars_top_3grams": ts.frac_chars_top_3grams,
    "qsc_doc_frac_chars_top_4grams": ts.frac_chars_top_4grams,
    "qsc_doc_frac_chars_dupe_5grams": ts.frac_chars_dupe_5grams,
    "qsc_doc_frac_chars_dupe_6grams": ts.frac_chars_dupe_6grams,
    "qsc_doc_frac_chars_dupe_7grams": ts.frac_chars_dupe_7grams,
    "qsc_doc_frac_chars_dupe_8grams": ts.frac_chars_dupe_8grams,
    "qsc_doc_frac_chars_dupe_9grams": ts.frac_chars_dupe_9grams,
    "qsc_doc_frac_chars_dupe_10grams": ts.frac_chars_dupe_10grams,
    "qsc_doc_frac_chars_replacement_symbols": ts.frac_chars_replacement_symbols,
    "qsc_doc_cate_code_related_file_name": ts.cate_code_related_file_name,
    "qsc_doc_num_chars_sentence_length_mean": ts.num_chars_sentence_length_mean,
    "qsc_doc_frac_chars_hyperlink_html_tag": ts.frac_chars_hyperlink_html_tag,
    "qsc_doc_frac_chars_alphabet": ts.frac_chars_alphabet_text,
    "qsc_doc_frac_chars_digital": ts.frac_chars_digital,
    "qsc_doc_frac_chars_whitespace": ts.frac_chars_whitespace,
    "qsc_doc_frac_chars_hex_words": ts.frac_chars_hex_words_text,
}

CODE_SIGNALS: dict[str, Signal] = {
    # defined with the text signals (released doc.py registers them first)
    "qsc_code_num_words": ts.num_words,
    "qsc_code_num_chars": ts.num_chars,
    "qsc_code_mean_word_length": ts.mean_word_length,
    "qsc_code_frac_words_unique": ts.frac_words_unique,
    "qsc_code_frac_chars_top_2grams": ts.frac_chars_top_2grams,
    "qsc_code_frac_chars_top_3grams": ts.frac_chars_top_3grams,
    "qsc_code_frac_chars_top_4grams": ts.frac_chars_top_4grams,
    "qsc_code_frac_chars_dupe_5grams": ts.frac_chars_dupe_5grams,
    "qsc_code_frac_chars_dupe_6grams": ts.frac_chars_dupe_6grams,
    "qsc_code_frac_chars_dupe_7grams": ts.frac_chars_dupe_7grams,
    "qsc_code_frac_chars_dupe_8grams": ts.frac_chars_dupe_8grams,
    "qsc_code_frac_chars_dupe_9grams": ts.frac_chars_dupe_9grams,
    "qsc_code_frac_chars_dupe_10grams": ts.frac_chars_dupe_10grams,
    "qsc_code_frac_chars_replacement_symbols": ts.frac_chars_replacement_symbols,
    "qsc_code_frac_chars_digital": ts.frac_chars_digital,
    "qsc_code_frac_chars_whitespace": ts.frac_chars_whitespace,
    # released code.py
    "qsc_code_size_file_byte": cs.size_file_byte,
    "qsc_code_num_lines": cs.num_lines,
    "qsc_code_num_chars_line_max": cs.num_chars_line_max,
    "qsc_code_num_chars_line_mean": cs.num_chars_line_mean,
    "qsc_code_frac_chars_alphabet": cs.frac_chars_alphabet,
    "qsc_code_frac_chars_comments": cs.frac_chars_comments,
    "qsc_code_cate_xml_start": cs.cate_xml_start,
    "qsc_code_frac_lines_dupe_lines": cs.frac_lines_dupe_lines,
    "qsc_code_cate_autogen": cs.cate_autogen,
    "qsc_code_frac_lines_long_string": cs.frac_lines_long_string,
    "qsc_code_frac_chars_string_length": cs.frac_chars_string_length,
    "qsc_code_frac_chars_long_word_length": cs.frac_chars_long_word_length,
    "qsc_code_frac_lines_string_concat": cs.frac_lines_string_concat,
    "qsc_code_cate_encoded_data": cs.cate_encoded_data,
    "qsc_code_frac_chars_hex_words": cs.frac_chars_hex_words,
    "qsc_code_frac_lines_prompt_comments": cs.frac_lines_prompt_comments,
    "qsc_code_frac_lines_assert": cs.frac_lines_assert,
}

# program_lang -> signal name prefix of the language-specific tier (released prefix2program)
SPECIFIC_PREFIXES = {
    "cpp": "qsc_codecpp_",
    "csharp": "qsc_codecsharp_",
    "c": "qsc_codec_",
    "go": "qsc_codego_",
    "html": "qsc_codehtml_",
    "java": "qsc_codejava_",
    "javascript": "qsc_codejavascript_",
    "python": "qsc_codepython_",
}

# import name -> the pip requirement that provides it (as pinned in setup.py)
SPECIFIC_REQUIREMENTS = {"esprima": "esprima==4.0.1", "regex": "regex>=2024.11.6"}

_SPECIFIC: dict[str, dict[str, Signal]] | None = None


def specific_signals() -> dict[str, dict[str, Signal]]:
    """program_lang -> {name: fn} from signals/specific.

    A package the tier needs that does not import is an ImportError here, never a skipped
    tier: without its signals the filter would silently keep more documents. FilterConfig
    calls this at construction, so a run fails at its start, not part-way.
    """
    global _SPECIFIC
    if _SPECIFIC is None:
        try:
            from opencoder_jax.refinecode.signals.specific import SPECIFIC_SIGNALS
        except ImportError as e:
            module = (e.name or "").split(".")[0]
            requirement = SPECIFIC_REQUIREMENTS.get(module, module or "<see setup.py>")
            raise ImportError(
                f"the filter's language-specific signals need the package {module!r}, which does not "
                f"import ({e}); install it with: pip install '{requirement}'", name=e.name) from e
        _SPECIFIC = {lang: dict(sigs) for lang, sigs in SPECIFIC_SIGNALS.items()}
    return _SPECIFIC


def set_specific_signals(table: dict[str, dict[str, Signal]] | None) -> None:
    """Replace the language-specific table (tests); None reloads it from signals/specific."""
    global _SPECIFIC
    _SPECIFIC = None if table is None else {lang: dict(sigs) for lang, sigs in table.items()}



def signal_groups(doc_type: str, program_lang: str) -> list[tuple[str, dict[str, Signal]]]:
    """The (tier, signals) groups computed for a document, in order (empty for other types)."""
    if doc_type == "text":
        return [("text", TEXT_SIGNALS)]
    if doc_type in ("code", "data"):
        return [("code", CODE_SIGNALS), ("specific", specific_signals().get(program_lang, {}))]
    return []
