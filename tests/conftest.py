import os

# Keep TensorFlow/absl quiet and JAX on the CPU in tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# `opencoder data refinecode` uses every core by default; the suite's inputs are tiny, and run
# faster in-process than through worker start-up (tests of the multi-worker path pass --workers).
os.environ.setdefault("OPENCODER_LOCAL_WORKERS", "1")
