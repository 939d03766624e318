"""`opencoder quickstart`: the main job on the embedded default corpus.

Runs the RefineCode pipeline over this Python installation's own source files (the
standard library and a few installed packages: real code in several languages by other
people) with gin_configs/quickstart.gin, then writes the report. Later stages of the
cookbook (tokenizer, token shards) run on its output when they are installed.
"""
from __future__ import annotations

import os

from opencoder_jax import config as gin_config

QUICKSTART_GIN = "quickstart.gin"


def add_arguments(parser) -> None:
    parser.add_argument("--output", default="runs/quickstart", help="output directory")
    parser.add_argument("--runner", default="FnApiRunner", help="Beam runner")
    gin_config.add_gin_flags(parser)


def run(args, beam_args: list[str] | None = None) -> int:
    from beam_pipelines.refinecode import import_stage_modules
    from beam_pipelines.refinecode_main import default_gin_files, run_refinecode

    import_stage_modules()
    gin_config.parse_gin(args.gin_file, args.gin_param, defaults=[*default_gin_files(), QUICKSTART_GIN])
    corpus_dir = os.path.join(args.output, "corpus")
    print(f"[quickstart] RefineCode on the embedded corpus -> {corpus_dir}")
    stats = run_refinecode(None, corpus_dir, args.runner, beam_args, overwrite=True)
    print(f"\n[quickstart] done: {stats['kept']:,} of {stats['input']:,} files kept; "
          f"report: {stats.get('report', 'n/a')}")
    return 0
