"""All seven RefineCode stages through the CLI on a small tree of repositories."""
import glob
import json
import os
import shutil

from beam_pipelines.array_record_io import read_array_record_file
from opencoder_jax import cli

GOOD_PY = '''# Copyright (c) 2021 Example Corp. All rights reserved.
# Licensed under the Apache License, Version 2.0.
"""Utilities for parsing configuration files."""
import os


def read_config(path):
    """Read key=value lines into a dict."""
    result = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            result[key.strip()] = value.strip()
    return result


def write_config(path, values):
    """Write a dict as key=value lines; contact admin@corp-example.net for help."""
    with open(path, "w") as handle:
        for key, value in sorted(values.items()):
            handle.write(f"{key}={value}\\n")
'''


def _tree(root):
    a = root / "tree" / "alpha"
    (a / "pkg").mkdir(parents=True)
    (a / "pkg" / "config.py").write_text(GOOD_PY)
    (a / "pkg" / "other.py").write_text(GOOD_PY.replace("read_config", "load_settings")
                                        .replace("write_config", "save_settings") + "\n\nVERSION = 3\n")
    (a / "tiny.py").write_text("x=1\n")  # filtered: too few words/lines
    shutil.copytree(a, root / "tree" / "beta")  # a copied repository
    g = root / "tree" / "gamma"
    g.mkdir()
    (g / "config.py").write_text(GOOD_PY)  # shares one file with alpha
    (g / "main.py").write_text(GOOD_PY.replace("config", "settings_store").replace("Read", "Parse"))
    return str(root / "tree")


def _docs(out):
    docs = []
    for path in sorted(glob.glob(os.path.join(out, "documents-*.array_record"))):
        docs.extend(json.loads(r) for r in read_array_record_file(path))
    return docs


def test_all_stages_file_level(tmp_path):
    tree = _tree(tmp_path)
    out = str(tmp_path / "out")
    assert cli.main(["data", "refinecode", "--input", tree, "--output", out, "--num_shards", "2"]) == 0
    stats = json.load(open(os.path.join(out, "stats.json")))
    assert [row["stage"] for row in stats["funnel"]] == [
        "input", "preprocess", "exact_dedup", "fuzzy_dedup", "transform", "filter", "decontaminate", "sample"]
    assert stats["input"] == 8 and stats["conservation_ok"]
    # beta's three files and gamma/config.py are exact copies of alpha's
    assert stats["dropped"]["exact_dedup/duplicate"] == 4
    assert any(k.startswith("filter/") for k in stats["dropped"])
    assert stats["metrics"].get("transform/fired/copyright", 0) >= 1
    docs = _docs(out)
    assert len(docs) == stats["kept"]
    for doc in docs:
        assert not doc["text"].startswith("# Copyright")
        assert "admin@corp-example.net" not in doc["text"]
    assert os.path.exists(os.path.join(out, "report.html"))


def test_repo_level_removes_the_copied_repository(tmp_path):
    tree = _tree(tmp_path)
    out = str(tmp_path / "out")
    assert cli.main(["data", "refinecode", "--input", tree, "--output", out, "--dedup_level", "repo",
                     "--stages", "preprocess,exact_dedup", "--no_report"]) == 0
    stats = json.load(open(os.path.join(out, "stats.json")))
    assert stats["dropped"] == {"exact_dedup/duplicate": 3}
    repos = sorted({d["repo"] for d in _docs(out)})
    assert len(repos) == 2 and "gamma" in repos  # one of alpha/beta, and gamma (shares one file only)
