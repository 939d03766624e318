"""Grain input pipeline: token shards, mixtures, packing, SFT masks, exact resume, device put.

Modules: sources (token shards -> records), mixture (weighted components), packing
([B, L] batches with segment ids), sft (chat -> masked tokens), loader (the whole pipeline,
`LoaderConfig`), checkpoint (iterator state in Orbax), device_put (global arrays on a mesh).
Imports are per module so that e.g. `sft` does not pull in jax.
"""
