"""Natural language of a document ('zh' or 'en'): a deterministic stand-in for fastText.

OpenCoder's released filter labels every file with a fastText language-id model we do not
ship, and only distinguishes 'zh' from everything else ('zh' switches to jieba words,
simplified-Chinese conversion and the 'zh' text thresholds; other labels behave as 'en').
Substitute: 'zh' when Han ideographs are at least `han_fraction` of the visible
(non-whitespace) characters, else 'en'. Pure-ASCII text is 'en' without scanning.
"""
from __future__ import annotations

import re

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACE_RE = re.compile(r"\s")


def detect_text_language(text: str, han_fraction: float = 0.3) -> str:
    if text.isascii():
        return "en"
    han = len(_HAN_RE.findall(text))
    if han == 0:
        return "en"
    visible = len(text) - len(_SPACE_RE.findall(text))
    return "zh" if visible and han / visible >= han_fraction else "en"
