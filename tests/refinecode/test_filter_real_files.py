"""The filter on real code by others: this interpreter's standard library and C headers.

Keep rates per language must be sensible (most well-written library code kept, some
generated/boilerplate files dropped), no signal may error, and decisions are stable."""
import os
import sysconfig

import pytest

from opencoder_jax.refinecode.heuristic_filter import filter_document
from opencoder_jax.refinecode.preprocess import PreprocessConfig, preprocess_file


def _sample(root, suffixes, every, limit):
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "site-packages", "test", "tests"))
        paths.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(suffixes))
    return paths[::every][:limit]


def _documents(paths, root):
    docs = []
    for path in paths:
        with open(path, "rb") as f:
            raw = {"repo": "stdlib", "path": os.path.relpath(path, root), "content": f.read(),
                   "stars": None, "commit_date": None, "source": root, "error": None}
        doc, _ = preprocess_file(raw, PreprocessConfig())
        if doc is not None:
            docs.append(doc)
    return docs


@pytest.mark.parametrize("language,root,suffixes,every,low,high", [
    ("python", sysconfig.get_paths()["stdlib"], (".py",), 9, 0.45, 0.97),
    ("c", sysconfig.get_paths()["include"], (".h",), 1, 0.30, 0.99),
])
def test_keep_rate_on_real_files(language, root, suffixes, every, low, high):
    docs = [d for d in _documents(_sample(root, suffixes, every, 160), root) if d["language"] == language]
    assert len(docs) >= 40
    decisions = [filter_document(d) for d in docs]
    assert not [d.errors for d in decisions if d.errors]
    rate = sum(d.keep for d in decisions) / len(decisions)
    assert low <= rate <= high, f"{language}: kept {rate:.2%} of {len(docs)} files"
    again = [filter_document(d).keep for d in docs[:20]]
    assert again == [d.keep for d in decisions[:20]]
