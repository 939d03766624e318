"""Beam graphs of the cookbook: sources, RefineCode stages, sinks. Rules live in opencoder_jax."""

from beam_pipelines import beam_file_io as _beam_file_io

_beam_file_io.register()  # the library reads/writes remote run outputs through Beam's FileSystems
