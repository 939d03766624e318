"""HTML signals (released quality_signals/code_specific/html.py, utils/code/html_utils.py).

The released code parses with BeautifulSoup(text, 'html.parser') (bs4 4.12.3) and uses only
`soup.get_text()` and whether parsing raised. We drive the same standard-library parser
(html.parser.HTMLParser) and rebuild exactly the text bs4 would return, without building a
tree. What bs4 4.12.3 does that decides the text (all reproduced here):
  * character references are decoded by bs4, not by HTMLParser: numeric ones below 256 are
    read as windows-1252 when that byte is defined there (&#150; -> '–'), others are chr()
    or U+FFFD when out of range; an unknown named reference '&foo;' becomes '&foo' (its ';'
    is lost);
  * consecutive data is one string until the next tag/comment/declaration; a string made
    only of ASCII whitespace becomes '\\n' (if it contains one) or ' ', unless a <pre> or
    <textarea> is open;
  * get_text() keeps plain strings and CDATA, and drops comments, doctypes, declarations,
    processing instructions, and any plain string whose innermost open "string container"
    tag is script, style, template, rt or rp;
  * end tags close up to the most recent open tag of that name (ignored when none is open);
    void elements (br, img, ...) close at once, and a later explicit end tag of that name is
    swallowed once;
  * AssertionError from HTMLParser (bs4: ParserRejectedMarkup), or any other exception
    while parsing (released: bare except), means "does not parse".
"""
from __future__ import annotations

from collections import Counter
from html.entities import html5
from html.parser import HTMLParser

from opencoder_jax.refinecode.signals.specific.common import ratio

_ASCII_SPACES = frozenset("\x20\x0a\x09\x0c\x0d")
_VOID_ELEMENTS = frozenset(
    "area base br col embed hr img input keygen link menuitem meta param source track wbr "
    "basefont bgsound command frame image isindex nextid spacer".split()
)
_STRING_CONTAINERS = frozenset({"rt", "rp", "style", "script", "template"})
_PRESERVE_WHITESPACE = frozenset({"pre", "textarea"})


def _entity_table() -> dict[str, str]:
    """bs4's HTML_ENTITY_TO_CHARACTER: html5 names without ';', first in sorted order."""
    table: dict[str, str] = {}
    for name, character in sorted(html5.items()):
        key = name[:-1] if name.endswith(";") else name
        table.setdefault(key, character)
    return table


_ENTITIES = _entity_table()

# kinds of finished strings
_TEXT, _CDATA, _DROPPED = 0, 1, 2


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.pieces: list[str] = []  # current, unfinished string
        self.kept: list[str] = []  # strings get_text() returns
        self.stack: list[str] = []  # open tags, innermost last
        self.open_count: Counter = Counter()
        self.preserve: list[int] = []  # stack depths of open pre/textarea
        self.containers: list[int] = []  # stack depths of open script/style/...
        self.already_closed: list[str] = []

    # -- strings ---------------------------------------------------------------------------
    def end_data(self, kind: int = _TEXT) -> None:
        if not self.pieces:
            return
        data = "".join(self.pieces)
        self.pieces = []
        if not self.preserve and all(ch in _ASCII_SPACES for ch in data):
            data = "\n" if "\n" in data else " "
        if kind == _CDATA or (kind == _TEXT and not self.containers):
            self.kept.append(data)

    def handle_data(self, data):
        self.pieces.append(data)

    def handle_charref(self, name):
        if name.startswith("x"):
            code = int(name.lstrip("x"), 16)
        elif name.startswith("X"):
            code = int(name.lstrip("X"), 16)
        else:
            code = int(name)
        data = None
        if code < 256:
            try:
                data = bytearray([code]).decode("windows-1252")
            except UnicodeDecodeError:
                pass
        if not data:
            try:
                data = chr(code)
            except (ValueError, OverflowError):
                pass
        self.pieces.append(data or "\N{REPLACEMENT CHARACTER}")

    def handle_entityref(self, name):
        character = _ENTITIES.get(name)
        self.pieces.append(character if character is not None else "&%s" % name)

    def _special(self, data: str, kind: int) -> None:
        self.end_data()
        self.pieces.append(data)
        self.end_data(kind)

    def handle_comment(self, data):
        self._special(data, _DROPPED)

    def handle_decl(self, data):
        self._special(data, _DROPPED)

    def handle_pi(self, data):
        self._special(data, _DROPPED)

    def unknown_decl(self, data):
        if data.upper().startswith("CDATA["):
            self._special(data[len("CDATA["):], _CDATA)
        else:
            self._special(data, _DROPPED)

    # -- tags ------------------------------------------------------------------------------------
    def _push(self, name: str) -> None:
        self.stack.append(name)
        self.open_count[name] += 1
        if name in _PRESERVE_WHITESPACE:
            self.preserve.append(len(self.stack))
        if name in _STRING_CONTAINERS:
            self.containers.append(len(self.stack))

    def _pop(self) -> None:
        depth = len(self.stack)
        name = self.stack.pop()
        self.open_count[name] -= 1
        if self.preserve and self.preserve[-1] == depth:
            self.preserve.pop()
        if self.containers and self.containers[-1] == depth:
            self.containers.pop()

    def _close(self, name: str) -> None:
        self.end_data()
        while self.stack and self.open_count.get(name):
            if self.stack[-1] == name:
                self._pop()
                break
            self._pop()

    def handle_starttag(self, tag, attrs, handle_empty_element=True):
        self.end_data()
        self._push(tag)
        if handle_empty_element and tag in _VOID_ELEMENTS:
            self._close(tag)
            self.already_closed.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs, handle_empty_element=False)
        self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in self.already_closed:
            self.already_closed.remove(tag)
        else:
            self._close(tag)


class HtmlTextTree:
    """What the HTML signals need from a parsed document: bs4's get_text()."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def parse_html(text: str) -> HtmlTextTree | None:
    """The visible text as bs4 4.12.3 + html.parser computes it, or None when that raises."""
    parser = _VisibleText()
    try:
        parser.feed(text)
        parser.close()
        parser.end_data()
    except Exception:  # noqa: BLE001 - released: bare except -> "does not parse"
        return None
    return HtmlTextTree("".join(parser.kept))


def cate_ast(doc):
    return float(doc.ast is not None)


def frac_words_text(doc):
    if len(doc.raw_content) == 0:
        return None
    tree = doc.ast
    if tree is None:
        return None
    return ratio(len(tree.text), len(doc.raw_content))


def num_chars_text(doc):
    tree = doc.ast
    if tree is None:
        return None
    return float(len(tree.text))


HTML_SIGNALS = {
    "qsc_codehtml_cate_ast": cate_ast,
    "qsc_codehtml_frac_words_text": frac_words_text,
    "qsc_codehtml_num_chars_text": num_chars_text,
}
