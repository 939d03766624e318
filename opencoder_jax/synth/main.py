"""`opencoder synth`: synthetic annealing and SFT data, validated by running it.

  opencoder synth algorithmic --input CORPUS_DIR... --output DIR
  opencoder synth snippets --input ALGORITHMIC_DIR... --output DIR (--server URL | --checkpoint DIR)
  opencoder synth educational --input CORPUS_DIR... --output DIR (--server URL | --checkpoint DIR)
  opencoder synth package-instruct [--packages json numpy ...] --output DIR (--server URL | --checkpoint DIR)

The teacher is any OpenAI-compatible endpoint (`--server http://host:port`: `opencoder serve`,
vLLM, ...) or our own checkpoint loaded in this process (`--checkpoint DIR [--tokenizer DIR]`
or `--hf DIR`). Output: DIR/chats.jsonl (SFT chats) or DIR/documents.jsonl +
documents-00000-of-00001.array_record (annealing documents), DIR/state/ (processed seeds,
rejections), DIR/stats.json. Running the same command again resumes where a killed run stopped.
Decontamination (HumanEval, MBPP) runs on every kept record unless --no_decontaminate.
"""
from __future__ import annotations

import json
import os
import sys

COMMANDS = ("algorithmic", "snippets", "educational", "package-instruct")


def _command(parser) -> str:
    return parser.prog.split()[-1]  # one module serves every `synth` command


def add_arguments(parser) -> None:
    command = _command(parser)
    parser.set_defaults(_synth=command)
    if command != "package-instruct":
        parser.add_argument("--input", nargs="+", required=True,
                            help="RefineCode output dirs (documents-*.array_record), shards or JSONL documents")
    parser.add_argument("--output", required=True, help="output directory (reused to resume)")
    parser.add_argument("--max_seeds", "--max-seeds", type=int, default=None,
                        help="process the first N seeds only (already processed ones included)")
    parser.add_argument("--no_decontaminate", "--no-decontaminate", action="store_true",
                        help="keep records that match HumanEval/MBPP (default: reject them)")
    parser.add_argument("--no_progress", "--no-progress", action="store_true", help="no progress bar")
    if command == "algorithmic":
        return
    teacher = parser.add_argument_group("teacher")
    teacher.add_argument("--server", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000")
    teacher.add_argument("--checkpoint", help="our Orbax checkpoint, loaded in this process")
    teacher.add_argument("--hf", help="a Hugging Face Llama directory, loaded in this process")
    teacher.add_argument("--tokenizer", help="tokenizer dir for --checkpoint (default: the one beside it)")
    teacher.add_argument("--model", help="model id to request from --server (default: its first listed model)")
    teacher.add_argument("--api_key", "--api-key", default=os.environ.get("OPENAI_API_KEY"),
                         help="bearer token for --server (default: $OPENAI_API_KEY)")
    teacher.add_argument("--request_timeout", type=float, default=300.0, help="seconds per HTTP request")
    teacher.add_argument("--retries", type=int, default=5, help="retries per request (connection errors, 5xx, 429)")
    teacher.add_argument("--backoff", type=float, default=1.0, help="first retry delay in seconds (doubles)")
    teacher.add_argument("--concurrency", type=int, default=8, help="seeds in flight at once")
    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--max_tokens", type=int, default=1024)
    sampling.add_argument("--temperature", type=float, default=0.2)
    sampling.add_argument("--top_p", type=float, default=0.95)
    sampling.add_argument("--seed", type=int, default=0)
    checks = parser.add_argument_group("validation")
    checks.add_argument("--sandbox_timeout", type=float, default=10.0, help="seconds per sandboxed program")
    checks.add_argument("--sandbox_workers", type=int, default=None, help="parallel sandboxed programs")
    checks.add_argument("--isolation", default="auto", choices=("auto", "strict", "full", "userns", "process-group"),
                        help="sandbox isolation (see opencoder_jax/eval/sandbox.py)")
    checks.add_argument("--prompts", help="directory of prompt templates overriding ours (same file names)")
    if command in ("snippets", "educational"):
        checks.add_argument("--min_tests", type=int, default=3, help="asserts the tests must hold")
    if command == "educational":
        checks.add_argument("--scorer", default="heuristic", choices=("heuristic", "teacher"))
        checks.add_argument("--min_score", type=float, default=0.8, help="seed score threshold in [0, 1]")
    if command == "package-instruct":
        parser.add_argument("--packages", nargs="+", default=None,
                            help="installed packages / stdlib modules whose API to use (default: a few stdlib ones)")


def make_teacher(args):
    from opencoder_jax.synth.teacher import EndpointTeacher, LocalTeacher

    given = [a for a in ("server", "checkpoint", "hf") if getattr(args, a)]
    if len(given) != 1:
        raise ValueError("give exactly one teacher: --server URL, --checkpoint DIR or --hf DIR")
    if args.server:
        return EndpointTeacher(args.server, model=args.model, api_key=args.api_key, timeout=args.request_timeout,
                               retries=args.retries, backoff_s=args.backoff)
    return LocalTeacher.load(checkpoint=args.checkpoint, hf=args.hf, tokenizer=args.tokenizer)


def build(args, teacher=None, sandbox=None):
    """(generator, teacher, sandbox) for parsed arguments (teacher/sandbox may be given: tests)."""
    import dataclasses

    from opencoder_jax.synth import algorithmic, educational, execution, package_instruct, snippets
    from opencoder_jax.synth.sampling import SamplingConfig

    command = args._synth
    if command == "algorithmic":
        return algorithmic.AlgorithmicSelection(args.input), None, None
    teacher = teacher or make_teacher(args)
    sandbox = sandbox or execution.make_sandbox(args.sandbox_timeout, args.sandbox_workers, args.isolation)
    sampling = SamplingConfig(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                              seed=args.seed)
    if command == "snippets":
        cfg = dataclasses.replace(snippets.SnippetConfig(), min_tests=args.min_tests)
        gen = snippets.SnippetGenerator(args.input, teacher, sandbox, cfg, sampling, args.prompts)
    elif command == "educational":
        cfg = dataclasses.replace(educational.EducationalConfig(), min_tests=args.min_tests, scorer=args.scorer,
                                  min_score=args.min_score)
        gen = educational.EducationalGenerator(args.input, teacher, sandbox, cfg, sampling, args.prompts)
    else:
        cfg = package_instruct.PackageInstructConfig()
        if args.packages:
            cfg = dataclasses.replace(cfg, packages=tuple(args.packages))
        gen = package_instruct.PackageInstructGenerator(teacher, sandbox, cfg, sampling, args.prompts)
    return gen, teacher, sandbox


def run(args, teacher=None, sandbox=None) -> int:
    from opencoder_jax.synth import runner
    from opencoder_jax.synth.teacher import TeacherConfigError, TeacherUnavailable

    decontaminator = None
    if not args.no_decontaminate:
        from opencoder_jax.refinecode.decontam import Decontaminator

        decontaminator = Decontaminator()
    own_sandbox = sandbox is None
    generator, teacher, sandbox = build(args, teacher, sandbox)
    try:
        if hasattr(teacher, "check"):
            teacher.check()
        stats = runner.run(generator, args.output, max_seeds=args.max_seeds,
                           concurrency=getattr(args, "concurrency", 1), decontaminator=decontaminator,
                           progress=not args.no_progress, teacher=teacher)
    except (TeacherConfigError, TeacherUnavailable) as e:
        print(f"opencoder synth {args._synth}: stopped: {e} (stats in {os.path.join(args.output, runner.STATS_FILE)})",
              file=sys.stderr)
        return 1
    finally:
        if own_sandbox and sandbox is not None:
            sandbox.close()
    print(json.dumps({k: v for k, v in stats.items() if k != "config"}, indent=2))
    return 0
