"""The OpenCoder model in Flax NNX.

  config       ModelConfig (gin-bound) and presets (gin_configs/model/*.gin)
  layers       RMSNorm, RoPE, SwiGLU MLP, embedding
  attention    one dispatcher over xla / pallas_gpu / splash / cudnn kernels (kernels/)
  transformer  the scanned decoder, packed sequences, the KV-cache decode path
  sharding     the mesh and ONE logical-axis table for parameters and activations
  hf_io, orbax_io, loading, convert   checkpoints in and out (the only file-aware modules)
"""
from opencoder_jax.model.config import ModelConfig, preset  # noqa: F401
