"""opencoder-jax: OpenCoder's open cookbook for code LLMs as one JAX research codebase."""

__version__ = "0.1.0"
