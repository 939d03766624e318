"""The app layer: the `opencoder` command line and the quickstart.

The only part of `opencoder_jax` that composes Beam pipelines (`beam_pipelines/`); the
library below it never imports Beam, so the dependency arrows point one way:
app -> beam_pipelines -> library (tests/test_layering.py holds this).
"""
