"""Run as a subprocess with 8 host CPU devices: one train step sharded over a (2, 2, 2) mesh
(data, fsdp, tensor) equals the same step on 1 device. Prints a JSON verdict."""
import json
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def main():
    import jax
    import numpy as np

    from opencoder_jax.model import sharding
    from opencoder_jax.train import optimizer, schedules, step as step_lib
    from tests.train.helpers import init_state, random_batch, small_config

    assert jax.device_count() == 8, jax.devices()
    config = small_config()
    sched = schedules.make_schedule(schedules.ScheduleConfig(kind="wsd", peak_lr=1e-3, warmup_steps=0))
    tx = optimizer.make_optimizer(optimizer.OptimizerConfig(), sched)
    batch = random_batch(np.random.default_rng(1), 8, 32, config.vocab_size)
    one = sharding.make_mesh((1, 1, 1), jax.devices()[:1])
    eight = sharding.make_mesh((2, 2, 2))
    _, host_state = None, None
    results = {}
    for name, mesh in (("one", one), ("eight", eight)):
        graphdef, state, state_sh, param_sh = init_state(config, tx, mesh)
        if host_state is None:
            host_state = jax.device_get(state)  # the same initial values on both meshes
        fns = step_lib.jit_step_fns(graphdef, tx, sched, mesh=mesh, param_shardings=param_sh,
                                    state_shardings=state_sh, num_microbatches=2)
        with jax.set_mesh(mesh):
            state = jax.device_put(host_state, state_sh)
            gb = {k: jax.device_put(v, fns.batch_shardings[k]) for k, v in batch.items()}
            for _ in range(2):
                state, m = fns.train_step(state, gb)
        spread = sorted({len(x.sharding.device_set) for x in jax.tree.leaves(state["params"])})
        results[name] = (jax.device_get(state["params"]), {k: float(v) for k, v in m.items()}, spread)
    (p1, m1, _), (p8, m8, spread8) = results["one"], results["eight"]
    max_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p8)))
    print(json.dumps({"loss_one": m1["loss"], "loss_eight": m8["loss"], "grad_norm_one": m1["grad_norm"],
                      "grad_norm_eight": m8["grad_norm"], "max_param_diff": max_diff,
                      "devices_per_param_eight": spread8}))


if __name__ == "__main__":
    main()
