"""Save and restore the data iterator with Orbax, in the same checkpoint as the model.

Grain registers `grain.checkpoint.CheckpointSave` / `CheckpointRestore` as Orbax checkpoint
args (handler: `grain.checkpoint.CheckpointHandler`, one JSON state file per process), so the
iterator is just one more item of an `ocp.args.Composite`:

    manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(train_state), **iterator_save_args(it)))
    manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), **iterator_restore_args(it)))

Save after the step that consumed the iterator's last batch: the restored iterator then
yields exactly the batch the uninterrupted run would have fed next.
"""
from __future__ import annotations

from typing import Any

import grain
import orbax.checkpoint as ocp

DATA_ITEM = "data_iterator"


def iterator_save_args(iterator: grain.DatasetIterator, name: str = DATA_ITEM) -> dict[str, Any]:
    return {name: grain.checkpoint.CheckpointSave(iterator)}


def iterator_restore_args(iterator: grain.DatasetIterator, name: str = DATA_ITEM) -> dict[str, Any]:
    """Restores into `iterator` (a fresh iterator of the same pipeline) in place."""
    return {name: grain.checkpoint.CheckpointRestore(iterator)}


def save(manager: ocp.CheckpointManager, step: int, iterator: grain.DatasetIterator,
         items: dict[str, Any] | None = None, *, force: bool = False) -> bool:
    """Save `items` (name -> ocp.args.*Save) together with the iterator's state at `step`."""
    args = ocp.args.Composite(**(items or {}), **iterator_save_args(iterator))
    return manager.save(step, args=args, force=force)


def restore(manager: ocp.CheckpointManager, step: int | None, iterator: grain.DatasetIterator,
            items: dict[str, Any] | None = None) -> Any:
    """Restore `items` (name -> ocp.args.*Restore) and set `iterator`'s state; latest step if None."""
    step = manager.latest_step() if step is None else step
    if step is None:
        raise FileNotFoundError(f"no checkpoint in {manager.directory}")
    args = ocp.args.Composite(**(items or {}), **iterator_restore_args(iterator))
    return manager.restore(step, args=args)
