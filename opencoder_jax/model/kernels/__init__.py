"""Attention kernels behind `opencoder_jax.model.attention.attention(impl=...)`.

- `pallas_gpu.flash_attention`: our Pallas (Triton) flash attention; GQA + segment ids,
  forward and backward. Runs anywhere with `interpret=True`.
- `splash.splash_attention`: wrapper over jax's TPU splash attention kernel.
- `cudnn.cudnn_attention`: wrapper over `jax.nn.dot_product_attention(implementation="cudnn")`
  (no packed segments).

Submodules are imported on use so that importing this package stays cheap.
"""

__all__ = ["pallas_gpu", "splash", "cudnn"]
