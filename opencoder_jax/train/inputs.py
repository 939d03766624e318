"""What a training run reads: its data (train + held-out eval) and its tokenizer.

Data, by stage:
  pretrain / anneal   token shards (`beam_pipelines/tokenize.py` output). `--data` is a
                      comma-separated list of directories/globs (one source, their union), or of
                      `name=GLOB` pairs (a mixture whose weights come from gin's
                      `MixtureConfig.weights`). Without `--data`: `TrainConfig.data`, else the
                      gin `MixtureConfig.sources` (the stage file's mixture).
  sft_stage1/2        chat records: JSON lines files (`{"messages": [...]}` or OpenCoder's
                      `{"instruction", "output"}` rows) or ArrayRecord files of such JSON.

Held-out eval split: `TrainConfig.eval_data` (same kinds as above) when given; otherwise the
LAST `eval_holdout_records` records of a single source (or of the SFT records) are taken out
of training and used for eval. A mixture without `eval_data` has no eval split (logged).

Tokenizer (SFT needs one to tokenize chats; pretraining only carries it along), first found:
  1. `TrainConfig.tokenizer_dir` (gin) / `--tokenizer DIR`
  2. WORKDIR/tokenizer/ (copied there by an earlier run of this workdir)
  3. the `--init_from` model's tokenizer (its workdir's tokenizer/ or the HF directory)
  4. pretraining only: the tokenizer named in the token shards' stats.json (`vocabulary.dir`)
It is copied into WORKDIR/tokenizer/ so the checkpoint is self-contained for sampling.
"""
from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import shutil
from typing import Any, Sequence

from opencoder_jax.names import check_names

log = logging.getLogger(__name__)

SFT_STAGES = ("sft_stage1", "sft_stage2")
PRETRAIN_STAGES = ("pretrain", "anneal")
STAGES = PRETRAIN_STAGES + SFT_STAGES
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "tokenizer.json")


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Parsed `--data`: one source (list of globs) or a mixture {name: glob}."""

    globs: tuple[str, ...] = ()
    mixture: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.globs and not self.mixture


def parse_data_flag(text: str | None) -> DataSpec:
    if not text:
        return DataSpec()
    items = [s.strip() for s in text.split(",") if s.strip()]
    named = [s for s in items if "=" in s]
    if named and len(named) != len(items):
        raise ValueError(f"--data mixes name=GLOB and plain globs: {text!r}")
    if named:
        pairs = tuple((n.strip(), g.strip()) for n, g in (s.split("=", 1) for s in named))
        return DataSpec(mixture=pairs)
    return DataSpec(globs=tuple(items))


def expand(globs: Sequence[str]) -> list[str]:
    """Directories stay directories (the token-shard reader lists them); patterns are expanded."""
    out = []
    for g in globs:
        if os.path.isdir(g) or os.path.isfile(g):
            out.append(g)
        else:
            out.extend(sorted(glob.glob(g)))
    return out


def check_exists(globs: Sequence[str], what: str) -> list[str]:
    paths = expand(globs)
    if not paths:
        raise FileNotFoundError(f"no {what} match {list(globs)!r}")
    return paths


# ------------------------------------------------------------------ pretraining data
def pretrain_datasets(spec: DataSpec, loader_config, *, eval_data: str | None, eval_holdout: int,
                      tokenizer_dir: str | None = None):
    """(train IterDataset, eval IterDataset | None, report dict). Raises before any compile.

    Token shards (train and eval) made by another tokenizer than `tokenizer_dir` (their
    tokens.json says which) are refused: the model would learn the wrong ids."""
    import grain

    from opencoder_jax.data import loader, mixture as mixture_lib, token_shards

    expected = None
    if tokenizer_dir:
        from opencoder_jax.tokenizer.fingerprint import tokenizer_sha256

        expected = tokenizer_sha256(tokenizer_dir)

    # Shuffled with the fixed loader seed: the same eval batches every time, drawn from the whole
    # held-out set rather than its first (often few, long) documents.
    eval_cfg = dataclasses.replace(loader_config, shuffle=True, num_epochs=1, worker_count=0)
    report: dict[str, Any] = {}
    if spec.mixture or (spec.empty and mixture_lib.MixtureConfig().sources):
        base = mixture_lib.MixtureConfig()
        sources_map = dict(spec.mixture) if spec.mixture else dict(base.sources)
        check_names("mixture component", sources_map, base.weights, where="--data")
        weights = {k: w for k, w in base.weights.items() if k in sources_map}
        for name, g in sources_map.items():
            check_exists([g], f"token shards for mixture component {name!r}")
        mix = dataclasses.replace(base, weights=weights, sources=sources_map)
        train, report = loader.pretrain_dataset(loader_config, mix, tokenizer_sha256=expected)
        report["data"] = {"mixture": sources_map}
        eval_ds = None
        if eval_data:
            eval_ds = loader.token_shard_dataset(eval_cfg, check_exists(eval_data.split(","), "eval token shards"),
                                                 tokenizer_sha256=expected)
        elif eval_holdout:
            log.warning("a mixture has no held-out split: set TrainConfig.eval_data for eval loss")
        return train, eval_ds, report
    if spec.empty:
        raise FileNotFoundError("no training data: pass --data GLOB[,GLOB...] (token shards) or bind "
                                "MixtureConfig.sources / TrainConfig.data in gin")
    paths = check_exists(spec.globs, "token shards")
    src = token_shards.open_token_shards(paths, tokenizer_sha256=expected)
    n = len(src)
    if n == 0:
        raise FileNotFoundError(f"token shards {list(spec.globs)} hold no readable records")
    report["data"] = {"globs": list(spec.globs), "records": n, "shards": len(src.report.readable),
                      "unreadable_shards": [list(u) for u in src.report.unreadable]}
    eval_ds = None
    if eval_data:
        eval_ds = loader.token_shard_dataset(eval_cfg, check_exists(eval_data.split(","), "eval token shards"),
                                             tokenizer_sha256=expected)
        train = loader.token_shard_dataset(loader_config, paths, tokenizer_sha256=expected)
    elif eval_holdout:
        if eval_holdout >= n:
            raise ValueError(f"eval_holdout_records {eval_holdout} leaves no training records of {n}")
        records = grain.MapDataset.source(src)
        train_records = mixture_lib.shuffled_repeated(
            records[: n - eval_holdout], seed=mixture_lib.component_seed(loader_config.seed, 0),
            shuffle=loader_config.shuffle, num_epochs=loader_config.num_epochs)
        train = loader._finish(train_records, token_shards.decode_lm_example, loader_config)
        eval_ds = loader._finish(records[n - eval_holdout:], token_shards.decode_lm_example, eval_cfg)
        report["data"]["eval_holdout_records"] = eval_holdout
    else:
        train = loader.token_shard_dataset(loader_config, paths, tokenizer_sha256=expected)
    return train, eval_ds, report


# ------------------------------------------------------------------ SFT data
def load_chat_records(globs: Sequence[str]) -> list:
    """JSON lines (.jsonl/.json) -> list of raw lines; ArrayRecord files -> their raw records."""
    from opencoder_jax.data import sft as sft_lib

    paths = check_exists(globs, "SFT chat files")
    files = []
    for p in paths:
        files.extend(sorted(glob.glob(os.path.join(p, "*"))) if os.path.isdir(p) else [p])
    jsonl = [p for p in files if p.endswith((".jsonl", ".json"))]
    arrays = [p for p in files if p.endswith(".array_record") or "array_record" in os.path.basename(p)]
    records: list = list(sft_lib.load_sft_records(jsonl)) if jsonl else []
    if arrays:
        from array_record.python.array_record_module import ArrayRecordReader

        for p in arrays:
            reader = ArrayRecordReader(p)
            try:
                records.extend(reader.read_all())
            finally:
                reader.close()
    if not records:
        raise FileNotFoundError(f"SFT data {list(globs)} holds no records (.jsonl/.json lines or .array_record)")
    return records


def sft_datasets(spec: DataSpec, loader_config, tokenizer, *, eval_data: str | None, eval_holdout: int):
    from opencoder_jax.data import loader

    if spec.mixture:
        raise ValueError("SFT data is a list of chat files, not name=GLOB pairs")
    if spec.empty:
        raise FileNotFoundError("no SFT data: pass --data FILE.jsonl[,...] (chat JSON lines) or bind TrainConfig.data")
    records = load_chat_records(spec.globs)
    # Shuffled with the fixed loader seed: the same eval batches every time, drawn from the whole
    # held-out set rather than its first (often few, long) documents.
    eval_cfg = dataclasses.replace(loader_config, shuffle=True, num_epochs=1, worker_count=0)
    eval_ds = None
    if eval_data:
        eval_ds = loader.sft_dataset(eval_cfg, load_chat_records(eval_data.split(",")), tokenizer)
    elif eval_holdout:
        if eval_holdout >= len(records):
            raise ValueError(f"eval_holdout_records {eval_holdout} leaves no training chats of {len(records)}")
        eval_ds = loader.sft_dataset(eval_cfg, records[-eval_holdout:], tokenizer)
        records = records[:-eval_holdout]
    train = loader.sft_dataset(loader_config, records, tokenizer)
    return train, eval_ds, {"data": {"files": list(spec.globs), "chats": len(records)}}


# ------------------------------------------------------------------ tokenizer
def is_tokenizer_dir(path: str | None) -> bool:
    return bool(path) and os.path.isdir(path) and any(os.path.isfile(os.path.join(path, f)) for f in TOKENIZER_FILES)


def stats_tokenizer(globs: Sequence[str]) -> str | None:
    """The tokenizer dir a tokenization job recorded in its stats.json, when it still exists."""
    for g in globs:
        d = g if os.path.isdir(g) else os.path.dirname(g)
        stats = os.path.join(d, "stats.json")
        if os.path.isfile(stats):
            try:
                vocab_dir = json.load(open(stats)).get("vocabulary", {}).get("dir")
            except (OSError, ValueError):
                continue
            if is_tokenizer_dir(vocab_dir):
                return vocab_dir
    return None


def init_from_tokenizer(init_from: str | None) -> str | None:
    if not init_from:
        return None
    if is_tokenizer_dir(init_from):
        return init_from
    try:
        from opencoder_jax.model.orbax_io import tokenizer_dir

        return tokenizer_dir(init_from)
    except (FileNotFoundError, ValueError):
        return None


def resolve_tokenizer(workdir: str, configured: str | None, init_from: str | None, data_globs: Sequence[str]) -> str | None:
    """The tokenizer directory by the order in the module docstring (None when none found)."""
    if configured:
        if not is_tokenizer_dir(configured):
            raise FileNotFoundError(f"tokenizer directory {configured!r} holds none of {TOKENIZER_FILES}")
        return configured
    own = os.path.join(workdir, "tokenizer")
    for candidate in (own, init_from_tokenizer(init_from), stats_tokenizer(data_globs)):
        if is_tokenizer_dir(candidate):
            return candidate
    return None


def copy_tokenizer(src: str | None, workdir: str) -> str | None:
    """Copy `src` to WORKDIR/tokenizer/ (once; an existing copy is kept)."""
    if not src:
        return None
    dst = os.path.join(workdir, "tokenizer")
    if os.path.abspath(src) == os.path.abspath(dst) or os.path.isdir(dst):
        return dst
    tmp = dst + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    os.replace(tmp, dst)
    return dst
