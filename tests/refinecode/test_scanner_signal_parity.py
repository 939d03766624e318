"""Filter signals and decisions through the hand-written C/C++/JS/HTML scanners vs the old path.

The old path is kept as the reference: every code/comment split through pygments' own lexer
loop (lexer.get_tokens), no scanner, no fast_lexer. Real files found on this machine (C
headers, JavaScript from site-packages, /usr/share and node's npm tree, HTML from
/usr/share/doc) must give the same
signal values and the same decision both ways.
"""
import glob
import os
import sysconfig

import pytest

from opencoder_jax.refinecode import heuristic_filter as F
from opencoder_jax.refinecode.signals import comment_split


def _pygments_loop(lexer, text, selected):
    code, comments = [], []
    for t, v in lexer.get_tokens(text):
        (comments if t in selected else code).append(v)
    return "".join(code), "".join(comments)


def _files(roots, ext, limit, max_bytes=12_000):
    found = []
    for root in roots:
        found += sorted(glob.glob(os.path.join(root, "**", "*" + ext), recursive=True))
    return [p for p in found if os.path.isfile(p) and 200 < os.path.getsize(p) < max_bytes][:limit]


def _docs():
    docs = []
    headers = _files(["/usr/include"], ".h", 6)
    docs += [(p, "c") for p in headers] + [(p, "cpp") for p in headers[:3]]
    js_roots = [sysconfig.get_paths()["purelib"], "/usr/share/javascript", "/usr/lib/node_modules"]
    docs += [(p, "javascript") for p in _files(js_roots, ".js", 6)]
    docs += [(p, "html") for p in _files(["/usr/share/doc", sysconfig.get_paths()["purelib"]], ".html", 4)]
    return docs


DOCS = _docs()


def test_the_machine_has_real_files_of_each_language():
    langs = {lang for _, lang in DOCS}
    assert {"c", "cpp"} <= langs, "no C headers found"
    assert "javascript" in langs, "no JavaScript files found (site-packages, /usr/share/javascript, npm)"
    assert "html" in langs, "no HTML files found (/usr/share/doc, site-packages)"


@pytest.mark.parametrize("path,lang", DOCS, ids=[f"{lang}:{os.path.basename(p)}" for p, lang in DOCS])
def test_signals_and_decision_equal_the_pygments_loop(path, lang, monkeypatch):
    with open(path, encoding="utf-8", errors="replace") as f:
        doc = {"id": path, "path": path, "text": f.read(), "language": lang}
    config = F.FilterConfig()
    ours = F.filter_document(dict(doc), config)
    monkeypatch.setattr(comment_split, "split_with_scanner", lambda *_args: None)
    monkeypatch.setattr(comment_split, "split_by_token_type", _pygments_loop)
    reference = F.filter_document(dict(doc), config)
    assert ours.signals == reference.signals
    assert (ours.keep, ours.fired, ours.errors) == (reference.keep, reference.fired, reference.errors)
    assert ours.signals, "no signals computed"
