"""`opencoder data refinecode`: validate, run the Beam graph, write stats.json and a summary."""
from __future__ import annotations

import json
import os
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from beam_pipelines import raw_sources
from beam_pipelines.embedded_corpus import EmbeddedCorpusConfig
from beam_pipelines.output_dir import prepare_output_dir
from beam_pipelines.progress import LiveProgress
from beam_pipelines.refinecode import (STAGE_ORDER, STATS_PREFIX, RefinecodeConfig, build_refinecode,
                                      parse_stages)
from beam_pipelines.stats import assemble_stats, read_stats_pairs
from opencoder_jax import config as gin_config
from opencoder_jax.refinecode.preprocess import PreprocessConfig
from opencoder_jax.units import mib

def default_gin_files() -> list[str]:
    """refinecode.gin, then every stage's defaults under gin_configs/refinecode/ (<stage>.gin;
    <stage>_<variant>.gin files such as filter_fixed.gin are opt-in presets, never defaults)."""
    stage_dir = gin_config.GIN_CONFIG_DIR / "refinecode"
    defaults = sorted(f"refinecode/{p.name}" for p in stage_dir.glob("*.gin") if "_" not in p.stem)
    return ["refinecode.gin", *defaults]
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "PrismRunner", "InteractiveRunner")
OUR_FILES = ("documents-", "stats.json", "drop_examples.jsonl", "dead_letter.jsonl", "config.gin", "report.html",
             "decontamination.json")
OUR_DIRS = ("_stats", "dedup", "_tmp")  # _tmp: a crashed run's dedup spool (streaming_dedup.py)


def add_arguments(parser) -> None:
    parser.add_argument("--input", nargs="*", default=None,
                        help="directories of repositories, *.jsonl[.gz], *.parquet (globs ok) or "
                             "documents dirs; omit for the embedded corpus (this Python installation)")
    parser.add_argument("--output", required=True, help="output directory (local or gs://...)")
    parser.add_argument("--runner", default="FnApiRunner",
                        help="Beam runner: FnApiRunner (local), DataflowRunner, FlinkRunner, SparkRunner, ...")
    parser.add_argument("--stages", default=None,
                        help=f"comma-separated subset of {','.join(STAGE_ORDER)} (in that order)")
    parser.add_argument("--num_shards", type=int, default=None, help="output document shards")
    parser.add_argument("--dedup_level", choices=("file", "repo"), default=None,
                        help="deduplicate files (default, the paper's choice) or whole repositories")
    parser.add_argument("--workers", type=int, default=None,
                        help="local runs: worker processes (default: every core, or "
                             f"${WORKERS_ENV}; 1 = in-process, N > 1 = FnApiRunner multi_processing)")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --output")
    parser.add_argument("--no_report", action="store_true", help="skip report.html")
    parser.add_argument("--progress_every", type=float, default=5.0,
                        help="seconds between progress lines on stderr (0: none)")
    gin_config.add_gin_flags(parser)


def check_output_writable(output_dir: str, overwrite: bool) -> None:
    """Fail before any work if the output is not writable or holds an earlier run."""
    prepare_output_dir(output_dir, overwrite, OUR_FILES, OUR_DIRS)


def finalize_stats(output_dir: str, stages: tuple[str, ...], extra: dict) -> dict:
    result = assemble_stats(read_stats_pairs(output_dir, STATS_PREFIX), list(stages))
    result.update(extra)
    with FileSystems.create(output_dir.rstrip("/") + "/stats.json") as f:
        f.write(json.dumps(result, indent=2, ensure_ascii=False).encode("utf-8"))
    return result


WORKERS_ENV = "OPENCODER_LOCAL_WORKERS"


def default_local_workers() -> int:
    """Every core, unless $OPENCODER_LOCAL_WORKERS says otherwise (the test suite sets 1: tiny
    inputs run faster in-process than through worker start-up)."""
    value = os.environ.get(WORKERS_ENV)
    if value:
        try:
            workers = int(value)
        except ValueError:
            raise ValueError(f"${WORKERS_ENV} must be an integer, got {value!r}") from None
        if workers < 1:
            raise ValueError(f"${WORKERS_ENV} must be at least 1, got {workers}")
        return workers
    return os.cpu_count() or 1


def local_worker_args(runner: str, workers: int, beam_args: list[str] | None) -> list[str]:
    """Beam options that run a local FnApiRunner on `workers` processes (unless set already)."""
    args = list(beam_args or [])
    if runner == "FnApiRunner" and workers > 1 and not any(a.startswith("--direct_num_workers") for a in args):
        args += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
        # the SDK worker processes inherit it: glibc's default of 8 malloc arenas per core
        # fragments under many-threaded document traffic (50k files: 1,874 -> 1,655 MB peak)
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    return args


def run_refinecode(inputs: list[str] | None, output_dir: str, runner: str = "FnApiRunner",
                   beam_args: list[str] | None = None, overwrite: bool = False,
                   report: bool = True, quiet: bool = False, progress_interval_s: float = 5.0,
                   quiet_progress: bool = False) -> dict:
    """Run the pipeline with the gin configs already parsed; returns stats.json's content.

    Unless `quiet`, a progress line goes to stderr every `progress_interval_s` seconds."""
    config = RefinecodeConfig()
    stages = parse_stages(config.stages)
    if inputs:
        raw_sources.check_inputs_exist(inputs)
        for path in inputs:
            raw_sources.classify_input(path)
    check_output_writable(output_dir, overwrite)
    warnings = empty_input_warnings(inputs or [])
    options = PipelineOptions(list(beam_args or []), runner=runner, save_main_session=False)
    start = time.time()
    p = beam.Pipeline(options=options)
    progress = None if quiet or quiet_progress else LiveProgress("refinecode", runner, progress_interval_s)
    build_refinecode(p, inputs, output_dir, config, EmbeddedCorpusConfig(), PreprocessConfig(),
                     progress=progress)
    if progress:
        progress.run(p)
    else:
        p.run().wait_until_finish()
    elapsed = time.time() - start
    gin_config.write_operative_config(output_dir)
    result = finalize_stats(output_dir, stages, {
        "runner": runner, "elapsed_s": round(elapsed, 2),
        "inputs": inputs or ["<embedded corpus: this Python installation>"],
        "outputs": {"documents": output_dir.rstrip("/") + "/documents-*.array_record",
                    "dead_letter": output_dir.rstrip("/") + "/dead_letter.jsonl",
                    "drop_examples": output_dir.rstrip("/") + "/drop_examples.jsonl"}})
    if result["input"] == 0:
        warnings.append("nothing was read: the inputs hold no files or records")
    result["warnings"] = warnings
    with FileSystems.create(output_dir.rstrip("/") + "/stats.json") as f:  # with the warnings
        f.write(json.dumps(result, indent=2, ensure_ascii=False).encode("utf-8"))
    if not result["conservation_ok"]:
        raise AssertionError(f"conservation law broken: input {result['input']} != kept {result['kept']} "
                             f"+ dropped {result['dropped_total']}")
    if report:
        try:
            from opencoder_jax.report.html_report import write_report

            result["report"] = write_report(output_dir)
        except ImportError:
            pass
    if not quiet:
        print(format_summary(result, output_dir))
    return result


def format_summary(stats: dict, output_dir: str) -> str:
    lines = [
        "",
        f"RefineCode finished in {stats.get('elapsed_s', 0):.1f}s ({stats.get('runner', '')})",
        f"  files in : {stats['input']:,}",
        f"  kept     : {stats['kept']:,} ({_pct(stats['kept'], stats['input'])})",
        f"  dropped  : {stats['dropped_total']:,}",
    ]
    for stage_row in stats["funnel"][1:]:
        lines.append(f"    after {stage_row['stage']:<12} {stage_row['documents']:>10,} docs "
                     f"{mib(stage_row['bytes']):>10.2f} MiB")
    lines.append("  top drop reasons:")
    for reason, count in list(stats["dropped"].items())[:8]:
        lines.append(f"    {reason:<40} {count:>10,}")
    lines.append("  top languages kept (MiB = 2**20 bytes, as in report.html):")
    for lang, row in list(stats["per_language"].items())[:10]:
        lines.append(f"    {lang:<20} {row['documents']:>8,} docs {mib(row['bytes']):>9.2f} MiB")
    lines.append(f"  outputs  : {output_dir.rstrip('/')}/documents-*.array_record, stats.json"
                 + (", report.html" if stats.get("report") else ""))
    lines += [f"  warning  : {w}" for w in stats.get("warnings", [])]
    return "\n".join(lines)


def empty_input_warnings(inputs: list[str]) -> list[str]:
    """One warning per input file of zero bytes (it adds nothing; usually a failed download)."""
    warnings = []
    for path in inputs:
        if raw_sources.classify_input(path) not in ("jsonl", "parquet"):
            continue
        for match in FileSystems.match([path])[0].metadata_list:
            if match.size_in_bytes == 0:
                warnings.append(f"input {match.path} is empty (0 bytes): nothing was read from it")
    return warnings


def _pct(a, b):
    return f"{100.0 * a / b:.1f}%" if b else "n/a"


def run(args, beam_args: list[str] | None = None) -> int:
    overrides = list(args.gin_param)
    if args.workers is None:
        args.workers = default_local_workers()
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.stages is not None:  # '' is an empty selection (an error), not "all stages"
        overrides.append(f"RefinecodeConfig.stages = {list(parse_stages(args.stages))!r}")
    if args.num_shards:
        overrides.append(f"RefinecodeConfig.num_shards = {args.num_shards}")
    if args.dedup_level:
        overrides += [f"ExactDedupConfig.level = '{args.dedup_level}'", f"FuzzyDedupConfig.level = '{args.dedup_level}'"]
    gin_config.parse_gin(args.gin_file, overrides, defaults=default_gin_files())
    beam_args = local_worker_args(args.runner, args.workers, beam_args)
    run_refinecode(args.input, args.output, args.runner, beam_args, args.overwrite, report=not args.no_report,
                   quiet_progress=args.progress_every <= 0, progress_interval_s=args.progress_every)
    return 0
