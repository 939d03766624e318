"""What the fixed filter preset keeps that the released one drops, on real packages.

Runs the corpus path on every file of each sdist: preprocess (languages, newlines) -> transform
(copyright removal, PII) -> filter, once with the released defaults (FilterConfig()) and once
with gin_configs/refinecode/filter_fixed.gin (every documented quirk corrected), side by side on
the same documents. Prints, per package, files in / kept by each preset / kept only by the fixed
one / dropped only by the fixed one, each difference attributed to the quirk whose rule or label
changed; --raw skips the transform stage (the released notebook's view of the files).

    pip download --no-deps --no-binary requests,flask,rich,SQLAlchemy requests flask rich SQLAlchemy -d /tmp/sdists
    nice .venv/bin/python benchmarks/filter_presets.py /tmp/sdists/*.tar.gz [--raw] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opencoder_jax.refinecode.heuristic_filter import file_facts, filter_document  # noqa: E402
from opencoder_jax.refinecode.filter_quirks import FIXED  # noqa: E402
from opencoder_jax.refinecode.preprocess import PreprocessConfig, preprocess_file  # noqa: E402
from opencoder_jax.refinecode.filter_config import FilterConfig  # noqa: E402
from opencoder_jax.refinecode.transforms import apply_transforms  # noqa: E402

# the rule each signal quirk acts through; label quirks show as a changed threshold table
QUIRK_OF_RULE = {
    "qsc_code_cate_autogen": "autogen_generate_anywhere",
    "qsc_codepython_frac_lines_pass": "password_counts_as_pass",
    "qsc_codego_cate_testfile": "go_test_rule_released",
}
QUIRK_OF_LABEL = {"haproxy": "setup_cfg_is_haproxy", "cmake": "requirements_in_is_cmake"}


def sdist_documents(archive: str, transform: bool):
    """Preprocessed (and transformed) documents of every file in the sdist; preprocess drops counted."""
    docs, drops = [], Counter()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            path = member.name.split("/", 1)[-1]
            raw = {"repo": Path(archive).name, "path": path, "content": tar.extractfile(member).read(),
                   "stars": None, "commit_date": None, "source": archive, "error": None}
            doc, why = preprocess_file(raw, PreprocessConfig())
            if doc is None:
                drops[why] += 1
                continue
            doc.setdefault("meta", {})["text_lang"] = "en"  # released: fastText id; these packages are English
            docs.append(apply_transforms(doc)[0] if transform else doc)
    return docs, drops


def attribute(released, fixed, released_lang: str, fixed_lang: str) -> str:
    """Which quirk changed this decision."""
    if released_lang != fixed_lang:
        return QUIRK_OF_LABEL.get(released_lang, f"label:{released_lang}")
    changed = set(released.fired) ^ set(fixed.fired)
    quirks = sorted({QUIRK_OF_RULE.get(rule, f"other:{rule}") for rule in changed})
    return "+".join(quirks) or "none"


def run(archives, transform: bool):
    released_cfg, fixed_cfg = FilterConfig(), FilterConfig(quirks=FIXED)
    rows, examples = [], []
    for archive in archives:
        docs, pre_drops = sdist_documents(archive, transform)
        row = Counter(files=len(docs) + sum(pre_drops.values()), preprocess_dropped=sum(pre_drops.values()),
                      filtered=len(docs))
        by_quirk_kept, by_quirk_dropped, relabelled = Counter(), Counter(), Counter()
        start = time.process_time()
        for doc in docs:
            r, f = filter_document(doc, released_cfg), filter_document(doc, fixed_cfg)
            row["kept_released"] += r.keep
            row["kept_fixed"] += f.keep
            r_lang, f_lang = file_facts(doc, released_cfg).program_lang, file_facts(doc, fixed_cfg).program_lang
            if r_lang != f_lang:
                relabelled[f"{r_lang}->{f_lang}"] += 1
            if r.keep != f.keep:
                quirk = attribute(r, f, r_lang, f_lang)
                (by_quirk_kept if f.keep else by_quirk_dropped)[quirk] += 1
                examples.append({"package": Path(archive).name, "path": doc["path"], "fixed_keeps": f.keep,
                                 "quirk": quirk, "released_fired": r.fired, "fixed_fired": f.fired})
        rows.append({"package": Path(archive).name.removesuffix(".tar.gz"), **row,
                     "kept_only_by_fixed": dict(by_quirk_kept), "dropped_only_by_fixed": dict(by_quirk_dropped),
                     "relabelled": dict(relabelled), "cpu_s": round(time.process_time() - start, 1)})
    return rows, examples


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archives", nargs="+", help="sdists (.tar.gz)")
    parser.add_argument("--raw", action="store_true", help="skip the transform stage (copyright/PII removal)")
    parser.add_argument("--json", help="write rows and per-file examples here")
    args = parser.parse_args(argv)
    rows, examples = run(sorted(args.archives), transform=not args.raw)
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{'raw files' if args.raw else 'preprocess -> transform -> filter'}")
    print("| package | files | to filter | kept released | kept fixed | kept only by fixed (quirk) "
          "| dropped only by fixed (quirk) | relabelled |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        fmt = lambda d: ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "-"  # noqa: E731
        print(f"| {r['package']} | {r['files']} | {r['filtered']} | {r['kept_released']} | {r['kept_fixed']} | "
              f"{fmt(r['kept_only_by_fixed'])} | {fmt(r['dropped_only_by_fixed'])} | {fmt(r['relabelled'])} |")
    for e in examples:
        print(f"  {'+kept' if e['fixed_keeps'] else '-drop'} {e['package']}:{e['path']} [{e['quirk']}] "
              f"released fired {e['released_fired']}, fixed fired {e['fixed_fired']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "examples": examples}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
