"""Learning-rate schedules: pure functions of the step, usable as optax schedules.

Every schedule maps the optimizer step count (0 for the first update, as optax counts) to a
learning rate. Each works on Python ints (returns a float32 jax scalar) and inside `jit`.

  warmup_stable_decay   OpenCoder pretraining (WSD): linear warmup 0 -> peak over
                        `warmup_steps`, constant at peak, then (optionally) a decay phase of
                        `decay_steps` ending at `end_lr` (shape "exponential", "linear" or
                        "cosine"). `decay_steps=0` means constant forever (the paper's pretrain
                        stage: the decay is the separate annealing stage).
  exponential_decay     peak * (end/peak) ** (t / decay_steps), then end: the annealing stage.
  linear_decay          peak -> end linearly over decay_steps, then end.
  cosine_with_warmup    Hugging Face `get_cosine_schedule_with_warmup` (what OpenCoder's
                        finetune.py uses through `lr_scheduler_type="cosine"`): peak * t /
                        warmup during warmup, then end + (peak-end) * 0.5 * (1 + cos(pi * p)),
                        p = (t - warmup) / (total - warmup), clipped at 1.

`ScheduleConfig` (gin) selects one and `make_schedule(config)` returns it as a closure.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import gin
import jax.numpy as jnp

Schedule = Callable[[int], "jnp.ndarray"]
KINDS = ("wsd", "cosine", "exponential", "linear", "constant")
DECAY_SHAPES = ("exponential", "linear", "cosine")


def _f(step):
    return jnp.asarray(step, jnp.float32)


def linear_warmup(step, peak_lr: float, warmup_steps: int, init_lr: float = 0.0):
    """init -> peak linearly over warmup_steps (peak from step warmup_steps on)."""
    t = _f(step)
    if warmup_steps <= 0:
        return jnp.full_like(t, peak_lr)
    frac = jnp.clip(t / warmup_steps, 0.0, 1.0)
    return init_lr + (peak_lr - init_lr) * frac


def _decay(t, peak_lr: float, end_lr: float, decay_steps: int, shape: str):
    """Decay from peak (t=0) to end (t=decay_steps), constant at end afterwards."""
    if shape not in DECAY_SHAPES:
        raise ValueError(f"decay shape must be one of {DECAY_SHAPES}, got {shape!r}")
    if decay_steps <= 0:
        return jnp.full_like(t, end_lr)
    p = jnp.clip(t / decay_steps, 0.0, 1.0)
    if shape == "linear":
        return peak_lr + (end_lr - peak_lr) * p
    if shape == "cosine":
        return end_lr + (peak_lr - end_lr) * 0.5 * (1.0 + jnp.cos(math.pi * p))
    if peak_lr <= 0 or end_lr <= 0:
        raise ValueError(f"exponential decay needs positive peak and end learning rates, got {peak_lr}, {end_lr}")
    return peak_lr * jnp.exp(p * math.log(end_lr / peak_lr))


def exponential_decay(step, peak_lr: float, end_lr: float, decay_steps: int):
    return _decay(_f(step), peak_lr, end_lr, decay_steps, "exponential")


def linear_decay(step, peak_lr: float, end_lr: float, decay_steps: int):
    return _decay(_f(step), peak_lr, end_lr, decay_steps, "linear")


def warmup_stable_decay(step, peak_lr: float, warmup_steps: int, stable_steps: int | None = None,
                        decay_steps: int = 0, end_lr: float = 0.0, decay_shape: str = "exponential",
                        init_lr: float = 0.0):
    """WSD. `stable_steps=None` (or decay_steps=0): constant at peak after the warmup forever."""
    t = _f(step)
    up = linear_warmup(t, peak_lr, warmup_steps, init_lr)
    if stable_steps is None or decay_steps <= 0:
        return up
    decay_start = max(warmup_steps, 0) + stable_steps
    down = _decay(t - decay_start, peak_lr, end_lr, decay_steps, decay_shape)
    return jnp.where(t < decay_start, up, down)


def cosine_with_warmup(step, peak_lr: float, warmup_steps: int, total_steps: int, end_lr: float = 0.0):
    """Hugging Face's cosine schedule with linear warmup (end_lr=0 is HF's)."""
    t = _f(step)
    up = linear_warmup(t, peak_lr, warmup_steps)
    down = _decay(t - warmup_steps, peak_lr, end_lr, max(total_steps - warmup_steps, 1), "cosine")
    return jnp.where(t < warmup_steps, up, down)


@gin.configurable
@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """Which schedule and its numbers. Steps are optimizer steps (one global batch each).

    kind "wsd": warmup_steps, then peak; with decay_steps > 0 the decay starts at
      total_steps - decay_steps (total_steps required) and ends at end_lr.
    kind "cosine": warmup then cosine to end_lr at total_steps (SFT).
    kind "exponential" / "linear": optional warmup, then decay from peak to end_lr over
      total_steps - warmup_steps (the annealing stage).
    kind "constant": peak_lr throughout (after an optional warmup).
    """

    kind: str = "wsd"
    peak_lr: float = 3e-4
    warmup_steps: int = 2000
    total_steps: int | None = None   # None: the run's step count (TrainConfig.steps / --steps)
    decay_steps: int = 0             # wsd only: length of the final decay phase
    decay_shape: str = "exponential"  # wsd only
    end_lr: float = 0.0
    init_lr: float = 0.0             # first warmup value

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"ScheduleConfig.kind must be one of {KINDS}, got {self.kind!r}")
        if self.decay_shape not in DECAY_SHAPES:
            raise ValueError(f"ScheduleConfig.decay_shape must be one of {DECAY_SHAPES}, got {self.decay_shape!r}")
        if self.kind == "exponential" and not (self.peak_lr > 0 and self.end_lr > 0):
            raise ValueError("an exponential schedule needs peak_lr > 0 and end_lr > 0")


def make_schedule(config: ScheduleConfig, total_steps: int | None = None) -> Schedule:
    """The schedule as a function of the step; `total_steps` fills `config.total_steps=None`."""
    total = config.total_steps if config.total_steps is not None else total_steps
    c = config
    if c.kind in ("cosine", "exponential", "linear") or (c.kind == "wsd" and c.decay_steps > 0):
        if total is None:
            raise ValueError(f"schedule {c.kind!r} needs total_steps (ScheduleConfig.total_steps or the run's steps)")
    if c.kind == "wsd":
        if c.decay_steps > 0:
            stable = total - c.warmup_steps - c.decay_steps
            if stable < 0:
                raise ValueError(f"wsd: warmup {c.warmup_steps} + decay {c.decay_steps} > total {total} steps")
            return lambda step: warmup_stable_decay(step, c.peak_lr, c.warmup_steps, stable, c.decay_steps,
                                                    c.end_lr, c.decay_shape, c.init_lr)
        return lambda step: warmup_stable_decay(step, c.peak_lr, c.warmup_steps, init_lr=c.init_lr)
    if c.kind == "constant":
        return lambda step: linear_warmup(step, c.peak_lr, c.warmup_steps, c.init_lr)
    if c.kind == "cosine":
        return lambda step: cosine_with_warmup(step, c.peak_lr, c.warmup_steps, total, c.end_lr)

    def warm_then_decay(step):
        t = _f(step)
        down = _decay(t - c.warmup_steps, c.peak_lr, c.end_lr, max(total - c.warmup_steps, 1), c.kind)
        if c.warmup_steps <= 0:
            return down
        return jnp.where(t < c.warmup_steps, linear_warmup(t, c.peak_lr, c.warmup_steps, c.init_lr), down)

    return warm_then_decay
