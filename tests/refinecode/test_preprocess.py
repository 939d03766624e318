"""Preprocess stage rules: every drop reason, the decision order, thresholds, and robustness."""
import hashlib
from dataclasses import replace
from pathlib import Path

import gin
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencoder_jax.document import from_bytes, to_bytes
from opencoder_jax.refinecode.preprocess import REASONS, PreprocessConfig, preprocess_file

CFG = PreprocessConfig()
MIB8 = 8 * 1024 * 1024


def raw(path="pkg/mod.py", content=b"print('hi')\n", **kw):
    record = {"repo": "octo/repo", "path": path, "content": content, "stars": 7,
              "commit_date": "2024-01-02T03:04:05Z", "source": "test", "error": None}
    record.update(kw)
    return record


def reason(record, config=CFG):
    doc, why = preprocess_file(record, config)
    assert (doc is None) != (why is None)
    assert why is None or why in REASONS
    return why


def test_reasons_are_the_documented_set():
    assert set(REASONS) == {"unreadable", "too_large", "empty", "binary", "undecodable",
                            "unknown_language", "excluded_type"}
    assert all(isinstance(v, str) and v for v in REASONS.values())


def test_defaults_are_paper_values():
    assert CFG.max_file_bytes == 8_388_608
    assert CFG.binary_sniff_bytes == 8192
    assert CFG.drop_unknown_language and CFG.drop_excluded_types


def test_kept_document_fields():
    content = b"def f():\r\n    return 1\r\n"
    doc, why = preprocess_file(raw(content=content), CFG)
    assert why is None
    assert doc["language"] == "python" and doc["lang_type"] == "code"
    assert doc["meta"] == {"extension": "py", "filename": "mod"}
    assert doc["text"] == "def f():\n    return 1\n"  # text mode newlines
    assert doc["sha256"] == hashlib.sha256(content).hexdigest()  # of the original bytes
    assert doc["size_bytes"] == len(content)
    assert (doc["repo"], doc["path"], doc["stars"], doc["commit_date"], doc["source"]) == (
        "octo/repo", "pkg/mod.py", 7, "2024-01-02T03:04:05Z", "test")
    assert from_bytes(to_bytes(doc)) == doc


# ---- one test per drop reason ------------------------------------------------------------

def test_unreadable():
    assert reason(raw(error="permission denied", content=None)) == "unreadable"
    assert reason(raw(error="EIO", content=b"x = 1\n")) == "unreadable"  # error wins
    assert reason(raw(content=None)) == "unreadable"
    assert reason(raw(content=12345)) == "unreadable"  # not bytes


def test_too_large_boundary_is_8_mib():
    line = b"x = 1\n"
    exact = line * (MIB8 // len(line)) + b"#" * (MIB8 % len(line))
    assert len(exact) == MIB8
    assert reason(raw(content=exact)) is None            # exactly 8 MiB is kept
    assert reason(raw(content=exact + b"\n")) == "too_large"
    # a source may stat a file and skip reading it
    assert reason(raw(content=None, size_bytes=MIB8 + 1)) == "too_large"
    assert reason(raw(content=None, size_bytes=10)) == "unreadable"


def test_too_large_checked_before_binary_and_decode():
    assert reason(raw(content=b"\x00\xff" * (MIB8 // 2 + 1))) == "too_large"


def test_empty():
    assert reason(raw(content=b"")) == "empty"
    assert reason(raw(path="data.csv", content=b"")) == "empty"  # before language checks


def test_binary_nul_in_sniff_window():
    assert reason(raw(content=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")) == "binary"
    assert reason(raw(content=b"a" * 8191 + b"\x00")) == "binary"    # last sniffed byte
    assert reason(raw(content=b"a" * 8192 + b"\x00")) is None        # beyond the window...
    assert reason(raw(content=b"a" * 8192 + b"\x00"), replace(CFG, binary_sniff_bytes=9000)) == "binary"
    assert reason(raw(content="x = 1\n".encode("utf-16"))) == "binary"  # UTF-16 has NULs


def test_undecodable():
    assert reason(raw(content=b"x = '\xff\xfe'\n")) == "undecodable"
    assert reason(raw(content="é".encode("latin-1") + b"\n")) == "undecodable"
    assert reason(raw(content=b"\xed\xa0\x80")) == "undecodable"      # encoded surrogate
    assert reason(raw(content="x = '\ud800'\n")) == "undecodable"     # str with lone surrogate
    assert reason(raw(content="x = 'é'\n")) is None                   # str input is accepted


def test_unknown_language():
    assert reason(raw(path="README", content=b"hello\n")) == "unknown_language"
    assert reason(raw(path="x.PY", content=b"x = 1\n")) == "unknown_language"
    doc, why = preprocess_file(raw(path="README", content=b"hello\n"),
                               replace(CFG, drop_unknown_language=False))
    assert why is None and (doc["language"], doc["lang_type"]) == ("unknown", "unknown")


@pytest.mark.parametrize("path", ["t.csv", "t.tsv", "a.svg", "m.stl", "x.asset", "x.ps",
                                  "id.pub", "x.pkl", "SHA256SUMS", "s.vtt", "n.ipynb"])
def test_excluded_type(path):
    assert reason(raw(path=path, content=b"a,b\n1,2\n")) == "excluded_type"


def test_excluded_type_can_be_kept():
    doc, why = preprocess_file(raw(path="t.csv", content=b"a,b\n"), replace(CFG, drop_excluded_types=False))
    assert why is None and (doc["language"], doc["lang_type"]) == ("csv", "excluded")


def test_decision_order_binary_before_language():
    # an excluded / unknown path with binary content reports the content problem first
    assert reason(raw(path="model.stl", content=b"solid\x00\x01")) == "binary"
    assert reason(raw(path="blob", content=b"\xff\xd8\xff")) == "undecodable"


# ---- text handling ----------------------------------------------------------------------

def test_bom_kept_by_default_and_strippable():
    content = b"\xef\xbb\xbfx = 1\n"
    assert preprocess_file(raw(content=content), CFG)[0]["text"] == "\ufeffx = 1\n"
    doc = preprocess_file(raw(content=content), replace(CFG, strip_utf8_bom=True))[0]
    assert doc["text"] == "x = 1\n"
    assert doc["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("content", [b"a\r\nb\rc\n", b"\r\r\n\n\r", b"\xef\xbb\xbfx\r\n", b"no newline"])
def test_text_equals_released_text_mode_read(tmp_path, content):
    # the released notebook reads files with open(path, 'r') (UTF-8 locale): same text
    f = tmp_path / "f.py"
    f.write_bytes(content)
    with open(f, "r", encoding="utf-8") as handle:
        expected = handle.read()
    assert preprocess_file(raw(content=content), CFG)[0]["text"] == expected


def test_newlines_kept_when_disabled():
    doc = preprocess_file(raw(content=b"a\r\nb\r"), replace(CFG, normalize_newlines=False))[0]
    assert doc["text"] == "a\r\nb\r"


def test_full_basename_lookup_switch():
    record = raw(path="proj/CMakeLists.txt", content=b"project(x)\n")
    assert preprocess_file(record, CFG)[0]["language"] == "text"
    doc = preprocess_file(record, replace(CFG, full_basename_lookup=True))[0]
    assert doc["language"] == "cmake" and doc["meta"]["filename"] == "CMakeLists.txt"


def test_malformed_fields_do_not_crash():
    doc, why = preprocess_file({"path": "a.py", "content": b"x\n", "stars": "n/a"}, CFG)
    assert why is None and doc["stars"] is None and doc["repo"] == "" and doc["commit_date"] is None
    assert preprocess_file({"path": None, "content": b"x\n"}, CFG) == (None, "unknown_language")
    assert preprocess_file({}, CFG) == (None, "unreadable")


def test_id_depends_on_repo_path_content_only():
    a = preprocess_file(raw(source="s1", stars=1), CFG)[0]
    b = preprocess_file(raw(source="s2", stars=None), CFG)[0]
    c = preprocess_file(raw(content=b"print('bye')\n"), CFG)[0]
    assert a["id"] == b["id"] != c["id"]


def test_gin_file_lists_every_default():
    gin_file = Path(__file__).resolve().parents[2] / "gin_configs/refinecode/preprocess.gin"
    bound = {line.split("=")[0].strip().split(".")[1] for line in gin_file.read_text().splitlines()
             if line.startswith("PreprocessConfig.")}
    fields = PreprocessConfig.__dataclass_fields__
    assert bound == set(fields)
    gin.clear_config()
    try:
        gin.parse_config_file(str(gin_file))
        assert PreprocessConfig() == PreprocessConfig(
            max_file_bytes=8388608, binary_sniff_bytes=8192, drop_unknown_language=True,
            drop_excluded_types=True, strip_utf8_bom=False, normalize_newlines=True,
            full_basename_lookup=False)
        # the gin file restates the dataclass defaults (no silent divergence)
        assert all(getattr(PreprocessConfig(), n) == f.default for n, f in fields.items())
    finally:
        gin.clear_config()


@settings(max_examples=300, deadline=None)
@given(content=st.binary(max_size=600), path=st.sampled_from(["a.py", "x.csv", "README", "b.H", ".htaccess"]),
       sniff=st.integers(min_value=0, max_value=700), limit=st.integers(min_value=0, max_value=700))
def test_never_raises_on_random_bytes(content, path, sniff, limit):
    config = replace(CFG, binary_sniff_bytes=sniff, max_file_bytes=limit)
    doc, why = preprocess_file(raw(path=path, content=content), config)
    assert (doc is None) != (why is None)
    if doc is not None:
        assert doc["text"].encode("utf-8")  # kept text is valid UTF-8
        assert b"\x00" not in content[:sniff] and len(content) <= limit
        assert from_bytes(to_bytes(doc)) == doc
