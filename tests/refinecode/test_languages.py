"""Language detection against OpenCoder's released tables and lookup (opc_data_filtering).

Expected values are written by hand from the released tables (artifacts/*.py at commit
44b857e8) and the released lookup: notebook `os.path.splitext(file)`, then
utils/preprocessing.py `get_program_lang(name, ext)` / `get_doc_type`. The whole tables are
checked against the released lookup's own answers, committed in data/golden/released_lookups.json.gz
(written by scripts/build_filter_golden.py, which runs the released code).
"""
import functools
import gzip
import json
import os
import posixpath
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencoder_jax.refinecode.languages import (
    LanguageInfo,
    detect_language,
    load_table,
    split_filename_extension,
)

# path -> (language, doc_type, filename, extension)
CASES = {
    # everyday code
    "src/main.py": ("python", "code", "main", "py"),
    "Foo.java": ("java", "code", "Foo", "java"),
    "cmd/main.go": ("go", "code", "main", "go"),
    "app.ts": ("typescript", "code", "app", "ts"),
    "comp.tsx": ("tsx", "code", "comp", "tsx"),
    "src/lib.rs": ("rust", "code", "lib", "rs"),
    "x.cs": ("csharp", "code", "x", "cs"),
    "x.hpp": ("cpp", "code", "x", "hpp"),
    "x.cc": ("cpp", "code", "x", "cc"),
    "x.js": ("javascript", "code", "x", "js"),
    "index.html": ("html", "code", "index", "html"),
    "x.php": ("php", "code", "x", "php"),
    "x.cu": ("cuda", "code", "x", "cu"),
    # case-sensitive extensions: .h is C, .H / .C are C++, upper-case others unknown
    "include/foo.h": ("c", "code", "foo", "h"),
    "include/foo.H": ("cpp", "code", "foo", "H"),
    "lib/x.c": ("c", "code", "x", "c"),
    "lib/x.C": ("cpp", "code", "x", "C"),
    "script.PY": ("unknown", "unknown", "script", "PY"),
    "x.Py": ("unknown", "unknown", "x", "Py"),
    "index.HTML": ("unknown", "unknown", "index", "HTML"),
    "x.TXT": ("unknown", "unknown", "x", "TXT"),
    "x.r": ("r", "code", "x", "r"),
    "x.R": ("unknown", "unknown", "x", "R"),
    "x.s": ("motorola 68k assembly", "code", "x", "s"),
    "x.S": ("unknown", "unknown", "x", "S"),
    # linguist ambiguities resolved as the released table did
    "x.m": ("limbo", "code", "x", "m"),
    "x.v": ("coq", "code", "x", "v"),
    "x.cfg": ("haproxy", "data", "x", "cfg"),
    "x.in": ("cmake", "code", "x", "in"),
    # file names without a dot match the file-name table
    "Makefile": ("makefile", "code", "Makefile", ""),
    "sub/makefile": ("makefile", "code", "makefile", ""),
    "GNUmakefile": ("makefile", "code", "GNUmakefile", ""),
    "Dockerfile": ("dockerfile", "code", "Dockerfile", ""),
    "Rakefile": ("ruby", "code", "Rakefile", ""),
    "CODEOWNERS": ("codeowners", "data", "CODEOWNERS", ""),
    "LICENSE": ("text", "text", "LICENSE", ""),
    "README": ("unknown", "unknown", "README", ""),
    "dir.with.dots/file": ("unknown", "unknown", "file", ""),
    # ... and the name is the basename minus its extension
    "Makefile.in": ("makefile", "code", "Makefile", "in"),
    "Makefile.am": ("makefile", "code", "Makefile", "am"),
    "Gemfile.lock": ("ruby", "code", "Gemfile", "lock"),
    # dotfiles: leading dot is part of the name, no extension
    ".gitignore": ("ignore list", "data", ".gitignore", ""),
    "web/.htaccess": ("apacheconf", "data", ".htaccess", ""),
    ".bashrc": ("shell", "code", ".bashrc", ""),
    ".env": ("dotenv", "data", ".env", ""),
    ".env.local": ("dotenv", "data", ".env", "local"),
    "..foo": ("unknown", "unknown", "..foo", ""),
    # table names with an inner dot never match their own file (released behaviour)
    "a/b/CMakeLists.txt": ("text", "text", "CMakeLists", "txt"),
    "requirements.txt": ("text", "text", "requirements", "txt"),
    "go.mod": ("ampl", "code", "go", "mod"),
    "tsconfig.json": ("json", "data", "tsconfig", "json"),
    "build.xml": ("xml", "data", "build", "xml"),
    "Cargo.lock": ("json", "data", "Cargo", "lock"),
    "robots.txt": ("text", "text", "robots", "txt"),
    # ... but do match with one more suffix
    "CMakeLists.txt.in": ("cmake", "code", "CMakeLists.txt", "in"),
    # multi-dot names: only the last suffix counts
    "foo.tar.gz": ("unknown", "unknown", "foo.tar", "gz"),
    "page.html.hl": ("clojure", "code", "page.html", "hl"),
    "run.sh.in": ("cmake", "code", "run.sh", "in"),
    # no extension / odd names
    "foo.": ("unknown", "unknown", "foo", ""),
    "...": ("unknown", "unknown", "...", ""),
    "trailing/": ("unknown", "unknown", "", ""),
    "": ("unknown", "unknown", "", ""),
    "win\\path\\file.py": ("python", "code", "win\\path\\file", "py"),
    # excluded types (paper: CSV, TSV, SVG, STL, Unity3D asset, PostScript, keys, pickles,
    # checksums, subtitles, notebooks, ...)
    "data/table.csv": ("csv", "excluded", "table", "csv"),
    "data/t.tsv": ("tsv", "excluded", "t", "tsv"),
    "logo.svg": ("svg", "excluded", "logo", "svg"),
    "model.stl": ("stl", "excluded", "model", "stl"),
    "x.asset": ("unity3d asset", "excluded", "x", "asset"),
    "x.ps": ("postscript", "excluded", "x", "ps"),
    "id_rsa.pub": ("public key", "excluded", "id_rsa", "pub"),
    "x.pkl": ("pickle", "excluded", "x", "pkl"),
    "SHA256SUMS": ("checksums", "excluded", "SHA256SUMS", ""),
    "sums.md5": ("checksums", "excluded", "sums", "md5"),
    "subs.vtt": ("webvtt", "excluded", "subs", "vtt"),
    "notebook.ipynb": ("jupyter notebook", "excluded", "notebook", "ipynb"),
    "image.xpm": ("x pixmap", "excluded", "image", "xpm"),
    "mail.eml": ("e-mail", "excluded", "mail", "eml"),
    "x.gp": ("gnuplot", "excluded", "x", "gp"),
    # mixed-case list entries never match: Gerber stays data; .srt is a text type
    "board.gbr": ("gerber image", "data", "board", "gbr"),
    "subs.srt": ("srecode template", "text", "subs", "srt"),
    # data / text types
    "package.json": ("json", "data", "package", "json"),
    "x.yml": ("yaml", "data", "x", "yml"),
    "README.md": ("markdown", "text", "README", "md"),
    "x.rst": ("restructuredtext", "text", "x", "rst"),
}


@pytest.mark.parametrize("path", sorted(CASES))
def test_detect_language_matches_released_lookup(path):
    assert detect_language(path) == LanguageInfo(*CASES[path])


def test_enough_hand_written_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("path,expected", [
    ("a/b/CMakeLists.txt", ("cmake", "code", "CMakeLists.txt", "txt")),
    ("go.mod", ("go module", "data", "go.mod", "mod")),
    ("requirements.txt", ("text", "text", "requirements.txt", "txt")),
    ("main.py", ("python", "code", "main", "py")),  # no table name: unchanged
    ("Makefile", ("makefile", "code", "Makefile", "")),
])
def test_full_basename_lookup_is_linguists_intent(path, expected):
    assert detect_language(path, full_basename_lookup=True) == LanguageInfo(*expected)


def test_table_counts_equal_released_tables():
    t = load_table()
    assert len(t.extension_to_language) == 1347
    assert len(t.filename_to_language) == 369
    assert len(t.language_to_type) == 731
    assert len(t.excluded_languages) == 42
    types = list(t.language_to_type.values())
    assert (types.count("code"), types.count("data"), types.count("text")) == (541, 167, 23)
    assert t.source["repo"] == "OpenCoder-llm/opc_data_filtering"


def test_table_samples():
    t = load_table()
    # first and last entries of each released table, in order
    assert list(t.extension_to_language.items())[0] == ("c++", "cpp")
    assert list(t.extension_to_language.items())[-1] == ("prw", "xbase")
    assert list(t.filename_to_language.items())[0] == ("APKBUILD", "alpine abuild")
    assert list(t.filename_to_language.items())[-1] == ("robots.txt", "robots.txt")
    assert list(t.language_to_type.items())[0] == ("1c enterprise", "code")
    assert list(t.language_to_type.items())[-1] == ("xbase", "code")
    assert t.extension_to_language["ipynb"] == "jupyter notebook"
    assert t.filename_to_language["Containerfile"] == "dockerfile"
    assert t.language_to_type["asciidoc"] == "text"
    assert t.excluded_languages[0] == "adblock filter list"
    assert t.excluded_languages[-1] == "webvtt"


def test_every_looked_up_language_has_a_type():
    t = load_table()
    targets = set(t.extension_to_language.values()) | set(t.filename_to_language.values())
    assert len(targets) == 644
    assert targets <= set(t.language_to_type)


def test_excluded_list_effective_behaviour():
    t = load_table()
    assert "Gerber Image" in t.excluded_languages and "Checksums" in t.excluded_languages
    never = set(t.excluded_languages) - t.effective_excluded_languages
    assert never == {
        "Gerber Image", "Checksums",  # mixed case: names in the tables are lower case
        "adblock filter list", "roff manpage", "kicad legacy layout", "linux kernel module",
        "microsoft developer studio project", "subrip text",  # no extension/name maps here
    }
    assert len(t.effective_excluded_languages) == 34
    assert t.doc_type_of("gerber image") == "data"
    assert t.doc_type_of("Gerber Image") == "excluded"  # exact membership, as released
    assert t.doc_type_of("unknown") == "unknown"
    assert t.doc_type_of("no such language") == "unknown"


def test_kept_language_count_near_paper():
    # Paper: 607 language types retained. The released tables give 644 reachable languages,
    # 34 of them excluded -> 610 (the paper's count came from its own, unreleased, run).
    t = load_table()
    targets = set(t.extension_to_language.values()) | set(t.filename_to_language.values())
    assert len(targets - t.effective_excluded_languages) == 610


name_chars = st.sampled_from(list("abcXYZ019._-+ ~") + ["é", "\\"])


@settings(max_examples=300, deadline=None)
@given(dirs=st.lists(st.text(name_chars, max_size=6), max_size=3), name=st.text(name_chars, max_size=12))
def test_split_equals_stdlib_splitext_of_basename(dirs, name):
    path = "/".join([*dirs, name])
    stem, ext = posixpath.splitext(posixpath.basename(path))
    assert split_filename_extension(path) == (stem, ext[1:])
    if os.sep == "/":  # the notebook used os.path on Linux
        assert split_filename_extension(path) == (os.path.splitext(os.path.basename(path))[0],
                                                  os.path.splitext(os.path.basename(path))[1][1:])


RELEASED_LOOKUPS = Path(__file__).resolve().parent / "data" / "golden" / "released_lookups.json.gz"


@functools.lru_cache(maxsize=1)
def released_lookups() -> dict:
    """What the RELEASED lookup (utils/preprocessing.py get_program_lang / get_doc_type after
    the notebook's splitext) returned, run by scripts/build_filter_golden.py on a probe path
    for every key of its tables plus case and suffix variants (5149 paths)."""
    with gzip.open(RELEASED_LOOKUPS, "rt", encoding="utf-8") as f:
        return json.load(f)


def test_every_released_table_key_is_looked_up_as_released():
    data = released_lookups()
    assert len(data["paths"]) > 5000
    ours = {path: detect_language(path) for path in data["paths"]}
    wrong = {path: ((ours[path].name, ours[path].doc_type), tuple(expected)) for path, expected in data["paths"].items()
             if (ours[path].name, ours[path].doc_type) != tuple(expected)}
    assert not wrong, f"{len(wrong)} paths differ (ours, released), e.g. {dict(list(wrong.items())[:5])}"


def test_doc_type_of_every_language_name_is_released():
    data = released_lookups()
    table = load_table()
    wrong = {name: (table.doc_type_of(name), expected) for name, expected in data["doc_types"].items()
             if table.doc_type_of(name) != expected}
    assert not wrong
    assert list(table.excluded_languages) == data["excluded_languages"]
    assert {key: len(getattr(table, key)) for key in data["counts"]} == data["counts"]
    assert table.source["commit"].startswith(data["source"]["commit"])
