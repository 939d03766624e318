"""Decontamination on real files: false positives and throughput.

Walks real trees (default: this Python's stdlib and site-packages), runs
`Decontaminator.check` on every text file (.py .pyi .c .h .js .html .md .rst .txt .json
.toml .cfg .ipynb, < 2 MB) and reports

* every file it drops (none of them holds a planted leak, so each is a false positive unless
  it really copies a benchmark item: inspect the printed n-gram / signature),
* the same count for plain 10-grams (every benchmark n-gram indexed, no distinctiveness rule),
* throughput per core (process CPU time, one process) side by side in the same run on a
  sample: the word split alone (the floor), `check` (C-level set test first), and a naive
  per-n-gram Python loop over the same index.

    nice -n 10 .venv/bin/python benchmarks/decontam.py [--roots DIR ...] [--sample 3000]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opencoder_jax.refinecode import decontam as D  # noqa: E402

EXTS = (".py", ".pyi", ".c", ".h", ".js", ".html", ".md", ".rst", ".txt", ".json", ".toml", ".cfg", ".ipynb")


def walk(roots: list[str], max_bytes: int = 2_000_000):
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in sorted(names):
                if not name.endswith(EXTS):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    if os.path.getsize(path) > max_bytes:
                        continue
                    with open(path, encoding="utf-8", errors="replace") as f:
                        yield path, f.read()
                except OSError:
                    continue


def naive_check(dec: D.Decontaminator, text: str) -> bool:
    toks = D.words(text)
    n = dec.config.ngram_words
    index = dec._ngrams  # the same index, looked up one window at a time
    return any(tuple(toks[i:i + n]) in index for i in range(len(toks) - n + 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--roots", nargs="*", default=[sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]])
    ap.add_argument("--sample", type=int, default=3000, help="files for the side-by-side timing")
    args = ap.parse_args()

    t0, c0 = time.perf_counter(), time.process_time()
    dec = D.Decontaminator()
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    plain = set()
    for item in dec.items:
        for text in item.texts:
            plain.update(D.ngrams(D.words(text), dec.config.ngram_words))
    print(f"index: {len(dec.items)} items, {dec.num_ngrams} n-grams indexed of {len(plain)} plain, "
          f"built in {build_cpu:.2f} s CPU ({build_s:.2f} s wall)")

    files = nbytes = plain_hits = 0
    dropped = []
    cpu = time.process_time()
    sample: list[str] = []
    rng = random.Random(0)
    for path, text in walk(args.roots):
        files += 1
        nbytes += len(text.encode("utf-8", "surrogatepass"))
        if len(sample) < args.sample:  # reservoir sample for the timing
            sample.append(text)
        elif rng.random() < args.sample / files:
            sample[rng.randrange(args.sample)] = text
        if not plain.isdisjoint(D.ngrams(D.words(text), dec.config.ngram_words)):
            plain_hits += 1
        hits = dec.check_all(text)
        if hits:
            dropped.append((path, hits))
    scan_cpu = time.process_time() - cpu
    print(f"scanned {files} files, {nbytes / 1e6:.0f} MB in {scan_cpu:.0f} s CPU (plain + check)")
    print(f"dropped with plain 10-grams: {plain_hits} files; by Decontaminator: {len(dropped)} files")
    for path, hits in dropped:
        print(f"  {path}: " + "; ".join(f"{h.kind} {h.benchmark} {','.join(h.task_ids[:5])}" for h in hits))

    sample_bytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in sample)
    rows = []
    for label, fn in (("word split only", D.words), ("Decontaminator.check", dec.check),
                      ("naive per-n-gram loop", lambda t: naive_check(dec, t))):
        start = time.process_time()
        for text in sample:
            fn(text)
        secs = time.process_time() - start
        rows.append((label, len(sample) / secs, sample_bytes / secs / 1e6, secs))
    print(f"\nthroughput on {len(sample)} sampled files ({sample_bytes / 1e6:.1f} MB), one core:")
    print("| path | docs/s | MB/s | vs check |")
    print("| --- | ---: | ---: | ---: |")
    check_secs = rows[1][3]
    for label, dps, mbs, secs in rows:
        print(f"| {label} | {dps:,.0f} | {mbs:.1f} | {check_secs / secs:.2f}x |")


if __name__ == "__main__":
    main()
