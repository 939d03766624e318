"""Our filter vs OpenCoder's released opc_data_filtering, side by side on the same files.

    .venv/bin/python benchmarks/filter_vs_released.py --corpus mixed|embedded [--files N] \\
        --released_repo PATH --released_python PATH [--rounds 2] [--corpus_json PATH]

--released_repo: a checkout of github.com/OpenCoder-llm/opc_data_filtering (it is imported from
there, never copied into this repository). --released_python: an interpreter that has the
released code's own requirements (pygments 2.18.0, nltk, regex, jieba, zhconv 1.4.3,
esprima 4.0.1, beautifulsoup4, numpy); those are NOT dependencies of this project, so they
live in a separate virtual environment made only for this benchmark, e.g.

    python3.11 -m venv /tmp/opc_venv && /tmp/opc_venv/bin/pip install pygments==2.18.0 \\
        nltk==3.9.1 regex jieba==0.42.1 zhconv==1.4.3 esprima==4.0.1 beautifulsoup4==4.12.3 numpy

The corpus is sampled as benchmarks/filter.py samples it. The released side runs in a child
process (this file with --released_side): `ComputeCodeQualitySignal().evaluate(...)` then
`CodeFilter().evaluate(...)` per file, program language and doc type from its own
`utils/preprocessing.py`, natural language = our text_language value, `random.random` forced to
0.99. Ours: `filter.filter_document` per file, our per-rule draw forced to 0.99 too (so the
probabilistic rules compare on their conditions). Both sides first run one file of each program
language untimed (lazy imports and model loads), then time the per-file loop in process CPU
time. Rounds alternate ours / released; the best round of each counts. Decisions and signal
values are compared file by file.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

FORCED_DRAW = 0.99


def _warm_then_time(docs, lang_of, evaluate):
    """(total CPU s, {lang: CPU s}, results): one untimed file per language first."""
    seen = set()
    for doc in docs:
        if lang_of(doc) not in seen:
            seen.add(lang_of(doc))
            evaluate(doc)
    per_lang = defaultdict(float)
    results = []
    for doc in docs:
        start = time.process_time()
        out = evaluate(doc)
        per_lang[lang_of(doc)] += time.process_time() - start
        results.append(out)
    return sum(per_lang.values()), dict(per_lang), results


# -- released side (runs in the released code's own interpreter) -------------------------------
def released_side(repo: str, corpus_json: str, out_json: str) -> None:
    sys.path.insert(0, repo)
    import contextlib
    import io
    import random

    from pipeline.compute_filtering import CodeFilter
    from pipeline.compute_quality_signals import ComputeCodeQualitySignal
    from utils.preprocessing import get_doc_type, get_program_lang

    random.random = lambda: FORCED_DRAW
    docs = json.loads(Path(corpus_json).read_text())
    ccqs, code_filter = ComputeCodeQualitySignal(), CodeFilter()
    facts = {}
    for doc in docs:
        name, ext = os.path.splitext(os.path.basename(doc["path"]))
        program_lang = get_program_lang(name, ext[1:])
        facts[doc["id"]] = (name, ext[1:], program_lang, get_doc_type(program_lang))

    def evaluate(doc):
        name, ext, program_lang, doc_type = facts[doc["id"]]
        qs = json.loads(ccqs.evaluate(doc["text"], name, doc["lang"], ext, doc["size"], program_lang, doc_type))
        decision = json.loads(code_filter.evaluate(doc_type, doc["lang"], program_lang, qs.get("quality_signal")))
        return {"keep": decision["effective"] == "1", "signals": json.loads(qs.get("quality_signal") or "{}"),
                "program_lang": program_lang}

    with contextlib.redirect_stdout(io.StringIO()):  # it prints every signal error
        total, per_lang, results = _warm_then_time(docs, lambda d: facts[d["id"]][2], evaluate)
    Path(out_json).write_text(json.dumps({"seconds": total, "per_lang": per_lang, "results": results}))


# -- our side ----------------------------------------------------------------------------------
def our_side(docs):
    from opencoder_jax.refinecode import heuristic_filter as F
    from opencoder_jax.refinecode.languages import detect_language

    F.deterministic_draw = lambda *_args: FORCED_DRAW
    config = F.FilterConfig()
    tables = config.tables()
    langs = {doc["id"]: doc.get("language") or detect_language(doc["path"]).name for doc in docs}

    def evaluate(doc):
        decision = F.filter_document(dict(doc, meta={**(doc.get("meta") or {}), "text_lang": doc["lang"]}), config, tables)
        return {"keep": decision.keep, "signals": decision.signals}

    return _warm_then_time(docs, lambda d: langs[d["id"]], evaluate)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def compare(docs, ours, released) -> tuple[int, list[str], int, list[str]]:
    """(decisions equal, differing ids, files with equal signals, first signal differences)."""
    equal_decisions, differing, equal_signals, signal_diffs = 0, [], 0, []
    for doc, o, r in zip(docs, ours, released):
        if o["keep"] == r["keep"]:
            equal_decisions += 1
        else:
            differing.append(doc["path"])
        rs = json.loads(json.dumps(o["signals"]))  # ours through JSON like the released values
        bad = [k for k in set(rs) | set(r["signals"]) if not _same(rs.get(k), r["signals"].get(k))]
        if bad:
            signal_diffs.append(f"{doc['path']}: " + ", ".join(
                f"{k} ours={rs.get(k)!r} released={r['signals'].get(k)!r}" for k in sorted(bad)[:3]))
        else:
            equal_signals += 1
    return equal_decisions, differing, equal_signals, signal_diffs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", choices=("embedded", "mixed"), default="mixed")
    parser.add_argument("--files", type=int, default=0, help="default: 800 mixed, 1000 embedded")
    parser.add_argument("--released_repo", required=True)
    parser.add_argument("--released_python", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--corpus_json", default="", help="reuse/write the sampled corpus here")
    parser.add_argument("--released_side", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out_json", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.released_side:
        released_side(args.released_repo, args.corpus_json, args.out_json)
        return

    import filter as bench  # benchmarks/filter.py: the same samplers
    from opencoder_jax.refinecode.text_language import detect_text_language

    files = args.files or (800 if args.corpus == "mixed" else 1000)
    workdir = tempfile.mkdtemp(prefix="filter_vs_released_")
    corpus_json = args.corpus_json or os.path.join(workdir, "corpus.json")
    if os.path.exists(corpus_json):
        docs = json.loads(Path(corpus_json).read_text())
    else:
        docs = bench.sample_embedded(files) if args.corpus == "embedded" else bench.sample_corpus(files)
        for doc in docs:
            doc["size"] = doc["size_bytes"]
            doc["lang"] = detect_text_language(doc["text"])
        Path(corpus_json).write_text(json.dumps(docs))
    mb = sum(len(d["text"].encode("utf-8", "surrogatepass")) for d in docs) / 1e6

    ours_runs, released_runs = [], []
    for _ in range(args.rounds):
        ours_runs.append(our_side(docs))
        out_json = os.path.join(workdir, "released.json")
        subprocess.run([args.released_python, __file__, "--released_side", "--released_repo", args.released_repo,
                        "--released_python", args.released_python, "--corpus_json", corpus_json,
                        "--out_json", out_json], check=True, cwd=args.released_repo)
        r = json.loads(Path(out_json).read_text())
        released_runs.append((r["seconds"], r["per_lang"], r["results"]))
    ours = min(ours_runs, key=lambda run: run[0])
    released = min(released_runs, key=lambda run: run[0])
    equal_decisions, differing, equal_signals, signal_diffs = compare(docs, ours[2], released[2])

    print(f"corpus {args.corpus}: {len(docs)} files, {mb:.1f} MB; process CPU s per round, ours "
          f"{[round(r[0], 2) for r in ours_runs]}, released {[round(r[0], 2) for r in released_runs]}")
    print(f"best vs best: ours {ours[0]:.2f} s ({len(docs) / ours[0]:.0f} files/s, {mb / ours[0]:.2f} MB/s), released "
          f"{released[0]:.2f} s ({len(docs) / released[0]:.0f} files/s, {mb / released[0]:.2f} MB/s): "
          f"{released[0] / ours[0]:.2f}x")
    counts = defaultdict(int)
    for _doc, r in zip(docs, released[2]):
        counts[r["program_lang"]] += 1
    print("| program language | files | ours s | released s | ratio |\n| --- | ---: | ---: | ---: | ---: |")
    for lang, secs in sorted(released[1].items(), key=lambda kv: -kv[1]):
        o = ours[1].get(lang, 0.0)
        print(f"| {lang} | {counts[lang]} | {o:.2f} | {secs:.2f} | {secs / max(o, 1e-9):.1f}x |")
    print(f"decisions equal: {equal_decisions}/{len(docs)}; files with all signal values equal: {equal_signals}/{len(docs)}")
    for path in differing[:10]:
        print("  decision differs:", path)
    for line in signal_diffs[:10]:
        print("  signals differ:", line[:400])


if __name__ == "__main__":
    main()
