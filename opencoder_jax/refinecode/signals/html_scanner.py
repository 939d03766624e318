"""Hand-written code/comment scanner for HTML giving EXACTLY pygments 2.18's split, or None.

Same contract as comment_scanners.py (which dispatches here). pygments.lexers.html.HtmlLexer
(2.18) yields comment-type tokens only for '<!-- ... -->' in its root state and for the
comments of the JavaScript inside <script> (lexed by JavascriptLexer on that text alone,
which js_scanner.py mirrors); CSS inside <style> yields none (CssLexer's comments are plain
Comment, i.e. code). So the scanner follows the root state rule by rule at each '<' and '&'
(the lexer's own compiled rules, in order), skips tags with one possessive regex equivalent
to the 'tag'/'attr' states' first-match tokenisation, and bails out (None) on a tag that
regex does not close (Error tokens in a tag, or a newline in 'attr', which resets the lexer)
and wherever the JavaScript scanner bails.
"""
from __future__ import annotations

import re
from typing import Optional

from pygments.lexers import HtmlLexer

from opencoder_jax.refinecode.signals.js_scanner import scan_javascript


def _rules(state: str) -> list:
    return [rexmatch.__self__ for rexmatch, _action, _new in HtmlLexer()._tokens[state]]


_ROOT = _rules("root")
_ENTITY = _ROOT[1]
_CDATA, _COMMENT, _PI, _DECL, _SCRIPT_OPEN, _STYLE_OPEN, _TAG_OPEN, _END_TAG = _ROOT[2:10]
_SCRIPT = _rules("script-content")  # close tag, up to a close tag, to a newline, to the end
_STYLE = _rules("style-content")
assert _COMMENT.pattern == "<!--.*?-->" and _SCRIPT_OPEN.pattern.endswith("(script)(\\s*)")
assert [r.pattern for r in _rules("tag")] == [r"\s+", r"([\w:-]+\s*)(=)(\s*)", r"[\w:-]+", r"(/?)(\s*)(>)"]
assert [r.pattern for r in _rules("attr")] == ['".*?"', "'.*?'", r"[^\s>]+"]
# 'tag' state tokens until '(/?)(\s*)(>)' pops: each token the first rule that matches, as the
# lexer takes them (atomic groups: no backtracking into a different tokenisation)
_TAG_REST_PATTERN = r"""(?>\s+|[\w:-]+\s*=\s*(?>"[^"]*"|'[^']*'|[^\s>]+)|[\w:-]+)*+/?\s*>"""
_TAG_REST = re.compile(_TAG_REST_PATTERN, re.IGNORECASE)
# One call for the common '<' cases, where the root rules before them cannot match: an end tag,
# or an opening tag that is not script/style (possessive name: the rule takes it whole), closed
_PLAIN_TAG = re.compile(
    r"<\s*/\s*[\w:.-]+\s*>|<\s*+(?!script|style)[\w:.-]++" + _TAG_REST_PATTERN, re.IGNORECASE
)
_EVENT = re.compile(r"[<&]")


class _Bail(Exception):
    pass


def _content(text: str, pos: int, rules, spans: Optional[list]) -> int:
    """The 'script-content' / 'style-content' state from pos -> back in root. For a script
    (spans given) the JavaScript between is scanned; its comments are added to spans."""
    close, upto, line, rest = rules
    m = close.match(text, pos)
    if m:
        return m.end()
    for rule, popped in ((upto, False), (line, True), (rest, True)):  # noqa: B007 - read after the loop
        m = rule.match(text, pos)
        if m:
            break
    else:
        return pos  # nothing left
    if spans is not None:
        sub = scan_javascript(m.group())
        if sub is None:
            raise _Bail
        spans.extend((pos + a, pos + b) for a, b in sub)
    if popped:
        return m.end()
    m2 = close.match(text, m.end())
    if m2 is None:
        raise _Bail  # cannot happen: the lookahead saw the close tag
    return m2.end()


def _scan(text: str) -> list:
    spans: list = []
    n = len(text)
    pos = 0
    while True:
        m = _EVENT.search(text, pos)
        if m is None:
            return spans
        i = m.start()
        if text[i] == "&":
            em = _ENTITY.match(text, i)
            pos = em.end() if em else i + 1
            continue
        pm = _PLAIN_TAG.match(text, i)
        if pm:
            pos = pm.end()
            continue
        for rule in (_CDATA, _COMMENT, _PI, _DECL):
            rm = rule.match(text, i)
            if rm:
                if rule is _COMMENT:
                    spans.append((i, rm.end()))
                pos = rm.end()
                break
        else:
            for rule, content in ((_SCRIPT_OPEN, _SCRIPT), (_STYLE_OPEN, _STYLE), (_TAG_OPEN, None)):
                om = rule.match(text, i)
                if om:
                    tm = _TAG_REST.match(text, om.end())
                    if tm is None:
                        raise _Bail
                    pos = tm.end()
                    if content is not None:
                        pos = _content(text, pos, content, spans if content is _SCRIPT else None)
                    break
            else:
                em = _END_TAG.match(text, i)
                pos = em.end() if em else i + 1
        if pos > n:
            raise _Bail


def scan_html(text: str) -> Optional[list]:
    """Comment spans of preprocessed HTML text (pygments HtmlLexer), or None."""
    try:
        return _scan(text)
    except _Bail:
        return None
