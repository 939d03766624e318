"""`opencoder convert`: Hugging Face Llama directories <-> Orbax model checkpoints.

  opencoder convert hf-to-orbax --hf DIR --out WORKDIR [--param_dtype bfloat16|float32] [--step 0]
  opencoder convert orbax-to-hf --checkpoint PATH --out DIR [--dtype bfloat16|float32]
                                [--max_shard_size 5GB] [--step N]

hf-to-orbax writes WORKDIR/checkpoints/<step>/ (params + model_config) and copies the
tokenizer files of the HF directory to WORKDIR/tokenizer/; orbax-to-hf writes config.json,
generation_config.json and (sharded) safetensors, and puts the tokenizer files from
WORKDIR/tokenizer/ back at the directory's root. Both stream: every header is checked before
any weight is read, then tensors are read, transformed and placed one at a time, so the model
is never held twice. Parameters keep their dtype unless asked otherwise, so HF -> Orbax -> HF
reproduces the tensors bit for bit.
"""
from __future__ import annotations

import json
import os
import time


def _nonempty(path: str) -> bool:
    return os.path.isdir(path) and bool(os.listdir(path))


def hf_to_orbax(hf: str, out: str, *, param_dtype: str | None = None, step: int = 0) -> dict:
    import jax

    from opencoder_jax.model import hf_io, orbax_io

    start = time.time()
    ckpt = hf_io.inspect_hf_checkpoint(hf, dtype="bfloat16", param_dtype=param_dtype)
    step_dir = os.path.join(out, orbax_io.CHECKPOINTS_DIR, str(step))
    if os.path.exists(step_dir):
        raise FileExistsError(f"{step_dir} already exists")
    config = ckpt.config
    _, abstract, _ = hf_io.abstract_split(config)
    hf_io.check_layout(config, abstract)
    flat = hf_io.read_hf_params(ckpt)
    for path in list(flat):  # numpy -> device arrays, one leaf at a time
        flat[path] = jax.device_put(flat.pop(path))
    orbax_io.save_params(hf_io.unflatten(flat), config, out, step)
    del flat
    copied = hf_io.copy_tokenizer_files(hf, os.path.join(out, orbax_io.TOKENIZER_DIR))
    return {"checkpoint": step_dir, "params": config.num_params(), "param_dtype": config.param_dtype,
            "tokenizer_files": copied, "seconds": round(time.time() - start, 1)}


def orbax_to_hf(checkpoint: str, out: str, *, dtype: str | None = None, step: int | None = None,
                max_shard_size: str | int = "5GB") -> dict:
    from opencoder_jax.model import hf_io, orbax_io

    start = time.time()
    hf_io.parse_size(max_shard_size)
    if dtype is not None:
        hf_io.dtype_name(dtype)
    if _nonempty(out):
        raise FileExistsError(f"{out} is not empty")
    orbax_io.resolve_checkpoint(checkpoint, step)  # a clear error before restoring anything
    tok_dir = orbax_io.tokenizer_dir(checkpoint)
    generation = None
    if tok_dir and os.path.isfile(os.path.join(tok_dir, hf_io.GENERATION_CONFIG_FILE)):
        with open(os.path.join(tok_dir, hf_io.GENERATION_CONFIG_FILE), encoding="utf-8") as f:
            generation = json.load(f)
    config, model = orbax_io.load_model(checkpoint, step=step)
    files = hf_io.save_hf_checkpoint(model, config, out, dtype, max_shard_size=max_shard_size,
                                     generation_config=generation)
    del model
    copied = hf_io.copy_tokenizer_files(tok_dir, out) if tok_dir else []
    return {"hf": out, "files": files, "params": config.num_params(), "tokenizer_files": copied,
            "seconds": round(time.time() - start, 1)}


def _command(parser) -> str:
    # One module serves both `convert` commands; argparse names each sub-parser "... convert <name>".
    return parser.prog.split()[-1]


def add_arguments(parser) -> None:
    if _command(parser) == "hf-to-orbax":
        parser.add_argument("--hf", required=True, help="local Hugging Face LlamaForCausalLM directory")
        parser.add_argument("--out", required=True, help="workdir to write (checkpoints/<step>/, tokenizer/)")
        parser.add_argument("--param_dtype", "--param-dtype", default=None, choices=("bfloat16", "float32", "float16"),
                            help="parameter dtype of the checkpoint (default: as stored in the HF files)")
        parser.add_argument("--step", type=int, default=0, help="checkpoint step to write (default 0)")
    else:
        parser.add_argument("--checkpoint", required=True,
                            help="Orbax workdir, its checkpoints/ directory, or one step directory")
        parser.add_argument("--out", required=True, help="Hugging Face directory to write (new or empty)")
        parser.add_argument("--dtype", default=None, choices=("bfloat16", "float32", "float16"),
                            help="safetensors dtype (default: the parameters' dtype)")
        parser.add_argument("--max_shard_size", "--max-shard-size", default="5GB",
                            help="largest safetensors shard, e.g. 5GB, 500MB (default 5GB)")
        parser.add_argument("--step", type=int, default=None, help="step to export (default: latest)")
    parser.set_defaults(_convert=_command(parser))


def run(args) -> int:
    if args._convert == "hf-to-orbax":
        result = hf_to_orbax(args.hf, args.out, param_dtype=args.param_dtype, step=args.step)
    else:
        result = orbax_to_hf(args.checkpoint, args.out, dtype=args.dtype, step=args.step,
                             max_shard_size=args.max_shard_size)
    print(json.dumps(result, indent=2))
    return 0
