"""`opencoder` command line: one entry point for every stage of the cookbook.

  opencoder quickstart [--output DIR]            the main job on the embedded corpus
  opencoder data refinecode --input ... --output DIR [--stages ...] [--runner ...]
  opencoder data tokenize --input DIR --vocab DIR --output DIR
  opencoder data recall --input WEB... --seeds FILE --tokenizer DIR --output DIR [--rounds 3]
  opencoder tokenizer train --input DIR... --vocab_size N --output DIR
  opencoder report DIR
  opencoder generate (--checkpoint DIR [--tokenizer DIR] | --hf DIR) (--prompt TEXT | --input F.jsonl)
  opencoder serve (--checkpoint DIR [--tokenizer DIR] | --hf DIR) [--host 127.0.0.1] [--port 8000]
  opencoder synth algorithmic|snippets|educational|package-instruct --output DIR [--input DIR...]
                 [--server URL | --checkpoint DIR [--tokenizer DIR] | --hf DIR]

Unknown `--flags` of `data` commands pass through to Beam as pipeline options (so the same
command runs on Dataflow, Flink or Spark).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# Quiet TensorFlow/absl start-up chatter before anything imports them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# (command path, module with add_arguments/run, help)
COMMANDS = (
    (("data", "refinecode"), "beam_pipelines.refinecode_main", "run the RefineCode corpus pipeline"),
    (("data", "tokenize"), "beam_pipelines.tokenize", "documents -> token-id shards"),
    (("data", "recall"), "beam_pipelines.web_recall_main", "recall code-related web pages (fastText, 3 rounds)"),
    (("tokenizer", "train"), "opencoder_jax.tokenizer.train", "train a byte-fallback BPE tokenizer"),
    (("report",), "opencoder_jax.report.cli", "write report.html for a refinecode output dir"),
    (("quickstart",), "opencoder_jax.quickstart", "the main job on the embedded default corpus"),
    (("generate",), "opencoder_jax.infer.generate", "complete prompts (text or JSONL) with a model -> JSONL"),
    (("serve",), "opencoder_jax.infer.server", "serve a model over the OpenAI HTTP API"),
    (("train",), "opencoder_jax.train.main", "train one stage (pretrain/anneal/sft) from a gin file"),
    (("convert", "hf-to-orbax"), "opencoder_jax.model.convert", "Hugging Face Llama directory -> Orbax checkpoint"),
    (("convert", "orbax-to-hf"), "opencoder_jax.model.convert", "Orbax checkpoint -> Hugging Face Llama directory"),
    (("eval",), "opencoder_jax.eval.main", "score a model on HumanEval(+) / MBPP(+) in a sandbox"),
    (("synth", "algorithmic"), "opencoder_jax.synth.main", "select the algorithmic corpus (annealing data)"),
    (("synth", "snippets"), "opencoder_jax.synth.main", "teacher-written, test-validated code snippets (annealing)"),
    (("synth", "educational"), "opencoder_jax.synth.main", "Educational-Instruct SFT chats, test-validated"),
    (("synth", "package-instruct"), "opencoder_jax.synth.main", "Package-Instruct SFT chats from installed APIs"),
)
PASSTHROUGH_GROUPS = ("data", "quickstart")


def _selected(argv: list[str]) -> tuple[str, ...] | None:
    """The command path named by argv (only its module gets imported: start-up stays fast)."""
    words = [a for a in argv if not a.startswith("-")]
    for path, _, _ in COMMANDS:
        if tuple(words[: len(path)]) == path:
            return path
    return None


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opencoder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    selected = _selected(argv)
    groups: dict[tuple[str, ...], argparse._SubParsersAction] = {}
    groups[()] = parser.add_subparsers(dest="command", required=True)
    for path, module_name, help_text in COMMANDS:
        for depth in range(1, len(path)):
            prefix = path[:depth]
            if prefix not in groups:
                sub = groups[prefix[:-1]].add_parser(prefix[-1], help=f"{prefix[-1]} commands")
                groups[prefix] = sub.add_subparsers(dest=f"cmd_{depth}", required=True)
        cmd = groups[path[:-1]].add_parser(path[-1], help=help_text)
        cmd.set_defaults(_run=None, _passthrough=path[0] in PASSTHROUGH_GROUPS, _error="")
        if path != selected:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            cmd.set_defaults(_error=f"'{' '.join(path)}' is unavailable: {e}")
            continue
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Local multi-process Beam workers relay routine start-up warnings; keep real errors.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    parser = build_parser(argv)
    args, unknown = parser.parse_known_args(argv)
    if args._run is None:
        parser.error(args._error or "command unavailable")
    if unknown and not args._passthrough:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        if args._passthrough:
            return int(args._run(args, beam_args=unknown) or 0)
        return int(args._run(args) or 0)
    except (FileNotFoundError, FileExistsError, PermissionError, ValueError) as e:
        print(f"opencoder: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
