"""Training checkpoints: model, optimizer, step and the Grain iterator in one Orbax step.

Layout (shared with `opencoder convert` and `model/orbax_io.py`):

    WORKDIR/checkpoints/<step>/
        params         StandardSave: pure dict of the model's nnx.Param state
        model_config   JsonSave: ModelConfig.to_dict()
        opt_state      StandardSave: the optax state (same pytree as `optimizer.init(params)`)
        data_iterator  grain CheckpointSave (one JSON state file per process)
        train_meta     JsonSave: {"step", "tokens_seen", "stage", ...}

Atomic: Orbax writes a step into a temporary directory and renames it when every item (and,
async, every process) has finished; `latest_step()` only sees finalized steps, so a crash or
SIGKILL mid-save leaves nothing that resume would pick up. `keep` bounds how many finalized
steps stay on disk (oldest deleted first).

Preemption: `PreemptionFlag` turns SIGTERM/SIGINT into a flag the loop polls at step
boundaries; the loop then saves (forced, synchronous wait) and exits cleanly. A second
signal of the same kind falls through to the default handler (a stuck run can still be
stopped).
"""
from __future__ import annotations

import logging
import os
import signal
from typing import Any

import jax
import orbax.checkpoint as ocp

from opencoder_jax.data import checkpoint as data_ckpt

log = logging.getLogger(__name__)

PARAMS, OPT_STATE, MODEL_CONFIG, TRAIN_META = "params", "opt_state", "model_config", "train_meta"
DATA_ITERATOR = data_ckpt.DATA_ITEM


def checkpoint_dir(workdir: str) -> str:
    return os.path.join(os.path.abspath(workdir), "checkpoints")


def make_manager(workdir: str, keep: int | None = 3, async_save: bool = True) -> ocp.CheckpointManager:
    """A CheckpointManager on WORKDIR/checkpoints; `keep=None` keeps every step."""
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                           enable_async_checkpointing=async_save)
    return ocp.CheckpointManager(checkpoint_dir(workdir), options=options)


def abstract_like(tree: Any) -> Any:
    """ShapeDtypeStructs (with shardings) of a pytree of arrays: a restore target."""
    def one(x):
        sharding = getattr(x, "sharding", None)
        return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
    return jax.tree.map(one, tree)


def save(manager: ocp.CheckpointManager, step: int, *, params: Any, opt_state: Any, model_config: dict,
         train_meta: dict, iterator=None, force: bool = False) -> bool:
    """Queue (async) or write one step; returns whether the manager saved."""
    items = {
        PARAMS: ocp.args.StandardSave(params),
        OPT_STATE: ocp.args.StandardSave(opt_state),
        MODEL_CONFIG: ocp.args.JsonSave(model_config),
        TRAIN_META: ocp.args.JsonSave(train_meta),
    }
    if iterator is not None:
        return data_ckpt.save(manager, step, iterator, items, force=force)
    return manager.save(step, args=ocp.args.Composite(**items), force=force)


def restore(manager: ocp.CheckpointManager, step: int | None, *, abstract_params: Any, abstract_opt_state: Any,
            iterator=None) -> dict:
    """Restore params, opt_state, train_meta (and the iterator, in place) of `step` (latest if None)."""
    items = {
        PARAMS: ocp.args.StandardRestore(abstract_params),
        OPT_STATE: ocp.args.StandardRestore(abstract_opt_state),
        TRAIN_META: ocp.args.JsonRestore(),
    }
    if iterator is not None:
        restored = data_ckpt.restore(manager, step, iterator, items)
    else:
        step = manager.latest_step() if step is None else step
        restored = manager.restore(step, args=ocp.args.Composite(**items))
    return {PARAMS: restored[PARAMS], OPT_STATE: restored[OPT_STATE], TRAIN_META: restored[TRAIN_META]}


def read_meta(manager: ocp.CheckpointManager, step: int) -> dict:
    """train_meta of a step alone (nothing else is read)."""
    return dict(manager.restore(step, args=ocp.args.Composite(**{TRAIN_META: ocp.args.JsonRestore()}))[TRAIN_META])


def has_item(manager: ocp.CheckpointManager, step: int, name: str) -> bool:
    return os.path.isdir(os.path.join(str(manager.directory), str(step), name))


class PreemptionFlag:
    """SIGTERM/SIGINT -> `self.requested = True` (the loop saves and stops at the next step)."""

    def __init__(self, signals=(signal.SIGTERM, signal.SIGINT)):
        self.requested = False
        self.signal_name = ""
        self._previous = {}
        self._signals = signals

    def _handle(self, signum, frame):
        if self.requested:  # second signal: restore the default behaviour and re-raise
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            os.kill(os.getpid(), signum)
            return
        self.requested = True
        self.signal_name = signal.Signals(signum).name
        log.warning("%s received: saving a checkpoint at the end of this step, then stopping", self.signal_name)

    def __enter__(self):
        try:
            for s in self._signals:
                self._previous[s] = signal.signal(s, self._handle)
        except ValueError:  # not the main thread: no handlers (the run can still be stopped)
            self._previous = {}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        return False
