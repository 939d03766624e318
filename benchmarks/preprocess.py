"""Preprocess-stage throughput on the embedded corpus (files/s and MB/s per core).

Side by side in one run, on the same files:
  read_only    os.walk + read of every file (the I/O floor any tool pays)
  rules        read + `preprocess_file` (size, binary, UTF-8, language table) in one process
  beam         the whole `--stages preprocess` Beam pipeline on FnApiRunner (1 worker):
               sources, rules, stats, ArrayRecord shards (sink "sharded" and "per_bundle")
Per core = measured on one worker process (the Beam run uses one SDK worker).

  .venv/bin/python benchmarks/preprocess.py [--all_packages] [--append_results]
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from beam_pipelines.embedded_corpus import EmbeddedCorpusConfig, embedded_trees  # noqa: E402
from beam_pipelines.raw_sources import SKIP_DIRS, list_repositories  # noqa: E402
from opencoder_jax.refinecode.preprocess import PreprocessConfig, preprocess_file  # noqa: E402

QUICKSTART_PACKAGES = ('absl', 'gin', 'datasketch', 'optax', 'flax', 'grain', 'seqio', 'pygments',
                       'tornado', 'matplotlib', 'jinja2', 'pyarrow')


def corpus_files(config: EmbeddedCorpusConfig) -> list[tuple[str, str, str]]:
    files = []
    for tree in embedded_trees(config):
        for repo, repo_dir in list_repositories(tree.root, tree.exclude, tree.include):
            if repo == ".":
                for name in sorted(os.listdir(repo_dir)):
                    full = os.path.join(repo_dir, name)
                    if os.path.isfile(full) and not os.path.islink(full):
                        files.append(("loose", full, name))
                continue
            for dirpath, dirnames, filenames in os.walk(repo_dir):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                for name in sorted(filenames):
                    full = os.path.join(dirpath, name)
                    if not os.path.islink(full):
                        files.append((repo, full, os.path.relpath(full, repo_dir)))
    return files


def bench_read_only(files, max_read):
    start = time.perf_counter()
    total = 0
    for _, full, _ in files:
        with open(full, "rb") as f:
            total += len(f.read(max_read))
    return time.perf_counter() - start, total


def bench_rules(files, config, max_read):
    start = time.perf_counter()
    kept = 0
    for repo, full, rel in files:
        with open(full, "rb") as f:
            content = f.read(max_read)
        raw = {"repo": repo, "path": rel, "content": content, "stars": None, "commit_date": None,
               "source": "bench", "error": None}
        doc, _ = preprocess_file(raw, config)
        kept += doc is not None
    return time.perf_counter() - start, kept


def bench_beam(corpus_gin_params, sink="sharded"):
    from opencoder_jax import config as gin_config
    from beam_pipelines.refinecode_main import default_gin_files, run_refinecode  # registers the stages' gin configs

    gin_config.parse_gin([], ["RefinecodeConfig.stages = ['preprocess']", f"RefinecodeConfig.sink = '{sink}'",
                              *corpus_gin_params],
                         defaults=default_gin_files())
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        stats = run_refinecode(None, out, "FnApiRunner", ["--direct_num_workers=1"], overwrite=True,
                               report=False, quiet=True)
        return time.perf_counter() - start, stats


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--all_packages", action="store_true", help="whole site-packages, not the quickstart slice")
    parser.add_argument("--append_results", action="store_true")
    args = parser.parse_args()
    packages = None if args.all_packages else QUICKSTART_PACKAGES
    corpus = EmbeddedCorpusConfig(packages=packages)
    params = [] if args.all_packages else [f"EmbeddedCorpusConfig.packages = {list(packages)!r}"]
    config = PreprocessConfig()
    max_read = config.max_file_bytes + 1
    files = corpus_files(corpus)
    bench_read_only(files, max_read)  # warm the page cache so every row reads from memory
    t_read, nbytes = bench_read_only(files, max_read)
    t_rules, kept = bench_rules(files, config, max_read)
    t_beam, stats = bench_beam(params)
    t_bundle, _ = bench_beam(params, sink="per_bundle")
    mb = nbytes / 1e6
    rows = [("read_only (os.walk + read)", t_read), ("rules (read + preprocess_file)", t_rules),
            ("beam --stages preprocess (FnApiRunner, 1 worker), sink=sharded", t_beam),
            ("beam --stages preprocess (FnApiRunner, 1 worker), sink=per_bundle", t_bundle)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [f"corpus: {len(files):,} files, {mb:.1f} MB read ({'all site-packages' if args.all_packages else 'quickstart slice'} + stdlib); "
             f"kept {kept:,}; Beam stats input {stats['input']:,} kept {stats['kept']:,}",
             "", "| path | seconds | files/s per core | MB/s per core | vs read_only |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, t in rows:
        lines.append(f"| {name} | {t:.2f} | {len(files) / t:,.0f} | {mb / t:,.1f} | {t / t_read:.1f}x time |")
    lines.append(f"\npeak RSS of the benchmark process (all rows, one process): {peak_mb:,.0f} MB")
    report = "\n".join(lines)
    print(report)
    if args.append_results:
        header = (f"\n### preprocess, {time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()}-core, "
                  f"Python {platform.python_version()}\n\n`.venv/bin/python benchmarks/preprocess.py"
                  f"{' --all_packages' if args.all_packages else ''} --append_results`\n\n")
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
        with open(path, "a") as f:
            f.write(header + report + "\n")


if __name__ == "__main__":
    main()
