"""The reference for every comment scanner test: pygments' own token loop, and real files to run on."""
from __future__ import annotations

import glob
import os

from pygments.lexers import get_lexer_by_name

from opencoder_jax.refinecode.signals.comment_split import COMMENT_TOKEN_TYPES


def pygments_split(lang: str, text: str) -> tuple[str, str]:
    """(code, comments) exactly as pygments' lexer tokenizes `text`."""
    code, comments = [], []
    for t, v in get_lexer_by_name(lang).get_tokens(text):
        (comments if t in COMMENT_TOKEN_TYPES else code).append(v)
    return "".join(code), "".join(comments)


def real_files(roots, exts, limit: int, max_bytes: int) -> list[str]:
    """Up to `limit` files under `roots` with one of `exts`, smaller than `max_bytes`, in a fixed order."""
    found = []
    for root in roots:
        for ext in exts:
            found += sorted(glob.glob(os.path.join(root, "**", "*" + ext), recursive=True))
    return [p for p in found if os.path.isfile(p) and os.path.getsize(p) < max_bytes][:limit]
