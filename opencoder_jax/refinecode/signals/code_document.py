"""CodeDocument: the one shared, lazily computed view of a document that every signal reads.

It mirrors the attributes of OpenCoder's released `QSCodeDocument` (opc_data_filtering,
document.py) with the same semantics, so signals ported from there give the same values.
Each attribute is computed on first use and cached (functools.cached_property), so all
signals share ONE split into lines, ONE normalisation, ONE tokenisation, ONE lexer pass.

Differences of representation (not of value): lines are plain `str` (the released code
wraps them in TextSlice objects with `.text`), and word/line sequences are tuples.

Attributes (all read-only):

  lang                 'en' or 'zh' (natural language of the document; see language_id.py).
                       Other values behave like 'en' (nltk tokenisation).
  raw_content          the text; for lang 'zh' converted to simplified Chinese (zhconv,
                       when installed, as released).
  len(doc)             len() of the ORIGINAL text in characters (before any conversion).
  filename             file name WITHOUT its extension (released: os.path.splitext(name)[0]).
  extension            extension without the dot ("py", "h", "" when none).
  file_size_in_byte    size of the file in bytes (int) or None when unknown.
  program_lang         OpenCoder program-language name ('python', 'cpp', 'c', 'csharp',
                       'go', 'html', 'java', 'javascript', 'shell', 'sql', 'json', 'markdown',
                       ..., 'unknown'); it is also the pygments lexer alias tried.
  doc_type             'code', 'data', 'text', 'unknown' or 'excluded'.
  raw_lines            tuple[str]: the text split after every '\n'; each line KEEPS its '\n'
                       (the last one may lack it); no empty trailing line; '' -> ().
                       Only '\n' separates lines ('\r' stays inside a line).
  normalized_lines     tuple[str]: text_normalize.normalize_line(l) for l in raw_lines
                       (same length as raw_lines; empty strings kept).
  normalized_content   ' '.join(normalized_lines).
  raw_words_in_line    tuple[tuple[str]]: tokenize(line) for each raw line.
  raw_words            tuple[str]: all raw words in order; num_raw_words = len(raw_words).
  normalized_words_in_line, normalized_words, num_normalized_words: the same on
                       normalized_lines. tokenize = nltk wordpunct (\\w+|[^\\w\\s]+), or jieba
                       for 'zh'.
  visible_content      raw_content with every whitespace character removed (re \\s).
  num_whitespace_chars number of re \\s characters of raw_content (= len - len(visible_content)).
  num_alpha_visible    sum(map(str.isalpha, visible_content)); num_digit_visible the same
                       with str.isdigit (ASCII texts counted with bytes.translate, same value).
  code_raw_content     the text with comments removed, and comment_raw_content the comments
                       only, from ONE pygments pass with lexer get_lexer_by_name(program_lang):
                       tokens of type Comment.Multiline, Comment.Single, String.Doc,
                       Comment.Hashbang, Comment.Special are comment, all others code
                       (Comment.Preproc, plain Comment etc. count as CODE). NOTE pygments
                       preprocesses the text first: BOM removed, '\r\n' and '\r' -> '\n',
                       leading/trailing '\n' stripped, a final '\n' added. When pygments has
                       no lexer for program_lang, a line-based split is used (released
                       get_comment_by_hand; 'perl' has its own POD/'#' split).
  code_normalized_lines    tuple[str]: lines (with '\n') of code_raw_content whose strip()
                       is non-empty. Despite the (released) name they are NOT normalised.
  comment_normalized_lines the same for comment_raw_content.
  valid_lines_len      len(code_normalized_lines).
  ast                  parsed tree for program_lang, or None when it does not parse:
                       python -> ast.parse (any exception -> None, as released); other
                       languages through AST_PARSERS (language-specific tier registers
                       'javascript', 'html', ...); None when no parser is registered.
  memo(key, factory)   cache for anything else a signal wants to share (e.g. a list of
                       function names): factory(doc) is called once per key.
"""
from __future__ import annotations

import ast as python_ast
from functools import cached_property
from itertools import chain
from typing import Any, Callable, Optional

from opencoder_jax.refinecode.signals.text_normalize import (
    normalize_lines,
    to_simplified_chinese,
    tokenize_words,
    tokenize_words_zh,
)

# program_lang -> parser(text) -> tree or None. The language-specific tier registers here.
AST_PARSERS: dict[str, Callable[[str], Any]] = {}

_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ASCII_DIGITS = b"0123456789"


def _count_chars(text: str, ascii_set: bytes, predicate) -> int:
    """sum(map(predicate, text)) where, on ASCII, predicate holds exactly for ascii_set."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data) - len(data.translate(None, ascii_set))
    return sum(map(predicate, text))


def split_lines(text: str) -> tuple[str, ...]:
    """Lines that keep their '\n' (released split_paragraphs with remove_empty=False)."""
    if not text:
        return ()
    parts = text.split("\n")
    last = parts.pop()
    lines = [p + "\n" for p in parts]
    if last:
        lines.append(last)
    return tuple(lines)


def non_blank_lines(text: str) -> tuple[str, ...]:
    """Lines (with '\n') whose strip() is non-empty (split_paragraphs, remove_empty=True)."""
    return tuple(line for line in split_lines(text) if line.strip())


def _parse_python(text: str):
    try:
        return python_ast.parse(text)
    except TimeoutError:
        raise
    except BaseException:  # noqa: BLE001 - released: any parse failure (incl. RecursionError) -> None
        return None


class CodeDocument:
    """Lazily computed, cached view of one document (see module docstring for attributes)."""

    def __init__(
        self,
        content: str,
        *,
        filename: str = "",
        extension: str = "",
        file_size_in_byte: Optional[int] = None,
        program_lang: str = "unknown",
        doc_type: str = "code",
        lang: str = "en",
    ):
        self.original_content = content
        self.lang = lang
        self.filename = filename
        self.extension = extension
        self.file_size_in_byte = file_size_in_byte
        self.program_lang = program_lang
        self.doc_type = doc_type
        self._memo: dict[str, Any] = {}

    # -- text and lines ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.original_content)

    @property
    def language(self) -> str:  # released name
        return self.lang

    @cached_property
    def raw_content(self) -> str:
        if self.lang == "zh":
            return to_simplified_chinese(self.original_content)
        return self.original_content

    @cached_property
    def raw_lines(self) -> tuple[str, ...]:
        return split_lines(self.raw_content)

    @cached_property
    def normalized_lines(self) -> tuple[str, ...]:
        return normalize_lines(self.raw_lines, self.raw_content)

    @cached_property
    def normalized_content(self) -> str:
        return " ".join(self.normalized_lines)

    @cached_property
    def visible_content(self) -> str:
        # str.split() and re's \\s both split on exactly the Py_UNICODE_ISSPACE characters
        return "".join(self.raw_content.split())

    @property
    def num_whitespace_chars(self) -> int:
        return len(self.raw_content) - len(self.visible_content)

    @cached_property
    def num_alpha_visible(self) -> int:
        return _count_chars(self.visible_content, _ASCII_LETTERS, str.isalpha)

    @cached_property
    def num_digit_visible(self) -> int:
        return _count_chars(self.visible_content, _ASCII_DIGITS, str.isdigit)

    # -- words --------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        """The document's word tokenizer (released tokenize_func)."""
        if self.lang == "zh":
            return tokenize_words_zh(text)
        return tokenize_words(text)

    @cached_property
    def raw_words_in_line(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(self.tokenize(line)) for line in self.raw_lines)

    @cached_property
    def raw_words(self) -> tuple[str, ...]:
        if self.lang == "zh":
            return tuple(chain.from_iterable(self.raw_words_in_line))
        # wordpunct tokens never contain whitespace, so one pass over the text == per line
        return tuple(tokenize_words(self.raw_content))

    @property
    def num_raw_words(self) -> int:
        return len(self.raw_words)

    @cached_property
    def normalized_words_in_line(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(self.tokenize(line)) for line in self.normalized_lines)

    @cached_property
    def normalized_words(self) -> tuple[str, ...]:
        if self.lang == "zh":
            return tuple(chain.from_iterable(self.normalized_words_in_line))
        return tuple(tokenize_words(self.normalized_content))

    @property
    def num_normalized_words(self) -> int:
        return len(self.normalized_words)

    # -- code / comment split -------------------------------------------------------------
    @cached_property
    def _code_and_comment(self) -> tuple[str, str]:
        from opencoder_jax.refinecode.signals.comment_split import split_code_and_comments

        return split_code_and_comments(self.raw_content, self.program_lang, self.raw_lines)

    @property
    def code_raw_content(self) -> str:
        return self._code_and_comment[0]

    @property
    def comment_raw_content(self) -> str:
        return self._code_and_comment[1]

    @cached_property
    def code_normalized_lines(self) -> tuple[str, ...]:
        return non_blank_lines(self.code_raw_content)

    @cached_property
    def comment_normalized_lines(self) -> tuple[str, ...]:
        return non_blank_lines(self.comment_raw_content)

    @property
    def valid_lines_len(self) -> int:
        return len(self.code_normalized_lines)

    # -- parse tree and shared extras -----------------------------------------------------------
    @cached_property
    def ast(self):
        if self.program_lang == "python":
            return _parse_python(self.raw_content)
        parser = AST_PARSERS.get(self.program_lang)
        return parser(self.raw_content) if parser is not None else None

    def memo(self, key: str, factory: Callable[["CodeDocument"], Any]) -> Any:
        """factory(self), computed once per key and shared by all signals of this document."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = factory(self)
            return value
