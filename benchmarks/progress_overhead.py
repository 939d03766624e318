"""Cost of live progress: the RefineCode preprocess stage on the embedded corpus slice, with the
counting DoFns + tally files + driver poller (progress on) and without them (progress off).

Side by side in one run, alternating off/on, best of N rounds each; the ratio is the figure.
Target: progress costs under 5% of a run.

  .venv/bin/python benchmarks/progress_overhead.py [--rounds 3] [--stages preprocess,exact_dedup]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.preprocess import QUICKSTART_PACKAGES  # noqa: E402


def one_run(progress: bool, stages: list[str]) -> tuple[float, int, int]:
    from beam_pipelines.refinecode_main import default_gin_files, run_refinecode  # registers the stages' gin configs
    from opencoder_jax import config as gin_config

    gin_config.parse_gin([], [f"RefinecodeConfig.stages = {stages!r}",
                              f"EmbeddedCorpusConfig.packages = {list(QUICKSTART_PACKAGES)!r}"],
                         defaults=default_gin_files())
    err = io.StringIO()
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        stats = run_refinecode(None, out, "FnApiRunner", ["--direct_num_workers=1"], overwrite=True, report=False,
                               quiet_progress=not progress, progress_interval_s=2.0)
        seconds = time.perf_counter() - start
    lines = sum(1 for line in err.getvalue().splitlines() if line.startswith("[refinecode "))
    return seconds, stats["input"], lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stages", default="preprocess,exact_dedup")
    args = parser.parse_args()
    stages = args.stages.split(",")
    one_run(False, stages)  # warm the page cache and imports
    best = {False: float("inf"), True: float("inf")}
    for r in range(args.rounds):
        for progress in (False, True):
            seconds, files, lines = one_run(progress, stages)
            best[progress] = min(best[progress], seconds)
            print(f"round {r} progress={'on ' if progress else 'off'} {seconds:7.2f}s  {files:,} files"
                  + (f"  {lines} progress lines" if progress else ""), flush=True)
    print(f"best off {best[False]:.2f}s, best on {best[True]:.2f}s: progress on / off = {best[True] / best[False]:.3f}")


if __name__ == "__main__":
    main()
