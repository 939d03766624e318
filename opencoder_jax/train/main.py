"""`opencoder train`: one stage of OpenCoder's training, launched from a gin file.

    opencoder train --gin_file gin_configs/train/<size>/<stage>.gin --workdir DIR
        [--data GLOB[,GLOB...] | --data name=GLOB,name=GLOB] [--steps N] [--checkpoint_every N]
        [--log_every N] [--init_from DIR] [--tokenizer DIR] [--eval_data GLOB]
        [--gin_file ...] [--gin_param ...]
        [--coordinator HOST:PORT --num_processes N --process_id I]

<size> is tiny, 1_5b or 8b; <stage> is pretrain, anneal, sft_stage1 or sft_stage2.
Re-running the same command in the same workdir resumes from its latest checkpoint.
Multi-host: give --coordinator/--num_processes/--process_id (or OPENCODER_COORDINATOR,
OPENCODER_NUM_PROCESSES, OPENCODER_PROCESS_ID; OPENCODER_DISTRIBUTED=auto on TPU/SLURM) and
run the same command on every host.
"""
from __future__ import annotations

import logging
import os
import sys

from opencoder_jax import config as config_lib


def add_arguments(parser) -> None:
    config_lib.add_gin_flags(parser)
    parser.add_argument("--workdir", required=True, help="checkpoints, metrics, config.gin, tokenizer/")
    parser.add_argument("--data", default=None,
                        help="token-shard dirs/globs (comma-separated; name=GLOB pairs for a mixture) or, for SFT, "
                             "chat .jsonl/.array_record files")
    parser.add_argument("--steps", type=int, default=None, help="total optimizer steps of this stage")
    parser.add_argument("--checkpoint_every", type=int, default=None)
    parser.add_argument("--log_every", type=int, default=None)
    parser.add_argument("--init_from", default=None,
                        help="start from a model: a training workdir / checkpoints/<step> dir or an HF directory "
                             "(parameters only; the optimizer starts fresh)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer directory (SFT needs one)")
    parser.add_argument("--eval_data", default=None, help="held-out data for eval loss (same kinds as --data)")
    parser.add_argument("--coordinator", default=None, help="jax.distributed coordinator HOST:PORT")
    parser.add_argument("--num_processes", type=int, default=None)
    parser.add_argument("--process_id", type=int, default=None)


class _GinIncludeNoise(logging.Filter):
    """gin's resource reader logs 'Path not found' (at ERROR) while it tries an include such as
    'model/tiny.gin' as a Python package path, before finding it on the gin_configs search path."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.pathname.endswith("resource_reader.py") and "Path not found" in record.getMessage())


def run(args) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addFilter(_GinIncludeNoise())
    if not args.gin_file:
        raise ValueError("--gin_file is required (e.g. train/tiny/pretrain.gin)")
    import jax

    from opencoder_jax.model.sharding import maybe_initialize_distributed

    if args.coordinator or os.environ.get("OPENCODER_COORDINATOR") or os.environ.get("OPENCODER_DISTRIBUTED"):
        maybe_initialize_distributed(args.coordinator, args.num_processes, args.process_id)
    # Import the configurables so gin knows their names before parsing.
    from opencoder_jax.data import loader, mixture, sft  # noqa: F401
    from opencoder_jax.model import config as model_config  # noqa: F401
    from opencoder_jax.train import loop, optimizer, schedules  # noqa: F401

    config_lib.parse_gin(args.gin_file, args.gin_param)
    options = loop.RunOptions(data=args.data, steps=args.steps, checkpoint_every=args.checkpoint_every,
                              log_every=args.log_every, init_from=args.init_from, tokenizer=args.tokenizer,
                              eval_data=args.eval_data)
    try:
        loop.run(args.workdir, options)
    except loop.NonFiniteLoss as e:
        print(f"opencoder: error: {e}", file=sys.stderr)
        return 3
    del jax
    return 0
