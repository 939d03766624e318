"""The input pipeline the trainer consumes: shuffle -> repeat -> mix -> host shard -> decode
-> pack + batch -> multiprocess prefetch.

    records (per component)      MapDataset: global shuffle (seed, reseeded each epoch), repeat
      -> mixture                 MapDataset.mix with document rates (see mixture.py)
      -> [process_index::process_count]   each host reads a disjoint slice
      -> decode / SFT tokenize   map, in read threads
      -> pack + batch            PackAndBatchIterDataset -> [B_host, L] batches
      -> mp_prefetch             `worker_count` processes, each packs its own slice

Everything before packing is index-based and so exactly resumable; packing keeps an explicit
state; mp_prefetch's state is the per-worker states. The iterator's state is saved with
Orbax next to the model (checkpoint.py). Changing `worker_count` changes which documents
share a batch (still deterministic), so keep it fixed across a resume.

Per-host batch size B_host = global_batch_size / jax.process_count().

Prefetch workers are spawned processes that re-import the main script: a script iterating a
loader with `worker_count > 0` keeps that code under `if __name__ == "__main__":` (or sets
`worker_count=0`). Batches are copied out of Grain's shared memory as they arrive, so nothing
is left to unlink (or to fail in `__del__`) at interpreter exit.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import gin
import grain
import numpy as np

from opencoder_jax.data import mixture as mixture_lib
from opencoder_jax.data import packing, sft as sft_lib
from opencoder_jax.data import token_shards


def default_worker_count() -> int:
    """Half the cores, at most 8: leaves cores for the trainer's own host work."""
    return max(1, min(8, (os.cpu_count() or 2) // 2))


@gin.configurable
@dataclasses.dataclass(frozen=True)
class LoaderConfig:
    global_batch_size: int = 8
    seq_len: int = 512
    seed: int = 0
    shuffle: bool = True
    num_epochs: int | None = None       # None: repeat forever (the trainer counts steps)
    pack_mode: str = "concat"           # "concat" for pretraining, "whole" for SFT
    worker_count: int | None = None     # None: default_worker_count(); 0: no subprocesses
    worker_buffer_size: int = 2         # batches buffered per worker
    read_threads: int = 4               # threads decoding records inside each worker
    read_prefetch: int = 256            # records read ahead by those threads
    shard_by_process: bool = True       # slice the data by jax.process_index()

    def resolved_worker_count(self) -> int:
        return default_worker_count() if self.worker_count is None else self.worker_count


def ensure_absl_flags_parsed() -> None:
    """Grain's multiprocess prefetch reads absl flags; outside an absl app nobody parsed them."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def process_index_and_count(config: LoaderConfig) -> tuple[int, int]:
    if not config.shard_by_process:
        return 0, 1
    import jax

    return jax.process_index(), jax.process_count()


def host_batch_size(config: LoaderConfig, process_count: int) -> int:
    if config.global_batch_size % process_count:
        raise ValueError(f"global_batch_size {config.global_batch_size} is not divisible by "
                         f"{process_count} processes")
    return config.global_batch_size // process_count


def _finish(records: grain.MapDataset, example_fn, config: LoaderConfig) -> grain.IterDataset:
    """host shard -> map(example_fn) -> pack + batch -> prefetch."""
    index, count = process_index_and_count(config)
    if count > 1:
        records = records[index::count]
    read_options = grain.ReadOptions(num_threads=config.read_threads, prefetch_buffer_size=config.read_prefetch)
    ds = records.map(example_fn).to_iter_dataset(read_options)
    ds = packing.pack_and_batch(ds, seq_len=config.seq_len, batch_size=host_batch_size(config, count),
                                mode=config.pack_mode)
    workers = config.resolved_worker_count()
    if workers > 0:
        ensure_absl_flags_parsed()
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers,
                                                         per_worker_buffer_size=config.worker_buffer_size))
        ds = ds.map(to_process_local_arrays)
    return ds


def to_process_local_arrays(batch: dict) -> dict:
    """Copy a prefetched batch out of Grain's shared memory into ordinary arrays.

    Worker batches arrive as `SharedMemoryArray`s whose segment is unlinked only when the
    array is garbage collected. A batch still alive at interpreter exit (a script's global)
    is collected after the `mmap` module is torn down: Grain's `__del__` then fails with
    "'NoneType' object has no attribute 'mmap'" and the segment leaks. Copying here frees
    each segment at once, while the interpreter is whole; a [B, L] copy is cheap next to a step.
    """
    return {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in batch.items()}


def pretrain_dataset(config: LoaderConfig, mixture: mixture_lib.MixtureConfig,
                     tokenizer_sha256: str | None = None) -> tuple[grain.IterDataset, dict]:
    """Packed batches from a mixture of token shards, and the mixture report.

    Every component must come from one tokenizer (`tokenizer_sha256` when given; see sources.py)."""
    all_paths = [p for spec in mixture.sources.values() for p in token_shards.list_token_shards(spec)]
    token_shards.check_shard_tokenizer(all_paths, tokenizer_sha256)
    records, report = mixture_lib.build_mixture(mixture, seed=config.seed, shuffle=config.shuffle,
                                                num_epochs=config.num_epochs)
    return _finish(records, token_shards.decode_lm_example, config), report


def token_shard_dataset(config: LoaderConfig, spec: str | Sequence[str],
                        tokenizer_sha256: str | None = None) -> grain.IterDataset:
    """Packed batches from one token-shard source (no mixture); shards of another tokenizer
    than `tokenizer_sha256` (when given) or document shards are refused (see sources.py)."""
    src = token_shards.open_token_shards(spec, tokenizer_sha256=tokenizer_sha256)
    records = mixture_lib.shuffled_repeated(grain.MapDataset.source(src), seed=mixture_lib.component_seed(config.seed, 0),
                                            shuffle=config.shuffle, num_epochs=config.num_epochs)
    return _finish(records, token_shards.decode_lm_example, config)


def sft_dataset(config: LoaderConfig, records: Sequence | grain.MapDataset, tokenizer: sft_lib.TextEncoder,
                sft_config: sft_lib.SFTConfig | None = None) -> grain.IterDataset:
    """Packed SFT batches from raw chat records (JSON lines, dicts, or an ArrayRecord source).

    Use `pack_mode="whole"` (and seq_len >= max_length) so a prompt and its answer share a row.
    `sft_config=None` builds `SFTConfig()` here, at call time, so gin bindings parsed after
    import (a stage's max_length) apply; a default built at import time would ignore them.
    """
    sft_config = sft_lib.SFTConfig() if sft_config is None else sft_config
    ds = records if isinstance(records, grain.MapDataset) else grain.MapDataset.source(records)
    ds = mixture_lib.shuffled_repeated(ds, seed=mixture_lib.component_seed(config.seed, 0),
                                       shuffle=config.shuffle, num_epochs=config.num_epochs)
    return _finish(ds, sft_lib.SFTExampleFn(tokenizer, sft_config), config)


def split_stats(batch: dict) -> tuple[dict, dict]:
    """(model arrays, per-batch counters) — the trainer logs the counters and feeds the arrays."""
    arrays = {k: v for k, v in batch.items() if not k.startswith("stats/")}
    stats = {k[len("stats/"):]: int(v) for k, v in batch.items() if k.startswith("stats/")}
    return arrays, stats
