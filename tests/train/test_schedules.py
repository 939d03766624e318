"""Schedules at their boundary steps, against hand-computed values."""
import math

import pytest

from opencoder_jax.train import schedules as S


def v(x):
    return float(x)


def test_wsd_warmup_then_constant_forever():
    f = S.make_schedule(S.ScheduleConfig(kind="wsd", peak_lr=3e-4, warmup_steps=2000))
    assert v(f(0)) == 0.0
    assert v(f(1)) == pytest.approx(3e-4 / 2000, rel=1e-6)
    assert v(f(1000)) == pytest.approx(1.5e-4, rel=1e-6)
    assert v(f(1999)) == pytest.approx(3e-4 * 1999 / 2000, rel=1e-6)
    assert v(f(2000)) == pytest.approx(3e-4, rel=1e-6)
    assert v(f(10_000_000)) == pytest.approx(3e-4, rel=1e-6)


def test_wsd_with_exponential_decay_phase():
    # warmup 10, total 100, decay 20: stable on [10, 80), decay 80 -> 100 from 1e-3 to 1e-5.
    f = S.make_schedule(S.ScheduleConfig(kind="wsd", peak_lr=1e-3, warmup_steps=10, total_steps=100,
                                         decay_steps=20, end_lr=1e-5, decay_shape="exponential"))
    assert v(f(5)) == pytest.approx(5e-4, rel=1e-6)
    assert v(f(10)) == pytest.approx(1e-3, rel=1e-6)
    assert v(f(79)) == pytest.approx(1e-3, rel=1e-6)
    assert v(f(80)) == pytest.approx(1e-3, rel=1e-6)
    assert v(f(90)) == pytest.approx(1e-4, rel=1e-5)   # halfway in log space: sqrt(1e-3 * 1e-5)
    assert v(f(100)) == pytest.approx(1e-5, rel=1e-5)
    assert v(f(500)) == pytest.approx(1e-5, rel=1e-5)


def test_wsd_linear_and_cosine_decay_shapes():
    lin = S.make_schedule(S.ScheduleConfig(kind="wsd", peak_lr=1.0, warmup_steps=0, total_steps=10, decay_steps=4,
                                           end_lr=0.2, decay_shape="linear"))
    assert [round(v(lin(s)), 6) for s in (0, 5, 6, 7, 8, 10, 11)] == [1.0, 1.0, 1.0, 0.8, 0.6, 0.2, 0.2]
    cos = S.make_schedule(S.ScheduleConfig(kind="wsd", peak_lr=1.0, warmup_steps=0, total_steps=10, decay_steps=4,
                                           end_lr=0.0, decay_shape="cosine"))
    assert v(cos(8)) == pytest.approx(0.5, abs=1e-6)
    assert v(cos(10)) == pytest.approx(0.0, abs=1e-6)


def test_exponential_decay_anneal():
    f = S.make_schedule(S.ScheduleConfig(kind="exponential", peak_lr=3e-4, warmup_steps=0, end_lr=3e-5), total_steps=100)
    assert v(f(0)) == pytest.approx(3e-4, rel=1e-6)
    assert v(f(50)) == pytest.approx(3e-4 * 0.1 ** 0.5, rel=1e-5)
    assert v(f(100)) == pytest.approx(3e-5, rel=1e-5)
    assert v(f(150)) == pytest.approx(3e-5, rel=1e-5)
    assert v(S.exponential_decay(25, 1.0, 1e-4, 100)) == pytest.approx(0.1, rel=1e-5)


def test_linear_decay():
    f = S.make_schedule(S.ScheduleConfig(kind="linear", peak_lr=1.0, warmup_steps=0, end_lr=0.0), total_steps=4)
    assert [v(f(s)) for s in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert v(S.linear_decay(3, 2.0, 1.0, 4)) == pytest.approx(1.25)


def test_cosine_with_warmup_matches_hugging_face():
    """HF get_cosine_schedule_with_warmup: lr * t / w, then lr * 0.5 * (1 + cos(pi * (t - w) / (T - w)))."""
    peak, w, total = 2e-5, 100, 1100
    f = S.make_schedule(S.ScheduleConfig(kind="cosine", peak_lr=peak, warmup_steps=w), total_steps=total)

    def hf(t):
        if t < w:
            return peak * t / w
        p = (t - w) / (total - w)
        return peak * max(0.0, 0.5 * (1.0 + math.cos(math.pi * p)))

    for t in (0, 1, 50, 99, 100, 101, 600, 1099, 1100):
        assert v(f(t)) == pytest.approx(hf(t), rel=1e-5, abs=1e-12), t
    assert v(f(600)) == pytest.approx(peak / 2, rel=1e-5)


def test_schedules_are_jittable_and_validate():
    import jax
    import jax.numpy as jnp

    f = S.make_schedule(S.ScheduleConfig(kind="cosine", peak_lr=1.0, warmup_steps=2), total_steps=10)
    assert float(jax.jit(f)(jnp.int32(1))) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="total_steps"):
        S.make_schedule(S.ScheduleConfig(kind="cosine"))
    with pytest.raises(ValueError, match="kind"):
        S.ScheduleConfig(kind="step")
    with pytest.raises(ValueError, match="warmup"):
        S.make_schedule(S.ScheduleConfig(kind="wsd", warmup_steps=10, decay_steps=10, total_steps=15))
