"""Beam graphs of the cookbook: sources, RefineCode stages, sinks. Rules live in opencoder_jax."""
