"""Model checkpoints in Orbax: the layout that training and `opencoder convert` share.

  WORKDIR/checkpoints/<step>/      one ocp.CheckpointManager step, Composite items:
      params          StandardSave(pure dict of the model's nnx.Param state)
      model_config    JsonSave(ModelConfig.to_dict())
      (training adds opt_state, data_iterator, train_meta; loading a model ignores them)
  WORKDIR/tokenizer/               the tokenizer directory, when known

`load_model` accepts a workdir (latest step under checkpoints/ unless `step` is given), a
`checkpoints/` directory, or one step directory, and restores only `params` and
`model_config`, straight into abstract (optionally sharded) arrays: no random init first.
"""
from __future__ import annotations

import os
from typing import Any

CHECKPOINTS_DIR = "checkpoints"
TOKENIZER_DIR = "tokenizer"
PARAMS_ITEM = "params"
CONFIG_ITEM = "model_config"


def _manager(checkpoints_dir: str, create: bool = False):
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(create=create, max_to_keep=None)
    return ocp.CheckpointManager(os.path.abspath(checkpoints_dir), options=options)


def save_params(params: dict, config, directory: str, step: int = 0) -> str:
    """Save a pure params dict (nested, as nnx State.to_pure_dict()) and config under
    directory/checkpoints/<step>/; returns the step directory."""
    import orbax.checkpoint as ocp

    ckpt_dir = os.path.join(directory, CHECKPOINTS_DIR)
    mngr = _manager(ckpt_dir, create=True)
    if step in mngr.all_steps():
        mngr.close()
        raise FileExistsError(f"{os.path.join(ckpt_dir, str(step))} already exists")
    mngr.save(step, args=ocp.args.Composite(**{
        PARAMS_ITEM: ocp.args.StandardSave(params),
        CONFIG_ITEM: ocp.args.JsonSave(config.to_dict()),
    }))
    mngr.wait_until_finished()
    mngr.close()
    return os.path.join(ckpt_dir, str(step))


def save_model(model, config, directory: str, step: int = 0) -> str:
    """Save a Transformer's params and its config as WORKDIR=directory, checkpoints/<step>/."""
    from flax import nnx

    return save_params(nnx.to_pure_dict(nnx.state(model, nnx.Param)), config, directory, step)


def resolve_checkpoint(path: str, step: int | None = None) -> tuple[str, int, str]:
    """(checkpoints dir, step, workdir) for a workdir, a checkpoints/ dir or a step dir."""
    path = os.path.abspath(path.rstrip("/") or "/")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path}: no such checkpoint directory")

    def steps_in(d: str) -> list[int]:
        return sorted(int(n) for n in os.listdir(d)
                      if n.isdigit() and os.path.isdir(os.path.join(d, n, CONFIG_ITEM)))

    if os.path.isdir(os.path.join(path, CONFIG_ITEM)) and os.path.basename(path).isdigit():
        here = int(os.path.basename(path))
        if step is not None and step != here:
            raise ValueError(f"{path} is step {here}, but step {step} was asked for")
        ckpt_dir = os.path.dirname(path)
        workdir = os.path.dirname(ckpt_dir) if os.path.basename(ckpt_dir) == CHECKPOINTS_DIR else ckpt_dir
        return ckpt_dir, here, workdir
    if os.path.isdir(os.path.join(path, CHECKPOINTS_DIR)):
        ckpt_dir, workdir = os.path.join(path, CHECKPOINTS_DIR), path
    else:
        ckpt_dir = path
        workdir = os.path.dirname(path) if os.path.basename(path) == CHECKPOINTS_DIR else path
    steps = steps_in(ckpt_dir)
    if not steps:
        raise FileNotFoundError(f"{path}: no model checkpoint (expected checkpoints/<step>/{CONFIG_ITEM} under a "
                                "workdir, a checkpoints/ directory, or a step directory)")
    if step is None:
        return ckpt_dir, steps[-1], workdir
    if step not in steps:
        raise FileNotFoundError(f"{ckpt_dir}: no step {step} (have {steps})")
    return ckpt_dir, step, workdir


def tokenizer_dir(path: str) -> str | None:
    """WORKDIR/tokenizer for a checkpoint path, when it exists."""
    try:
        _, _, workdir = resolve_checkpoint(path)
    except FileNotFoundError:
        return None
    d = os.path.join(workdir, TOKENIZER_DIR)
    return d if os.path.isdir(d) else None


def load_config(path: str, step: int | None = None):
    """The ModelConfig stored with a checkpoint (no weights read)."""
    import orbax.checkpoint as ocp

    from opencoder_jax.model.config import ModelConfig

    ckpt_dir, step, _ = resolve_checkpoint(path, step)
    mngr = _manager(ckpt_dir)
    try:
        restored = mngr.restore(step, args=ocp.args.Composite(**{CONFIG_ITEM: ocp.args.JsonRestore()}))
    finally:
        mngr.close()
    return ModelConfig.from_dict(restored[CONFIG_ITEM])


def load_model(path: str, dtype: Any = None, step: int | None = None, *, mesh=None):
    """(ModelConfig, Transformer) from an Orbax checkpoint; only params + model_config are read.

    dtype sets the compute dtype (default: the stored config's); parameters keep the stored
    dtype. With a mesh, each parameter is restored directly into its sharding.
    """
    import jax
    import orbax.checkpoint as ocp
    from flax import nnx

    from opencoder_jax.model.hf_io import abstract_split, flat_shardings, dtype_name, flatten, unflatten

    config = load_config(path, step)
    if dtype is not None:
        config = config.replace(dtype=dtype_name(dtype))
    ckpt_dir, step, _ = resolve_checkpoint(path, step)
    graphdef, params, rest = abstract_split(config)
    shardings = flat_shardings(params, mesh)
    target = unflatten({p: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=shardings[p])
                        for p, v in flatten(nnx.to_pure_dict(params)).items()})
    mngr = _manager(ckpt_dir)
    try:
        restored = mngr.restore(step, args=ocp.args.Composite(**{PARAMS_ITEM: ocp.args.StandardRestore(target)}))
    except ValueError as e:
        raise ValueError(f"{os.path.join(ckpt_dir, str(step))}: params do not match the stored model_config "
                         f"({e})") from e
    finally:
        mngr.close()
    nnx.replace_by_pure_dict(params, restored[PARAMS_ITEM])
    return config, nnx.merge(graphdef, params, rest)
