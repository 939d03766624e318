"""Beam's FileSystems as the library's remote-file backend (see opencoder_jax/file_io.py).

Registered when `beam_pipelines` is imported, so every path a pipeline can write (gs://,
s3://, hdfs://, test file systems) the library can read back for its reports and configs.
"""
from __future__ import annotations

from apache_beam.io.filesystems import FileSystems

from opencoder_jax import file_io


class BeamFileSystemsBackend:
    def exists(self, path: str) -> bool:
        return FileSystems.exists(path)

    def read_bytes(self, path: str) -> bytes:
        with FileSystems.open(path) as f:
            return f.read()

    def write_bytes(self, path: str, data: bytes) -> None:
        with FileSystems.create(path) as f:
            f.write(data)


def register() -> None:
    file_io.register_remote_backend(BeamFileSystemsBackend())
